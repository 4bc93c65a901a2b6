"""Episodes per second: kzoo's in-graph tf.data sampler vs a plain NumPy sampler vs
how fast a 4-layer 64-channel conv net can consume them, measured in one run.

    python benchmarks/episode_pipeline.py                 # Omniglot from ../shared, else glyphs
    python benchmarks/episode_pipeline.py --data glyphs --batches 200
    python benchmarks/episode_pipeline.py --jpeg84        # 84x84 JPEGs in mini-ImageNet's layout vs ResNet-12

`--jpeg84` writes a synthetic mini-ImageNet train split (64 classes x 60 JPEG files,
Ravi & Larochelle's CSV layout) to a temporary folder, times `episodes.mini_imagenet`
cold (decoding every file in the parallel tf.data map) and cached, then 5-way 1-shot
15-query episodes (T=4) from it against a ResNet-12 ProtoNet train step (the
literature's widths 64-160-320-640) in the same run. Target: >= 3x consumption.

Setting (the foundation issue's): 20-way 1-shot, 15 queries, 28x28, T=16 tasks per
batch, class rotations on. Targets: tf.data >= 5x the NumPy sampler and >= 10x the
conv net's consumption rate, so data is never the bottleneck.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from kzoo import episodes


def numpy_sampler(source, ways, shots, queries, tasks, rng):
    """The same episodes as `few_shot(..., rotations=True)`, sampled in Python/NumPy."""
    per_class = shots + queries
    support_x, support_y, query_x, query_y = [], [], [], []
    for _ in range(tasks):
        pseudo = rng.choice(source.num_classes * 4, size=ways, replace=False)
        s_x, q_x = [], []
        for p in pseudo:
            c, k = divmod(int(p), 4)
            pick = rng.choice(source.class_counts[c], size=per_class, replace=False)
            images = np.rot90(source.images_of(c)[pick], k, axes=(1, 2)).astype(np.float32) / 255.0
            s_x.append(images[:shots])
            q_x.append(images[shots:])
        support_x.append(np.concatenate(s_x))
        query_x.append(np.concatenate(q_x))
        support_y.append(np.repeat(np.arange(ways, dtype=np.int32), shots))
        query_y.append(np.repeat(np.arange(ways, dtype=np.int32), queries))
    x = {"support_x": np.stack(support_x), "support_y": np.stack(support_y), "query_x": np.stack(query_x)}
    return x, np.stack(query_y)


def conv_net(channels=64):
    """The standard 4 x [conv 3x3, BN, ReLU, max-pool 2] embedding (Vinyals et al.)."""
    import keras

    layers = [keras.Input((28, 28, 1))]
    for _ in range(4):
        layers += [keras.layers.Conv2D(channels, 3, padding="same"), keras.layers.BatchNormalization(),
                   keras.layers.ReLU(), keras.layers.MaxPooling2D(2)]
    return keras.Sequential(layers + [keras.layers.Flatten()])


def protonet_step(net, optimizer):
    @tf.function(reduce_retracing=True)
    def step(x, query_y):
        T, S = tf.shape(x["support_x"])[0], tf.shape(x["support_x"])[1]
        Q = tf.shape(x["query_x"])[1]
        ways = tf.reduce_max(x["support_y"]) + 1
        with tf.GradientTape() as tape:
            images = tf.concat([tf.reshape(x["support_x"], [-1, 28, 28, 1]),
                                tf.reshape(x["query_x"], [-1, 28, 28, 1])], 0)
            z = net(images, training=True)
            support = tf.reshape(z[: T * S], [T, S, -1])
            query = tf.reshape(z[T * S:], [T, Q, -1])
            onehot = tf.one_hot(x["support_y"], ways)
            prototypes = tf.einsum("tsn,tsd->tnd", onehot, support) / tf.reduce_sum(onehot, 1)[..., None]
            logits = -tf.reduce_sum((query[:, :, None] - prototypes[:, None]) ** 2, -1)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(query_y, logits))
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return loss

    return step


def resnet12_step(optimizer):
    """A ProtoNet train step on kzoo's ResNet-12 (64-160-320-640) at 84x84 RGB."""
    from kzoo.applications import ProtoNet
    from kzoo.layers import ResNet12

    model = ProtoNet(example_shape=(84, 84, 3), backbone=ResNet12())
    model.compile(optimizer=optimizer)
    return model


