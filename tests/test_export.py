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
    for name, dtype, shape in (("support_x", "DT_FLOAT", "(-1, -1, 28, 28, 1)"),
                               ("support_y", "DT_INT32", "(-1, -1)"),
                               ("query_x", "DT_FLOAT", "(-1, -1, 28, 28, 1)")):
        block = text.split(f"inputs['{name}']")[1].split("inputs[")[0]
        assert dtype in block and shape in block
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
