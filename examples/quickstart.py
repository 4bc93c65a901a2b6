"""Quickstart: few-shot classification of unseen scripts with ProtoNet on built-in glyphs.

    python examples/quickstart.py

Trains a small ProtoNet on episodes of 6 scripts, scores it on 5-way 1-shot episodes
of scripts it never saw, and predicts one episode. About a minute on a laptop CPU
(the first run also renders the glyphs, ~30 s, then caches them).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kzoo import episodes
from kzoo.applications import ProtoNet
from kzoo.training import evaluate_episodes, format_score

STEPS = int(os.environ.get("KZOO_EXAMPLE_STEPS", 200))

source = episodes.glyphs()
train, validation, test = source.split((0.7, 0.1, 0.2), by="alphabet", seed=0)
print(f"train on {train.alphabet_names}, test on {test.alphabet_names}")

model = ProtoNet(channels=32)
model.compile()  # Adam(1e-3), query cross-entropy, accuracy
model.fit(episodes.few_shot(train, ways=20, shots=1, queries=5, tasks=2),
          steps_per_epoch=STEPS, epochs=1, shuffle=False)

test_episodes = episodes.few_shot(test, ways=5, shots=1, queries=15, tasks=20, seed=1234, batches=5)
score = evaluate_episodes(model, test_episodes, verbose=0)
print(f"5-way 1-shot accuracy on unseen scripts: {format_score(score)} (chance 20%)")

x, y = next(iter(test_episodes))
logits = model.predict(x, verbose=0)  # [T, Q, N]
print(f"first episode: predicted {logits[0].argmax(-1)[:10]}, true {y[0].numpy()[:10]}")
