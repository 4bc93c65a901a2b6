"""How far apart the variational estimator puts tasks, against its own seed-to-seed spread, per step budget.

The Monte Carlo estimator (also with 4,000 samples, and with a 40-epoch head) and the
expected one (exact over labels) are measured the same way for reference.

Six 10-class tasks (14 images per class): Omniglot Latin (two disjoint halves) and Korean,
glyph Greek (two disjoint halves) and Armenian. Plus a copy of the first task with permuted
label names. For each budget (epochs of `--max-samples` Fisher samples, Adam learning
rate, constant or cosine-decayed), the script reports:
- the mean d_sym between different tasks;
- d_sym between the same task embedded with seeds 0 and 1;
- d_sym between the task and its permuted copy;
- the relative L1 change |a - b|_1 / |a|_1 of the embedding under the new seed and under
  the permutation.

An estimator that separates tasks needs the first to be well above the other two.

    python applications/task2vec/variational_budget.py

writes applications/task2vec/results/variational_budget.json.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from kzoo.files import write_json

HERE = Path(__file__).resolve().parent
BUDGETS = ("montecarlo", "montecarlo:4000", "montecarlo:4000:40", "expected", "3:0.05", "10:0.2",
           "30:0.2:cosine", "30:1.0")


def tasks():
    from kzoo import episodes

    glyphs = episodes.glyphs()
    omniglot = episodes.omniglot(episodes.default_omniglot_path())

    def task(source, alphabet, k):
        ids = [c for c in range(source.num_classes) if source.alphabets[c] == alphabet][k * 10:(k + 1) * 10]
        x = np.concatenate([source.images_of(c)[:14] for c in ids]).astype("float32") / 255.0
        return x, np.repeat(np.arange(10), 14).astype("int32")

    out = {"omniglot:Latin#0": task(omniglot, "Latin", 0), "omniglot:Latin#1": task(omniglot, "Latin", 1),
           "omniglot:Korean#0": task(omniglot, "Korean", 0), "glyphs:Greek#0": task(glyphs, "Greek", 0),
           "glyphs:Greek#1": task(glyphs, "Greek", 1), "glyphs:Armenian#0": task(glyphs, "Armenian", 0)}
    return out


def _relative_l1(a, b):
    """|a - b|_1 / |a|_1 of two embeddings' vectors."""
    return float(np.abs(a.vector - b.vector).sum() / np.abs(a.vector).sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default=",".join(BUDGETS),
                        help="comma-separated variational epochs:learning_rate[:cosine], or "
                             "montecarlo[:max_samples[:head_epochs]] / expected (default %(default)s)")
    parser.add_argument("--max-samples", type=int, default=500)
    parser.add_argument("--output", default=str(HERE / "results" / "variational_budget.json"))
    args = parser.parse_args(argv)

    import keras

    from kzoo.applications import Task2Vec, d_sym
    from kzoo.applications.task2vec import load_probe_preset

    probe, _ = load_probe_preset("probe_glyphs_resnet")
    data = tasks()
    names = list(data)
    first_x, first_y = data[names[0]]
    permuted = np.random.RandomState(0).permutation(10)[first_y].astype("int32")
    results = {"command": "python applications/task2vec/variational_budget.py", "tasks": names, "budgets": {}}
    for budget in args.budgets.split(","):
        t0 = time.time()
        if budget.split(":")[0] in ("montecarlo", "expected"):  # the references: one pass over the samples
            method, *options = budget.split(":")
            samples = int(options[0]) if options else args.max_samples
            head_epochs = int(options[1]) if len(options) > 1 else 10
            steps = int(np.ceil(samples / 64))
            t2v = Task2Vec(probe, method=method, max_samples=samples, head_epochs=head_epochs)
        else:
            epochs, lr, *schedule = budget.split(":")
            epochs, lr = int(epochs), float(lr)
            steps = epochs * int(np.ceil(args.max_samples / 64))
            rate = keras.optimizers.schedules.CosineDecay(lr, steps) if schedule == ["cosine"] else lr
            t2v = Task2Vec(probe, method="variational", max_samples=args.max_samples, epochs=epochs,
                           learning_rate=rate)
        emb = [t2v.embed(data[n], seed=0) for n in names]
        reseeded = [t2v.embed(data[n], seed=1) for n in names[:2]]
        copy = t2v.embed((first_x, permuted), seed=0)
        d = np.array([[d_sym(a, b) for b in emb] for a in emb])
        between = d[np.triu_indices(len(names), 1)]
        row = {"steps": steps, "seconds": time.time() - t0,
               "mean d_sym between tasks": float(between.mean()), "min d_sym between tasks": float(between.min()),
               "d_sym seed 0 vs seed 1": [d_sym(a, b) for a, b in zip(emb, reseeded)],
               "d_sym to the permuted copy": d_sym(emb[0], copy),
               "relative L1 change seed 0 vs seed 1": [_relative_l1(a, b) for a, b in zip(emb, reseeded)],
               "relative L1 change permuted copy": _relative_l1(emb[0], copy),
               "median precision / prior": (float(np.median(np.concatenate([e.vector / e.trivial for e in emb])))
                                            if t2v.method == "variational" else None),
               "distances": d.round(4).tolist()}
        results["budgets"][budget] = row
        print(f"{budget}: {steps} steps, between tasks {row['mean d_sym between tasks']:.3f} "
              f"(min {row['min d_sym between tasks']:.3f}), seed 0 vs 1 "
              f"{np.round(row['d_sym seed 0 vs seed 1'], 3).tolist()}, permuted copy "
              f"{row['d_sym to the permuted copy']:.3f}, precision/prior {row['median precision / prior']} "
              f"({row['seconds']:.0f} s)", flush=True)
    out = write_json(args.output, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
