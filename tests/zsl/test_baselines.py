import numpy as np
import pytest

from kzoo.zsl.baselines import ESZSL


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    attributes = rng.normal(size=(6, 4))
    y = np.repeat(np.arange(4), 10)
    x = attributes[y] @ rng.normal(size=(4, 7)) + 0.5 * rng.normal(size=(40, 7))
    return x, y, attributes


def _objective(v, x, targets, s, gamma, lam):
    """Eq. (5) of Romera-Paredes & Torr with beta = gamma * lambda."""
    return (np.sum((x @ v @ s.T - targets) ** 2) + gamma * np.sum((v @ s.T) ** 2) + lam * np.sum((x @ v) ** 2)
            + gamma * lam * np.sum(v ** 2))


def test_the_closed_form_minimises_the_papers_objective():
    x, y, attributes = _problem()
    gamma, lam = 0.3, 2.0
    model = ESZSL(gamma=gamma, lam=lam).fit(x, y, attributes, classes=np.arange(4))
    s = attributes[:4]
    targets = -np.ones((40, 4))
    targets[np.arange(40), y] = 1.0
    v = model.weights
    np.testing.assert_allclose((x.T @ x + gamma * np.eye(7)) @ v @ (s.T @ s + lam * np.eye(4)), x.T @ targets @ s,
                               rtol=1e-8, atol=1e-8)
    best = _objective(v, x, targets, s, gamma, lam)
    rng = np.random.default_rng(1)
    for _ in range(20):  # every nearby V is worse
        assert _objective(v + 1e-3 * rng.normal(size=v.shape), x, targets, s, gamma, lam) > best
    assert model.scores(x[:3], attributes).shape == (3, 6)


def test_bad_inputs_are_named():
    x, y, attributes = _problem()
    with pytest.raises(ValueError, match="Call `fit`"):
        ESZSL().scores(x, attributes)
    with pytest.raises(ValueError, match="among `classes`"):
        ESZSL().fit(x, y, attributes, classes=[0, 1])
    with pytest.raises(ValueError, match="one label each"):
        ESZSL().fit(x, y[:5], attributes)
    with pytest.raises(ValueError, match="gamma"):
        ESZSL(gamma=0)


def test_select_chooses_on_held_out_seen_classes_and_refits_on_all():
    rng = np.random.default_rng(0)
    attributes = rng.integers(0, 2, size=(20, 12)).astype(float)
    y = np.repeat(np.arange(20), 20)
    x = attributes[y] @ rng.normal(size=(12, 30)) + 0.1 * rng.normal(size=(400, 30))
    seen = y < 15
    model, search = ESZSL.select(x[seen], y[seen], attributes, np.arange(15), grid=(0.01, 1.0, 100.0))
    assert search["validation_classes"] == 3 and search["gamma"] in (0.01, 1.0, 100.0)
    refit = ESZSL(search["gamma"], search["lam"]).fit(x[seen], y[seen], attributes, classes=np.arange(15))
    np.testing.assert_allclose(model.weights, refit.weights)  # refitted on every seen class, unseen never used
    assert 0.0 < search["validation_accuracy"] <= 1.0
