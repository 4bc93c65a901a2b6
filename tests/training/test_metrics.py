import numpy as np
import pytest

from kzoo.training.metrics import (
    episode_accuracy,
    harmonic_mean,
    mean_confidence_interval,
    per_class_accuracy,
)


def test_confidence_interval_hand_computed():
    mean, ci = mean_confidence_interval([0.2, 0.4, 0.6, 0.8])
    assert mean == pytest.approx(0.5)
    assert ci == pytest.approx(1.96 * np.sqrt(0.05) / 2)
    assert mean_confidence_interval([0.7]) == (0.7, 0.0)
    with pytest.raises(ValueError, match="at least one"):
        mean_confidence_interval([])


def test_episode_accuracy():
    logits = np.array([[[2.0, 1.0], [0.0, 3.0]], [[1.0, 0.0], [1.0, 0.0]]])
    np.testing.assert_allclose(episode_accuracy(logits, [[0, 1], [1, 0]]), [1.0, 0.5])
    with pytest.raises(ValueError, match="query_y"):
        episode_accuracy(logits, [[0, 1, 0]])


def test_per_class_accuracy_averages_over_classes_not_examples():
    y_true = [0] * 9 + [1]
    y_pred = [0] * 9 + [0]
    per_class, mean = per_class_accuracy(y_true, y_pred)
    np.testing.assert_allclose(per_class, [1.0, 0.0])
    assert mean == 0.5  # the example average would be 0.9
    per_class, mean = per_class_accuracy([0, 2], [0, 2], num_classes=3)
    assert np.isnan(per_class[1]) and mean == 1.0


def test_harmonic_mean():
    assert harmonic_mean(0.5, 0.5) == pytest.approx(0.5)
    assert harmonic_mean(0.8, 0.2) == pytest.approx(0.32)
    assert harmonic_mean(0.0, 0.0) == 0.0
    with pytest.raises(ValueError):
        harmonic_mean(-0.1, 0.2)


def test_evaluation_refuses_non_finite_logits():
    import pytest
    import tensorflow as tf

    from kzoo import episodes
    from kzoo.training.evaluation import evaluate_episodes

    def diverged(x, training=False):  # a model whose weights went NaN (scored as exactly 1/N before)
        return tf.fill([tf.shape(x["query_x"])[0], tf.shape(x["query_x"])[1], 5], float("nan"))

    data = episodes.few_shot(episodes.arrays(np.random.RandomState(0).rand(40, 28, 28, 1).astype("float32"),
                                             np.repeat(np.arange(5), 8)), 5, 1, 2, batches=1, seed=0)
    with pytest.raises(ValueError, match="Expected finite logits"):
        evaluate_episodes(diverged, data, verbose=0)
