"""kzoo.files.atomic_path: a file appears whole or not at all."""

import os

import pytest

from kzoo.files import atomic_path


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
