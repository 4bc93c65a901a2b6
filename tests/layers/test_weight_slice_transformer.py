import numpy as np
import pytest
import tensorflow as tf

from kzoo.layers import WeightSliceTransformer


def _layer(**kwargs):
    args = dict(num_slices=4, slice_size=6, num_labels=3, embedding_dim=8, num_layers=2, num_heads=2)
    return WeightSliceTransformer(**{**args, **kwargs})


def _inputs(seed=0, tasks=2, samples=5, features=10):
    rng = np.random.RandomState(seed)
    labels = np.array([[0, 1, 2, 0, -1]] * tasks, "int32")[:, :samples]
    return rng.randn(tasks, samples, features).astype("float32"), labels


@pytest.mark.parametrize("decoder_layers", [0, 1])
def test_output_is_slices_and_token_width_pads_to_the_larger_part(decoder_layers):
    layer = _layer(decoder_layers=decoder_layers)
    features, labels = _inputs()
    assert layer(features, labels).shape == (2, 4, 6)
    assert layer.width == 8 + 10  # d + max(features, slice_size)
    wide = _layer(slice_size=30)
    assert wide(features, labels).shape == (2, 4, 30) and wide.width == 8 + 30


@pytest.mark.parametrize("decoder_layers", [0, 1])
def test_permuting_samples_keeps_the_slices(decoder_layers):
    layer = _layer(decoder_layers=decoder_layers)
    features, labels = _inputs()
    order = [3, 0, 4, 2, 1]
    np.testing.assert_allclose(layer(features, labels).numpy(),
                               layer(features[:, order], labels[:, order]).numpy(), atol=1e-5)


def test_padding_with_a_mask_gives_the_unpadded_slices():
    layer = _layer()
    features, labels = _inputs()
    padded = np.concatenate([features, np.random.randn(2, 3, 10).astype("float32") * 50], axis=1)
    padded_labels = np.concatenate([labels, np.zeros((2, 3), "int32")], axis=1)
    mask = np.concatenate([np.ones((2, 5), bool), np.zeros((2, 3), bool)], axis=1)
    np.testing.assert_allclose(layer(padded, padded_labels, mask).numpy(), layer(features, labels).numpy(),
                               atol=1e-5)
    assert np.abs(layer(padded, padded_labels).numpy() - layer(features, labels).numpy()).max() > 1e-3


def test_unlabeled_embedding_is_the_last_row_and_changes_the_slices():
    layer = _layer()
    features, labels = _inputs()
    out = layer(features, labels).numpy()
    relabelled = labels.copy()
    relabelled[:, 4] = 1  # the unlabeled sample gets a label instead
    assert np.abs(layer(features, relabelled).numpy() - out).max() > 1e-4
    # -1 reads row num_labels of the table: setting it to label 1's row is the same as label 1
    table = layer.label_embeddings.numpy()
    layer.label_embeddings.assign(np.concatenate([table[:3], table[1:2]]))
    np.testing.assert_allclose(layer(features, labels).numpy(), layer(features, relabelled).numpy(), atol=1e-6)


def test_gradients_reach_every_weight():
    layer = _layer(decoder_layers=1)
    features, labels = _inputs()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.sin(layer(features, labels)))
    grads = tape.gradient(loss, layer.trainable_weights)
    missing = [w.path for w, g in zip(layer.trainable_weights, grads) if g is None or not np.any(tf.convert_to_tensor(g).numpy())]
    assert not missing


def test_config_round_trip_and_bad_arguments():
    layer = _layer(nu=0.5, decoder_layers=1)
    assert WeightSliceTransformer.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="num_slices"):
        _layer(num_slices=0)
    with pytest.raises(ValueError, match="nu"):
        _layer(nu=0.0)
    with pytest.raises(ValueError, match="num_heads"):
        _layer(num_heads=1.5)
