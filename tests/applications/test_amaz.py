"""AMAZ: Algorithm 1 phases, losses and weights by hand, synthesis, classifiers, presets, export."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.applications import AMAZ
from kzoo.applications.amaz import (PHASES, attribute_loss, class_weights, gradient_penalty, linear_svm,
                                    quality_weights, softmax_classifier, zero_shot_tasks)
from kzoo.episodes.zero_shot import ZeroShotTaskSampler
from kzoo.export import export_serving

C, A, F, SEEN = 30, 6, 16, 20


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    attributes = rng.uniform(size=(C, A)).astype("float32")
    labels = np.repeat(np.arange(C), 12)
    features = (attributes[labels] @ rng.normal(size=(A, F)) + 0.1 * rng.normal(size=(labels.size, F)))
    return features.astype("float32"), labels, attributes


def small(**kwargs):
    return AMAZ(**{**dict(feature_dim=F, attribute_dim=A, num_classes=SEEN, generator_units=(24, 24),
                          embedding_dim=12, discriminator_units=(16, 16), classifier_units=(16,),
                          decoder_units=(16,), meta_learning_rates=(1e-3, 1e-3, 1e-3)), **kwargs})


def tasks(data, **kwargs):
    features, labels, attributes = data
    return zero_shot_tasks(features, labels, attributes, np.arange(SEEN), **{
        **dict(ways=4, shots=3, queries=2, tasks=2), **kwargs})


def snapshot(model):
    return {phase: [v.numpy().copy() for v in model.phase_variables(phase)] for phase in PHASES}


def moved(before, model):
    return {phase: [not np.array_equal(b, v.numpy()) for b, v in zip(before[phase], model.phase_variables(phase))]
            for phase in PHASES}


@pytest.fixture(scope="module")
def trained(data):
    model = small()
    model.compile(run_eagerly=True)  # tracing the six phases costs more than two eager steps
    before = snapshot(model)
    history = model.fit(tasks(data), steps_per_epoch=2, epochs=1, verbose=0)
    return model, before, history


# -- tasks ----------------------------------------------------------------------------------------


def test_tasks_have_disjoint_seen_classes_and_matching_attributes(data):
    features, labels, attributes = data
    batch = ZeroShotTaskSampler(features, labels, attributes, np.arange(SEEN), ways=4, shots=3, queries=2,
                                tasks=5)(7)
    s, q = batch["support_classes"].numpy(), batch["query_classes"].numpy()
    assert all(not set(s[t]) & set(q[t]) for t in range(5)) and s.max() < SEEN and q.max() < SEEN
    np.testing.assert_array_equal(batch["support_attributes"].numpy(), attributes[s])
    # every support feature row belongs to the class its label names
    rows = batch["support_x"].numpy().reshape(5, 4, 3, F)
    for t in range(5):
        for n in range(4):
            for k in range(3):
                assert labels[np.flatnonzero((features == rows[t, n, k]).all(1))[0]] == s[t, n]
    assert batch["support_y"].numpy()[0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    again = ZeroShotTaskSampler(features, labels, attributes, np.arange(SEEN), ways=4, shots=3, queries=2, tasks=5)
    np.testing.assert_array_equal(again(7)["query_x"].numpy(), batch["query_x"].numpy())


@pytest.mark.parametrize("change, match", [
    (dict(ways=11), r"2 \* `ways` <= number of seen classes \(20\)"),
    (dict(shots=13), "at least max"),
    (dict(class_attributes="nan"), "finite `class_attributes`"),
    (dict(seen_classes=[0, 0, 1]), "distinct"),
    (dict(seen_classes=[0, 99]), "seen_classes"),
])
def test_bad_task_settings_raise(data, change, match):
    features, labels, attributes = data
    kwargs = dict(ways=4, shots=3, queries=2, seen_classes=np.arange(SEEN), class_attributes=attributes)
    if change.get("class_attributes") == "nan":
        bad = attributes.copy()
        bad[3, 1] = np.nan
        change = {"class_attributes": bad}
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        ZeroShotTaskSampler(features, labels, **kwargs)


# -- Algorithm 1 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", PHASES)
def test_inner_update_moves_only_its_own_group(data, phase):
    model = small()
    model.build()
    batch = next(iter(tasks(data)))
    before = snapshot(model)
    logs = model.inner_update(phase, batch)
    changed = moved(before, model)
    kernels = [flag for flag, v in zip(changed[phase], model.phase_variables(phase)) if "kernel" in v.path]
    assert kernels and all(kernels), phase  # (D's output bias has no gradient: eq. (6) is shift-invariant)
    assert not any(any(changed[other]) for other in PHASES if other != phase)
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_inner_step_is_clipped_to_inner_clipnorm(data):
    batch = next(iter(tasks(data)))

    def step_norm(**kwargs):
        model = small(inner_learning_rates=(1.0, 1.0, 1.0), **kwargs)
        model.build()
        before = [v.numpy().copy() for v in model.phase_variables("discriminator")]
        model.inner_update("discriminator", batch)
        return np.sqrt(sum(np.sum((v.numpy() - b) ** 2) for b, v in zip(before, model.phase_variables("discriminator"))))

    free = step_norm(inner_clipnorm=None)  # the paper's plain step: lr 1 x the gradient
    assert free > 0.02
    assert step_norm(inner_clipnorm=0.01) == pytest.approx(0.01, rel=1e-3)  # lr 1 x a gradient of norm 0.01
    assert small().inner_clipnorm == 10.0 and small(inner_clipnorm=None).get_config()["inner_clipnorm"] is None


def test_fit_updates_every_group_and_logs_the_four_losses(trained):
    model, before, history = trained
    changed = moved(before, model)
    assert all(sum(flags) >= len(flags) - 1 for flags in changed.values())  # all but D's output bias
    for name in ("d_loss", "g_loss", "ad_loss", "c_loss"):
        assert np.isfinite(history.history[name][0])
    assert int(model.optimizer.iterations) == 2


def test_meta_update_of_one_group_leaves_the_others_at_their_initial_weights(data):
    """With zero meta learning rates for (AP, AM, AD) and (G, C), only D moves:
    the support-set steps are undone, and D's meta-gradient touches only D."""
    model = small()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), attribute_optimizer=keras.optimizers.SGD(0.0),
                  generator_optimizer=keras.optimizers.SGD(0.0), run_eagerly=True)
    before = snapshot(model)
    model.fit(tasks(data), steps_per_epoch=1, epochs=1, verbose=0)
    changed = moved(before, model)
    assert sum(changed["discriminator"]) == len(changed["discriminator"]) - 1  # all but D's output bias
    assert not any(changed["attribute"]) and not any(changed["generator"])


