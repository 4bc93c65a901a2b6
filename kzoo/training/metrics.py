"""Few-shot and zero-shot evaluation metrics (NumPy; they run once per evaluation)."""

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


def per_class_accuracy(y_true, y_pred, num_classes=None):
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

    >>> per_class_accuracy([0, 0, 0, 1], [0, 0, 1, 1])[1]
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


def harmonic_mean(seen, unseen):
    """Harmonic mean H = 2 s u / (s + u) of seen and unseen accuracy (GZSL); 0 if both are 0.

    >>> harmonic_mean(0.6, 0.3)
    0.4
    """
    seen, unseen = float(seen), float(unseen)
    if seen < 0 or unseen < 0:
        raise ValueError(f"Expected non-negative accuracies. Received: seen={seen}, unseen={unseen}.")
    return 0.0 if seen + unseen == 0 else 2 * seen * unseen / (seen + unseen)
