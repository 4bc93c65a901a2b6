"""`DenseBlock`: the dense blocks AMAZ's networks are built from (its supplementary's Figure 1).

>>> import numpy as np
>>> block = DenseBlock(4, kind="fdl", dropout=0.0)
>>> tuple(block(np.ones((2, 3), "float32")).shape)
(2, 4)
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kzoo")
class DenseBlock(keras.layers.Layer):
    """One block of AMAZ's supplementary (its Figure 1), on the last axis.

    - `"fdl"`: FDL(n) = Dense(n) -> Dropout -> LeakyReLU;
    - `"fbd"`: FBD(n) = Dense(n) -> BatchNormalization(momentum) -> Dropout;
    - `"fcd"`: Dense(n) -> Dropout (D's `FC(1024), Dropout(0.5)`);
    - `"fc"`: Dense(n).

    Args:
        units: n. kind: one of the above. dropout: rate. Defaults to `0.5`.
        negative_slope: LeakyReLU slope. Defaults to `0.2` (the supplementary's figure).
        momentum: BatchNormalization momentum. Defaults to `0.8`.
    """

    KINDS = ("fdl", "fbd", "fcd", "fc")

    def __init__(self, units, kind="fdl", dropout=0.5, negative_slope=0.2, momentum=0.8, **kwargs):
        super().__init__(**kwargs)
        if kind not in self.KINDS:
            raise ValueError(f"Expected `kind` in {list(self.KINDS)}. Received: kind={kind!r}.")
        self.units, self.kind, self.dropout = units, kind, dropout
        self.negative_slope, self.momentum = negative_slope, momentum
        self.dense = keras.layers.Dense(units, name="dense", dtype=self.dtype_policy)
        self.norm = (keras.layers.BatchNormalization(momentum=momentum, name="norm", dtype=self.dtype_policy)
                     if kind == "fbd" else None)
        self.drop = keras.layers.Dropout(dropout, name="dropout", dtype=self.dtype_policy) if kind != "fc" else None

    def build(self, input_shape):
        self.dense.build(input_shape)
        output_shape = (*input_shape[:-1], self.units)
        if self.norm is not None:
            self.norm.build(output_shape)
        if self.drop is not None:
            self.drop.build(output_shape)

    def call(self, inputs, training=None):
        h = self.dense(inputs)
        if self.norm is not None:
            h = self.norm(h, training=training)
        if self.drop is not None:
            h = self.drop(h, training=training)
        if self.kind == "fdl":
            h = ops.leaky_relu(h, self.negative_slope)
        return h

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kind": self.kind, "dropout": self.dropout,
                "negative_slope": self.negative_slope, "momentum": self.momentum}