def test_a_pretrained_classifier_learns_the_real_features_and_stays_frozen_in_meta_training(data):
    features, labels, _ = data
    seen = labels < SEEN
    model = small(classifier_training="pretrained")
    model.pretrain_classifier(features[seen], labels[seen], epochs=60, learning_rate=1e-2)
    assert np.mean(np.argmax(model.classify(features[seen]), -1) == labels[seen]) > 0.8  # chance: 1/20
    classifier = [v for block in model.classifier_blocks for v in block.trainable_variables]
    assert not {id(v) for v in classifier} & {id(v) for v in model.phase_variables("generator")}
    weights = [v.numpy().copy() for v in classifier]
    model.compile(run_eagerly=True)
    before = snapshot(model)
    model.fit(tasks(data), steps_per_epoch=1, epochs=1, verbose=0)
    assert all(np.array_equal(w, v.numpy()) for w, v in zip(weights, classifier))
    assert all(moved(before, model)["generator"])
    assert AMAZ.from_config(model.get_config()).classifier_training == "pretrained"
    joint = small()
    joint.build()
    assert {id(v) for b in joint.classifier_blocks for v in b.trainable_variables} <= {
        id(v) for v in joint.phase_variables("generator")}
    with pytest.raises(ValueError, match="classifier_training"):
        small(classifier_training="frozen")
    with pytest.raises(ValueError, match="labels"):
        model.pretrain_classifier(features[:4], np.array([0, 1, 2, SEEN]))


