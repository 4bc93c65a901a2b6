"""What batch normalization costs in a ProtoNet-sized training step, and what the fused kernel saves.

    python benchmarks/batchnorm_step.py [--channels 32] [--threads 1]

The 4 x [3x3 conv, BN, ReLU, 2x2 max-pool] net of `ConvBackbone` on 320 28x28 images
(5-way 1-shot, 15 queries, 4 tasks), a dense head, cross-entropy and an Adam step, as a
`tf.function`, with three normalizations: Keras's `BatchNormalization` layer call,
`kzoo.layers.fused_batch_norm` on the same layer (what `ConvBackbone` runs in training),
and none (the lower bound). Timings are interleaved; medians of `--repeats`.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="steps per timing")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    from kzoo.layers import fused_batch_norm

    x = tf.random.uniform((320, 28, 28, 1), seed=0)
    y = tf.random.uniform((320,), maxval=5, dtype=tf.int32, seed=1)

    class Net(keras.Model):
        def __init__(self, norm):
            super().__init__()
            self.norm = norm
            self.convs = [keras.layers.Conv2D(args.channels, 3, padding="same") for _ in range(4)]
            self.norms = [keras.layers.BatchNormalization(momentum=0.9) for _ in range(4 if norm != "none" else 0)]
            self.head = keras.layers.Dense(5)

        def call(self, h, training=False):
            for i, conv in enumerate(self.convs):
                h = conv(h)
                if self.norm == "keras":
                    h = self.norms[i](h, training=training)
                elif self.norm == "fused":
                    h = fused_batch_norm(self.norms[i], h, training)
                h = keras.ops.max_pool(keras.ops.relu(h), 2, 2)
            return self.head(keras.ops.reshape(h, (h.shape[0], -1)))

    def step_function(norm):
        model = Net(norm)
        model(x, training=False)
        optimizer = keras.optimizers.Adam(1e-3)
        optimizer.build(model.trainable_variables)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=True)))
            optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
            return loss
        return step

    steps = {name: step_function(name) for name in ("keras", "fused", "none")}
    for step in steps.values():
        step(), step()
    rates = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                loss = step()
            float(loss)
            rates[name].append(args.steps / (time.perf_counter() - start))
    median = {name: statistics.median(r) for name, r in rates.items()}
    ms = {name: 1000.0 / r for name, r in median.items()}
    print(f"ProtoNet-sized step, {args.channels} channels, {args.threads} thread(s), medians of {args.repeats}:")
    for name, label in (("keras", "keras.layers.BatchNormalization"), ("fused", "kzoo fused_batch_norm"),
                        ("none", "no normalization")):
        print(f"  {label:34s} {median[name]:6.2f} steps/s  {ms[name]:6.1f} ms/step")
    print(f"  batch norm share of the step: Keras {1 - ms['none'] / ms['keras']:.0%}, "
          f"fused {1 - ms['none'] / ms['fused']:.0%}; fused / Keras = {median['fused'] / median['keras']:.2f}x")


if __name__ == "__main__":
    main()
