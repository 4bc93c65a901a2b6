"""Every kind of bad input kzoo was probed with (issue 18), with the error a user gets.

One table: each case builds its bad input, runs it the way a user would, and names
the exception and a piece of its message (expected against received, naming the
argument, input or file). The CLI cases run `kzoo.cli.main` in-process and check
that the error is one line on stderr with exit status 2. Kill-at-any-point writes
are in tests/test_presets.py (they need subprocesses).
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.applications import AMAZ, MTNet, ProtoNet, HyperTransformer
from kzoo.episodes.sampler import few_shot
from kzoo.training import evaluate_episodes
from tests.conftest import make_source

SOURCE = make_source(num_classes=12, per_class=8, size=28, alphabets=3)


def _episode():
    return next(iter(few_shot(SOURCE, ways=4, shots=2, queries=3, tasks=2, seed=5, batches=1)))


def _protonet():
    return ProtoNet(example_shape=(28, 28, 1), channels=4)


def _with(**changes):
    x, _ = _episode()
    return {**x, **{k: change(x) for k, change in changes.items()}}


def _unlabeled(x):
    return tf.fill(tf.shape(x["support_y"]), -1)


def _predict(**changes):
    return lambda: _protonet().predict(_with(**changes), verbose=0)


def _fit_unlabeled(factory):
    def run():
        x, y = _episode()
        model = factory()
        model.compile()
        model.fit({**x, "support_y": _unlabeled(x)}, y, verbose=0)
    return run


def _serve(**changes):
    def run():
        model = _protonet()
        model.build(model.episode_shapes())
        served = tf.function(model.serve, input_signature=model.serving_specs())
        return served(**_with(**changes))
    return run


def _fit_nan_weights():
    model = _protonet()
    model.build(model.episode_shapes())
    for weight in model.trainable_weights:
        weight.assign(tf.fill(weight.shape, np.nan))
    model.compile()
    model.fit(few_shot(SOURCE, 4, 2, 3, tasks=2), steps_per_epoch=2, verbose=0)


def _poison(model):
    model.build()
    for weight in model.trainable_weights:
        weight.assign(tf.fill(weight.shape, np.nan))
    model.compile()
    return model


def _fit_tafenet_nan_weights():
    from kzoo.applications import TAFENet

    rng = np.random.default_rng(0)
    model = _poison(TAFENet(feature_dim=12, task_dim=6, hidden_units=(16,), task_layers=1, task_units=8,
                            classifier_units=8))
    labels = np.repeat(np.arange(4), 5)
    model.fit(rng.normal(size=(20, 12)).astype("float32"), labels, tasks=rng.random((4, 6)).astype("float32"),
              epochs=1, verbose=0)


def _fit_amaz_nan_weights():
    from kzoo.applications.amaz import zero_shot_tasks

    rng = np.random.default_rng(0)
    model = _poison(AMAZ(feature_dim=8, attribute_dim=4, num_classes=6, generator_units=(8,), embedding_dim=4,
                         discriminator_units=(8,), classifier_units=(8,), decoder_units=(8,)))
    labels = np.repeat(np.arange(6), 6)
    tasks = zero_shot_tasks(rng.normal(size=(36, 8)).astype("float32"), labels,
                            rng.random((6, 4)).astype("float32"), np.arange(6), ways=3, shots=2, queries=2, tasks=1)
    model.fit(tasks, steps_per_epoch=1, verbose=0)


def _fit_weights_turn_nan():
    model = _protonet()
    model.compile()

    def poison(batch, logs):
        if batch == 0:
            for weight in model.trainable_weights:
                weight.assign(tf.fill(weight.shape, np.nan))

    model.fit(few_shot(SOURCE, 4, 2, 3, tasks=2), steps_per_epoch=3, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=poison)])


def _fit_huge_learning_rate():
    model = HyperTransformer(num_ways=4, channels=4, embedding_dim=8, num_layers=1, image_embedding_dim=8)
    model.compile(optimizer=keras.optimizers.Adam(1e8))
    model.fit(few_shot(SOURCE, 4, 2, 3, tasks=2), steps_per_epoch=3, epochs=3, verbose=0)


def _probe_huge_learning_rate():
    from kzoo.applications.task2vec.fisher import FisherProbe
    from tests.applications.test_task2vec_fisher import _conv_probe, _pattern_task

    images, labels = _pattern_task()
    FisherProbe(_conv_probe(), method="montecarlo", skip_layers=1, max_samples=48, batch_size=48, head_epochs=2,
                head_learning_rate=1e30).estimate(images, labels)


def _model2vec_huge_learning_rate():
    from kzoo.applications import Model2Vec
    from tests.applications.test_task2vec import _embedding

    rng = np.random.RandomState(0)
    tasks = [_embedding(rng.rand(16) + 0.05) for _ in range(6)]
    experts = [_embedding(rng.rand(16) + 0.05) for _ in range(5)]
    Model2Vec(experts, learning_rate=1e30).fit(tasks, rng.uniform(0.4, 0.6, (6, 5)))


def _evaluate_nan_logits():
    def diverged(x, training=False):
        return tf.fill([tf.shape(x["query_x"])[0], tf.shape(x["query_x"])[1], 4], float("nan"))
    evaluate_episodes(diverged, few_shot(SOURCE, 4, 1, 2, tasks=2, batches=2))


def _saved_preset(folder):
    model = _protonet()
    model.build(model.episode_shapes())
    return model.save_to_preset(folder)


def _overwrite_non_preset(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    try:
        _protonet().save_to_preset(tmp_path, overwrite=True)
    finally:
        assert (tmp_path / "notes.txt").read_text() == "mine"


def _corrupt_metadata(tmp_path):
    folder = _saved_preset(tmp_path / "bad")
    (folder / "metadata.json").write_text("{not json")
    ProtoNet.from_preset(folder)


def _config_of_unknown_class(tmp_path):
    folder = _saved_preset(tmp_path / "bad")
    (folder / "config.json").write_text(json.dumps({"class_name": "NotAKerasClass", "config": {}}))
    ProtoNet.from_preset(folder)


def _fewer_blocks_than_weights(tmp_path):
    folder = _saved_preset(tmp_path / "p")
    config = json.loads((folder / "config.json").read_text())
    config["config"]["blocks"] = 3
    (folder / "config.json").write_text(json.dumps(config))
    ProtoNet.from_preset(folder)


INVALID = tf.errors.InvalidArgumentError
UNLABELED = "Expected at least one labelled support example (label >= 0) in every task"

# (case, run, exception, message); `run` takes tmp_path when its name says so.
PYTHON_CASES = [
    # silent divergence
    ("nan_weights_fit", _fit_nan_weights, FloatingPointError, "Expected finite model weights before training"),
    ("nan_weights_tafenet_fit", _fit_tafenet_nan_weights, FloatingPointError, "Expected finite model weights"),
    ("nan_weights_amaz_fit", _fit_amaz_nan_weights, FloatingPointError, "Expected finite model weights"),
    ("weights_turn_nan_fit", _fit_weights_turn_nan, FloatingPointError, "Training diverged at step"),
    ("huge_learning_rate_fit", _fit_huge_learning_rate, FloatingPointError, "Training diverged at step"),
    ("task2vec_probe_huge_learning_rate", _probe_huge_learning_rate, FloatingPointError,
     "The probe diverged: its head weights on this task (48 images) are NaN or inf"),
    ("model2vec_huge_learning_rate", _model2vec_huge_learning_rate, FloatingPointError,
     "Model2Vec.fit diverged"),
    ("nan_logits_evaluate", _evaluate_nan_logits, ValueError, "Expected finite logits from the model"),
    # unchecked episode inputs
    ("unlabeled_support_predict", _predict(support_y=_unlabeled), INVALID, UNLABELED),
    ("unlabeled_support_protonet_fit", _fit_unlabeled(_protonet), INVALID, UNLABELED),
    ("unlabeled_support_mtnet_fit", _fit_unlabeled(
        lambda: MTNet(example_shape=(28, 28, 1), num_outputs=4, channels=4, blocks=2)), INVALID, UNLABELED),
    ("empty_query_set", _predict(query_x=lambda x: x["query_x"][:, :0]), ValueError,
     "Expected a non-empty query set (Q >= 1). Received: query_x.shape=(2, 0, 28, 28, 1)"),
    ("no_tasks", lambda: _protonet()({k: v[:0] for k, v in _episode()[0].items()}), ValueError,
     "Expected at least one task (T >= 1). Received: support_x.shape=(0, 8, 28, 28, 1)"),
    ("uint8_images", _predict(support_x=lambda x: tf.cast(x["support_x"] * 255, tf.uint8)), ValueError,
     "Expected float `support_x` in [0, 1] (uint8 images: divide by 255). Received: support_x.dtype=uint8"),
    ("pixels_above_1", _predict(query_x=lambda x: x["query_x"] * 255), INVALID,
     "Expected query_x pixels in [0, 1]"),
    ("pixels_below_0", _predict(support_x=lambda x: x["support_x"] - 0.5), INVALID,
     "Expected support_x pixels in [0, 1]"),
    ("task_count_mismatch", _predict(query_x=lambda x: x["query_x"][:1]), ValueError,
     "Expected the same number of tasks T in `support_x` and `query_x`. Received: 2 and 1"),
    # the serving signature (unknown T, S, Q: checked in the graph)
    ("serving_image_size", _serve(support_x=lambda x: x["support_x"][:, :, :20]), INVALID,
     "Shape of tensor support_x [2,8,20,28,1] is not compatible with expected shape [?,?,28,28,1]"),
    ("serving_rank", _serve(query_x=lambda x: x["query_x"][..., 0]), INVALID,
     "Shape of tensor query_x [2,12,28,28] is not compatible with expected shape [?,?,28,28,1]"),
    ("serving_task_mismatch", _serve(query_x=lambda x: x["query_x"][:1]), INVALID,
     "Expected the same number of tasks T in support_x and query_x"),
    ("serving_support_size_mismatch", _serve(support_y=lambda x: x["support_y"][:, :3]), INVALID,
     "Expected support_y [T, S] to match support_x [T, S]"),
    ("serving_unlabeled_support", _serve(support_y=_unlabeled), INVALID, UNLABELED),
    ("serving_dtype", _serve(support_y=lambda x: tf.cast(x["support_y"], tf.float32)), TypeError,
     "name='support_y'"),
    # arguments
    ("split_without_seed", lambda: SOURCE.split(seed=None), ValueError, "Expected an integer `seed`"),
    ("split_of_a_number", lambda: SOURCE.split(0.5), ValueError,
     "Expected `fractions` to be a list of positive numbers summing to 1"),
    ("inner_lr_string", lambda: MTNet(inner_lr="0.1"), ValueError,
     "Expected `inner_lr` to be a number > 0. Received: inner_lr='0.1' (str)"),
    ("hidden_int", lambda: MTNet(hidden=5), ValueError, "Expected `hidden` to be a list of integers >= 1"),
    ("amaz_seed_string", lambda: AMAZ(feature_dim=4, attribute_dim=3, num_classes=3, seed="x"), ValueError,
     "Expected `seed` to be an integer >= 0. Received: seed='x'"),
    # presets
    ("overwrite_non_preset_tmp_path", _overwrite_non_preset, ValueError,
     "Refusing to overwrite"),
    ("corrupt_metadata_tmp_path", _corrupt_metadata, ValueError, "Could not read preset file"),
    ("config_of_unknown_class_tmp_path", _config_of_unknown_class, ValueError,
     "Could not build a model from"),
    ("fewer_blocks_than_weights_tmp_path", _fewer_blocks_than_weights, ValueError,
     "do not match the model its config.json builds"),
]


@pytest.mark.parametrize("case, run, error, message", PYTHON_CASES, ids=[c[0] for c in PYTHON_CASES])
def test_python_bad_input(case, run, error, message, tmp_path):
    with pytest.raises(error) as raised:
        run(tmp_path) if case.endswith("tmp_path") else run()
    assert message in str(raised.value), str(raised.value)


CLI_CASES = [
    (["evaluate", "protonet/nope"], "Unknown preset for ProtoNet: 'nope'"),
    (["evaluate", "nonet/x"], "Unknown application 'nonet'"),
    (["data", "show", "mnist"], "Expected a data spec"),
    (["data", "show", "glyphs", "--out", "/proc/kzoo/episode.png"], "/proc/kzoo"),
    (["fit", "protonet", "--data", "folder:/does/not/exist", "--steps", "1"], "/does/not/exist"),
    (["fit", "protonet", "--steps", "0"], "--steps: expected an integer >= 1, received '0'"),
    (["fit", "protonet", "--steps", "-1"], "--steps: expected an integer >= 1, received '-1'"),
    (["fit", "protonet", "--learning-rate", "nan"], "--learning-rate: expected a finite number > 0"),
    (["fit", "protonet", "--eval-episodes", "0"], "--eval-episodes: expected an integer >= 1"),
    (["fit", "protonet", "--save-preset", ".", "--overwrite"], "Refusing to overwrite"),
    (["fit", "protonet", "--export", "/proc/kzoo-export"], "Cannot write to --export folder"),
    (["fit", "protonet", "--logdir", "/proc/kzoo-logs"], "Cannot write to --logdir folder"),
    (["fit", "protonet", "--learning-rate", "1e30", "--steps", "4", "--steps-per-epoch", "2", "--set",
      "channels=4"], "Training diverged at step"),
    (["fit", "protonet", "--warmup-steps", "10"], "Expected --learning-rate with --warmup-steps"),
    (["fit", "protonet", "--warmup-steps", "0"], "--warmup-steps: expected an integer >= 1"),
    (["fit", "mtnet", "--set", "inner_lr=abc"], "Expected `inner_lr` to be a number > 0. Received: inner_lr='abc'"),
    (["fit", "mtnet", "--set", "hidden=5"], "Expected `hidden` to be a list of integers >= 1"),
    (["fit", "protonet", "--set", "nope=1"], "Expected --set NAME=VALUE with NAME an argument of ProtoNet"),
]


@pytest.mark.parametrize("argv, message", CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES])
def test_cli_bad_input_exits_2_with_one_line(argv, message, capsys):
    from kzoo.cli import main

    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's usage errors
        status = exit.code
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1, err  # one line, no traceback
