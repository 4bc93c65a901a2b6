"""In-graph N-way K-shot episode sampling over a `Source`.

An episode is drawn in four small steps, each a vectorised TensorFlow op on a whole
batch of T tasks, with stateless random ops seeded by `(seed, batch_index)`:

1. choose classes: random scores over the (optionally rotated) classes, masked to one
   alphabet in same-alphabet mode, `top_k` picks N. The position in `top_k` is the
   episode label, so labels are a uniformly random relabelling to 0..N-1;
2. choose examples: random scores over each chosen class's images, `top_k` picks
   K + u + Q distinct ones;
3. gather images: one `tf.gather` reads the chosen images, from a bank holding all
   four 90-degree rotations of the source when `rotations=True` (4x the memory,
   no per-batch rotation work);
4. lay out the contract: support `[T, N*(K+u)]` and query `[T, N*Q]`, class-major.

Nothing runs in Python per episode, so the pipeline parallelises and prefetches, and
batch `i` of a given seed is the same on every run, model and machine.
"""

import numpy as np
import tensorflow as tf

from kzoo.checks import check_int as _check_int
from kzoo.episodes.distortion import Distortion
from kzoo.episodes.selection import choose_classes, choose_examples
from kzoo.episodes.source import Source

# Largest float32 image bank kept in memory (bytes); larger sources stay uint8.
_FLOAT_BANK_BYTES = 256 * 2**20


