"""Regression task families of MT-net (Lee & Choi, 2018, Sections 6.1 and 6.2).

Each task is a function f drawn from a family; an episode holds K support and Q
query points `(x, f(x))` with x uniform in `x_range`. The contract is the few-shot
one with float targets: `support_x`, `query_x`, `support_y` and `query_y` are all
float32 `[T, S, 1]` / `[T, Q, 1]`.
"""

import math

import numpy as np
import tensorflow as tf

from kzoo.checks import check_int as _check_int


def _check_range(value, name, positive=False):
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"Expected `{name}` to be a pair (low, high). Received: {name}={value!r}.")
    if not low <= high or (positive and low <= 0):
        kind = "positive " if positive else ""
        raise ValueError(f"Expected `{name}` = ({kind}low, high) with low <= high. Received: {name}={value!r}.")
    return low, high


def _regression_dataset(draw_task, shots, queries, tasks, seed, batches, x_range):
    shots = _check_int(shots, "shots", 1)
    queries = _check_int(queries, "queries", 0)
    tasks = _check_int(tasks, "tasks", 1)
    seed = _check_int(seed, "seed", 0)
    low, high = _check_range(x_range, "x_range")

    def sample(step):
        task_seed, x_seed = tf.unstack(tf.random.experimental.stateless_split(
            tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)]), num=2))
        f = draw_task(tasks, task_seed)
        x = tf.random.stateless_uniform([tasks, shots + queries, 1], x_seed, low, high)
        y = f(x)
        support = {"support_x": x[:, :shots], "support_y": y[:, :shots], "query_x": x[:, shots:]}
        return support, y[:, shots:]

    ds = tf.data.Dataset.counter()
    if batches is not None:
        ds = ds.take(_check_int(batches, "batches", 1))
    return ds.map(sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE)


def sinusoid(shots=10, queries=10, tasks=4, amplitude=(0.1, 5.0), frequency=(0.8, 1.2),
             phase=(0.0, math.pi), x_range=(-5.0, 5.0), seed=0, batches=None):
    """Sine-wave regression episodes: f(x) = A sin(w x + b) (MT-net, Section 6.1).

    Args:
        shots: K support points per task. Defaults to `10`.
        queries: Q query points per task. Defaults to `10`.
        tasks: T tasks per element. Defaults to `4` (MT-net's meta-batch).
        amplitude: range of A. Defaults to `(0.1, 5.0)`.
        frequency: range of w. Defaults to `(0.8, 1.2)`.
        phase: range of b. Defaults to `(0, pi)`.
        x_range: range of x. Defaults to `(-5, 5)`.
        seed: integer seed; element i depends only on (seed, i). Defaults to `0`.
        batches: number of elements or `None` for endless. Defaults to `None`.

    Returns:
        A `tf.data.Dataset` of `(x, y)`: `x = {"support_x": [T, K, 1], "support_y":
        [T, K, 1], "query_x": [T, Q, 1]}`, `y`: `[T, Q, 1]`, all float32.
    """
    ranges = [_check_range(amplitude, "amplitude"), _check_range(frequency, "frequency"),
              _check_range(phase, "phase")]
    lows = tf.constant([r[0] for r in ranges])
    highs = tf.constant([r[1] for r in ranges])

    def draw_task(tasks, seed):
        params = tf.random.stateless_uniform([tasks, 1, 3], seed) * (highs - lows) + lows
        a, w, b = tf.unstack(params, axis=-1)
        return lambda x: a[..., None] * tf.sin(w[..., None] * x + b[..., None])

    return _regression_dataset(draw_task, shots, queries, tasks, seed, batches, x_range)


def polynomial(order=2, shots=10, queries=10, tasks=4, coefficients=(-1.0, 1.0),
               x_range=(-5.0, 5.0), seed=0, batches=None):
    """Polynomial regression episodes: f(x) = sum_{i=0..n} c_i x^i (MT-net, Section 6.2).

    Args:
        order: n, the polynomial order (0 is a constant). Defaults to `2`.
        shots: K support points per task. Defaults to `10`.
        queries: Q query points per task. Defaults to `10`.
        tasks: T tasks per element. Defaults to `4`.
        coefficients: range each c_i is drawn from uniformly. Defaults to `(-1, 1)`.
        x_range: range of x. Defaults to `(-5, 5)`.
        seed: integer seed. Defaults to `0`.
        batches: number of elements or `None` for endless. Defaults to `None`.

    Returns:
        A `tf.data.Dataset` with the same structure as `sinusoid`.
    """
    order = _check_int(order, "order", 0)
    low, high = _check_range(coefficients, "coefficients")
    powers = tf.constant(np.arange(order + 1), tf.float32)

    def draw_task(tasks, seed):
        c = tf.random.stateless_uniform([tasks, 1, order + 1], seed, low, high)
        return lambda x: tf.reduce_sum(c * tf.pow(x, powers), axis=-1, keepdims=True)

    return _regression_dataset(draw_task, shots, queries, tasks, seed, batches, x_range)
