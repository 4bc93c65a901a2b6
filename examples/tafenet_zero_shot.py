"""Zero-shot recognition of unseen diacritic letters with TAFE-Net on the built-in glyph set.

    python examples/tafenet_zero_shot.py

Classes are letters described by binary attributes (script, case, base letter,
diacritic marks); unseen letters combine attributes seen elsewhere ("ö" when "o",
"ä" and "ó" were seen). TAFE-Net generates task-specific factors of its feature layers
from a class's attributes and scores every (image feature, class) pair. By default this
uses the full set (692 classes; the first run builds and caches it, a few minutes) and
trains 2 epochs; with KZOO_EXAMPLE_STEPS set (the smoke test) a small Latin subset.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from kzoo import zsl
from kzoo.applications import TAFENet

STEPS = os.environ.get("KZOO_EXAMPLE_STEPS")
if STEPS:  # small and quick: Latin vowels and their accented forms, tiny feature backbone
    data = zsl.glyph_compositions(image_size=16, examples_per_class=6, scripts=["Latin"], bases="aeouAEOU",
                                  backbone_channels=8, backbone_epochs=2, verbose=0)
else:
    data = zsl.glyph_compositions()
print(zsl.statistics_table(data))

keras.utils.set_random_seed(0)
model = TAFENet(feature_dim=data.feature_dim, task_dim=data.attribute_dim, hidden_units=(256, 256, 256),
                task_units=256, classifier_units=128, classes_per_step=64)
model.compile(keras.optimizers.Adam(1e-3))  # and 1e-4 for the task embedding network
x, y = data.split("trainval")
model.fit(x, y, tasks=data.attributes, classes=data.seen_classes, batch_size=64, epochs=2,
          steps_per_epoch=int(STEPS) if STEPS else None, verbose=2)

# Generalized zero-shot: score test images of seen and unseen classes against ALL classes.
xs, ys = data.split("test_seen")
xu, yu = data.split("test_unseen")
pred_seen = np.argmax(model.predict(xs, tasks=data.attributes, verbose=0), 1)
pred_unseen = np.argmax(model.predict(xu, tasks=data.attributes, verbose=0), 1)
scores = zsl.gzsl_scores(ys, pred_seen, yu, pred_unseen)
print(f"unseen u = {scores['u']:.3f}, seen s = {scores['s']:.3f}, harmonic mean H = {scores['H']:.3f}")
pairs = zip(yu[:8], pred_unseen[:8])
print("first unseen images (true->predicted):", [f"{data.class_names[t]}->{data.class_names[p]}" for t, p in pairs])
