"""A `Source` from a TensorFlow Datasets builder's prepared data (never downloads)."""

import hashlib

import numpy as np

from kzoo.episodes.image_files import image_size_pair, resize_image, to_uint8
from kzoo.episodes.source import Source

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Pillow's RGB -> "L" weights


def _omniglot_batch(batch, info):
    """Omniglot batch -> (float images with ink = 1, class keys (alphabet, character))."""
    rgb = batch["image"].astype(np.float32)
    ink = 1.0 - np.clip(rgb @ _LUMA if rgb.shape[-1] == 3 else rgb[..., 0], 0, 255) / 255.0
    alphabet_names = info.features["alphabet"].names
    keys = [
        (alphabet_names[a], f"character{c + 1:02d}")
        for a, c in zip(batch["alphabet"], batch["alphabet_char_id"])
    ]
    return ink[..., None], keys


SUPPORTED = {"omniglot": _omniglot_batch}


def tfds(name="omniglot", split="train", data_dir=None, image_size=28):
    """Loads a prepared TensorFlow Datasets builder into a `Source`, without downloading.

    Reads `tfds.load(name, split=split, data_dir=data_dir, download=False)` in
    batches. For `"omniglot"` (Lake et al., 2015; features `image` 105x105x3,
    `alphabet`, `alphabet_char_id`, `label`) the images get the same convention as
    `kzoo.episodes.omniglot`: grayscale, inverted so that ink = 1, resized
    with area averaging to `image_size`, stored as uint8 with one channel; one class
    per character, named `"<Alphabet>/characterNN"`, grouped by alphabet. Exact
    duplicate images within a class are kept once, so overlapping splits such as
    `"small1+small2"` (both hold Greek and Latin) count every drawing once.

    Args:
        name: the TFDS builder. Supported: `"omniglot"`. Defaults to `"omniglot"`.
        split: a TFDS split expression, e.g. `"train"`, `"test"`,
            `"small1+small2"`. Defaults to `"train"`.
        data_dir: where the prepared data lives; `None` uses TFDS's default
            (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`). Defaults to `None`.
        image_size: int or `(height, width)` of the output images. Defaults to `28`.

    Returns:
        A `Source` with uint8 images `[M, height, width, 1]`.

    Raises:
        FileNotFoundError: the data is not prepared in `data_dir` (kzoo never
            downloads; the message says where TFDS looked and what to run).

    Example:

    >>> from kzoo.episodes.tfds_source import tfds
    >>> src = tfds("omniglot", split="small1+small2")  # doctest: +SKIP
    >>> src.image_shape  # doctest: +SKIP
    (28, 28, 1)
    """
    if name not in SUPPORTED:
        raise ValueError(
            f"Expected `name` to be one of {sorted(SUPPORTED)}. Received: name={name!r}."
        )
    size = image_size_pair(image_size)
    import tensorflow_datasets as tfds_lib

    try:
        dataset, info = tfds_lib.load(
            name, split=split, data_dir=data_dir, download=False, with_info=True
        )
    except AssertionError as e:  # TFDS's signal for "not prepared"
        where = tfds_lib.builder(name, data_dir=data_dir).data_dir
        raise FileNotFoundError(
            f"The TFDS dataset {name!r} is not prepared: TFDS looked in '{where}'. kzoo "
            "never downloads data. Prepare it once (network needed) with "
            f"`tfds build {name} --data_dir=<dir>` (or "
            f"`tfds.builder({name!r}, data_dir=<dir>).download_and_prepare()`) and pass "
            "`data_dir=<dir>`; for Omniglot, `kzoo.episodes.omniglot(path)` reads "
            "the official zip files directly."
        ) from e
    images, keys, seen = [], [], set()
    for batch in dataset.batch(1024).prefetch(1).as_numpy_iterator():
        ink, batch_keys = SUPPORTED[name](batch, info)
        for image, key in zip(ink, batch_keys):
            digest = (key, hashlib.blake2b(image.tobytes(), digest_size=16).digest())
            if digest not in seen:
                seen.add(digest)
                images.append(resize_image(image, size, resample="box"))
                keys.append(key)
    if not images:
        raise ValueError(f"The TFDS split {split!r} of {name!r} holds no examples.")
    names = sorted(set(keys))
    index = {key: i for i, key in enumerate(names)}
    return Source(
        to_uint8(np.stack(images)),
        np.array([index[k] for k in keys], np.int32),
        class_names=[f"{a}/{c}" for a, c in names],
        alphabets=[a for a, _ in names],
        name=f"tfds({name}, {split})",
    )
