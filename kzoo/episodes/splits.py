"""Splitting sources into train / validation / test classes, and joining several sources for training.

Several sources (`"omniglot+glyphs"`) train together: each is split by the same
recorded split, the train parts are joined, and validation and test stay the first
source's, so its test split is the same with or without the others. Alphabets of
the others named like one of the first source's held-out alphabets are dropped from
training (Latin glyphs never train a model validated on Omniglot's Latin).
"""

import re

import numpy as np

from kzoo.episodes.source import union

#: the default class split of every recipe: 70/10/20 by alphabet, seed 0
SPLIT = {"fractions": [0.7, 0.1, 0.2], "by": "alphabet", "seed": 0}


def load_sources(spec):
    """The `Source`s of a data spec: `"omniglot"` gives one, `"omniglot+glyphs"` two."""
    parts = spec.split("+")
    if not all(parts):
        raise ValueError(f"Expected data specs joined by '+', e.g. omniglot+glyphs. Received: {spec!r}.")
    return [_load(part) for part in parts]


#: the split recorded for a benchmark loaded with its published class split
PUBLISHED = {"by": "published"}


def with_published_splits(parts, name):
    """One `Source` of a benchmark's train, val and test `Source`s that `split_source` splits back into them."""
    source = union(parts, name=name)
    sizes = np.cumsum([0] + [p.num_classes for p in parts])
    source.published_splits = [list(range(sizes[i], sizes[i + 1])) for i in range(3)]
    return source


def recorded_split(source, split=None):
    """The split `split_source` applies to `source`: the published one of a benchmark, else 70/10/20 by alphabet."""
    first = source[0] if isinstance(source, (list, tuple)) else source
    if getattr(first, "published_splits", None) is not None and (split or {}).get("by", "published") == "published":
        return dict(PUBLISHED)
    return {**SPLIT, **(split or {})}


def _parts(source, split):
    if split["by"] == "published":
        published = getattr(source, "published_splits", None)
        if published is None:
            raise ValueError(f"Expected a benchmark with a published class split (e.g. mini_imagenet:PATH) for "
                             f"split by 'published'. Received: {source!r}.")
        return tuple(source.subset(ids, name=f"{source.name}[{part}]")
                     for ids, part in zip(published, ("train", "val", "test")))
    return source.split(tuple(split["fractions"]), by=split["by"], seed=split["seed"])


def split_source(source, split=None):
    """`(train, validation, test)` parts of `source` (a `Source` or a list) by the recorded split.

    A benchmark loaded by `load("mini_imagenet:PATH")` (and the other benchmark specs)
    is split by its published class split; other sources 70/10/20 by alphabet. For a
    list, train joins every source's train part (without the alphabets named like the
    first source's validation and test alphabets); validation and test are the first
    source's.
    """
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    parts = [_parts(s, recorded_split(s, split)) for s in sources]
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
    return [_parts(s, recorded_split(s, split))[2] for s in list(sources)[1:]]


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
