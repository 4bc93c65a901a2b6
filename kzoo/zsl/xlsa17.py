"""Reader (and writer) of the GZSL benchmark files of Xian et al. ("xlsa17").

The proposed-split release of "Zero-Shot Learning - A Comprehensive Evaluation of
the Good, the Bad and the Ugly" (TPAMI 2018) has one folder per dataset (AWA1, AWA2,
CUB, SUN, APY) with two MATLAB files:

- `res101.mat`: `features` float `[2048, N]` (ResNet-101 pool5, one column per
  image), `labels` `[N, 1]` 1-based classes, `image_files` `[N, 1]` (not needed).
- `att_splits.mat`: `att` `[A, C]` class attributes (one column per class),
  `allclasses_names` `[C, 1]`, and 1-based `[n, 1]` sample indices `trainval_loc`,
  `test_seen_loc`, `test_unseen_loc` (plus `train_loc`, `val_loc` for model
  selection).

kzoo never downloads them: pass the folder of a dataset you have.
"""

import os

import numpy as np

from kzoo.files import atomic_path
from kzoo.zsl.dataset import SPLITS, ZeroShotData

FEATURES_FILE = "res101.mat"
SPLITS_FILE = "att_splits.mat"
_GRANULARITY = {"SUN": "fine", "CUB": "fine", "AWA1": "coarse", "AWA2": "coarse", "APY": "coarse"}


def load_xlsa17(directory, name=None):
    """Loads one dataset of the Xian et al. GZSL benchmark from its folder.

    Args:
        directory: the folder holding `res101.mat` and `att_splits.mat` (e.g.
            `xlsa17/data/AWA2`).
        name: dataset name for tables. Defaults to the folder name.

    Returns:
        A `ZeroShotData` with features `[N, 2048]`, 0-based labels, attributes
        `[C, A]` (the file's `att` transposed) and 0-based split indices. The optional
        `train_loc` / `val_loc` (for model selection) are in `data.extra`.

    Raises:
        ValueError: a file is missing or unreadable, a variable is missing, the
            attribute matrix does not have one column per class, or indices look
            0-based (a 0 in a 1-based field) or run past the number of images.

    Example:

    >>> data = load_xlsa17("xlsa17/data/AWA2")  # doctest: +SKIP
    >>> data.statistics()["Y unseen"]  # doctest: +SKIP
    10
    """
    from scipy import io

    directory = os.fspath(directory)
    files = {}
    for fname in (FEATURES_FILE, SPLITS_FILE):
        path = os.path.join(directory, fname)
        if not os.path.isfile(path):
            raise ValueError(f"Expected {fname} in `directory` (the Xian et al. GZSL format). "
                             f"Received: directory={directory!r} without it.")
        try:
            files[fname] = io.loadmat(path)
        except Exception as error:  # scipy raises several types for a bad file
            raise ValueError(f"Cannot read the MATLAB file {path}: {error}.") from error
    res, att = files[FEATURES_FILE], files[SPLITS_FILE]
    for fname, var in ((FEATURES_FILE, "features"), (FEATURES_FILE, "labels"), (SPLITS_FILE, "att"),
                       *((SPLITS_FILE, f"{s}_loc") for s in SPLITS)):
        if var not in files[fname]:
            raise ValueError(f"Expected a variable `{var}` in {fname}. Received: variables "
                             f"{sorted(k for k in files[fname] if not k.startswith('__'))}.")
    features = np.asarray(res["features"], np.float32)
    labels = np.asarray(res["labels"]).reshape(-1)
    if features.ndim != 2 or features.shape[1] != labels.size:
        raise ValueError(f"Expected `features` in {FEATURES_FILE} of shape [D, N] with N = {labels.size} "
                         f"(the number of labels). Received: {features.shape}.")
    n = labels.size
    labels = _one_based(labels, "labels", FEATURES_FILE, upper=None)
    attributes = np.asarray(att["att"], np.float32)
    num_classes = int(labels.max()) + 1
    names = _strings(att.get("allclasses_names"))
    if names is not None:
        num_classes = max(num_classes, len(names))
    if attributes.ndim != 2 or attributes.shape[1] != num_classes:
        transposed = attributes.ndim == 2 and attributes.shape[0] == num_classes
        raise ValueError(
            f"Expected `att` in {SPLITS_FILE} of shape [num_attributes, num_classes] with num_classes = "
            f"{num_classes} (the labels{' and allclasses_names' if names is not None else ''}). "
            f"Received: att.shape={attributes.shape}"
            + (" - it looks transposed (one row per class)." if transposed else ".")
        )
    locs = {s: _one_based(np.asarray(att[f"{s}_loc"]).reshape(-1), f"{s}_loc", SPLITS_FILE, upper=n)
            for s in SPLITS}
    extra = {}
    for s in ("train", "val"):
        if f"{s}_loc" in att:
            extra[f"{s}_loc"] = _one_based(np.asarray(att[f"{s}_loc"]).reshape(-1), f"{s}_loc", SPLITS_FILE, upper=n)
    if names is not None and len(names) != num_classes:
        raise ValueError(f"Expected {num_classes} `allclasses_names` in {SPLITS_FILE}. Received: {len(names)}.")
    name = name or os.path.basename(os.path.normpath(directory))
    return ZeroShotData(
        features.T, labels, attributes.T, locs["trainval"], locs["test_seen"], locs["test_unseen"],
        class_names=names, name=name, granularity=_GRANULARITY.get(name.upper()), extra=extra,
    )


