"""MT-net's cell `y = T(W x + b)` with a learned gradient mask (Lee & Choi, ICML 2018)."""

import keras
import tensorflow as tf
from keras import ops

from kzoo.checks import check_float, check_int


@keras.saving.register_keras_serializable(package="kzoo")
class MaskedTransformCell(keras.layers.Layer):
    """A dense or conv cell of an MT-net: `y = T (W x + b)`, eq. (7) (computed on row vectors, `(x W + b) T`).

    The task learner adapts only the fast weights W (`kernel`) and b (`bias`), with
    the masked update of eq. (8): `W' = W - alpha * M * grad_W`. The meta-learner
    also learns the transformation T (`transform`, initialised to the identity; a
    1x1 convolution that keeps the channel count for conv cells) and the mask logits
    zeta (`mask_logits`, initialised to 0, so each row is updated with probability
    0.5). The mask is sampled once per task with the straight-through Gumbel-softmax
    of eqs. (10)-(11): `m = sigmoid((zeta + g1 - g2) / c)`, g1, g2 ~ Gumbel(0, 1),
    rounded to 0/1 in the forward pass, with the gradient of the relaxed m.

    One logit per output unit/channel: row j of W (the weights into unit j) and its
    bias share it (eq. 9). With `full_mask=True` ("-full" variants), one logit per
    weight and per bias entry. Switches make every variant the same code:
    MAML (`use_transform=False, use_mask=False`), T-net (`use_transform`), M-net
    (`use_mask`), MT-net (both).

    Args:
        units: output units (dense) or channels (conv).
        kernel_size: `None` for a dense cell, else the conv kernel size. Defaults to `None`.
        strides: conv strides. Defaults to `1`.
        use_transform: learn T. Defaults to `True`.
        use_mask: learn zeta and mask the inner update. Defaults to `True`.
        full_mask: one mask logit per weight. Defaults to `False`.
        temperature: c of eq. (11), > 0. Defaults to `1.0` (the paper's).
        kernel_initializer: initializer of W. Defaults to `"glorot_uniform"`.
        seed: seed of the cell's own noise generator, used when `sample_masks` is
            called without a seed. Defaults to `None` (drawn from Keras's global
            seed, `keras.utils.set_random_seed`), so two cells never share noise
            unless given the same seed. `MTNet` passes its own per-task,
            per-cell stateless seeds instead.

    Call arguments:
        inputs: `[..., in]` (dense) or `[B, H, W, C]` (conv).
        kernel, bias: optional fast weights to use instead of the layer's own
            (the task learner's adapted W and b).

    Example:

    >>> import numpy as np
    >>> cell = MaskedTransformCell(4)
    >>> x = np.ones((2, 3), "float32")
    >>> tuple(cell(x).shape)
    (2, 4)
    >>> [m.shape for m in cell.sample_masks()]  # one 0/1 entry per unit, for W's rows and b
    [TensorShape([4]), TensorShape([4])]

    Reference: Lee & Choi, "Gradient-Based Meta-Learning with Learned Layerwise
    Metric and Subspace", ICML 2018.
    """

    def __init__(self, units, kernel_size=None, strides=1, use_transform=True, use_mask=True,
                 full_mask=False, temperature=1.0, kernel_initializer="glorot_uniform", seed=None, **kwargs):
        super().__init__(**kwargs)
        check_int(units, "units", 1)
        check_float(temperature, "temperature", 0)
        if full_mask and not use_mask:
            raise ValueError("`full_mask=True` needs `use_mask=True`.")
        self.units = units
        self.kernel_size = kernel_size
        self.strides = strides
        self.use_transform = use_transform
        self.use_mask = use_mask
        self.full_mask = full_mask
        self.temperature = float(temperature)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        if seed is not None:
            check_int(seed, "seed", 0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def is_conv(self):
        return self.kernel_size is not None

    def build(self, input_shape):
        fan_in = input_shape[-1]
        if self.is_conv:
            k = self.kernel_size
            kernel_shape = (k, k, fan_in, self.units)
        else:
            kernel_shape = (fan_in, self.units)
        self.kernel = self.add_weight(shape=kernel_shape, initializer=self.kernel_initializer, name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.transform = None
        if self.use_transform:
            self.transform = self.add_weight(shape=(self.units, self.units), initializer="identity",
                                             name="transform")
        self.mask_logits = self.bias_mask_logits = None
        if self.use_mask:
            shape = kernel_shape if self.full_mask else (self.units,)
            self.mask_logits = self.add_weight(shape=shape, initializer="zeros", name="mask_logits")
            if self.full_mask:
                self.bias_mask_logits = self.add_weight(shape=(self.units,), initializer="zeros",
                                                        name="bias_mask_logits")

    @property
    def fast_variables(self):
        """The variables the inner loop adapts: `[kernel, bias]`."""
        return [self.kernel, self.bias]

    @property
    def meta_variables(self):
        """The variables only the meta-learner updates: T and the mask logits."""
        return [v for v in (self.transform, self.mask_logits, self.bias_mask_logits) if v is not None]

    def call(self, inputs, kernel=None, bias=None):
        kernel = self.kernel if kernel is None else kernel
        bias = self.bias if bias is None else bias
        if self.is_conv:
            outputs = tf.nn.conv2d(inputs, kernel, self.strides, "SAME") + bias
        else:
            outputs = ops.matmul(inputs, kernel) + bias
        if self.use_transform:
            outputs = ops.matmul(outputs, self.transform)  # on the channel axis: a 1x1 conv
        return outputs

    def _gumbel_mask(self, logits, seed):
        shape, low, high = (2, *logits.shape), 1e-6, 1.0 - 1e-6
        if isinstance(seed, keras.random.SeedGenerator):
            uniform = keras.random.uniform(shape, minval=low, maxval=high, seed=seed)
        else:  # a stateless [2] seed tensor: the same seed gives the same mask
            uniform = tf.random.stateless_uniform(shape, seed, minval=low, maxval=high, dtype=logits.dtype)
        gumbel = -ops.log(-ops.log(uniform))
        soft = ops.sigmoid((logits + gumbel[0] - gumbel[1]) / self.temperature)
        hard = ops.cast(soft > 0.5, soft.dtype)
        # straight-through: exactly 0/1 forward (x - x == 0), the relaxed gradient backward
        return hard + (soft - ops.stop_gradient(soft))

    def sample_masks(self, mode="sample", seed=None):
        """Masks for `[kernel, bias]` for one task, broadcastable to their shapes.

        Args:
            mode: `"sample"` draws eq. (11); `"mode"` takes the most likely mask
                (zeta > 0), deterministic. Defaults to `"sample"`.
            seed: `None` (the layer's own generator, advanced at every draw), a
                `keras.random.SeedGenerator`, or a stateless seed: an integer tensor
                of shape `[2]` (the same seed always gives the same mask).
                Defaults to `None`.

        Returns:
            `[kernel_mask, bias_mask]`, or `[None, None]` without `use_mask`.
        """
        if not self.use_mask:
            return [None, None]
        seed = self.seed_generator if seed is None else seed
        if self.full_mask:
            logits = [self.mask_logits, self.bias_mask_logits]
        else:
            logits = [self.mask_logits]
        if mode == "sample":
            if isinstance(seed, keras.random.SeedGenerator):
                seeds = [seed] * len(logits)
            else:  # kernel and bias logits of a "-full" cell get independent streams
                seed = tf.cast(seed, tf.int64)
                seeds = [tf.random.experimental.stateless_fold_in(seed, k) for k in range(len(logits))]
            masks = [self._gumbel_mask(v, s) for v, s in zip(logits, seeds)]
        elif mode == "mode":
            masks = [ops.cast(v > 0, v.dtype) for v in logits]
        else:
            raise ValueError(f'Expected `mode` "sample" or "mode". Received: mode={mode!r}.')
        if self.full_mask:
            return masks
        unit_mask = masks[0]  # the weights into unit j, and its bias, share logit j
        return [unit_mask, unit_mask]

    def update_fraction(self):
        """Expected fraction of fast weights the mask lets change: mean of sigmoid(zeta)."""
        if not self.use_mask:
            return ops.convert_to_tensor(1.0)
        return ops.mean(ops.sigmoid(self.mask_logits))

    def compute_output_shape(self, input_shape):
        if self.is_conv:
            height, width = ((None if d is None else -(-d // self.strides)) for d in input_shape[1:3])
            return (input_shape[0], height, width, self.units)
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units, "kernel_size": self.kernel_size, "strides": self.strides,
            "use_transform": self.use_transform, "use_mask": self.use_mask, "full_mask": self.full_mask,
            "temperature": self.temperature, "seed": self.seed,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
