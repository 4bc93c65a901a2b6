import numpy as np
import pytest

from kzoo.episodes.sampler import FewShotSampler, few_shot
from tests.conftest import make_source


def _find(source, image):
    """(class, rotation) of an episode image in the source, or None."""
    pixels = np.round(image * 255).astype("uint8")
    for c in range(source.num_classes):
        for candidate in source.images_of(c):
            for k in range(4):
                if np.array_equal(np.rot90(candidate, k), pixels):
                    return c, k
    return None


def test_episode_shapes_and_dtypes(small_source):
    x, y = next(iter(few_shot(small_source, ways=4, shots=2, queries=3, tasks=5, batches=1)))
    assert x["support_x"].shape == (5, 8, 8, 8, 1) and x["support_x"].dtype == "float32"
    assert x["support_y"].shape == (5, 8) and x["support_y"].dtype == "int32"
    assert x["query_x"].shape == (5, 12, 8, 8, 1)
    assert y.shape == (5, 12) and y.dtype == "int32"
    assert 0.0 <= float(np.min(x["support_x"])) and float(np.max(x["support_x"])) <= 1.0


def test_labels_are_a_permutation_and_queries_match_support_classes(small_source):
    sampler = FewShotSampler(small_source, ways=4, shots=2, queries=3, tasks=6, seed=1)
    episode = {k: v.numpy() for k, v in sampler(0).items()}
    for t in range(6):
        assert sorted(set(episode["support_y"][t])) == [0, 1, 2, 3]
        assert set(episode["query_y"][t]) <= set(episode["support_y"][t])
        for images, labels in ((episode["support_x"][t], episode["support_y"][t]),
                               (episode["query_x"][t], episode["query_y"][t])):
            for image, label in zip(images, labels):
                found_class, _ = _find(small_source, image)
                assert found_class == episode["classes"][t, label]
    # Relabelling is random: the class given label 0 varies across tasks.
    assert len(set(episode["classes"][:, 0])) > 1


def test_support_and_query_examples_are_distinct(small_source):
    episode = FewShotSampler(small_source, ways=3, shots=2, queries=4, tasks=4)(7)
    for t in range(4):
        images = np.concatenate([episode["support_x"][t], episode["query_x"][t]])
        flat = images.reshape(len(images), -1)
        assert len(np.unique(flat, axis=0)) == len(flat)


def test_same_seed_same_episodes_and_different_seed_differs(small_source):
    def first(seed):
        x, y = next(iter(few_shot(small_source, 4, 1, 2, tasks=3, seed=seed, batches=1)))
        return x["support_x"].numpy(), y.numpy()

    a, b, c = first(3), first(3), first(4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_batches_of_a_stream_differ_and_are_finite(small_source):
    batches = [x["support_x"].numpy() for x, _ in few_shot(small_source, 4, 1, 1, batches=3)]
    assert len(batches) == 3
    assert not np.array_equal(batches[0], batches[1])


def test_rotation_rotates_whole_classes():
    source = make_source(num_classes=5, per_class=8)
    sampler = FewShotSampler(source, ways=5, shots=3, queries=3, tasks=8, rotations=True, seed=2)
    episode = {k: v.numpy() for k, v in sampler(0).items()}
    assert set(np.unique(episode["rotations"])) - {0} != set()  # some classes rotated
    for t in range(8):
        for images, labels in ((episode["support_x"][t], episode["support_y"][t]),
                               (episode["query_x"][t], episode["query_y"][t])):
            for image, label in zip(images, labels):
                c, k = _find(source, image)
                assert c == episode["classes"][t, label]
                assert k == episode["rotations"][t, label]


def test_rotations_multiply_the_classes():
    source = make_source(num_classes=3, per_class=4)
    with pytest.raises(ValueError, match="ways"):
        FewShotSampler(source, ways=4, shots=1, queries=1)
    episode = FewShotSampler(source, ways=12, shots=1, queries=1, rotations=True)(0)
    pairs = set(zip(episode["classes"].numpy()[0], episode["rotations"].numpy()[0]))
    assert len(pairs) == 12


def test_same_alphabet_mode(small_source):
    sampler = FewShotSampler(small_source, ways=4, shots=1, queries=1, tasks=10, same_alphabet=True)
    classes = sampler(0)["classes"].numpy()
    for row in classes:
        assert len({small_source.class_alphabet[c] for c in row}) == 1
    with pytest.raises(ValueError, match="alphabet"):
        FewShotSampler(small_source, ways=5, shots=1, queries=1, same_alphabet=True)


def test_unlabeled_support_samples_carry_minus_one(small_source):
    sampler = FewShotSampler(small_source, ways=3, shots=1, queries=2, unlabeled=2, tasks=2)
    episode = sampler(0)
    support_y = episode["support_y"].numpy()
    assert support_y.shape == (2, 9)
    assert (support_y == -1).sum(axis=1).tolist() == [6, 6]
    for t in range(2):
        assert sorted(support_y[t][support_y[t] >= 0]) == [0, 1, 2]
        # the unlabeled samples come from the episode's classes
        for image in episode["support_x"].numpy()[t][support_y[t] == -1]:
            assert _find(small_source, image)[0] in episode["classes"].numpy()[t]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ways": 13, "shots": 1, "queries": 1}, "ways"),
        ({"ways": 2, "shots": 4, "queries": 3}, "at least shots"),
        ({"ways": 0, "shots": 1, "queries": 1}, "ways"),
        ({"ways": 2, "shots": 0, "queries": 1}, "shots"),
        ({"ways": 2, "shots": 1, "queries": 1, "tasks": 0}, "tasks"),
        ({"ways": 2, "shots": 1, "queries": 1, "unlabeled": -1}, "unlabeled"),
        ({"ways": 2.5, "shots": 1, "queries": 1}, "ways"),
    ],
)
def test_bad_arguments_raise_naming_them(small_source, kwargs, match):
    with pytest.raises(ValueError, match=match):
        few_shot(small_source, **kwargs)


def test_short_class_is_named():
    source = make_source(num_classes=4, per_class=6)
    source = source.subset([0, 1, 2, 3])
    images = np.concatenate([source.images, source.images[:2]])
    labels = np.concatenate([source.labels, [4, 4]])
    from kzoo.episodes.source import Source

    with pytest.raises(ValueError, match="'class4' \\(2\\)"):
        few_shot(Source(images, labels), ways=2, shots=1, queries=2)


def test_not_a_source_and_non_square_rotation():
    with pytest.raises(ValueError, match="source"):
        few_shot(np.zeros((4, 8, 8, 1)), 2, 1, 1)
    from kzoo.episodes.source import Source

    wide = Source(np.zeros((8, 4, 6, 1), "uint8"), np.repeat(np.arange(4), 2))
    with pytest.raises(ValueError, match="square"):
        few_shot(wide, 2, 1, 1, rotations=True)
