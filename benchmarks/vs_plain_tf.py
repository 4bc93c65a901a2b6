"""kzoo's TAFE-Net and AMAZ training steps against the same models written directly in TensorFlow.

    python benchmarks/vs_plain_tf.py --threads 1
    python benchmarks/vs_plain_tf.py --threads 2 --repeats 5
    python benchmarks/vs_plain_tf.py --report      # only rewrite README's table from results/

TAFE-Net, the `tafenet/glyphs_gzsl` recipe's sizes on random features (speed does not
depend on the values): 256-d features, 81-d descriptions of 519 seen classes, feature
network 3 x 256, T 3 x 256 without normalization, linear generators, classifier 128 with
dropout 0.5, beta 0.1, batch 64 against 64 classes per step. kzoo: `TAFENet`'s compiled
train function, the one `fit` runs every step; plain: `peers.plain_tf.PlainTAFENet`, the
same math as tensors and `tf.nn` ops with Adam written out, in one `tf.function`.

AMAZ, the `amaz/glyphs_zsl` preset's settings and sizes (`variant.PRESET_SETTINGS`,
`recipe.glyph_sizes(256)`) on random features: Algorithm 1 on one batch of 10 tasks
(10-way 5-shot support, 10-way 3-shot query), kzoo's compiled train function against
`peers.plain_tf.PlainAMAZ` (the same three support steps, query gradients and Adams).

Before timing, both sides start from the same weights and are checked on one batch:
TAFE-Net's loss and gradients (dropout off and all classes, so that neither draws at
random); AMAZ's meta-gradients of all three groups, with the same noise given to both. The sides alternate `--repeats` times; `kzoo/plain = R` compares
their median steps/s (R = 0.91 is 10% overhead). Each run writes
results/vs_plain_tf_threads<N>.json (with its command and `uptime`) and rewrites the
table between the `<!-- vs_plain_tf.py: overhead -->` markers of benchmarks/README.md.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow's intra- and inter-op threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed chunks per side (default 5)")
    parser.add_argument("--steps", type=int, default=50, help="training steps per chunk (default 50)")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest relative difference of the whole gradient vector (default 1e-4)")
    parser.add_argument("--report", action="store_true", help="only rewrite the README table from results/")
    return parser.parse_args(argv)


def tafenet_pair(dropout, classes_per_step, task_activation="relu"):
    """A compiled kzoo TAFENet of the recipe's sizes and the plain step with its weights, on one fixed batch."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kzoo.applications import TAFENet
    from peers.plain_tf import PlainTAFENet

    rng = np.random.RandomState(0)
    classes, batch = 519, 64
    tasks = rng.rand(classes, 81).astype("float32")
    x = np.maximum(rng.randn(batch, 256), 0).astype("float32")
    y = rng.randint(0, classes, batch).astype("int32")
    keras.utils.set_random_seed(0)
    model = TAFENet(feature_dim=256, task_dim=81, hidden_units=(256, 256, 256), task_units=256, classifier_units=128,
                    generator_activation=None, dropout=dropout, embedding_loss_weight=0.1,
                    classes_per_step=classes_per_step, task_learning_rate_multiplier=1.0, task_normalization=None,
                    task_activation=task_activation)
    model.compile(keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(data, tasks=tasks, steps_per_epoch=1, verbose=0, shuffle=False)  # builds, traces, trains one step
    plain = PlainTAFENet(model, tasks, 1e-3)
    return model, plain, data, (tf.constant(x), tf.constant(y))


def check(tolerance):
    """Relative loss and gradient differences between the plain TAFE-Net step and kzoo's on one batch."""
    import tensorflow as tf

    model, plain, _, (x, y) = tafenet_pair(dropout=0.0, classes_per_step=None)
    with tf.GradientTape() as tape:
        loss = model._pair_losses((x, y), training=True)[0]
    variables = model.task_variables + model.prediction_variables
    kzoo_grads = tape.gradient(loss, variables)
    plain_loss, plain_grads = plain.loss_and_grads(x, y)
    return compare("TAFE-Net", kzoo_grads, plain_grads, loss, plain_loss, tolerance)


def amaz_pair():
    """A compiled kzoo AMAZ with the glyphs_zsl preset's settings and sizes, the plain step with its
    weights, and one fixed batch of 10 tasks (10-way 5-shot support, 3-shot query) of random features."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kzoo.applications import AMAZ
    from kzoo.applications.amaz import recipe
    from kzoo.episodes.zero_shot import zero_shot_tasks
    from peers.plain_tf import PlainAMAZ

    sys.path.insert(0, str(HERE.parent / "applications" / "amaz"))
    from variant import PRESET_SETTINGS

    rng = np.random.RandomState(0)
    seen, per_class = 100, 10
    features = np.maximum(rng.randn(seen * per_class, 256), 0).astype("float32") / 4
    labels = np.repeat(np.arange(seen), per_class)
    attributes = (rng.rand(seen, 81) < 0.2).astype("float32")
    batch = next(iter(zero_shot_tasks(features, labels, attributes, np.arange(seen), seed=0)))
    keras.utils.set_random_seed(0)
    model = AMAZ(feature_dim=256, attribute_dim=81, num_classes=seen, seed=0, **PRESET_SETTINGS,
                 **recipe.glyph_sizes(256))
    model.compile()
    data = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(data, steps_per_epoch=1, verbose=0, shuffle=False)  # traces and trains one step
    return model, PlainAMAZ(model), data, batch


def check_amaz(tolerance):
    """Relative differences of Algorithm 1's meta-gradients (support steps, then query gradients) of
    the plain step and kzoo's, from the same weights and the same random draws."""
    import numpy as np
    import tensorflow as tf

    from kzoo.applications.amaz.meta_training import PHASES

    model, plain, _, batch = amaz_pair()
    rng = np.random.RandomState(1)
    draws = []
    for part in ("support", "query"):
        tasks, samples = batch[f"{part}_x"].shape[:2]
        for phase in PHASES:
            draws.append(tf.constant(0.1 * rng.randn(tasks, samples, 81), tf.float32))
            if phase == "discriminator":
                draws.append(tf.constant(rng.rand(tasks, samples, 1), tf.float32))
    queue = list(draws)
    model._task_random = lambda draw, shape, **kwargs: queue.pop(0)
    groups = {phase: model.phase_variables(phase) for phase in PHASES}
    initial = {phase: [tf.identity(v) for v in groups[phase]] for phase in PHASES}
    for phase in PHASES:
        model.inner_update(phase, batch)
    kzoo_grads = [g for phase in PHASES for g in model.phase_gradients(phase, batch, "query")[0]]
    for phase in PHASES:
        for variable, value in zip(groups[phase], initial[phase]):
            variable.assign(value)
    del model._task_random
    plain.draws = list(draws)
    meta = plain.meta_gradients(batch)
    plain.draws = None
    plain_grads = [g for phase in PHASES for g in meta[phase]]
    return compare("AMAZ", kzoo_grads, plain_grads, None, None, tolerance)


def compare(name, kzoo_grads, plain_grads, kzoo_loss, plain_loss, tolerance):
    import numpy as np

    if len(plain_grads) != len(kzoo_grads) or any((a is None) != (b is None) for a, b in zip(kzoo_grads, plain_grads)):
        raise SystemExit(f"{name}: the plain step's gradients do not line up with kzoo's; not timed")
    a = np.concatenate([np.ravel(g) for g in kzoo_grads if g is not None])
    b = np.concatenate([np.ravel(g) for g in plain_grads if g is not None])
    grad_difference = float(np.linalg.norm(a - b) / np.linalg.norm(a))
    loss_difference, losses = 0.0, ""
    if kzoo_loss is not None:
        loss_difference = abs(float(plain_loss) - float(kzoo_loss)) / abs(float(kzoo_loss))
        losses = f"loss kzoo {float(kzoo_loss):.6f}, plain {float(plain_loss):.6f}; "
    print(f"check {name}: {losses}gradients differ by {grad_difference:.2e} (relative, over {a.size:,} values)",
          flush=True)
    if loss_difference > tolerance or grad_difference > tolerance:
        raise SystemExit(f"{name}: the plain TensorFlow step differs from kzoo's (tolerance {tolerance}); not timed")
    return {"gradient_difference": grad_difference, "loss_difference": loss_difference, "values": int(a.size)}


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(HERE))
    from peers.common import set_threads

    set_threads(args.threads, torch_too=False)

    if args.report:
        return report()
    from kzoo.files import write_json

    checks = {"TAFE-Net": check(args.tolerance), "AMAZ": check_amaz(args.tolerance)}
    model, plain, data, (x, y) = tafenet_pair(dropout=0.5, classes_per_step=64)
    rates = {"TAFE-Net": time_pair("TAFE-Net (glyphs_gzsl sizes, batch 64 x 64 classes)", model, data,
                                   lambda: plain.step(x, y), args)}
    model, plain, data, batch = amaz_pair()
    rates["AMAZ"] = time_pair("AMAZ (glyphs_zsl settings and sizes, 10 tasks of 10-way 5/3-shot)", model, data,
                              lambda: plain.step(batch), args)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    write_json(RESULTS / f"vs_plain_tf_threads{args.threads}.json",
               {"command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]), "threads": args.threads,
                "steps": args.steps, "repeats": args.repeats, "uptime_after": uptime,
                "models": {name: {"steps_per_second": rates[name], "check": checks[name]} for name in rates}})
    report()


