"""ResNet-12, the few-shot literature's backbone (Oreshkin et al. 2018; Lee et al. 2019), with DropBlock (Ghiasi et al. 2018).

>>> import numpy as np
>>> net = ResNet12(channels=(4, 4, 8, 8))
>>> tuple(net(np.zeros((2, 84, 84, 3), "float32")).shape)
(2, 8)
"""

import keras
from keras import ops

from kzoo.checks import check_float, check_int


@keras.saving.register_keras_serializable(package="kzoo")
class DropBlock(keras.layers.Layer):
    """Drops contiguous `block_size` x `block_size` squares of a feature map in training (Ghiasi et al. 2018).

    Block centres are sampled with probability
    gamma = rate / block_size^2 * (H W) / ((H - block_size + 1) (W - block_size + 1)),
    each grown to a square by a max-pool, and the kept activations are rescaled by
    (number of units) / (number kept), so the expected activation is unchanged. At
    inference the layer is the identity.

    Args:
        rate: fraction of units to drop. Defaults to `0.1`.
        block_size: side of a dropped square (clipped to the map). Defaults to `5`.
        seed: seed of the noise. Defaults to `None`.
    """

    def __init__(self, rate=0.1, block_size=5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_float(rate, "rate", 0.0, 1.0, inclusive=(True, False))
        self.block_size = check_int(block_size, "block_size", 1)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        height, width = inputs.shape[1], inputs.shape[2]
        size = min(self.block_size, height, width)
        gamma = self.rate / size**2 * (height * width) / ((height - size + 1) * (width - size + 1))
        centres = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) < gamma
        dropped = ops.max_pool(ops.cast(centres, inputs.dtype), size, strides=1, padding="same")
        keep = 1.0 - dropped
        scale = ops.cast(ops.size(keep), inputs.dtype) / ops.maximum(ops.sum(keep), 1.0)
        return inputs * keep * scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "block_size": self.block_size, "seed": self.seed}


@keras.saving.register_keras_serializable(package="kzoo")
class ResNet12(keras.layers.Layer):
    """ResNet-12: four residual blocks of three 3x3 convs, each followed by a 2x2 max-pool.

    Block i: `[Conv2D(c_i, 3, no bias) -> BatchNorm -> LeakyReLU(0.1)] x 2 -> Conv2D ->
    BatchNorm`, plus a `Conv2D(c_i, 1) -> BatchNorm` shortcut, then LeakyReLU(0.1),
    MaxPooling2D(2) and DropBlock (in the last two blocks, as in MetaOptNet); the
    output is the global average of the last map. The literature's widths are
    `(64, 160, 320, 640)` (640-d embeddings at 84x84).

    Args:
        channels: widths of the four blocks. Defaults to `(64, 160, 320, 640)`.
        drop_rate: DropBlock rate of the last two blocks. Defaults to `0.1`.
        block_size: DropBlock's square side. Defaults to `5`.

    Input shape: `[B, H, W, C]`. Output shape: `[B, channels[-1]]`.
    """

    def __init__(self, channels=(64, 160, 320, 640), drop_rate=0.1, block_size=5, **kwargs):
        super().__init__(**kwargs)
        self.channels = tuple(check_int(c, "channels", 1) for c in channels)
        if len(self.channels) != 4:
            raise ValueError(f"Expected four `channels` (one per block). Received: {list(channels)}.")
        self.drop_rate = check_float(drop_rate, "drop_rate", 0.0, 1.0, inclusive=(True, False))
        self.block_size = check_int(block_size, "block_size", 1)
        policy = self.dtype_policy
        self.blocks = []
        for i, width in enumerate(self.channels):
            convs = [keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{i}_conv{j}",
                                         dtype=policy) for j in range(3)]
            norms = [keras.layers.BatchNormalization(momentum=0.9, name=f"block{i}_norm{j}", dtype=policy)
                     for j in range(3)]
            shortcut = keras.layers.Conv2D(width, 1, use_bias=False, name=f"block{i}_shortcut", dtype=policy)
            shortcut_norm = keras.layers.BatchNormalization(momentum=0.9, name=f"block{i}_shortcut_norm",
                                                            dtype=policy)
            drop = DropBlock(drop_rate if i >= 2 else 0.0, block_size, name=f"block{i}_dropblock", dtype=policy)
            self.blocks.append((convs, norms, shortcut, shortcut_norm, drop))

    def build(self, input_shape):
        shape = tuple(input_shape)
        for convs, norms, shortcut, shortcut_norm, _ in self.blocks:
            block_input = shape
            for conv, norm in zip(convs, norms):
                conv.build(shape)
                shape = conv.compute_output_shape(shape)
                norm.build(shape)
            shortcut.build(block_input)
            shortcut_norm.build(shape)
            shape = (shape[0], shape[1] // 2 if shape[1] else None, shape[2] // 2 if shape[2] else None, shape[3])

    def call(self, inputs, training=None):
        x = inputs
        for convs, norms, shortcut, shortcut_norm, drop in self.blocks:
            h = x
            for j, (conv, norm) in enumerate(zip(convs, norms)):
                h = norm(conv(h), training=training)
                if j < 2:
                    h = ops.leaky_relu(h, 0.1)
            h = ops.leaky_relu(h + shortcut_norm(shortcut(x), training=training), 0.1)
            h = ops.max_pool(h, 2, strides=2, padding="valid")
            x = drop(h, training=training)
        return ops.mean(x, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.channels[-1])

    def get_config(self):
        return {**super().get_config(), "channels": list(self.channels), "drop_rate": self.drop_rate,
                "block_size": self.block_size}
