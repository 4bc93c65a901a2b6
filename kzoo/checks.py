"""Argument checks shared across kzoo: one wording for every "Expected ... Received" error."""

import numpy as np


def check_int(value, name, minimum):
    """Returns `value` as an int, or raises a `ValueError` unless it is an integer >= `minimum`.

    `bool` is rejected although it is an `int` subclass; NumPy integers are accepted.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"Expected `{name}` to be an integer >= {minimum}. Received: {name}={value!r}.")
    return int(value)
