"""MT-net regression reproductions: Table 1 (variants), Table 2 (inner lr), Figure 4 (polynomials).

    python applications/mtnet/sine.py --variant mtnet --iterations 20000          # one Table 1 row
    python applications/mtnet/sine.py --variant maml --inner-lr 0.1               # one Table 2 cell
    python applications/mtnet/sine.py --variant mtnet --polynomial 2              # one Figure 4 point
    python applications/mtnet/sine.py --polynomial 2 --coefficient-range 0.263    # order 2 at order 1's Var(y)
    python applications/mtnet/sine.py --variant mtnet --save-preset saved_models/mtnet/sinusoid_10shot
    python applications/mtnet/sine.py --variant mtnet --seed 3 --threads 1       # another seed, one core

Meta-trains on 10-shot tasks (meta-batch 4, Adam 1e-3, one inner step, the paper's
Section 6.1), then scores 600 fresh tasks (seed 2018, never seen in training) after
adaptation with K = 5, 10 and 20 support points and 10 query points: mean query MSE
and 95% CI. `--seed` sets the initial weights, the training tasks and the mask noise.
Every run records its learning curve (loss per tenth of training) and the network's
state after each tenth (`NetworkProbe`). Polynomial runs also record one inner step on 100 fresh tasks: the support MSE
before it, after it with every mask open, and after it with sampled masks (does a
full step overshoot?). Writes a JSON record to
applications/mtnet/results/<task>_<model>_lr<alpha>_it<n>_seed<s>.json.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from keras import ops

from kzoo import episodes
from kzoo.applications import MTNet
from kzoo.files import write_json
from kzoo.training import evaluate_regression

RESULTS = Path(__file__).resolve().parent / "results"
EVAL_SEED = 2018


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="mtnet", choices=["maml", "tnet", "mnet", "mtnet"])
    parser.add_argument("--full-mask", action="store_true", help='the "-full" variants')
    parser.add_argument("--inner-lr", type=float, default=0.01)
    parser.add_argument("--iterations", type=int, default=20000, help="meta-training steps (paper: 60000)")
    parser.add_argument("--polynomial", type=int, default=None, help="polynomial order instead of sine")
    parser.add_argument("--coefficient-range", type=float, default=1.0,
                        help="polynomial coefficients in [-A, A] (default 1, the paper's)")
    parser.add_argument("--eval-tasks", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0, help="weights, training tasks and mask noise (default 0)")
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow threads (default: all cores)")
    parser.add_argument("--save-preset", default=None)
    parser.add_argument("--skip-existing", action="store_true", help="do nothing if the result file exists")
    args = parser.parse_args(argv)
    name = args.variant + ("-full" if args.full_mask else "")
    task = f"polynomial order {args.polynomial}" if args.polynomial is not None else "sine"
    if args.coefficient_range != 1.0:
        if args.polynomial is None:
            parser.error("--coefficient-range needs --polynomial")
        task += f" coefficients {args.coefficient_range:g}"
    stem = f"{task.replace(' ', '_')}_{name}_lr{args.inner_lr:g}_it{args.iterations}_seed{args.seed}"
    if args.skip_existing and (RESULTS / f"{stem}.json").exists():
        print(f"exists: {stem}.json")
        return

    def tasks(shots, **kwargs):
        if args.polynomial is not None:
            return episodes.polynomial(order=args.polynomial, shots=shots, queries=10,
                                       coefficients=(-args.coefficient_range, args.coefficient_range), **kwargs)
        return episodes.sinusoid(shots=shots, queries=10, **kwargs)

    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    model = MTNet(variant=args.variant, full_mask=args.full_mask, inner_lr=args.inner_lr,
                  inference_mask="sample", seed=args.seed)
    model.compile()
    start = time.perf_counter()
    probe = NetworkProbe()
    history = model.fit(tasks(10, tasks=4, seed=args.seed), steps_per_epoch=args.iterations // 10, epochs=10,
                        verbose=2, shuffle=False, callbacks=[probe])
    seconds = time.perf_counter() - start
    record = {
        "model": name, "inner_lr": args.inner_lr, "iterations": args.iterations, "seed": args.seed, "task": task,
        "train_seconds": round(seconds, 1), "final_train_loss": history.history["loss"][-1],
        # the learning curve: mean meta-training loss over each tenth of the iterations
        "train_loss_per_tenth": [round(v, 4) for v in history.history["loss"]],
        "pre_adaptation_loss_per_tenth": [round(v, 4) for v in history.history["pre_adaptation_loss"]],
        "update_fraction": float(model.update_fraction()),
        "network_per_tenth": probe.rows,
        "command": "python applications/mtnet/sine.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "evaluation": {},
    }
    for shots in (5, 10, 20):
        score = evaluate_regression(model, tasks(shots, tasks=20, seed=EVAL_SEED, batches=args.eval_tasks // 20))
        record["evaluation"][f"{shots}-shot"] = {k: score[k] for k in ("mse", "ci95", "episodes")}
        print(f"{name} alpha={args.inner_lr} {shots}-shot: MSE {score['mse']:.3f} +- {score['ci95']:.3f} "
              f"({score['episodes']} tasks)")
    if args.polynomial is not None:
        record["coefficient_range"] = args.coefficient_range
        record["one_inner_step"] = one_step_support_mse(model, tasks(10, tasks=100, seed=EVAL_SEED + 1, batches=1))
        print("one inner step, support MSE:", record["one_inner_step"])
    write_json(RESULTS / f"{stem}.json", record, indent=2)
    if args.save_preset:
        # The preset serves deterministically (most likely mask); score it that way too,
        # per task, so tests/test_presets.py can replay the first tasks exactly.
        model.inference_mask = "mode"
        score = evaluate_regression(model, tasks(10, tasks=20, seed=EVAL_SEED, batches=args.eval_tasks // 20))
        print(f"preset ({name}, mode mask) 10-shot: MSE {score['mse']:.3f} +- {score['ci95']:.3f}")
        what = "sine regression" if args.polynomial is None else f"regression of order-{args.polynomial} polynomials"
        meta = {"description": f"MT-net ({name}) meta-trained on 10-shot {what}, 1-40-40-1",
                "data_spec": "sinusoid" if args.polynomial is None else f"polynomial:{args.polynomial}", **record,
                "preset_evaluation": {"shots": 10, "queries": 10, "tasks_per_batch": 20, "seed": EVAL_SEED,
                                      "inference_mask": "mode", **score}}
        print("preset:", model.save_to_preset(args.save_preset, meta, overwrite=True))


class NetworkProbe(keras.callbacks.Callback):
    """Records the initial network's state after each tenth of training (why a run fails or learns).

    Per row: the standard deviation of the output over x in [-5, 5] (near 0: a flat,
    collapsed network), the fraction of dead units of each hidden layer (never active
    on that grid), each layer's T as its largest and smallest singular value (T shrinks
    the effective step), and the fraction updated.
    """

    def __init__(self):
        super().__init__()
        self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        weights = model.initial_fast_weights()
        grid = ops.reshape(ops.linspace(-5.0, 5.0, 200), (200, 1))
        h, dead = grid, []
        for i, cell in enumerate(model.cells[:-1]):
            h = ops.relu(cell(h, kernel=weights[2 * i], bias=weights[2 * i + 1]))
            dead.append(round(float(np.mean(np.max(ops.convert_to_numpy(h), axis=0) <= 0)), 3))
        output = ops.convert_to_numpy(model.forward(grid, weights))
        transforms = [np.linalg.svd(ops.convert_to_numpy(c.transform), compute_uv=False)[[0, -1]]
                      for c in model.cells if getattr(c, "transform", None) is not None]
        self.rows.append({"output_std": round(float(output.std()), 4), "dead_units": dead,
                          "transform_singular_values": [[round(float(v), 4) for v in sv] for sv in transforms],
                          "update_fraction": round(float(model.update_fraction()), 4)})


def one_step_support_mse(model, tasks):
    """Mean support MSE of each task before one inner step, and after it with all masks open or sampled.

    If the step with every mask open leaves a higher loss than with sampled masks, the
    full step overshoots at this alpha, and closing masks shortens it.
    """
    import tensorflow as tf

    x, _ = next(iter(tasks))
    totals = {"before": [], "all_masks_open": [], "sampled_masks": []}
    for t in range(x["support_x"].shape[0]):
        support_x, support_y = x["support_x"][t], x["support_y"][t]
        weights = model.initial_fast_weights()
        with tf.GradientTape() as tape:
            tape.watch(weights)
            loss = model.task_loss(model.forward(support_x, weights), support_y)
        grads = tape.gradient(loss, weights)
        sampled = model.sample_masks("sample", seed=tf.constant([t, EVAL_SEED], tf.int64))
        totals["before"].append(float(loss))
        for name, masks in (("all_masks_open", [None] * len(weights)), ("sampled_masks", sampled)):
            stepped = [w - model.inner_lr * (g if m is None else m * g) for w, g, m in zip(weights, grads, masks)]
            totals[name].append(float(model.task_loss(model.forward(support_x, stepped), support_y)))
    return {name: float(np.mean(values)) for name, values in totals.items()} | {"tasks": len(totals["before"])}


if __name__ == "__main__":
    main()
