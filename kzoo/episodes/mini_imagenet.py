"""mini-ImageNet (Vinyals et al. 2016) in its two published layouts, with Ravi & Larochelle's 64/16/20 class split.

- CSV layout (Ravi & Larochelle 2017): `root/images/<filename>.jpg` and
  `root/{train,val,test}.csv`, each with the header `filename,label` (label = the
  ImageNet wnid of the image's class).
- Pickle cache: `root/mini-imagenet-cache-{train,val,test}.pkl`, each a dict
  `{"image_data": uint8 [N, 84, 84, 3], "class_dict": {wnid: [row indices]}}`.

JPEG files are decoded and resized inside a `tf.data` graph with parallel maps, once:
the arrays are cached in `~/.cache/kzoo` (`kzoo.cache`) and later calls load them.
Nothing is downloaded.

>>> mini_imagenet("/nonexistent", "train")
Traceback (most recent call last):
...
FileNotFoundError: Expected mini-ImageNet in '/nonexistent': train.csv with images/, or mini-imagenet-cache-train.pkl. Received: neither exists.
"""

import csv
import os
import pickle

import numpy as np

from kzoo.cache import cache_path, load_npz, save_npz
from kzoo.episodes.decoding import decode_images
from kzoo.episodes.source import Source

SPLITS = ("train", "val", "test")
#: classes per split of Ravi & Larochelle's split
CLASSES = {"train": 64, "val": 16, "test": 20}
_FORMAT_VERSION = 1


def mini_imagenet(root, split="train", image_size=84, cache_dir=None):
    """The `Source` of one split of mini-ImageNet (either published layout).

    Args:
        root: the folder holding `train.csv`/`val.csv`/`test.csv` and `images/`, or
            the `mini-imagenet-cache-<split>.pkl` files.
        split: `"train"` (64 classes), `"val"` (16) or `"test"` (20).
        image_size: side of the square RGB images. Defaults to `84`.
        cache_dir: where decoded CSV-layout images are cached. Defaults to
            `$KZOO_CACHE` or `~/.cache/kzoo`.

    Returns:
        A `Source` of uint8 images `[M, image_size, image_size, 3]`; class names are the
        wnids, in sorted order, and every class is in the alphabet `split`.
    """
    if split not in SPLITS:
        raise ValueError(f"Expected `split` in {SPLITS}. Received: split={split!r}.")
    root = os.fspath(root)
    table = os.path.join(root, f"{split}.csv")
    cache_file = os.path.join(root, f"mini-imagenet-cache-{split}.pkl")
    if os.path.exists(table):
        images, wnids = _from_csv(root, table, image_size, cache_dir)
    elif os.path.exists(cache_file):
        images, wnids = _from_pickle(cache_file, image_size)
    else:
        raise FileNotFoundError(f"Expected mini-ImageNet in {root!r}: {split}.csv with images/, or "
                                f"mini-imagenet-cache-{split}.pkl. Received: neither exists.")
    names = sorted(set(wnids))
    index = {name: i for i, name in enumerate(names)}
    labels = np.array([index[w] for w in wnids], np.int64)
    order = np.argsort(labels, kind="stable")
    return Source(images[order], labels[order], class_names=names, alphabets=[split] * len(names),
                  name=f"mini-imagenet[{split}]")


def _read_table(path):
    """`(filenames, wnids)` of a `filename,label` CSV, with errors naming the file, line and field."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0]] != ["filename", "label"]:
        raise ValueError(f"Expected the header 'filename,label' in {path!r}. "
                         f"Received: {','.join(rows[0]) if rows else '(an empty file)'!r}.")
    files, wnids = [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise ValueError(f"Expected 'filename,label' on line {line} of {path!r}. Received: {','.join(row)!r}.")
        files.append(row[0].strip())
        wnids.append(row[1].strip())
    if not files:
        raise ValueError(f"Expected at least one image in {path!r}. Received: a header only.")
    return files, wnids


def _from_csv(root, table, image_size, cache_dir):
    files, wnids = _read_table(table)
    paths = [os.path.join(root, "images", name) for name in files]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"Expected the {len(paths)} images listed in {table!r} under "
                                f"{os.path.join(root, 'images')!r}. Received: {len(missing)} missing, "
                                f"e.g. {missing[0]!r}.")
    stamp = [os.path.getsize(p) for p in paths]
    key = [_FORMAT_VERSION, os.path.abspath(table), files, wnids, stamp, image_size]
    path = cache_path("mini-imagenet", key, [table], cache_dir)
    cached = load_npz(path, ("images",), what="mini-ImageNet")
    if cached is not None and len(cached["images"]) == len(paths):
        return cached["images"], wnids
    images = decode_images(paths, image_size)
    save_npz(path, {"images": images}, what="mini-ImageNet")
    return images, wnids


def _from_pickle(path, image_size):
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError) as error:
        raise ValueError(f"Cannot read the mini-ImageNet cache {path!r}: {error}") from None
    for field in ("image_data", "class_dict"):
        if not isinstance(data, dict) or field not in data:
            raise ValueError(f"Expected a dict with 'image_data' and 'class_dict' in {path!r}. "
                             f"Received: no {field!r}.")
    images = np.asarray(data["image_data"])
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"Expected 'image_data' uint8 [N, 84, 84, 3] in {path!r}. "
                         f"Received: {images.dtype} {images.shape}.")
    wnids = np.empty(len(images), dtype=object)
    for wnid, rows in data["class_dict"].items():
        rows = np.asarray(rows, np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(images)):
            raise ValueError(f"Expected 'class_dict' rows in 0..{len(images) - 1} in {path!r}. "
                             f"Received: rows {rows.min()}..{rows.max()} for {wnid!r}.")
        wnids[rows] = wnid
    if any(w is None for w in wnids):
        raise ValueError(f"Expected every image of 'image_data' in one class of 'class_dict' in {path!r}. "
                         f"Received: {sum(w is None for w in wnids)} images in none.")
    if images.shape[1:3] != (image_size, image_size):
        import tensorflow as tf

        images = tf.cast(tf.round(tf.image.resize(images, (image_size, image_size), antialias=True)),
                         tf.uint8).numpy()
    return images, list(wnids)