def report():
    """Rewrites README's overhead table from results/vs_plain_tf_threads*.json."""
    from kzoo.files import report_blocks

    lines = ["| model | threads | kzoo steps/s | plain TF steps/s | kzoo/plain | kzoo's overhead | gradients checked "
             "(relative difference) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in [json.loads(p.read_text()) for p in sorted(RESULTS.glob("vs_plain_tf_threads*.json"))]:
        for name, model in run["models"].items():
            kzoo, plain = model["steps_per_second"]["kzoo"], model["steps_per_second"]["plain"]
            lines.append(f"| {name} | {run['threads']} | {kzoo:.1f} | {plain:.1f} | {kzoo / plain:.2f} | "
                         f"{100 * (plain / kzoo - 1):+.0f}% | {model['check']['gradient_difference']:.1e} |")
    runs = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("vs_plain_tf_threads*.json"))]
    lines += [""] + [f"`{run['command']}`: median of {run['repeats']} interleaved chunks of {run['steps']} steps "
                     f"per side; after the run: `{run['uptime_after']}`." for run in runs]
    report_blocks(HERE / "README.md", {"overhead": "\n".join(lines)}, write=True, tag="vs_plain_tf.py")


def time_pair(name, model, data, plain_step, args):
    """Interleaved median steps/s of kzoo's compiled train function and of the plain step."""
    from vs_peers import interleaved

    iterator = iter(data)

    def kzoo(steps):
        for _ in range(steps):
            logs = model.train_function(iterator)
        float(next(iter(logs.values())))

    def plain(steps):
        for _ in range(steps):
            out = plain_step()
        float(out)

    plain(3)  # traces
    kzoo(3)
    rates = interleaved({"kzoo": kzoo, "plain": plain}, args.steps, args.repeats)
    ratio = rates["kzoo"] / rates["plain"]
    print(f"{name}, {args.threads} thread(s): kzoo {rates['kzoo']:.1f} steps/s, plain TF {rates['plain']:.1f} "
          f"steps/s, kzoo/plain = {ratio:.2f} (kzoo's overhead {100 * (1 / ratio - 1):+.0f}%)", flush=True)
    return {side: round(rate, 3) for side, rate in rates.items()}

if __name__ == "__main__":
    main()
