"""Every application through the same checks (config, fit, .keras, preset, serving)."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo import episodes
from kzoo.applications import MTNet, ProtoNet
from kzoo.applications import HyperTransformer
from kzoo.episodes.sampler import few_shot
from kzoo.export import export_serving
from kzoo.training.evaluation import evaluate_episodes
from tests.conftest import make_source

# (name, factory) for every few-shot classifier; later applications join this table.
CLASSIFIERS = [
    ("protonet", lambda: ProtoNet(example_shape=(28, 28, 1), channels=4)),
    ("protonet_cosine", lambda: ProtoNet(example_shape=(28, 28, 1), channels=4, distance="cosine")),
    ("mtnet", lambda: MTNet(example_shape=(28, 28, 1), num_outputs=4, channels=4, blocks=2, inner_lr=0.1)),
    ("maml_first_order", lambda: MTNet(example_shape=(28, 28, 1), variant="maml", num_outputs=4, channels=4,
                                       blocks=2, inner_steps=2, first_order=True)),
    ("hypertransformer_logits", lambda: HyperTransformer(num_ways=4, channels=4, embedding_dim=8, num_layers=1,
                                                         image_embedding_dim=8)),
    # generate="all" traces 5 transformers (~1 min per check on a loaded 2-core CPU): slow marker
    pytest.param("hypertransformer_all", lambda: HyperTransformer(
        num_ways=4, channels=4, generate="all", embedding_dim=8, num_layers=1, image_embedding_dim=8),
        marks=pytest.mark.slow),
]

# (name, factory) for regressors (float targets, "predictions" output).
REGRESSORS = [
    ("mtnet_sine", lambda: MTNet(variant="mtnet", hidden=(8, 8), eval_inner_steps=2)),
    pytest.param("mnet_full_sine", lambda: MTNet(variant="mnet", full_mask=True, hidden=(8,)),
                 marks=pytest.mark.slow),  # the same export path as mtnet_sine: slow marker
]


@pytest.fixture(scope="module")
def source():
    return make_source(num_classes=12, per_class=8, size=28, alphabets=3)


@pytest.fixture(scope="module")
def episode(source):
    return next(iter(few_shot(source, ways=4, shots=2, queries=3, tasks=2, seed=5, batches=1)))


def _trained(factory, source):
    model = factory()
    model.compile()
    model.fit(few_shot(source, 4, 2, 3, tasks=2), steps_per_epoch=2, epochs=1, verbose=0)
    return model


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
def test_config_round_trip(name, factory):
    model = factory()
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
def test_fit_step_changes_weights_and_logs_loss(name, factory, source):
    model = factory()
    model.compile()
    model.build(model.episode_shapes())
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(few_shot(source, 4, 2, 3, tasks=2), steps_per_epoch=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and history.history["loss"][0] > 0
    assert "accuracy" in history.history
    changed = [not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights)]
    assert all(changed)


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
def test_output_shape_is_tasks_queries_ways(name, factory, episode):
    x, y = episode
    assert factory().predict(x, verbose=0).shape == (2, 12, 4)


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
def test_keras_file_round_trip(name, factory, source, episode, tmp_path):
    model = _trained(factory, source)
    x, _ = episode
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    assert loaded.compiled


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
def test_preset_round_trip(name, factory, source, episode, tmp_path):
    model = _trained(factory, source)
    x, _ = episode
    folder = model.save_to_preset(tmp_path / "preset", {"command": "test"})
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "metadata.json", "model.weights.h5", "serving"]
    assert (folder / "serving" / "1" / "saved_model.pb").exists()
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["parameters"] == model.count_params() and meta["command"] == "test"
    loaded = type(model).from_preset(str(folder))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


SERVE = textwrap.dedent("""
    import sys
    sys.modules["kzoo"] = None  # any attempt to import kzoo now raises ImportError
    import numpy as np
    import tensorflow as tf
    data = np.load(sys.argv[2])
    served = tf.saved_model.load(sys.argv[1])
    fn = served.signatures["serving_default"]
    out = fn(support_x=tf.constant(data["support_x"]), support_y=tf.constant(data["support_y"]),
             query_x=tf.constant(data["query_x"]))
    np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})
