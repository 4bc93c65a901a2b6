import functools
import json

import numpy as np
import pytest
import tensorflow as tf

from kzoo.applications import APPLICATIONS, FAMILIES, MTNet, ProtoNet
from kzoo.presets import presets_root
from kzoo.training.evaluation import evaluate_episodes
from kzoo.episodes import split_source
from kzoo.training.recipe import evaluation_dataset
from tests.conftest import OMNIGLOT_DIR


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ValueError, match="Unknown preset for ProtoNet: 'nope'. Known presets: .*glyphs_20way_1shot"):
        ProtoNet.from_preset("nope")


def test_not_a_preset_folder(tmp_path):
    with pytest.raises(ValueError, match="preset folder with config.json"):
        ProtoNet.from_preset(str(tmp_path))


def test_corrupt_weights_file_is_named(tmp_path):
    model = ProtoNet(channels=4)
    model.build(model.episode_shapes())
    folder = model.save_to_preset(tmp_path / "p")
    (folder / "model.weights.h5").write_bytes(b"not an h5 file")
    with pytest.raises(ValueError, match="model.weights.h5"):
        ProtoNet.from_preset(str(folder))


def test_save_to_preset_is_atomic_and_refuses_existing_folder(tmp_path, monkeypatch):
    model = ProtoNet(channels=4)
    model.build(model.episode_shapes())
    model.save_to_preset(tmp_path / "p")
    with pytest.raises(ValueError, match="exists"):
        model.save_to_preset(tmp_path / "p")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(model), "save_weights", broken)
    with pytest.raises(OSError):
        model.save_to_preset(tmp_path / "q")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_loading_a_preset_of_another_application(tmp_path):
    from kzoo.applications import EpisodicModel

    class Other(ProtoNet):
        pass

    model = ProtoNet(channels=4)
    model.build(model.episode_shapes())
    folder = model.save_to_preset(tmp_path / "p")
    with pytest.raises(ValueError, match="Expected a Other preset"):
        Other.from_preset(str(folder))
    assert issubclass(ProtoNet, EpisodicModel)


#: every shipped preset, and the few-shot ones (scored on episodes; the others below)
ALL_BUILT_IN = [(cls, name) for cls in APPLICATIONS.values() for name in sorted(cls.presets)]
BUILT_IN = [(cls, name) for key, cls in APPLICATIONS.items() if FAMILIES[key] == "few_shot"
            for name in sorted(cls.presets)]


def test_built_in_presets_exist():
    assert {"glyphs_20way_1shot", "omniglot_20way_1shot", "omniglot_20way_5shot"} <= set(ProtoNet.presets)
    assert {"sinusoid_10shot", "omniglot_20way_1shot"} <= set(MTNet.presets)
    for cls, name in ALL_BUILT_IN:
        meta = json.loads((presets_root() / cls.preset_folder / name / "metadata.json").read_text())
        for key in ("command", "data_spec", "evaluation", "parameters", "description"):
            assert key in meta, (name, key)
        if "accuracy" in meta["evaluation"]:
            assert meta["evaluation"]["episodes"] == len(meta["evaluation"]["accuracies"]) >= 600


def _source(meta):
    """The preset's source (a list for a spec like `omniglot+glyphs`)."""
    from kzoo import episodes

    def load(spec):
        if spec.startswith("omniglot"):
            if not OMNIGLOT_DIR.exists():
                pytest.skip("real Omniglot data (../shared) is absent")
            return episodes.omniglot(OMNIGLOT_DIR)
        return episodes.load(spec)

    sources = [load(spec) for spec in meta["data_spec"].split("+")]
    return sources[0] if len(sources) == 1 else sources


