"""Zero-shot meta-training tasks (AMAZ): disjoint support and query classes from the seen classes.

Algorithm 1 (line 3-4) samples, per task, N support classes and N other query
classes from the seen classes, K examples per support class and Q per query
class. Like `kzoo.episodes.sampler`, a whole batch of T tasks is drawn inside the
tf.data graph with stateless random ops seeded by `(seed, batch_index)`: `top_k`
over random class scores picks 2N distinct classes (the first N support, the
others query, so the two sets are disjoint by construction), `top_k` over random
example scores picks the examples (`kzoo.episodes.selection`, shared with the
few-shot sampler), and one `tf.gather` reads the features.
"""

import numpy as np
import tensorflow as tf

from kzoo.checks import check_int, check_zero_shot_arrays
from kzoo.episodes.selection import choose_classes, choose_examples

#: keys of one batch of AMAZ tasks (all with a leading task axis T)
TASK_KEYS = ("support_x", "support_y", "support_attributes", "support_classes",
             "query_x", "query_y", "query_attributes", "query_classes")


class ZeroShotTaskSampler:
    """Samples batches of AMAZ meta-training tasks from the seen classes.

    Args:
        features: float `[M, F]` visual features.
        labels: int `[M]`, the class (a row of `class_attributes`) of each feature.
        class_attributes: float `[C, A]` attribute vector of every class.
        seen_classes: the classes to sample tasks from (unseen ones are never
            touched). Task class `j` in `support_classes`/`query_classes` is an
            index into this list (0..S-1), the label space of AMAZ's classifier C.
        ways: N classes of a support set, and of a query set. Defaults to `10`.
        shots: K examples per support class. Defaults to `5`.
        queries: examples per query class. Defaults to `3`.
        tasks: T tasks per batch. Defaults to `10`.
        seed: integer seed. Defaults to `0`.

    A batch is a dict with (N support classes, N other query classes):
    `support_x` `[T, N*K, F]`, `support_y` int32 `[T, N*K]` (0..N-1, class-major),
    `support_attributes` `[T, N, A]`, `support_classes` int32 `[T, N]`, and the
    same four `query_*` entries with Q examples per class.
    """

    def __init__(self, features, labels, class_attributes, seen_classes, ways=10, shots=5, queries=3,
                 tasks=10, seed=0):
        features, labels, class_attributes, seen = check_zero_shot_arrays(
            features, labels, class_attributes, seen_classes)
        if np.unique(seen).size != seen.size:
            raise ValueError(f"Expected distinct `seen_classes`. Received: {seen.tolist()}.")
        self.ways = check_int(ways, "ways", 1)
        self.shots = check_int(shots, "shots", 1)
        self.queries = check_int(queries, "queries", 1)
        self.tasks = check_int(tasks, "tasks", 1)
        self.seed = check_int(seed, "seed", 0)
        if 2 * self.ways > seen.size:
            raise ValueError(
                f"Expected 2 * `ways` <= number of seen classes ({seen.size}): a task's support and query "
                f"classes are disjoint. Received: ways={self.ways}.")
        needed = max(self.shots, self.queries)
        rows = [np.flatnonzero(labels == c) for c in seen]
        counts = np.array([r.size for r in rows])
        short = np.flatnonzero(counts < needed)
        if short.size:
            raise ValueError(
                f"Expected every seen class to have at least max(shots, queries) = {needed} examples. "
                f"Received: classes {seen[short][:10].tolist()} with {counts[short][:10].tolist()}.")
        self.seen_classes = seen
        self.feature_dim = features.shape[1]
        self.attribute_dim = class_attributes.shape[1]
        order = np.concatenate(rows)
        self._features = tf.constant(features[order])
        self._offsets = tf.constant(np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32))
        self._counts = tf.constant(counts.astype(np.int32))
        self._max_count = int(counts.max())
        self._attributes = tf.constant(class_attributes[seen])

    def _examples(self, classes, per_class, seed):
        """`[T, n*per_class, F]` features of `per_class` distinct examples of each class."""
        T, n = self.tasks, classes.shape[1]
        rows = choose_examples(self._offsets, self._counts, self._max_count, classes, per_class, seed)
        return tf.reshape(tf.gather(self._features, rows), [T, n * per_class, self.feature_dim])

    def __call__(self, step):
        """Samples batch number `step` (a dict of tensors, see the class docstring)."""
        T, N = self.tasks, self.ways
        seeds = tf.random.experimental.stateless_split(
            tf.stack([tf.cast(self.seed, tf.int64), tf.cast(step, tf.int64)]), num=3)
        picked = choose_classes(tf.random.stateless_uniform([T, self.seen_classes.size], seeds[0]), 2 * N)
        batch = {}
        for part, classes, per_class, seed in (("support", picked[:, :N], self.shots, seeds[1]),
                                               ("query", picked[:, N:], self.queries, seeds[2])):
            batch[f"{part}_x"] = self._examples(classes, per_class, seed)
            batch[f"{part}_y"] = tf.reshape(
                tf.broadcast_to(tf.range(N, dtype=tf.int32)[None, :, None], [T, N, per_class]), [T, N * per_class])
            batch[f"{part}_attributes"] = tf.gather(self._attributes, classes)
            batch[f"{part}_classes"] = classes
        return batch

    def dataset(self, batches=None):
        """A `tf.data.Dataset` of task batches (dicts); `batches=None` is endless."""
        ds = tf.data.Dataset.counter()
        if batches is not None:
            ds = ds.take(check_int(batches, "batches", 1))
        ds = ds.map(self, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.prefetch(tf.data.AUTOTUNE)


def zero_shot_tasks(features, labels, class_attributes, seen_classes, ways=10, shots=5, queries=3, tasks=10,
                    seed=0, batches=None):
    """A `tf.data.Dataset` of AMAZ meta-training tasks (see `ZeroShotTaskSampler`).

    The paper's defaults: 10-way 5-shot support, 10-way 3-shot query, 10 tasks per
    batch; support and query classes of a task are disjoint seen classes.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ds = zero_shot_tasks(rng.normal(size=(200, 16)), np.repeat(np.arange(20), 10),
    ...                      rng.uniform(size=(25, 6)), seen_classes=np.arange(20), ways=4, batches=1)
    >>> next(iter(ds))["support_x"].shape
    TensorShape([10, 20, 16])
    """
    sampler = ZeroShotTaskSampler(features, labels, class_attributes, seen_classes, ways=ways, shots=shots,
                                  queries=queries, tasks=tasks, seed=seed)
    return sampler.dataset(batches)
