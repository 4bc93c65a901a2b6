import numpy as np
import pytest
from PIL import Image

from kzoo.episodes.image_files import image_folder, load_image, resize_image


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.asarray(array)
    Image.fromarray(array if array.dtype == bool else array.astype(np.uint8)).save(path)


def _gray(value, size=8):
    return np.full((size, size), value, np.uint8)


def test_one_level_folder_gives_sorted_classes_in_alphabet_all(tmp_path):
    for i in range(3):
        _save(tmp_path / "dog" / f"{i}.png", _gray(10))
    _save(tmp_path / "cat" / "a.jpg", _gray(200))
    _save(tmp_path / "cat" / "b.bmp", _gray(200))
    src = image_folder(tmp_path, image_size=4)
    assert src.class_names == ["cat", "dog"]
    assert src.alphabets == ["all", "all"]
    assert src.class_counts.tolist() == [2, 3]
    assert src.images.shape == (5, 4, 4, 1) and src.images.dtype == np.uint8
    assert np.all(src.images_of(1) == 10)


def test_two_level_folder_groups_classes_by_alphabet(tmp_path):
    for alphabet, classes in {"Greek": ["alpha", "beta"], "Latin": ["a"]}.items():
        for name in classes:
            _save(tmp_path / alphabet / name / "0.png", _gray(0))
            _save(tmp_path / alphabet / name / "1.gif", _gray(0))
    src = image_folder(tmp_path, image_size=(6, 5))
    assert src.class_names == ["Greek/alpha", "Greek/beta", "Latin/a"]
    assert src.alphabets == ["Greek", "Greek", "Latin"]
    assert src.image_shape == (6, 5, 1)
    assert src.num_images == 6


def test_invert_maps_white_paper_to_zero(tmp_path):
    _save(tmp_path / "c" / "0.png", _gray(255))
    _save(tmp_path / "c" / "1.png", _gray(100))
    src = image_folder(tmp_path, image_size=4, invert=True)
    assert src.images[:, :, :, 0].reshape(2, -1).tolist() == [[0] * 16, [155] * 16]


def test_rgb_channels_and_transparency_over_white(tmp_path):
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    _save(tmp_path / "c" / "red.png", red)
    clear = np.zeros((8, 8, 4), np.uint8)  # fully transparent black
    _save(tmp_path / "c" / "zclear.png", clear)
    src = image_folder(tmp_path, image_size=4, channels=3)
    assert src.images.shape == (2, 4, 4, 3)
    assert src.images[0, 0, 0].tolist() == [255, 0, 0]
    assert src.images[1, 0, 0].tolist() == [255, 255, 255]


def test_box_resize_averages_areas():
    image = np.ones((4, 4, 1), np.float32)
    image[:2, :2] = 0.0
    np.testing.assert_allclose(resize_image(image, 2, "box")[..., 0], [[0, 1], [1, 1]])
    image[0, 0] = 1.0
    np.testing.assert_allclose(resize_image(image, 2, "box")[0, 0, 0], 0.25)


def test_one_bit_image_is_resized_in_float(tmp_path):
    line = np.full((40, 40), 255, np.uint8)
    line[:, 20] = 0  # one-pixel line in a 1-bit image
    _save(tmp_path / "line.png", line > 0)
    assert Image.open(tmp_path / "line.png").mode == "1"
    small = load_image(tmp_path / "line.png", "line", image_size=10, invert=True)
    assert 0.05 < small.max() < 0.95  # antialiased grey, not a thresholded 0/1


def test_missing_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        image_folder(tmp_path / "nowhere")


def test_folder_without_classes_raises(tmp_path):
    with pytest.raises(ValueError, match="no class folders"):
        image_folder(tmp_path)


def test_class_folder_without_images_is_named(tmp_path):
    _save(tmp_path / "full" / "0.png", _gray(0))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="no images.*empty"):
        image_folder(tmp_path)


def test_alphabet_without_class_folders_is_named(tmp_path):
    _save(tmp_path / "Greek" / "alpha" / "0.png", _gray(0))
    _save(tmp_path / "Lonely" / "0.png", _gray(0))
    with pytest.raises(ValueError, match="Lonely"):
        image_folder(tmp_path)


def test_corrupt_image_is_named(tmp_path):
    _save(tmp_path / "c" / "good.png", _gray(0))
    (tmp_path / "c" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ValueError, match="bad.png"):
        image_folder(tmp_path)


@pytest.mark.parametrize("kwargs", [{"channels": 2}, {"image_size": 0}, {"image_size": (3, 4, 5)}])
def test_bad_arguments_are_named(tmp_path, kwargs):
    _save(tmp_path / "c" / "0.png", _gray(0))
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        image_folder(tmp_path, **kwargs)
