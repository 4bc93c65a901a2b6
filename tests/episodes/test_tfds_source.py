import io
import socket
import time
import zipfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds_lib
from PIL import Image

from kzoo.episodes import omniglot
from kzoo.episodes.tfds_source import tfds

ALPHABETS, CHARACTERS, DRAWINGS = 2, 3, 5  # 6 classes x 5 examples


def _paper(drawing):
    """White 105x105 paper with a black 30x30 square at row 0, column 15 * drawing."""
    paper = np.full((105, 105), 255, np.uint8)
    paper[:30, 15 * drawing : 15 * drawing + 30] = 0
    return paper


def _examples(repeats=1):
    rows = [(a, c, d) for a in range(ALPHABETS) for c in range(CHARACTERS) for d in range(DRAWINGS)]
    rows = rows * repeats
    return {
        "image": np.stack([np.repeat(_paper(d)[..., None], 3, axis=-1) for _, _, d in rows]),
        "alphabet": np.array([a for a, _, _ in rows], np.int64),
        "alphabet_char_id": np.array([c for _, c, _ in rows], np.int64),
        "label": np.array([a * CHARACTERS + c for a, c, _ in rows], np.int64),
    }


def _mocked_tfds(repeats=1, **kwargs):
    def as_dataset(self, split, **unused):
        return tf.data.Dataset.from_tensor_slices(_examples(repeats))

    with tfds_lib.testing.mock_data(as_dataset_fn=as_dataset):
        return tfds("omniglot", **kwargs)


def test_mock_omniglot_gives_one_class_per_character():
    src = _mocked_tfds()
    assert src.num_classes == 6 and src.class_counts.tolist() == [5] * 6
    assert src.images.shape == (30, 28, 28, 1) and src.images.dtype == np.uint8
    # Mocked metadata has no names, so TFDS names the alphabets "0", "1".
    assert src.class_names[:2] == ["0/character01", "0/character02"]
    assert src.alphabets == ["0"] * 3 + ["1"] * 3


def test_black_square_on_white_becomes_high_ink():
    image = _mocked_tfds().images_of(0)[1, :, :, 0]
    expected = np.zeros((28, 28), np.uint8)
    expected[:8, 4:12] = 255  # the square at column 15 spans output columns 4..11
    np.testing.assert_array_equal(image, expected)


def test_same_convention_as_the_zip_loader(tmp_path):
    with zipfile.ZipFile(tmp_path / "images_background.zip", "w") as archive:
        for a in range(ALPHABETS):
            for c in range(CHARACTERS):
                for d in range(DRAWINGS):
                    buffer = io.BytesIO()
                    Image.fromarray(_paper(d) > 0).save(buffer, format="PNG")  # 1-bit
                    name = f"top/{a}/character{c + 1:02d}/{d:02d}.png"
                    archive.writestr(name, buffer.getvalue())
    zipped = omniglot(tmp_path, image_size=(20, 24))
    mocked = _mocked_tfds(image_size=(20, 24))
    assert mocked.class_names == zipped.class_names
    np.testing.assert_array_equal(mocked.images, zipped.images)


def test_duplicate_examples_in_overlapping_splits_count_once():
    src = _mocked_tfds(repeats=2, split="small1+small2")
    assert src.class_counts.tolist() == [5] * 6


def test_unknown_name_lists_supported_names():
    with pytest.raises(ValueError, match=r"\['omniglot'\].*name='mnist'"):
        tfds("mnist")


def test_unprepared_data_fails_fast_without_network(tmp_path, monkeypatch):
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    start = time.perf_counter()
    expected = rf"{tmp_path}.*never downloads.*tfds build omniglot"
    with pytest.raises(FileNotFoundError, match=expected):
        tfds("omniglot", split="train", data_dir=str(tmp_path))
    assert time.perf_counter() - start < 5.0
    assert attempts == []
    assert list(tmp_path.iterdir()) == []  # nothing written either
