import keras
import numpy as np
import tensorflow as tf

from kzoo.layers import BatchStatNormalization


def _hessian_vector_product(layer, x, v):
    """d/dx <grad_x f(x), v> for f(x) = sum(layer(x)^3 * w): a second-order quantity."""
    w = tf.constant(np.random.RandomState(1).rand(*x.shape), tf.float64)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            f = tf.reduce_sum(layer(x, training=True) ** 3 * w)
        g = inner.gradient(f, x)
        gv = tf.reduce_sum(g * v)
    return outer.gradient(gv, x), lambda z: _grad(layer, z, w)


def _grad(layer, x, w):
    with tf.GradientTape() as tape:
        tape.watch(x)
        f = tf.reduce_sum(layer(x, training=True) ** 3 * w)
    return tape.gradient(f, x)


def test_second_order_gradients_match_float64_finite_differences():
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(6, 3), tf.float64)
    v = tf.constant(rng.randn(6, 3), tf.float64)
    layer = BatchStatNormalization(dtype="float64")
    hvp, grad = _hessian_vector_product(layer, x, v)
    eps = 1e-5
    numeric = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hvp.numpy(), numeric.numpy(), rtol=1e-6, atol=1e-7)


def test_keras_batch_normalization_gets_the_same_check_wrong():
    """The measured pitfall this layer exists for (DESIGN.md): stock BN's HVP is off."""
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(6, 3), tf.float64)
    v = tf.constant(rng.randn(6, 3), tf.float64)
    layer = keras.layers.BatchNormalization(epsilon=1e-3, dtype="float64")
    hvp, grad = _hessian_vector_product(layer, x, v)
    numeric = (grad(x + 1e-5 * v) - grad(x - 1e-5 * v)) / 2e-5
    assert np.max(np.abs(hvp.numpy() - numeric.numpy())) > 1e-3


def test_normalizes_with_batch_statistics_in_inference_too():
    x = np.random.RandomState(0).randn(50, 4).astype("float32") * 3 + 5
    y = BatchStatNormalization()(x, training=False).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-3)
