"""Batch normalization with batch statistics and exact higher-order gradients."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kzoo")
class BatchStatNormalization(keras.layers.Layer):
    """Normalizes with the statistics of the current batch, in training and inference.

    `y = gamma * (x - mean) / sqrt(var + epsilon) + beta`, with mean and variance
    over every axis but the last, computed as `mean(x)` and `mean((x - mean)^2)`
    with the full graph kept. Keras's `BatchNormalization` (TF backend) computes
    moments with `tf.nn.moments`, which stops the gradient of the mean inside the
    variance: exact for first-order gradients, wrong for second-order ones (a MAML
    meta-gradient through it differed by 38% from a reference). Inner loops
    (MAML, MT-net) differentiate through gradients, so they use this layer.

    Like the reference MAML/MT-net code (and HyperTransformer's), statistics always
    come from the batch (one task's examples), so there are no moving averages and
    predictions for a query depend on the other queries in its task (transductive).

    Args:
        epsilon: added to the variance. Defaults to `1e-3`.
        center: learn `beta`. Defaults to `True`.
        scale: learn `gamma`. Defaults to `True`.

    Call arguments:
        inputs: the features, on the last axis.
        first_order: compute the same values with TensorFlow's fused kernel (one
            `FusedBatchNormV3` op, one `FusedBatchNormGradV3` op for its gradient)
            for rank-4 float32/16 inputs. Its gradient is exact, but a gradient of
            that gradient is not this layer's, so use it only for outputs that are
            differentiated once, e.g. MAML's query pass: the meta-gradient flows
            through it once, and second-order terms come from the support pass.
            Defaults to `False`.

    Input shape: any, features on the last axis. Output shape: the input shape.
    """

    def __init__(self, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        if epsilon <= 0:
            raise ValueError(f"Expected `epsilon` > 0. Received: epsilon={epsilon}.")
        self.epsilon = epsilon
        self.center = center
        self.scale = scale

    def build(self, input_shape):
        features = input_shape[-1]
        self.gamma = self.add_weight(shape=(features,), initializer="ones", name="gamma") if self.scale else None
        self.beta = self.add_weight(shape=(features,), initializer="zeros", name="beta") if self.center else None

    def call(self, inputs, first_order=False):
        if first_order and len(inputs.shape) == 4 and inputs.dtype in ("float32", "float16", "bfloat16"):
            from kzoo.layers.fused_batch_norm import normalize_with_batch_statistics

            features = inputs.shape[-1]
            gamma = ops.cast(self.gamma, "float32") if self.scale else ops.ones((features,), "float32")
            beta = ops.cast(self.beta, "float32") if self.center else ops.zeros((features,), "float32")
            return normalize_with_batch_statistics(inputs, gamma, beta, self.epsilon)[0]
        axes = tuple(range(len(inputs.shape) - 1))
        mean = ops.mean(inputs, axis=axes)
        variance = ops.mean(ops.square(inputs - mean), axis=axes)
        outputs = (inputs - mean) * ops.rsqrt(variance + self.epsilon)
        if self.scale:
            outputs = outputs * self.gamma
        if self.center:
            outputs = outputs + self.beta
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "center": self.center, "scale": self.scale}
