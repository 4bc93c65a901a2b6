"""`LocalReparametrization`: per-filter Gaussian weight noise sampled on a layer's outputs (Kingma et al. 2015).

The variational Task2Vec estimator (`FisherProbe(method="variational")`) wraps each
selected Conv2D/Dense layer of the probe with it; the Monte Carlo estimator uses it
without noise as a tap for per-example gradients.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops


def weight_scale_variance(kernel):
    """1 / lambda^2 = mean(w^2) of a layer's kernel (plus 1e-12): the variance of the layer's prior
    N(w^, lambda^-2 I) (supplementary Sect. 6), and the posterior variance every filter starts at."""
    return float(np.mean(np.asarray(kernel, np.float64) ** 2)) + 1e-12


class LocalReparametrization(keras.layers.Layer):
    """A Conv2D/Dense layer whose weights carry per-filter Gaussian noise, sampled on the outputs.

    For w ~ N(w^, sigma_f^2) independently per weight of filter f, the pre-activation
    o_f = sum_i w_i x_i is Gaussian with mean o^_f and variance sigma_f^2 * sum_i x_i^2
    (the local reparametrisation trick, Kingma et al. 2015): for a conv, the sum of
    x^2 over each receptive field (a conv of sum_c x^2 with a ones kernel). The wrapped
    layer's weights are shared and stay frozen; only `log_variance` [filters] and the
    layer's `log_prior_precision` (log lambda^2, when `learn_prior`) are trained. With `noise=False` the
    layer computes the wrapped layer's output and keeps its input and pre-activation
    (for per-example gradients).
    """

    def __init__(self, layer, seed=0, noise=True, **kwargs):
        super().__init__(name=f"{layer.name}_fisher", **kwargs)
        self.layer = layer
        self.noise = noise
        self.is_conv = isinstance(layer, keras.layers.Conv2D)
        kernel = np.asarray(layer.kernel)
        filters = kernel.shape[-1]
        self.weights_per_filter = int(kernel.size // filters)
        scale = weight_scale_variance(kernel)
        # prior precision from the layer's weight scale (supplementary Sect. 6); the
        # posterior starts at the prior, so filters that matter move away from it
        self.init_log_ratio = 0.0
        self.log_prior_precision = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(-math.log(scale)), name="log_prior_precision",
            trainable=False)
        self.log_variance = self.add_weight(
            shape=(filters,), initializer=keras.initializers.Constant(math.log(scale) + self.init_log_ratio), name="log_variance")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.last_input = self.last_output = None

    def _conv_arguments(self):
        layer = self.layer
        return {"strides": layer.strides, "padding": layer.padding, "data_format": layer.data_format,
                    "dilation_rate": layer.dilation_rate}

    def call(self, x):
        layer = self.layer
        channels_first = self.is_conv and layer.data_format == "channels_first"
        if self.is_conv:
            mean = ops.conv(x, layer.kernel, **self._conv_arguments())
        else:
            mean = ops.matmul(x, layer.kernel)
        if layer.use_bias:
            mean = mean + (ops.reshape(layer.bias, (1, -1, 1, 1)) if channels_first else layer.bias)
        if self.noise:
            if self.is_conv:
                ones = ops.ones((*layer.kernel.shape[:-2], 1, 1), dtype=x.dtype)
                energy = ops.conv(ops.sum(ops.square(x), axis=1 if channels_first else -1, keepdims=True),
                                  ones, **self._conv_arguments())
            else:
                energy = ops.sum(ops.square(x), axis=-1, keepdims=True)
            variance = ops.exp(self.log_variance)
            if channels_first:
                variance = ops.reshape(variance, (1, -1, 1, 1))
            noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator, dtype=mean.dtype)
            mean = mean + ops.sqrt(energy * variance + 1e-12) * noise
        self.last_input, self.last_output = x, mean
        return layer.activation(mean) if layer.activation is not None else mean

    def per_example_squared_gradient(self, output_grad):
        """`[B, filters]`: per example, the squared kernel gradient averaged over each filter's weights.

        Args:
            output_grad: the gradient of the summed per-example losses w.r.t. this
                layer's pre-activation `last_output` (so row b is example b's gradient).
        """
        x, g = self.last_input, output_grad
        if self.is_conv:
            layer = self.layer
            if layer.data_format == "channels_first":
                x, g = tf.transpose(x, (0, 2, 3, 1)), tf.transpose(g, (0, 2, 3, 1))
            kh, kw = layer.kernel_size
            patches = tf.image.extract_patches(
                x, sizes=[1, kh, kw, 1], strides=[1, *layer.strides, 1], rates=[1, *layer.dilation_rate, 1],
                padding=layer.padding.upper())
            x = tf.reshape(patches, (tf.shape(patches)[0], -1, patches.shape[-1]))
        else:
            x = tf.reshape(x, (tf.shape(x)[0], -1, x.shape[-1]))
        g = tf.reshape(g, (tf.shape(g)[0], -1, g.shape[-1]))
        kernel_grad = tf.einsum("bpk,bpo->bko", x, g)  # [B, weights per filter, filters]
        return tf.reduce_mean(tf.square(kernel_grad), axis=1)

    def kl(self):
        """KL(N(w^, sigma^2) || N(w^, 1/lambda^2)) summed over the layer's weights."""
        ratio = self.log_variance + self.log_prior_precision  # log(sigma^2 lambda^2)
        return 0.5 * self.weights_per_filter * ops.sum(ops.exp(ratio) - 1.0 - ratio)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)
