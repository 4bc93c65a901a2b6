"""Input checks shared by the episode sources and samplers."""

import numpy as np


def check_images(images, name):
    """Raises a `ValueError` unless `images` is `[M, H, W, C]` uint8 or float in [0, 1]."""
    if images.ndim != 4:
        raise ValueError(
            f"Expected `{name}` of rank 4 [num_images, height, width, channels]. "
            f"Received: {name}.shape={images.shape}."
        )
    if images.dtype == np.uint8:
        return
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"Expected `{name}` of dtype uint8 or float. Received: {name}.dtype={images.dtype}."
        )
    if images.size and not np.all(np.isfinite(images)):
        raise ValueError(f"Expected finite values in `{name}`. Received: NaN or inf.")
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        raise ValueError(
            f"Expected float `{name}` in [0, 1]. Received: values in "
            f"[{float(images.min()):g}, {float(images.max()):g}]."
        )
