"""Episodes from several sources, each episode from one of them (Meta-Dataset style, Triantafillou et al. 2020).

Batch `i` first draws its source from `weights` with a stateless categorical seeded by
`(seed, i)`, then samples all its T tasks from that source with the source's own
in-graph `FewShotSampler` (`tf.switch_case`, so one graph serves every source).

>>> import numpy as np
>>> from kzoo import episodes
>>> a = episodes.arrays(np.zeros((40, 8, 8, 1), "uint8"), np.repeat(np.arange(4), 10))
>>> b = episodes.arrays(np.ones((60, 8, 8, 1), "uint8") * 255, np.repeat(np.arange(6), 10))
>>> x, y = next(iter(mixture([a, b], ways=3, shots=1, queries=2, weights=[0.5, 0.5], batches=1)))
>>> x["support_x"].shape
TensorShape([1, 3, 8, 8, 1])
"""

import numpy as np
import tensorflow as tf

from kzoo.checks import check_int
from kzoo.episodes.sampler import FewShotSampler
from kzoo.episodes.variable import VariableEpisodeSampler


def mixture(sources, ways=None, shots=None, queries=None, weights=None, tasks=1, seed=0, batches=None,
            **sampler_options):
    """A `tf.data.Dataset` of episodes in kzoo's contract, each batch from one of `sources`.

    Args:
        sources: a list of `Source`s with one image shape.
        ways, shots, queries, tasks: the episodes (as `few_shot`); every source must
            hold `ways` classes with `shots + queries` examples. With all three `None`,
            the episodes are variable-way and variable-shot (`variable_few_shot`, one
            task per batch): Meta-Dataset's training episodes.
        weights: the probability of each source (normalised). Defaults to uniform.
        seed: integer seed: batch `i` depends only on `(seed, i)`. Defaults to `0`.
        batches: number of elements, or `None` for an endless stream.
        **sampler_options: `FewShotSampler` options (`rotations`, `same_alphabet`, ...),
            or `VariableEpisodeSampler`'s (`min_ways`, `max_ways`, `max_support`, ...).
    """
    sources = list(sources)
    if len(sources) < 1:
        raise ValueError("Expected at least one source. Received: none.")
    shapes = {s.image_shape for s in sources}
    if len(shapes) > 1:
        raise ValueError(f"Expected sources with one image shape. Received: "
                         f"{', '.join(f'{s.name!r} {s.image_shape}' for s in sources)}.")
    weights = np.full(len(sources), 1.0) if weights is None else np.asarray(weights, np.float64)
    if weights.shape != (len(sources),) or not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
        raise ValueError(f"Expected {len(sources)} non-negative `weights` (one per source) with a positive sum. "
                         f"Received: weights={weights.tolist()}.")
    seed = check_int(seed, "seed", 0)
    fixed = (ways, shots, queries)
    if all(v is None for v in fixed):
        if tasks != 1:
            raise ValueError(f"Expected tasks=1 for variable-way episodes (one per batch). Received: tasks={tasks}.")
        samplers = [VariableEpisodeSampler(s, seed=seed + 1 + i, **sampler_options) for i, s in enumerate(sources)]
    elif any(v is None for v in fixed):
        raise ValueError(f"Expected `ways`, `shots` and `queries` all set (N-way K-shot episodes) or all None "
                         f"(variable-way episodes). Received: ways={ways}, shots={shots}, queries={queries}.")
    else:
        samplers = [FewShotSampler(s, ways, shots, queries, tasks=tasks, seed=seed + 1 + i, **sampler_options)
                    for i, s in enumerate(sources)]
    logits = tf.constant(np.log(np.maximum(weights / weights.sum(), 1e-30))[None], tf.float32)

    def episode(step):
        pick = tf.random.stateless_categorical(logits, 1, tf.stack([tf.cast(seed, tf.int64), step]))[0, 0]
        chosen = tf.switch_case(tf.cast(pick, tf.int32), [lambda s=s: s(step) for s in samplers])
        x = {k: chosen[k] for k in ("support_x", "support_y", "query_x")}
        return x, chosen["query_y"]

    ds = tf.data.Dataset.counter()
    if batches is not None:
        ds = ds.take(check_int(batches, "batches", 1))
    return ds.map(episode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
