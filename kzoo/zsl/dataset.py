"""`ZeroShotData`: features, class attributes and the three GZSL splits, checked."""

import numpy as np

SPLITS = ("trainval", "test_seen", "test_unseen")


class ZeroShotData:
    """A generalized zero-shot learning (GZSL) dataset in the layout of Xian et al.

    Holds the visual features of every sample, one attribute vector per class and
    the three proposed splits: `trainval` (seen classes, for training), `test_seen`
    (other samples of seen classes) and `test_unseen` (every sample of the unseen
    classes). Indices and labels are 0-based. The constructor checks that the splits
    are disjoint, that no unseen class appears in `trainval` and that `test_seen`
    holds only seen classes.

    Args:
        features: float `[N, D]` visual features (e.g. ResNet-101 pool5, D = 2048).
        labels: int `[N]`, the class of each sample, in `0..C-1`.
        attributes: float `[C, A]`, one row per class.
        trainval_loc, test_seen_loc, test_unseen_loc: int sample indices (0-based).
        class_names: optional list of C names. Defaults to `"class<i>"`.
        attribute_names: optional list of A names. Defaults to `"att<j>"`.
        name: short dataset name. Defaults to `"zsl"`.
        images: optional `[N, H, W, C]` images the features were computed from.
        granularity: optional `"fine"` / `"coarse"`, shown by `statistics()`.
        extra: optional dict of further per-dataset arrays (e.g. the composition view).

    Attributes:
        seen_classes: sorted int32 classes of `trainval`.
        unseen_classes: sorted int32 classes of `test_unseen`.
    """

    def __init__(self, features, labels, attributes, trainval_loc, test_seen_loc, test_unseen_loc,
                 class_names=None, attribute_names=None, name="zsl", images=None, granularity=None,
                 extra=None):
        features = np.asarray(features)
        labels = np.asarray(labels)
        attributes = np.asarray(attributes, np.float32)
        if features.ndim != 2 or not np.issubdtype(features.dtype, np.floating):
            raise ValueError(f"Expected float `features` of shape [N, D]. Received: dtype {features.dtype}, "
                             f"shape {features.shape}.")
        if not np.all(np.isfinite(features)):
            raise ValueError("Expected finite `features`. Received: NaN or inf.")
        n = features.shape[0]
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"Expected integer `labels` of shape [{n}] (one per feature row). "
                             f"Received: dtype {labels.dtype}, shape {labels.shape}.")
        if attributes.ndim != 2:
            raise ValueError(f"Expected `attributes` of shape [num_classes, A]. Received: {attributes.shape}.")
        num_classes = attributes.shape[0]
        if n and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"Expected `labels` in 0..{num_classes - 1} (one attribute row per class: attributes has "
                f"{num_classes} rows). Received: labels in [{labels.min()}, {labels.max()}]."
            )
        locs = {}
        for split, loc in zip(SPLITS, (trainval_loc, test_seen_loc, test_unseen_loc)):
            loc = np.asarray(loc).reshape(-1)
            if loc.size and (not np.issubdtype(loc.dtype, np.integer) or loc.min() < 0 or loc.max() >= n):
                raise ValueError(f"Expected `{split}_loc` to hold sample indices in 0..{n - 1}. "
                                 f"Received: values in [{loc.min()}, {loc.max()}] of dtype {loc.dtype}.")
            if np.unique(loc).size != loc.size:
                raise ValueError(f"Expected distinct indices in `{split}_loc`. Received: repeated indices.")
            locs[split] = loc.astype(np.int64)
        for i, a in enumerate(SPLITS):
            for b in SPLITS[i + 1:]:
                common = np.intersect1d(locs[a], locs[b])
                if common.size:
                    raise ValueError(f"Expected disjoint splits. Received: {common.size} samples in both "
                                     f"`{a}_loc` and `{b}_loc` (e.g. index {int(common[0])}).")
        seen = np.unique(labels[locs["trainval"]]).astype(np.int32)
        unseen = np.unique(labels[locs["test_unseen"]]).astype(np.int32)
        leaked = np.intersect1d(seen, unseen)
        if leaked.size:
            names = [class_names[c] for c in leaked[:5]] if class_names is not None else leaked[:5].tolist()
            raise ValueError(
                f"Expected no unseen class in the training data. Received: {leaked.size} classes of "
                f"`test_unseen_loc` also appear in `trainval_loc`, e.g. {names}."
            )
        odd = np.setdiff1d(np.unique(labels[locs["test_seen"]]), seen)
        if odd.size:
            raise ValueError(f"Expected `test_seen_loc` to hold only classes of `trainval_loc`. Received: "
                             f"{odd.size} other classes, e.g. {odd[:5].tolist()}.")
        if class_names is None:
            class_names = [f"class{i}" for i in range(num_classes)]
        if len(class_names) != num_classes:
            raise ValueError(f"Expected {num_classes} `class_names` (one per attribute row). "
                             f"Received: {len(class_names)}.")
        if attribute_names is None:
            attribute_names = [f"att{j}" for j in range(attributes.shape[1])]
        if len(attribute_names) != attributes.shape[1]:
            raise ValueError(f"Expected {attributes.shape[1]} `attribute_names` (one per attribute column). "
                             f"Received: {len(attribute_names)}.")
        if images is not None and len(images) != n:
            raise ValueError(f"Expected {n} `images` (one per feature row). Received: {len(images)}.")
        self.features = features.astype(np.float32)
        self.labels = labels.astype(np.int32)
        self.attributes = attributes
        self.trainval_loc = locs["trainval"]
        self.test_seen_loc = locs["test_seen"]
        self.test_unseen_loc = locs["test_unseen"]
        self.class_names = [str(c) for c in class_names]
        self.attribute_names = [str(a) for a in attribute_names]
        self.name = name
        self.images = images
        self.granularity = granularity
        self.extra = dict(extra or {})
        self.seen_classes = seen
        self.unseen_classes = unseen

    @property
    def num_classes(self):
        return self.attributes.shape[0]

    @property
    def feature_dim(self):
        return self.features.shape[1]

    @property
    def attribute_dim(self):
        return self.attributes.shape[1]

    def split(self, name, images=False):
        """`(features [n, D], labels [n])` of a split; labels index all C classes.

        Args:
            name: `"trainval"`, `"test_seen"` or `"test_unseen"`.
            images: return the images instead of the features. Defaults to `False`.
        """
        if name not in SPLITS:
            raise ValueError(f"Expected `name` in {SPLITS}. Received: name={name!r}.")
        loc = getattr(self, f"{name}_loc")
        if images:
            if self.images is None:
                raise ValueError(f"{self.name} holds no images (only features).")
            return self.images[loc], self.labels[loc]
        return self.features[loc], self.labels[loc]

    def statistics(self):
        """The row of Xian et al.'s / TAFE-Net's Table 1 for this dataset, plus split sizes."""
        return {
            "dataset": self.name,
            "images": int(self.features.shape[0]),
            "attributes": int(self.attribute_dim),
            "Y": int(self.num_classes),
            "Y seen": int(self.seen_classes.size),
            "Y unseen": int(self.unseen_classes.size),
            "granularity": self.granularity or "-",
            "trainval": int(self.trainval_loc.size),
            "test seen": int(self.test_seen_loc.size),
            "test unseen": int(self.test_unseen_loc.size),
            "feature dim": int(self.feature_dim),
        }

    def __repr__(self):
        return (f"ZeroShotData({self.name!r}, images={self.features.shape[0]}, classes={self.num_classes} "
                f"({self.seen_classes.size} seen, {self.unseen_classes.size} unseen), "
                f"features={self.feature_dim}, attributes={self.attribute_dim})")


def statistics_table(datasets):
    """A Markdown table of `statistics()` rows, like Table 1 of the GZSL papers.

    Args:
        datasets: a `ZeroShotData` or a list of them.

    Returns:
        The table as a string (print it).
    """
    if isinstance(datasets, ZeroShotData):
        datasets = [datasets]
    rows = [d.statistics() for d in datasets]
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(f"{r[k]:,}" if isinstance(r[k], int) else str(r[k]) for k in keys) + " |"
              for r in rows]
    return "\n".join(lines)
