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