def jpeg84(args):
    import shutil
    import tempfile

    from PIL import Image

    root = tempfile.mkdtemp(prefix="kzoo-mini-")
    try:
        rng = np.random.default_rng(0)
        os.makedirs(os.path.join(root, "images"))
        lines = ["filename,label"]
        for c in range(64):
            base = rng.integers(0, 256, size=(3,))
            for i in range(60):
                image = np.clip(base + rng.normal(0, 40, size=(84, 84, 3)), 0, 255).astype(np.uint8)
                name = f"n{c:08d}{i:08d}.jpg"
                Image.fromarray(image).save(os.path.join(root, "images", name), quality=90)
                lines.append(f"{name},n{c:08d}")
        with open(os.path.join(root, "train.csv"), "w") as f:
            f.write("\n".join(lines) + "\n")
        cache = os.path.join(root, "cache")
        start = time.perf_counter()
        source = episodes.mini_imagenet(root, "train", cache_dir=cache)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        episodes.mini_imagenet(root, "train", cache_dir=cache)
        cached = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"data: {source!r} ({source.images.shape[0]} JPEG files)")
    print(f"load: {cold:.1f} s cold (decode + resize in tf.data, {source.images.shape[0] / cold:.0f} files/s), "
          f"{cached:.2f} s from the cache")
    T = 4
    dataset = episodes.few_shot(source, 5, 1, 15, tasks=T)
    iterator = iter(dataset)
    data_rate = T * rate(lambda: next(iterator), args.batches, warmup=5)
    import keras

    model = resnet12_step(keras.optimizers.Adam(1e-3))
    batch = next(iter(dataset))
    net_rate = T * rate(lambda: model.train_on_batch(*batch), args.net_steps, warmup=1)
    print(f"tf.data sampler, 5-way 1-shot 15-query 84x84 RGB, T={T}   {data_rate:9.1f} episodes/s")
    print(f"ResNet-12 ProtoNet train step (64-160-320-640)         {net_rate:9.1f} episodes/s")
    print(f"ratio tf.data / ResNet-12 = {data_rate / net_rate:.1f}x (target >= 3, cached)")


def rate(fn, count, warmup):
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="omniglot[:PATH] or glyphs (default: Omniglot if found)")
    parser.add_argument("--batches", type=int, default=100, help="tf.data batches per round (default 100)")
    parser.add_argument("--numpy-batches", type=int, default=20, help="NumPy batches per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; medians are printed")
    parser.add_argument("--net-steps", type=int, default=3)
    parser.add_argument("--ways", type=int, default=20)
    parser.add_argument("--shots", type=int, default=1)
    parser.add_argument("--queries", type=int, default=15)
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--jpeg84", action="store_true",
                        help="84x84 JPEG files in mini-ImageNet's layout against a ResNet-12 step instead")
    args = parser.parse_args()
    if args.jpeg84:
        return jpeg84(args)

    spec = args.data
    if spec is None:
        try:
            episodes.default_omniglot_path()
            spec = "omniglot"
        except FileNotFoundError:
            spec = "glyphs"
    source = episodes.load(spec)
    print(f"data: {source!r}")
    print(f"episodes: {args.ways}-way {args.shots}-shot {args.queries}-query, 28x28, T={args.tasks}, rotations on")
    T = args.tasks

    dataset = episodes.few_shot(source, args.ways, args.shots, args.queries, tasks=T, rotations=True)
    rng = np.random.RandomState(0)
    # Interleaved rounds, medians: the machine is shared, so both samplers see the same load.
    # Each round's iterator is deleted before the NumPy round so that no prefetch thread
    # competes with the NumPy sampler for the CPU.
    tf_rates, numpy_rates = [], []
    for _ in range(args.rounds):
        iterator = iter(dataset)
        tf_rates.append(T * rate(lambda: next(iterator), args.batches, warmup=5))
        del iterator
        time.sleep(1.0)  # let tf.data's worker threads wind down
        numpy_rates.append(T * rate(lambda: numpy_sampler(source, args.ways, args.shots, args.queries, T, rng),
                                    args.numpy_batches, warmup=1))
    tfdata, numpy_rate = float(np.median(tf_rates)), float(np.median(numpy_rates))

    import keras

    net = conv_net(64)
    step = protonet_step(net, keras.optimizers.Adam(1e-3))
    batch = next(iter(dataset))
    net_rate = T * rate(lambda: step(*batch).numpy(), args.net_steps, warmup=1)

    print(f"median of {args.rounds} interleaved rounds")
    print(f"tf.data sampler (kzoo)        {tfdata:9.1f} episodes/s")
    print(f"NumPy sampler (same episodes) {numpy_rate:9.1f} episodes/s")
    print(f"4x64 conv net train step      {net_rate:9.1f} episodes/s (ProtoNet loss, forward + backward)")
    print(f"ratio tf.data / NumPy    = {tfdata / numpy_rate:.1f}x (target >= 5)")
    print(f"ratio tf.data / conv net = {tfdata / net_rate:.1f}x (target >= 10)")


if __name__ == "__main__":
    main()
