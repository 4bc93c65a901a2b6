"""Model selection without unseen data: held-out seen classes, and calibrated stacking.

Zero-shot hyperparameters (ESZSL's regularizers, the calibration of GZSL scores)
are chosen the way the benchmarks prescribe: some *seen* classes play the unseen
ones, the model is fitted on the others, and the choice is the one that scores best
there. `validation_data` builds that problem as a `ZeroShotData` of its own, so
any method that trains on a `ZeroShotData` runs on it unchanged.

Calibrated stacking (Chao et al., "An empirical study and analysis of generalized
zero-shot learning for object recognition in the wild", ECCV 2016, eq. 3) predicts
argmax_c f(x, c) - gamma 1[c is seen]: a constant taken off every seen class's
score, which trades seen accuracy for unseen accuracy. `choose_calibration`
chooses gamma on validation scores by the harmonic mean H.

>>> import numpy as np
>>> scores = np.array([[2.0, 1.5], [3.0, 0.0], [0.9, 1.0]])  # 3 images, classes 0 (seen) and 1 (unseen)
>>> calibrated_predictions(scores, seen_classes=[0], gamma=1.0).tolist()
[1, 0, 1]
"""

import numpy as np

from kzoo.metrics import gzsl_scores


def held_out_classes(descriptions, classes, fraction=0.2, seed=0):
    """Seen classes to hold out as validation "unseen" classes, each still describable by the rest.

    Classes are visited in a seeded random order; one is held out only if every
    description dimension it uses (a nonzero entry) stays used by at least one
    class that is not held out, so that a held-out class, like a real unseen one,
    is a new combination of known attributes (the rule `glyph_compositions` uses to
    choose its unseen classes). Without the rule, a held-out class can carry the
    only instance of an attribute and no zero-shot model could recognise it.

    Args:
        descriptions: float `[C, d]`, one description per class (all classes).
        classes: int, the seen classes to choose from.
        fraction: the share of `classes` to hold out. Defaults to `0.2`.
        seed: the order's seed. Defaults to `0`.

    Returns:
        Sorted int `[k]`, at least 2 classes.

    >>> d = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]], float)
    >>> held_out_classes(d, np.arange(5), fraction=0.4).tolist()  # class 4 alone has attribute 2: never held out
    [0, 1]
    """
    descriptions = np.asarray(descriptions)
    classes = np.asarray(classes).reshape(-1)
    if descriptions.ndim != 2:
        raise ValueError(f"Expected `descriptions` [C, d]. Received: shape {descriptions.shape}.")
    used = descriptions[classes] != 0  # [z, d]
    count = used.sum(0)
    target = max(2, int(round(fraction * classes.size)))
    held = []
    for i in np.random.default_rng([seed, 17]).permutation(classes.size):
        if len(held) == target:
            break
        if np.all(count[used[i]] >= 2):
            count[used[i]] -= 1
            held.append(int(classes[i]))
    if len(held) < 2:
        raise ValueError(f"Expected at least 2 seen classes that the others describe. Received: {len(held)} of "
                         f"{classes.size} classes can be held out.")
    return np.sort(np.asarray(held))


