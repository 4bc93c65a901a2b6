"""How kzoo's costs grow, beside eager PyTorch's: step time, MAML's memory, and the episode pipeline.

    python benchmarks/growth.py --threads 1                 # every curve; PNGs in benchmarks/results/
    python benchmarks/growth.py --curves memory pipeline
    python benchmarks/growth.py --report                    # only rewrite benchmarks/README.md's tables

Curves (needs the `[bench]` extra for the torch side):
- `cost`: milliseconds per training step of second-order MAML (1 inner step unless the
  axis is inner steps) and ProtoNet, 32 channels, T = 4 tasks, 15 queries per class,
  against ways (5, 10, 20; 1 shot, 28x28), shots (1, 2, 5; 5-way), image size (28, 56, 84;
  5-way 1-shot) and MAML's inner steps (1, 2, 5, 10). Each point times kzoo and torch
  (`benchmarks/peers`, the same math) interleaved, medians of `--repeats`.
- `memory`: peak resident memory of MAML training (20-way 5-shot, 32 channels, T = 4)
  against inner steps: second order, second order with `MTNet(remat=True)` (kzoo only) and
  first order, kzoo and torch, every point in a fresh process: the process's high-water mark after building the model (for kzoo, tracing its
  step too) and 3 training steps, minus the mark just before the model is built. Both
  sides import TensorFlow (the torch side's weights come from a kzoo model).
- `pipeline`: episodes per second of kzoo's in-graph tf.data sampler and of a NumPy
  sampler (`episode_pipeline.numpy_sampler`) as the number of classes grows (100 to 6,400;
  20 images of 28x28 each, 20-way 1-shot 15-query, T = 16, rotations on).
Every curve is written to `benchmarks/results/growth_<curve>.json` and `.png`, and its table to
`benchmarks/README.md` (between `<!-- growth.py: <curve> -->` markers).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
AXES = {"ways": (5, 10, 20), "shots": (1, 2, 5), "image size": (28, 56, 84), "inner steps": (1, 2, 5, 10)}
MEMORY_STEPS = (1, 2, 4, 8)
MEMORY_WAYS, MEMORY_SHOTS = 20, 5
#: (side, order) of the memory curve; "remat": second order, MTNet(remat=True)
MEMORY_ORDERS = (("kzoo", "second"), ("kzoo", "remat"), ("kzoo", "first"), ("torch", "second"), ("torch", "first"))
CLASSES = (100, 400, 1600, 6400)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", nargs="+", choices=("cost", "memory", "pipeline"),
                        default=["cost", "memory", "pipeline"])
    parser.add_argument("--threads", type=int, default=1, help="threads of every side (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed chunks per side and point (default 3)")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite benchmarks/README.md's growth tables from results/growth_*.json")
    parser.add_argument("--memory-point", nargs=3, metavar=("SIDE", "ORDER", "STEPS"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def setup(threads):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.path.insert(0, str(HERE))
    from peers.common import set_threads

    set_threads(threads)


def cost_curve(args):
    from peers import common
    from peers.torch_peers import TorchMAML, TorchProtoNet
    from vs_peers import interleaved, kzoo_runner, peer_runner

    rows = []
    for axis, values in AXES.items():
        for algorithm in ("maml", "protonet"):
            if axis == "inner steps" and algorithm == "protonet":
                continue
            for value in values:
                ways = value if axis == "ways" else 5
                shots = value if axis == "shots" else 1
                size = value if axis == "image size" else 28
                steps = value if axis == "inner steps" else 1
                x, y = common.episode_batch(ways, shots=shots, size=size)
                model = common.kzoo_model(algorithm, ways, 32, steps, size=size)
                weights = common.kzoo_weights(model)
                peer = TorchMAML(weights, steps) if algorithm == "maml" else TorchProtoNet(weights)
                batch = peer.prepare(x, y)
                runners = {"kzoo": kzoo_runner(model, x, y), "torch": peer_runner(peer, batch, float)}
                peer.step(batch)
                rates = interleaved(runners, 3, args.repeats)
                row = {"axis": axis, "value": value, "algorithm": algorithm,
                       "kzoo_ms": round(1000 / rates["kzoo"], 2), "torch_ms": round(1000 / rates["torch"], 2)}
                rows.append(row)
                print(f"{axis:11s} {value:3d} {algorithm:8s}: kzoo {row['kzoo_ms']:8.2f} ms/step, torch "
                      f"{row['torch_ms']:8.2f} ms/step, kzoo/torch = {rates['kzoo'] / rates['torch']:.2f}", flush=True)
    return rows


def memory_point(side, order, steps):
    """Runs in a fresh process: its peak RSS (MiB) after the imports and the batch, and after the model
    is built (and for kzoo traced) and has trained 3 steps; for kzoo also the peak of TensorFlow's CPU
    allocator over 3 steps after the trace (the step's tensors, without the graph). The weights come from
    a kzoo model on both sides."""
    import resource

    import keras

    from peers import common

    first_order = order == "first"
    x, y = common.episode_batch(MEMORY_WAYS, shots=MEMORY_SHOTS)
    keras.utils.set_random_seed(0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model = common.kzoo_model("maml", MEMORY_WAYS, 32, steps, first_order=first_order, remat=order == "remat")
    tensors = milliseconds = None
    if side == "kzoo":
        import tensorflow as tf

        from vs_peers import kzoo_runner

        run = kzoo_runner(model, x, y)  # traces the step and trains 2 steps
        tf.config.experimental.reset_memory_stats("CPU:0")
        start = time.perf_counter()
        run(3)
        milliseconds = round(1000 * (time.perf_counter() - start) / 3, 1)
        tensors = round(tf.config.experimental.get_memory_info("CPU:0")["peak"] / 2**20, 1)
    else:
        from peers.torch_peers import TorchMAML

        peer = TorchMAML(common.kzoo_weights(model), steps, first_order=first_order)
        batch = peer.prepare(x, y)
        for _ in range(3):
            float(peer.step(batch))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"before_mib": round(before, 1), "after_mib": round(after, 1), "step_tensors_mib": tensors,
                      "kzoo_ms_per_step": milliseconds}))


def memory_curve(args):
    rows = []
    for side, order in MEMORY_ORDERS:
        for steps in MEMORY_STEPS:
            out = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--memory-point",
                                  side, order, str(steps)], capture_output=True, text=True, check=True)
            point = json.loads(out.stdout.strip().splitlines()[-1])
            row = {"side": side, "order": order, "inner_steps": steps,
                   "training_mib": round(point["after_mib"] - point["before_mib"], 1), **point}
            rows.append(row)
            tensors = ("" if point["step_tensors_mib"] is None else
                       f", tensors of a step {point['step_tensors_mib']:.0f} MiB, {point['kzoo_ms_per_step']:.0f} ms/step")
            print(f"{side:5s} {order:6s}, {steps:2d} inner steps: +{row['training_mib']:7.1f} MiB "
                  f"(peak {point['after_mib']:.0f} MiB){tensors}", flush=True)
    return rows


def pipeline_curve(args):
    import numpy as np

    from episode_pipeline import numpy_sampler
    from kzoo import episodes
    from kzoo.episodes.source import Source

    rows, tasks = [], 16
    for classes in CLASSES:
        rng = np.random.RandomState(0)
        source = Source(rng.randint(0, 256, size=(classes * 20, 28, 28, 1)).astype("uint8"),
                        np.repeat(np.arange(classes), 20))
        iterator = iter(episodes.few_shot(source, 20, 1, 15, tasks=tasks, rotations=True))
        rates = {"tf.data": [], "numpy": []}
        for _ in range(args.repeats):
            for name, draw, count in (("tf.data", lambda: next(iterator), 30),
                                      ("numpy", lambda: numpy_sampler(source, 20, 1, 15, tasks, rng), 3)):
                draw()
                start = time.perf_counter()
                for _ in range(count):
                    draw()
                rates[name].append(count * tasks / (time.perf_counter() - start))
        row = {"classes": classes, **{f"{k}_episodes_per_second": round(statistics.median(v), 1)
                                      for k, v in rates.items()}}
        rows.append(row)
        print(f"{classes:5d} classes: tf.data {row['tf.data_episodes_per_second']:8.1f} episodes/s, NumPy "
              f"{row['numpy_episodes_per_second']:7.1f}, ratio {row['tf.data_episodes_per_second'] / row['numpy_episodes_per_second']:.1f}",
              flush=True)
        iterator = None  # stops its prefetching before the next source
    return rows


def plot(curve, rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kzoo.files import atomic_path

    if curve == "cost":
        figure, axes = plt.subplots(1, len(AXES), figsize=(4 * len(AXES), 3.4))
        for ax, axis in zip(axes, AXES):
            for algorithm, style in (("maml", "o"), ("protonet", "s")):
                points = [r for r in rows if r["axis"] == axis and r["algorithm"] == algorithm]
                if points:
                    for side, line in (("kzoo", "-"), ("torch", "--")):
                        ax.plot([r["value"] for r in points], [r[f"{side}_ms"] for r in points], line + style,
                                label=f"{'MAML 2nd order' if algorithm == 'maml' else 'ProtoNet'}, {side}")
            ax.set_xlabel(axis)
            ax.set_ylabel("ms per training step")
            ax.set_xticks(AXES[axis])
        axes[0].legend(fontsize=7)
    elif curve == "memory":
        figure, (ax, tensors) = plt.subplots(1, 2, figsize=(10, 3.6))
        labels = {"second": "second order", "remat": "second order, remat=True", "first": "first order"}
        for side, order in MEMORY_ORDERS:
            points = [r for r in rows if r["side"] == side and r["order"] == order]
            style = ("-" if side == "kzoo" else "--") + {"second": "o", "remat": "^", "first": "s"}[order]
            steps = [r["inner_steps"] for r in points]
            ax.plot(steps, [r["training_mib"] for r in points], style, label=f"{side}, {labels[order]}")
            if side == "kzoo":
                tensors.plot(steps, [r["step_tensors_mib"] for r in points], style, label=f"kzoo, {labels[order]}")
        episode = f"{MEMORY_WAYS}-way {MEMORY_SHOTS}-shot, 32 channels, T = 4"
        ax.set_title("peak resident memory, process (graph included)", fontsize=9)
        tensors.set_title("peak of a compiled step's tensors (TensorFlow allocator)", fontsize=9)
        for axis in (ax, tensors):
            axis.set_xlabel(f"MAML inner steps ({episode})")
            axis.set_ylabel("MiB")
            axis.set_xticks(MEMORY_STEPS)
            axis.legend(fontsize=7)
    else:
        figure, ax = plt.subplots(figsize=(5, 3.4))
        for key, label in (("tf.data_episodes_per_second", "kzoo tf.data"), ("numpy_episodes_per_second", "NumPy")):
            ax.loglog([r["classes"] for r in rows], [r[key] for r in rows], "o-", label=label)
        ax.set_xlabel("classes in the source")
        ax.set_ylabel("episodes per second")
        ax.legend(fontsize=7)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)


def table(curve, result):
    """The Markdown table of one curve's results (`benchmarks/README.md`, `<!-- growth.py: CURVE -->`)."""
    rows = result["rows"]
    lines = [f"`{result['command']}` ({result['threads']} thread(s)):", ""]
    if curve == "memory":
        lines += ["| inner steps | " + " | ".join(f"{side} {order}" for side, order in MEMORY_ORDERS) + " |",
                  "| --- |" + " --- |" * len(MEMORY_ORDERS)]
        for steps in sorted({r["inner_steps"] for r in rows}):
            cells = []
            for side, order in MEMORY_ORDERS:
                found = [r for r in rows if (r["side"], r["order"], r["inner_steps"]) == (side, order, steps)]
                if not found:
                    cells.append("-")
                elif found[0]["step_tensors_mib"] is None:
                    cells.append(f"{found[0]['training_mib']:.0f}")
                else:
                    cells.append(f"{found[0]['training_mib']:.0f} ({found[0]['step_tensors_mib']:.0f})")
            lines.append(f"| {steps} | " + " | ".join(cells) + " |")
        lines += ["", "MiB: the process's peak RSS growth (in brackets, kzoo: the peak of TensorFlow's allocator "
                      "during 3 compiled steps, the step's tensors without the graph)."]
    elif curve == "cost":
        lines += ["| axis | value | MAML 2nd order kzoo / torch ms | kzoo/torch | ProtoNet kzoo / torch ms | kzoo/torch |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for axis in AXES:
            for value in AXES[axis]:
                cells = []
                for algorithm in ("maml", "protonet"):
                    found = [r for r in rows if (r["axis"], r["value"], r["algorithm"]) == (axis, value, algorithm)]
                    cells += ([f"{found[0]['kzoo_ms']:.1f} / {found[0]['torch_ms']:.1f}",
                               f"{found[0]['torch_ms'] / found[0]['kzoo_ms']:.2f}"] if found else ["-", "-"])
                lines.append(f"| {axis} | {value} | " + " | ".join(cells) + " |")
    else:
        lines += ["| classes | kzoo tf.data episodes/s | NumPy episodes/s | ratio |", "| --- | --- | --- | --- |"]
        for r in rows:
            tf_rate, np_rate = r["tf.data_episodes_per_second"], r["numpy_episodes_per_second"]
            lines.append(f"| {r['classes']:,} | {tf_rate:.1f} | {np_rate:.1f} | {tf_rate / np_rate:.1f} |")
    return "\n".join(lines)


def report():
    from kzoo.files import report_blocks

    blocks = {curve: table(curve, json.loads(path.read_text())) for curve in ("cost", "memory", "pipeline")
              if (path := RESULTS / f"growth_{curve}.json").exists()}
    report_blocks(HERE / "README.md", blocks, write=True, tag="growth.py")


def main(argv=None):
    args = parse_args(argv)
    if args.report:
        return report()
    setup(args.threads)
    if args.memory_point:
        side, order, steps = args.memory_point
        memory_point(side, order, int(steps))
        return
    from kzoo.files import write_json

    for curve in args.curves:
        rows = {"cost": cost_curve, "memory": memory_curve, "pipeline": pipeline_curve}[curve](args)
        write_json(RESULTS / f"growth_{curve}.json", {"threads": args.threads, "command": " ".join(sys.argv),
                                                       "rows": rows})
        plot(curve, rows, RESULTS / f"growth_{curve}.png")
        print(f"wrote {RESULTS / f'growth_{curve}.png'}", flush=True)
    report()


if __name__ == "__main__":
    main()
