"""Prototypical Networks (Snell, Swersky & Zemel, NeurIPS 2017)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kzoo.applications.episodic_model import EpisodicModel
from kzoo.layers.conv_backbone import ConvBackbone


@keras.saving.register_keras_serializable(package="kzoo")
class ProtoNet(EpisodicModel):
    """Prototypical Networks: classify queries by distance to class-mean embeddings.

    Every support and query example is embedded by the 4-block conv backbone f;
    the prototype of class n is the mean embedding of its labelled support examples
    (eq. 1: c_n = 1/|S_n| sum_{x in S_n} f(x)); a query's logits are the negative
    squared Euclidean distances to the prototypes (eq. 2: logit_n = -||f(x) - c_n||^2).
    Unlabeled support examples (label -1) are ignored. Train with `fit` on episodes
    and the query cross-entropy (the default of `compile()`).

    Args:
        example_shape: shape of one image. Defaults to `(28, 28, 1)`.
        channels: conv channels of the backbone. Defaults to `64` (the paper's).
        blocks: conv blocks of the backbone. Defaults to `4`.
        distance: `"euclidean"` (squared, the paper's) or `"cosine"` (scaled
            cosine similarity). Defaults to `"euclidean"`.
        backbone: any Keras layer or model mapping images `[B, *example_shape]` to
            features (e.g. `keras.applications.MobileNetV3Small(include_top=False,
            pooling="avg", weights=None)`), used instead of the conv backbone
            (`channels` and `blocks` are then ignored). Saved in the config.
            Defaults to `None`.

    Call arguments:
        inputs: an episode dict, `support_x` `[T, S, H, W, C]`, `support_y` int32
            `[T, S]`, `query_x` `[T, Q, H, W, C]`.

    Returns:
        Query logits `[T, Q, N]`, N = max(support_y) + 1.

    Example:

    >>> from kzoo import episodes
    >>> from kzoo.applications import ProtoNet
    >>> train, val, test = episodes.glyphs(scripts=["Greek", "Cyrillic"]).split((0.6, 0.2, 0.2), by="class")
    >>> model = ProtoNet(channels=16)
    >>> model.compile()
    >>> history = model.fit(episodes.few_shot(train, 5, 1, 5, tasks=4), steps_per_epoch=5, verbose=0)
    >>> model.predict(episodes.few_shot(test, 5, 1, 5, batches=1), verbose=0).shape
    (1, 25, 5)

    Reference: Snell et al., "Prototypical Networks for Few-shot Learning", 2017.
    """

    preset_folder = "protonet"

    def __init__(self, example_shape=(28, 28, 1), channels=64, blocks=4, distance="euclidean", backbone=None,
                 **kwargs):
        super().__init__(example_shape=example_shape, **kwargs)
        if distance not in ("euclidean", "cosine"):
            raise ValueError(f'Expected `distance` "euclidean" or "cosine". Received: distance={distance!r}.')
        if len(self.example_shape) != 3:
            raise ValueError(
                f"Expected `example_shape` (height, width, channels). Received: {self.example_shape!r}."
            )
        self.channels = channels
        self.blocks = blocks
        self.distance = distance
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        if backbone is not None and not isinstance(backbone, keras.layers.Layer):
            raise ValueError(f"Expected `backbone` to be a Keras layer or model (images -> features). "
                             f"Received: {type(backbone).__name__}.")
        self.custom_backbone = backbone is not None
        self.backbone = backbone if backbone is not None else ConvBackbone(
            channels=channels, blocks=blocks, name="backbone", dtype=self.dtype_policy)
        if distance == "cosine":
            self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(10.0), name="scale")

    def build_layers(self, example_shape):
        if not self.backbone.built:  # a deserialized custom backbone comes built
            self.backbone.build((None, *example_shape))

    def embed(self, images, training=None):
        """Backbone embeddings of a `[..., H, W, C]` batch: `[..., D]`."""
        leading = tf.shape(images)[:-3]
        z = self.backbone(tf.reshape(images, (-1, *self.example_shape)), training=training)
        if len(z.shape) > 2:  # a feature map: flattened
            z = tf.reshape(z, (-1, int(np.prod(z.shape[1:]))))
        return tf.reshape(z, tf.concat([leading, [z.shape[-1]]], axis=0))

    def call_episode(self, support_x, support_y, query_x, training=None):
        num_support = ops.shape(support_x)[1]
        # one backbone pass over support and query, so BatchNorm sees the whole episode
        z = self.embed(ops.concatenate([support_x, query_x], axis=1), training=training)
        if self.compute_dtype in ("float16", "bfloat16"):
            z = ops.cast(z, "float32")  # prototypes and distances in float32 under mixed precision
        support, query = z[:, :num_support], z[:, num_support:]
        ways = ops.max(support_y) + 1
        onehot = ops.one_hot(support_y, ways, dtype=z.dtype)  # label -1 -> a zero row
        counts = ops.sum(onehot, axis=1)[..., None]
        prototypes = ops.einsum("tsn,tsd->tnd", onehot, support) / ops.maximum(counts, 1.0)
        if self.distance == "euclidean":
            return -ops.sum(ops.square(query[:, :, None, :] - prototypes[:, None, :, :]), axis=-1)
        query = query / ops.maximum(ops.norm(query, axis=-1, keepdims=True), 1e-6)
        prototypes = prototypes / ops.maximum(ops.norm(prototypes, axis=-1, keepdims=True), 1e-6)
        return self.scale * ops.einsum("tqd,tnd->tqn", query, prototypes)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "blocks": self.blocks,
                "distance": self.distance,
                "backbone": keras.saving.serialize_keras_object(self.backbone) if self.custom_backbone else None}
