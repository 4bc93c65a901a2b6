"""applications/amaz/gap.py scores a generator the same way under both final-classifier protocols:
a generator that draws each unseen class's own features scores near 1 under both, and one that
draws another class's features near 0."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "applications" / "amaz"))


def _data(classes=12, unseen=4, per_class=30, dim=16, seed=0):
    from kzoo.zsl.dataset import ZeroShotData

    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 5, size=(classes, dim))
    labels = np.repeat(np.arange(classes), per_class)
    features = np.maximum(centers[labels] + 0.3 * rng.normal(size=(labels.size, dim)), 0).astype("float32")
    index = np.arange(labels.size)
    seen = labels < classes - unseen
    trainval = index[seen & (index % per_class < per_class - 5)]
    test_seen = index[seen & (index % per_class >= per_class - 5)]
    data = ZeroShotData(features, labels, rng.integers(0, 2, (classes, 6)).astype("float32"), trainval, test_seen,
                        index[~seen], name="toy")
    return data, centers, rng


@pytest.mark.slow  # ~10 s: a reproduction script's scoring; reproduce.sh gap runs it for real
def test_score_tells_a_generator_of_the_right_classes_from_one_of_the_wrong_ones():
    import gap

    data, centers, rng = _data()
    unseen = np.asarray(data.unseen_classes)

    def drawing(classes):
        def synthesize(attributes, n):
            assert attributes.shape[0] == unseen.size
            rows = np.repeat(np.arange(unseen.size), n)
            features = centers[classes][rows] + 0.3 * rng.normal(size=(rows.size, centers.shape[1]))
            return np.maximum(features, 0).astype("float32"), rows
        return synthesize

    right = gap.score(drawing(unseen), data, seed=0)
    wrong = gap.score(drawing(np.roll(unseen, 1)), data, seed=0)
    for protocol in ("amaz", "clswgan"):
        assert right[protocol]["top1"] > 0.9, right
        assert wrong[protocol]["top1"] < 0.1, wrong