@pytest.mark.parametrize("cls, name", BUILT_IN, ids=[f"{c.preset_folder}/{n}" for c, n in BUILT_IN])
def test_built_in_preset_reproduces_its_recorded_scores(cls, name):
    """The first 40 recorded test episodes score as the metadata says.

    Episode by episode; a different image library build may shift a rendered glyph
    by a grey level and flip a near-tie, so 2 of 40 episodes may differ slightly.
    """
    model = cls.from_preset(name)
    meta = model.preset_metadata
    if meta["data_spec"] == "sinusoid" or meta["data_spec"].startswith("polynomial:"):
        from kzoo import episodes
        from kzoo.training import evaluate_regression

        recorded = meta["preset_evaluation"]
        family = (episodes.sinusoid if meta["data_spec"] == "sinusoid" else
                  functools.partial(episodes.polynomial, order=int(meta["data_spec"].split(":")[1])))
        tasks = family(shots=recorded["shots"], queries=recorded["queries"],
                       tasks=recorded["tasks_per_batch"], seed=recorded["seed"], batches=2)
        score = evaluate_regression(model, tasks)
        np.testing.assert_allclose(score["losses"], recorded["losses"][:40], rtol=1e-3, atol=1e-5)
        return
    source = _source(meta)
    assert repr(source) == meta["data"]["source"]
    _, _, test = split_source(source, meta["data"]["split"])
    evaluation = meta["evaluation"]
    score = evaluate_episodes(model, evaluation_dataset(test, evaluation), num_batches=2, verbose=0)
    n = score["episodes"]
    recorded = np.array(evaluation["accuracies"][:n])
    same = np.isclose(score["accuracies"], recorded, atol=1e-4)
    assert n == 40 and same.sum() >= 38, (score["accuracies"], recorded)
    assert abs(np.mean(score["accuracies"]) - recorded.mean()) < 0.005
    assert evaluation["accuracy"] > 2.5 / evaluation["ways"]  # far above chance


# The zero-shot applications score the built-in glyph set's features,
# which come from the shipped backbone (saved_models/zsl/glyph_compositions_backbone), the
# same on every machine; building them the first time takes about a minute.
def _zero_shot_presets(application):
    from kzoo import applications

    return [(application, name) for name in sorted(getattr(applications, application).presets)]


def _zero_shot_preset(application, name, keys):
    """The preset model, its metadata (holding `keys`) and the glyph set it was trained on."""
    from kzoo import applications, zsl

    model = getattr(applications, application).from_preset(name)
    meta = model.preset_metadata
    for key in ("command", "evaluation", "parameters", "description", *keys):
        assert key in meta, key
    return model, meta, zsl.glyph_compositions(verbose=0)


# TAFENet: each preset records the predicted class of a fixed set of test samples (every
# 10th test-seen and test-unseen sample).
@pytest.mark.parametrize("application, name", _zero_shot_presets("TAFENet"))
def test_tafenet_preset_reproduces_its_recorded_scores(application, name):
    from kzoo.applications.tafenet.recipe import class_descriptions

    model, meta, data = _zero_shot_preset(application, name, ("data_spec", "replay", "training"))
    assert repr(data) == meta["data"]["source"]
    recorded_weights = meta["data"]["feature_backbone"].get("weights_sha256")
    assert data.extra["backbone"].get("weights_sha256") == recorded_weights, (
        "the preset was trained on features of another backbone: retrain it (applications/tafenet/reproduce.sh)")
    index = np.array(meta["replay"]["sample_indices"])
    tasks = class_descriptions(data, meta["training"]["descriptions"])
    scores = model.predict(data.features[index], tasks=tasks, verbose=0)
    predicted = np.argmax(scores, 1)
    recorded = np.array(meta["replay"]["predicted_classes"])
    assert np.mean(predicted == recorded) >= 0.98  # near-ties may flip on another BLAS build
    truth = data.labels[index]
    assert abs(np.mean(predicted == truth) - np.mean(recorded == truth)) < 0.01
    assert np.mean(predicted == truth) > 10.0 / data.num_classes  # far above chance


