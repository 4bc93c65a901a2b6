"""The two random choices behind every episode and task sampler, in-graph and stateless.

Both pick with `top_k` over uniform scores, which draws without replacement, in a
uniformly random order, in one vectorised op for a whole batch of T tasks:

- `choose_classes`: n of C classes per task (entries scored -1 are never chosen
  while others are left);
- `choose_examples`: `per_class` distinct examples of each chosen class, as rows of
  a class-major example bank (`offsets[c]` is class c's first row, `counts[c]` its size).

>>> import tensorflow as tf
>>> classes = choose_classes(tf.random.stateless_uniform([2, 5], [0, 0]), 3)
>>> classes.shape, bool(tf.reduce_all(classes < 5))
(TensorShape([2, 3]), True)
>>> rows = choose_examples(tf.constant([0, 4, 6, 9, 12]), tf.constant([4, 2, 3, 3, 2]), 4, classes, 2, [0, 1])
>>> rows.shape
TensorShape([2, 3, 2])
"""

import tensorflow as tf


def choose_classes(scores, n):
    """int32 `[T, n]`: the classes with the `n` highest `scores` `[T, C]` (the order is the episode label)."""
    return tf.cast(tf.math.top_k(scores, n)[1], tf.int32)


def choose_examples(offsets, counts, max_count, classes, per_class, seed):
    """int32 `[T, n, per_class]`: bank rows of `per_class` distinct random examples of each of `classes` `[T, n]`.

    Args:
        offsets, counts: int32 `[C]`, each class's first row in the bank and its number of examples.
        max_count: the largest count (the width of the random scores).
        classes: int32 `[T, n]`.
        per_class: examples per class (at most every class's count).
        seed: the stateless seed of the choice.
    """
    scores = tf.random.stateless_uniform(tf.concat([tf.shape(classes)[:2], [max_count]], 0), seed)
    valid = tf.range(max_count)[None, None, :] < tf.gather(counts, classes)[..., None]
    _, within = tf.math.top_k(tf.where(valid, scores, -1.0), per_class)
    return tf.gather(offsets, classes)[..., None] + within
