"""Omniglot from the official zip files or unpacked folders, read without extraction."""

import functools
import zipfile
import zlib
from pathlib import Path

import numpy as np

from kzoo.episodes.image_files import image_size_pair, load_image, to_uint8
from kzoo.episodes.source import Source

ZIP_PATTERNS = ("images_background*.zip", "images_evaluation*.zip")
_EXPECTED = (
    "Expected a folder holding the official Omniglot zips (images_background.zip, "
    "images_evaluation.zip, images_background_small1.zip, images_background_small2.zip "
    "from github.com/brendenlake/omniglot, folder python/), one such zip, or an unpacked "
    "folder laid out as '[<top>/]<Alphabet>/characterNN/*.png'. kzoo never downloads data."
)


def omniglot(path, image_size=28):
    """Loads Omniglot (Lake et al., 2015) from the official zips or unpacked folders.

    Omniglot holds 1,623 handwritten characters from 50 alphabets, each drawn once by
    20 people, as 105x105 1-bit PNGs with dark ink on white (MIT licence,
    github.com/brendenlake/omniglot). kzoo's convention: each image is converted to
    float, inverted so that ink = 1 and background = 0, resized with antialiasing
    (area average from the full-resolution image, so a pixel is the fraction of its
    area covered by ink) to `image_size`, and stored as uint8 `round(255 * x)` with
    one channel.

    Zips are read directly (no extraction). A character is keyed by (alphabet,
    character folder) and each drawing by its file name, so sets that overlap (the
    two "background small" zips both hold Greek and Latin) count every drawing once.
    Classes are sorted by alphabet then character; drawings by file name. Loads from
    zips are cached in memory (keyed by the zips' paths, sizes and modification
    times), so loading the same data again is fast.

    Args:
        path: a folder holding any subset of the official zips
            (`images_background*.zip`, `images_evaluation*.zip`), a single zip, or an
            unpacked folder `<top>/<Alphabet>/characterNN/*.png` or
            `<Alphabet>/characterNN/*.png`.
        image_size: int or `(height, width)` of the output images. Defaults to `28`.

    Returns:
        A `Source` with uint8 images `[M, height, width, 1]` (ink high), one class per
        character named `"<Alphabet>/characterNN"`, and the alphabet of each class.

    Example:

    >>> from kzoo.episodes import omniglot
    >>> src = omniglot("../shared/data/omniglot")  # doctest: +SKIP
    >>> src  # doctest: +SKIP
    <Source 'omniglot(omniglot)': 242 classes in 8 alphabets, 4840 images of shape (28, 28, 1)>

    Reference:
        Lake, Salakhutdinov & Tenenbaum (2015). Human-level concept learning through
        probabilistic program induction. Science 350(6266), 1332-1338.
    """
    size = image_size_pair(image_size)
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(
            f"Omniglot data not found: path='{root}' does not exist. {_EXPECTED}"
        )
    if root.is_file():
        zips, folder = [root], None
    else:
        zips = sorted({z for pattern in ZIP_PATTERNS for z in root.glob(pattern) if z.is_file()})
        folder = None if zips else root
    if folder is None:
        stamps = tuple((str(z.resolve()), z.stat().st_mtime_ns, z.stat().st_size) for z in zips)
        images, labels, names = _load_zips(stamps, size)
    else:
        images, labels, names = _load(_folder_drawings(folder), size)
    if not names:
        raise ValueError(f"Found no Omniglot images in '{root}'. {_EXPECTED}")
    return Source(
        images,
        labels,
        class_names=[f"{a}/{c}" for a, c in names],
        alphabets=[a for a, _ in names],
        name=f"omniglot({root.name})",
    )


@functools.lru_cache(maxsize=4)
def _load_zips(stamps, size):
    drawings, archives = {}, []
    try:
        for zip_path, _, _ in stamps:
            try:
                archives.append(zipfile.ZipFile(zip_path))
            except (zipfile.BadZipFile, OSError) as e:
                raise ValueError(f"Cannot read the zip file '{zip_path}': {e}") from e
            for member in archives[-1].namelist():
                parts = member.split("/")
                if _is_drawing(parts):
                    reader = functools.partial(_read_member, archives[-1], member, zip_path)
                    drawings.setdefault((parts[-3], parts[-2]), {}).setdefault(parts[-1], reader)
        images, labels, names = _load(drawings, size)
    finally:
        for archive in archives:
            archive.close()
    images.flags.writeable = labels.flags.writeable = False
    return images, labels, names


def _is_drawing(parts):
    return (
        len(parts) >= 3
        and parts[-1].lower().endswith(".png")
        and not parts[-1].startswith("._")
        and "__MACOSX" not in parts
    )


def _read_member(archive, member, zip_path):
    where = f"member '{member}' of the zip '{zip_path}'"
    try:
        return archive.read(member), where
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
        raise ValueError(f"Cannot read the {where}: {e}") from e


def _read_file(path):
    return path, f"'{path}'"


def _folder_drawings(root):
    drawings = {}
    for file in sorted(root.rglob("*.png")):
        parts = file.relative_to(root).parts
        if len(parts) in (3, 4) and _is_drawing(parts):
            reader = functools.partial(_read_file, file)
            drawings.setdefault((parts[-3], parts[-2]), {})[parts[-1]] = reader
    return drawings


def _load(drawings, size):
    names = sorted(drawings)
    images, labels = [], []
    for label, key in enumerate(names):
        for file_name in sorted(drawings[key]):
            data, where = drawings[key][file_name]()
            images.append(load_image(data, where, size, channels=1, invert=True, resample="box"))
            labels.append(label)
    images = to_uint8(np.stack(images)) if images else np.zeros((0, *size, 1), np.uint8)
    return images, np.asarray(labels, np.int32), names
