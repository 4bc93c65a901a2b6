"""HyperTransformer training throughput of this tree against an earlier commit's, in one interleaved run.

    python benchmarks/vs_commit.py --base 200eb2f~1 --threads 1
    python benchmarks/vs_commit.py --report        # only rewrite README's table from results/

The configuration of `hypertransformer_speed.py` and of issue 21's "about 12 episodes/s":
generate="logits", 20-way 1-shot, 5 queries per class, 8 channels, one episode per
step on one fixed batch, `tf.function` (no XLA), timed on the compiled train function
`fit` calls every step (so `fit`'s own start-up is not timed). `--base` is checked out
into a temporary `git worktree`; every measurement runs in a fresh Python process that
imports kzoo from one tree or the other (checked: each process reports the path it
imported), alternating between the trees for `--rounds` rounds, so a background load
hits both alike. `now/base = R` compares their median episodes/s. Writes
results/vs_commit_threads<N>.json and the table between the `<!-- vs_commit.py: throughput -->`
markers of benchmarks/README.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

# one measurement: builds and traces the model, then times `steps` training steps
MEASURE = """
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras, numpy as np, tensorflow as tf
threads = int(sys.argv[2])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
import kzoo
from kzoo.applications import HyperTransformer
ways, queries, steps = 20, 5, int(sys.argv[1])
rng = np.random.RandomState(0)
x = {"support_x": rng.rand(1, ways, 28, 28, 1).astype("float32"),
     "support_y": np.arange(ways, dtype="int32")[None],
     "query_x": rng.rand(1, ways * queries, 28, 28, 1).astype("float32")}
y = np.repeat(np.arange(ways, dtype="int32"), queries)[None]
keras.utils.set_random_seed(0)
model = HyperTransformer(num_ways=ways, channels=8, generate="logits")
model.compile(optimizer=keras.optimizers.SGD(0.02), jit_compile=False)
data = tf.data.Dataset.from_tensors((x, y)).repeat()
model.fit(data, steps_per_epoch=3, verbose=0)  # traces; then the compiled function fit calls every step
iterator = iter(data)
logs = model.train_function(iterator)
float(next(iter(logs.values())))
start = time.perf_counter()
for _ in range(steps):
    logs = model.train_function(iterator)
float(next(iter(logs.values())))
print(json.dumps({"episodes_per_second": steps / (time.perf_counter() - start), "kzoo": kzoo.__file__}))
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="200eb2f~1",
                        help="the earlier commit (default 200eb2f~1: main when issue 21's work began)")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow's intra- and inter-op threads (default 1)")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per tree (default 5)")
    parser.add_argument("--steps", type=int, default=300, help="timed training steps per measurement (default 300)")
    parser.add_argument("--report", action="store_true", help="only rewrite the README table from results/")
    return parser.parse_args(argv)


def measure(tree, steps, threads):
    """Episodes/s of one fresh process importing kzoo from `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads),
           "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", MEASURE, str(steps), str(threads)], env=env, cwd=tempfile.gettempdir(),
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the measurement in {tree} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not Path(result["kzoo"]).resolve().is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"the process for {tree} imported kzoo from {result['kzoo']}")
    return result["episodes_per_second"]


def report():
    """Rewrites README's table from results/vs_commit_threads*.json."""
    sys.path.insert(0, str(ROOT))
    from kzoo.files import report_blocks

    lines = ["| threads | base commit | base episodes/s | this tree episodes/s | now/base |", "| ---: | --- | ---: | ---: | ---: |"]
    runs = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("vs_commit_threads*.json"))]
    for run in runs:
        base, now = statistics.median(run["rates"]["base"]), statistics.median(run["rates"]["now"])
        lines.append(f"| {run['threads']} | `{run['base']}` ({run['base_commit'][:7]}) | {base:.1f} | {now:.1f} | "
                     f"{now / base:.2f} |")
    lines += [""] + [f"`{run['command']}` at {run['head_commit'][:7]}"
                     f"{' with uncommitted changes to kzoo/' if run['uncommitted_changes'] else ''}: medians of {len(run['rates']['now'])} fresh "
                     f"processes per tree, {run['steps']} steps each; after the run: `{run['uptime_after']}`."
                     for run in runs]
    report_blocks(HERE / "README.md", {"throughput": "\n".join(lines)}, write=True, tag="vs_commit.py")


def main(argv=None):
    args = parse_args(argv)
    if args.report:
        return report()
    git = lambda *a: subprocess.run(["git", "-C", str(ROOT), *a], check=True, capture_output=True,  # noqa: E731
                                    text=True).stdout.strip()
    base_commit = git("rev-parse", args.base)
    rates = {"base": [], "now": []}
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "base"
        git("worktree", "add", "--detach", str(tree), base_commit)
        try:
            for round_ in range(args.rounds):
                for side, path in (("base", tree), ("now", ROOT)):
                    rates[side].append(measure(path, args.steps, args.threads))
                    print(f"round {round_ + 1}, {side}: {rates[side][-1]:.1f} episodes/s", flush=True)
        finally:
            git("worktree", "remove", "--force", str(tree))
    base, now = statistics.median(rates["base"]), statistics.median(rates["now"])
    print(f"HyperTransformer logits training, 20-way 1-shot, 8 channels, {args.threads} thread(s): "
          f"base {base:.1f}, now {now:.1f} episodes/s, now/base = {now / base:.2f}")
    sys.path.insert(0, str(ROOT))
    from kzoo.files import write_json

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    write_json(RESULTS / f"vs_commit_threads{args.threads}.json",
               {"command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]), "base": args.base,
                "base_commit": base_commit, "head_commit": git("rev-parse", "HEAD"),
                "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no", "--", "kzoo")),
                "threads": args.threads,
                "steps": args.steps, "rates": rates, "uptime_after": uptime})
    report()


if __name__ == "__main__":
    main()
