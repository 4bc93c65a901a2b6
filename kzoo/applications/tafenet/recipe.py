"""The TAFE-Net recipe behind `kzoo fit tafenet` and `kzoo evaluate tafenet/...`.

Train on the trainval images of the seen classes, each class described by its
attribute vector (or, for the built-in glyph compositions, a one-hot diacritic ++
one-hot base letter), for a number of epochs fixed in advance (no model selection
on a test split); then score GZSL u/s/H and the composition metrics
(`kzoo.zsl.evaluation.score_compatibility`).
"""

import time

import keras
import numpy as np

from kzoo.zsl.compositional import composition_tasks

#: how classes can be described to TAFE-Net
DESCRIPTIONS = ("attributes", "onehot")


def class_descriptions(data, kind="attributes"):
    """Task descriptions `[C, dim]` of every class: `"attributes"` (any data) or `"onehot"` (glyph compositions)."""
    if kind not in DESCRIPTIONS:
        raise ValueError(f"Expected descriptions in {DESCRIPTIONS}. Received: {kind!r}.")
    if kind == "attributes":
        return np.asarray(data.attributes, np.float32)
    return composition_tasks(data, kind)


def train(model, data, descriptions="attributes", epochs=8, batch_size=64, seed=0, verbose=2,
          learning_rate_drops=()):
    """Fits a compiled `TAFENet` on `data`'s trainval split; returns the training record.

    Args:
        model: a compiled `TAFENet` with `feature_dim` and `task_dim` of the data.
        data: a `ZeroShotData`.
        descriptions: `"attributes"` or `"onehot"` (`class_descriptions`).
        epochs, batch_size: passes over the trainval images and their batch size.
        seed: `keras.utils.set_random_seed` before training. Defaults to `0`.
        learning_rate_drops: epochs (0-based) at whose start both optimizers' learning
            rates are multiplied by 0.1 (the paper: 30 and 45 of 60).

    Returns:
        `{"descriptions", "epochs", "batch_size", "seed", "seconds", "history"}`.
    """

    tasks = class_descriptions(data, descriptions)
    if model.task_dim != tasks.shape[1]:
        raise ValueError(f"Expected a TAFENet with task_dim={tasks.shape[1]} for {descriptions} descriptions. "
                         f"Received: task_dim={model.task_dim}.")
    keras.utils.set_random_seed(seed)
    x, y = data.split("trainval")
    start = time.perf_counter()
    callbacks = [LearningRateDrops(learning_rate_drops)] if learning_rate_drops else []
    history = model.fit(x, y, tasks=tasks, classes=data.seen_classes, batch_size=batch_size, epochs=epochs,
                        verbose=verbose, callbacks=callbacks)
    return {"descriptions": descriptions, "epochs": epochs, "batch_size": batch_size, "seed": seed,
            **({"learning_rate_drops": list(learning_rate_drops)} if learning_rate_drops else {}),
            "seconds": round(time.perf_counter() - start, 1),
            "history": {k: [round(float(v), 4) for v in values] for k, values in history.history.items()}}


class LearningRateDrops(keras.callbacks.Callback):
    """Multiplies the learning rates of `model.optimizer` and `model.task_optimizer` (if any) by `factor`.

    The drops happen at the start of each epoch (0-based) in `epochs`.
    """

    def __init__(self, epochs, factor=0.1):
        super().__init__()
        self.epochs = sorted(int(e) for e in epochs)
        self.factor = float(factor)

    def on_epoch_begin(self, epoch, logs=None):
        if epoch not in self.epochs:
            return
        for optimizer in (self.model.optimizer, getattr(self.model, "task_optimizer", None)):
            if optimizer is not None:
                optimizer.learning_rate.assign(optimizer.learning_rate * self.factor)


def evaluate(model, data, descriptions="attributes", seed=0):
    """GZSL u/s/H, ZSL top-1 and composition top-k/mAP of `model` on `data`'s test splits."""
    tasks = class_descriptions(data, descriptions)
    return score_scorer(lambda features: model.predict(features, tasks=tasks, batch_size=64, verbose=0), data, seed)


def score_scorer(scorer, data, seed=0, calibration=None):
    """`score_compatibility` of any features -> scores callable, with its scoring speed."""
    from kzoo.zsl.evaluation import score_compatibility

    start = time.perf_counter()
    score = score_compatibility(data, scorer, seed=seed, calibration=calibration)
    images = data.test_seen_loc.size + data.test_unseen_loc.size
    score["scoring_images_per_second"] = round(images / (time.perf_counter() - start), 1)
    return score


def replay(model, data, descriptions="attributes"):
    """The predicted class of every 10th test-seen and test-unseen sample, to check a reloaded preset."""
    index = np.concatenate([data.test_seen_loc[::10], data.test_unseen_loc[::10]])
    scores = model.predict(data.features[index], tasks=class_descriptions(data, descriptions), batch_size=64,
                           verbose=0)
    return {"sample_indices": index.tolist(), "predicted_classes": np.argmax(scores, 1).tolist(),
            "note": "every 10th test-seen and test-unseen sample; predicted class over all classes"}
