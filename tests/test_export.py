import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kzoo.applications import ProtoNet
from kzoo.export import export_serving


@pytest.fixture(scope="module")
def model():
    model = ProtoNet(channels=4)
    model.build(model.episode_shapes())
    return model


def test_saved_model_cli_shows_named_signature(model, tmp_path):
    target = export_serving(model, tmp_path / "protonet")
    cli = shutil.which("saved_model_cli") or str(Path(sys.executable).parent / "saved_model_cli")
    result = subprocess.run([cli, "show", "--dir", str(target), "--tag_set", "serve",
                             "--signature_def", "serving_default"],
                            capture_output=True, text=True, timeout=120, check=True)
    text = result.stdout
    for name, dtype in (("support_x", "DT_FLOAT"), ("support_y", "DT_INT32"), ("query_x", "DT_FLOAT")):
        block = text.split(f"inputs['{name}']")[1].split("inputs[")[0]
        assert dtype in block and "unknown_rank" in block  # shapes are checked in the graph, by name
    assert "outputs['logits']" in text and "outputs['probabilities']" in text


def test_export_versions_and_refuses_to_overwrite(model, tmp_path):
    export_serving(model, tmp_path / "m")
    export_serving(model, tmp_path / "m", version=2)
    assert sorted(os.listdir(tmp_path / "m")) == ["1", "2"]
    with pytest.raises(ValueError, match="exists"):
        export_serving(model, tmp_path / "m", version=2)
    with pytest.raises(ValueError, match="version"):
        export_serving(model, tmp_path / "m", version=0)


class HalfWrittenArchive:
    """Writes part of a SavedModel, then fails like a full disk."""

    def track(self, resource):
        pass

    def add_endpoint(self, *args, **kwargs):
        pass

    def write_out(self, path, verbose=False):
        Path(path, "saved_model.pb").write_bytes(b"partial")
        raise RuntimeError("disk full")


def test_failed_export_leaves_nothing_behind(model, tmp_path, monkeypatch):
    import kzoo.export

    monkeypatch.setattr(kzoo.export.keras.export, "ExportArchive", HalfWrittenArchive)
    with pytest.raises(RuntimeError, match="disk full"):
        export_serving(model, tmp_path / "m")
    assert os.listdir(tmp_path / "m") == []


def test_export_needs_a_kzoo_application(tmp_path):
    with pytest.raises(ValueError, match="kzoo application"):
        export_serving(object(), tmp_path / "m")


CHECK_SERVED = """
import sys
import numpy as np
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1])
good = {"support_x": np.zeros((2, 3, 28, 28, 1), "float32"), "support_y": np.zeros((2, 3), "int32"),
        "query_x": np.zeros((2, 4, 28, 28, 1), "float32")}
bad = {"size": {"support_x": np.zeros((2, 3, 20, 28, 1), "float32")},
       "rank": {"query_x": np.zeros((2, 4, 28, 28), "float32")},
       "tasks": {"query_x": np.zeros((1, 4, 28, 28, 1), "float32")},
       "unlabeled": {"support_y": -np.ones((2, 3), "int32")}}
for call in (served.signatures["serving_default"], served.serving_default):
    for case, change in bad.items():
        try:
            call(**{k: tf.constant(v) for k, v in {**good, **change}.items()})
            print(case, "accepted")
        except tf.errors.InvalidArgumentError as error:
            print(case, [line for line in str(error).splitlines() if "Expected" in line or "Shape of" in line][0])
try:
    served.serving_default(**{**good, "support_y": tf.constant(good["support_y"], tf.float32)})
except TypeError as error:
    print("dtype", str(error).splitlines()[0])
"""


def test_served_model_names_the_bad_input_in_a_clean_process(model, tmp_path):
    target = export_serving(model, tmp_path / "protonet")
    out = subprocess.run([sys.executable, "-c", CHECK_SERVED, str(target)], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    expected = {"size": "Shape of tensor support_x [2,3,20,28,1] is not compatible with expected shape "
                        "[?,?,28,28,1]",
                "rank": "Shape of tensor query_x [2,4,28,28] is not compatible with expected shape [?,?,28,28,1]",
                "tasks": "Expected the same number of tasks T in support_x and query_x",
                "unlabeled": "Expected at least one labelled support example"}
    lines = out.strip().splitlines()
    assert len(lines) == 2 * len(expected) + 1, out
    for line in lines[:-1]:
        case = line.split()[0]
        assert expected[case] in line, line
    assert lines[-1].startswith("dtype") and "name='support_y'" in lines[-1], lines[-1]
