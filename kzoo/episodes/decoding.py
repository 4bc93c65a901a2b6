"""Decoding benchmark images in a parallel `tf.data` map: files (JPEG, PNG) or encoded bytes, resized once.

>>> import io
>>> from PIL import Image
>>> buffer = io.BytesIO()
>>> Image.new("RGB", (10, 6), (255, 0, 0)).save(buffer, format="PNG")
>>> decode_images([buffer.getvalue()], 4, encoded=True).shape
(1, 4, 4, 3)
"""

import numpy as np


def _decode(data, image_size, channels):
    import tensorflow as tf

    image = tf.io.decode_image(data, channels=channels, expand_animations=False)
    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def decode_images(items, image_size, channels=3, encoded=False, names=None):
    """uint8 `[N, image_size, image_size, channels]` of `items`, decoded and resized in a parallel `tf.data` map.

    Args:
        items: file paths, or (`encoded=True`) the encoded images' bytes.
        image_size: side of the square output.
        channels: 3 (RGB) or 1. Defaults to `3`.
        encoded: `items` are bytes, not paths. Defaults to `False`.
        names: how to name item i in an error (default: its path, or "image i").

    A file or blob that cannot be decoded raises a `ValueError` naming it.
    """
    import tensorflow as tf

    items = [bytes(item) for item in items] if encoded else [str(item) for item in items]

    def load(item):
        return _decode(item if encoded else tf.io.read_file(item), image_size, channels)

    dataset = tf.data.Dataset.from_tensor_slices(items).map(
        load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(256)
    try:
        return np.concatenate([batch for batch in dataset.as_numpy_iterator()])
    except tf.errors.InvalidArgumentError:
        for i, item in enumerate(items):  # find and name the item (the fast path does not say which)
            try:
                load(tf.constant(item))
            except tf.errors.InvalidArgumentError as error:
                where = names[i] if names else (f"image {i}" if encoded else f"the image {item!r}")
                raise ValueError(f"Cannot decode {where}: {error.message}") from None
        raise
