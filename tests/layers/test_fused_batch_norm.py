import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.layers import fused_batch_norm
from kzoo.layers.fused_batch_norm import can_fuse


def _pair(**kwargs):
    x = tf.constant(np.random.default_rng(0).normal(2.0, 3.0, size=(6, 5, 5, 4)).astype("float32"))
    fused, plain = (keras.layers.BatchNormalization(momentum=0.9, **kwargs) for _ in range(2))
    for layer in (fused, plain):
        layer.build(x.shape)
    rng = np.random.default_rng(1)
    weights = [w + rng.normal(scale=0.3, size=w.shape).astype("float32") for w in plain.get_weights()]
    weights[-1] = np.abs(weights[-1])  # a positive moving variance
    fused.set_weights(weights)
    plain.set_weights(weights)
    return x, fused, plain


def _forward_and_gradients(layer, x, training, fused):
    upstream = tf.constant(np.random.default_rng(2).normal(size=x.shape).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fused_batch_norm(layer, x, training) if fused else layer(x, training=training)
        loss = tf.reduce_sum(y * upstream)
    grads = tape.gradient(loss, [x, *layer.trainable_variables])
    return y, grads


@pytest.mark.parametrize("training", [True, False])
def test_same_outputs_gradients_and_moving_statistics_as_keras(training):
    x, fused, plain = _pair()
    before = fused.moving_mean.numpy()
    y_f, g_f = _forward_and_gradients(fused, x, training, fused=True)
    y_p, g_p = _forward_and_gradients(plain, x, training, fused=False)
    np.testing.assert_allclose(y_f, y_p, rtol=1e-4, atol=1e-5)
    for a, b in zip(g_f, g_p):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    for a, b in zip(fused.non_trainable_weights, plain.non_trainable_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # training moves the moving statistics (by Keras's biased-variance rule), inference does not
    assert np.allclose(fused.moving_mean, before) == (not training)


def test_training_step_uses_the_fused_kernel():
    x, fused, _ = _pair()
    graph = tf.function(lambda t: fused_batch_norm(fused, t, True)).get_concrete_function(x).graph
    assert "FusedBatchNormV3" in {op.type for op in graph.get_operations()}
    graph = tf.function(lambda t: fused_batch_norm(fused, t, False)).get_concrete_function(x).graph
    assert "FusedBatchNormV3" not in {op.type for op in graph.get_operations()}


def test_other_ranks_and_synchronized_fall_back_to_keras():
    layer = keras.layers.BatchNormalization()
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = np.asarray(fused_batch_norm(layer, x, True))
    np.testing.assert_allclose(y.mean(0), 0.0, atol=1e-5)
    x4 = tf.constant(np.random.default_rng(0).normal(size=(4, 3, 3, 2)).astype("float32"))
    assert can_fuse(keras.layers.BatchNormalization(), x4, True)
    assert not can_fuse(keras.layers.BatchNormalization(synchronized=True), x4, True)
    assert not can_fuse(keras.layers.BatchNormalization(), x4, None)
    assert not can_fuse(keras.layers.BatchNormalization(axis=1), x4, True)


def test_protonet_training_step_takes_the_fused_path(monkeypatch):
    from kzoo.applications import ProtoNet

    calls = []
    fused = tf.compat.v1.nn.fused_batch_norm
    monkeypatch.setattr(tf.compat.v1.nn, "fused_batch_norm", lambda *a, **k: calls.append(1) or fused(*a, **k))
    model = ProtoNet(example_shape=(28, 28, 1), channels=4, blocks=2)
    episode = {"support_x": np.random.rand(2, 3, 28, 28, 1).astype("float32"),
               "support_y": np.tile(np.arange(3, dtype="int32"), (2, 1)),
               "query_x": np.random.rand(2, 6, 28, 28, 1).astype("float32")}
    model.compile()
    model.fit(tf.data.Dataset.from_tensors((episode, np.tile(np.arange(3, dtype="int32"), (2, 2)))).repeat(),
              steps_per_epoch=1, verbose=0)
    assert len(calls) == 2  # traced once, one call per block
    model.predict(episode, verbose=0)
    assert len(calls) == 2  # inference uses the moving statistics, not the fused training kernel
