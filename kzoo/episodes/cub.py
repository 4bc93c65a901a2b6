"""CUB-200-2011 (Wah et al. 2011) with the few-shot 100/50/50 class split of Chen et al. 2019.

Read from the released folder `root/CUB_200_2011/` (or `root` itself): `images.txt`
(`<image id> <path>`), `image_class_labels.txt` (`<image id> <class id>`),
`classes.txt` (`<class id> <name>`), `images/<path>`, and optionally
`bounding_boxes.txt` (`<image id> <x> <y> <width> <height>`) to crop each bird first.
Class i (0-based, in `classes.txt` order) is in train when i % 2 == 0, in val when
i % 4 == 1 and in test when i % 4 == 3 (Chen et al.'s `write_CUB_filelist.py`
split). Images are decoded in a parallel `tf.data` map once and cached. Nothing is
downloaded.
"""

import os

import numpy as np

from kzoo.cache import cache_path, load_npz, save_npz
from kzoo.episodes.decoding import decode_images
from kzoo.episodes.source import Source

SPLITS = ("train", "val", "test")
_FORMAT_VERSION = 1


def split_of(class_index):
    """The few-shot split of class `class_index` (0-based): Chen et al.'s 100/50/50 rule."""
    return "train" if class_index % 2 == 0 else ("val" if class_index % 4 == 1 else "test")


def _table(path, columns):
    """Rows of a whitespace-separated release file, each split in `columns` fields (the last keeps spaces)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"Expected the CUB-200-2011 file {path!r}. Received: no such file.")
    rows = []
    with open(path) as f:
        for line_number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            fields = line.split(maxsplit=columns - 1)
            if len(fields) != columns:
                raise ValueError(f"Expected {columns} fields on line {line_number} of {path!r}. "
                                 f"Received: {line.strip()!r}.")
            rows.append([field.strip() for field in fields])
    return rows


def cub(root, split="train", image_size=84, crop=False, cache_dir=None):
    """The `Source` of one few-shot split of CUB-200-2011 (100 / 50 / 50 classes).

    Args:
        root: the folder holding `CUB_200_2011/` (or the release files themselves).
        split: `"train"`, `"val"` or `"test"`.
        image_size: side of the square RGB images. Defaults to `84`.
        crop: crop each image to its bounding box (`bounding_boxes.txt`) first. Defaults to `False`.
        cache_dir: where decoded images are cached. Defaults to `$KZOO_CACHE` or `~/.cache/kzoo`.
    """
    if split not in SPLITS:
        raise ValueError(f"Expected `split` in {SPLITS}. Received: split={split!r}.")
    folder = os.path.join(os.fspath(root), "CUB_200_2011")
    folder = folder if os.path.isdir(folder) else os.fspath(root)
    classes = _table(os.path.join(folder, "classes.txt"), 2)
    class_index = {cid: i for i, (cid, _) in enumerate(classes)}
    paths = dict(_table(os.path.join(folder, "images.txt"), 2))
    labels_table = _table(os.path.join(folder, "image_class_labels.txt"), 2)
    chosen = []
    for image_id, cid in labels_table:
        if cid not in class_index:
            raise ValueError(f"Expected class ids of classes.txt in image_class_labels.txt of {folder!r}. "
                             f"Received: {cid!r} for image {image_id}.")
        if image_id not in paths:
            raise ValueError(f"Expected image {image_id} of image_class_labels.txt in images.txt of {folder!r}. "
                             f"Received: no such id.")
        if split_of(class_index[cid]) == split:
            chosen.append((image_id, class_index[cid]))
    files = [os.path.join(folder, "images", paths[image_id]) for image_id, _ in chosen]
    missing = [p for p in files if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"Expected the {len(files)} {split} images of {folder!r}. Received: "
                                f"{len(missing)} missing, e.g. {missing[0]!r}.")
    boxes = None
    if crop:
        table = {row[0]: [float(v) for v in row[1:]] for row in _table(os.path.join(folder, "bounding_boxes.txt"), 5)}
        boxes = [table[image_id] for image_id, _ in chosen]
    key = [_FORMAT_VERSION, [os.path.abspath(p) for p in files], [os.path.getsize(p) for p in files], image_size,
           boxes]
    path = cache_path("cub", key, cache_dir=cache_dir)
    cached = load_npz(path, ("images",), what="CUB")
    if cached is not None and len(cached["images"]) == len(files):
        images = cached["images"]
    else:
        images = decode_images(_cropped(files, boxes) if crop else files, image_size, encoded=crop,
                               names=[f"the image {p!r}" for p in files])
        save_npz(path, {"images": images}, what="CUB")
    kept = sorted({c for _, c in chosen})
    new = {c: i for i, c in enumerate(kept)}
    labels = np.array([new[c] for _, c in chosen], np.int64)
    order = np.argsort(labels, kind="stable")
    names = [classes[c][1] for c in kept]
    return Source(images[order], labels[order], class_names=names, alphabets=[split] * len(names),
                  name=f"cub[{split}]" + ("[cropped]" if crop else ""))


def _cropped(files, boxes):
    """PNG bytes of each image cropped to its (x, y, width, height) box."""
    import io

    from PIL import Image

    out = []
    for path, (x, y, w, h) in zip(files, boxes):
        with Image.open(path) as image:
            buffer = io.BytesIO()
            image.convert("RGB").crop((int(x), int(y), int(x + w), int(y + h))).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out
