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


def write_marked_blocks(path, blocks, tag="generated"):
    r"""Replaces, in the text file `path`, what lies between marker lines, atomically.

    Each `blocks[name]` goes between the lines `<!-- {tag}: name -->` and
    `<!-- /{tag}: name -->` (Markdown comments, invisible when rendered), so a
    reproduction script can rewrite the tables of a README it documents and nothing
    else. Raises a `ValueError` naming the file unless each pair occurs exactly once.

    >>> import pathlib, tempfile
    >>> readme = pathlib.Path(tempfile.mkdtemp()) / "README.md"
    >>> _ = readme.write_text("a\n<!-- generated: t -->\nold\n<!-- /generated: t -->\nb\n")
    >>> _ = write_marked_blocks(readme, {"t": "new"})
    >>> readme.read_text()
    'a\n<!-- generated: t -->\nnew\n<!-- /generated: t -->\nb\n'
    """
    text = open(path).read()
    for name, body in blocks.items():
        start, end = f"<!-- {tag}: {name} -->", f"<!-- /{tag}: {name} -->"
        if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
            raise ValueError(f"Expected one {start!r} line and, after it, one {end!r} line in {path}. "
                             f"Received: {text.count(start)} and {text.count(end)}.")
        head, rest = text.split(start)
        _, tail = rest.split(end)
        text = f"{head}{start}\n{body.strip()}\n{end}{tail}"
    with atomic_path(path, suffix=".tmp") as tmp, open(tmp, "w") as f:
        f.write(text)
    return path


def report_blocks(readme, blocks, write=False, tag="report.py"):
    """Prints each `blocks[name]` (a Markdown table); with `write=True` also rewrites them in `readme`.

    What the reproduction folders' `report.py --write` does: `write_marked_blocks` with
    the `<!-- report.py: name -->` markers.
    """
    for name, text in blocks.items():
        print(f"{name}:\n{text}\n")
    if write:
        write_marked_blocks(readme, blocks, tag=tag)
        print(f"wrote {readme}")


def _exchange(first, second):
    """Atomically swaps two paths (Linux `renameat2(RENAME_EXCHANGE)`); False where unsupported."""
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(error, os.strerror(error), first)


def _aside(folder):
    return os.path.join(os.path.dirname(folder), f".{os.path.basename(folder)}.replaced")


def recover_folder(folder):
    """Puts back a folder that a killed `atomic_folder` overwrite had moved aside.

    Only the fallback swap (no atomic exchange on this system) can leave one: the old
    folder, whole, at `.<name>.replaced` and no `<name>`. Returns True if it was restored."""
    folder = os.path.abspath(folder)
    aside = _aside(folder)
    if os.path.isdir(aside) and not os.path.exists(folder):
        os.replace(aside, folder)
        return True
    return False


@contextlib.contextmanager
def atomic_folder(folder, overwrite=False, replaceable=None, what="folder"):
    """Yields a new temporary folder next to `folder`; it takes `folder`'s place when the block ends.

    A kill at any point leaves `folder` whole, old or new:
    - a new `folder` appears by one rename;
    - an existing one (only with `overwrite=True`, and only if `replaceable(folder)`
      says it is a folder of this kind) is swapped with the new one in one atomic
      exchange, and the old copy, now at the temporary name, is deleted after. Where
      the system has no atomic exchange, the old folder is renamed aside first and
      `recover_folder` (run here and by the readers) puts it back after a kill.

    Temporary names start with a dot, so listings skip them. If the block raises,
    the temporary folder is removed and `folder` is untouched.

    Args:
        folder: the folder to create or replace.
        overwrite: replace an existing `folder`. Defaults to `False`.
        replaceable: `callable(path) -> bool`; an existing folder it rejects is never
            replaced. Defaults to `None` (any folder).
        what: the folder's kind, for error messages. Defaults to `"folder"`.
    """
    import shutil
    import tempfile

    folder = os.path.abspath(folder)
    recover_folder(folder)
    check_folder_target(folder, overwrite, replaceable, what)
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.tmp-", dir=os.path.dirname(folder))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if not os.path.exists(folder):
            os.rename(tmp, folder)
        elif not _exchange(tmp, folder):
            aside = _aside(folder)
            if os.path.exists(aside):
                shutil.rmtree(aside)
            os.rename(folder, aside)
            os.rename(tmp, folder)
            shutil.rmtree(aside)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)  # the new folder after a failure, or the old one after an exchange


def check_folder_target(folder, overwrite=False, replaceable=None, what="folder"):
    """Raises a `ValueError` unless `folder` can be written: new, or replaceable with `overwrite`.

    Run it before long work (training) so that a bad output path fails in the first second."""
    folder = os.path.abspath(folder)
    if os.path.exists(folder):
        if not overwrite:
            raise ValueError(f"Expected a new {what}. Received: {folder!r} exists (pass overwrite=True "
                             "or --overwrite to replace it).")
        if not os.path.isdir(folder) or (replaceable is not None and not replaceable(folder)):
            raise ValueError(f"Refusing to overwrite {folder!r}: it is not a {what}, and overwriting "
                             f"replaces only a {what}.")
    check_writable_folder(os.path.dirname(folder), what=f"the parent of the {what}")


def check_writable_folder(folder, what="folder"):
    """Creates `folder` if needed and proves it writable; raises a one-line `ValueError` otherwise."""
    import tempfile

    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"Cannot write to {what} {str(folder)!r}: {error.strerror or error}.") from None
    return folder
