import numpy as np
import pytest

from kzoo.episodes.regression import polynomial, sinusoid


def test_sinusoid_contract_and_ranges():
    x, y = next(iter(sinusoid(shots=10, queries=5, tasks=4, batches=1)))
    assert x["support_x"].shape == (4, 10, 1) and x["support_y"].shape == (4, 10, 1)
    assert x["query_x"].shape == (4, 5, 1) and y.shape == (4, 5, 1)
    assert x["support_y"].dtype == "float32"
    points = np.concatenate([x["support_x"], x["query_x"]], axis=1)
    assert points.min() >= -5 and points.max() <= 5
    assert np.abs(y).max() <= 5.0


def test_sinusoid_is_one_sine_per_task():
    """Support and query points of a task lie on the same A sin(w x + b)."""
    from scipy.optimize import curve_fit

    x, y = next(iter(sinusoid(shots=20, queries=20, tasks=2, seed=3, batches=1)))
    for t in range(2):
        xs = np.concatenate([x["support_x"][t], x["query_x"][t]])[:, 0]
        ys = np.concatenate([x["support_y"][t], y[t]])[:, 0]
        best = min(
            (curve_fit(lambda v, a, w, b: a * np.sin(w * v + b), xs, ys, p0=(2.5, w0, 1.5),
                       maxfev=5000) for w0 in (0.8, 1.0, 1.2)),
            key=lambda fit: np.sum((fit[0][0] * np.sin(fit[0][1] * xs + fit[0][2]) - ys) ** 2),
        )
        a, w, b = best[0]
        np.testing.assert_allclose(a * np.sin(w * xs + b), ys, atol=1e-3)


def test_polynomial_order_is_exact():
    for order in (0, 1, 2):
        x, y = next(iter(polynomial(order=order, shots=10, queries=10, tasks=3, batches=1)))
        for t in range(3):
            xs = np.concatenate([x["support_x"][t], x["query_x"][t]])[:, 0].astype(np.float64)
            ys = np.concatenate([x["support_y"][t], y[t]])[:, 0].astype(np.float64)
            coefficients = np.polyfit(xs, ys, order)
            np.testing.assert_allclose(np.polyval(coefficients, xs), ys, atol=1e-3)
            assert np.all(np.abs(coefficients) <= 1 + 1e-4)
            if order:
                # one order lower cannot fit: the family really has that order
                lower = np.polyfit(xs, ys, order - 1)
                assert np.abs(np.polyval(lower, xs) - ys).max() > 1e-2


def test_regression_is_deterministic():
    a = next(iter(sinusoid(seed=5, batches=1)))[1].numpy()
    b = next(iter(sinusoid(seed=5, batches=1)))[1].numpy()
    c = next(iter(sinusoid(seed=6, batches=1)))[1].numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    "fn, kwargs, match",
    [
        (sinusoid, {"shots": 0}, "shots"),
        (sinusoid, {"amplitude": (5.0, 0.1)}, "amplitude"),
        (sinusoid, {"x_range": 3}, "x_range"),
        (polynomial, {"order": -1}, "order"),
    ],
)
def test_bad_regression_arguments(fn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(**kwargs)
