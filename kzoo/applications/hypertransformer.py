"""HyperTransformer (Zhmoginov, Sandler & Vladymyrov, ICML 2022).

About 430 lines: the transformer that generates the weights (Sect. 3), the generated
CNN that uses them, and their shared per-layer weight layout are one model.
"""

import math

import keras
import tensorflow as tf
from keras import ops

from kzoo.applications.episodic_model import EpisodicModel
from kzoo.checks import check_float, check_int
from kzoo.layers.weight_slice_transformer import WeightSliceTransformer

GENERATE = ("logits", "all")
ALLOCATIONS = ("output", "spatial")
NORMALIZATIONS = ("batch", "support")


def task_moments(x):
    """Mean and variance of `[T, B, H, W, C]` activations per task and channel."""
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return mean, ops.mean(ops.square(x - mean), axis=(1, 2, 3), keepdims=True)


def generated_channel_similarity(kernel):
    """Mean |cosine| between the output channels' filters of `[T, k, k, C_in, C_out]` kernels.

    Averaged over the pairs of distinct output channels of each task, then over tasks:
    about 0 for independent random filters, 1 when every channel holds the same filter
    (up to sign), so the layer is as good as one channel wide.
    """
    kernel = ops.cast(kernel, "float32")
    filters = ops.reshape(ops.moveaxis(kernel, -1, 1), (ops.shape(kernel)[0], kernel.shape[-1], -1))
    filters = filters / (ops.norm(filters, axis=-1, keepdims=True) + 1e-12)
    cosines = ops.abs(ops.einsum("tcd,ted->tce", filters, filters))
    channels = kernel.shape[-1]
    if channels < 2:
        return ops.convert_to_tensor(0.0)
    off_diagonal = ops.sum(cosines, axis=(1, 2)) - ops.trace(cosines, axis1=1, axis2=2)
    return ops.mean(off_diagonal / (channels * (channels - 1)))


def per_task_conv(x, kernel):
    """`[T, B, H, W, C]` convolved ('same', stride 1) with task t's kernel `kernel[t]`.

    `tf.map_fn` over tasks: on this CPU 1.6x faster than one grouped convolution and
    4x faster than patches + einsum for 20 tasks x 300 images (all agree exactly).
    """
    return tf.map_fn(lambda e: tf.nn.conv2d(e[0], e[1], 1, "SAME"), (x, kernel),
                     fn_output_signature=x.dtype)


