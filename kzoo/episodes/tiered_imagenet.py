"""tiered-ImageNet (Ren et al., ICLR 2018) in its released layout: 351/97/160 classes under 20/6/8 categories.

`root/<split>_images_png.pkl` holds the PNG-encoded images (a list of uint8 byte
arrays) and `root/<split>_labels.pkl` a dict with `label_specific` [N],
`label_general` [N], `label_specific_str` and `label_general_str` (Python 2 pickles:
bytes keys are read too). Each class's alphabet is its "general" category, so
`few_shot(..., same_alphabet=True)` draws fine-grained episodes. The PNGs are decoded
in a parallel `tf.data` map once and cached (`kzoo.cache`). Nothing is downloaded.
"""

import os
import pickle

import numpy as np

from kzoo.cache import cache_path, load_npz, save_npz
from kzoo.episodes.decoding import decode_images
from kzoo.episodes.source import Source

SPLITS = ("train", "val", "test")
#: classes (and general categories) per split of the release
CLASSES = {"train": 351, "val": 97, "test": 160}
_LABEL_FIELDS = ("label_specific", "label_general", "label_specific_str", "label_general_str")
_FORMAT_VERSION = 1


def _load_pickle(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"Expected the tiered-ImageNet file {path!r}. Received: no such file.")
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError) as error:
        raise ValueError(f"Cannot read the tiered-ImageNet file {path!r}: {error}") from None
    if isinstance(data, dict):
        data = {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}
    return data


def _names(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def tiered_imagenet(root, split="train", image_size=84, cache_dir=None):
    """The `Source` of one tiered-ImageNet split, its general categories as alphabets.

    Args:
        root: the folder holding `<split>_images_png.pkl` and `<split>_labels.pkl`.
        split: `"train"` (351 classes), `"val"` (97) or `"test"` (160).
        image_size: side of the square RGB images. Defaults to `84`.
        cache_dir: where the decoded images are cached. Defaults to `$KZOO_CACHE` or `~/.cache/kzoo`.
    """
    if split not in SPLITS:
        raise ValueError(f"Expected `split` in {SPLITS}. Received: split={split!r}.")
    root = os.fspath(root)
    labels_path = os.path.join(root, f"{split}_labels.pkl")
    images_path = os.path.join(root, f"{split}_images_png.pkl")
    labels = _load_pickle(labels_path)
    for field in _LABEL_FIELDS:
        if not isinstance(labels, dict) or field not in labels:
            raise ValueError(f"Expected the field {field!r} in {labels_path!r}. "
                             f"Received: {sorted(labels) if isinstance(labels, dict) else type(labels).__name__}.")
    specific = np.asarray(labels["label_specific"], np.int64)
    general = np.asarray(labels["label_general"], np.int64)
    specific_names, general_names = _names(labels["label_specific_str"]), _names(labels["label_general_str"])
    if general.shape != specific.shape or (specific.size and specific.max() >= len(specific_names)):
        raise ValueError(f"Expected 'label_specific' and 'label_general' of one length with values indexing "
                         f"'label_specific_str' in {labels_path!r}. Received: lengths {specific.size}, "
                         f"{general.size}, {len(specific_names)} names.")
    if not os.path.exists(images_path):
        raise FileNotFoundError(f"Expected the tiered-ImageNet file {images_path!r}. Received: no such file.")
    key = [_FORMAT_VERSION, os.path.abspath(images_path), os.path.getsize(images_path), image_size]
    path = cache_path("tiered-imagenet", key, [labels_path], cache_dir)
    cached = load_npz(path, ("images",), what="tiered-ImageNet")
    if cached is not None and len(cached["images"]) == specific.size:
        images = cached["images"]
    else:
        blobs = _load_pickle(images_path)
        if len(blobs) != specific.size:
            raise ValueError(f"Expected {specific.size} images (one per label of {labels_path!r}) in "
                             f"{images_path!r}. Received: {len(blobs)}.")
        images = decode_images([np.asarray(b, np.uint8).tobytes() for b in blobs], image_size, encoded=True,
                               names=[f"image {i} of {images_path!r}" for i in range(len(blobs))])
        save_npz(path, {"images": images}, what="tiered-ImageNet")
    category = {c: g for c, g in zip(specific.tolist(), general.tolist())}
    order = np.argsort(specific, kind="stable")
    alphabets = [general_names[category[c]] if c in category else "unknown" for c in range(len(specific_names))]
    return Source(images[order], specific[order], class_names=specific_names, alphabets=alphabets,
                  name=f"tiered-imagenet[{split}]")
