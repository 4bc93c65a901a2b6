"""keras-tuner HyperModels: a 2-trial search, best-model reload, Hyperband epochs, bad objectives."""

import keras_tuner as kt
import numpy as np
import pytest

from kzoo import applications, cli, tuning
from kzoo.episodes.sampler import few_shot
from tests.conftest import make_source

SHAPE = (16, 16, 1)
TINY = {"channels": 4, "blocks": 2}
TAFE = {"hidden_units": (8, 8), "task_layers": 2, "task_units": 8, "classifier_units": 8}
AMAZ_SHAPE = {"feature_dim": 8, "attribute_dim": 5, "num_classes": 10}
AMAZ_TINY = {"generator_units": (8,), "embedding_dim": 8, "discriminator_units": (8,), "classifier_units": (8,),
             "decoder_units": (8,), "meta_learning_rates": (1e-3, 1e-3, 1e-3)}


def zero_shot_toy(classes=14, per_class=6, features=12, attributes=6, seed=0):
    """Features that are a fixed linear map of their class's attribute vector, plus noise."""
    rng = np.random.default_rng(seed)
    class_attributes = rng.uniform(size=(classes, attributes)).astype("float32")
    labels = np.repeat(np.arange(classes), per_class)
    x = class_attributes[labels] @ rng.normal(size=(attributes, features)) + 0.1 * rng.normal(
        size=(labels.size, features))
    return x.astype("float32"), labels, class_attributes


@pytest.fixture(scope="module")
def data():
    source = make_source(num_classes=12, per_class=8, size=SHAPE[0], alphabets=3)
    return few_shot(source, 4, 1, 2, tasks=2, seed=1), few_shot(source, 4, 1, 2, tasks=2, seed=2, batches=2)


def test_random_search_two_trials_and_best_model_reloads(data, tmp_path):
    train, val = data
    hyper_model = tuning.ProtoNetHyperModel(example_shape=SHAPE, ways=4, fixed={"blocks": 2})
    tuner = tuning.make_tuner(hyper_model, "random", "val_accuracy", max_trials=2, directory=tmp_path)
    tuner.search(train, steps_per_epoch=2, epochs=1, validation_data=val, verbose=0)
    trials = tuner.oracle.get_best_trials(2)
    assert len(trials) == 2 and all(t.status == "COMPLETED" for t in trials)
    assert {"channels", "distance", "learning_rate"} <= set(trials[0].hyperparameters.values)
    best = tuner.get_best_models(1)[0]
    assert isinstance(best, applications.ProtoNet)
    assert best.channels == trials[0].hyperparameters.values["channels"]
    # the reloaded weights score exactly what the trial recorded
    score = best.evaluate(val, verbose=0, return_dict=True)["accuracy"]
    np.testing.assert_allclose(score, trials[0].score, atol=1e-6)


def test_search_spaces_build_every_application():
    hp = kt.HyperParameters()
    mtnet = tuning.MTNetHyperModel(example_shape=SHAPE, ways=4, fixed=TINY, tune_variant=True).build(hp)
    assert mtnet.num_outputs == 4 and mtnet.inner_lr == 0.4 and mtnet.built
    assert {"inner_lr", "inner_steps", "variant", "learning_rate"} <= set(hp.values)
    pinned = tuning.MTNetHyperModel(example_shape=SHAPE, fixed={**TINY, "inner_steps": 3, "learning_rate": 0.01})
    hp = kt.HyperParameters()
    model = pinned.build(hp)
    assert model.inner_steps == 3 and "inner_steps" not in hp.values and "learning_rate" not in hp.values
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.01)
    if "hypertransformer" in tuning.HYPERMODELS:
        hp = kt.HyperParameters()
        ht = tuning.hypermodel("hypertransformer", example_shape=SHAPE, ways=4,
                               fixed={"channels": 4, "blocks": 2, "image_embedding_dim": 8}).build(hp)
        assert ht.num_ways == 4 and {"num_layers", "num_heads", "embedding_dim", "nu"} <= set(hp.values)
    hp = kt.HyperParameters()
    tafenet = tuning.hypermodel("tafenet", feature_dim=12, task_dim=6, fixed={**TAFE, "beta": 0.0}).build(hp)
    assert tafenet.embedding_loss_weight == 0.0 and tafenet.built and set(hp.values) == {"learning_rate"}
    hp = kt.HyperParameters()
    amaz = tuning.hypermodel("amaz", fixed={**AMAZ_TINY, "modulator": "base-softmax"}, **AMAZ_SHAPE).build(hp)
    assert (amaz.modulator_base, amaz.modulator_operator, amaz.modulator_activation, amaz.modulator_bias) == (
        True, "-", "softmax", False)
    assert set(hp.values) == {"sigma"} and amaz.synthesis_sigma == 1.0 and amaz.attribute_optimizer.built


