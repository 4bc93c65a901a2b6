"""Meta-training speed of MTNet: first vs second order, with and without XLA, in one run.

    python benchmarks/mtnet_speed.py                 # sine (T=4) and Omniglot-shaped 20-way 1-shot (T=16)
    python benchmarks/mtnet_speed.py --quick         # sine only

Each configuration is timed with `model.fit` on a fixed episode (so data is not
measured) after a warm-up fit that traces and compiles; steps/second are medians of
`--repeats` timings, and ratios are printed against second-order plain `tf.function`
measured in the same run.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from kzoo import episodes
from kzoo.applications import MTNet


def omniglot_like_episode(ways=20, tasks=16):
    rng = np.random.RandomState(0)
    x = {"support_x": rng.rand(tasks, ways, 28, 28, 1).astype("float32"),
         "support_y": np.tile(np.arange(ways, dtype="int32"), (tasks, 1)),
         "query_x": rng.rand(tasks, ways, 28, 28, 1).astype("float32")}
    return x, np.tile(np.arange(ways, dtype="int32"), (tasks, 1))


def steps_per_second(make_model, batch, steps, repeats, jit_compile):
    model = make_model()
    model.compile(jit_compile=jit_compile)
    data = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(data, steps_per_epoch=2, verbose=0)  # trace and compile
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(data, steps_per_epoch=steps, verbose=0)
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sine only")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    sine = next(iter(episodes.sinusoid(tasks=4, batches=1)))
    configs = [("sine 10-shot, T=4, MLP 40-40", lambda fo: MTNet(variant="mtnet", first_order=fo), sine, 200)]
    if not args.quick:
        configs.append(("Omniglot 20-way 1-shot, T=16, 64 channels",
                        lambda fo: MTNet(example_shape=(28, 28, 1), num_outputs=20, inner_lr=0.1, first_order=fo),
                        omniglot_like_episode(), 3))
    for name, factory, batch, steps in configs:
        results = {}
        for first_order in (False, True):
            for jit in (False, True):
                try:
                    rate = steps_per_second(lambda: factory(first_order), batch, steps, args.repeats, jit)
                except Exception as error:  # XLA may not compile a configuration on some devices
                    rate = float("nan")
                    print(f"  ({'first' if first_order else 'second'} order, XLA={jit}) failed: {error}")
                results[(first_order, jit)] = rate
        base = results[(False, False)]
        print(f"{name}: meta-train steps/s (ratio to second order, tf.function)")
        for (first_order, jit), rate in results.items():
            label = f"{'first' if first_order else 'second'}-order, {'XLA' if jit else 'tf.function'}"
            print(f"  {label:28s} {rate:8.2f} steps/s   ratio {rate / base:.2f}")


if __name__ == "__main__":
    main()
