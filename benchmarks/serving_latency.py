"""Inference latency of one episode: the Keras model vs its loaded SavedModel, in one run.

    python benchmarks/serving_latency.py                      # ProtoNet preset glyphs_20way_1shot
    python benchmarks/serving_latency.py --preset omniglot_20way_1shot --runs 200

One 20-way 1-shot episode with 15 queries (T=1, 320 images of 28x28). Keras: the
model called inside a `tf.function` (what `predict_on_batch` compiles); SavedModel:
the exported `serving_default` signature. Medians over interleaved runs; the ratio
is SavedModel / Keras latency (1.0 = same speed).
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from kzoo.applications import ProtoNet
from kzoo.export import export_serving


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="glyphs_20way_1shot")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--ways", type=int, default=20)
    parser.add_argument("--queries", type=int, default=15)
    args = parser.parse_args()

    model = ProtoNet.from_preset(args.preset)
    rng = np.random.RandomState(0)
    n, q = args.ways, args.queries
    x = {"support_x": tf.constant(rng.rand(1, n, 28, 28, 1).astype("float32")),
         "support_y": tf.constant(np.arange(n, dtype="int32")[None]),
         "query_x": tf.constant(rng.rand(1, n * q, 28, 28, 1).astype("float32"))}
    keras_call = tf.function(lambda episode: model(episode, training=False))
    with tempfile.TemporaryDirectory() as folder:
        served = tf.saved_model.load(str(export_serving(model, folder)))
        serve = served.signatures["serving_default"]
        np.testing.assert_allclose(serve(**x)["logits"], keras_call(x), atol=1e-4)
        keras_times, served_times = [], []
        for _ in range(5):  # warm up both
            keras_call(x).numpy()
            serve(**x)["logits"].numpy()
        for _ in range(args.runs):
            start = time.perf_counter()
            keras_call(x).numpy()
            keras_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            serve(**x)["logits"].numpy()
            served_times.append(time.perf_counter() - start)
    k, s = statistics.median(keras_times), statistics.median(served_times)
    print(f"ProtoNet/{args.preset}: one {n}-way 1-shot episode, {n * q} queries, median of {args.runs}")
    print(f"Keras model (tf.function)  {1000 * k:7.2f} ms")
    print(f"SavedModel serving_default {1000 * s:7.2f} ms")
    print(f"ratio SavedModel / Keras = {s / k:.2f}")


if __name__ == "__main__":
    main()
