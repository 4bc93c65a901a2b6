"""Attribute-aware modulation of one generator layer (AMAZ, Li et al. 2021, eq. 2-3)."""

import keras
from keras import ops

from kzoo.checks import check_int

OPERATORS = (None, "+", "-")
ACTIVATIONS = (None, "sigmoid", "softmax")
INITIALIZATIONS = ("zeros", "identity")
#: |logit| of the identity initialization: sigmoid(-4) = 0.018
IDENTITY_MARGIN = 4.0


def identity_logits(base, activation):
    """Initial `(w, b)` logits that make a modulator start near the identity `o' = o`.

    Scale: `1 + act(w)` (base) or `act(w)` (no base) near 1; offset `act(b)` near 0.
    Softmax cannot reach either (its D outputs sum to 1): its logits start equal,
    `1/D` each, the closest it gets for large D.
    """
    if activation == "softmax":
        return 0.0, 0.0
    if activation == "sigmoid":
        return (-IDENTITY_MARGIN if base else IDENTITY_MARGIN), -IDENTITY_MARGIN
    return (0.0 if base else 1.0), 0.0


@keras.saving.register_keras_serializable(package="kzoo")
class AttributeModulator(keras.layers.Layer):
    """Modulates a layer's output `o_j` with parameters predicted from a task embedding.

    Eq. (2): `(w_j, b_j) = h_j(e)`, two dense layers on the task embedding `e`;
    eq. (3): `o'_j = (1 + sigmoid(w_j)) * o_j + sigmoid(b_j)`.

    The operator is configurable so that the paper's Table IV ablation runs from
    this one layer. With `act` the chosen `activation` (identity, sigmoid, or
    softmax over the feature axis):

    - `base=False`: `o' = act(w) * o [+ act(b)]` (Table IV rows 1-3; row 1 is
      the plain `w * o`), `operator` must be `None`;
    - `base=True, operator="+"`: `o' = o + act(w) * o [+ act(b)]`;
    - `base=True, operator="-"`: `o' = o - act(w) * o [+ act(b)]`;

    where `[+ act(b)]` is present when `bias=True`. The defaults give eq. (3).

    Args:
        units: size D of the modulated features (the last axis of `o`).
        base: keep `o` itself as the base of the modulation. Defaults to `True`.
        operator: `"+"`, `"-"` (with `base=True`) or `None` (with `base=False`).
            Defaults to `"+"`.
        activation: `"sigmoid"`, `"softmax"` or `None`, applied to `w` and `b`.
            Defaults to `"sigmoid"`.
        bias: add the modulation bias `act(b)`. Defaults to `True`.
        kernel_initializer: initializer of the two dense layers. Defaults to
            `"glorot_uniform"`.
        initialization: the dense layers' biases, i.e. `w` and `b` before the
            task embedding moves them. `"zeros"`: eq. (3) starts as
            `1.5 * o + 0.5`; `"identity"`: near `o' = o` (`identity_logits`; for
            eq. 3 both logits start at -4, scale 1.018 and offset 0.018). The
            paper gives no initialization. Defaults to `"zeros"`.

    Call arguments:
        inputs: `o`, shape `[B, ..., D]`.
        task_embedding: `e`, shape `[B, E]`, one embedding per leading index;
            it is broadcast over the middle axes of `inputs` (e.g. the samples of
            a task), so `w` and `b` are computed once per task.

    Output shape: the shape of `inputs`.

    Example:

    >>> import numpy as np
    >>> layer = AttributeModulator(4)
    >>> tuple(layer(np.ones((2, 5, 4), "float32"), np.ones((2, 8), "float32")).shape)
    (2, 5, 4)

    Reference: Li, Liu, Yao, Chang, "Attribute-Modulated Generative Meta Learning
    for Zero-Shot Learning", 2021 (arXiv:2104.10857), Section II-B and Table IV.
    """

    def __init__(self, units, base=True, operator="+", activation="sigmoid", bias=True,
                 kernel_initializer="glorot_uniform", initialization="zeros", **kwargs):
        super().__init__(**kwargs)
        check_int(units, "units", 1)
        if operator not in OPERATORS:
            raise ValueError(f"Expected `operator` in {list(OPERATORS)}. Received: operator={operator!r}.")
        if activation not in ACTIVATIONS:
            raise ValueError(f"Expected `activation` in {list(ACTIVATIONS)}. Received: activation={activation!r}.")
        if base and operator is None:
            raise ValueError('Expected `operator` "+" or "-" with `base=True`. Received: operator=None.')
        if not base and operator is not None:
            raise ValueError(f"Expected `operator=None` with `base=False` (no base to combine with). "
                             f"Received: operator={operator!r}.")
        self.units = units
        self.base = bool(base)
        self.operator = operator
        self.activation = activation
        self.bias = bool(bias)
        if initialization not in INITIALIZATIONS:
            raise ValueError(f"Expected `initialization` in {list(INITIALIZATIONS)}. "
                             f"Received: initialization={initialization!r}.")
        self.initialization = initialization
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        scale_logit, offset_logit = identity_logits(self.base, activation) if initialization == "identity" else (0, 0)
        dense = dict(kernel_initializer=self.kernel_initializer, dtype=self.dtype_policy)
        self.scale_dense = keras.layers.Dense(units, name="w", bias_initializer=keras.initializers.Constant(scale_logit),
                                              **dense)
        self.bias_dense = (keras.layers.Dense(units, name="b", bias_initializer=keras.initializers.Constant(offset_logit),
                                              **dense) if self.bias else None)

    def build(self, inputs_shape, task_embedding_shape):
        if inputs_shape[-1] is not None and inputs_shape[-1] != self.units:
            raise ValueError(f"Expected `inputs` with {self.units} features on the last axis. "
                             f"Received: inputs.shape={tuple(inputs_shape)}.")
        if len(task_embedding_shape) != 2:
            raise ValueError(f"Expected `task_embedding` of shape [B, E]. "
                             f"Received: task_embedding.shape={tuple(task_embedding_shape)}.")
        if len(inputs_shape) < 2:
            raise ValueError(f"Expected `inputs` of shape [B, ..., D]. Received: inputs.shape={tuple(inputs_shape)}.")
        self.scale_dense.build(task_embedding_shape)
        if self.bias:
            self.bias_dense.build(task_embedding_shape)

    def modulation_parameters(self, task_embedding):
        """`(w, b)` of eq. (2), each `[B, D]` (`b` is `None` without bias)."""
        w = self.scale_dense(task_embedding)
        return w, (self.bias_dense(task_embedding) if self.bias else None)

    def _activate(self, x):
        if self.activation == "sigmoid":
            return ops.sigmoid(x)
        if self.activation == "softmax":
            return ops.softmax(x, axis=-1)
        return x

    def call(self, inputs, task_embedding):
        w, b = self.modulation_parameters(task_embedding)
        # [B, D] -> [B, 1, ..., 1, D]: one (w, b) per task, shared by its samples
        middle = len(inputs.shape) - 2
        for _ in range(middle):
            w = ops.expand_dims(w, 1)
            b = None if b is None else ops.expand_dims(b, 1)
        scaled = self._activate(w) * inputs
        if not self.base:
            outputs = scaled
        elif self.operator == "+":
            outputs = inputs + scaled
        else:
            outputs = inputs - scaled
        if self.bias:
            outputs = outputs + self._activate(b)
        return outputs

    def compute_output_shape(self, inputs_shape, task_embedding_shape):
        return tuple(inputs_shape)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "base": self.base, "operator": self.operator,
                "activation": self.activation, "bias": self.bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "initialization": self.initialization}
