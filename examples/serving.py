"""Serve a few-shot model: export to TF Serving's layout and call it with plain TensorFlow.

    python examples/serving.py [export_dir]

Loads the `protonet/glyphs_20way_1shot` preset, writes `<export_dir>/1/` (a SavedModel
whose `serving_default` signature adapts to the support set and classifies the
queries), then loads it the way a server would: `tf.saved_model.load`, no kzoo.
To serve it: `docker run -p 8501:8501 -v $PWD/<export_dir>:/models/protonet
-e MODEL_NAME=protonet tensorflow/serving` and POST the three named inputs.
"""

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from kzoo import episodes
from kzoo.applications import ProtoNet
from kzoo.export import export_serving

export_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="kzoo-serving-")
model = ProtoNet.from_preset("glyphs_20way_1shot")
path = export_serving(model, os.path.join(export_dir, "protonet"))
print(f"exported to {path}")

served = tf.saved_model.load(str(path))  # keep a reference while calling it
serve = served.signatures["serving_default"]
print("inputs:", {k: (v.dtype.name, v.shape) for k, v in serve.structured_input_signature[1].items()})

test = episodes.glyphs().split((0.7, 0.1, 0.2), by="alphabet", seed=0)[2]
x, y = next(iter(episodes.few_shot(test, ways=20, shots=1, queries=5, seed=7, batches=1)))
outputs = serve(support_x=x["support_x"], support_y=x["support_y"], query_x=x["query_x"])
accuracy = np.mean(outputs["probabilities"].numpy().argmax(-1) == y.numpy())
print(f"served 20-way 1-shot episode: probabilities {tuple(outputs['probabilities'].shape)}, accuracy {accuracy:.2f}")
print("same as Keras:", np.allclose(outputs["logits"], model.predict(x, verbose=0), atol=1e-4))
