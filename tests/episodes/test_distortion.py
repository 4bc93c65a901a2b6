"""`Distortion`: per-image affine and stroke changes, checked against hand-computed images."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo import episodes
from kzoo.episodes import Distortion

NONE = dict(rotation=0.0, shear=0.0, scale=(1.0, 1.0), aspect=(1.0, 1.0), shift=0.0, stroke=0.0)


def square(size=28, half=2):
    image = np.zeros((size, size, 1), np.float32)
    c = size // 2
    image[c - half:c + half, c - half:c + half] = 1.0
    return image


def test_no_distortion_is_the_identity():
    images = tf.constant(np.random.RandomState(0).rand(3, 28, 28, 1).astype("float32"))
    np.testing.assert_allclose(Distortion(**NONE)(images, [0, 1]), images, atol=1e-6)


def test_a_scale_of_two_doubles_each_side_of_a_centred_square():
    out = Distortion(**{**NONE, "scale": (2.0, 2.0)})(square()[None], [0, 1]).numpy()[0, ..., 0]
    # a 4x4 square about the centre becomes 8x8 (bilinear edges hold half-ink pixels)
    assert out.sum() == pytest.approx(64.0, rel=0.1)
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    assert rows.max() - rows.min() + 1 in (7, 8, 9)


def test_shifts_stay_within_the_bound_and_differ_per_image():
    images = tf.constant(np.repeat(square()[None], 16, axis=0))
    out = Distortion(**{**NONE, "shift": 0.1})(images, [3, 4]).numpy()[..., 0]
    ys, xs = np.mgrid[:28, :28]
    centre_x = (out * xs).sum(axis=(1, 2)) / out.sum(axis=(1, 2))
    assert np.all(np.abs(centre_x - 13.5) <= 0.1 * 28 + 1e-3)
    assert np.ptp(centre_x) > 1.0  # independent per image


def test_stroke_changes_make_strokes_bolder_or_thinner():
    line = np.zeros((28, 28, 1), np.float32)
    line[8:20, 12:16] = 1.0
    images = tf.constant(np.repeat(line[None], 32, axis=0))
    ink = Distortion(**{**NONE, "stroke": 1.0})(images, [5, 6]).numpy().sum(axis=(1, 2, 3))
    assert ink.min() < line.sum() - 5 and ink.max() > line.sum() + 5


def test_the_same_seed_gives_the_same_images_and_pixels_stay_in_range():
    images = tf.constant(np.random.RandomState(1).rand(4, 28, 28, 1).astype("float32"))
    d = Distortion()
    a, b, c = d(images, [1, 2]), d(images, [1, 2]), d(images, [1, 3])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert float(tf.reduce_min(a)) >= 0.0 and float(tf.reduce_max(a)) <= 1.0


def test_config_round_trip():
    d = Distortion(rotation=5.0, scale=(0.8, 1.2), stroke=0.25)
    assert Distortion.from_config(d.get_config()).get_config() == d.get_config()


@pytest.mark.parametrize("kwargs, message", [
    ({"rotation": -1.0}, "Expected `rotation` to be a number >= 0 and <= 180"),
    ({"stroke": 2.0}, "Expected `stroke` to be a number >= 0 and <= 1"),
    ({"scale": (1.2, 0.8)}, "Expected `scale` as (low, high) with 0 < low <= high"),
    ({"aspect": 3}, "Expected `aspect` as (low, high)"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Distortion(**kwargs)


def test_a_distorting_sampler_draws_the_same_episodes_with_distorted_pixels():
    rng = np.random.RandomState(0)
    src = episodes.arrays((rng.rand(60, 28, 28, 1) > 0.7).astype("uint8") * 255, np.repeat(np.arange(6), 10))
    clean = episodes.FewShotSampler(src, 4, 2, 3, tasks=2, seed=7)(0)
    bent = episodes.FewShotSampler(src, 4, 2, 3, tasks=2, seed=7, distortion=True)(0)
    again = episodes.FewShotSampler(src, 4, 2, 3, tasks=2, seed=7, distortion=True)(0)
    np.testing.assert_array_equal(clean["classes"], bent["classes"])
    np.testing.assert_array_equal(clean["support_y"], bent["support_y"])
    assert bent["support_x"].shape == clean["support_x"].shape
    assert bent["query_x"].shape == clean["query_x"].shape
    assert not np.allclose(clean["support_x"], bent["support_x"])
    np.testing.assert_array_equal(bent["query_x"], again["query_x"])
    with pytest.raises(ValueError, match="Expected `distortion` to be None, True or a kzoo.episodes.Distortion"):
        episodes.FewShotSampler(src, 4, 2, 3, distortion="yes")
