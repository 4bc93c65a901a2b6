"""HyperTransformer speed at 20-way 1-shot, 8 channels: training and single-episode inference.

    python benchmarks/hypertransformer_speed.py              # generate="logits" and "all"
    python benchmarks/hypertransformer_speed.py --quick      # generate="logits" only, fewer steps

For each `generate` mode, with and without XLA (`jit_compile`):
- training episodes/second: `model.fit` on one fixed batch of T episodes (20 support,
  100 queries each, so data loading is not measured), after a warm-up fit that traces;
- inference latency: one episode (20 support images, 300 queries) through the compiled
  `call` (generate the CNN from the support set, classify the queries).
Configurations are timed in interleaved rounds (so a background load hits all alike);
the printed numbers are medians over rounds, with ratios to plain `tf.function`.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from kzoo.applications import HyperTransformer


def episode(tasks, ways=20, queries=5, seed=0):
    rng = np.random.RandomState(seed)
    x = {"support_x": rng.rand(tasks, ways, 28, 28, 1).astype("float32"),
         "support_y": np.tile(np.arange(ways, dtype="int32"), (tasks, 1)),
         "query_x": rng.rand(tasks, ways * queries, 28, 28, 1).astype("float32")}
    return x, np.tile(np.repeat(np.arange(ways, dtype="int32"), queries), (tasks, 1))


class Subject:
    """One configuration: a model compiled with or without XLA, traced once."""

    def __init__(self, generate, jit, tasks):
        self.model = HyperTransformer(num_ways=20, channels=8, generate=generate)
        self.model.compile(optimizer=keras.optimizers.SGD(0.02), jit_compile=jit)
        self.train_data = tf.data.Dataset.from_tensors(episode(tasks)).repeat()
        self.infer_x = {k: tf.constant(v) for k, v in episode(1, queries=15, seed=1)[0].items()}
        self.infer = tf.function(lambda x: self.model(x, training=False), jit_compile=jit)
        self.model.fit(self.train_data, steps_per_epoch=2, verbose=0)
        self.infer(self.infer_x)

    def train_rate(self, steps, tasks):
        start = time.perf_counter()
        self.model.fit(self.train_data, steps_per_epoch=steps, verbose=0)
        return steps * tasks / (time.perf_counter() - start)

    def latency_ms(self, calls):
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            self.infer(self.infer_x).numpy()
            times.append(time.perf_counter() - start)
        return 1000 * statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help='generate="logits" only, fewer steps')
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=1, help="episodes per training batch (default 1)")
    args = parser.parse_args()
    steps, calls = (10, 10) if args.quick else (30, 20)
    modes = ["logits"] if args.quick else ["logits", "all"]
    subjects = {}
    for generate in modes:
        for jit in (False, True):
            try:
                subjects[(generate, jit)] = Subject(generate, jit, args.tasks)
            except Exception as error:  # XLA may not compile a configuration on some devices
                print(f"  generate={generate}, XLA={jit}: failed to build/compile: {str(error)[:200]}")
    rates = {key: [] for key in subjects}
    latencies = {key: [] for key in subjects}
    for _ in range(args.rounds):
        for key, subject in subjects.items():
            rates[key].append(subject.train_rate(steps, args.tasks))
            latencies[key].append(subject.latency_ms(calls))
    print(f"HyperTransformer 20-way 1-shot, 8 channels, d=32, 3 layers, 2 heads; train T={args.tasks}, "
          f"5 queries/class; inference 1 episode, 15 queries/class; medians of {args.rounds} rounds")
    for generate in modes:
        base = subjects.get((generate, False)) and (statistics.median(rates[(generate, False)]),
                                                    statistics.median(latencies[(generate, False)]))
        for jit in (False, True):
            if (generate, jit) not in subjects:
                continue
            rate, latency = statistics.median(rates[(generate, jit)]), statistics.median(latencies[(generate, jit)])
            label = f"generate={generate}, {'XLA' if jit else 'tf.function'}"
            ratio = f"   ratio {rate / base[0]:.2f} / {latency / base[1]:.2f}" if base else ""
            print(f"  {label:34s} train {rate:7.1f} episodes/s   inference {latency:7.1f} ms/episode{ratio}")


if __name__ == "__main__":
    main()
