"""Image files -> arrays: decoding, antialiased resizing, and `image_folder`."""

import io
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from kzoo.episodes.source import Source

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_RESAMPLE = {"lanczos": Image.Resampling.LANCZOS, "box": Image.Resampling.BOX}
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error)


def image_size_pair(image_size):
    """Returns `image_size` (an int or `(height, width)`) as a `(height, width)` tuple."""
    size = (image_size, image_size) if np.isscalar(image_size) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
        raise ValueError(
            "Expected `image_size` to be a positive int or a (height, width) pair of "
            f"positive ints. Received: image_size={image_size!r}."
        )
    return int(size[0]), int(size[1])


def read_image(data, where, channels=1):
    """Decodes one image file to float32 `[H, W, channels]` in [0, 1].

    Transparent pixels are composited over white; `channels=1` gives luminance.

    Args:
        data: a path, or the file's bytes.
        where: how to name the file in errors, e.g. `"'a.png'"` or
            `"member 'x/a.png' of 'b.zip'"`.
        channels: 1 (grayscale) or 3 (RGB). Defaults to `1`.

    Returns:
        A float32 array `[H, W, channels]` in [0, 1].
    """
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            image = image.convert("L" if channels == 1 else "RGB")
    except _DECODE_ERRORS as e:
        raise ValueError(f"Cannot decode the image {where}: {e}") from e
    array = np.asarray(image, dtype=np.float32) / 255.0
    return array.reshape(array.shape[0], array.shape[1], channels)


def resize_image(image, image_size, resample="lanczos"):
    """Resizes float `[H, W, C]` in [0, 1] with antialiasing, in float, clipped to [0, 1].

    Args:
        image: float array `[H, W, C]` in [0, 1] (at full resolution).
        image_size: int or `(height, width)`.
        resample: `"lanczos"` (sharp; best for photos and upscaling) or `"box"`
            (area average: a pixel becomes the fraction of its area covered by ink,
            with no ringing; used for binary drawings). Defaults to `"lanczos"`.

    Returns:
        A float32 array `[height, width, C]` in [0, 1].
    """
    height, width = image_size_pair(image_size)
    if image.shape[:2] == (height, width):
        return image.astype(np.float32)
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[:, :, c], np.float32)).resize(
                (width, height), _RESAMPLE[resample]
            )
        )
        for c in range(image.shape[2])
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0)


def to_uint8(images):
    """Maps float images in [0, 1] to uint8 with `round(255 * x)`."""
    return np.round(np.asarray(images, np.float32) * 255.0).astype(np.uint8)


def load_image(data, where, image_size=28, channels=1, invert=False, resample="lanczos"):
    """Decodes, optionally inverts (`1 - x`) and resizes one image; float32 in [0, 1]."""
    image = read_image(data, where, channels)
    if invert:
        image = 1.0 - image
    return resize_image(image, image_size, resample)


def _subdirs(path):
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(path):
    return sorted(
        p for p in path.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def image_folder(path, image_size=28, channels=1, invert=False):
    """Loads a folder of images with one sub-folder per class into a `Source`.

    Two layouts are read: `root/<class>/<image>` (every class in the alphabet
    `"all"`), and `root/<alphabet>/<class>/<image>`, chosen when the first-level
    folders contain folders. Class names are the folder names (`"<alphabet>/<class>"`
    in the two-level layout, so that equal names in different alphabets stay
    distinct). Images (PNG, JPEG, BMP, GIF) are resized with antialiasing
    (Lanczos, in float, from full resolution). Folders and files are read in sorted
    order, so the labels are deterministic.

    Args:
        path: the root folder.
        image_size: int or `(height, width)` of the output images. Defaults to `28`.
        channels: 1 (grayscale) or 3 (RGB). Defaults to `1`.
        invert: map `x -> 1 - x` before resizing, e.g. to turn dark ink on white
            paper into kzoo's ink = high convention. Defaults to `False`.

    Returns:
        A `Source` with uint8 images `[M, height, width, channels]`.

    Example:

    >>> import pathlib, tempfile
    >>> from PIL import Image
    >>> from kzoo.episodes.image_files import image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["cat", "dog"]:
    ...     (root / name).mkdir()
    ...     Image.new("L", (40, 30), "white").save(root / name / "0.png")
    >>> src = image_folder(root, image_size=28, invert=True)
    >>> src.class_names, src.image_shape, int(src.images.max())
    (['cat', 'dog'], (28, 28, 1), 0)
    """
    root = Path(path)
    if channels not in (1, 3):
        raise ValueError(f"Expected `channels` to be 1 or 3. Received: channels={channels!r}.")
    image_size_pair(image_size)
    if not root.is_dir():
        raise FileNotFoundError(
            f"Expected `path` to be a folder holding one sub-folder per class. "
            f"Received: path='{root}', which "
            f"{'is not a folder' if root.exists() else 'does not exist'}."
        )
    top = _subdirs(root)
    if not top:
        raise ValueError(f"Found no class folders in '{root}'. Expected '{root}/<class>/<image>'.")
    two_level = any(_subdirs(d) for d in top)
    classes = []  # (class_name, alphabet, folder)
    for folder in top:
        if not two_level:
            classes.append((folder.name, "all", folder))
            continue
        inner = _subdirs(folder)
        if not inner:
            raise ValueError(
                f"Expected '{folder}' to hold class folders (layout "
                f"'<root>/<alphabet>/<class>/<image>'). Received: a folder with none."
            )
        classes += [(f"{folder.name}/{c.name}", folder.name, c) for c in inner]
    images, labels = [], []
    for label, (_, _, folder) in enumerate(classes):
        files = _image_files(folder)
        if not files:
            raise ValueError(
                f"Found no images ({', '.join(IMAGE_SUFFIXES)}) in the class folder '{folder}'."
            )
        images += [load_image(f, f"'{f}'", image_size, channels, invert) for f in files]
        labels += [label] * len(files)
    return Source(
        to_uint8(np.stack(images)),
        np.asarray(labels, np.int32),
        class_names=[c[0] for c in classes],
        alphabets=[c[1] for c in classes],
        name=f"image_folder({root.name})",
    )
