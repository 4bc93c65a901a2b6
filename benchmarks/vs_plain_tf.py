"""kzoo's training steps against the same models written directly in TensorFlow: kzoo's overhead.

    python benchmarks/vs_plain_tf.py --threads 1
    python benchmarks/vs_plain_tf.py --threads 2 --repeats 5

TAFE-Net, the `tafenet/glyphs_gzsl` recipe's sizes on random features (speed does not
depend on the values): 256-d features, 81-d descriptions of 519 seen classes, feature
network 3 x 256, T 3 x 256 without normalization, linear generators, classifier 128 with
dropout 0.5, beta 0.1, batch 64 against 64 classes per step. kzoo: `TAFENet`'s compiled
train function, the one `fit` runs every step; plain: `peers.plain_tf.PlainTAFENet`, the
same math as tensors and `tf.nn` ops with Adam written out, in one `tf.function`.

Before timing, both start from the same weights, and the plain step's loss and gradients
are checked against kzoo's on one batch (dropout off and all classes, so that the two
draw nothing at random). The sides alternate `--repeats` times; `kzoo/plain = R` compares
their median steps/s (R = 0.91 is 10% overhead).
"""

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow's intra- and inter-op threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed chunks per side (default 5)")
    parser.add_argument("--steps", type=int, default=50, help="training steps per chunk (default 50)")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest relative difference of the whole gradient vector (default 1e-4)")
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
    """Relative loss and gradient differences between the plain step and kzoo's on one batch."""
    import numpy as np
    import tensorflow as tf

    model, plain, _, (x, y) = tafenet_pair(dropout=0.0, classes_per_step=None)
    with tf.GradientTape() as tape:
        loss = model._pair_losses((x, y), training=True)[0]
    variables = model.task_variables + model.prediction_variables
    kzoo_grads = tape.gradient(loss, variables)
    plain_loss, plain_grads = plain.loss_and_grads(x, y)
    if len(plain_grads) != len(kzoo_grads):
        raise AssertionError(f"{len(plain_grads)} plain gradients against kzoo's {len(kzoo_grads)}")
    a = np.concatenate([np.ravel(g) for g in kzoo_grads])
    b = np.concatenate([np.ravel(g) for g in plain_grads])
    loss_difference = abs(float(plain_loss) - float(loss)) / abs(float(loss))
    grad_difference = float(np.linalg.norm(a - b) / np.linalg.norm(a))
    print(f"check: loss kzoo {float(loss):.6f}, plain {float(plain_loss):.6f}; gradients differ by "
          f"{grad_difference:.2e} (relative, over {a.size:,} values)", flush=True)
    if loss_difference > tolerance or grad_difference > tolerance:
        raise SystemExit(f"the plain TensorFlow step differs from kzoo's (tolerance {tolerance}); not timed")


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(HERE))
    from peers.common import set_threads

    set_threads(args.threads, torch_too=False)
    from vs_peers import interleaved

    check(args.tolerance)
    model, plain, data, (x, y) = tafenet_pair(dropout=0.5, classes_per_step=64)
    iterator = iter(data)

    def kzoo(steps):
        for _ in range(steps):
            logs = model.train_function(iterator)
        float(logs["loss"])

    def plain_tf(steps):
        for _ in range(steps):
            loss = plain.step(x, y)
        float(loss)

    plain_tf(3)  # traces
    kzoo(3)
    rates = interleaved({"kzoo": kzoo, "plain": plain_tf}, args.steps, args.repeats)
    ratio = rates["kzoo"] / rates["plain"]
    print(f"TAFE-Net (glyphs_gzsl sizes, batch 64 x 64 classes), {args.threads} thread(s): kzoo "
          f"{rates['kzoo']:.1f} steps/s, plain TF {rates['plain']:.1f} steps/s, kzoo/plain = {ratio:.2f} "
          f"(kzoo's overhead {100 * (1 / ratio - 1):+.0f}%)", flush=True)


if __name__ == "__main__":
    main()
