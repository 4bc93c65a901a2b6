"""GZSL scoring speed: images/second when TAFE-Net scores every image against all classes.

    python benchmarks/tafenet_scoring.py                 # preset glyphs_gzsl's architecture, 692 classes
    python benchmarks/tafenet_scoring.py --classes 200 --batch 64 --rounds 5

TAFE-Net scores each (image, class) pair, so its cost grows with the number of
classes. Compared, on the same random features and class attributes (speed does not
depend on the weights): (1) `TAFENet.forward` on all classes at once (the first
factorized layer's shared matmul done once per image, broadcast over classes), inside
a `tf.function`; (2) the same model called once per class in a Python loop (the naive
way); (3) a bilinear compatibility x W A^T (ALE/DeViSE-style, the baseline of the
README). Medians of interleaved rounds; ratios against the loop.
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from kzoo.applications import TAFENet


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", type=int, default=692)
    parser.add_argument("--feature-dim", type=int, default=256)
    parser.add_argument("--task-dim", type=int, default=81)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--classifier-units", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((args.batch, args.feature_dim), dtype=np.float32))
    tasks = tf.constant(rng.integers(0, 2, (args.classes, args.task_dim)).astype(np.float32))
    model = TAFENet(feature_dim=args.feature_dim, task_dim=args.task_dim, hidden_units=(args.hidden,) * 3,
                    task_units=args.hidden, classifier_units=args.classifier_units)
    model.build()
    w = tf.constant(rng.normal(size=(args.feature_dim, args.task_dim)).astype(np.float32))

    all_at_once = tf.function(lambda f, t: model.forward(f, t, training=False)[0])
    one_class = tf.function(lambda f, t: model.forward(f, t, training=False)[0])
    bilinear = tf.function(lambda f, t: tf.matmul(tf.matmul(f, w), t, transpose_b=True))

    def loop(f, t):
        return tf.concat([one_class(f, t[c:c + 1]) for c in range(args.classes)], axis=1)

    runs = {"tafenet_all_classes": lambda: all_at_once(x, tasks), "tafenet_python_loop": lambda: loop(x, tasks),
            "bilinear": lambda: bilinear(x, tasks)}
    np.testing.assert_allclose(runs["tafenet_all_classes"]().numpy(), runs["tafenet_python_loop"]().numpy(),
                               rtol=1e-3, atol=1e-4)
    times = {k: [] for k in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn().numpy()
            times[name].append(time.perf_counter() - start)
    rate = {k: args.batch / statistics.median(v) for k, v in times.items()}
    result = {"classes": args.classes, "batch": args.batch, "hidden": args.hidden,
              "images_per_second": {k: round(v, 1) for k, v in rate.items()},
              "pairs_per_second_tafenet": round(rate["tafenet_all_classes"] * args.classes),
              "speedup_vs_python_loop": round(rate["tafenet_all_classes"] / rate["tafenet_python_loop"], 1)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
