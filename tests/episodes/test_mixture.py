import numpy as np
import pytest

from kzoo import episodes


def _constant_source(value, classes=5):
    return episodes.arrays(np.full((classes * 6, 8, 8, 1), value, "uint8"), np.repeat(np.arange(classes), 6))


def test_each_batch_comes_from_one_source_in_proportion_to_the_weights():
    a, b = _constant_source(0), _constant_source(255)
    ds = episodes.mixture([a, b], ways=3, shots=1, queries=2, weights=[0.8, 0.2], tasks=2, seed=3, batches=400)
    picks = []
    for x, y in ds:
        values = np.unique(x["support_x"].numpy())
        assert values.size == 1  # every task of the batch from the same source
        picks.append(float(values[0]))
    share_b = np.mean(np.array(picks) == 1.0)
    assert abs(share_b - 0.2) < 0.06  # 400 draws: 3 standard errors is 0.06
    again = [float(np.unique(x["support_x"].numpy())[0]) for x, _ in episodes.mixture(
        [a, b], ways=3, shots=1, queries=2, weights=[0.8, 0.2], tasks=2, seed=3, batches=50)]
    assert again == picks[:50]  # the same seed, the same sources


def test_bad_mixtures_are_named():
    a = _constant_source(0)
    with pytest.raises(ValueError, match="one image shape"):
        episodes.mixture([a, episodes.arrays(np.zeros((30, 9, 9, 1), "uint8"), np.repeat(np.arange(5), 6))],
                         ways=3, shots=1, queries=2)
    with pytest.raises(ValueError, match="non-negative `weights`"):
        episodes.mixture([a, a], ways=3, shots=1, queries=2, weights=[1.0, -1.0])


def test_variable_way_episodes_from_several_sources():
    a, b = _constant_source(0, classes=8), _constant_source(255, classes=12)
    seen = {}
    for x, y in episodes.mixture([a, b], weights=[0.5, 0.5], min_ways=2, max_ways=12, seed=1, batches=40):
        values = np.unique(x["support_x"].numpy())
        assert values.size == 1
        ways = int(x["support_y"].numpy().max()) + 1
        seen.setdefault(float(values[0]), set()).add(ways)
        assert y.shape == (1, ways * 3)  # 6 images per class: q = 3
    assert max(seen[0.0]) <= 8 and max(seen[1.0]) > 8  # each source's own limit on N
    with pytest.raises(ValueError, match="all set"):
        episodes.mixture([a, b], ways=3)
    with pytest.raises(ValueError, match="tasks=1"):
        episodes.mixture([a, b], tasks=2)
