"""`Distortion`: random per-image affine and stroke-width changes, sampled in the graph.

A few-shot model meets new drawers and new fonts at test time: the same character
slightly rotated, sheared, rescaled, shifted, drawn thinner or bolder. Training on
episodes whose every image is independently distorted this way makes that variation
part of the episodes rather than a surprise. The glyph source draws the same family
of distortions when it renders fonts (`kzoo.episodes.glyphs`).

Everything is one batched op per step (a projective transform and two 3x3 max-pools
for the whole `[B, H, W, C]` batch), with stateless random numbers, so a distorted
batch `i` is the same on every run.
"""

import math

import numpy as np
import tensorflow as tf

from kzoo.checks import check_float


class Distortion:
    """Random affine and stroke-width distortion of every image, independently.

    Each image gets a rotation in `[-rotation, rotation]` degrees, a horizontal shear
    in `[-shear, shear]`, a scale in `scale` (per axis, with the aspect ratio in
    `aspect`), a shift in `[-shift, shift]` of its side, all about the image centre,
    then a stroke change `s` in `[-stroke, stroke]`: `s > 0` moves the pixels
    a fraction `s` towards their 3x3 dilation (bolder), `s < 0` towards their
    erosion (thinner). Pixels stay in [0, 1]; the background (0) fills what the
    transform uncovers, so images must have ink high and background 0, kzoo's
    convention for character data.

    Args:
        rotation: degrees, in [0, 180]. Defaults to `10.0`.
        shear: horizontal shear factor, in [0, 1]. Defaults to `0.15`.
        scale: `(low, high)` scale factors. Defaults to `(0.9, 1.1)`.
        aspect: `(low, high)` width/height ratio factors. Defaults to `(0.93, 1.07)`.
        shift: fraction of the image side, in [0, 0.5]. Defaults to `0.05`.
        stroke: largest stroke change, in [0, 1]. Defaults to `0.5`.

    Example:

    >>> import tensorflow as tf
    >>> from kzoo.episodes import Distortion
    >>> images = tf.zeros([4, 28, 28, 1])
    >>> Distortion()(images, seed=[0, 1]).shape
    TensorShape([4, 28, 28, 1])
    >>> Distortion.from_config(Distortion(rotation=5.0).get_config()).rotation
    5.0
    """

    def __init__(self, rotation=10.0, shear=0.15, scale=(0.9, 1.1), aspect=(0.93, 1.07),
                 shift=0.05, stroke=0.5):
        closed = (True, True)
        self.rotation = check_float(rotation, "rotation", 0.0, 180.0, inclusive=closed)
        self.shear = check_float(shear, "shear", 0.0, 1.0, inclusive=closed)
        self.scale = _check_range(scale, "scale")
        self.aspect = _check_range(aspect, "aspect")
        self.shift = check_float(shift, "shift", 0.0, 0.5, inclusive=closed)
        self.stroke = check_float(stroke, "stroke", 0.0, 1.0, inclusive=closed)

    def get_config(self):
        return {"rotation": self.rotation, "shear": self.shear, "scale": list(self.scale),
                "aspect": list(self.aspect), "shift": self.shift, "stroke": self.stroke}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"Distortion({args})"

    def __call__(self, images, seed):
        """Distorts each image of `images`, float32 `[B, H, W, C]` in [0, 1].

        Args:
            images: float32 `[B, H, W, C]`.
            seed: a stateless seed, int `[2]`.

        Returns:
            float32 `[B, H, W, C]` in [0, 1].
        """
        images = tf.convert_to_tensor(images, tf.float32)
        batch = tf.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        u = tf.random.stateless_uniform([batch, 7], seed, -1.0, 1.0)
        angle = u[:, 0] * (self.rotation * math.pi / 180.0)
        shear = u[:, 1] * self.shear
        scale = _between(u[:, 2], self.scale)
        aspect = _between(u[:, 3], self.aspect)
        sx, sy = scale * tf.sqrt(aspect), scale / tf.sqrt(aspect)
        tx, ty = u[:, 4] * self.shift * width, u[:, 5] * self.shift * height
        # forward map A = R(angle) @ [[1, shear], [0, 1]] @ diag(sx, sy); the transform op
        # takes the inverse (output pixel -> input pixel), about the image centre.
        cos, sin = tf.cos(angle), tf.sin(angle)
        a, b = cos * sx, (cos * shear - sin) * sy
        c, d = sin * sx, (sin * shear + cos) * sy
        det = a * d - b * c
        ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        ox, oy = cx + tx, cy + ty  # where the centre lands
        transforms = tf.stack([
            ia, ib, cx - ia * ox - ib * oy,
            ic, id_, cy - ic * ox - id_ * oy,
            tf.zeros_like(ia), tf.zeros_like(ia)], axis=1)
        out = tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
            fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
        if self.stroke:
            s = (u[:, 6] * self.stroke)[:, None, None, None]
            bolder = tf.nn.max_pool2d(out, 3, 1, "SAME")
            thinner = -tf.nn.max_pool2d(-out, 3, 1, "SAME")
            out = out + tf.nn.relu(s) * (bolder - out) + tf.nn.relu(-s) * (thinner - out)
        return tf.clip_by_value(out, 0.0, 1.0)


def _between(u, bounds):
    """Maps `u` in [-1, 1] to [bounds[0], bounds[1]] (log-uniform: scales multiply)."""
    low, high = np.log(bounds[0]), np.log(bounds[1])
    return tf.exp(low + (u + 1.0) * 0.5 * (high - low))


def _check_range(value, name):
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"Expected `{name}` as (low, high) with 0 < low <= high. Received: {name}={value!r}.") from None
    if not (0.0 < low <= high and math.isfinite(high)):
        raise ValueError(f"Expected `{name}` as (low, high) with 0 < low <= high. Received: {name}={value!r}.")
    return (low, high)


__all__ = ["Distortion"]