def test_overlapping_support_and_query_classes_raise(data):
    model = small()
    model.compile(run_eagerly=True)
    batch = next(iter(tasks(data)))
    batch = {**batch, "query_classes": batch["support_classes"]}
    with pytest.raises(tf.errors.InvalidArgumentError, match="disjoint"):
        model.train_step(batch)


def test_attribute_dimension_mismatch_is_named(data):
    model = small(attribute_dim=A + 1)
    model.compile()
    with pytest.raises(ValueError, match=r"support_attributes.*attribute_dim=7"):
        model.fit(tasks(data), steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match=r"\[C, 7\]"):
        model.synthesize(np.ones((2, A)), 3)


def test_modulators_start_near_the_identity_by_default_and_the_choice_is_saved():
    model = small()
    model.build()
    for modulator in model.modulators:  # eq. (3): scale 1 + sigmoid(-4), offset sigmoid(-4)
        for dense in (modulator.scale_dense, modulator.bias_dense):
            np.testing.assert_array_equal(np.asarray(dense.bias), -4.0)
    zeros = small(modulator_initialization="zeros")
    zeros.build()
    assert all(np.all(np.asarray(m.bias_dense.bias) == 0.0) for m in zeros.modulators)
    assert AMAZ.from_config(zeros.get_config()).modulator_initialization == "zeros"
    with pytest.raises(ValueError, match="modulator_initialization"):
        small(modulator_initialization=-4.0)


def test_nan_attributes_and_bad_sigma_raise():
    model = small()
    with pytest.raises(ValueError, match="finite"):
        model.synthesize(np.full((2, A), np.nan), 3)
    with pytest.raises(ValueError, match="sigma"):
        model.synthesize(np.ones((2, A)), 3, sigma=0.0)
    for name in ("train_sigma", "synthesis_sigma"):
        with pytest.raises(ValueError, match=name):
            small(**{name: -1.0})
    with pytest.raises(tf.errors.InvalidArgumentError, match="attributes has NaN"):
        model({"attributes": np.full((2, A), np.nan, "float32"), "noise": np.zeros((2, A), "float32")})


# -- losses and weights by hand ------------------------------------------------------------------------


def test_attribute_loss_is_mean_squared_l2_distance():
    a = np.array([[1.0, 0.0], [0.0, 2.0]], "float32")
    r = np.array([[0.0, 0.0], [1.0, 1.0]], "float32")
    assert float(attribute_loss(a, r)) == pytest.approx((1.0 + 2.0) / 2)


def test_quality_and_class_weights_by_hand():
    a = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], "float32")
    r = np.array([[1, 0], [1, 1], [0, 3], [1, -1]], "float32")  # cos = 1, 1/sqrt2, 1, -1/sqrt2
    q = quality_weights(a, r).numpy()
    np.testing.assert_allclose(q, [1, 2 ** -0.5, 1, 0], rtol=1e-6)  # negative similarity clipped to 0
    np.testing.assert_allclose(quality_weights(a, r, clip=False).numpy()[3], -(2 ** -0.5), rtol=1e-6)
    w = class_weights(q, [0, 0, 1, 1], 3).numpy()
    np.testing.assert_allclose(w, [(1 + 2 ** -0.5) / 2, 0.5, 0.0], rtol=1e-6)


