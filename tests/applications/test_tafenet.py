import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.applications import TAFENet
from kzoo.applications.tafenet import embedding_loss
from kzoo.export import export_serving


def small(**kwargs):
    args = dict(feature_dim=12, task_dim=6, hidden_units=(16, 16), task_layers=2, task_units=16,
                classifier_units=8, **kwargs)
    return TAFENet(**args)


@pytest.fixture(scope="module")
def toy():
    """Zero-shot toy data: class c's features are a fixed linear map of its attribute vector + noise."""
    rng = np.random.default_rng(0)
    attributes = rng.integers(0, 2, size=(10, 6)).astype("float32")
    attributes[np.arange(10), np.arange(10) % 6] = 1.0
    mixing = rng.normal(size=(6, 12)).astype("float32")
    labels = np.repeat(np.arange(10), 30)
    features = attributes[labels] @ mixing + 0.3 * rng.normal(size=(300, 12)).astype("float32")
    return features.astype("float32"), labels, attributes


def test_embedding_loss_hand_computed():
    tafe = np.array([[[1.0, 1.0], [1.0, 1.0]]], "float32")  # [S=1, T=2, d=2]
    task = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")  # [T=2, d]
    match = np.array([[1.0, 0.0]], "float32")
    # cos = 1/sqrt(2) for both pairs: positive (0.7071 - 1)^2 = 0.08579, negative 0.7071^2 = 0.5
    assert float(embedding_loss(tafe, task, match)) == pytest.approx((0.0857864 + 0.5) / 2, rel=1e-5)
    assert float(embedding_loss(tafe, task, match, positive_weight=3.0)) == pytest.approx(
        (3 * 0.0857864 + 0.5) / 2, rel=1e-5)
    # the hinge: a negative cosine counts as 0 distance
    assert float(embedding_loss(-tafe, task, np.zeros((1, 2), "float32"))) == 0.0


def test_config_round_trip():
    model = small(embedding_loss_weight=0.0, classes_per_step=4)
    clone = TAFENet.from_config(model.get_config())
    assert clone.get_config() == model.get_config()


def test_reference_initialization_draws_the_authors_scales():
    model = small(initialization="reference")
    model.build()
    assert TAFENet.from_config(model.get_config()).initialization == "reference"
    std = {layer.name: float(np.std(np.asarray(layer.kernel)))
           for layer in [*model.feature_layers, *model.generators, model.task_network[0], model.classifier[1]]}
    assert all(0.0005 < std[f"feature{i}"] < 0.002 for i in range(2)), std  # N(0, 0.001)
    assert all(0.005 < std[f"generator{i}"] < 0.02 for i in range(2)), std  # N(0, 0.01)
    assert 0.005 < std["task_dense0"] < 0.02 and std["classifier_hidden"] < 0.002
    default = small()
    default.build()
    assert float(np.std(np.asarray(default.feature_layers[0].kernel))) > 0.05  # Glorot uniform
    with pytest.raises(ValueError, match="initialization"):
        small(initialization="he")


def test_different_tasks_give_different_embeddings_for_the_same_input(toy):
    features, _, attributes = toy
    model = small()
    model.build()
    _, tafe, _ = model.forward(tf.constant(features[:1]), tf.constant(attributes[:3]))
    tafe = tafe.numpy()[0]  # [3 tasks, d]
    assert tafe.shape == (3, 16)
    assert not np.allclose(tafe[0], tafe[1]) and not np.allclose(tafe[1], tafe[2])


def test_all_class_scoring_matches_one_class_at_a_time(toy):
    features, _, attributes = toy
    model = small()
    scores = model.predict(features[:5], tasks=attributes, verbose=0)
    assert scores.shape == (5, 10)
    for c in (0, 7):
        one = model({"features": features[:5], "tasks": attributes[c:c + 1]}, training=False).numpy()[:, 0]
        np.testing.assert_allclose(scores[:, c], one, rtol=1e-4, atol=1e-5)


