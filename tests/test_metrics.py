import numpy as np
import pytest

from kzoo import zsl
from kzoo.metrics import class_accuracies, episode_accuracy, harmonic_mean, mean_confidence_interval


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


def test_class_accuracies_average_over_classes_not_examples():
    y_true = [0] * 9 + [1]
    y_pred = [0] * 9 + [0]
    per_class, mean = class_accuracies(y_true, y_pred)
    np.testing.assert_allclose(per_class, [1.0, 0.0])
    assert mean == 0.5  # the example average would be 0.9
    per_class, mean = class_accuracies([0, 2], [0, 2], num_classes=3)
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


# -- zero-shot metrics (also exported by kzoo.zsl)
def test_per_class_accuracy_averages_over_classes_not_samples():
    # class 0: 2 of 3 right, class 1: 1 of 1 right -> (2/3 + 1) / 2, not 3/4
    assert zsl.per_class_accuracy([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx(5 / 6)


def test_per_class_accuracy_over_whole_split_differs_from_per_batch_mean():
    y2, p2 = np.array([0, 1, 0, 0]), np.array([0, 1, 1, 1])
    assert zsl.per_class_accuracy(y2, p2) == pytest.approx((1 / 3 + 1) / 2)
    assert np.mean([zsl.per_class_accuracy(y2[:2], p2[:2]), zsl.per_class_accuracy(y2[2:], p2[2:])]) == 0.5


def test_gzsl_scores_hand_computed():
    scores = zsl.gzsl_scores([0, 0, 1, 1], [0, 0, 1, 2], [2, 2, 3], [2, 0, 3])
    assert scores["s"] == pytest.approx(0.75)  # (1 + 1/2) / 2
    assert scores["u"] == pytest.approx(0.75)  # (1/2 + 1) / 2
    assert scores["H"] == pytest.approx(0.75)
    assert zsl.harmonic_mean(0.2, 0.6) == pytest.approx(0.3)
    assert zsl.harmonic_mean(0.0, 0.0) == 0.0


def test_top_k_accuracy_hand_computed():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]])
    y = [2, 1, 0]
    assert zsl.top_k_accuracy(y, scores, 1) == pytest.approx(0.0)
    assert zsl.top_k_accuracy(y, scores, 2) == pytest.approx(1.0)  # tie at 0.3: class 0 ranks first
    assert zsl.top_k_accuracy(y, scores, 3) == 1.0
    with pytest.raises(ValueError, match="k"):
        zsl.top_k_accuracy(y, scores, 4)


def test_mean_average_precision_hand_computed():
    # class 0 scores rank samples 0, 2, 1: relevant (y=0) are samples 0, 1 -> AP = (1/1 + 2/3) / 2
    # class 1 scores rank samples 1, 0, 2: relevant sample 2 at rank 3 -> AP = 1/3
    scores = np.array([[0.9, 0.5], [0.1, 0.8], [0.5, 0.1]])
    y = np.array([0, 0, 1])
    assert zsl.average_precision(y == 0, scores[:, 0]) == pytest.approx(5 / 6)
    assert zsl.mean_average_precision(y, scores) == pytest.approx((5 / 6 + 1 / 3) / 2)


def test_bad_metric_inputs_are_named():
    with pytest.raises(ValueError, match="y_pred"):
        zsl.per_class_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="scores"):
        zsl.top_k_accuracy([0, 1], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="y_true"):
        zsl.top_k_accuracy([0, 5], np.zeros((2, 2)))
