"""Variable-way, variable-shot episodes (Meta-Dataset's sampler, Triantafillou et al. 2020, Section 3.2).

Every episode draws its own number of classes and its own, class-imbalanced, number
of support examples per class, in the graph with stateless random ops seeded by
`(seed, step)`:

1. ways: N ~ U{min_ways, ..., min(max_ways, classes in the source)};
2. classes: N distinct (optionally rotated) classes, in a random order (the label);
3. queries per class: q = min(max_query, floor(min_c |Im(c)| / 2)), the same for all N;
4. support size: |S| = min(max_support, sum_c ceil(beta * min(max_shots, |Im(c)| - q))),
   beta ~ U(0, 1];
5. shots of class c: k_c = min(floor(R_c / sum R * (|S| - N)) + 1, |Im(c)| - q) with
   R_c = exp(a_c) |Im(c)|, a_c ~ U(log 1/2, log 2): larger classes get more
   support, and every class at least one example.

An episode is one task (T = 1) whose S = sum_c k_c and Q = N q change from batch to
batch: the episodes are ragged across batches, never padded, so a model sees no
filler examples (its batch statistics stay those of the real episode). Keras traces
`fit`'s step once for unknown S, Q and N. Every few-shot application takes them:
ProtoNet, HyperTransformer (N <= `num_ways`), and MT-net / MAML (N <= `num_outputs`);
the logits have N = max(support_y) + 1 columns.

>>> import numpy as np
>>> from kzoo import episodes
>>> src = episodes.arrays(np.zeros((600, 8, 8, 1), "uint8"), np.repeat(np.arange(30), 20))
>>> x, y = next(iter(episodes.variable_few_shot(src, batches=1, seed=3)))
>>> n = int(x["support_y"].numpy().max()) + 1
>>> 5 <= n <= 30, y.shape == (1, n * 10), x["support_x"].shape[1] <= 500
(True, True, True)
"""

import math

import tensorflow as tf

from kzoo.checks import check_int
from kzoo.episodes.sampler import FewShotSampler
from kzoo.episodes.selection import choose_classes, choose_examples


