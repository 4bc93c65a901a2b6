"""Task2Vec quickstart: embed three character tasks with the built-in probe and compare them.

    python examples/task2vec_quickstart.py
"""

import os

from kzoo import episodes
from kzoo.applications import Task2Vec, d_asym, d_sym

samples = 64 * int(os.environ.get("KZOO_EXAMPLE_STEPS", "16"))  # images per Fisher epoch
t2v = Task2Vec.from_preset("probe_glyphs_resnet", method="montecarlo", max_samples=samples)
glyphs = episodes.glyphs()


def script_task(script, classes=10):
    ids = [c for c in range(glyphs.num_classes) if glyphs.alphabets[c] == script][:classes]
    return glyphs.subset(ids, name=script)  # a Source: images [M, 28, 28, 1], labels 0..9


tasks = {name: script_task(name) for name in ("Greek", "Cyrillic", "Hebrew")}
embeddings = {name: t2v.embed(task, seed=0) for name, task in tasks.items()}
for name, e in embeddings.items():
    print(f"{name}: {e.vector.size} filters, L1 norm {abs(e.vector).sum():.4f}")
print(f"d_sym(Greek, Cyrillic) = {d_sym(embeddings['Greek'], embeddings['Cyrillic']):.3f}")
print(f"d_sym(Greek, Hebrew)   = {d_sym(embeddings['Greek'], embeddings['Hebrew']):.3f}")
print(f"d_asym(Cyrillic -> Greek) = {d_asym(embeddings['Cyrillic'], embeddings['Greek']):.3f}")
embeddings["Greek"].save("greek_task2vec.npz")
