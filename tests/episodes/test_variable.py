import numpy as np
import pytest

from kzoo import episodes

# 30 classes of 4..33 examples; pixel (0, 0) holds the class, (0, 1) the example's index in it
COUNTS = np.arange(4, 34)


def _coded_source():
    labels = np.repeat(np.arange(len(COUNTS)), COUNTS)
    index = np.concatenate([np.arange(n) for n in COUNTS])
    images = np.zeros((labels.size, 8, 8, 1), "uint8")
    images[:, 0, 0, 0], images[:, 0, 1, 0] = labels, index
    return episodes.arrays(images, labels)


def _codes(x):
    pixels = np.rint(x[0, :, 0, :2, 0] * 255).astype(int)
    return pixels[:, 0], pixels[:, 1]  # class, index


def test_episodes_follow_the_meta_dataset_sampling_rules():
    sampler = episodes.VariableEpisodeSampler(_coded_source(), seed=1)
    ways_seen, imbalanced = set(), 0
    for step in range(60):
        e = {k: v.numpy() for k, v in sampler(step).items()}
        classes, shots = e["classes"][0], e["shots"][0]
        n = classes.size
        ways_seen.add(n)
        assert 5 <= n <= 30 and len(set(classes)) == n
        q = min(10, COUNTS[classes].min() // 2)
        assert e["query_y"].shape == (1, n * q)
        assert np.all(shots >= 1) and np.all(shots <= COUNTS[classes] - q)
        assert shots.sum() == e["support_y"].shape[1] <= 500
        imbalanced += len(set(shots)) > 1
        np.testing.assert_array_equal(e["support_y"][0], np.repeat(np.arange(n), shots))  # class-major
        np.testing.assert_array_equal(e["query_y"][0], np.repeat(np.arange(n), q))
        support_class, support_index = _codes(e["support_x"])
        query_class, query_index = _codes(e["query_x"])
        np.testing.assert_array_equal(support_class, classes[e["support_y"][0]])  # label n is classes[n]
        np.testing.assert_array_equal(query_class, classes[e["query_y"][0]])
        examples = list(zip(support_class, support_index)) + list(zip(query_class, query_index))
        assert len(set(examples)) == len(examples)  # no example twice, in support or query
    assert len(ways_seen) >= 10  # N is drawn per episode over 5..30
    assert imbalanced >= 50  # shots differ between classes in (almost) every episode


def test_episodes_are_fixed_by_the_seed():
    source = _coded_source()
    first = [x["support_x"].numpy() for x, _ in episodes.variable_few_shot(source, seed=4, batches=3)]
    again = [x["support_x"].numpy() for x, _ in episodes.variable_few_shot(source, seed=4, batches=3)]
    other = [x["support_x"].numpy() for x, _ in episodes.variable_few_shot(source, seed=5, batches=3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(a.shape != c.shape or not np.array_equal(a, c) for a, c in zip(first, other))


def test_limits_cap_ways_queries_and_support():
    sampler = episodes.VariableEpisodeSampler(_coded_source(), min_ways=3, max_ways=6, max_query=2,
                                              max_support=12, seed=0)
    for step in range(20):
        e = sampler(step)
        n = int(e["classes"].shape[1])
        assert 3 <= n <= 6
        assert e["query_y"].shape[1] == 2 * n
        assert int(e["support_y"].shape[1]) <= 12


def test_rotations_make_more_classes():
    sampler = episodes.VariableEpisodeSampler(_coded_source(), min_ways=40, max_ways=120, rotations=True)
    assert sampler.max_ways == 120  # 30 classes x 4 rotations
    e = sampler(0)
    assert set(e["rotations"].numpy().ravel()) <= {0, 1, 2, 3} and e["classes"].shape[1] >= 40


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="max_ways"):
        episodes.VariableEpisodeSampler(_coded_source(), min_ways=6, max_ways=5)
    with pytest.raises(ValueError, match="at least shots"):  # one support and one query per class
        episodes.VariableEpisodeSampler(episodes.arrays(np.zeros((6, 8, 8, 1), "uint8"), np.arange(6)))
    with pytest.raises(ValueError, match="max_support"):
        episodes.VariableEpisodeSampler(_coded_source(), max_ways=10, max_support=5)