def test_task_normalization_and_classification_loss_options(toy):
    """No BatchNorm in T (the Dense layers get biases instead), and the softmax loss is the
    cross-entropy of the step's match logits: checked against the binary loss on one batch."""
    features, labels, attributes = toy
    plain = small(task_normalization=None, classification_loss="softmax", embedding_loss_weight=0.0, dropout=0.0)
    plain.build()
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.task_network)
    assert plain.task_network[0].bias is not None and small().task_network[0].use_bias is False
    clone = TAFENet.from_config(plain.get_config())
    assert (clone.task_normalization, clone.classification_loss) == (None, "softmax")
    plain.compile()
    plain._set_tasks(attributes, None, labels, "fit")
    x, y = features[:20], labels[:20]
    logits = np.asarray(plain({"features": x, "tasks": attributes}), np.float64)
    total, classification, _, _ = plain._pair_losses((x, y), training=False)
    log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert float(classification) == pytest.approx(-log_softmax[np.arange(20), y].mean(), rel=1e-4)
    binary = TAFENet.from_config({**plain.get_config(), "classification_loss": "binary"})
    binary.build()
    binary.set_weights(plain.get_weights())
    binary.compile()
    binary._set_tasks(attributes, None, labels, "fit")
    match = np.eye(10)[y]
    expected = np.mean(np.logaddexp(0, logits) - match * logits)  # BCE with logits
    assert float(binary._pair_losses((x, y), training=False)[1]) == pytest.approx(expected, rel=1e-4)
    affine = small(task_normalization=None, task_activation=None, generator_activation=None)
    affine.build()
    assert not any(isinstance(layer, keras.layers.ReLU) for layer in affine.task_network)
    assert TAFENet.from_config(affine.get_config()).task_activation is None
    e = np.eye(6, dtype="float32")  # T affine: T(a + b) - T(b) = T(a) - T(0); not with ReLUs
    for model, additive in ((affine, True), (plain, False)):
        t = np.asarray(model.embed_tasks(np.stack([e[0] + e[1], e[1], e[0], 0 * e[0]])))
        assert np.allclose(t[0] - t[1], t[2] - t[3], atol=1e-5) == additive
    for bad in ({"task_normalization": "layer"}, {"classification_loss": "hinge"}, {"task_activation": "tanh"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            small(**bad)


def test_fit_trains_both_networks_and_generalizes_to_unseen_classes(toy):
    features, labels, attributes = toy
    keras.utils.set_random_seed(0)
    model = small(classes_per_step=5)
    model.compile(keras.optimizers.Adam(3e-3))
    seen, unseen = np.arange(7), np.arange(7, 10)
    train = np.isin(labels, seen)
    model.build()
    task_before = [v.numpy().copy() for v in model.task_variables]
    other_before = model.feature_layers[0].kernel.numpy().copy()
    history = model.fit(features[train], labels[train], tasks=attributes, classes=seen, epochs=15, batch_size=30,
                        verbose=0)
    logs = history.history
    assert {"loss", "classification_loss", "embedding_loss", "accuracy"} <= set(logs)
    assert logs["loss"][-1] < logs["loss"][0] and logs["loss"][-1] > 0
    assert all(not np.allclose(b, v.numpy()) for b, v in zip(task_before, model.task_variables))
    assert not np.allclose(other_before, model.feature_layers[0].kernel.numpy())
    assert model.task_optimizer.learning_rate.numpy() == pytest.approx(3e-4)
    scores = model.predict(features[~train], tasks=attributes[unseen], verbose=0)
    accuracy = np.mean(unseen[np.argmax(scores, 1)] == labels[~train])
    assert accuracy > 0.6, accuracy  # chance: 1/3


def test_bad_inputs_are_named(toy):
    features, labels, attributes = toy
    model = small()
    model.compile()
    with pytest.raises(ValueError, match=r"task_dim=6\] \(the built task size\).*\(10, 5\)"):
        model.fit(features, labels, tasks=attributes[:, :5], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="unseen classes must not appear in the training data"):
        model.fit(features, labels, tasks=attributes, classes=np.arange(7), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels in 0..3"):
        model.fit(features, labels, tasks=attributes[:4], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="feature_dim=12"):
        model({"features": features[:, :5], "tasks": attributes})
    with pytest.raises(ValueError, match="`tasks`"):
        model.predict(features, verbose=0)


def test_few_shot_episode_uses_support_means_as_tasks():
    model = TAFENet(feature_dim=8, task_dim=8, hidden_units=(8,), task_layers=1, classifier_units=4)
    rng = np.random.default_rng(1)
    episode = {"support_x": rng.normal(size=(2, 6, 8)).astype("float32"),
               "support_y": np.array([[0, 0, 1, 1, 2, 2]] * 2, "int32"),
               "query_x": rng.normal(size=(2, 4, 8)).astype("float32")}
    logits = model(episode).numpy()
    assert logits.shape == (2, 4, 3)
    means = episode["support_x"][1].reshape(3, 2, 8).mean(1)
    direct = model({"features": episode["query_x"][1], "tasks": means}).numpy()
    np.testing.assert_allclose(logits[1], direct, rtol=1e-4, atol=1e-5)


def test_keras_file_preset_and_serving_round_trips(toy, tmp_path):
    features, labels, attributes = toy
    model = small()
    model.compile()
    model.fit(features, labels, tasks=attributes, epochs=1, batch_size=50, verbose=0)
    expected = model.predict(features[:4], tasks=attributes, verbose=0)

    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(features[:4], tasks=attributes, verbose=0), expected, rtol=1e-5)

    folder = model.save_to_preset(tmp_path / "preset", {"description": "toy"})
    preset = TAFENet.from_preset(str(folder))
    np.testing.assert_allclose(preset.predict(features[:4], tasks=attributes, verbose=0), expected, rtol=1e-5)

    export_serving(model, tmp_path / "export")
    np.save(tmp_path / "f.npy", features[:4])
    np.save(tmp_path / "t.npy", attributes)
    script = textwrap.dedent(f"""
        import json, numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(tmp_path / "export" / "1")!r})
        out = served.signatures["serving_default"](features=tf.constant(np.load({str(tmp_path / "f.npy")!r})),
                                                    tasks=tf.constant(np.load({str(tmp_path / "t.npy")!r})))
        print(json.dumps({{k: v.numpy().tolist() for k, v in out.items()}}))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(served["logits"], expected, rtol=1e-4, atol=1e-5)
    assert served["predicted_class"] == np.argmax(expected, 1).tolist()


def test_dynamic_tafenet_switches_channels_off_and_counts_flops():
    from kzoo.applications import DynamicTAFENet

    model = DynamicTAFENet(4, image_shape=(16, 16, 1), channels=(4, 8), task_channels=2, beta=1.0)
    clone = DynamicTAFENet.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    images = np.random.default_rng(0).random((6, 16, 16, 1)).astype("float32")
    for generator in model.generators:  # every channel on
        generator.kernel.assign(np.zeros(generator.kernel.shape, "float32"))
        generator.bias.assign(np.ones(generator.bias.shape, "float32"))
    dense_macs, full = model.flops(images)
    overhead = 8 * 8 * 9 * 1 * 2 + 4 * 4 * 9 * 2 * 2 + 4 * 4 * 2 * 4 + 4 * 12
    assert full == 16 * 16 * 9 * 1 * 4 + 8 * 8 * 9 * 4 * 8 + 8 * 4
    np.testing.assert_allclose(dense_macs, full + overhead)
    model.generators[0].bias.assign(np.array([1.0, -5.0, -5.0, 1.0], "float32"))  # two channels off
    sparse_macs, _ = model.flops(images)
    np.testing.assert_allclose(sparse_macs, full + overhead - 16 * 16 * 9 * 2 - 8 * 8 * 9 * 2 * 8)
    logits, _, factors = model.forward(images)
    assert logits.shape == (6, 4) and np.all(factors[0].numpy()[:, 1:3] == 0)
    model.compile()
    history = model.fit(images, np.arange(6) % 4, epochs=1, verbose=0)
    assert {"loss", "l1", "active_channels", "accuracy"} <= set(history.history)


def test_embedding_loss_gradient_is_finite_for_an_all_zero_feature_embedding():
    # ReLU-activated factors often zero a whole TAFE row; keras.ops.normalize's rsqrt(0) made XLA steps NaN
    tafe = tf.Variable(np.array([[[0.0, 0.0], [1.0, 2.0]]], "float32"))
    task = tf.constant([[1.0, 0.0], [0.0, 1.0]])

    @tf.function(jit_compile=True)  # eager TensorFlow happened to give 0 here, XLA NaN
    def loss_and_gradient():
        with tf.GradientTape() as tape:
            loss = embedding_loss(tafe, task, tf.constant([[1.0, 0.0]]))
        return loss, tape.gradient(loss, tafe)

    loss, grad = loss_and_gradient()
    grad = grad.numpy()
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    # task 0: zero embedding, cosine 0 against target 1; task 1: cosine 2/sqrt(5) against target 0
    expected = ((0 - 1) ** 2 + (2 / np.sqrt(5)) ** 2) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow  # ~27 s (MobileNetV3 traced for fit, predict, .keras and export); ProtoNet's backbone test runs by default
def test_a_keras_applications_backbone_takes_images_end_to_end(tmp_path):
    """TAFENet(backbone=...) trains the backbone with the rest, and its .keras file and serving export take images."""
    keras.utils.set_random_seed(0)
    mobilenet = keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), include_top=False, pooling="avg",
                                                    weights=None, include_preprocessing=False)
    model = TAFENet(task_dim=6, hidden_units=(16,), task_layers=2, task_units=16, classifier_units=8,
                    backbone=mobilenet)
    assert model.feature_dim == mobilenet.outputs[0].shape[-1]
    rng = np.random.default_rng(0)
    images, labels = rng.uniform(size=(24, 32, 32, 3)).astype("float32"), np.arange(24) % 4
    tasks = rng.uniform(size=(4, 6)).astype("float32")
    model.compile()
    before = [w.numpy().copy() for w in mobilenet.trainable_weights]
    model.fit(images, labels, tasks=tasks, batch_size=8, epochs=1, verbose=0)
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(before, mobilenet.trainable_weights))  # trained too
    logits = model.predict(images[:5], tasks=tasks, verbose=0)
    assert logits.shape == (5, 4) and np.all(np.isfinite(logits))
    model.save(tmp_path / "m.keras")
    clone = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(clone.predict(images[:5], tasks=tasks, verbose=0), logits, rtol=1e-4, atol=1e-4)
    served = tf.saved_model.load(str(export_serving(model, tmp_path / "serving", version=1)))
    out = served.signatures["serving_default"](images=tf.constant(images[:5]), tasks=tf.constant(tasks))
    np.testing.assert_allclose(out["logits"].numpy(), logits, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="shape \\[B, D\\]"):
        TAFENet(task_dim=6, backbone=keras.applications.MobileNetV3Small(
            input_shape=(32, 32, 3), include_top=False, weights=None, include_preprocessing=False))
    with pytest.raises(ValueError, match="feature_dim"):
        TAFENet(feature_dim=7, task_dim=6, backbone=mobilenet)
    with pytest.raises(ValueError, match="images of shape"):
        model.predict(images[:2, :16, :16], tasks=tasks, verbose=0)


def test_variable_way_episodes_of_features_are_scored_against_their_support_prototypes():
    """A Meta-Dataset episode (its N and shots drawn per episode), flattened to features: logits [1, Q, N]."""
    from kzoo import episodes

    rng = np.random.default_rng(0)
    source = episodes.arrays(rng.integers(0, 256, size=(240, 4, 4, 1)).astype("uint8"), np.repeat(np.arange(12), 20))
    model = TAFENet(feature_dim=16, task_dim=16, hidden_units=(8,), task_layers=2, task_units=8, classifier_units=8)
    sizes = set()
    for x, y in episodes.variable_few_shot(source, min_ways=2, max_ways=12, seed=2, batches=3):
        ways = int(np.max(x["support_y"])) + 1
        sizes.add(ways)
        features = {"support_x": tf.reshape(x["support_x"], [1, -1, 16]), "support_y": x["support_y"],
                    "query_x": tf.reshape(x["query_x"], [1, -1, 16])}
        assert model(features).shape == (1, y.shape[1], ways)
    assert len(sizes) > 1


def test_learning_rate_drops_lower_both_optimizers(toy):
    """The paper's step schedule: both T's and the prediction network's Adam rates drop 10x at the given epochs."""
    from kzoo.applications.tafenet.recipe import LearningRateDrops

    features, labels, attributes = toy
    model = small()
    model.compile(keras.optimizers.Adam(1e-3))
    rates = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: rates.append(
        (float(model.optimizer.learning_rate), float(model.task_optimizer.learning_rate))))
    model.fit(features, labels, tasks=attributes, epochs=3, batch_size=100, verbose=0,
              callbacks=[LearningRateDrops([1, 2]), record])
    np.testing.assert_allclose(rates, [(1e-3, 1e-4), (1e-4, 1e-5), (1e-5, 1e-6)], rtol=1e-5)
