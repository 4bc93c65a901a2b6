"""CIFAR-FS (Bertinetto et al., ICLR 2019): CIFAR-100's 100 classes split 64/16/20 for few-shot learning.

Read from CIFAR-100's python release, `root/cifar-100-python/{train,test,meta}` (or those
three files directly in `root`): both of CIFAR-100's own parts are pooled, so every
class has its 600 images, and each class's alphabet is its CIFAR-100 superclass.
Nothing is downloaded.

>>> sorted(VAL_CLASSES)[:3], len(TEST_CLASSES)
(['beaver', 'beetle', 'butterfly'], 20)
"""

import os
import pickle

import numpy as np

from kzoo.episodes.source import Source

SPLITS = ("train", "val", "test")
#: Bertinetto et al.'s validation and test classes; train is the other 64 of CIFAR-100's fine labels
VAL_CLASSES = ("otter", "motorcycle", "television", "lamp", "crocodile", "shark", "butterfly", "beaver", "beetle",
               "tractor", "flatfish", "maple_tree", "camel", "crab", "sea", "cattle")
TEST_CLASSES = ("baby", "bed", "bicycle", "chimpanzee", "fox", "leopard", "man", "pickup_truck", "plain", "poppy",
                "rocket", "rose", "snail", "sweet_pepper", "table", "telephone", "wardrobe", "whale", "woman", "worm")


def _read(path):
    """One of CIFAR-100's python pickles (bytes keys, as released), with errors naming the file."""
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="bytes")
    except FileNotFoundError:
        raise FileNotFoundError(f"Expected CIFAR-100's python release file {path!r}. Received: no such file.") from None
    except (OSError, pickle.UnpicklingError, EOFError) as error:
        raise ValueError(f"Cannot read the CIFAR-100 file {path!r}: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"Expected a dict in {path!r}. Received: {type(data).__name__}.")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def _field(data, name, path):
    if name not in data:
        raise ValueError(f"Expected the field {name!r} in {path!r}. Received: fields {sorted(data)}.")
    return data[name]


def cifar_fs(root, split="train"):
    """The `Source` of one CIFAR-FS split: 32x32 RGB uint8 images, 600 per class.

    Args:
        root: the folder holding `cifar-100-python/` (or its `train`, `test`, `meta` files).
        split: `"train"` (64 classes), `"val"` (16) or `"test"` (20).

    Returns:
        A `Source` whose class names are CIFAR-100's fine labels (sorted) and whose
        alphabets are their superclasses.
    """
    if split not in SPLITS:
        raise ValueError(f"Expected `split` in {SPLITS}. Received: split={split!r}.")
    folder = os.path.join(os.fspath(root), "cifar-100-python")
    folder = folder if os.path.isdir(folder) else os.fspath(root)
    meta_path = os.path.join(folder, "meta")
    meta = _read(meta_path)
    fine = [n.decode() if isinstance(n, bytes) else n for n in _field(meta, "fine_label_names", meta_path)]
    coarse = [n.decode() if isinstance(n, bytes) else n for n in _field(meta, "coarse_label_names", meta_path)]
    missing = sorted(set(VAL_CLASSES + TEST_CLASSES) - set(fine))
    if missing:
        raise ValueError(f"Expected CIFAR-100's fine labels in {meta_path!r} (CIFAR-FS's classes). "
                         f"Received: no {missing[:5]}.")
    images, labels, superclass = [], [], {}
    for part in ("train", "test"):
        path = os.path.join(folder, part)
        data = _read(path)
        pixels = np.asarray(_field(data, "data", path))
        fine_labels = np.asarray(_field(data, "fine_labels", path), np.int64)
        coarse_labels = np.asarray(_field(data, "coarse_labels", path), np.int64)
        if pixels.ndim != 2 or pixels.shape[1] != 3072 or pixels.shape[0] != fine_labels.size:
            raise ValueError(f"Expected 'data' uint8 [N, 3072] (N = {fine_labels.size} labels) in {path!r}. "
                             f"Received: {pixels.dtype} {pixels.shape}.")
        images.append(pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.uint8))
        labels.append(fine_labels)
        superclass.update(zip(fine_labels.tolist(), coarse_labels.tolist()))
    images, labels = np.concatenate(images), np.concatenate(labels)
    wanted = {"val": set(VAL_CLASSES), "test": set(TEST_CLASSES)}.get(
        split, set(fine) - set(VAL_CLASSES) - set(TEST_CLASSES))
    names = sorted(wanted)
    ids = [fine.index(n) for n in names]
    keep = np.isin(labels, ids)
    new = {old: i for i, old in enumerate(ids)}
    relabelled = np.array([new[c] for c in labels[keep]], np.int64)
    order = np.argsort(relabelled, kind="stable")
    alphabets = [coarse[superclass[c]] if c in superclass else "unknown" for c in ids]
    return Source(images[keep][order], relabelled[order], class_names=names, alphabets=alphabets,
                  name=f"cifar-fs[{split}]")
