"""kzoo.files: a file appears whole or not at all."""

import json
import os

import numpy as np
import pytest

from kzoo.files import atomic_path, write_json


def test_file_appears_only_when_the_block_ends(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target, suffix=".txt") as tmp:
        with open(tmp, "w") as f:
            f.write("done")
        assert not target.exists()
    assert target.read_text() == "done"
    assert oct(os.stat(target).st_mode & 0o777) == oct(0o644)
    assert os.listdir(target.parent) == ["out.txt"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        with open(tmp, "w") as f:
            f.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_write_json_is_atomic_and_refuses_what_json_cannot_hold(tmp_path):
    target = tmp_path / "results" / "r.json"
    assert write_json(target, {"a": [1, 2.5]}) == target
    assert json.loads(target.read_text()) == {"a": [1, 2.5]} and target.read_text().endswith("\n")
    with pytest.raises(TypeError):
        write_json(target, {"a": np.zeros(2)})
    assert json.loads(target.read_text()) == {"a": [1, 2.5]}
    assert os.listdir(target.parent) == ["r.json"]


def test_write_marked_blocks_replaces_only_between_its_markers(tmp_path):
    from kzoo.files import write_marked_blocks

    readme = tmp_path / "README.md"
    readme.write_text("top\n<!-- gen: a -->\nold a\n<!-- /gen: a -->\nmiddle\n<!-- gen: b -->\n<!-- /gen: b -->\n")
    write_marked_blocks(readme, {"a": "new a", "b": "| x |\n| --- |"}, tag="gen")
    assert readme.read_text() == ("top\n<!-- gen: a -->\nnew a\n<!-- /gen: a -->\nmiddle\n"
                                  "<!-- gen: b -->\n| x |\n| --- |\n<!-- /gen: b -->\n")
    with pytest.raises(ValueError, match=r"Expected one '<!-- gen: c -->' line .* Received: 0 and 0"):
        write_marked_blocks(readme, {"c": "x"}, tag="gen")
    assert "new a" in readme.read_text()  # a failed call leaves the file as it was
