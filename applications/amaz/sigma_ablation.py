"""ZSL (softmax final classifier) of a saved AMAZ preset synthesizing with different noise sigmas.

    python applications/amaz/sigma_ablation.py PRESET_DIR SIGMA [SIGMA ...]

Same data, scaling and protocol as reproduce.py (100 synthetic features per unseen class, seed 0,
all test_unseen features); only the synthesis sigma changes.
"""
import sys
import numpy as np
from kzoo import zsl
from kzoo.applications import AMAZ
from kzoo.applications.amaz import zsl_scores

model = AMAZ.from_preset(sys.argv[1])
data = zsl.glyph_compositions(verbose=0)
scale = float(data.split("trainval")[0].max())
x, y = data.split("test_unseen")
for sigma in map(float, sys.argv[2:]):
    model.synthesis_sigma = sigma
    s = zsl_scores(model, x / scale, y, data.attributes, data.unseen_classes, kinds=("softmax",), seed=0, batch_size=256)
    print(f"sigma {sigma}: ZSL softmax {s['softmax']:.4f} +- {s['ci95']['softmax']:.4f}", flush=True)
