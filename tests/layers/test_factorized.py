import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.layers import FactorizedConv2D, FactorizedDense


def test_factorized_dense_equals_shared_kernel_times_diag_task():
    rng = np.random.default_rng(0)
    layer = FactorizedDense(5, use_bias=False)
    x = rng.normal(size=(3, 4)).astype("float32")
    w = rng.normal(size=(3, 5)).astype("float32")  # a different task per input
    y = layer(x, w).numpy()
    kernel = layer.kernel.numpy()
    for b in range(3):
        np.testing.assert_allclose(y[b], x[b] @ (kernel @ np.diag(w[b])), rtol=1e-5, atol=1e-6)


def test_factorized_dense_bias_is_scaled_with_the_shared_part():
    layer = FactorizedDense(2, bias_initializer="ones")
    x = np.zeros((1, 3), "float32")
    np.testing.assert_allclose(layer(x, np.array([[2.0, -1.0]], "float32")).numpy(), [[2.0, -1.0]])


def test_all_pairs_by_broadcasting_match_one_call_per_task():
    rng = np.random.default_rng(1)
    layer = FactorizedDense(6)
    x = rng.normal(size=(4, 3)).astype("float32")
    tasks = rng.normal(size=(7, 6)).astype("float32")
    pairs = layer(x[:, None, :], tasks[None]).numpy()
    assert pairs.shape == (4, 7, 6)
    for c in range(7):
        np.testing.assert_allclose(pairs[:, c], layer(x, np.tile(tasks[c], (4, 1))).numpy(), rtol=1e-5, atol=1e-6)


def test_different_tasks_in_one_batch_give_different_embeddings_for_the_same_input():
    layer = FactorizedDense(4)
    x = np.ones((2, 3), "float32")
    y = layer(x, np.array([[1, 1, 1, 1], [1, 0, 2, 1]], "float32")).numpy()
    assert not np.allclose(y[0], y[1])
    np.testing.assert_allclose(y[0, [0, 3]], y[1, [0, 3]], rtol=1e-6)


def test_factorized_conv_equals_conv_with_per_channel_scaled_kernel():
    rng = np.random.default_rng(2)
    layer = FactorizedConv2D(6, kernel_size=3, strides=2, padding="same", use_bias=True)
    x = rng.normal(size=(3, 9, 9, 2)).astype("float32")
    w = rng.normal(size=(3, 6)).astype("float32")
    layer.build(x.shape)
    layer.bias.assign(rng.normal(size=6).astype("float32"))
    y = layer(x, w).numpy()
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    for b in range(3):
        explicit = tf.nn.conv2d(x[b:b + 1], kernel * w[b], strides=2, padding="SAME").numpy()[0] + bias * w[b]
        np.testing.assert_allclose(y[b], explicit, rtol=1e-4, atol=1e-5)
    assert layer.compute_output_shape((3, 9, 9, 2)) == (3, 5, 5, 6)


def test_zero_factor_switches_a_channel_off():
    layer = FactorizedConv2D(3)
    y = layer(np.ones((1, 4, 4, 2), "float32"), np.array([1.0, 0.0, 1.0], "float32")).numpy()
    assert np.all(y[..., 1] == 0) and np.any(y[..., 0] != 0)


def test_task_vector_of_the_wrong_size_is_named():
    with pytest.raises(ValueError, match=r"last dimension 4.*task_params.shape=\(2, 5\)"):
        FactorizedDense(4)(np.ones((2, 3), "float32"), np.ones((2, 5), "float32"))
    with pytest.raises(ValueError, match=r"last dimension 3.*filters"):
        FactorizedConv2D(3)(np.ones((1, 4, 4, 2), "float32"), np.ones((1, 4), "float32"))
    with pytest.raises(ValueError, match="units"):
        FactorizedDense(0)


@pytest.mark.parametrize("layer", [FactorizedDense(3, name="fd"), FactorizedConv2D(3, kernel_size=(1, 3), name="fc")])
def test_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)


def test_gradients_reach_kernel_and_task_params():
    layer = FactorizedDense(3)
    x = tf.constant(np.ones((2, 4), "float32"))
    w = tf.Variable(np.ones((2, 3), "float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, w) ** 2)
    g_kernel, g_w = tape.gradient(loss, [layer.kernel, w])
    assert np.abs(g_kernel.numpy()).sum() > 0 and np.abs(g_w.numpy()).sum() > 0
