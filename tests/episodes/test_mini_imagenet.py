"""mini-ImageNet's two published layouts, written by the test: Ravi & Larochelle's CSVs + JPEGs, and the pickle cache."""

import pickle

import numpy as np
import pytest
from PIL import Image

from kzoo import episodes
from kzoo.episodes.mini_imagenet import mini_imagenet

WNIDS = ["n01532829", "n01558993", "n01704323"]


def _pattern(c, i, size=24):
    """A distinct RGB image per (class, image): the class sets the colour, the image a stripe."""
    image = np.zeros((size, size, 3), np.uint8)
    image[..., c] = 200
    image[i * 4:(i * 4) + 4] = 255
    return image


def _write_csv_layout(root, split="train", per_class=3):
    (root / "images").mkdir(parents=True, exist_ok=True)
    lines = ["filename,label"]
    for c, wnid in enumerate(WNIDS):
        for i in range(per_class):
            name = f"{wnid}{i:08d}.jpg"
            Image.fromarray(_pattern(c, i)).save(root / "images" / name, quality=95)
            lines.append(f"{name},{wnid}")
    (root / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return root


def test_csv_layout_gives_one_class_per_wnid_decoded_in_graph_and_cached(tmp_path):
    root = _write_csv_layout(tmp_path / "mini")
    cache = tmp_path / "cache"
    src = mini_imagenet(root, "train", image_size=12, cache_dir=cache)
    assert src.num_classes == 3 and src.class_names == sorted(WNIDS) and src.alphabet_names == ["train"]
    assert src.images.shape == (9, 12, 12, 3) and src.images.dtype == np.uint8
    # the colour of class c survives decoding and resizing: its channel dominates
    for c in range(3):
        rows = src.images[src.offsets[c]:src.offsets[c + 1]].reshape(-1, 3).astype(float)
        assert np.argmax(rows.mean(0)) == c
    assert len(list(cache.glob("mini-imagenet-*.npz"))) == 1
    again = mini_imagenet(root, "train", image_size=12, cache_dir=cache)  # from the cache
    np.testing.assert_array_equal(again.images, src.images)
    episode = next(iter(episodes.few_shot(src, ways=3, shots=1, queries=2, batches=1)))
    assert episode[0]["support_x"].shape == (1, 3, 12, 12, 3)


def test_csv_layout_errors_name_the_file_and_field(tmp_path):
    root = _write_csv_layout(tmp_path / "bad")
    (root / "val.csv").write_text("file,class\nx.jpg,n1\n")
    with pytest.raises(ValueError, match=r"header 'filename,label' in .*val.csv.*'file,class'"):
        mini_imagenet(root, "val", cache_dir=tmp_path)
    (root / "val.csv").write_text("filename,label\nn0153282900000000.jpg\n")
    with pytest.raises(ValueError, match="line 2 of .*val.csv"):
        mini_imagenet(root, "val", cache_dir=tmp_path)
    (root / "test.csv").write_text("filename,label\nmissing.jpg,n01532829\n")
    with pytest.raises(FileNotFoundError, match="1 missing, e.g. .*missing.jpg"):
        mini_imagenet(root, "test", cache_dir=tmp_path)
    (root / "images" / "broken.jpg").write_bytes(b"not a jpeg")
    (root / "test.csv").write_text("filename,label\nbroken.jpg,n01532829\n")
    with pytest.raises(ValueError, match="Cannot decode the image .*broken.jpg"):
        mini_imagenet(root, "test", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="Expected `split`"):
        mini_imagenet(root, "training")


def test_pickle_layout(tmp_path):
    images = np.stack([_pattern(c, i, 84) for c in range(3) for i in range(4)])
    class_dict = {wnid: list(range(4 * c, 4 * c + 4)) for c, wnid in enumerate(WNIDS[::-1])}
    with open(tmp_path / "mini-imagenet-cache-val.pkl", "wb") as f:
        pickle.dump({"image_data": images, "class_dict": class_dict}, f)
    src = mini_imagenet(tmp_path, "val")
    assert src.num_classes == 3 and src.images.shape == (12, 84, 84, 3)
    # WNIDS[::-1] maps rows 0-3 to the last wnid: its sorted index is 2
    np.testing.assert_array_equal(src.images[src.offsets[2]:src.offsets[3]], images[:4])
    with open(tmp_path / "mini-imagenet-cache-test.pkl", "wb") as f:
        pickle.dump({"image_data": images, "class_dict": {WNIDS[0]: [0, 1]}}, f)
    with pytest.raises(ValueError, match="10 images in none"):
        mini_imagenet(tmp_path, "test")
    with open(tmp_path / "mini-imagenet-cache-train.pkl", "wb") as f:
        pickle.dump({"images": images}, f)
    with pytest.raises(ValueError, match="no 'image_data'"):
        mini_imagenet(tmp_path, "train")
