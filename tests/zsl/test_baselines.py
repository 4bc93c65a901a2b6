import numpy as np
import pytest

from kzoo.zsl import (CLSWGAN, Bilinear, ZeroShotData, calibrated_predictions, choose_calibration,
                      held_out_classes, validation_data)
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


def test_select_holds_out_only_classes_the_others_describe():
    # two-hot codes (a mark ++ a letter): class k has mark k % 3 and letter k // 3 over
    # 4 letters, and classes 12..15 alone carry marks 3..6; those can never be held out
    codes = np.zeros((16, 11))
    codes[np.arange(12), np.arange(12) % 3] = 1
    codes[np.arange(12), 7 + np.arange(12) // 3] = 1
    codes[12 + np.arange(4), 3 + np.arange(4)] = 1
    codes[12 + np.arange(4), 7 + np.arange(4)] = 1
    for seed in range(5):
        held = held_out_classes(codes, np.arange(16), fraction=0.5, seed=seed)
        others = np.setdiff1d(np.arange(16), held)
        assert held.size == 8 and not np.isin(held, [12, 13, 14, 15]).any()
        assert np.all(codes[others].sum(0)[codes[held].sum(0) > 0] > 0)  # what a held-out class uses stays seen
    with pytest.raises(ValueError, match="at least 2"):
        held_out_classes(np.eye(4), np.arange(4))


def test_validation_data_keeps_the_unseen_classes_out_and_renumbers():
    rng = np.random.default_rng(0)
    attributes = rng.integers(0, 2, size=(12, 8)).astype(float)
    attributes[:, 0] = 1  # every class carries attribute 0
    labels = np.repeat(np.arange(12), 10)
    features = rng.normal(size=(120, 5)).astype("float32")
    unseen = labels >= 9
    trainval = np.flatnonzero(~unseen & (np.arange(120) % 10 < 8))
    data = ZeroShotData(features, labels, attributes, trainval, np.flatnonzero(~unseen & (np.arange(120) % 10 >= 8)),
                        np.flatnonzero(unseen))
    val = validation_data(data, seed=1)
    assert val.num_classes == 9 and np.array_equal(val.extra["source_classes"], np.arange(9))
    assert val.unseen_classes.size >= 2 and set(val.seen_classes) | set(val.unseen_classes) == set(range(9))
    originals = val.extra["source_classes"][val.labels]
    assert not np.isin(originals, [9, 10, 11]).any()  # the real unseen classes never appear
    np.testing.assert_array_equal(val.attributes, attributes[:9])
    assert val.trainval_loc.size + val.test_seen_loc.size + val.test_unseen_loc.size == trainval.size


def test_calibration_is_chosen_by_the_harmonic_mean():
    # seen class 0 scores 1 higher than it should: a gamma near 1 undoes it
    y_seen, y_unseen = np.zeros(10, int), np.ones(10, int)
    scores_seen = np.tile([[2.0, 0.5]], (10, 1))
    scores_unseen = np.tile([[1.5, 1.0]], (10, 1))
    assert calibrated_predictions(scores_unseen, [0], 0.0).tolist() == [0] * 10
    best = choose_calibration(scores_seen, y_seen, scores_unseen, y_unseen, seen_classes=[0])
    assert best["H"] == 1.0 and 0.5 < best["gamma"] < 1.5


def test_bilinear_needs_fit():  # its zero-shot accuracy is the doctest's
    with pytest.raises(ValueError, match="Call `fit`"):
        Bilinear().scores(np.ones((2, 3)), np.ones((4, 2)))


def test_clswgan_synthesizes_features_near_the_real_class_means():
    rng = np.random.default_rng(0)
    attributes = rng.integers(0, 2, size=(20, 12)).astype("float32")
    y = np.repeat(np.arange(20), 30)
    x = np.maximum(attributes[y] @ rng.normal(size=(12, 40)) + 0.1 * rng.normal(size=(600, 40)), 0)
    seen = y < 15
    gan = CLSWGAN(hidden=128, epochs=60, learning_rate=1e-3).fit(x[seen], y[seen], attributes, np.arange(15),
                                                                   verbose=0)
    assert len(gan.history["wasserstein"]) == 60 and np.all(np.isfinite(gan.history["wasserstein"]))
    features, labels = gan.synthesize(attributes[15:], 100)
    synthetic = np.stack([features[labels == i].mean(0) for i in range(5)])
    real = np.stack([x[y == c].mean(0) for c in range(15, 20)])
    untrained_error = np.abs(real - x[seen].mean(0)).mean()  # guessing the seen mean for every unseen class
    assert np.abs(synthetic - real).mean() < 0.6 * untrained_error
    with pytest.raises(ValueError, match="Call `fit`"):
        CLSWGAN().synthesize(attributes, 2)