# AMAZ: each preset records its retrieval precision, which needs no classifier training.
@pytest.mark.parametrize("application, name", _zero_shot_presets("AMAZ"))
def test_amaz_preset_reproduces_its_recorded_retrieval_precision(application, name):
    from kzoo.applications.amaz import retrieval_precision

    model, meta, data = _zero_shot_preset(application, name, ("data", "training"))
    assert repr(data) == meta["data"]["source"]
    assert data.extra["backbone"].get("weights_sha256") == meta["data"]["feature_backbone"]["weights_sha256"]
    recorded = meta["evaluation"]
    unseen_x, unseen_y = data.split("test_unseen")
    # the recorded protocol: 100 synthetic features per unseen class (seeded), their mean
    # retrieves the nearest real unseen features
    scores = retrieval_precision(model, unseen_x / recorded["feature_scale"], unseen_y, data.attributes,
                                 np.asarray(data.unseen_classes), seed=recorded["seed"])
    for k in ("ap@5", "ap@10"):
        assert abs(scores[k] - recorded["retrieval"][k]) <= 0.01, (k, scores[k], recorded["retrieval"][k])
    assert scores["ap@5"] > 20.0 / data.unseen_classes.size  # 20x the chance precision 1/173


# -- nothing is lost: overwrite only replaces a preset, a kill leaves the old or the new one whole

_KILLED_SAVE = r'''
import os, shutil, signal, sys
import kzoo.files as files
from kzoo.applications import ProtoNet

folder, point, marker = sys.argv[1:4]
model = ProtoNet(channels=4)
model.build(model.episode_shapes())
die = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
if point == "weights":  # half a weights file, then killed
    def save_weights(self, path):
        open(path, "wb").write(b"\x89HDF half")
        die()
    ProtoNet.save_weights = save_weights
elif point == "exchange":  # everything written, killed before the swap
    files._exchange = die
elif point == "cleanup":  # swapped, killed while deleting the old copy
    shutil.rmtree = die
elif point == "aside":  # no atomic exchange here: killed between moving the old aside and the new in
    files._exchange = lambda first, second: False
    renames = []
    real_rename = os.rename
    def rename(*args):
        renames.append(args)
        if len(renames) == 2:
            die()
        real_rename(*args)
    os.rename = rename
model.save_to_preset(folder, {"marker": marker}, overwrite=True)
'''


@pytest.mark.parametrize("point, exists", [("weights", False), ("weights", True), ("exchange", True),
                                           ("cleanup", True), ("aside", True)])
def test_a_killed_save_leaves_the_old_or_the_new_preset_whole(tmp_path, point, exists):
    import subprocess
    import sys

    from kzoo.presets import list_presets

    folder = tmp_path / "p"
    if exists:
        model = ProtoNet(channels=4)
        model.build(model.episode_shapes())
        model.save_to_preset(folder, {"marker": "old"})
    run = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(folder), point, "new"], capture_output=True)
    assert run.returncode == -9, run.stderr.decode()[-2000:]
    if exists:
        loaded = ProtoNet.from_preset(folder)  # whole: config, weights and metadata load
        assert loaded.preset_metadata["marker"] in ("old", "new")
        assert list(list_presets(tmp_path)) == ["p"]  # temporary folders are never listed
    else:
        assert not folder.exists() and list_presets(tmp_path) == {}
    model = ProtoNet(channels=4)
    model.build(model.episode_shapes())
    model.save_to_preset(folder, {"marker": "after"}, overwrite=True)  # and the next save works
    assert ProtoNet.from_preset(folder).preset_metadata["marker"] == "after"


def test_corrupt_metadata_is_named_and_hides_no_other_preset(tmp_path):
    from kzoo.presets import list_presets

    model = ProtoNet(channels=4)
    model.build(model.episode_shapes())
    model.save_to_preset(tmp_path / "good")
    model.save_to_preset(tmp_path / "bad")
    (tmp_path / "bad" / "metadata.json").write_text("{not json")
    found = list_presets(tmp_path)
    assert set(found) == {"good", "bad"} and "bad/metadata.json" in found["bad"]["error"]
    # loading it names the file: tests/test_bad_inputs.py