def validation_data(data, descriptions=None, fraction=0.2, test_seen_fraction=0.2, seed=0):
    """A `ZeroShotData` made of the seen classes only, some of them playing the unseen ones.

    If `data.extra` holds Xian et al.'s proposed `train_loc` and `val_loc` (the
    xlsa17 benchmarks), their classes are the validation seen and unseen classes.
    Otherwise `held_out_classes(descriptions, data.seen_classes, fraction, seed)` are.
    In both cases a `test_seen_fraction` of each remaining class's trainval images
    (seeded) is held out as validation test-seen. The real unseen classes and their
    images are left out entirely.

    Classes are renumbered `0..z-1` in the order of `data.seen_classes`; per-class
    arrays of `data.extra` (length C) are subset the same way, and
    `extra["source_classes"]` maps each back to `data`'s classes.

    Args:
        data: a `ZeroShotData`.
        descriptions: `[C, d]` the descriptions the model will use, for the coverage
            rule. Defaults to `data.attributes`.

    Returns:
        A `ZeroShotData`.
    """
    from kzoo.zsl.dataset import ZeroShotData

    seen = data.seen_classes
    descriptions = data.attributes if descriptions is None else np.asarray(descriptions)
    if descriptions.shape[0] != data.num_classes:
        raise ValueError(f"Expected `descriptions` with one row per class ({data.num_classes}). Received: shape "
                         f"{descriptions.shape}.")
    rng = np.random.default_rng([seed, 23])
    if "train_loc" in data.extra and "val_loc" in data.extra:
        held = np.unique(data.labels[data.extra["val_loc"]])
        pool = np.concatenate([data.extra["train_loc"], data.extra["val_loc"]])
    else:
        held = held_out_classes(descriptions, seen, fraction, seed)
        pool = data.trainval_loc
    unseen_loc = pool[np.isin(data.labels[pool], held)]
    rest = pool[~np.isin(data.labels[pool], held)]
    rest = rest[rng.permutation(rest.size)]
    is_test = np.zeros(rest.size, bool)
    for c in np.unique(data.labels[rest]):
        members = np.flatnonzero(data.labels[rest] == c)
        is_test[members[:int(round(test_seen_fraction * members.size))]] = True
    new_label = np.full(data.num_classes, -1)
    new_label[seen] = np.arange(seen.size)
    loc = np.concatenate([rest[~is_test], rest[is_test], unseen_loc])
    sizes = np.cumsum([np.sum(~is_test), np.sum(is_test)])
    index = np.arange(loc.size)
    extra = {k: (np.asarray(v)[seen] if isinstance(v, np.ndarray) and v.shape[:1] == (data.num_classes,) else v)
             for k, v in data.extra.items() if k not in ("train_loc", "val_loc")}
    extra["source_classes"] = seen
    return ZeroShotData(
        data.features[loc], new_label[data.labels[loc]], data.attributes[seen], index[:sizes[0]],
        index[sizes[0]:sizes[1]], index[sizes[1]:], class_names=[data.class_names[c] for c in seen],
        attribute_names=data.attribute_names, name=f"{data.name}[validation]",
        images=None if data.images is None else data.images[loc], granularity=data.granularity, extra=extra)


def calibrated_predictions(scores, seen_classes, gamma):
    """argmax_c scores[:, c] - gamma 1[c in seen_classes] (Chao et al. 2016, eq. 3); int `[N]`."""
    scores = np.array(scores, np.float64)
    scores[:, np.asarray(seen_classes, int)] -= gamma
    return np.argmax(scores, 1)


def choose_calibration(scores_seen, y_seen, scores_unseen, y_unseen, seen_classes, candidates=101):
    """The calibration gamma that maximises H on validation scores, and the H it reaches.

    The candidates are `candidates` quantiles of each image's margin between its best
    seen and best unseen score (every distinct decision lies between two of them), and 0.

    Args:
        scores_seen, scores_unseen: `[N, C]` validation scores of test-seen and
            test-unseen images; `y_seen`, `y_unseen` their classes.
        seen_classes: the classes the model was trained on.

    Returns:
        `{"gamma", "u", "s", "H"}` at the best gamma (floats).
    """
    seen_classes = np.asarray(seen_classes, int)
    both = np.concatenate([scores_seen, scores_unseen]).astype(np.float64)
    mask = np.zeros(both.shape[1], bool)
    mask[seen_classes] = True
    margins = both[:, mask].max(1) - both[:, ~mask].max(1)
    grid = np.unique(np.concatenate([[0.0], np.quantile(margins, np.linspace(0, 1, candidates))]))
    best = None
    for gamma in grid:
        result = gzsl_scores(y_seen, calibrated_predictions(scores_seen, seen_classes, gamma), y_unseen,
                             calibrated_predictions(scores_unseen, seen_classes, gamma))
        if best is None or result["H"] > best["H"]:
            best = {"gamma": float(gamma), **{k: float(v) for k, v in result.items()}}
    return best
