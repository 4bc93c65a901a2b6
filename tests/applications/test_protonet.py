import numpy as np
import pytest
import tensorflow as tf

from kzoo.applications import ProtoNet
from kzoo.episodes.sampler import few_shot
from kzoo.layers import ConvBackbone


def _identity_embedding(model):
    """Replaces the backbone by flattening, so logits can be computed by hand."""
    model.embed = lambda images, training=None: tf.reshape(images, [*images.shape[:2], -1])
    return model


def test_logits_are_negative_squared_distances_to_class_means():
    model = _identity_embedding(ProtoNet(example_shape=(1, 2, 1), channels=4, blocks=1))
    support_x = np.array([[0, 0], [2, 0], [0, 4], [9, 9]], "float32").reshape(1, 4, 1, 2, 1)
    support_y = np.array([[0, 0, 1, -1]], "int32")  # the -1 sample must be ignored
    query_x = np.array([1, 1], "float32").reshape(1, 1, 1, 2, 1)
    logits = model.call_episode(tf.constant(support_x), tf.constant(support_y), tf.constant(query_x))
    # prototypes: class 0 = mean((0,0), (2,0)) = (1,0); class 1 = (0,4)
    np.testing.assert_allclose(logits.numpy(), [[[-1.0, -10.0]]])


def test_permuting_the_support_set_keeps_the_logits():
    model = ProtoNet(channels=4)
    rng = np.random.RandomState(0)
    x = {"support_x": rng.rand(1, 6, 28, 28, 1).astype("float32"),
         "support_y": np.array([[0, 1, 2, 0, 1, 2]], "int32"),
         "query_x": rng.rand(1, 4, 28, 28, 1).astype("float32")}
    order = [3, 5, 1, 0, 2, 4]
    permuted = {**x, "support_x": x["support_x"][:, order], "support_y": x["support_y"][:, order]}
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(permuted, verbose=0), atol=1e-5)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="distance"):
        ProtoNet(distance="manhattan")
    with pytest.raises(ValueError, match="example_shape"):
        ProtoNet(example_shape=(28, 28))
    with pytest.raises(ValueError, match="channels"):
        ConvBackbone(channels=0)


def test_backbone_embeds_28x28_in_channels_dimensions():
    assert ConvBackbone(channels=64)(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 64)
    with pytest.raises(ValueError, match="at least 64x64"):
        ConvBackbone(blocks=6)(np.zeros((1, 28, 28, 1), "float32"))


def test_protonet_learns_real_omniglot_above_chance(omniglot_dir):
    """A short run on held-out Omniglot alphabets beats 5-way chance (20%) by far."""
    from kzoo.episodes import omniglot
    from kzoo.training.evaluation import evaluate_episodes

    train, _, test = omniglot(omniglot_dir).split((0.7, 0.1, 0.2), by="alphabet", seed=0)
    model = ProtoNet(channels=16)
    model.compile()
    model.fit(few_shot(train, 5, 1, 5, tasks=4, rotations=True), steps_per_epoch=60, epochs=1, verbose=0)
    score = evaluate_episodes(model, few_shot(test, 5, 1, 5, tasks=20, seed=9, batches=5), verbose=0)
    assert score["episodes"] == 100
    assert score["accuracy"] - score["ci95"] > 0.4, score  # twice chance


def test_any_keras_model_is_a_backbone_and_round_trips(tmp_path):
    import keras

    from kzoo import episodes
    from kzoo.applications import ProtoNet

    keras.utils.set_random_seed(0)
    mobilenet = keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), include_top=False, pooling="avg",
                                                    weights=None, include_preprocessing=False)
    model = ProtoNet(example_shape=(32, 32, 3), backbone=mobilenet)
    rng = np.random.default_rng(0)
    source = episodes.arrays(rng.uniform(size=(30, 32, 32, 3)).astype("float32"), np.repeat(np.arange(5), 6))
    data = episodes.few_shot(source, ways=3, shots=1, queries=2, batches=1)
    model.compile()
    model.fit(data, epochs=1, verbose=0)
    x, _ = next(iter(data))
    logits = model.predict(x, verbose=0)
    assert logits.shape == (1, 6, 3) and np.all(np.isfinite(logits))
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "m.keras").predict(x, verbose=0), logits,
                               rtol=1e-4, atol=1e-4)
    assert ProtoNet.from_config(model.get_config()).backbone.name == mobilenet.name
    with pytest.raises(ValueError, match="`backbone` to be a Keras layer"):
        ProtoNet(backbone="resnet")
