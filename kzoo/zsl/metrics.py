"""Zero-shot metrics: per-class accuracy, GZSL seen/unseen/H, top-k and mAP.

All functions take whole-split NumPy arrays (never mini-batches): per-class accuracy
averaged per mini-batch, as some reference code does, is a different and noisier
number.
"""

import numpy as np


def _labels(y, name):
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"Expected `{name}` to be an integer vector [N]. Received: {name} of dtype "
                         f"{y.dtype} and shape {y.shape}.")
    return y.astype(np.int64)


def _scores(scores, n, name="scores"):
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 2 or scores.shape[0] != n:
        raise ValueError(f"Expected `{name}` of shape [N, num_classes] with N = {n}. "
                         f"Received: {name}.shape={scores.shape}.")
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"Expected finite `{name}`. Received: NaN or inf.")
    return scores


def per_class_accuracy(y_true, y_pred, classes=None):
    """Top-1 accuracy averaged over classes (Xian et al.'s "per-class accuracy").

    acc = 1/|Y| sum_{c in Y} #{correct predictions in c} / #{samples of c}, over the
    whole split.

    Args:
        y_true: int `[N]` true classes.
        y_pred: int `[N]` predicted classes.
        classes: optional list of the classes to average over. Defaults to the classes
            present in `y_true`. A listed class without samples raises an error.

    Returns:
        A float in [0, 1].

    Example:

    >>> per_class_accuracy([0, 0, 0, 1], [0, 0, 1, 1])  # (2/3 + 1/1) / 2
    0.8333333333333333
    """
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Expected `y_pred` of the shape of `y_true` {y_true.shape}. "
                         f"Received: {y_pred.shape}.")
    classes = np.unique(y_true) if classes is None else np.asarray(classes, np.int64)
    if classes.size == 0:
        raise ValueError("Expected at least one class to average over. Received: none.")
    accuracies = []
    for c in classes:
        mask = y_true == c
        if not mask.any():
            raise ValueError(f"Expected samples of every class in `classes`. Received: none of class {int(c)}.")
        accuracies.append(np.mean(y_pred[mask] == c))
    return float(np.mean(accuracies))


def harmonic_mean(u, s):
    """H = 2 u s / (u + s), 0 when both are 0."""
    return 0.0 if u + s == 0 else float(2.0 * u * s / (u + s))


def gzsl_scores(y_true_seen, pred_seen, y_true_unseen, pred_unseen):
    """Generalized zero-shot scores of Xian et al.: u, s and their harmonic mean H.

    Predictions are over all (seen + unseen) classes; `s` is the per-class accuracy on
    the test-seen split, `u` on the test-unseen split.

    Args:
        y_true_seen, pred_seen: int `[N_s]` true and predicted classes of test-seen.
        y_true_unseen, pred_unseen: int `[N_u]` of test-unseen.

    Returns:
        `{"u": ..., "s": ..., "H": ...}`, floats in [0, 1].
    """
    s = per_class_accuracy(y_true_seen, pred_seen)
    u = per_class_accuracy(y_true_unseen, pred_unseen)
    return {"u": u, "s": s, "H": harmonic_mean(u, s)}


def top_k_accuracy(y_true, scores, k=1):
    """Fraction of samples whose true class is among the `k` highest scores.

    Ties are broken by class index (lower first), deterministically.

    Args:
        y_true: int `[N]`, column indices into `scores`.
        scores: `[N, C]` class scores (higher = more likely).
        k: positive integer. Defaults to `1`.

    Returns:
        A float in [0, 1].
    """
    y_true = _labels(y_true, "y_true")
    scores = _scores(scores, y_true.shape[0])
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= scores.shape[1]:
        raise ValueError(f"Expected `k` in 1..{scores.shape[1]} (the number of classes). Received: k={k!r}.")
    if y_true.size and (y_true.min() < 0 or y_true.max() >= scores.shape[1]):
        raise ValueError(f"Expected `y_true` in 0..{scores.shape[1] - 1}. Received: values in "
                         f"[{y_true.min()}, {y_true.max()}].")
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(order == y_true[:, None], axis=1)))


def average_precision(relevant, scores):
    """Average precision of ranking samples by `scores` for one binary relevance vector.

    AP = mean over relevant samples of precision at its rank (ties ranked by index).
    Returns `nan` when nothing is relevant.
    """
    relevant = np.asarray(relevant, bool)
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    hits = relevant[order]
    if not hits.any():
        return float("nan")
    precision = np.cumsum(hits) / np.arange(1, hits.size + 1)
    return float(np.mean(precision[hits]))


def mean_average_precision(y_true, scores):
    """Retrieval mAP (Misra et al.'s composition metric): mean over classes of the AP
    of ranking all samples by that class's score; classes without samples are skipped.

    Args:
        y_true: int `[N]`, column indices into `scores`.
        scores: `[N, C]`.

    Returns:
        A float in [0, 1].
    """
    y_true = _labels(y_true, "y_true")
    scores = _scores(scores, y_true.shape[0])
    aps = [average_precision(y_true == c, scores[:, c]) for c in range(scores.shape[1]) if np.any(y_true == c)]
    if not aps:
        raise ValueError("Expected at least one sample. Received: y_true is empty.")
    return float(np.mean(aps))
