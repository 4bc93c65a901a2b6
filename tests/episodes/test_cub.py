"""CUB-200-2011's released layout, written by the test, with Chen et al.'s 100/50/50 few-shot split."""

import numpy as np
import pytest
from PIL import Image

from kzoo.episodes.cub import cub, split_of


def _write(root, classes=8, per_class=2):
    folder = root / "CUB_200_2011"
    (folder / "images").mkdir(parents=True)
    images, labels, names, boxes = [], [], [], []
    image_id = 1
    for c in range(classes):
        name = f"{c + 1:03d}.Bird_{c}"
        names.append(f"{c + 1} {name}")
        (folder / "images" / name).mkdir()
        for i in range(per_class):
            path = f"{name}/img_{i}.jpg"
            picture = np.zeros((40, 60, 3), np.uint8)
            picture[10:30, 20:40] = (30 * c, 255, 0)  # the bird: inside the box
            Image.fromarray(picture).save(folder / "images" / path, quality=95)
            images.append(f"{image_id} {path}")
            labels.append(f"{image_id} {c + 1}")
            boxes.append(f"{image_id} 20.0 10.0 20.0 20.0")
            image_id += 1
    for file, lines in (("images.txt", images), ("image_class_labels.txt", labels), ("classes.txt", names),
                        ("bounding_boxes.txt", boxes)):
        (folder / file).write_text("\n".join(lines) + "\n")
    return folder


def test_the_few_shot_split_is_100_50_50_of_200_classes():
    counts = {s: sum(split_of(i) == s for i in range(200)) for s in ("train", "val", "test")}
    assert counts == {"train": 100, "val": 50, "test": 50}


def test_released_layout_split_and_crop(tmp_path):
    _write(tmp_path)
    train = cub(tmp_path, "train", image_size=16, cache_dir=tmp_path / "cache")
    assert train.class_names == ["001.Bird_0", "003.Bird_2", "005.Bird_4", "007.Bird_6"]
    assert train.images.shape == (8, 16, 16, 3)
    test = cub(tmp_path, "test", image_size=16, cache_dir=tmp_path / "cache")
    assert test.class_names == ["004.Bird_3", "008.Bird_7"]
    cropped = cub(tmp_path, "val", image_size=16, crop=True, cache_dir=tmp_path / "cache")
    assert cropped.class_names == ["002.Bird_1", "006.Bird_5"]
    # cropped to the box, the whole image is the bird (green), not the black background
    assert cropped.images[..., 1].mean() > 200 and train.images[..., 1].mean() < 200


def test_bad_release_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="classes.txt"):
        cub(tmp_path, "train")
    folder = _write(tmp_path / "r")
    (folder / "image_class_labels.txt").write_text("1 1\n2\n")
    with pytest.raises(ValueError, match="2 fields on line 2 of .*image_class_labels.txt"):
        cub(tmp_path / "r", "train")
    (folder / "image_class_labels.txt").write_text("1 999\n")
    with pytest.raises(ValueError, match="Received: '999'"):
        cub(tmp_path / "r", "train")
