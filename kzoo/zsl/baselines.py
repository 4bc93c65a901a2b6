"""Zero-shot baselines that TAFE-Net and AMAZ are compared with: the same features, splits and metrics.

- `Bilinear`: a bilinear compatibility F(x, c) = x W a_c trained with a softmax over
  the seen classes (the ALE / DeViSE family; Akata et al. 2016, Frome et al. 2013,
  with the cross-entropy in place of their ranking losses).
- `ESZSL`: Romera-Paredes & Torr, "An embarrassingly simple approach to zero-shot
  learning", ICML 2015: a linear compatibility x V s_c in closed form (their eq. 5).
- `kzoo.zsl.CLSWGAN`: a feature-generating GAN without modulation (its own module).

Each baseline is fitted on the seen classes (`fit(x, y, attributes, classes)`) and
scores features against any classes' descriptions (`scores(x, attributes)`), so
`kzoo.zsl.evaluation.score_compatibility(data, lambda x: model.scores(x, data.attributes))`
reports its GZSL u/s/H and ZSL top-1 exactly as for TAFE-Net and AMAZ.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> attributes = rng.integers(0, 2, size=(20, 12)).astype("float32")  # 20 classes, 12 attributes
>>> y = np.repeat(np.arange(20), 30)
>>> x = attributes[y] @ rng.normal(size=(12, 40)) + 0.1 * rng.normal(size=(600, 40))  # features [600, 40]
>>> seen, unseen = y < 15, np.arange(15, 20)
>>> model = ESZSL(gamma=1.0, lam=1.0).fit(x[seen], y[seen], attributes, classes=np.arange(15))
>>> predicted = unseen[np.argmax(model.scores(x[~seen], attributes[unseen]), 1)]
>>> round(float(np.mean(predicted == y[~seen])), 2)  # ZSL top-1 over the 5 unseen classes (chance: 0.2)
0.8
"""

import numpy as np

from kzoo.checks import check_float, check_int
from kzoo.zsl.validation import held_out_classes


def _check_fit(x, y, attributes, classes):
    x = np.asarray(x)
    y = np.asarray(y).reshape(-1)
    attributes = np.asarray(attributes)
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError(f"Expected features `x` [N, D] with one label each. Received: x.shape={x.shape}, "
                         f"{y.size} labels.")
    if attributes.ndim != 2:
        raise ValueError(f"Expected `attributes` [C, a]. Received: shape {attributes.shape}.")
    classes = np.unique(y) if classes is None else np.asarray(classes).reshape(-1)
    position = np.full(attributes.shape[0], -1)
    position[classes] = np.arange(classes.size)
    missing = sorted(set(np.unique(y).tolist()) - set(classes.tolist()))
    if missing:
        raise ValueError(f"Expected every label among `classes`. Received: labels {missing[:5]} outside them.")
    return x, position[y], attributes, classes


class _LinearCompatibility:
    """F(x, c) = x W a_c with a fitted W `[D, a]` (`self.weights`)."""

    weights = None

    def scores(self, x, attributes):
        """Compatibility scores `[N, C]` of features `x` `[N, D]` with the classes `attributes` `[C, a]`."""
        if self.weights is None:
            raise ValueError("Call `fit` before `scores`.")
        return np.asarray(x, np.float64) @ self.weights @ np.asarray(attributes, np.float64).T


class Bilinear(_LinearCompatibility):
    """Bilinear compatibility F(x, c) = x W a_c, a softmax over the seen classes' scores.

    W `[D, a]` is trained with Adam on the cross-entropy of softmax_c F(x, c) over the
    seen classes; any class is then scored by its description a_c.

    Args:
        epochs: passes over the training features. Defaults to `20`.
        learning_rate: Adam's. Defaults to `1e-3`.
        batch_size: Defaults to `64`.
        seed: initialisation and shuffling seed. Defaults to `0`.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> attributes = rng.integers(0, 2, size=(20, 12)).astype("float32")
    >>> y = np.repeat(np.arange(20), 30)
    >>> x = attributes[y] @ rng.normal(size=(12, 40)) + 0.1 * rng.normal(size=(600, 40))
    >>> seen, unseen = y < 15, np.arange(15, 20)
    >>> model = Bilinear(epochs=30, learning_rate=1e-2).fit(x[seen], y[seen], attributes, classes=np.arange(15))
    >>> predicted = unseen[np.argmax(model.scores(x[~seen], attributes[unseen]), 1)]
    >>> float(np.mean(predicted == y[~seen])) > 0.6  # chance: 0.2
    True
    """

    def __init__(self, epochs=20, learning_rate=1e-3, batch_size=64, seed=0):
        self.epochs = check_int(epochs, "epochs", 1)
        self.learning_rate = check_float(learning_rate, "learning_rate", 0)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        self.seed = check_int(seed, "seed", 0)
        self.weights = None  # W, [D, a]

    def fit(self, x, y, attributes, classes=None, verbose=0):
        """Trains W on features `x` `[N, D]` with labels `y` `[N]` (rows of `attributes` `[C, a]`); `self`."""
        import keras

        x, index, attributes, classes = _check_fit(x, y, attributes, classes)
        keras.utils.set_random_seed(self.seed)
        w = keras.layers.Dense(attributes.shape[1], use_bias=False, name="W")
        inputs = keras.Input((x.shape[1],))
        seen = keras.ops.convert_to_tensor(attributes[classes].astype("float32"))
        model = keras.Model(inputs, keras.ops.matmul(w(inputs), keras.ops.transpose(seen)))
        model.compile(keras.optimizers.Adam(self.learning_rate),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x.astype("float32"), index, batch_size=self.batch_size, epochs=self.epochs, verbose=verbose)
        self.weights = np.asarray(w.kernel, np.float64)
        return self


