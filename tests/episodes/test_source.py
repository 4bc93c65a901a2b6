import numpy as np
import pytest

from kzoo import episodes
from kzoo.episodes.source import Source
from tests.conftest import make_source


def test_images_are_grouped_by_class():
    labels = np.array([2, 0, 1, 0, 2, 2])
    images = (labels[:, None, None, None] * np.ones((6, 2, 2, 1))).astype("uint8")
    src = Source(images, labels)
    assert src.class_counts.tolist() == [2, 1, 3]
    for c in range(3):
        assert np.all(src.images_of(c) == c)


@pytest.mark.parametrize("by", ["alphabet", "class"])
def test_split_is_disjoint_and_covers_all_classes(by):
    src = make_source(num_classes=20, per_class=2, alphabets=6)
    parts = src.split((0.6, 0.2, 0.2), by=by, seed=0)
    names = [set(p.class_names) for p in parts]
    assert all(names)
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    assert set().union(*names) == set(src.class_names)
    if by == "alphabet":
        alphabets = [set(p.alphabets) for p in parts]
        assert not (alphabets[0] & alphabets[1] or alphabets[0] & alphabets[2] or alphabets[1] & alphabets[2])


def test_split_is_deterministic_and_seed_dependent():
    src = make_source(num_classes=40, per_class=2, alphabets=10)
    a = [p.class_names for p in src.split(seed=1)]
    b = [p.class_names for p in src.split(seed=1)]
    c = [p.class_names for p in src.split(seed=2)]
    assert a == b and a != c


def test_split_fractions_roughly_respected_by_class():
    src = make_source(num_classes=100, per_class=2)
    train, val, test = src.split((0.7, 0.1, 0.2), by="class")
    assert (train.num_classes, val.num_classes, test.num_classes) == (70, 10, 20)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fractions": (0.5, 0.6)}, "sum to 1"),
        ({"fractions": (1.2, -0.2)}, "positive"),
        ({"by": "font"}, "by"),
        ({"fractions": (0.25,) * 4, "by": "alphabet"}, "Cannot split 3 alphabets"),
    ],
)
def test_bad_split_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_source(num_classes=12, alphabets=3).split(**kwargs)


@pytest.mark.parametrize(
    "images, labels, match",
    [
        (np.zeros((4, 8, 8), "uint8"), np.zeros(4, int), "rank 4"),
        (np.zeros((4, 8, 8, 1), "uint8"), np.zeros(3, int), "labels"),
        (np.full((2, 8, 8, 1), np.nan, "float32"), np.zeros(2, int), "finite"),
        (np.full((2, 8, 8, 1), 2.0, "float32"), np.zeros(2, int), r"\[0, 1\]"),
        (np.zeros((2, 8, 8, 1), "uint8"), np.array([0, -1]), "0..num_classes-1"),
        (np.zeros((2, 8, 8, 1), "uint8"), np.array([0.0, 1.0]), "integer"),
    ],
)
def test_bad_arrays_raise(images, labels, match):
    with pytest.raises(ValueError, match=match):
        Source(images, labels)


def test_union_keeps_every_class_and_merges_alphabets_by_name():
    a = episodes.arrays(np.zeros((20, 8, 8, 1), "uint8"), np.repeat(np.arange(2), 10),
                        class_names=["a0", "a1"], alphabets=["Greek", "Latin"])
    b = episodes.arrays(np.full((15, 8, 8, 1), 0.5, "float32"), np.repeat(np.arange(3), 5),
                        class_names=["b0", "b1", "b2"], alphabets=["Greek", "Lao", "Lao"])
    both = episodes.union([a, b])
    assert both.num_classes == 5 and both.class_names == ["a0", "a1", "b0", "b1", "b2"]
    assert list(both.class_counts) == [10, 10, 5, 5, 5]
    assert both.alphabet_names == ["Greek", "Lao", "Latin"]
    assert both.images.dtype == np.float32 and both.images[:20].max() == 0.0 and both.images[20:].min() == 0.5
    with pytest.raises(ValueError, match="Expected sources with one image shape"):
        episodes.union([a, episodes.arrays(np.zeros((10, 9, 9, 1), "uint8"), np.zeros(10, int))])
    with pytest.raises(ValueError, match="Expected a list of two or more `Source`s"):
        episodes.union([a])


def test_several_sources_train_together_and_keep_the_first_ones_held_out_split():
    from kzoo.episodes import other_test_parts, split_source

    def source(names):
        images = np.random.RandomState(0).randint(0, 255, (10 * len(names) * 4, 8, 8, 1)).astype("uint8")
        return episodes.arrays(images, np.repeat(np.arange(len(names) * 4), 10),
                               alphabets=[n for n in names for _ in range(4)])

    first = source([f"first{i}" for i in range(10)])
    alone = split_source(first)
    first_validation = alone[1].alphabet_names + alone[2].alphabet_names
    # the second source has an alphabet named like each of the first's held-out ones
    other = source([n.upper() for n in first_validation] + [f"other{i}" for i in range(8)])
    train, validation, test = split_source([first, other])
    assert validation.alphabet_names == alone[1].alphabet_names and test.alphabet_names == alone[2].alphabet_names
    assert set(alone[0].alphabet_names) < set(train.alphabet_names)
    assert not {a.lower() for a in train.alphabet_names} & {a.lower() for a in first_validation}
    assert [t.num_classes for t in other_test_parts([first, other])] == [other.split(seed=0)[2].num_classes]
