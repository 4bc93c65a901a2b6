"""keras-tuner HyperModels: a 2-trial search, best-model reload, Hyperband epochs, bad objectives."""

import keras_tuner as kt
import numpy as np
import pytest

from kzoo import applications, cli, tuning
from kzoo.episodes.sampler import few_shot
from tests.conftest import make_source

SHAPE = (16, 16, 1)
TINY = {"channels": 4, "blocks": 2}


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


def test_objective_the_model_does_not_log_raises(data, tmp_path):
    train, val = data
    hyper_model = tuning.ProtoNetHyperModel(example_shape=SHAPE, ways=4, fixed=TINY)
    tuner = tuning.make_tuner(hyper_model, "random", "val_auc", max_trials=2, directory=tmp_path / "a")
    with pytest.raises(ValueError, match=r"objective 'val_auc'.*val_accuracy"):
        tuner.search(train, steps_per_epoch=1, epochs=1, validation_data=val, verbose=0)
    tuner = tuning.make_tuner(hyper_model, "random", "val_accuracy", max_trials=2, directory=tmp_path / "b")
    with pytest.raises(ValueError, match="Expected `validation_data`"):
        tuner.search(train, steps_per_epoch=1, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Received: 'tafenet'"):
        tuning.hypermodel("tafenet")


def test_kzoo_tune_command_runs_hyperband(tmp_path, capsys, monkeypatch):
    # glyphs at 28x28 would be slow: a tiny random Source stands in for --data
    monkeypatch.setattr(cli, "_source", lambda spec, part="all": make_source(
        num_classes=40, per_class=6, size=SHAPE[0], alphabets=40))
    code = cli.main(["tune", "protonet", "--tuner", "hyperband", "--max-epochs", "2", "--ways", "4", "--queries",
                     "2", "--tasks", "2", "--steps-per-epoch", "2", "--validation-episodes", "4",
                     "--fix", "channels=4", "--fix", "blocks=2", "--directory", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "best hyperparameters:" in out and '"tuner/epochs": 2' in out
