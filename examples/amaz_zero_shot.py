"""Zero-shot learning with AMAZ on the built-in compositional glyph set.

    python examples/amaz_zero_shot.py

Meta-trains a small AMAZ on tasks of seen letters (Algorithm 1), synthesizes
features for letters it never saw from their attributes (script, case, base letter,
diacritics), trains a quality-weighted softmax classifier on them and classifies the
real unseen letters. The recipe of applications/amaz (ReLU output, no dropout,
synthesis noise 0.1) at 300 instead of 2,000 meta-iterations; the preset
`AMAZ.from_preset("glyphs_zsl")` is the 2,000-iteration model. A few minutes on a
laptop CPU. Set KZOO_EXAMPLE_STEPS for a quicker, smaller smoke run.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kzoo import zsl
from kzoo.applications import AMAZ
from kzoo.applications.amaz import zero_shot_tasks, zsl_scores

STEPS = int(os.environ.get("KZOO_EXAMPLE_STEPS", 300))

data = zsl.glyph_compositions(verbose=0)
features, labels = data.split("trainval")
scale = features.max()  # features in [0, 1] (f-CLSWGAN's MinMax); raw values up to 13 made training diverge
features = features / scale
print(f"{data.seen_classes.size} seen and {data.unseen_classes.size} unseen letters, "
      f"{data.feature_dim}-d features, {data.attribute_dim} attributes")

width = 256 if STEPS >= 100 else 32
model = AMAZ(feature_dim=data.feature_dim, attribute_dim=data.attribute_dim, num_classes=data.seen_classes.size,
             generator_units=(width,) * 3, embedding_dim=width // 2, discriminator_units=(width, width // 2),
             classifier_units=(width // 2,) * 2, decoder_units=(width, width // 2),
             meta_learning_rates=(1e-3, 1e-3, 1e-3), dropout=0.0, output_activation="relu", synthesis_sigma=0.1)
# three Adam meta-optimizers: D, (AP, AM, AD), (G, C); tracing the train step takes ~30 s,
# so a handful of smoke-test steps runs faster eagerly
model.compile(run_eagerly=STEPS < 20)
tasks = zero_shot_tasks(features, labels, data.attributes, data.seen_classes, ways=10, shots=5, queries=3, tasks=10)
model.fit(tasks, steps_per_epoch=STEPS, epochs=1, verbose=2)

# synthesize: one class = one task, its attributes replicated (noise sigma 0.1, as in training)
unseen = data.unseen_classes
synthetic, synthetic_labels = model.synthesize(data.attributes[unseen[:3]], num_per_class=5)
print(f"synthetic features for {[data.class_names[c] for c in unseen[:3]]}: {synthetic.shape}")

test_x, test_y = data.split("test_unseen")
test_x = test_x / scale
scores = zsl_scores(model, test_x, test_y, data.attributes, unseen, num_per_class=100 if STEPS >= 100 else 10,
                    kinds=("weighted_softmax",), softmax_epochs=20 if STEPS >= 100 else 2)
print(f"ZSL per-class top-1 accuracy (weighted softmax) on {unseen.size} unseen letters: "
      f"{scores['weighted_softmax']:.3f} +- {scores['ci95']['weighted_softmax']:.3f} (chance {1 / unseen.size:.3f})")