class ESZSL(_LinearCompatibility):
    """Embarrassingly simple zero-shot learning: V = (X^T X + gamma I)^-1 X^T Y S (S^T S + lambda I)^-1.

    X `[N, D]` are the training features, Y `[N, z]` their labels as +1 (the class)
    and -1 (the other seen classes), S `[z, a]` the seen classes' descriptions. The
    score of class c is x V s_c (eq. 5 of the paper; regularizers gamma on the
    feature side, lambda on the attribute side, and beta = gamma lambda).

    Args:
        gamma: the regularization of the feature side (the paper searches 10^-3..10^3).
            Defaults to `1.0`.
        lam: the regularization of the description side. Defaults to `1.0`.
    """

    def __init__(self, gamma=1.0, lam=1.0):
        self.gamma = check_float(gamma, "gamma", 0)
        self.lam = check_float(lam, "lam", 0)
        self.weights = None  # V, [D, a]

    def fit(self, x, y, attributes, classes=None):
        """Solves for V on features `x` `[N, D]` with labels `y` `[N]` (rows of `attributes` `[C, a]`).

        Args:
            classes: the seen classes (rows of `attributes` that `y` uses). Defaults to
                the classes present in `y`.

        Returns:
            `self`.
        """
        x, index, attributes, classes = _check_fit(x, y, attributes, classes)
        x, attributes = x.astype(np.float64), attributes.astype(np.float64)
        targets = -np.ones((index.size, classes.size))
        targets[np.arange(index.size), index] = 1.0
        s = attributes[classes]  # [z, a]
        left = np.linalg.solve(x.T @ x + self.gamma * np.eye(x.shape[1]), x.T @ targets @ s)  # [D, a]
        self.weights = np.linalg.solve((s.T @ s + self.lam * np.eye(s.shape[1])).T, left.T).T
        return self

    @classmethod
    def select(cls, x, y, attributes, classes, grid=tuple(10.0 ** k for k in range(-3, 4)), validation_fraction=0.2,
               seed=0):
        """The paper's protocol: choose gamma and lambda on held-out *seen* classes, then refit on all of them.

        A `validation_fraction` of `classes` (`kzoo.zsl.validation.held_out_classes`:
        seeded, and each still described by the attributes of the others) plays the
        unseen classes: each (gamma, lambda) of `grid` x `grid` is fitted on the others and
        scored by per-class top-1 among the held-out classes. No test data is used.

        Returns:
            `(model, search)`: the model refitted on all `classes` with the best pair,
            and `{"gamma", "lam", "validation_accuracy", "validation_classes", "grid"}`.
        """
        from kzoo.metrics import per_class_accuracy

        x, y, classes = np.asarray(x), np.asarray(y).reshape(-1), np.asarray(classes).reshape(-1)
        held = held_out_classes(attributes, classes, validation_fraction, seed)
        rest = np.setdiff1d(classes, held)
        train, val = np.isin(y, rest), np.isin(y, held)
        results = []
        for gamma in grid:
            for lam in grid:
                model = cls(gamma, lam).fit(x[train], y[train], attributes, classes=rest)
                predicted = held[np.argmax(model.scores(x[val], np.asarray(attributes)[held]), 1)]
                results.append((per_class_accuracy(y[val], predicted), gamma, lam))
        accuracy, gamma, lam = max(results, key=lambda r: r[0])
        search = {"gamma": gamma, "lam": lam, "validation_accuracy": round(float(accuracy), 4),
                  "validation_classes": int(held.size), "grid": [float(g) for g in grid]}
        return cls(gamma, lam).fit(x, y, attributes, classes=classes), search
