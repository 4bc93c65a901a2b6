"""A TensorBoard profiler trace of each application's training step, and its most expensive ops.

    python benchmarks/profile_step.py --logdir /tmp/kzoo_profiles        # every application
    python benchmarks/profile_step.py --logdir /tmp/p --applications hypertransformer --top 15
    python benchmarks/profile_step.py --report     # only rewrite README's table from results/
    tensorboard --logdir /tmp/kzoo_profiles                              # the traces (needs xprof)

Each application's compiled train function (the one `fit` calls every step) runs
`--steps` times on one fixed batch inside `tf.profiler.experimental.start/stop`, after
warm-up steps that trace it. The trace (`<logdir>/<application>/plugins/profile/...`) is
what TensorBoard's Profile tab shows; keep it out of git. The table printed per
application sums the trace's TensorFlow op events per step: wall time per step, the
ops' total, and the `--top` op types by time with their count per step. A run of every
application writes results/profile_step_threads<N>.json and the table between the
`<!-- profile_step.py: top_ops -->` markers of benchmarks/README.md.

Configurations: MAML (`MTNet(variant="maml")`, 20-way 1-shot, 32 channels, one inner
step, T = 4) and ProtoNet (20-way 1-shot, 32 channels, T = 4), as `vs_peers.py`;
HyperTransformer (logits, 20-way 1-shot, 8 channels, T = 1), as `vs_commit.py`;
TAFE-Net and AMAZ at their glyph presets' sizes, as `vs_plain_tf.py`.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
APPLICATIONS = ("maml", "protonet", "hypertransformer", "tafenet", "amaz")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logdir", help="folder for the traces (one subfolder per application)")
    parser.add_argument("--applications", nargs="+", choices=APPLICATIONS, default=list(APPLICATIONS))
    parser.add_argument("--steps", type=int, default=20, help="profiled steps (default 20)")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow's intra- and inter-op threads (default 1)")
    parser.add_argument("--top", type=int, default=10, help="op types listed per application (default 10)")
    parser.add_argument("--report", action="store_true", help="only rewrite the README table from results/")
    args = parser.parse_args(argv)
    if not args.report and not args.logdir:
        parser.error("--logdir is required (a folder outside the repository: traces stay out of git)")
    return args


def subject(application):
    """`(compiled kzoo model, dataset of one fixed batch)`, traced."""
    import tensorflow as tf

    from peers.common import episode_batch, kzoo_model

    if application in ("tafenet", "amaz"):
        import vs_plain_tf

        if application == "tafenet":
            model, _, data, _ = vs_plain_tf.tafenet_pair(dropout=0.5, classes_per_step=64)
        else:
            model, _, data, _ = vs_plain_tf.amaz_pair()
        return model, data
    import keras

    if application == "hypertransformer":
        model = kzoo_model("hypertransformer", 20, 8)
        x, y = episode_batch(20)
        x, y = {k: v[:1] for k, v in x.items()}, y[:1]
        model.compile(optimizer=keras.optimizers.SGD(0.02))
    else:
        model = kzoo_model(application, 20, 32)
        x, y = episode_batch(20)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(data, steps_per_epoch=2, verbose=0)
    return model, data


def op_table(trace, steps):
    """`(op seconds per step, {op type: (seconds per step, count per step)})` from an `.xplane.pb` trace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(trace).read_bytes())
    plane = next(p for p in space.planes if p.name == "/host:CPU")
    names = {key: value.name for key, value in plane.event_metadata.items()}
    seconds, counts = collections.Counter(), collections.Counter()
    for line in plane.lines:
        if not line.name.startswith("tf_Compute"):
            continue
        for event in line.events:
            name = names[event.metadata_id]
            if ":" not in name or "::" in name:  # executor bookkeeping (ExecutorState::Process, regions)
                continue
            op_type = name.rsplit(":", 1)[1]
            seconds[op_type] += event.duration_ps * 1e-12 / steps
            counts[op_type] += 1 / steps
    return sum(seconds.values()), {t: (s, counts[t]) for t, s in seconds.most_common()}


def profile(application, logdir, steps):
    import tensorflow as tf

    model, data = subject(application)
    iterator = iter(data)
    for _ in range(3):
        logs = model.train_function(iterator)
    float(next(iter(logs.values())))
    folder = Path(logdir) / application
    tf.profiler.experimental.start(str(folder))
    start = time.perf_counter()
    for _ in range(steps):
        logs = model.train_function(iterator)
    float(next(iter(logs.values())))
    wall = (time.perf_counter() - start) / steps
    tf.profiler.experimental.stop()
    trace = max(folder.glob("plugins/profile/*/*.xplane.pb"), key=os.path.getmtime)
    return wall, trace


def report(top=5):
    """Rewrites README's table from results/profile_step_threads*.json: the `top` op types per application."""
    from kzoo.files import report_blocks

    lines = ["| application | threads | ms per step | ops' ms | ops per step | most expensive op types (ms per step, count) |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    runs = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("profile_step_threads*.json"))]
    for run in runs:
        for name, row in run["applications"].items():
            tops = "; ".join(f"{op} {1000 * s:.1f} ({c:.0f}x)" for op, s, c in row["ops"][:top])
            lines.append(f"| {name} | {run['threads']} | {1000 * row['wall_seconds']:.1f} | "
                         f"{1000 * row['op_seconds']:.1f} | {row['ops_per_step']:,.0f} | {tops} |")
    lines += [""] + [f"`{run['command']}`, {run['steps']} profiled steps; after the run: `{run['uptime_after']}`."
                     for run in runs]
    report_blocks(HERE / "README.md", {"top_ops": "\n".join(lines)}, write=True, tag="profile_step.py")


def main(argv=None):
    args = parse_args(argv)
    if args.report:
        return report()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(HERE))
    from peers.common import set_threads

    set_threads(args.threads, torch_too=False)
    rows = {}
    for application in args.applications:
        wall, trace = profile(application, args.logdir, args.steps)
        total, ops = op_table(trace, args.steps)
        count = sum(c for _, c in ops.values())
        print(f"\n{application}: {1000 * wall:.1f} ms per step (profiled), ops {1000 * total:.1f} ms, "
              f"{count:.0f} ops per step; trace {trace}")
        for op_type, (seconds, number) in list(ops.items())[:args.top]:
            print(f"  {1000 * seconds:7.2f} ms  {100 * seconds / total:5.1f}%  {number:6.0f}x  {op_type}")
        rows[application] = {"wall_seconds": wall, "op_seconds": total, "ops_per_step": count,
                             "ops": [[op, s, c] for op, (s, c) in list(ops.items())[:args.top]]}
    if set(args.applications) == set(APPLICATIONS):
        from kzoo.files import write_json

        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        write_json(RESULTS / f"profile_step_threads{args.threads}.json",
                   {"command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]), "threads": args.threads,
                    "steps": args.steps, "uptime_after": uptime, "applications": rows})
        report()


if __name__ == "__main__":
    main()
