"""TAFE-Net's factorized weight layers: shared weights scaled per task (Wang et al., 2019)."""

import keras
from keras import ops

from kzoo.checks import check_int


def _check_task_params(x_shape, task_shape, units, name):
    if task_shape[-1] is not None and units is not None and task_shape[-1] != units:
        raise ValueError(
            f"Expected `task_params` with last dimension {units} (the layer's output {name}). "
            f"Received: task_params.shape={tuple(task_shape)}."
        )


@keras.saving.register_keras_serializable(package="kzoo")
class FactorizedDense(keras.layers.Layer):
    """A dense layer whose weight is factorized into shared and task-specific parts.

    TAFE-Net, eq. (4): W = W_sr . diag(w_ts), with W_sr `[n_in, units]` shared
    by all tasks (`kernel`) and w_ts `[units]` given per task (`task_params`, the
    output of a weight generator g_i(t)). So

        y = x W_sr diag(w_ts) + b diag(w_ts) = (x W_sr + b) * w_ts,

    the bias (if any) belonging to the shared part (as in the authors' code,
    `Linear(x) * g(t)`). Computed as `(x @ W_sr + b) * w_ts`, so a batch of
    different tasks costs one matmul.

    `task_params` broadcasts against the output `[..., units]`: `[units]` is one
    task for all inputs, `[B, units]` one task per input, and inputs `[B, 1, n_in]`
    with `task_params` `[1, C, units]` give all B x C (input, task) pairs while
    computing `x @ W_sr` only once per input.

    Args:
        units: output dimension. Defaults to required.
        use_bias: add a shared bias before the task scaling. Defaults to `True`.
        kernel_initializer: initializer of W_sr. Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: Defaults to `None`.

    Call arguments:
        inputs: `[..., n_in]`.
        task_params: `[..., units]`, broadcastable against `[..., units]`.

    Output shape: the broadcast of `[..., units]` and `task_params.shape`.

    Example:

    >>> import numpy as np
    >>> layer = FactorizedDense(4)
    >>> tuple(layer(np.ones((2, 3), "float32"), np.ones((2, 4), "float32")).shape)
    (2, 4)

    Reference: Wang et al., "TAFE-Net: Task-Aware Feature Embeddings for Low Shot
    Learning", CVPR 2019, Section 3.2.
    """

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        check_int(units, "units", 1)
        self.units = units
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, inputs_shape, task_params_shape=None):
        input_shape = inputs_shape
        if task_params_shape is not None:
            _check_task_params(input_shape, task_params_shape, self.units, "units")
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
                     if self.use_bias else None)

    def call(self, inputs, task_params):
        _check_task_params(inputs.shape, task_params.shape, self.units, "units")
        y = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return y * ops.cast(task_params, y.dtype)

    def compute_output_shape(self, inputs_shape, task_params_shape):
        input_shape = inputs_shape
        a, b = tuple(input_shape[:-1]) + (self.units,), tuple(task_params_shape)
        rank = max(len(a), len(b))
        a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
        return tuple(j if i == 1 else i for i, j in zip(a, b))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}


@keras.saving.register_keras_serializable(package="kzoo")
class FactorizedConv2D(keras.layers.Layer):
    """A 2D convolution whose kernel is a shared kernel scaled per output channel by the task.

    TAFE-Net, eq. (3): W = W_sr *_cout W_ts, with W_sr `[k, k, c_in, filters]`
    shared (`kernel`) and W_ts `[1, 1, filters]` given per task (`task_params`):
    the grouped convolution along output channels multiplies output channel o of
    W_sr by W_ts[o]. Convolution is linear in the kernel, so

        conv(x, W) + b * W_ts = (conv(x, W_sr) + b) * W_ts

    is computed with one shared convolution for a whole batch of different tasks.
    An output channel whose factor is 0 need not be computed (Section 3.4: with
    ReLU-activated factors the layer's FLOPs shrink per input).

    Args:
        filters: output channels.
        kernel_size: int or (kh, kw). Defaults to `3`.
        strides: int or pair. Defaults to `1`.
        padding: `"same"` or `"valid"`. Defaults to `"same"`.
        use_bias: shared bias added before the scaling. Defaults to `False` (the
            paper drops it before batch normalization).
        kernel_initializer: Defaults to `"glorot_uniform"`.

    Call arguments:
        inputs: `[B, H, W, c_in]`.
        task_params: `[filters]` (one task) or `[B, filters]` (one task per input).

    Output shape: `[B, H', W', filters]`.

    Example:

    >>> import numpy as np
    >>> layer = FactorizedConv2D(8)
    >>> tuple(layer(np.ones((2, 5, 5, 3), "float32"), np.ones((2, 8), "float32")).shape)
    (2, 5, 5, 8)

    Reference: Wang et al., CVPR 2019, eq. (3).
    """

    def __init__(self, filters, kernel_size=3, strides=1, padding="same", use_bias=False,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        check_int(filters, "filters", 1)
        if padding not in ("same", "valid"):
            raise ValueError(f'Expected `padding` "same" or "valid". Received: padding={padding!r}.')
        self.filters = filters
        self.kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.strides = (strides, strides) if isinstance(strides, int) else tuple(strides)
        self.padding = padding
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, inputs_shape, task_params_shape=None):
        input_shape = inputs_shape
        if len(input_shape) != 4:
            raise ValueError(f"Expected `inputs` of rank 4 [B, H, W, C]. Received: input_shape={tuple(input_shape)}.")
        if task_params_shape is not None:
            _check_task_params(input_shape, task_params_shape, self.filters, "filters")
        self.kernel = self.add_weight(name="kernel", shape=(*self.kernel_size, input_shape[-1], self.filters),
                                      initializer=self.kernel_initializer)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros") if self.use_bias else None

    def call(self, inputs, task_params):
        _check_task_params(inputs.shape, task_params.shape, self.filters, "filters")
        if len(task_params.shape) not in (1, 2):
            raise ValueError(f"Expected `task_params` of shape [filters] or [B, filters]. "
                             f"Received: task_params.shape={tuple(task_params.shape)}.")
        y = ops.conv(inputs, self.kernel, strides=self.strides, padding=self.padding)
        if self.bias is not None:
            y = y + self.bias
        scale = ops.cast(task_params, y.dtype)
        if len(task_params.shape) == 2:
            scale = scale[:, None, None, :]
        return y * scale

    def compute_output_shape(self, inputs_shape, task_params_shape=None):
        input_shape = inputs_shape
        return keras.layers.Conv2D(self.filters, self.kernel_size, self.strides, self.padding).compute_output_shape(
            input_shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