def _one_based(values, var, fname, upper):
    """1-based MATLAB indices/labels -> 0-based int64, detecting 0-based files."""
    values = np.asarray(values)
    if values.size == 0:
        raise ValueError(f"Expected a non-empty `{var}` in {fname}. Received: an empty array.")
    if not np.all(np.isfinite(values.astype(np.float64))) or np.any(values != np.round(values)):
        raise ValueError(f"Expected integer `{var}` in {fname}. Received: non-integer values.")
    values = values.astype(np.int64)
    if values.min() == 0:
        raise ValueError(
            f"Expected 1-based `{var}` in {fname} (MATLAB indexing, as in the Xian et al. release). "
            f"Received: a value of 0, so the file looks 0-based; add 1 to `{var}` when writing it."
        )
    if values.min() < 0:
        raise ValueError(f"Expected positive `{var}` in {fname}. Received: a value of {values.min()}.")
    if upper is not None and values.max() > upper:
        raise ValueError(f"Expected `{var}` in {fname} in 1..{upper} (the number of images). "
                         f"Received: a value of {values.max()}.")
    return values - 1


def _strings(cell):
    if cell is None:
        return None
    out = []
    for item in np.asarray(cell, dtype=object).reshape(-1):
        while isinstance(item, np.ndarray) and item.dtype == object and item.size == 1:
            item = item.reshape(-1)[0]
        out.append(str(np.asarray(item).reshape(-1)[0]) if isinstance(item, np.ndarray) and item.size else str(item))
    return out


def save_xlsa17(data, directory):
    """Writes a `ZeroShotData` as `res101.mat` + `att_splits.mat` (1-based, Xian et al.'s schema).

    Both files are written to temporary names and renamed into place. Useful to
    export the built-in set to tools that read the benchmark format, and in tests.

    Args:
        data: a `ZeroShotData`.
        directory: folder to write to (created if needed).

    Returns:
        The folder path.
    """
    from scipy import io

    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    names = np.empty((data.num_classes, 1), dtype=object)
    names[:, 0] = data.class_names
    contents = {
        FEATURES_FILE: {"features": data.features.T.astype(np.float64),
                        "labels": (data.labels.astype(np.float64) + 1)[:, None]},
        SPLITS_FILE: {"att": data.attributes.T.astype(np.float64), "allclasses_names": names,
                      **{f"{s}_loc": (getattr(data, f"{s}_loc") + 1).astype(np.float64)[:, None] for s in SPLITS},
                      **{k: (v + 1).astype(np.float64)[:, None] for k, v in data.extra.items()
                         if k in ("train_loc", "val_loc")}},
    }
    for fname, variables in contents.items():
        with atomic_path(os.path.join(directory, fname), suffix=".mat") as tmp:
            io.savemat(tmp, variables)
    return directory
