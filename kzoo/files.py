"""Atomic file writes: every file kzoo writes appears whole or not at all."""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path next to `path`, renamed onto `path` when the block ends.

    The parent folder is created if needed. If the block raises, the temporary file is
    removed and `path` is left as it was. The file gets the usual 0o644 permissions
    (`mkstemp` would make it readable by its owner only).

    Example: `with atomic_path("out/result.npz", suffix=".npz") as tmp: np.savez(tmp, x=x)`.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, value, indent=1):
    """Writes `value` as JSON (and a final newline) to `path` atomically; returns `path`."""
    import json

    with atomic_path(path, suffix=".json") as tmp, open(tmp, "w") as f:
        f.write(json.dumps(value, indent=indent) + "\n")
    return path