class FewShotSampler:
    """Samples batches of few-shot episodes from a `Source` inside the TF graph.

    `few_shot(...)` wraps this class into a `tf.data.Dataset`; use the sampler
    directly to draw single batches (`sampler(step)`) or to see which classes an
    episode holds (key `"classes"`, for plots).

    Args:
        source: the `Source` to sample from.
        ways: N, classes per episode.
        shots: K, labelled support examples per class.
        queries: Q, query examples per class.
        tasks: T, episodes per batch (the leading axis). Defaults to `1`.
        rotations: if `True`, every class also appears rotated by 90, 180 and 270
            degrees as three further classes (Omniglot's class augmentation); a
            whole class shares one rotation within an episode. Needs square images.
            Defaults to `False`.
        same_alphabet: if `True`, all N classes of an episode come from one
            alphabet, chosen uniformly among the alphabets that have enough
            classes. Defaults to `False`.
        unlabeled: u, extra support examples per class whose label is -1
            (semi-supervised episodes). Defaults to `0`.
        seed: integer seed. Defaults to `0`.
        distortion: an optional `kzoo.episodes.Distortion`: every support and query
            image is then distorted independently (new drawers, new fonts). `True`
            means `Distortion()`. Defaults to `None`.
    """

    def __init__(self, source, ways, shots, queries, tasks=1, rotations=False,
                 same_alphabet=False, unlabeled=0, seed=0, distortion=None):
        if not isinstance(source, Source):
            raise ValueError(
                "Expected `source` to be a kzoo.episodes Source (from episodes.omniglot, "
                f"glyphs, image_folder, arrays or tfds). Received: {type(source).__name__}."
            )
        self.source = source
        self.ways = _check_int(ways, "ways", 1)
        self.shots = _check_int(shots, "shots", 1)
        self.queries = _check_int(queries, "queries", 0)
        self.tasks = _check_int(tasks, "tasks", 1)
        self.unlabeled = _check_int(unlabeled, "unlabeled", 0)
        self.seed = _check_int(seed, "seed", 0)
        self.rotations = bool(rotations)
        self.same_alphabet = bool(same_alphabet)
        self.distortion = _check_distortion(distortion)
        height, width = source.image_shape[:2]
        if self.rotations and height != width:
            raise ValueError(
                "Expected square images with `rotations=True` (rotations by 90 degrees). "
                f"Received: images of shape {source.image_shape}."
            )
        self._num_rotations = 4 if self.rotations else 1
        self._check_classes()

        images = source.images
        if self.rotations:  # a bank of all four rotations: rotating is then part of the gather
            images = np.concatenate([np.rot90(images, k, axes=(1, 2)) for k in range(4)])
        if images.dtype == np.uint8 and images.size * 4 <= _FLOAT_BANK_BYTES:
            # Pixels stored as float32 make each batch a single gather per tensor
            # (no cast, no scale pass); above the cap the bank stays uint8.
            images = images.astype(np.float32) / np.float32(255.0)
        self._images = tf.constant(images)
        self._offsets = tf.constant(source.offsets[:-1])
        self._counts = tf.constant(source.class_counts)
        self._max_count = int(source.class_counts.max())
        pseudo_alphabet = np.repeat(source.class_alphabet, self._num_rotations)
        self._pseudo_alphabet = tf.constant(pseudo_alphabet)

    @property
    def examples_per_class(self):
        return self.shots + self.unlabeled + self.queries

    def _check_classes(self):
        src = self.source
        available = src.num_classes * self._num_rotations
        rot = " (x4 with rotations)" if self.rotations else ""
        if self.ways > available:
            raise ValueError(
                f"Expected `ways` <= number of classes in the source ({available}{rot}). "
                f"Received: ways={self.ways} for {src!r}."
            )
        needed = self.examples_per_class
        short = np.flatnonzero(src.class_counts < needed)
        if short.size:
            names = ", ".join(f"{src.class_names[c]!r} ({src.class_counts[c]})" for c in short[:5])
            more = f" and {short.size - 5} more" if short.size > 5 else ""
            raise ValueError(
                f"Expected every class to have at least shots + unlabeled + queries = {needed} "
                f"examples. Received: classes with fewer: {names}{more}. Lower `shots`/`queries` "
                "or drop those classes with `source.subset(...)`."
            )
        per_alphabet = np.bincount(src.class_alphabet, minlength=len(src.alphabet_names))
        per_alphabet = per_alphabet * self._num_rotations
        self._eligible_alphabets = np.flatnonzero(per_alphabet >= self.ways).astype(np.int32)
        if self.same_alphabet and self._eligible_alphabets.size == 0:
            raise ValueError(
                f"Expected an alphabet with at least `ways` classes for `same_alphabet=True`. "
                f"Received: ways={self.ways}, largest alphabet has {per_alphabet.max()} classes{rot}."
            )

    def __call__(self, step):
        """Samples batch number `step`: a dict of tensors with a leading task axis.

        Returns:
            `{"support_x": float32 [T, N*(K+u), H, W, C], "support_y": int32
            [T, N*(K+u)], "query_x": float32 [T, N*Q, H, W, C], "query_y": int32
            [T, N*Q], "classes": int32 [T, N], "rotations": int32 [T, N]}` where
            `classes[t, n]` is the source class that has label n in task t.
        """
        T, N = self.tasks, self.ways
        seeds = tf.random.experimental.stateless_split(
            tf.stack([tf.cast(self.seed, tf.int64), tf.cast(step, tf.int64)]), num=3
        )
        num_pseudo = self.source.num_classes * self._num_rotations
        class_scores = tf.random.stateless_uniform([T, num_pseudo], seeds[0])
        if self.same_alphabet:
            pick = tf.random.stateless_uniform(
                [T], seeds[2], maxval=len(self._eligible_alphabets), dtype=tf.int32
            )
            alphabet = tf.gather(tf.constant(self._eligible_alphabets), pick)
            in_alphabet = tf.equal(self._pseudo_alphabet[None, :], alphabet[:, None])
            class_scores = tf.where(in_alphabet, class_scores, -1.0)
        pseudo = choose_classes(class_scores, N)  # [T, N]
        classes = pseudo // self._num_rotations
        rotation = pseudo % self._num_rotations
        rows = choose_examples(self._offsets, self._counts, self._max_count, classes, self.examples_per_class,
                               seeds[1])  # [T, N, n]

        if self.rotations:
            rows += rotation[..., None] * self.source.num_images
        k = self.shots + self.unlabeled
        # Support and query are gathered separately so that neither is a sliced copy.
        support_x = self._pixels(rows[:, :, :k])  # [T, N, k, H, W, C]
        query_x = self._pixels(rows[:, :, k:])  # [T, N, Q, H, W, C]
        if self.distortion is not None:
            # its own seed, folded from the class seed, so that distorted and clean
            # samplers draw the same classes and examples
            distortion_seed = tf.random.experimental.stateless_fold_in(seeds[0], 1)
            shape = self.source.image_shape
            both = tf.concat([tf.reshape(support_x, [-1, *shape]), tf.reshape(query_x, [-1, *shape])], 0)
            both = self.distortion(both, distortion_seed)
            support_x, query_x = tf.split(both, [T * N * k, T * N * self.queries])

        labels = tf.broadcast_to(tf.range(N, dtype=tf.int32)[None, :, None], [T, N, k])
        if self.unlabeled:
            is_unlabeled = tf.range(k)[None, None, :] >= self.shots
            labels = tf.where(is_unlabeled, -1, labels)
        query_y = tf.broadcast_to(tf.range(N, dtype=tf.int32)[None, :, None], [T, N, self.queries])
        shape = self.source.image_shape
        return {
            "support_x": tf.reshape(support_x, [T, N * k, *shape]),
            "support_y": tf.reshape(labels, [T, N * k]),
            "query_x": tf.reshape(query_x, [T, N * self.queries, *shape]),
            "query_y": tf.reshape(query_y, [T, N * self.queries]),
            "classes": classes,
            "rotations": rotation,
        }

    def _pixels(self, rows):
        images = tf.gather(self._images, rows)
        if images.dtype == tf.uint8:
            return tf.cast(images, tf.float32) / 255.0
        return tf.cast(images, tf.float32)

    def dataset(self, batches=None):
        """A `tf.data.Dataset` of `(x, query_y)` in the episode contract.

        Args:
            batches: number of elements (each a batch of T episodes); `None` for an
                endless stream. Defaults to `None`.
        """
        if batches is not None:
            batches = _check_int(batches, "batches", 1)

        def to_contract(step):
            episode = self(step)
            x = {k: episode[k] for k in ("support_x", "support_y", "query_x")}
            return x, episode["query_y"]

        ds = tf.data.Dataset.counter()
        if batches is not None:
            ds = ds.take(batches)
        ds = ds.map(to_contract, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.prefetch(tf.data.AUTOTUNE)


def few_shot(source, ways, shots, queries, tasks=1, rotations=False, same_alphabet=False,
             unlabeled=0, seed=0, batches=None, distortion=None):
    """A `tf.data.Dataset` of N-way K-shot episodes in kzoo's episode contract.

    Each element is `(x, y)` with `x = {"support_x": float32 [T, N*(K+u), H, W, C],
    "support_y": int32 [T, N*(K+u)], "query_x": float32 [T, N*Q, H, W, C]}` and
    `y = query_y`, int32 `[T, N*Q]`. Labels are 0..N-1 in a random order per
    episode (-1 for unlabeled support examples); examples are laid out class by
    class. Pixels are float32 in [0, 1].

    Episodes are sampled in the graph with stateless random ops: element `i` depends
    only on `(seed, i)`, so two models evaluated with the same seed see exactly the
    same episodes.

    Args:
        source: a `Source` (`episodes.omniglot(...)`, `episodes.glyphs()`, ...).
        ways: N, classes per episode.
        shots: K, labelled support examples per class.
        queries: Q, query examples per class.
        tasks: T, episodes per element (the meta-batch). Defaults to `1`.
        rotations: add the 90/180/270-degree rotations of every class as new
            classes (Omniglot's standard augmentation). Defaults to `False`.
        same_alphabet: draw all N classes of an episode from one alphabet.
            Defaults to `False`.
        unlabeled: u, extra support examples per class with label -1. Defaults to `0`.
        seed: integer seed. Defaults to `0`.
        batches: number of elements, or `None` for an endless stream. Defaults to `None`.
        distortion: an optional `kzoo.episodes.Distortion` applied to every image
            independently (`True`: the default `Distortion()`). Defaults to `None`.

    Example:

    >>> from kzoo import episodes
    >>> src = episodes.glyphs(scripts=["Greek"])
    >>> ds = episodes.few_shot(src, ways=5, shots=1, queries=3, tasks=2, batches=1)
    >>> x, y = next(iter(ds))
    >>> x["support_x"].shape, y.shape
    (TensorShape([2, 5, 28, 28, 1]), TensorShape([2, 15]))
    """
    sampler = FewShotSampler(source, ways, shots, queries, tasks=tasks, rotations=rotations,
                             same_alphabet=same_alphabet, unlabeled=unlabeled, seed=seed,
                             distortion=distortion)
    return sampler.dataset(batches)


def _check_distortion(distortion):
    if distortion is None or distortion is False:
        return None
    if distortion is True:
        return Distortion()
    if not isinstance(distortion, Distortion):
        raise ValueError(
            "Expected `distortion` to be None, True or a kzoo.episodes.Distortion. "
            f"Received: {type(distortion).__name__}."
        )
    return distortion
