# Two logical CPU devices for the MirroredStrategy tests (tests/test_distribute.py): the
# split must happen before TensorFlow initialises its runtime, and the suite is one
# process, so it happens here, at import. Code without a strategy still runs on /CPU:0
# (same kernels, same threads); if TensorFlow was initialised earlier, those tests skip.
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as _tf  # noqa: E402

try:
    _tf.config.set_logical_device_configuration(
        _tf.config.list_physical_devices("CPU")[0], [_tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:
    pass

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
OMNIGLOT_DIR = SHARED / "data" / "omniglot"


@pytest.fixture
def omniglot_dir():
    """The real Omniglot background-small zips in ../shared, or a skip."""
    if not (OMNIGLOT_DIR / "images_background_small1.zip").exists():
        pytest.skip(f"real Omniglot data not found at {OMNIGLOT_DIR} (../shared is absent)")
    return OMNIGLOT_DIR


def make_source(num_classes=12, per_class=6, size=8, alphabets=3, seed=0):
    """A small random-image Source whose image i of class c is recognisable."""
    from kzoo.episodes.source import Source

    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(num_classes * per_class, size, size, 1)).astype("uint8")
    labels = np.repeat(np.arange(num_classes), per_class)
    return Source(images, labels, alphabets=[f"alpha{c % alphabets}" for c in range(num_classes)])


@pytest.fixture
def small_source():
    return make_source()
