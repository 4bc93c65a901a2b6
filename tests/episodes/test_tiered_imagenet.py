"""tiered-ImageNet's released layout, written by the test: PNG bytes and Python 2 style (bytes-keyed) labels."""

import io
import pickle

import numpy as np
import pytest
from PIL import Image

from kzoo.episodes.tiered_imagenet import tiered_imagenet


def _png(colour):
    buffer = io.BytesIO()
    Image.new("RGB", (84, 84), colour).save(buffer, format="PNG")
    return np.frombuffer(buffer.getvalue(), np.uint8)


def _write(root, split="train"):
    specific = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    general = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    with open(root / f"{split}_images_png.pkl", "wb") as f:
        pickle.dump([_png(colours[c]) for c in specific], f)
    with open(root / f"{split}_labels.pkl", "wb") as f:
        pickle.dump({b"label_specific": specific, b"label_general": general,
                     b"label_specific_str": [b"n01", b"n02", b"n03", b"n04"],
                     b"label_general_str": [b"garment", b"musical_instrument"]}, f)


def test_released_layout_with_general_categories_as_alphabets(tmp_path):
    _write(tmp_path)
    src = tiered_imagenet(tmp_path, "train", image_size=16, cache_dir=tmp_path / "cache")
    assert src.num_classes == 4 and src.class_names == ["n01", "n02", "n03", "n04"]
    assert src.alphabets == ["garment", "garment", "musical_instrument", "musical_instrument"]
    assert src.images.shape == (8, 16, 16, 3)
    np.testing.assert_array_equal(src.images[src.offsets[2], 0, 0], [0, 0, 255])
    again = tiered_imagenet(tmp_path, "train", image_size=16, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.images, src.images)


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="val_labels.pkl"):
        tiered_imagenet(tmp_path, "val")
    _write(tmp_path, "val")
    with open(tmp_path / "val_labels.pkl", "wb") as f:
        pickle.dump({"label_specific": np.zeros(8, int)}, f)
    with pytest.raises(ValueError, match="field 'label_general' in .*val_labels.pkl"):
        tiered_imagenet(tmp_path, "val")
    _write(tmp_path, "test")
    with open(tmp_path / "test_images_png.pkl", "wb") as f:
        pickle.dump([_png((1, 2, 3))] * 7 + [np.frombuffer(b"not a png", np.uint8)], f)
    with pytest.raises(ValueError, match="Cannot decode image 7 of .*test_images_png.pkl"):
        tiered_imagenet(tmp_path, "test", cache_dir=tmp_path)
