"""Diagnostic: AMAZ's task embedding at synthesis, per class (the paper's replicated attribute set)
vs the embedding of the whole set of classes being synthesized (as in training, eq. 1 over N classes).

    python applications/amaz/diagnose_embedding.py PRESET_DIR

ZSL softmax (100 synthetic features per unseen class, seed 0, all test_unseen features, sigma = the
preset's synthesis_sigma) for both; the embedding of a task of 10 random classes is also shown.
"""
import sys
import numpy as np
import tensorflow as tf
from kzoo import zsl
from kzoo.applications import AMAZ
from kzoo.applications.amaz import zsl_scores

model = AMAZ.from_preset(sys.argv[1])
data = zsl.glyph_compositions(verbose=0)
scale = float(data.split("trainval")[0].max())
x, y = data.split("test_unseen")
x = x / scale
unseen = data.unseen_classes
task = data.attributes[unseen].astype(np.float32)
print("class mode:", round(zsl_scores(model, x, y, data.attributes, unseen, kinds=("softmax",), batch_size=256)["softmax"], 4), flush=True)
e = model.task_embedding(task[None], False)  # [1, E], eq. (1) over the 173 unseen classes


def synth(class_attributes, num_per_class, seed=0, **_):
    labels = np.repeat(np.arange(len(class_attributes)), num_per_class)
    z = model.synthesis_sigma * tf.random.stateless_normal([labels.size, model.noise_dim], [seed, 7])
    a = tf.constant(np.asarray(class_attributes, np.float32)[labels])[None]
    return model.generate(z[None], a, e, training=False).numpy()[0], labels


model.synthesize = synth
print("set mode (all unseen):", round(zsl_scores(model, x, y, data.attributes, unseen, kinds=("softmax",), batch_size=256)["softmax"], 4), flush=True)
