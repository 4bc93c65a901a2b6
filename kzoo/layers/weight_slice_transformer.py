"""HyperTransformer's weight generator: a Transformer that reads out weight slices."""

import math

import keras
from keras import ops

from kzoo.checks import check_float, check_int


@keras.saving.register_keras_serializable(package="kzoo")
class WeightSliceTransformer(keras.layers.Layer):
    """Generates one weight tensor, as slices, from a set of support-sample tokens.

    Zhmoginov et al. (2022), Section 4.1 and Fig. 2. Every support sample i becomes a
    token `[xi(c_i), e_i]`: a learned label embedding xi (`embedding_dim` = d entries;
    label -1 takes the learned "unlabeled" embedding xi-hat) followed by its features
    e_i (image and activation embeddings). Every weight slice j becomes a learned
    placeholder token `[mu(j), 0]`. Both are zero-padded to one width
    `d + max(features, slice_size)`. A post-LayerNorm Transformer encoder
    (`x <- LN(x + MHA(x))`, `x <- LN(x + FFN(x))`, no positional encoding, so the
    output is invariant to permutations of the samples) processes the sequence, and
    slice j is the output at placeholder j without its first d entries, cut to
    `slice_size`. The caller reshapes `[num_slices, slice_size]` into the weight tensor
    (for "output" allocation one slice per output channel; for the logits layer one
    slice per class: that class's weight column and bias).

    Key/query and value sizes (summed over heads) and the feed-forward inner size are
    `nu` times the token width (Appendix C). With `decoder_layers > 0` the encoder-decoder
    variant of Appendix E (Fig. 5, right): decoder layers start again from the
    placeholder tokens, self-attend among them and attend to the encoder's output.

    Args:
        num_slices: number of weight slices (placeholder tokens).
        slice_size: entries per slice.
        num_labels: labels 0..num_labels-1 get their own embedding. -1 means unlabeled.
        embedding_dim: d, size of the label and slice embeddings. Defaults to `32`.
        num_layers: encoder layers. Defaults to `3`.
        num_heads: attention heads. Defaults to `2`.
        nu: key/query/value and inner sizes as a fraction of the token width.
            Defaults to `1.0`.
        decoder_layers: decoder layers (0: encoder only, the paper's default).
            Defaults to `0`.
        epsilon: LayerNorm epsilon. Defaults to `1e-6` (the official code's).

    Call arguments:
        features: float `[T, S, F]`, per-sample features.
        labels: int `[T, S]`, labels in -1..num_labels-1.
        mask: optional bool `[T, S]`; False marks padding (or a dropped sample) that
            no token attends to, so padded episodes give the same slices as unpadded
            ones and a variable S needs no new trace.

    Returns:
        `[T, num_slices, slice_size]` weight slices.

    Example:

    >>> import numpy as np
    >>> layer = WeightSliceTransformer(num_slices=5, slice_size=9, num_labels=5, embedding_dim=8, num_layers=1)
    >>> tuple(layer(np.zeros((2, 5, 16), "float32"), np.array([[0, 1, 2, 3, 4]] * 2)).shape)
    (2, 5, 9)

    Reference: Zhmoginov, Sandler & Vladymyrov, "HyperTransformer: Model Generation
    for Supervised and Semi-Supervised Few-Shot Learning", ICML 2022.
    """

    def __init__(self, num_slices, slice_size, num_labels, embedding_dim=32, num_layers=3, num_heads=2,
                 nu=1.0, decoder_layers=0, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        for name, value, minimum in (("num_slices", num_slices, 1), ("slice_size", slice_size, 1),
                                     ("num_labels", num_labels, 1), ("embedding_dim", embedding_dim, 1),
                                     ("num_layers", num_layers, 1), ("num_heads", num_heads, 1),
                                     ("decoder_layers", decoder_layers, 0)):
            check_int(value, name, minimum)
        check_float(nu, "nu", 0)
        self.num_slices = num_slices
        self.slice_size = slice_size
        self.num_labels = num_labels
        self.embedding_dim = embedding_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.nu = float(nu)
        self.decoder_layers = decoder_layers
        self.epsilon = float(epsilon)

    def _make_blocks(self, count, prefix, cross, last):
        """Sublayers of `count` post-LN blocks, kept in flat lists (tracked by Keras).

        The LayerNorms of the `last` stack's final block have no beta: it would add one
        vector to every slice, which for a logits layer is a class-independent shift
        that the softmax ignores (a weight with no gradient).
        """
        key_dim = max(1, math.ceil(self.nu * self.width / self.num_heads))
        inner = max(1, math.ceil(self.nu * self.width))
        policy = self.dtype_policy

        def attention(name):
            # no projection biases: a key bias never changes the softmax (zero gradient)
            return keras.layers.MultiHeadAttention(self.num_heads, key_dim, value_dim=key_dim, use_bias=False,
                                                   name=name, dtype=policy)

        layers = {"attention": [attention(f"{prefix}{i}_attention") for i in range(count)],
                  "cross": [attention(f"{prefix}{i}_cross") for i in range(count)] if cross else [],
                  "inner": [keras.layers.Dense(inner, activation="relu", name=f"{prefix}{i}_inner", dtype=policy)
                            for i in range(count)],
                  "outer": [keras.layers.Dense(self.width, name=f"{prefix}{i}_outer", dtype=policy)
                            for i in range(count)],
                  "norm": [keras.layers.LayerNormalization(epsilon=self.epsilon, name=f"{prefix}{i}_norm{j}",
                                                           center=not last or i < count - 1, dtype=policy)
                           for i in range(count) for j in range(3 if cross else 2)]}
        shape = (None, None, self.width)
        for layer in layers["attention"] + layers["cross"]:
            layer.build(shape, shape, shape)
        for layer in layers["inner"]:
            layer.build(shape)
        for layer in layers["outer"]:
            layer.build((None, None, inner))
        for layer in layers["norm"]:
            layer.build(shape)
        return layers

    def build(self, features_shape, labels_shape=None, mask_shape=None):
        features = features_shape[-1]
        if features is None:
            raise ValueError(f"Expected a known feature size (last axis). Received: features_shape={features_shape}.")
        self.features = int(features)
        self.width = self.embedding_dim + max(self.features, self.slice_size)
        normal = keras.initializers.RandomNormal(stddev=1.0)
        # label table: rows 0..num_labels-1, then the "unlabeled" embedding (the last row)
        self.label_embeddings = self.add_weight(shape=(self.num_labels + 1, self.embedding_dim),
                                                initializer=normal, name="label_embeddings")
        self.slice_embeddings = self.add_weight(shape=(self.num_slices, self.embedding_dim),
                                                initializer=normal, name="slice_embeddings")
        encoder = self._make_blocks(self.num_layers, "encoder", cross=False, last=not self.decoder_layers)
        self.encoder_attention, self.encoder_inner = encoder["attention"], encoder["inner"]
        self.encoder_outer, self.encoder_norm = encoder["outer"], encoder["norm"]
        decoder = self._make_blocks(self.decoder_layers, "decoder", cross=True, last=True)
        self.decoder_attention, self.decoder_cross = decoder["attention"], decoder["cross"]
        self.decoder_inner, self.decoder_outer, self.decoder_norm = decoder["inner"], decoder["outer"], decoder["norm"]

    def _encoder_block(self, i, x, key_mask, training):
        x = self.encoder_norm[2 * i](x + self.encoder_attention[i](x, x, attention_mask=key_mask, training=training))
        return self.encoder_norm[2 * i + 1](x + self.encoder_outer[i](self.encoder_inner[i](x)))

    def _decoder_block(self, i, x, memory, memory_mask, training):
        x = self.decoder_norm[3 * i](x + self.decoder_attention[i](x, x, training=training))
        x = self.decoder_norm[3 * i + 1](
            x + self.decoder_cross[i](x, memory, attention_mask=memory_mask, training=training))
        return self.decoder_norm[3 * i + 2](x + self.decoder_outer[i](self.decoder_inner[i](x)))

    def call(self, features, labels, mask=None, training=None):
        batch = ops.shape(features)[0]
        num_samples = ops.shape(features)[1]
        labels = ops.cast(labels, "int32")
        rows = ops.where(labels < 0, self.num_labels, labels)
        pad = self.width - self.embedding_dim
        samples = ops.concatenate([
            ops.take(self.label_embeddings, rows, axis=0),
            ops.pad(ops.cast(features, self.compute_dtype), [[0, 0], [0, 0], [0, pad - self.features]]),
        ], axis=-1)
        placeholders = ops.pad(self.slice_embeddings, [[0, 0], [0, pad]])
        placeholders = ops.broadcast_to(placeholders[None], (batch, self.num_slices, self.width))
        # weight tokens first, as in the reference code (order does not matter: no positions)
        tokens = ops.concatenate([placeholders, samples], axis=1)
        if mask is None:
            mask = ops.ones((batch, num_samples), "bool")
        valid = ops.concatenate([ops.ones((batch, self.num_slices), "bool"), ops.cast(mask, "bool")], axis=1)
        key_mask = ops.broadcast_to(valid[:, None, :], (batch, self.num_slices + num_samples,
                                                        self.num_slices + num_samples))
        x = tokens
        for i in range(self.num_layers):
            x = self._encoder_block(i, x, key_mask, training)
        if self.decoder_layers:
            memory, x = x, placeholders
            memory_mask = key_mask[:, :self.num_slices, :]
            for i in range(self.decoder_layers):
                x = self._decoder_block(i, x, memory, memory_mask, training)
        return x[:, :self.num_slices, self.embedding_dim:self.embedding_dim + self.slice_size]

    def compute_output_shape(self, features_shape, labels_shape=None, mask_shape=None):
        return (features_shape[0], self.num_slices, self.slice_size)

    def get_config(self):
        return {**super().get_config(), "num_slices": self.num_slices, "slice_size": self.slice_size,
                "num_labels": self.num_labels, "embedding_dim": self.embedding_dim,
                "num_layers": self.num_layers, "num_heads": self.num_heads, "nu": self.nu,
                "decoder_layers": self.decoder_layers, "epsilon": self.epsilon}