@keras.saving.register_keras_serializable(package="kzoo")
class HyperTransformer(EpisodicModel):
    """HyperTransformer: a Transformer that writes the weights of a small CNN per episode.

    The generated CNN has `blocks` blocks of [3x3 conv 'same' (no bias), activation,
    2x2 max-pool, BatchNorm] and a dense logits layer. BatchNorm's gamma and beta are
    learned (not generated) and it normalises with batch statistics per task, as the
    official code does (also at inference). Weights are generated layer by layer
    (Section 4.1, Fig. 1): theta_1(tau) -> theta_2(theta_1; tau) -> ... -> theta_L.
    For a generated layer l, every support sample i becomes the token
    `[xi(c_i), s(x_i), h_l(z_i^l)]` (the set I^l of Section 4.1) fed to a
    `WeightSliceTransformer` (one per layer): s is a shared image-embedding conv net
    (`image_embedding_dim` channels, 4 stride-2 convs with BatchNorm and ReLU, global
    average pool), h_l a per-layer feature extractor (2 linear 3x3 convs, stride 2
    then 1, each globally average-pooled, concatenated) applied to z_i^l, the support
    activations entering layer l (after the generated layers 1..l-1). For the logits
    layer the activation embedding is the layer's input itself (the flattened CNN
    features e_i, as in Appendix A), and the slice of class c is its weight column
    and bias, so logits = e W + b (eq. 2's model).

    `generate="logits"` generates only the logits layer on top of a learned CNN;
    `generate="all"` also generates every conv kernel ("output" allocation: one
    slice per output channel of size 9*C_in; "spatial": 9 slices of C_in*C_out).
    `call(episode)` generates the weights from the support set and classifies the
    query set in one pass; `fit` trains end to end on the query cross-entropy (eq. 1).

    Unlabeled support samples (label -1) take the learned "unlabeled" label
    embedding and are used as they are (Section 5.3); during training a random
    fraction p ~ U(0, `unlabeled_drop`) of their tokens is masked per task. The
    `UnlabeledDropSchedule` callback shrinks `unlabeled_drop` over training (the
    paper's incremental schedule).

    With `generate="all"`, training also logs `channel_similarity`, the mean |cosine|
    between the generated filters of different output channels
    (`generated_channel_similarity`): near 1, the generated CNN has collapsed to
    one channel per layer. Adam at full rate from step 0 does that within a few
    hundred steps; a learning-rate warm-up (`kzoo.training.LinearWarmup`) avoids it.

    Episodes may have N <= `num_ways` classes: there are always `num_ways` logits
    slices (label embeddings 0..num_ways-1) and the output keeps the first N logits.

    Args:
        num_ways: the largest N (number of logits slices). Defaults to `20`.
        channels: conv channels of the generated CNN. Defaults to `8`.
        generate: `"logits"` or `"all"`. Defaults to `"logits"`.
        allocation: conv slices, `"output"` or `"spatial"` (for `generate="all"`).
            Defaults to `"output"`.
        embedding_dim: d, label and slice embedding size. Defaults to `32`.
        num_layers: Transformer encoder layers. Defaults to `3`.
        num_heads: attention heads. Defaults to `2`.
        nu: key/query/value and inner size as a fraction of the token width.
            Defaults to `1.0`.
        decoder_layers: decoder layers (Appendix E's encoder-decoder variant).
            Defaults to `0`.
        image_embedding_dim: size of s(x). Defaults to `32`.
        activation_embedding_dim: size of h_l (two convs of half this width).
            Defaults to `channels` (the paper's choice).
        activation: the CNN's activation. Defaults to `"relu"`.
        blocks: conv blocks. Defaults to `4`.
        normalization: `"batch"` normalises every batch (support, query) with its own
            statistics per task (the official code); `"support"` normalises queries
            with the support set's statistics, so each query is classified on its
            own (inductive). Defaults to `"batch"`.
        unlabeled_drop: initial maximum fraction of unlabeled tokens masked in
            training. Defaults to `0.0`.
        example_shape: `(height, width, channels)`. Defaults to `(28, 28, 1)`.

    Call arguments:
        inputs: an episode dict, `support_x` `[T, S, H, W, C]`, `support_y` int32
            `[T, S]` (-1 = unlabeled), `query_x` `[T, Q, H, W, C]`.

    Returns:
        Query logits `[T, Q, N]`, N = max(support_y) + 1 <= `num_ways`.

    Example:

    >>> from kzoo import episodes
    >>> from kzoo.applications import HyperTransformer
    >>> train, val, test = episodes.glyphs(scripts=["Greek", "Cyrillic"]).split((0.6, 0.2, 0.2), by="class")
    >>> model = HyperTransformer(num_ways=5, channels=8, embedding_dim=8, num_layers=1)
    >>> model.compile()
    >>> history = model.fit(episodes.few_shot(train, 5, 1, 5, tasks=4), steps_per_epoch=2, verbose=0)
    >>> model.predict(episodes.few_shot(test, 5, 1, 5, batches=1), verbose=0).shape
    (1, 25, 5)

    Reference: Zhmoginov, Sandler & Vladymyrov, "HyperTransformer: Model Generation
    for Supervised and Semi-Supervised Few-Shot Learning", ICML 2022.
    """

    preset_folder = "hypertransformer"

    def __init__(self, num_ways=20, channels=8, generate="logits", allocation="output", embedding_dim=32,
                 num_layers=3, num_heads=2, nu=1.0, decoder_layers=0, image_embedding_dim=32,
                 activation_embedding_dim=None, activation="relu", blocks=4, normalization="batch",
                 unlabeled_drop=0.0, example_shape=(28, 28, 1), **kwargs):
        super().__init__(example_shape=example_shape, **kwargs)
        for name, value in (("num_ways", num_ways), ("channels", channels), ("blocks", blocks),
                            ("image_embedding_dim", image_embedding_dim)):
            check_int(value, name, 1)
        if activation_embedding_dim is not None and (
                isinstance(activation_embedding_dim, bool) or not isinstance(activation_embedding_dim, int)
                or activation_embedding_dim < 2):
            raise ValueError("Expected `activation_embedding_dim` to be an integer >= 2 or None. "
                             f"Received: activation_embedding_dim={activation_embedding_dim!r}.")
        for name, value, allowed in (("generate", generate, GENERATE), ("allocation", allocation, ALLOCATIONS),
                                     ("normalization", normalization, NORMALIZATIONS)):
            if value not in allowed:
                raise ValueError(f"Expected `{name}` in {list(allowed)}. Received: {name}={value!r}.")
        unlabeled_drop = check_float(unlabeled_drop, "unlabeled_drop", 0, 1, inclusive=(True, True))
        if len(self.example_shape) != 3:
            raise ValueError(f"Expected `example_shape` (height, width, channels). Received: {self.example_shape!r}.")
        height, width = self.example_shape[:2]
        if min(height, width) < 2 ** blocks:
            raise ValueError(f"Expected images of at least {2 ** blocks}x{2 ** blocks} pixels for {blocks} blocks. "
                             f"Received: example_shape={self.example_shape}.")
        self.num_ways, self.channels, self.generate, self.allocation = num_ways, channels, generate, allocation
        self.embedding_dim, self.num_layers, self.num_heads, self.nu = embedding_dim, num_layers, num_heads, float(nu)
        self.decoder_layers, self.image_embedding_dim = decoder_layers, image_embedding_dim
        self.activation_embedding_dim = activation_embedding_dim
        self.activation = activation
        self._activation = keras.activations.get(activation)
        self.blocks, self.normalization = blocks, normalization
        self.initial_unlabeled_drop = float(unlabeled_drop)
        self.seed_generator = keras.random.SeedGenerator(0)
        # training health of generate="all": near 1 means the generated channels collapsed onto one
        self.channel_similarity = keras.metrics.Mean(name="channel_similarity") if generate == "all" else None

        policy = self.dtype_policy
        transformer = dict(num_labels=num_ways, embedding_dim=embedding_dim, num_layers=num_layers,
                           num_heads=num_heads, nu=nu, decoder_layers=decoder_layers, dtype=policy)
        self.image_convs = [keras.layers.Conv2D(image_embedding_dim, 3, strides=2, padding="same", use_bias=False,
                                                name=f"image_conv{i}", dtype=policy) for i in range(4)]
        feature_channels = [self.example_shape[-1]] + [channels] * (blocks - 1)
        # h_l: extractor_first[l] (stride 2) then extractor_second[l] (stride 1)
        self.extractor_first, self.extractor_second, self.transformers = [], [], []
        if generate == "all":
            filters = (activation_embedding_dim or max(2, channels)) // 2
            for i, c_in in enumerate(feature_channels):
                self.extractor_first.append(keras.layers.Conv2D(
                    filters, 3, strides=2, padding="same", name=f"extractor{i}_conv0", dtype=policy))
                self.extractor_second.append(keras.layers.Conv2D(
                    filters, 3, strides=1, padding="same", name=f"extractor{i}_conv1", dtype=policy))
                slices = (channels, 9 * c_in) if allocation == "output" else (9, c_in * channels)
                self.transformers.append(WeightSliceTransformer(*slices, name=f"transformer{i}", **transformer))
        self.feature_size = channels * math.prod(self._spatial_after(blocks))
        self.transformers.append(WeightSliceTransformer(num_ways, self.feature_size + 1, name="logits_transformer",
                                                        **transformer))

    # -- building -----------------------------------------------------------------------

    def _spatial_after(self, blocks):
        height, width = self.example_shape[:2]
        for _ in range(blocks):
            height, width = height // 2, width // 2
        return height, width

    def build_layers(self, example_shape):
        shape = (None, *example_shape)
        self.image_norm = []
        for i, conv in enumerate(self.image_convs):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            self.image_norm.append(self._norm_weights(f"image_norm{i}", self.image_embedding_dim))
        feature_channels = [example_shape[-1]] + [self.channels] * (self.blocks - 1)
        self.kernels, self.norm = [], []
        for i, c_in in enumerate(feature_channels):
            if self.generate == "logits":
                self.kernels.append(self.add_weight(shape=(3, 3, c_in, self.channels), initializer="glorot_uniform",
                                                    name=f"conv{i}_kernel"))
            self.norm.append(self._norm_weights(f"norm{i}", self.channels))
        height, width = example_shape[:2]
        for i, (first, second) in enumerate(zip(self.extractor_first, self.extractor_second)):
            shape = (None, height, width, feature_channels[i])
            first.build(shape)
            second.build(first.compute_output_shape(shape))
            features = self.image_embedding_dim + 2 * first.filters
            self.transformers[i].build((None, None, features))
            height, width = height // 2, width // 2
        self.transformers[-1].build((None, None, self.image_embedding_dim + self.feature_size))
        self.unlabeled_drop = self.add_weight(shape=(), initializer=keras.initializers.Constant(
            self.initial_unlabeled_drop), trainable=False, name="unlabeled_drop")

    def _norm_weights(self, name, channels):
        return (self.add_weight(shape=(channels,), initializer="ones", name=f"{name}_gamma"),
                self.add_weight(shape=(channels,), initializer="zeros", name=f"{name}_beta"))

    # -- pieces -------------------------------------------------------------------------

    @staticmethod
    def _merge(x):
        """`[T, B, ...]` -> `[T*B, ...]` (and back with `_split`)."""
        return ops.reshape(x, (-1, *x.shape[2:]))

    @staticmethod
    def _split(x, tasks):
        return ops.reshape(x, (tasks, -1, *x.shape[1:]))

    def _normalize(self, x, weights, moments=None):
        if moments is None:
            moments = task_moments(x)
        mean, variance = moments
        gamma, beta = weights
        # (x - mean) / sqrt(var + eps) * gamma + beta as one scale and one shift of x: two passes over
        # the activations (and fewer in the gradient) instead of four
        scale = ops.rsqrt(variance + 1e-3) * gamma
        return x * scale + (beta - mean * scale), moments

    def image_embedding(self, images):
        """s(x): `[T, S, H, W, C]` -> `[T, S, image_embedding_dim]` (shared by all layers)."""
        tasks = ops.shape(images)[0]
        x = images
        for conv, norm in zip(self.image_convs, self.image_norm):
            x = self._split(conv(self._merge(x)), tasks)
            x = ops.relu(self._normalize(x, norm)[0])
        return ops.mean(x, axis=(2, 3))

    def activation_embedding(self, layer, activations):
        """h_l(z^l): `[T, S, h, w, c]` -> `[T, S, activation_embedding_dim]`."""
        tasks = ops.shape(activations)[0]
        first = self.extractor_first[layer](self._merge(activations))
        second = self.extractor_second[layer](first)
        embedding = ops.concatenate([ops.mean(first, axis=(1, 2)), ops.mean(second, axis=(1, 2))], axis=-1)
        return self._split(embedding, tasks)

    def _assemble_kernel(self, slices, c_in):
        """Weight slices `[T, slices, size]` -> kernels `[T, 3, 3, C_in, C_out]`."""
        if self.allocation == "output":  # slice j = output channel j's 3x3xC_in filter
            return ops.transpose(ops.reshape(slices, (-1, self.channels, 3, 3, c_in)), (0, 2, 3, 4, 1))
        return ops.reshape(slices, (-1, 3, 3, c_in, self.channels))  # slice = one spatial tap

    def _block(self, layer, x, kernel, moments=None):
        """One CNN block on `[T, B, H, W, C]`: conv, activation, 2x2 max-pool, BatchNorm."""
        tasks = ops.shape(x)[0]
        if len(kernel.shape) == 5:
            x = per_task_conv(x, kernel)
            x = self._merge(x)
        else:
            x = tf.nn.conv2d(self._merge(x), kernel, 1, "SAME")
        x = ops.max_pool(self._activation(x), 2, 2, "valid")
        return self._normalize(self._split(x, tasks), self.norm[layer], moments)

    def _token_mask(self, support_y, training):
        """Training drops each unlabeled token with probability p ~ U(0, unlabeled_drop) per task."""
        if not training:
            return None
        tasks = ops.shape(support_y)[0]
        rate = keras.random.uniform((tasks, 1), seed=self.seed_generator) * self.unlabeled_drop
        drop = keras.random.uniform(ops.shape(support_y), seed=self.seed_generator) < rate
        return ops.logical_not(ops.logical_and(support_y < 0, drop))

    # -- generation and classification -------------------------------------------------

    def _check_support_labels(self, support_y):
        # (EpisodicModel checks that every task has a labelled example)
        checks = [
            tf.debugging.assert_less(support_y, self.num_ways, message=(
                f"support_y labels must be < num_ways ({self.num_ways}): the model generates at most "
                f"{self.num_ways} logits slices")),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(support_y)

    def generate_weights(self, support_x, support_y, training=False):
        """Generates the CNN of each task from its support set.

        Args:
            support_x: `[T, S, H, W, C]` support images.
            support_y: int `[T, S]` labels in -1..num_ways-1.

        Returns:
            dict: `conv{i}` kernels `[T, 3, 3, C_in, C_out]` (generated, or the learned
            kernel broadcast over tasks), `logits_kernel` `[T, F, num_ways]`,
            `logits_bias` `[T, num_ways]`, and for `normalization="support"` the support
            statistics `norm{i}_mean`/`norm{i}_variance` `[T, 1, 1, 1, C]`. With
            `classify` this is the whole generated model.
        """
        support_x = ops.cast(support_x, self.compute_dtype)
        support_y = ops.cast(support_y, "int32")
        tasks = ops.shape(support_x)[0]
        mask = self._token_mask(support_y, training)
        images = self.image_embedding(support_x)
        weights = {}
        x = support_x
        for layer in range(self.blocks):
            if self.generate == "all":
                tokens = ops.concatenate([images, self.activation_embedding(layer, x)], axis=-1)
                slices = self.transformers[layer](tokens, support_y, mask, training=training)
                kernel = self._assemble_kernel(slices, x.shape[-1])
            else:
                kernel = self.kernels[layer]
            x, (mean, variance) = self._block(layer, x, kernel)
            weights[f"conv{layer}"] = kernel if len(kernel.shape) == 5 else ops.broadcast_to(
                kernel[None], (tasks, *kernel.shape))
            if self.normalization == "support":
                weights[f"norm{layer}_mean"], weights[f"norm{layer}_variance"] = mean, variance
        features = ops.reshape(x, (tasks, -1, self.feature_size))
        tokens = ops.concatenate([images, features], axis=-1)
        slices = self.transformers[-1](tokens, support_y, mask, training=training)  # [T, ways, F + 1]
        weights["logits_kernel"] = ops.transpose(slices[..., :self.feature_size], (0, 2, 1))
        weights["logits_bias"] = slices[..., self.feature_size]
        return weights

    def classify(self, query_x, weights):
        """Runs the generated CNN `weights` (from `generate_weights`) on `[T, Q, H, W, C]` queries.

        With `generate="logits"` the conv kernels are the model's own learned ones
        (`weights` holds them broadcast over tasks): the queries of all tasks then go
        through one convolution per layer instead of one per task.

        Returns all `num_ways` logits `[T, Q, num_ways]`.
        """
        x = ops.cast(query_x, self.compute_dtype)
        tasks = ops.shape(x)[0]
        for layer in range(self.blocks):
            moments = None
            if self.normalization == "support":
                moments = (weights[f"norm{layer}_mean"], weights[f"norm{layer}_variance"])
            kernel = self.kernels[layer] if self.generate == "logits" else weights[f"conv{layer}"]
            x, _ = self._block(layer, x, kernel, moments)
        features = ops.reshape(x, (tasks, -1, self.feature_size))
        return ops.einsum("tqf,tfn->tqn", features, weights["logits_kernel"]) + weights["logits_bias"][:, None, :]

    def call_episode(self, support_x, support_y, query_x, training=None):
        support_y = self._check_support_labels(support_y)
        weights = self.generate_weights(support_x, support_y, training=bool(training))
        if training and self.channel_similarity is not None:
            self.channel_similarity.update_state(ops.mean(ops.stack(
                [generated_channel_similarity(weights[f"conv{i}"]) for i in range(self.blocks)])))
        logits = self.classify(query_x, weights)
        return logits[..., :ops.max(support_y) + 1]

    # -- training -----------------------------------------------------------------------

    def default_optimizer(self):
        """The paper's: SGD, lr 0.02 x 0.95 every 100k steps (Appendix C). For short runs pass Adam to
        `compile`, with a warm-up for `generate="all"`:
        `optimizer=keras.optimizers.Adam(kzoo.training.LinearWarmup(1e-3, warmup_steps=1000))`."""
        return keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(
            0.02, decay_steps=100_000, decay_rate=0.95, staircase=True))

    def test_step(self, data):
        logs = super().test_step(data)
        logs.pop("channel_similarity", None)  # measured in training only
        return logs

    def get_config(self):
        return {
            **super().get_config(), "num_ways": self.num_ways, "channels": self.channels, "generate": self.generate,
            "allocation": self.allocation, "embedding_dim": self.embedding_dim, "num_layers": self.num_layers,
            "num_heads": self.num_heads, "nu": self.nu, "decoder_layers": self.decoder_layers,
            "image_embedding_dim": self.image_embedding_dim,
            "activation_embedding_dim": self.activation_embedding_dim, "activation": self.activation,
            "blocks": self.blocks, "normalization": self.normalization,
            "unlabeled_drop": self.initial_unlabeled_drop,
        }


class UnlabeledDropSchedule(keras.callbacks.Callback):
    """The paper's incremental semi-supervised schedule (Section 5.3, footnote 4).

    Sets the model's `unlabeled_drop` (the largest fraction of unlabeled tokens
    masked per training task) to `initial * max(0, 1 - step / steps)` before every
    training batch, so unlabeled samples are introduced gradually.

    Args:
        initial: fraction at step 0. Defaults to `1.0`.
        steps: steps until no token is dropped.
    """

    def __init__(self, steps, initial=1.0):
        super().__init__()
        if not steps > 0:
            raise ValueError(f"Expected `steps` > 0. Received: steps={steps!r}.")
        self.steps, self.initial = steps, float(initial)
        self._step = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.model.unlabeled_drop.assign(self.initial * max(0.0, 1.0 - self._step / self.steps))
        self._step += 1
