"""Every metric kzoo reports, in NumPy (they run once per evaluation, on whole splits).

Few-shot: per-episode accuracy and the mean with its 95% confidence half-width.
Zero-shot: per-class accuracy (Xian et al.), GZSL u / s / H, top-k accuracy and
retrieval mAP. All take whole-split arrays, never mini-batches: per-class accuracy
averaged per mini-batch, as some reference code does, is a different and noisier
number.
"""

import numpy as np


def mean_confidence_interval(values):
    """Mean and 95% confidence half-width, `1.96 * std / sqrt(n)`.

    The convention of the few-shot literature (MAML, MT-net: population std over the
    n evaluation episodes).

    Args:
        values: 1-D array of per-episode scores (e.g. accuracies), n >= 1.

    Returns:
        `(mean, ci95)` as Python floats.

    >>> mean_confidence_interval([0.5, 1.0])
    (0.75, 0.3464823227814083)
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("Expected at least one value. Received: an empty array.")
    return float(values.mean()), float(1.96 * values.std() / np.sqrt(values.size))


def episode_accuracy(logits, query_y):
    """Accuracy of each episode: `[T, Q, N]` logits and `[T, Q]` labels -> `[T]`."""
    logits = np.asarray(logits)
    query_y = np.asarray(query_y)
    if logits.shape[:-1] != query_y.shape:
        raise ValueError(
            "Expected `logits` [T, Q, N] and `query_y` [T, Q] with matching T and Q. "
            f"Received: logits.shape={logits.shape}, query_y.shape={query_y.shape}."
        )
    return (logits.argmax(-1) == query_y).mean(axis=-1)


def class_accuracies(y_true, y_pred, num_classes=None):
    """Top-1 accuracy of each class over a whole split, and their mean.

    The zero-shot convention (Xian et al.): accuracy is computed per class over all
    of its examples, then averaged over classes, so large classes do not dominate.

    Args:
        y_true: int `[M]` true classes.
        y_pred: int `[M]` predicted classes.
        num_classes: number of classes; classes with no examples get NaN and are
            left out of the mean. Defaults to `max(y_true) + 1`.

    Returns:
        `(per_class, mean)`: float array `[num_classes]` and its NaN-ignoring mean.

    >>> class_accuracies([0, 0, 0, 1], [0, 0, 1, 1])[1]
    0.8333333333333333
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"Expected `y_true` and `y_pred` of the same length. Received: {y_true.size} and {y_pred.size}."
        )
    if num_classes is None:
        num_classes = int(y_true.max()) + 1
    totals = np.bincount(y_true, minlength=num_classes).astype(np.float64)
    hits = np.bincount(y_true[y_true == y_pred], minlength=num_classes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(totals > 0, hits / np.maximum(totals, 1), np.nan)
    return per_class, float(np.nanmean(per_class))


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
    """Harmonic mean H = 2 u s / (u + s) of unseen and seen accuracy (GZSL); 0 if both are 0.

    >>> harmonic_mean(0.3, 0.6)
    0.4
    """
    u, s = float(u), float(s)
    if u < 0 or s < 0:
        raise ValueError(f"Expected non-negative accuracies. Received: u={u}, s={s}.")
    return 0.0 if u + s == 0 else 2 * u * s / (u + s)


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