def test_a_same_named_folder_in_the_working_directory_does_not_shadow_a_built_in_preset(tmp_path, monkeypatch):
    model = ProtoNet(channels=4)
    model.build(model.episode_shapes())
    model.save_to_preset(tmp_path / "glyphs_20way_1shot")
    monkeypatch.chdir(tmp_path)
    assert ProtoNet.from_preset("glyphs_20way_1shot").channels == 64  # the built-in one
    assert ProtoNet.from_preset("./glyphs_20way_1shot").channels == 4  # a path is a path


# -- every shipped preset is servable: serving/1/ with plain TensorFlow, in a clean process

_SERVE_ALL = r'''
import json, sys
import numpy as np
import tensorflow as tf  # plain TensorFlow: this process never imports kzoo or Keras models
assert "kzoo" not in sys.modules
cases = json.loads(open(sys.argv[1]).read())
outputs = {}
for name, case in cases.items():
    served = tf.saved_model.load(case["folder"])
    inputs = {k: tf.constant(np.load(case["inputs"])[k]) for k in case["names"]}
    result = served.signatures["serving_default"](**inputs)
    np.savez(case["outputs"], **{k: v.numpy() for k, v in result.items()})
    outputs[name] = sorted(result)
assert "kzoo" not in sys.modules
print(json.dumps(outputs))
'''


def _serving_inputs(model, rng):
    """One input of each `serving_specs()` entry: an episode (3-way 2-shot, 4 queries), or a small batch."""
    specs = {spec.name: spec for spec in model.serving_specs()}
    if "support_x" in specs:
        example = tuple(model.example_shape)
        classification = specs["support_y"].dtype == tf.int32
        ways = 3 if classification else 1
        support_y = (np.repeat(np.arange(ways), 2)[None].astype("int32") if classification
                     else rng.uniform(-1, 1, (1, 6, 1)).astype("float32"))
        return {"support_x": rng.uniform(0, 1, (1, support_y.shape[1], *example)).astype("float32"),
                "support_y": support_y, "query_x": rng.uniform(0, 1, (1, 4, *example)).astype("float32")}
    return {name: rng.uniform(0, 1, [5 if d is None else d for d in spec.shape]).astype("float32")
            for name, spec in specs.items()}


def test_every_preset_ships_a_serving_export_that_matches_its_model_in_a_clean_process(tmp_path):
    import subprocess
    import sys

    from kzoo.presets import SERVING_FOLDER

    rng = np.random.default_rng(0)
    cases, expected = {}, {}
    for cls, name in ALL_BUILT_IN:
        folder = presets_root() / cls.preset_folder / name / SERVING_FOLDER / "1"
        assert (folder / "saved_model.pb").exists(), f"{folder} is missing: rerun the preset's command"
        model = cls.from_preset(name)
        inputs = _serving_inputs(model, rng)
        key = f"{cls.preset_folder}/{name}"
        np.savez(tmp_path / f"{len(cases)}_in.npz", **inputs)
        cases[key] = {"folder": str(folder), "inputs": str(tmp_path / f"{len(cases)}_in.npz"),
                      "outputs": str(tmp_path / f"{len(cases)}_out.npz"), "names": sorted(inputs)}
        expected[key] = {k: np.asarray(v) for k, v in model.serve(**inputs).items()}
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    run = subprocess.run([sys.executable, "-c", _SERVE_ALL, str(tmp_path / "cases.json")], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    for key, case in cases.items():
        served = np.load(case["outputs"])
        assert set(served) == set(expected[key]), key
        for output, value in expected[key].items():
            np.testing.assert_allclose(served[output], value, rtol=1e-4, atol=1e-5, err_msg=f"{key}: {output}")