def test_gradient_penalty_weight_gradient_matches_finite_differences():
    """The double-backward of the penalty (through D only: dense, LeakyReLU) in float64."""
    model = small(dtype="float64", dropout=0.0)
    model.build()
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(2, 3, F)), rng.normal(size=(2, 3, F))
    attributes, mix = rng.uniform(size=(2, 3, A)), rng.uniform(size=(2, 3, 1))
    kernel = model.critic_blocks[0].dense.kernel

    def penalty():
        return gradient_penalty(lambda x, a: model.critic(x, a, training=True), tf.constant(real),
                                tf.constant(fake), tf.constant(attributes), tf.constant(mix))

    with tf.GradientTape() as tape:
        value = penalty()
    grad = tape.gradient(value, kernel.value).numpy()
    base = kernel.numpy().copy()
    for index in [(0, 0), (3, 5), (F + 2, 7)]:
        numeric = []
        for step in (1e-6, -1e-6):
            w = base.copy()
            w[index] += step
            kernel.assign(w)
            numeric.append(float(penalty()))
        kernel.assign(base)
        np.testing.assert_allclose(grad[index], (numeric[0] - numeric[1]) / 2e-6, rtol=1e-5, atol=1e-8)
    assert np.abs(grad).max() > 1e-4


# -- synthesis and final classifiers --------------------------------------------------------------------


def test_synthetic_features_differ_between_classes_and_follow_the_noise(data):
    _, _, attributes = data
    model = small()
    noise = np.random.default_rng(0).normal(size=(1, A)).astype("float32")
    one = model({"attributes": attributes[:1], "noise": noise}).numpy()
    other = model({"attributes": attributes[1:2], "noise": noise}).numpy()
    assert np.abs(one - other).max() > 1e-3
    features, labels = model.synthesize(attributes[:3], 50, seed=1)
    means = np.stack([features[labels == c].mean(0) for c in range(3)])
    assert np.abs(means[0] - means[1]).max() > 1e-3 and features[labels == 0].std(0).max() > 1e-4
    np.testing.assert_array_equal(model.synthesize(attributes[:3], 50, seed=1)[0], features)


def test_relu_output_activation_gives_non_negative_features_and_round_trips(data):
    _, _, attributes = data
    model = small(output_activation="relu")
    features, _ = model.synthesize(attributes[:3], 50, seed=1, sigma=1.0)
    assert features.min() >= 0.0 and (features > 0).mean() > 0.05
    clone = AMAZ.from_config(model.get_config())
    assert clone.get_config()["output_activation"] == "relu"


def test_class_scope_modulates_each_training_sample_like_synthesis(data):
    """modulation_scope="class": a task batch's samples get the single-class modulation of synthesis."""
    _, _, attributes = data
    model = small(modulation_scope="class")
    model.build()
    rng = np.random.default_rng(2)
    a = attributes[rng.integers(0, C, size=(2, 5))]  # [T=2, M=5, A]
    z = rng.normal(size=(2, 5, A)).astype("float32")
    embedding = model.projector(a, training=False)
    batch = model.generate(z, a, embedding, training=False).numpy()
    rows = model({"attributes": a.reshape(10, A), "noise": z.reshape(10, A)}, training=False).numpy()
    np.testing.assert_allclose(batch.reshape(10, F), rows, atol=1e-5)
    task = model.generate(z, a, model.task_embedding(a, False), training=False).numpy()
    assert np.abs(task - batch).max() > 1e-4  # a task-level embedding modulates differently
    with pytest.raises(ValueError, match="modulation_scope"):
        small(modulation_scope="sample")


