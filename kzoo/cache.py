"""The on-disk cache of rendered data (`~/.cache/kzoo`, or `$KZOO_CACHE`): one `.npz` file per set of arguments.

A cache file is named by a hash of everything its content depends on (arguments,
font files, library versions), written atomically, and read back only when whole:
a missing or corrupt file means "build again", never an error.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> path = cache_path("demo", ["arguments", 1], cache_dir=folder)
>>> load_npz(path, ("x",)) is None
True
>>> save_npz(path, {"x": np.arange(3)})
>>> load_npz(path, ("x",))["x"].tolist()
[0, 1, 2]
"""

import hashlib
import json
import os
import warnings
import zipfile
import zlib

import numpy as np

from kzoo.files import atomic_path


def cache_folder(cache_dir=None):
    """`cache_dir`, else `$KZOO_CACHE`, else `~/.cache/kzoo`."""
    if cache_dir is not None:
        return os.fspath(cache_dir)
    return os.environ.get("KZOO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kzoo")


def cache_path(prefix, key, files=(), cache_dir=None):
    """`<folder>/<prefix>-<hash>.npz`, the hash of the JSON `key` and of the contents of `files`."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode())
    for path in files:
        with open(path, "rb") as f:
            digest.update(os.path.basename(path).encode() + hashlib.sha256(f.read()).digest())
    return os.path.join(cache_folder(cache_dir), f"{prefix}-{digest.hexdigest()[:24]}.npz")


def load_npz(path, keys, validate=None, what="data"):
    """The arrays `keys` of the cache file `path`, or `None` when it is missing or unreadable.

    `validate(arrays)` may raise a `ValueError` for arrays that are inconsistent; a
    corrupt or inconsistent file warns and gives `None` (build again).
    """
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in keys}
        if validate is not None:
            validate(data)
        return data
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        warnings.warn(f"Building again: the {what} cache file {path} is unreadable ({error}).")
        return None


def save_npz(path, data, what="data"):
    """Writes the arrays `data` to the cache file `path` atomically; a folder that cannot be written only warns."""
    try:
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **data)
    except OSError as error:
        warnings.warn(f"Not caching {what}: cannot write {path} ({error}).")
