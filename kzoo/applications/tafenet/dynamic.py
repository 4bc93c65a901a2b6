"""TAFE-Net for efficient inference: the input image is its own task (Sections 3.4 and 4.4)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kzoo.checks import check_int
from kzoo.layers.factorized import FactorizedConv2D
from kzoo.training.callbacks import DivergenceCheck


@keras.saving.register_keras_serializable(package="kzoo")
class DynamicTAFENet(DivergenceCheck, keras.Model):
    """A conv classifier whose channels are switched on and off per input by a meta learner.

    Section 3.4: a shallow task embedding network T (two stride-2 3x3 convs, then a
    dense layer on the flattened map) takes the image and outputs a probabilistic
    assignment to the classes, softmax(T(x)); a weight generator g_i
    per conv layer maps it to ReLU-activated channel factors (eq. (3), one per
    output channel of `FactorizedConv2D` i). A channel whose factor is 0 needs no
    computation, so the prediction network's cost shrinks per input. Loss (eq. (5)
    with eq. (7)):

        CE(F(x), y) + CE(T(x), y) + beta * 1/K sum_i mean_c |g_i(T(x))_c|

    where the L1 term is averaged over channels (so `beta` does not depend on the
    widths). The prediction network has no batch normalization: a normalized
    channel would not stay 0 when its factor is 0. Blocks: `FactorizedConv2D(c, 3,
    bias) -> ReLU -> MaxPool(2)`, then global average pooling and a dense softmax
    layer (shared, not generated).

    Args:
        num_classes: number of classes. Required.
        image_shape: `(H, W, C)`. Defaults to `(28, 28, 1)`.
        channels: output channels of each factorized conv layer. Defaults to `(32, 32, 64, 64)`.
        task_channels: channels of T's two stride-2 convs. Defaults to `8`.
        beta: weight of the L1 penalty on the generated factors. Defaults to `0.1`.

    Call arguments:
        images: `[B, H, W, C]` floats in [0, 1].

    Returns:
        Class logits `[B, num_classes]`.

    Reference: Wang et al., "TAFE-Net", CVPR 2019, Sections 3.4 and 4.4, eq. (7).
    """

    def __init__(self, num_classes, image_shape=(28, 28, 1), channels=(32, 32, 64, 64), task_channels=8,
                 beta=0.1, **kwargs):
        super().__init__(**kwargs)
        check_int(num_classes, "num_classes", 2)
        if beta < 0:
            raise ValueError(f"Expected `beta` >= 0. Received: beta={beta!r}.")
        self.num_classes = int(num_classes)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.channels = tuple(int(c) for c in channels)
        self.task_channels = int(task_channels)
        self.beta = float(beta)
        self.task_convs = [keras.layers.Conv2D(self.task_channels, 3, strides=2, padding="same", activation="relu",
                                               name=f"task_conv{i}") for i in range(2)]
        self.task_logits = keras.layers.Dense(self.num_classes, name="task_logits")
        # factors start small and positive (every channel on), so the L1 penalty can switch
        # channels off within a short training run
        self.generators = [keras.layers.Dense(c, activation="relu",
                                              bias_initializer=keras.initializers.Constant(0.2),
                                              name=f"generator{i}")
                           for i, c in enumerate(self.channels)]
        self.convs = [FactorizedConv2D(c, 3, use_bias=True, name=f"conv{i}") for i, c in enumerate(self.channels)]
        self.head = keras.layers.Dense(self.num_classes, name="head")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in (
            "loss", "classification_loss", "task_loss", "l1", "accuracy", "active_channels")}
        self.build()  # every shape is known from the arguments

    def build(self, input_shape=None):
        if self.built:
            return
        shape = (None, *self.image_shape)
        for conv in self.task_convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
        self.task_logits.build((None, shape[1] * shape[2] * self.task_channels))
        for generator in self.generators:
            generator.build((None, self.num_classes))
        shape = (None, *self.image_shape)
        for conv in self.convs:
            conv.build(shape, (None, conv.filters))
            shape = (None, shape[1] // 2, shape[2] // 2, conv.filters)
        self.head.build((None, self.channels[-1]))
        self.built = True

    def factors(self, images):
        """`(task_logits [B, num_classes], [g_i(softmax(T(x))) [B, channels_i]])`."""
        h = images
        for conv in self.task_convs:
            h = conv(h)
        task_logits = self.task_logits(ops.reshape(h, (ops.shape(h)[0], -1)))
        assignment = ops.softmax(task_logits)
        return task_logits, [generator(assignment) for generator in self.generators]

    def forward(self, images):
        task_logits, factors = self.factors(images)
        h = images
        for conv, g in zip(self.convs, factors):
            h = ops.max_pool(ops.relu(conv(h, g)), 2, 2)
        return self.head(ops.mean(h, axis=(1, 2))), task_logits, factors

    def call(self, images, training=None):
        return self.forward(images)[0]

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _step(self, data):
        x, y = data
        logits, task_logits, factors = self.forward(x)
        y = ops.cast(ops.reshape(y, (-1,)), "int32")
        classification = ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
        task = ops.mean(keras.losses.sparse_categorical_crossentropy(y, task_logits, from_logits=True))
        l1 = ops.mean(ops.stack([ops.mean(ops.abs(g)) for g in factors]))
        total = classification + task + self.beta * l1
        active = ops.mean(ops.stack([ops.mean(ops.cast(g > 0, "float32")) for g in factors]))
        accuracy = ops.mean(ops.cast(ops.equal(ops.argmax(logits, -1), y), "float32"))
        return total, (total, classification, task, l1, accuracy, active)

    def _record(self, values):
        for tracker, value in zip(self.trackers.values(), values):
            tracker.update_state(value)
        return {name: t.result() for name, t in self.trackers.items()}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            total, values = self._step(data)
        grads = tape.gradient(total, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return self._record(values)

    def test_step(self, data):
        return self._record(self._step(data)[1])

    def compile(self, optimizer="auto", **kwargs):
        kwargs.pop("loss", None)
        super().compile(optimizer=keras.optimizers.Adam(1e-3) if optimizer == "auto" else optimizer, **kwargs)

    def flops(self, images, batch_size=256):
        """Per-image multiply-accumulates of the prediction network with and without skipping.

        A conv layer costs H_out x W_out x 9 x (active input channels) x (active
        output channels); skipped channels are those with factor 0 (input channels of
        the first layer are the image's). The meta learner's own cost (T and the
        generators) is added to the dynamic count.

        Returns:
            `(dynamic [N], full)`: MACs per image, and of the network with all channels.
        """
        h, w = self.image_shape[:2]
        sizes, previous = [], self.image_shape[2]
        for c in self.channels:
            sizes.append((h, w))
            h, w = h // 2, w // 2
        full = sum(hh * ww * 9 * cin * c for (hh, ww), cin, c in zip(
            sizes, (self.image_shape[2],) + self.channels[:-1], self.channels)) + self.channels[-1] * self.num_classes
        th, tw, overhead, cin = self.image_shape[0], self.image_shape[1], 0, self.image_shape[2]
        for _ in self.task_convs:
            th, tw = (th + 1) // 2, (tw + 1) // 2
            overhead += th * tw * 9 * cin * self.task_channels
            cin = self.task_channels
        overhead += th * tw * self.task_channels * self.num_classes + self.num_classes * sum(self.channels)
        dynamic = []
        for start in range(0, len(images), batch_size):
            _, factors = self.factors(ops.convert_to_tensor(images[start:start + batch_size]))
            active = [np.sum(np.asarray(g) > 0, axis=1) for g in factors]
            total = np.zeros(active[0].shape, np.float64)
            previous = np.full(active[0].shape, self.image_shape[2])
            for (hh, ww), a in zip(sizes, active):
                total += hh * ww * 9 * previous * a
                previous = a
            dynamic.append(total + active[-1] * self.num_classes + overhead)
        return np.concatenate(dynamic), float(full)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "image_shape": list(self.image_shape),
                "channels": list(self.channels), "task_channels": self.task_channels, "beta": self.beta}
