"""Splitting sources into train / validation / test classes, and joining several sources for training.

Several sources (`"omniglot+glyphs"`) train together: each is split by the same
recorded split, the train parts are joined, and validation and test stay the first
source's, so its test split is the same with or without the others. Alphabets of
the others named like one of the first source's held-out alphabets are dropped from
training (Latin glyphs never train a model validated on Omniglot's Latin).
"""

import re

from kzoo.episodes.source import union

#: the default class split of every recipe: 70/10/20 by alphabet, seed 0
SPLIT = {"fractions": [0.7, 0.1, 0.2], "by": "alphabet", "seed": 0}


def load_sources(spec):
    """The `Source`s of a data spec: `"omniglot"` gives one, `"omniglot+glyphs"` two."""
    parts = spec.split("+")
    if not all(parts):
        raise ValueError(f"Expected data specs joined by '+', e.g. omniglot+glyphs. Received: {spec!r}.")
    return [_load(part) for part in parts]


def split_source(source, split=None):
    """`(train, validation, test)` parts of `source` (a `Source` or a list) by the recorded split.

    For a list, train joins every source's train part (without the alphabets named
    like the first source's validation and test alphabets); validation and test are
    the first source's.
    """
    split = {**SPLIT, **(split or {})}
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    parts = [s.split(tuple(split["fractions"]), by=split["by"], seed=split["seed"]) for s in sources]
    train, validation, test = parts[0]
    if len(sources) == 1:
        return train, validation, test
    held_out = {_alphabet_key(a) for part in (validation, test) for a in part.alphabet_names}
    trains = [train] + [_without_alphabets(p[0], held_out) for p in parts[1:]]
    trains = [t for t in trains if t is not None]
    if len(trains) > 1:
        train = union(trains, name=" + ".join(t.name for t in trains))
    return train, validation, test


def other_test_parts(sources, split=None):
    """The test parts of every source after the first (scored beside the first's)."""
    split = {**SPLIT, **(split or {})}
    return [s.split(tuple(split["fractions"]), by=split["by"], seed=split["seed"])[2] for s in list(sources)[1:]]


def _alphabet_key(name):
    return re.sub(r"[^a-z]", "", name.lower())


def _without_alphabets(source, keys):
    keep = [c for c in range(source.num_classes) if _alphabet_key(source.alphabets[c]) not in keys]
    if not keep:
        return None
    return source if len(keep) == source.num_classes else source.subset(keep)


def _load(spec):
    from kzoo.episodes import load

    return load(spec)
