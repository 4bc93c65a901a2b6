"""AMAZ's final classifiers, trained on synthetic features (Section II-E).

Softmax (two dense layers, softmax; eq. 13 instance weights) and a one-vs-rest
linear SVM with the squared hinge loss (eq. 14 class weights), both small Keras
models trained with `fit` on whole arrays. Features are standardised with a
`keras.layers.Normalization` adapted on the training features.
"""

import keras
import numpy as np
import tensorflow as tf

from kzoo.applications.amaz.losses import class_weights


def _check(features, labels, num_classes, sample_weight):
    features = np.asarray(features, np.float32)
    labels = np.asarray(labels)
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise ValueError(f"Expected `features` [M, F] and `labels` [M]. Received: {features.shape}, {labels.shape}.")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Expected `labels` in 0..{num_classes - 1}. Received: {labels.min()}..{labels.max()}.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, np.float32)
        if sample_weight.shape != labels.shape or np.any(sample_weight < 0) or not np.all(np.isfinite(sample_weight)):
            raise ValueError(f"Expected non-negative finite `sample_weight` of shape {labels.shape}. "
                             f"Received: shape {sample_weight.shape}.")
    return features, labels.astype(np.int32), sample_weight


def _fit(model, features, targets, sample_weight, epochs, batch_size, seed):
    # all epochs as one Keras epoch over a repeated, reshuffled dataset: Keras's
    # per-epoch overhead dominated training these small models
    if sample_weight is None:
        sample_weight = np.ones(len(features), np.float32)
    ds = tf.data.Dataset.from_tensor_slices((features, targets, sample_weight))
    ds = ds.shuffle(len(features), seed=seed, reshuffle_each_iteration=True).batch(batch_size).repeat(epochs)
    model.fit(ds.prefetch(tf.data.AUTOTUNE), epochs=1, verbose=0)


def _normalizer(features):
    norm = keras.layers.Normalization(axis=-1)
    norm.adapt(features)
    return norm


def softmax_classifier(features, labels, num_classes, sample_weight=None, hidden=512, epochs=20, batch_size=128,
                       learning_rate=1e-3, seed=0):
    """Trains the paper's softmax classifier: Dense(hidden, ReLU) -> Dense(num_classes) -> softmax.

    With `sample_weight = Q(a')` (eq. 12) this is the weighted-softmax of eq. (13):
    `L = 1/|A'| sum Q(a') CE(softmax(x'), y)`.

    Args:
        features: `[M, F]` (synthetic) training features.
        labels: int `[M]`, 0..num_classes-1.
        num_classes: number of classes.
        sample_weight: optional `[M]` instance weights. Defaults to `None` (all 1).
        hidden: units of the first layer. Defaults to `512`.
        epochs: passes over the data (the paper trains 20). Defaults to `20`.
        batch_size: Defaults to `128`. learning_rate: Adam's. Defaults to `1e-3`.
        seed: weight-initialisation and shuffling seed. Defaults to `0`.

    Returns:
        A `keras.Model` from `[M, F]` features to `[M, num_classes]` logits.
    """
    features, labels, sample_weight = _check(features, labels, num_classes, sample_weight)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((features.shape[1],)), _normalizer(features),
                              keras.layers.Dense(hidden, activation="relu"), keras.layers.Dense(num_classes)],
                             name="softmax_classifier")
    model.compile(keras.optimizers.Adam(learning_rate),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    _fit(model, features, labels, sample_weight, epochs, batch_size, seed)
    return model


def linear_svm(features, labels, num_classes, class_weight=None, regularization=1e-4, epochs=30, batch_size=256,
               learning_rate=1e-2, seed=0):
    """Trains a one-vs-rest linear SVM: squared hinge loss, L2 penalty, optional class weights.

    `L = mean_i w_{y_i} mean_c max(0, 1 - t_ic f_c(x_i))^2 + regularization ||W||^2`,
    with `t_ic = +1` for the true class and `-1` otherwise. With `class_weight`
    from `class_weights` (eq. 14) this is the paper's weighted-SVM.

    Args:
        features: `[M, F]` training features. labels: int `[M]`.
        num_classes: number of classes.
        class_weight: optional `[num_classes]` weights. Defaults to `None` (all 1).
        regularization: L2 coefficient. Defaults to `1e-4`.
        epochs, batch_size, learning_rate: Adam training. Defaults to `30`, `256`, `1e-2`.
        seed: Defaults to `0`.

    Returns:
        A `keras.Model` from features to `[M, num_classes]` decision values.
    """
    features, labels, _ = _check(features, labels, num_classes, None)
    sample_weight = None
    if class_weight is not None:
        class_weight = np.asarray(class_weight, np.float32)
        if class_weight.shape != (num_classes,) or np.any(class_weight < 0):
            raise ValueError(f"Expected non-negative `class_weight` of shape ({num_classes},). "
                             f"Received: {class_weight.shape}.")
        sample_weight = class_weight[labels]
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((features.shape[1],)), _normalizer(features),
                              keras.layers.Dense(num_classes, kernel_regularizer=keras.regularizers.L2(regularization))],
                             name="linear_svm")
    model.compile(keras.optimizers.Adam(learning_rate), keras.losses.SquaredHinge())
    targets = 2.0 * np.eye(num_classes, dtype=np.float32)[labels] - 1.0
    _fit(model, features, targets, sample_weight, epochs, batch_size, seed)
    return model


def train_final_classifiers(features, labels, num_classes, quality, kinds=("softmax", "weighted_softmax", "svm",
                                                                           "weighted_svm"), seed=0, **options):
    """The four final classifiers of Table II on one synthetic training set.

    Args:
        features, labels: synthetic training set. num_classes: its classes.
        quality: `[M]` data quality `Q(a')` of each synthetic feature (eq. 12).
        kinds: which classifiers. Defaults to all four.
        seed: Defaults to `0`.
        **options: `softmax_epochs` (20), `svm_epochs` (30), `batch_size` (128 for the
            softmax, twice that for the SVM) overrides.

    Returns:
        `{kind: keras.Model}`.
    """
    out = {}
    for kind in kinds:
        if kind in ("softmax", "weighted_softmax"):
            out[kind] = softmax_classifier(features, labels, num_classes,
                                           sample_weight=quality if kind == "weighted_softmax" else None,
                                           epochs=options.get("softmax_epochs", 20),
                                           batch_size=options.get("batch_size", 128), seed=seed)
        elif kind in ("svm", "weighted_svm"):
            weights = class_weights(quality, labels, num_classes).numpy() if kind == "weighted_svm" else None
            out[kind] = linear_svm(features, labels, num_classes, class_weight=weights,
                                   epochs=options.get("svm_epochs", 30),
                                   batch_size=2 * options.get("batch_size", 128), seed=seed)
        else:
            raise ValueError(f"Unknown classifier kind {kind!r}. Expected softmax, weighted_softmax, svm or "
                             "weighted_svm.")
    return out
