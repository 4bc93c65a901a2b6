import keras
import numpy as np
import pytest

from kzoo.layers import AttributeModulator


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _layer_and_params(seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    layer = AttributeModulator(5, **kwargs)
    o = rng.normal(size=(2, 3, 5)).astype("float32")
    e = rng.normal(size=(2, 4)).astype("float32")
    layer(o, e)
    kw, bw = rng.normal(size=(4, 5)), rng.normal(size=(5,))
    layer.scale_dense.set_weights([kw, bw])
    w = e @ kw + bw
    b = None
    if layer.bias:
        kb, bb = rng.normal(size=(4, 5)), rng.normal(size=(5,))
        layer.bias_dense.set_weights([kb, bb])
        b = e @ kb + bb
    return layer, o, e, w[:, None, :], None if b is None else b[:, None, :]


def test_default_is_equation_3():
    layer, o, e, w, b = _layer_and_params()
    expected = (1 + sigmoid(w)) * o + sigmoid(b)
    np.testing.assert_allclose(np.asarray(layer(o, e)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("base, operator, activation, bias", [
    (True, "+", "sigmoid", True), (True, "-", "sigmoid", False), (False, None, "sigmoid", False),
    (False, None, None, False), (True, "+", None, True)])
def test_identity_initialization_starts_near_the_identity(base, operator, activation, bias):
    layer = AttributeModulator(5, base=base, operator=operator, activation=activation, bias=bias,
                               initialization="identity", kernel_initializer="zeros")
    o = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    out = np.asarray(layer(o, np.ones((2, 4), "float32")))
    np.testing.assert_allclose(out, o, atol=0.02 * np.abs(o).max() + 0.02)
    zeros = AttributeModulator(5, kernel_initializer="zeros")  # eq. (3) at zero logits: 1.5 o + 0.5
    np.testing.assert_allclose(np.asarray(zeros(o, np.ones((2, 4), "float32"))), 1.5 * o + 0.5, rtol=1e-6)
    assert AttributeModulator.from_config(layer.get_config()).initialization == "identity"


# The eight rows of Table IV: (base, operator, activation, bias) -> formula
TABLE_IV = [
    (False, None, None, False, lambda o, w, b: w * o),
    (False, None, "sigmoid", False, lambda o, w, b: sigmoid(w) * o),
    (False, None, "softmax", False, lambda o, w, b: softmax(w) * o),
    (True, "+", "sigmoid", False, lambda o, w, b: (1 + sigmoid(w)) * o),
    (True, "-", "sigmoid", False, lambda o, w, b: (1 - sigmoid(w)) * o),
    (True, "+", "softmax", False, lambda o, w, b: (1 + softmax(w)) * o),
    (True, "-", "softmax", False, lambda o, w, b: (1 - softmax(w)) * o),
    (True, "+", "sigmoid", True, lambda o, w, b: (1 + sigmoid(w)) * o + sigmoid(b)),
]


@pytest.mark.parametrize("base, operator, activation, bias, formula", TABLE_IV)
def test_table_iv_variant_computes_its_formula(base, operator, activation, bias, formula):
    layer, o, e, w, b = _layer_and_params(seed=3, base=base, operator=operator, activation=activation, bias=bias)
    np.testing.assert_allclose(np.asarray(layer(o, e)), formula(o, w, b), rtol=1e-5, atol=1e-6)
    assert (layer.bias_dense is None) == (not bias)


def test_one_modulation_per_task_shared_by_its_samples():
    layer = AttributeModulator(3)
    e = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    o = np.ones((2, 6, 3), "float32")
    out = np.asarray(layer(o, e))
    # equal inputs within a task get equal outputs; the two tasks are modulated differently
    np.testing.assert_allclose(out, np.broadcast_to(out[:, :1], out.shape))
    assert not np.allclose(out[0], out[1])
    # rank 2 (one sample per embedding) gives the same values
    np.testing.assert_allclose(np.asarray(layer(o[:, 0], e)), out[:, 0], rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(units=0), "units"),
    (dict(units=3, operator="*"), "operator"),
    (dict(units=3, activation="tanh"), "activation"),
    (dict(units=3, base=True, operator=None), "operator"),
    (dict(units=3, base=False, operator="+"), "operator=None"),
    (dict(units=3, initialization="ones"), "initialization"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AttributeModulator(**kwargs)


def test_feature_size_mismatch_is_named():
    with pytest.raises(ValueError, match="Expected `inputs` with 4 features"):
        AttributeModulator(4)(np.ones((2, 5), "float32"), np.ones((2, 3), "float32"))


def test_serialization_round_trip():
    layer = AttributeModulator(5, base=True, operator="-", activation="softmax", bias=False)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert clone.get_config() == layer.get_config()
    o, e = np.ones((2, 5), "float32"), np.ones((2, 3), "float32")
    layer(o, e)
    clone(o, e)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(o, e)), np.asarray(layer(o, e)))
