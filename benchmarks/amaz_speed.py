"""AMAZ speed: meta-iterations per second (Algorithm 1) and synthesis throughput.

    python benchmarks/amaz_speed.py            # glyph-set sizes (F=256, A=81) and the paper's (F=2048, A=85)
    python benchmarks/amaz_speed.py --quick    # glyph-set sizes only

Meta-training is timed with `model.fit` on a fixed batch of tasks (10-way 5-shot
support, 10-way 3-shot query, 10 tasks; data loading is not measured) after a
warm-up fit that traces; synthesis is `model.synthesize` of 100 features for each of
100 classes after a warm-up call. Rates are medians of `--repeats` timings, and the
modulated model is compared with the ZSML-like baseline (`modulate=False`).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from kzoo.applications import AMAZ
from kzoo.applications.amaz import ZeroShotTaskSampler

CONFIGS = {
    "glyph (F=256, A=81, 256-wide)": dict(feature_dim=256, attribute_dim=81, generator_units=(256, 256, 256),
                                          embedding_dim=128, discriminator_units=(256, 128),
                                          classifier_units=(128, 128), decoder_units=(256, 128)),
    "paper (F=2048, A=85, 2048-wide)": dict(feature_dim=2048, attribute_dim=85),
}


def fixed_batch(feature_dim, attribute_dim, classes=40):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(classes), 10)
    sampler = ZeroShotTaskSampler(rng.normal(size=(labels.size, feature_dim)), labels,
                                  rng.uniform(size=(classes, attribute_dim)), np.arange(classes))
    return sampler(0)


def median_rate(fn, count, repeats):
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"TensorFlow {tf.__version__}, CPU threads: {os.cpu_count()}")
    print("| configuration | model | parameters | meta-iterations/s | synthesis features/s |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, sizes in list(CONFIGS.items())[:1 if args.quick else None]:
        batch = fixed_batch(sizes["feature_dim"], sizes["attribute_dim"])
        data = tf.data.Dataset.from_tensors(batch).repeat()
        attributes = np.random.default_rng(1).uniform(size=(100, sizes["attribute_dim"])).astype("float32")
        baseline = None
        for label, modulate in (("AMAZ", True), ("ZSML-like (no modulation)", False)):
            model = AMAZ(num_classes=40, modulate=modulate, **sizes)
            model.compile()
            model.fit(data, steps_per_epoch=2, verbose=0)  # trace
            train = median_rate(lambda: model.fit(data, steps_per_epoch=args.steps, verbose=0), args.steps,
                                args.repeats)
            model.synthesize(attributes, 100)  # trace
            synth = median_rate(lambda: model.synthesize(attributes, 100), 100 * 100, args.repeats)
            ratio = "" if baseline is None else f" ({train / baseline:.2f}x of AMAZ)"
            baseline = baseline or train
            print(f"| {name} | {label} | {model.count_params():,} | {train:.2f}{ratio} | {synth:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
