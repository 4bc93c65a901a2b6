"""`Source`: a labelled image collection indexed by class, the input of every sampler."""

import numpy as np

from kzoo.checks import check_images


class Source:
    """Images grouped by class (and classes grouped by alphabet), held in memory.

    Every loader in `kzoo.episodes` (`omniglot`, `glyphs`, `image_folder`, `arrays`,
    `tfds`) returns a `Source`; `few_shot` samples episodes from one. Images are kept
    sorted by class so that class `c` occupies rows `offsets[c]:offsets[c + 1]`.

    Args:
        images: array `[M, H, W, C]`, either `uint8` in [0, 255] or floating point in
            [0, 1]. kzoo's convention for character data is ink = high, background = 0.
        labels: integer array `[M]`, the class of each image, in `0..num_classes-1`.
        class_names: optional list of `num_classes` strings. Defaults to `"class<i>"`.
        alphabets: optional list of `num_classes` strings naming the group ("alphabet")
            of each class, used by `split(by="alphabet")` and same-alphabet episodes.
            Defaults to one group named `"all"`.
        name: a short description shown in `repr` and plots. Defaults to `"arrays"`.

    Example:

    >>> import numpy as np
    >>> from kzoo import episodes
    >>> src = episodes.arrays(np.zeros((40, 8, 8, 1), "uint8"), np.repeat(np.arange(4), 10))
    >>> src.num_classes, src.image_shape
    (4, (8, 8, 1))
    """

    def __init__(self, images, labels, class_names=None, alphabets=None, name="arrays"):
        images = np.asarray(images)
        labels = np.asarray(labels)
        check_images(images, "images")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(
                "Expected `labels` of shape [M] with M = number of images "
                f"({images.shape[0]}). Received: labels.shape={labels.shape}."
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"Expected integer `labels`. Received: labels.dtype={labels.dtype}."
            )
        num_classes = int(labels.max()) + 1 if labels.size else 0
        if labels.size and labels.min() < 0:
            raise ValueError(
                "Expected `labels` in 0..num_classes-1. "
                f"Received: a label of {int(labels.min())}."
            )
        if class_names is None:
            class_names = [f"class{i}" for i in range(num_classes)]
        class_names = [str(c) for c in class_names]
        num_classes = max(num_classes, len(class_names))
        if len(class_names) != num_classes:
            raise ValueError(
                f"Expected {num_classes} `class_names` (one per class). "
                f"Received: {len(class_names)}."
            )
        if alphabets is None:
            alphabets = ["all"] * num_classes
        alphabets = [str(a) for a in alphabets]
        if len(alphabets) != num_classes:
            raise ValueError(
                f"Expected {num_classes} `alphabets` (one per class). "
                f"Received: {len(alphabets)}."
            )
        order = np.argsort(labels, kind="stable")
        self.images = images[order]
        self.labels = labels[order].astype(np.int32)
        self.class_names = class_names
        self.alphabets = alphabets
        self.name = name
        self.class_counts = np.bincount(self.labels, minlength=num_classes).astype(np.int32)
        self.offsets = np.concatenate([[0], np.cumsum(self.class_counts)]).astype(np.int32)
        self.alphabet_names = sorted(set(alphabets))
        index = {a: i for i, a in enumerate(self.alphabet_names)}
        self.class_alphabet = np.array([index[a] for a in alphabets], np.int32)

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def num_images(self):
        return int(self.images.shape[0])

    @property
    def image_shape(self):
        return tuple(int(d) for d in self.images.shape[1:])

    def __repr__(self):
        return (
            f"<Source {self.name!r}: {self.num_classes} classes in "
            f"{len(self.alphabet_names)} alphabets, {self.num_images} images of "
            f"shape {self.image_shape}>"
        )

    def images_of(self, class_id):
        """Returns the images of class `class_id`, `[count, H, W, C]`."""
        return self.images[self.offsets[class_id] : self.offsets[class_id + 1]]

    def subset(self, class_ids, name=None):
        """A new `Source` holding only `class_ids`, relabelled 0..len(class_ids)-1."""
        class_ids = [int(c) for c in class_ids]
        if not class_ids:
            raise ValueError("Expected at least one class in `class_ids`. Received: [].")
        rows = np.concatenate([np.arange(self.offsets[c], self.offsets[c + 1]) for c in class_ids])
        new_labels = np.repeat(np.arange(len(class_ids)), self.class_counts[class_ids])
        return Source(
            self.images[rows],
            new_labels,
            class_names=[self.class_names[c] for c in class_ids],
            alphabets=[self.alphabets[c] for c in class_ids],
            name=name or self.name,
        )

    def split(self, fractions=(0.7, 0.1, 0.2), by="alphabet", seed=0):
        """Splits the classes into disjoint parts (train / validation / test ...).

        Args:
            fractions: fractions of classes for each part; must be positive and sum
                to 1. Defaults to `(0.7, 0.1, 0.2)`.
            by: `"alphabet"` keeps every alphabet whole inside one part (held-out
                alphabets, the standard for Omniglot); `"class"` splits classes
                freely. Defaults to `"alphabet"`.
            seed: the integer shuffle seed. The same seed always gives the same split
                (None is refused: a fresh split on each call leaks test classes).

        Returns:
            A tuple of `Source`s, one per fraction, with no class in common. With
            `by="alphabet"`, alphabets are assigned in shuffled order so that each
            part's share of classes is as close to its fraction as whole alphabets
            allow, and every part gets at least one alphabet.
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(
                f"Expected an integer `seed`: the same seed must give the same split on every call, or "
                f"test classes can leak into training. Received: seed={seed!r}."
            )
        if np.ndim(fractions) != 1:
            raise ValueError(
                f"Expected `fractions` to be a list of positive numbers summing to 1, e.g. (0.7, 0.1, 0.2). "
                f"Received: fractions={fractions!r}."
            )
        try:
            fractions = np.asarray(fractions, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"Expected `fractions` to be numbers. Received: fractions={fractions!r}.") from None
        if fractions.ndim != 1 or fractions.size < 1 or np.any(~(fractions > 0)):
            raise ValueError(
                f"Expected `fractions` to be positive numbers. Received: fractions={tuple(fractions)}."
            )
        if abs(fractions.sum() - 1.0) > 1e-6:
            raise ValueError(
                f"Expected `fractions` to sum to 1. Received: fractions={tuple(fractions)} "
                f"(sum {fractions.sum():g})."
            )
        if by == "alphabet":
            groups = [np.flatnonzero(self.class_alphabet == a) for a in range(len(self.alphabet_names))]
        elif by == "class":
            groups = [np.array([c]) for c in range(self.num_classes)]
        else:
            raise ValueError(f'Expected `by` to be "alphabet" or "class". Received: by={by!r}.')
        if len(groups) < fractions.size:
            raise ValueError(
                f"Cannot split {len(groups)} {by}s into {fractions.size} non-empty parts. "
                f"Received: fractions={tuple(fractions)}, by={by!r}."
            )
        rng = np.random.RandomState(seed)
        groups = [groups[i] for i in rng.permutation(len(groups))]
        sizes = np.array([len(g) for g in groups], np.float64)
        bounds = np.cumsum(fractions) * sizes.sum()
        parts, start = [], 0
        for k in range(fractions.size):
            remaining_parts = fractions.size - k - 1
            end = start + 1
            if remaining_parts == 0:
                end = len(groups)
            else:
                while (
                    end < len(groups) - remaining_parts
                    and abs(sizes[: end + 1].sum() - bounds[k]) < abs(sizes[:end].sum() - bounds[k])
                ):
                    end += 1
            parts.append(np.sort(np.concatenate(groups[start:end])))
            start = end
        names = ["train", "validation", "test"] if fractions.size == 3 else [f"part{i}" for i in range(fractions.size)]
        return tuple(self.subset(p, name=f"{self.name}[{n}]") for p, n in zip(parts, names))


def union(sources, name=None):
    """One `Source` holding every class of `sources`, in order.

    Classes never merge: the same character in two sources stays two classes.
    Alphabets with the same name do merge, so `split(by="alphabet")` keeps, say,
    Greek from Omniglot and Greek from the glyphs on one side of a split. Images must
    share one shape; uint8 sources are rescaled to [0, 1] when mixed with float ones.

    Args:
        sources: a list of two or more `Source`s.
        name: the new source's name. Defaults to the names joined with `" + "`.

    Example:

    >>> import numpy as np
    >>> from kzoo import episodes
    >>> a = episodes.arrays(np.zeros((20, 8, 8, 1), "uint8"), np.repeat(np.arange(2), 10))
    >>> b = episodes.arrays(np.zeros((30, 8, 8, 1), "uint8"), np.repeat(np.arange(3), 10))
    >>> episodes.union([a, b]).num_classes
    5
    """
    sources = list(sources) if not isinstance(sources, Source) else [sources]
    if len(sources) < 2 or not all(isinstance(s, Source) for s in sources):
        kinds = [type(s).__name__ for s in sources]
        raise ValueError(f"Expected a list of two or more `Source`s. Received: {kinds}.")
    shapes = {s.image_shape for s in sources}
    if len(shapes) > 1:
        listed = ", ".join(f"{s.name!r} {s.image_shape}" for s in sources)
        raise ValueError(f"Expected sources with one image shape. Received: {listed}.")
    if all(s.images.dtype == np.uint8 for s in sources):
        images = np.concatenate([s.images for s in sources])
    else:
        images = np.concatenate([
            s.images.astype(np.float32) / np.float32(255.0) if s.images.dtype == np.uint8
            else s.images.astype(np.float32) for s in sources])
    starts = np.cumsum([0] + [s.num_classes for s in sources])
    labels = np.concatenate([s.labels + start for s, start in zip(sources, starts)])
    return Source(images, labels,
                  class_names=[c for s in sources for c in s.class_names],
                  alphabets=[a for s in sources for a in s.alphabets],
                  name=name or " + ".join(s.name for s in sources))