""")


def _serve_in_clean_process(model, x, tmp_path):
    target = export_serving(model, tmp_path / "serving")
    assert target == tmp_path / "serving" / "1"
    np.savez(tmp_path / "in.npz", **{k: v.numpy() for k, v in x.items()})
    subprocess.run([sys.executable, "-c", SERVE, str(target), str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                   check=True, timeout=300)
    return np.load(tmp_path / "out.npz")


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
def test_serving_export_runs_in_a_clean_tensorflow_process(name, factory, source, episode, tmp_path):
    model = _trained(factory, source)
    x, _ = episode
    out = _serve_in_clean_process(model, x, tmp_path)
    logits = model.predict(x, verbose=0)
    np.testing.assert_allclose(out["logits"], logits, atol=1e-4)
    np.testing.assert_allclose(out["probabilities"], tf.nn.softmax(logits).numpy(), atol=1e-5)


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x: {k: v for k, v in x.items() if k != "query_x"}, "episode dict"),
        (lambda x: {**x, "support_y": tf.cast(x["support_y"], tf.float32)}, "integer `support_y`"),
        (lambda x: {**x, "query_x": x["query_x"][:1]}, "same number of tasks"),
        (lambda x: {**x, "support_x": x["support_x"][..., :20, :, :]}, "support_x"),
        (lambda x: {**x, "support_y": x["support_y"][:, :3]}, "support_y"),
        (lambda x: {**x, "support_x": x["support_x"][:, :0], "support_y": x["support_y"][:, :0]}, "non-empty"),
    ],
)
def test_bad_episode_structure_raises_value_error(name, factory, episode, change, match):
    x, _ = episode
    with pytest.raises(ValueError, match=match):
        factory().predict(change(x), verbose=0)


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x: {**x, "support_y": x["support_y"] - 2}, "-1..N-1"),
        (lambda x: {**x, "support_y": tf.where(x["support_y"] == 1, 5, x["support_y"])}, "at least one labelled"),
        (lambda x: {**x, "query_x": x["query_x"] * np.nan}, "query_x has NaN"),
    ],
)
def test_bad_episode_values_raise_in_graph(name, factory, episode, change, match):
    x, _ = episode
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        factory().predict(change(x), verbose=0)


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
def test_query_labels_outside_support_classes_raise_in_fit(name, factory, episode):
    x, y = episode
    model = factory()
    model.compile()
    with pytest.raises(tf.errors.InvalidArgumentError, match="query_y labels must be < N"):
        model.fit(x, y + 4, verbose=0)


@pytest.mark.parametrize("name, factory", CLASSIFIERS)
def test_variable_way_variable_shot_episodes_fit_predict_and_evaluate(name, factory, source):
    """Meta-Dataset episodes (N from 2 to 4, imbalanced shots, one task per batch, sizes varying)."""
    variable = lambda seed, batches=None: episodes.variable_few_shot(  # noqa: E731
        source, min_ways=2, max_ways=4, max_query=2, seed=seed, batches=batches)
    model = factory()
    model.compile()
    history = model.fit(variable(0), steps_per_epoch=3, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    sizes = set()
    for x, y in variable(1, batches=4):
        ways = int(np.max(x["support_y"])) + 1
        sizes.add((ways, x["support_x"].shape[1]))
        logits = model.predict_on_batch(x)
        assert logits.shape == (1, y.shape[1], ways) and np.all(np.isfinite(logits))
    assert len(sizes) > 1  # the episodes did differ
    score = evaluate_episodes(model, variable(1, batches=4), verbose=0)
    assert score["episodes"] == 4 and 0.0 <= score["accuracy"] <= 1.0


@pytest.fixture(scope="module")
def sine_episode():
    return next(iter(episodes.sinusoid(shots=5, queries=3, tasks=2, seed=4, batches=1)))


def _trained_regressor(factory):
    model = factory()
    model.compile()
    model.fit(episodes.sinusoid(shots=5, queries=3, tasks=2), steps_per_epoch=2, verbose=0)
    return model


@pytest.mark.parametrize("name, factory", REGRESSORS)
def test_regressor_round_trips_keras_preset_and_config(name, factory, sine_episode, tmp_path):
    model = _trained_regressor(factory)
    x, _ = sine_episode
    expected = model.predict(x, verbose=0)
    assert expected.shape == (2, 3, 1)
    assert type(model).from_config(model.get_config()).get_config() == model.get_config()
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "m.keras").predict(x, verbose=0), expected,
                               atol=1e-6)
    folder = model.save_to_preset(tmp_path / "preset")
    np.testing.assert_allclose(type(model).from_preset(str(folder)).predict(x, verbose=0), expected, atol=1e-6)


@pytest.mark.parametrize("name, factory", REGRESSORS)
def test_regressor_serving_export_adapts_in_a_clean_tensorflow_process(name, factory, sine_episode, tmp_path):
    model = _trained_regressor(factory)
    for cell in model.cells:  # open every mask, so the (deterministic) inference mask updates all rows
        if cell.use_mask:
            cell.mask_logits.assign(np.ones(cell.mask_logits.shape, "float32"))
            if cell.full_mask:
                cell.bias_mask_logits.assign(np.ones(cell.bias_mask_logits.shape, "float32"))
    x, _ = sine_episode
    out = _serve_in_clean_process(model, x, tmp_path)
    np.testing.assert_allclose(out["predictions"], model.predict(x, verbose=0), atol=1e-5)
    # the served function really adapts: other support targets, other predictions
    other = {**x, "support_y": x["support_y"] + 10.0}
    out_other = _serve_in_clean_process(model, other, tmp_path / "other")
    assert np.abs(out_other["predictions"] - out["predictions"]).max() > 1e-4


@pytest.mark.parametrize("name, factory", CLASSIFIERS[::2])
def test_plain_keras_callbacks_work(name, factory, source, tmp_path):
    model = factory()
    model.compile()
    callbacks = [keras.callbacks.TensorBoard(str(tmp_path / "tb")),
                 keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_loss"),
                 keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)]
    history = model.fit(few_shot(source, 4, 1, 2, tasks=2), steps_per_epoch=2, epochs=2,
                        validation_data=few_shot(source, 4, 1, 2, tasks=2, seed=3, batches=1),
                        callbacks=callbacks, verbose=0)
    assert "val_loss" in history.history and (tmp_path / "best.keras").exists()
    assert any((tmp_path / "tb").rglob("events.out.tfevents*"))


# -- the applications that do not take episodes, through the same checks -------------------------
#
# Each row: how to build a small trained model, one input of its serving signature (by name),
# and bad inputs with the error they must raise. Together with CLASSIFIERS and REGRESSORS above
# this table covers every entry of kzoo.applications.APPLICATIONS (test_every_application_is_in_the_table).

def _tafenet():
    from kzoo.applications import TAFENet

    rng = np.random.default_rng(0)
    tasks = rng.uniform(size=(10, 4)).astype("float32")
    y = np.repeat(np.arange(8), 5)
    x = (tasks[y] @ rng.normal(size=(4, 6)) + 0.1 * rng.normal(size=(40, 6))).astype("float32")
    model = TAFENet(feature_dim=6, task_dim=4, hidden_units=(8, 8), task_units=8, classifier_units=8)
    model.compile(run_eagerly=True)
    model.fit(x, y, tasks=tasks, classes=np.arange(8), batch_size=20, epochs=1, verbose=0)
    return model


def _amaz():
    from kzoo.applications import AMAZ
    from kzoo.episodes import zero_shot_tasks

    rng = np.random.default_rng(0)
    attributes = rng.uniform(size=(8, 4)).astype("float32")
    labels = np.repeat(np.arange(8), 6)
    features = np.maximum(attributes[labels] @ rng.normal(size=(4, 6)), 0).astype("float32")
    model = AMAZ(feature_dim=6, attribute_dim=4, num_classes=6, generator_units=(8,), embedding_dim=4,
                 discriminator_units=(8,), classifier_units=(8,), decoder_units=(8,))
    model.compile(run_eagerly=True)
    model.fit(zero_shot_tasks(features, labels, attributes, np.arange(6), ways=2, shots=2, queries=2, tasks=2),
              steps_per_epoch=1, epochs=1, verbose=0)
    return model


def _task2vec():
    from kzoo.applications import Task2Vec
    from kzoo.applications.task2vec import probe_resnet

    keras.utils.set_random_seed(0)
    return Task2Vec(probe_resnet(5, input_shape=(16, 16, 1), widths=(4, 4, 4, 4)), method="montecarlo",
                    max_samples=16, head_epochs=1)


OTHER_APPLICATIONS = [
    ("tafenet", _tafenet, lambda rng: {"features": rng.normal(size=(3, 6)), "tasks": rng.uniform(size=(5, 4))},
     [({"features": np.ones((3, 7)), "tasks": np.ones((5, 4))}, "feature_dim=6")]),
    ("amaz", _amaz, lambda rng: {"attributes": rng.uniform(size=(3, 4)), "noise": rng.normal(size=(3, 4))},
     [({"attributes": np.ones((3, 5)), "noise": np.ones((3, 4))}, "attributes"),
      ({"attributes": np.ones((3, 4))}, "attributes', 'noise'")]),
    ("task2vec", _task2vec, lambda rng: {"images": rng.uniform(size=(3, 16, 16, 1))}, []),
]
OTHER_IDS = [row[0] for row in OTHER_APPLICATIONS]


def _as_float32(inputs):
    return {k: np.asarray(v, "float32") for k, v in inputs.items()}


def _outputs(model, inputs):
    return {k: np.asarray(v) for k, v in model.serve(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


@pytest.fixture(scope="module")
def other_models():
    return {name: build() for name, build, _, _ in OTHER_APPLICATIONS}


def test_every_application_is_in_the_table():
    from kzoo.applications import APPLICATIONS

    factories = [getattr(row, "values", row)[1] for row in CLASSIFIERS + REGRESSORS]
    episodic = {type(factory()).__name__ for factory in factories}
    missing = {name for name, cls in APPLICATIONS.items() if cls.__name__ not in episodic and name not in OTHER_IDS}
    assert not missing, f"applications without contract rows: {sorted(missing)}"


@pytest.mark.parametrize("name", [n for n in OTHER_IDS if n != "task2vec"])
def test_other_application_config_and_keras_file_round_trip(name, other_models, tmp_path):
    # Task2Vec is not a Keras model (a probe network and an estimator): its probe is, and the
    # preset test below round-trips it.
    model = other_models[name]
    inputs = _as_float32(next(r for r in OTHER_APPLICATIONS if r[0] == name)[2](np.random.default_rng(1)))
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    for key, value in _outputs(model, inputs).items():
        np.testing.assert_allclose(_outputs(loaded, inputs)[key], value, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("name", OTHER_IDS)
def test_other_application_preset_round_trip_and_clean_process_serving(name, other_models, tmp_path):
    model = other_models[name]
    _, _, make_inputs, _ = next(r for r in OTHER_APPLICATIONS if r[0] == name)
    inputs = _as_float32(make_inputs(np.random.default_rng(2)))
    folder = model.save_to_preset(tmp_path / "preset", {"command": "test"})
    loaded = type(model).from_preset(str(folder))
    expected = _outputs(model, inputs)
    for key, value in _outputs(loaded, inputs).items():
        np.testing.assert_allclose(value, expected[key], atol=1e-5, err_msg=key)
    served_folder = folder / "serving" / "1"
    np.savez(tmp_path / "in.npz", **inputs)
    script = textwrap.dedent("""
        import sys
        sys.modules["kzoo"] = None
        import numpy as np
        import tensorflow as tf
        data = np.load(sys.argv[2])
        out = tf.saved_model.load(sys.argv[1]).signatures["serving_default"](
            **{k: tf.constant(data[k]) for k in data.files})
        np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})
    """)
    subprocess.run([sys.executable, "-c", script, str(served_folder), str(tmp_path / "in.npz"),
                    str(tmp_path / "out.npz")], check=True, timeout=300)
    served = np.load(tmp_path / "out.npz")
    assert set(served.files) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(served[key], value, rtol=1e-4, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("name, bad, match", [(n, b, m) for n, _, _, cases in OTHER_APPLICATIONS
                                              for b, m in cases])
def test_other_application_bad_inputs_name_the_input(name, bad, match, other_models):
    model = other_models[name]
    with pytest.raises(ValueError, match=match):
        model({k: np.asarray(v, "float32") for k, v in bad.items()})


def test_task2vec_bad_task_names_the_problem(other_models):
    t2v = other_models["task2vec"]
    images = np.random.default_rng(0).uniform(size=(8, 16, 16, 1)).astype("float32")
    with pytest.raises(ValueError, match="at least 2 classes"):
        t2v.embed((images, np.zeros(8, "int32")))
    with pytest.raises(ValueError, match="images"):
        t2v.embed((images[..., 0], np.arange(8) % 2))