def test_weighted_classifiers_down_weight_low_quality_samples():
    """The same points carry both labels; the label with the higher weight wins."""
    rng = np.random.default_rng(0)
    centers = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]], "float32")
    clean = np.concatenate([c + 0.3 * rng.normal(size=(40, 2)) for c in centers]).astype("float32")
    clean_y = np.repeat([0, 1, 2], 40)
    conflict = (centers[2] + 0.3 * rng.normal(size=(40, 2))).astype("float32")  # class 2's region, labelled 0
    x = np.concatenate([clean, conflict])
    y = np.concatenate([clean_y, np.zeros(40, int)])
    probe = centers[2:3] + 0.0
    for trusted in (1.0, 0.0):
        weights = np.concatenate([np.ones(120), np.full(40, trusted)]).astype("float32")
        softmax = softmax_classifier(x, y, 3, sample_weight=weights, hidden=16, epochs=60, batch_size=160,
                                     learning_rate=0.03)
        predicted = int(np.argmax(softmax.predict(probe, verbose=0)))
        if trusted:
            p_zero_trusted = float(tf.nn.softmax(softmax.predict(probe, verbose=0))[0, 0])
        else:
            assert predicted == 2
            assert float(tf.nn.softmax(softmax.predict(probe, verbose=0))[0, 0]) < p_zero_trusted - 0.2
    # SVM class weights: down-weighting class 2 hands its contested region to class 0 and back
    contested = np.concatenate([clean[:40], conflict, clean[80:]])
    labels = np.concatenate([np.zeros(80, int), np.full(40, 2)])
    x2 = np.concatenate([contested, conflict])
    y2 = np.concatenate([labels, np.full(40, 2)])
    for weights, winner in (([1.0, 1.0, 0.05], 0), ([0.05, 1.0, 1.0], 2)):
        svm = linear_svm(x2, y2, 3, class_weight=np.array(weights), epochs=60, batch_size=160, learning_rate=0.05)
        assert int(np.argmax(svm.predict(probe, verbose=0))) == winner, weights


def test_projection_callback_writes_an_image_summary(trained, data, tmp_path):
    from kzoo.applications.amaz import SyntheticFeatureProjection

    model, _, _ = trained
    callback = SyntheticFeatureProjection(tmp_path / "tb", data[2][:4], per_class=10)
    callback.set_model(model)
    callback.on_epoch_end(0)
    events = list((tmp_path / "tb").glob("events.out.tfevents*"))
    assert events
    tags = {v.tag for e in tf.compat.v1.train.summary_iterator(str(events[0])) for v in e.summary.value}
    assert "synthetic_features/pca" in tags


# -- serialization, presets, export ---------------------------------------------------------------------


def test_config_and_keras_file_round_trip(trained, data, tmp_path):
    model, _, _ = trained
    clone = AMAZ.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    _, _, attributes = data
    model.save(tmp_path / "amaz.keras")
    loaded = keras.saving.load_model(tmp_path / "amaz.keras")
    np.testing.assert_allclose(loaded.synthesize(attributes[:4], 5)[0], model.synthesize(attributes[:4], 5)[0],
                               atol=1e-5)


def test_preset_round_trip(trained, data, tmp_path):
    model, _, _ = trained
    _, _, attributes = data
    folder = model.save_to_preset(tmp_path / "preset", {"command": "test"})
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["application"] == "AMAZ" and meta["parameters"] == model.count_params()
    loaded = AMAZ.from_preset(str(folder))
    np.testing.assert_allclose(loaded.synthesize(attributes, 5)[0], model.synthesize(attributes, 5)[0], atol=1e-5)


SERVE = textwrap.dedent("""
    import sys
    sys.modules["kzoo"] = None  # any attempt to import kzoo now raises ImportError
    import numpy as np
    import tensorflow as tf
    data = np.load(sys.argv[2])
    served = tf.saved_model.load(sys.argv[1])
    fn = served.signatures["serving_default"]
    out = fn(attributes=tf.constant(data["attributes"]), noise=tf.constant(data["noise"]))
    np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})
""")


def test_export_maps_attributes_and_noise_to_features_in_a_clean_process(trained, data, tmp_path):
    model, _, _ = trained
    _, _, attributes = data
    noise = np.random.default_rng(3).normal(size=(C, A)).astype("float32")
    target = export_serving(model, tmp_path / "serving")
    np.savez(tmp_path / "in.npz", attributes=attributes, noise=noise)
    subprocess.run([sys.executable, "-c", SERVE, str(target), str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                   check=True, timeout=300)
    out = np.load(tmp_path / "out.npz")
    assert list(out) == ["features"] and out["features"].shape == (C, F)
    expected = model({"attributes": attributes, "noise": noise}, training=False).numpy()
    np.testing.assert_allclose(out["features"], expected, atol=1e-5)


# (no built-in `glyphs_zsl` preset ships: AMAZ's glyph-set runs are still at chance, see
# applications/amaz/README.md; the preset mechanism itself is covered by test_preset_round_trip)
