"""What every side of `vs_peers.py` shares: the episode batch, kzoo's models, weights and gradients."""

import numpy as np

SIZE, SHOTS, QUERIES, TASKS, INNER_LR = 28, 1, 15, 4, 0.4


def set_threads(threads, torch_too=True):
    """TensorFlow's intra- and inter-op pools, and torch's (one inter-op thread) when `torch_too` and installed."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    if torch_too:
        try:
            import torch
        except ImportError:
            return
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)


def episode_batch(ways, seed=0, shots=SHOTS, size=SIZE):
    """One fixed meta-batch of T = 4 tasks: `({"support_x" [T, K N, size, size, 1], "support_y" [T, K N],
    "query_x" [T, 15 N, size, size, 1]}, query_y [T, 15 N])`."""
    rng = np.random.RandomState(seed)
    support_y = np.tile(np.arange(ways, dtype="int32"), (TASKS, shots))
    query_y = np.tile(np.arange(ways, dtype="int32"), (TASKS, QUERIES))
    x = {"support_x": rng.rand(TASKS, ways * shots, size, size, 1).astype("float32"), "support_y": support_y,
         "query_x": rng.rand(TASKS, ways * QUERIES, size, size, 1).astype("float32")}
    return x, query_y


def kzoo_model(algorithm, ways, channels, inner_steps=1, size=SIZE, first_order=False, remat=False):
    """kzoo's model of `algorithm` ("maml", "protonet" or "hypertransformer"), built, not compiled.

    `first_order`, `remat`: MAML's options (`MTNet`).

    HyperTransformer: the paper's logits-only model (`generate="logits"`, its defaults)."""
    import keras

    from kzoo.applications import HyperTransformer, MTNet, ProtoNet

    keras.utils.set_random_seed(0)
    if algorithm == "maml":
        model = MTNet(example_shape=(size, size, 1), variant="maml", num_outputs=ways, channels=channels,
                      inner_lr=INNER_LR, inner_steps=inner_steps, first_order=first_order, seed=0,
                      remat=remat)
    elif algorithm == "protonet":
        model = ProtoNet(example_shape=(size, size, 1), channels=channels)
    else:
        model = HyperTransformer(num_ways=ways, channels=channels, example_shape=(size, size, 1))
    model.build()
    return model


def _short_name(path):
    """`mt_net/conv0/kernel` -> `w0`, `.../norm2/gamma` -> `gamma2`, `mt_net/head/bias` -> `head_b`;
    HyperTransformer's keep their path below the model (`logits_transformer/encoder0_inner/bias`)."""
    if path.startswith("hyper_transformer"):  # hyper_transformer/, hyper_transformer_1/, ...
        return path.split("/", 1)[1]
    layer, weight = path.split("/")[-2:]
    if layer == "head":
        return {"kernel": "head_w", "bias": "head_b"}[weight]
    index = layer[len(layer.rstrip("0123456789")):]
    return {"kernel": "w", "bias": "b"}.get(weight, weight) + index


def kzoo_weights(model):
    """`{short name: float32 numpy array}` of the model's trainable weights, TensorFlow layouts."""
    return {_short_name(v.path): np.array(v.numpy()) for v in model.trainable_variables}


def kzoo_loss_and_grads(model, x, y):
    """kzoo's training loss on one batch and its gradients, `(float, {short name: array})`.

    The loss each model's `train_step` minimises: the mean query loss after adaptation
    (MAML) or the query cross-entropy over all tasks (ProtoNet, HyperTransformer)."""
    import keras
    import tensorflow as tf

    from kzoo.applications import MTNet

    with tf.GradientTape() as tape:
        if isinstance(model, MTNet):
            loss = tf.reduce_mean(model._query_losses(x, tf.constant(y), training=True)[:, 1])
        else:
            logits = model(x, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
    grads = tape.gradient(loss, model.trainable_variables)
    return float(loss), {_short_name(v.path): np.array(tf.convert_to_tensor(g))  # embeddings: IndexedSlices
                         for v, g in zip(model.trainable_variables, grads)}


def relative_difference(reference, other):
    """`||a - b|| / ||a||` of two same-keyed dicts of arrays, concatenated (the whole gradient vector).

    Not per weight: a conv bias followed by batch normalization has a gradient of exactly
    0 in exact arithmetic, so its float32 gradients are rounding noise on both sides."""
    if set(reference) != set(other):
        raise ValueError(f"Expected the same weights on both sides. Received: {sorted(reference)} and {sorted(other)}.")
    a = np.concatenate([np.ravel(reference[k]) for k in sorted(reference)]).astype(np.float64)
    b = np.concatenate([np.ravel(other[k]) for k in sorted(reference)]).astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30))
