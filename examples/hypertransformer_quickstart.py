"""HyperTransformer quickstart: generate a small CNN per episode, then inspect and reuse it.

    python examples/hypertransformer_quickstart.py

Trains a HyperTransformer (logits layer generated on top of a learned 8-channel CNN)
on 5-way 1-shot episodes of 6 built-in glyph scripts, scores it on scripts it never
saw, then pulls out the CNN weights it generated for one episode and classifies new
images with them alone. A few minutes on a laptop CPU (set KZOO_EXAMPLE_STEPS to
shorten it); the paper's SGD schedule needs far longer, so this uses Adam.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from kzoo import episodes
from kzoo.applications import HyperTransformer
from kzoo.training import evaluate_episodes, format_score

STEPS = int(os.environ.get("KZOO_EXAMPLE_STEPS", 1500))

train, validation, test = episodes.glyphs().split((0.7, 0.1, 0.2), by="alphabet", seed=0)
model = HyperTransformer(num_ways=5, channels=8, generate="logits", num_layers=2)
model.compile(optimizer=keras.optimizers.Adam(1e-3))  # compile() alone: the paper's SGD 0.02
model.fit(episodes.few_shot(train, ways=5, shots=1, queries=5, tasks=4), steps_per_epoch=STEPS, epochs=1,
          verbose=2)

test_episodes = episodes.few_shot(test, ways=5, shots=1, queries=15, tasks=20, seed=1234, batches=5)
score = evaluate_episodes(model, test_episodes, verbose=0)
print(f"5-way 1-shot accuracy on unseen scripts: {format_score(score)} (chance 20%)")

# The generated model of one episode: conv kernels, logits kernel and bias per task.
x, y = next(iter(test_episodes))
weights = model.generate_weights(x["support_x"], x["support_y"])
print("generated weights:", {name: tuple(w.shape) for name, w in weights.items()})
logits = model.classify(x["query_x"], weights)  # the generated CNN on its own
same = np.allclose(logits.numpy(), model.predict(x, verbose=0), atol=1e-4)
print(f"generated CNN alone gives the model's logits: {same}")
