"""Search hyperparameters with keras-tuner: MT-net on sine waves, TAFE-Net's beta on zero-shot data.

    python examples/tuning.py          # writes its trials to ./tuning/

`kzoo.tuning` has a `keras_tuner.HyperModel` per application whose search space is
what the paper ablates. Part 1 tunes MT-net's inner learning rate and inner steps on
MT-net's sinusoid regression (the few-shot hypermodels take episodes, like `fit`;
`kzoo tune mtnet ...` does the same from the shell). Part 2 tunes TAFE-Net's beta
(the weight of its embedding loss) on zero-shot data, scoring each trial by the
per-class accuracy on classes it never trained on. With KZOO_EXAMPLE_STEPS set (the
smoke test) both searches are tiny.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from kzoo import episodes, tuning

STEPS = int(os.environ.get("KZOO_EXAMPLE_STEPS", "0"))
TRIALS, EPOCHS, STEPS_PER_EPOCH = (2, 1, STEPS) if STEPS else (6, 3, 200)
keras.utils.set_random_seed(0)

# -- 1. MT-net on sinusoid regression: inner learning rate and steps, Hyperband-ready -----------------
# (the smoke test pins inner_steps=1: tracing the unrolled inner loop dominates a tiny search)
fixed = {"hidden": (40, 40), "learning_rate": 1e-3, **({"inner_steps": 1} if STEPS else {})}
hyper_mtnet = tuning.MTNetHyperModel(example_shape=(1,), fixed=fixed)
tuner = tuning.make_tuner(hyper_mtnet, "random", objective="val_loss", max_trials=TRIALS,
                          directory="tuning", project_name="mtnet_sine", overwrite=True)
tuner.search(episodes.sinusoid(shots=10, queries=10, tasks=4, seed=0), steps_per_epoch=STEPS_PER_EPOCH,
             epochs=EPOCHS, validation_data=episodes.sinusoid(shots=10, queries=10, tasks=4, seed=1, batches=5),
             verbose=0)
best = tuner.oracle.get_best_trials(1)[0]
print(f"MT-net: best val_loss {best.score:.3f} with {best.hyperparameters.values}")
model = tuner.get_best_models(1)[0]  # reloaded with the best trial's weights
print(f"best model reloaded: {type(model).__name__}(inner_lr={model.inner_lr:.3g}, inner_steps={model.inner_steps})")

# -- 2. TAFE-Net's beta on zero-shot data: scored on held-out classes ---------------------------------
# class c's features are a fixed linear map of its attribute vector plus noise (real data: kzoo.zsl)
rng = np.random.default_rng(0)
attributes = rng.integers(0, 2, size=(20, 8)).astype("float32")
labels = np.repeat(np.arange(20), 20)
features = (attributes[labels] @ rng.normal(size=(8, 32)) + 0.3 * rng.normal(size=(labels.size, 32))).astype("float32")
seen, held_out = np.arange(14), np.arange(14, 20)
train, val = np.isin(labels, seen), np.isin(labels, held_out)

hyper_tafenet = tuning.TAFENetHyperModel(feature_dim=32, task_dim=8, fixed={
    "hidden_units": (64, 64), "task_layers": 2, "task_units": 64, "classifier_units": 32, "learning_rate": 1e-3})
tuner = tuning.make_tuner(hyper_tafenet, "random", objective="val_accuracy", max_trials=TRIALS,
                          directory="tuning", project_name="tafenet_beta", overwrite=True)
tuner.search(features[train], labels[train], tasks=attributes, classes=seen, batch_size=32, epochs=EPOCHS,
             validation_data=(features[val], labels[val]), validation_tasks=attributes, validation_classes=held_out,
             verbose=0)
for trial in tuner.oracle.get_best_trials(TRIALS):
    print(f"TAFE-Net trial beta={trial.hyperparameters.values['beta']}: "
          f"held-out per-class accuracy {trial.score:.3f}")
print(f"best beta = {tuner.get_best_hyperparameters(1)[0].values['beta']}")