def test_objective_the_model_does_not_log_raises(data, tmp_path):
    train, val = data
    hyper_model = tuning.ProtoNetHyperModel(example_shape=SHAPE, ways=4, fixed=TINY)
    tuner = tuning.make_tuner(hyper_model, "random", "val_auc", max_trials=2, directory=tmp_path / "a")
    with pytest.raises(ValueError, match=r"objective 'val_auc'.*val_accuracy"):
        tuner.search(train, steps_per_epoch=1, epochs=1, validation_data=val, verbose=0)
    tuner = tuning.make_tuner(hyper_model, "random", "val_accuracy", max_trials=2, directory=tmp_path / "b")
    with pytest.raises(ValueError, match="Expected `validation_data`"):
        tuner.search(train, steps_per_epoch=1, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Received: 'task2vec'"):
        tuning.hypermodel("task2vec")


def test_kzoo_tune_command_runs_hyperband(tmp_path, capsys, monkeypatch):
    # glyphs at 28x28 would be slow: a tiny random Source stands in for --data
    from kzoo.cli import few_shot

    monkeypatch.setattr(few_shot, "_sources", lambda spec: [make_source(
        num_classes=40, per_class=6, size=SHAPE[0], alphabets=40)])
    code = cli.main(["tune", "protonet", "--tuner", "hyperband", "--max-epochs", "2", "--ways", "4", "--queries",
                     "2", "--tasks", "2", "--steps-per-epoch", "2", "--validation-episodes", "4",
                     "--fix", "channels=4", "--fix", "blocks=2", "--directory", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "best hyperparameters:" in out and '"tuner/epochs": 2' in out


def test_tafenet_search_two_trials_scores_held_out_classes(tmp_path):
    x, y, attributes = zero_shot_toy()
    seen, held_out = np.arange(10), np.arange(10, 14)
    train, val = np.isin(y, seen), np.isin(y, held_out)
    # eager steps: tracing a tiny model's step per trial costs more than running it
    hyper_model = tuning.TAFENetHyperModel(feature_dim=12, task_dim=6, fixed=TAFE, compile_options={"run_eagerly": True})
    tuner = tuning.make_tuner(hyper_model, "random", "val_accuracy", max_trials=2, directory=tmp_path)
    tuner.search(x[train], y[train], tasks=attributes, classes=seen, batch_size=30, epochs=1, verbose=0,
                 validation_data=(x[val], y[val]), validation_tasks=attributes, validation_classes=held_out)
    trials = tuner.oracle.get_best_trials(2)
    assert len(trials) == 2 and all(t.status == "COMPLETED" for t in trials)
    assert {"beta", "learning_rate"} == set(trials[0].hyperparameters.values)
    best = tuner.get_best_models(1)[0]
    assert best.embedding_loss_weight == trials[0].hyperparameters.values["beta"]
    # the reloaded weights score what the trial recorded (per-class accuracy among the held-out classes)
    predicted = held_out[best.predict(x[val], tasks=attributes[held_out], verbose=0).argmax(1)]
    np.testing.assert_allclose(np.mean([np.mean(predicted[y[val] == c] == c) for c in held_out]), trials[0].score)
    with pytest.raises(ValueError, match="Expected `validation_data` in `search\\(\\)`"):
        tuning.make_tuner(hyper_model, "random", "val_accuracy", max_trials=1, directory=tmp_path / "b").search(
            x[train], y[train], tasks=attributes, classes=seen, epochs=1, verbose=0)


@pytest.mark.slow  # ~17 s; the TAFE-Net and random searches cover the zero-shot and episodic hypermodels by default
def test_amaz_search_two_trials_on_zsl_accuracy(tmp_path):
    from kzoo.applications.amaz import zero_shot_tasks

    x, y, attributes = zero_shot_toy(classes=14, per_class=6, features=8, attributes=5)
    seen, held_out = np.arange(10), np.arange(10, 14)
    train = zero_shot_tasks(x[y < 10], y[y < 10], attributes, seen, ways=2, shots=2, queries=2, tasks=2)
    hyper_model = tuning.AMAZHyperModel(**AMAZ_SHAPE, fixed=AMAZ_TINY, compile_options={"run_eagerly": True},
                                        zsl_classifier="softmax", zsl_num_per_class=5, zsl_epochs=1)
    tuner = tuning.make_tuner(hyper_model, "random", "val_zsl_accuracy", max_trials=2, directory=tmp_path)
    tuner.search(train, steps_per_epoch=1, epochs=1, verbose=0,
                 zsl_validation=(x[y >= 10], y[y >= 10], attributes, held_out))
    trials = tuner.oracle.get_best_trials(2)
    assert len(trials) == 2 and all(t.status == "COMPLETED" for t in trials)
    assert {"modulator", "sigma"} == set(trials[0].hyperparameters.values)
    assert 0.0 <= trials[0].score <= 1.0
    best = tuner.get_best_models(1)[0]
    assert best.synthesis_sigma == trials[0].hyperparameters.values["sigma"]
    with pytest.raises(ValueError, match="Expected `zsl_validation`"):
        tuning.make_tuner(hyper_model, "random", "val_zsl_accuracy", max_trials=1,
                          directory=tmp_path / "b").search(train, steps_per_epoch=1, epochs=1, verbose=0)


def test_kzoo_tune_names_the_zero_shot_hypermodel(capsys):
    assert cli.main(["tune", "amaz"]) != 0
    assert "zero-shot model: tune it from Python with kzoo.tuning.AMAZHyperModel" in capsys.readouterr().err
