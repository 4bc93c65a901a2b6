"""CIFAR-FS from CIFAR-100's python release, written by the test in its layout (bytes-keyed pickles)."""

import pickle

import numpy as np
import pytest

from kzoo.episodes.cifar_fs import TEST_CLASSES, VAL_CLASSES, cifar_fs


def _write_release(root, per_class=(2, 1)):
    """100 fine labels (the 36 CIFAR-FS val/test names and 64 others) in 20 superclasses."""
    fine = sorted(VAL_CLASSES + TEST_CLASSES) + [f"other{i:02d}" for i in range(64)]
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    with open(folder / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [n.encode() for n in fine],
                     b"coarse_label_names": [f"super{i}".encode() for i in range(20)]}, f)
    rng = np.random.default_rng(0)
    for part, count in zip(("train", "test"), per_class):
        labels = np.repeat(np.arange(100), count)
        pixels = rng.integers(0, 256, size=(labels.size, 3072), dtype=np.uint8)
        pixels[:, 0] = labels  # the first red pixel carries the fine label
        with open(folder / part, "wb") as f:
            pickle.dump({b"data": pixels, b"fine_labels": labels.tolist(), b"coarse_labels": (labels % 20).tolist(),
                         b"filenames": [b"x.png"] * labels.size}, f)
    return fine


def test_splits_are_64_16_20_classes_with_every_image_and_their_superclass(tmp_path):
    fine = _write_release(tmp_path)
    sizes = {split: cifar_fs(tmp_path, split) for split in ("train", "val", "test")}
    assert {k: v.num_classes for k, v in sizes.items()} == {"train": 64, "val": 16, "test": 20}
    test = sizes["test"]
    assert test.class_names == sorted(TEST_CLASSES) and test.images.shape == (60, 32, 32, 3)
    # both CIFAR-100 parts pooled (2 + 1 images per class), and the pixels reach the right class
    for c, name in enumerate(test.class_names):
        rows = test.images[test.offsets[c]:test.offsets[c + 1]]
        assert len(rows) == 3 and set(rows[:, 0, 0, 0].tolist()) == {fine.index(name)}
        assert test.alphabets[c] == f"super{fine.index(name) % 20}"
    assert not set(sizes["train"].class_names) & (set(VAL_CLASSES) | set(TEST_CLASSES))


def test_bad_release_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="meta"):
        cifar_fs(tmp_path, "train")
    _write_release(tmp_path / "ok")
    with open(tmp_path / "ok" / "cifar-100-python" / "test", "wb") as f:
        pickle.dump({b"data": np.zeros((3, 3072), np.uint8), b"fine_labels": [0, 1, 2]}, f)
    with pytest.raises(ValueError, match="field 'coarse_labels' in .*test"):
        cifar_fs(tmp_path / "ok", "val")
    with pytest.raises(ValueError, match="Expected `split`"):
        cifar_fs(tmp_path / "ok", "validation")