class VariableEpisodeSampler(FewShotSampler):
    """Samples Meta-Dataset's variable-way, variable-shot episodes from a `Source`, in the graph.

    Args:
        source: the `Source` to sample from; every class needs at least 2 examples
            (one support, one query).
        min_ways: the fewest classes of an episode. Defaults to `5` (the paper's).
        max_ways: the most classes of an episode, capped at the source's number of
            classes. Defaults to `50` (the paper's).
        max_query: the most query examples per class. Defaults to `10`.
        max_support: the most support examples of an episode. Defaults to `500`.
        max_shots: the most support examples a class contributes to the support
            size draw (step 4). Defaults to `100`.
        rotations, seed, distortion: as `FewShotSampler`.
    """

    def __init__(self, source, min_ways=5, max_ways=50, max_query=10, max_support=500, max_shots=100,
                 rotations=False, seed=0, distortion=None):
        min_ways = check_int(min_ways, "min_ways", 1)
        super().__init__(source, ways=min_ways, shots=1, queries=1, rotations=rotations, seed=seed,
                         distortion=distortion)
        max_ways = check_int(max_ways, "max_ways", min_ways)
        self.min_ways = min_ways
        self.max_ways = min(max_ways, source.num_classes * self._num_rotations)
        self.max_query = check_int(max_query, "max_query", 1)
        self.max_support = check_int(max_support, "max_support", self.max_ways)
        self.max_shots = check_int(max_shots, "max_shots", 1)

    def __call__(self, step):
        """Samples episode number `step` (one task).

        Returns:
            `{"support_x": float32 [1, S, H, W, C], "support_y": int32 [1, S],
            "query_x": float32 [1, N*q, H, W, C], "query_y": int32 [1, N*q],
            "classes": int32 [1, N], "rotations": int32 [1, N], "shots": int32 [1, N]}`,
            class-major, with S = sum(shots).
        """
        seeds = tf.random.experimental.stateless_split(
            tf.stack([tf.cast(self.seed, tf.int64), tf.cast(step, tf.int64)]), num=5)
        ways = tf.random.stateless_uniform([], seeds[0], minval=self.min_ways, maxval=self.max_ways + 1,
                                           dtype=tf.int32)
        num_pseudo = self.source.num_classes * self._num_rotations
        pseudo = choose_classes(tf.random.stateless_uniform([1, num_pseudo], seeds[1]), self.max_ways)[0, :ways]
        classes, rotation = pseudo // self._num_rotations, pseudo % self._num_rotations
        counts = tf.gather(self._counts, classes)  # |Im(c)|, [N]
        queries = tf.minimum(self.max_query, tf.reduce_min(counts) // 2)
        available = counts - queries
        beta = 1.0 - tf.random.stateless_uniform([], seeds[2])  # (0, 1]
        wanted = tf.math.ceil(beta * tf.cast(tf.minimum(self.max_shots, available), tf.float32))
        support_size = tf.minimum(self.max_support, tf.cast(tf.reduce_sum(wanted), tf.int32))
        log_share = tf.random.stateless_uniform([ways], seeds[3], math.log(0.5), math.log(2.0))
        share = tf.exp(log_share) * tf.cast(counts, tf.float32)
        extra = tf.math.floor(share / tf.reduce_sum(share) * tf.cast(support_size - ways, tf.float32))
        shots = tf.minimum(tf.cast(extra, tf.int32) + 1, available)  # [N]

        # a random order of every chosen class's examples: the first q are queries, the next k_c support
        order = choose_examples(self._offsets, self._counts, self._max_count, classes[None], self._max_count,
                                seeds[4])[0]  # [N, max_count]
        if self.rotations:
            order += rotation[:, None] * self.source.num_images
        position = tf.range(self._max_count)[None, :]
        in_support = (position >= queries) & (position < queries + shots[:, None])
        support_rows = tf.boolean_mask(order, in_support)  # class-major [S]
        query_rows = tf.reshape(order[:, :queries], [-1])  # [N*q]
        support_x, query_x = self._pixels(support_rows), self._pixels(query_rows)
        if self.distortion is not None:
            distortion_seed = tf.random.experimental.stateless_fold_in(seeds[1], 1)
            both = self.distortion(tf.concat([support_x, query_x], 0), distortion_seed)
            support_x, query_x = both[:tf.shape(support_rows)[0]], both[tf.shape(support_rows)[0]:]
        labels = tf.range(ways, dtype=tf.int32)
        return {
            "support_x": support_x[None],
            "support_y": tf.repeat(labels, shots)[None],
            "query_x": query_x[None],
            "query_y": tf.repeat(labels, queries)[None],
            "classes": classes[None],
            "rotations": rotation[None],
            "shots": shots[None],
        }


def variable_few_shot(source, min_ways=5, max_ways=50, max_query=10, max_support=500, max_shots=100,
                      rotations=False, seed=0, batches=None, distortion=None):
    """A `tf.data.Dataset` of variable-way, variable-shot episodes (Meta-Dataset), one task per element.

    Each element is `(x, y)` in kzoo's episode contract with T = 1 and sizes that
    change from element to element: `x = {"support_x": float32 [1, S, H, W, C],
    "support_y": int32 [1, S], "query_x": float32 [1, N*q, H, W, C]}`, `y` int32
    `[1, N*q]`; N, the shots per class (their sum S <= `max_support`) and q <=
    `max_query` are drawn per episode as `VariableEpisodeSampler` describes. Element
    `i` depends only on `(seed, i)`.

    Args:
        source: a `Source`.
        min_ways, max_ways, max_query, max_support, max_shots: the sampler's limits
            (the defaults are the paper's: 5-50 ways, 10 queries, 500 support examples).
        rotations: add the 90/180/270-degree rotations of every class as new classes.
            Defaults to `False`.
        seed: integer seed. Defaults to `0`.
        batches: number of elements, or `None` for an endless stream. Defaults to `None`.
        distortion: an optional `kzoo.episodes.Distortion`. Defaults to `None`.

    Example:

    >>> from kzoo import episodes
    >>> from kzoo.applications import ProtoNet
    >>> model = ProtoNet(channels=8)
    >>> model.compile()
    >>> ds = episodes.variable_few_shot(episodes.glyphs(scripts=["Greek"]), max_ways=10, batches=2)
    >>> losses = model.fit(ds, verbose=0).history["loss"]
    >>> bool(losses[0] > 0)
    True
    """
    sampler = VariableEpisodeSampler(source, min_ways=min_ways, max_ways=max_ways, max_query=max_query,
                                     max_support=max_support, max_shots=max_shots, rotations=rotations,
                                     seed=seed, distortion=distortion)
    return sampler.dataset(batches)
