"""Argument checks shared across kzoo: one wording for every "Expected ... Received" error."""

import numpy as np


def check_int(value, name, minimum):
    """Returns `value` as an int, or raises a `ValueError` unless it is an integer >= `minimum`.

    `bool` is rejected although it is an `int` subclass; NumPy integers are accepted.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"Expected `{name}` to be an integer >= {minimum}. Received: {name}={value!r}.")
    return int(value)


def check_float(value, name, minimum=None, maximum=None, inclusive=(False, True)):
    """Returns `value` as a float, or raises a `ValueError` unless it is a finite real number in range.

    `minimum`/`maximum` bound it (None: unbounded); `inclusive` says which bounds are
    allowed, `(False, True)` by default: `check_float(lr, "lr", 0)` means lr > 0.
    Strings (e.g. "0.1" from a config file) and `bool` are rejected, not converted.

    >>> check_float(0.5, "inner_lr", 0)
    0.5
    >>> check_float("0.1", "inner_lr", 0)
    Traceback (most recent call last):
    ...
    ValueError: Expected `inner_lr` to be a number > 0. Received: inner_lr='0.1' (str).
    """
    low = "" if minimum is None else f"{'>=' if inclusive[0] else '>'} {minimum:g}"
    high = "" if maximum is None else f"{'<=' if inclusive[1] else '<'} {maximum:g}"
    expected = " and ".join(b for b in (low, high) if b)
    expected = f"a number {expected}" if expected else "a finite number"
    error = ValueError(f"Expected `{name}` to be {expected}. Received: {name}={value!r} ({type(value).__name__}).")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise error
    value = float(value)
    if not np.isfinite(value):
        raise error
    if minimum is not None and (value < minimum or (value == minimum and not inclusive[0])):
        raise error
    if maximum is not None and (value > maximum or (value == maximum and not inclusive[1])):
        raise error
    return value


def check_sizes(values, name, minimum=1, allow_empty=True):
    """Returns `values` as a tuple of ints, or raises a `ValueError` unless it is a sequence of integers >= `minimum`.

    `allow_empty=False` also refuses an empty sequence.

    >>> check_sizes([40, 40], "hidden")
    (40, 40)
    >>> check_sizes(5, "hidden")
    Traceback (most recent call last):
    ...
    ValueError: Expected `hidden` to be a list of integers >= 1, e.g. (40, 40). Received: hidden=5 (int).
    """
    what = "list" if allow_empty else "non-empty list"
    error = ValueError(f"Expected `{name}` to be a {what} of integers >= {minimum}, e.g. (40, 40). "
                       f"Received: {name}={values!r} ({type(values).__name__}).")
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise error
    values = tuple(values)
    if not (values or allow_empty) or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum for v in values):
        raise error
    return tuple(int(v) for v in values)


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


def check_zero_shot_arrays(features, labels, class_attributes, classes, name="seen_classes"):
    """Validates zero-shot arrays and returns them as NumPy (float32, int64, float32, int64)."""
    features = np.asarray(features)
    labels = np.asarray(labels)
    class_attributes = np.asarray(class_attributes)
    classes = np.asarray(classes)
    if features.ndim != 2:
        raise ValueError(f"Expected `features` of shape [num_examples, feature_dim]. Received: {features.shape}.")
    if labels.shape != (features.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"Expected integer `labels` of shape [{features.shape[0]}] (one class per feature row). "
                         f"Received: labels.shape={labels.shape}, dtype={labels.dtype}.")
    if class_attributes.ndim != 2:
        raise ValueError("Expected `class_attributes` of shape [num_classes, attribute_dim]. "
                         f"Received: {class_attributes.shape}.")
    if not np.all(np.isfinite(class_attributes)):
        bad = np.flatnonzero(~np.all(np.isfinite(class_attributes), axis=1))
        raise ValueError(f"Expected finite `class_attributes`. Received: NaN or inf in the rows of classes "
                         f"{bad[:10].tolist()}.")
    if not np.all(np.isfinite(features)):
        raise ValueError("Expected finite `features`. Received: NaN or inf values.")
    if classes.ndim != 1 or classes.size == 0 or not np.issubdtype(classes.dtype, np.integer):
        raise ValueError(f"Expected a non-empty 1-D integer list `{name}`. Received: {classes!r}.")
    if classes.min() < 0 or classes.max() >= class_attributes.shape[0]:
        raise ValueError(f"Expected `{name}` in 0..{class_attributes.shape[0] - 1} (rows of class_attributes). "
                         f"Received: values in {classes.min()}..{classes.max()}.")
    if labels.size and (labels.min() < 0 or labels.max() >= class_attributes.shape[0]):
        raise ValueError(f"Expected `labels` in 0..{class_attributes.shape[0] - 1} (rows of class_attributes). "
                         f"Received: values in {labels.min()}..{labels.max()}.")
    return (features.astype(np.float32), labels.astype(np.int64), class_attributes.astype(np.float32),
            classes.astype(np.int64))
