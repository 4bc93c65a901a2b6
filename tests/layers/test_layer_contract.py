"""Every public layer through the same checks: config, output shape, dtype policy and its documented maths."""

import dataclasses
from typing import Callable

import keras
import numpy as np
import pytest

import kzoo.layers
from kzoo.layers import (AttributeModulator, BatchStatNormalization, ConvBackbone, DenseBlock, DropBlock,
                         FactorizedConv2D, FactorizedDense, MaskedTransformCell, ResNet12, WeightSliceTransformer)


@dataclasses.dataclass
class Row:
    id: str
    make: Callable  # make(**kwargs) -> a small layer; kwargs go to the constructor (e.g. dtype=)
    inputs: Callable  # inputs() -> tuple of positional call arguments (NumPy, fixed seed)
    reference: Callable  # reference(layer, *inputs) -> the expected output
    call_kwargs: dict = dataclasses.field(default_factory=dict)
    output_shape: Callable = lambda layer, *shapes: layer.compute_output_shape(*shapes)


def _normal(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=shape).astype("float32") for shape in shapes)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _np(variable):
    return np.asarray(keras.ops.convert_to_numpy(variable), "float64")


def _conv2d(x, kernel, stride, padding):
    """TensorFlow's NHWC convolution (its "same" puts the odd padding pixel after)."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        pads = []
        for size, k in ((x.shape[1], kh), (x.shape[2], kw)):
            total = max((-(-size // stride) - 1) * stride + k - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), *pads, (0, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("bhwcij,ijco->bhwo", windows, kernel)


def _max_pool(x):
    b, h, w, c = x.shape
    return x[:, :h // 2 * 2, :w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _batch_norm(x, norm, training):
    axes = tuple(range(x.ndim - 1))
    mean, var = (x.mean(axes), x.var(axes)) if training else (_np(norm.moving_mean), _np(norm.moving_variance))
    return _np(norm.gamma) * (x - mean) / np.sqrt(var + norm.epsilon) + _np(norm.beta)


def _conv_backbone(training):
    def reference(layer, x):
        h = x.astype("float64")
        for i in range(layer.blocks):
            conv, norm = layer.convs[i], layer.norms[i]
            h = _conv2d(h, _np(conv.kernel), 1 if layer.pool else 2, "same") + _np(conv.bias)
            h = np.maximum(_batch_norm(h, norm, training), 0.0)
            if layer.pool:
                h = _max_pool(h)
        return h.reshape(len(h), -1)
    return reference


def _masked_transform_cell(layer, x, kernel=None, bias=None):
    kernel = _np(layer.kernel) if kernel is None else kernel.astype("float64")
    bias = _np(layer.bias) if bias is None else bias.astype("float64")
    if layer.is_conv:
        h = _conv2d(x.astype("float64"), kernel, layer.strides, "same") + bias
    else:
        h = x.astype("float64") @ kernel + bias
    # W and T act on row vectors (kernel [in, units]): eq. (7)'s T (W x + b) is (x W + b) T here
    return h @ _np(layer.transform)


def _weight_slices_permuted(layer, features, labels, mask=None):
    """Property: no positional encoding, so permuting the samples with their labels keeps the slices,
    and masked-out samples are as good as absent (the reference is the unpadded, permuted episode)."""
    keep = np.arange(features.shape[1]) if mask is None else np.flatnonzero(mask[0])
    assert mask is None or (mask == mask[:1]).all()
    order = np.random.default_rng(7).permutation(keep)
    assert not np.array_equal(order, keep)
    relabelled = np.asarray(layer(features[:, order], labels[:, keep]))
    actual = np.asarray(layer(features, labels, mask))
    assert np.abs(relabelled - actual).max() > 1e-3, "permuting features alone should change the slices"
    return np.asarray(layer(features[:, order], labels[:, order]))


def _factorized_dense(layer, x, task):
    return (x.astype("float64") @ _np(layer.kernel) + (_np(layer.bias) if layer.use_bias else 0.0)) * task


def _factorized_conv(layer, x, task):
    # eq. (3) literally: one convolution per input with W = W_sr scaled per output channel, bias b * W_ts
    tasks = np.broadcast_to(task, (len(x), layer.filters)).astype("float64")
    bias = _np(layer.bias) if layer.use_bias else 0.0
    return np.stack([_conv2d(x[i:i + 1].astype("float64"), _np(layer.kernel) * t, layer.strides[0], layer.padding)[0]
                     + bias * t for i, t in enumerate(tasks)])


def _attribute_modulator(layer, o, e):
    act = {"sigmoid": _sigmoid, "softmax": _softmax, None: lambda z: z}[layer.activation]
    expand = (slice(None),) + (None,) * (o.ndim - 2)
    w = (e @ _np(layer.scale_dense.kernel) + _np(layer.scale_dense.bias))[expand]
    scaled = act(w) * o
    out = (o + scaled if layer.operator == "+" else o - scaled) if layer.base else scaled
    if layer.bias:
        out = out + act((e @ _np(layer.bias_dense.kernel) + _np(layer.bias_dense.bias))[expand])
    return out


def _dense_block(layer, x):
    h = x.astype("float64") @ _np(layer.dense.kernel) + _np(layer.dense.bias)
    if layer.kind == "fbd":
        h = _batch_norm(h, layer.norm, training=False)
    if layer.kind == "fdl":
        h = np.where(h > 0, h, layer.negative_slope * h)
    return h


def _batch_stat_normalization(layer, x):
    axes = tuple(range(x.ndim - 1))
    x = x.astype("float64")
    y = (x - x.mean(axes)) / np.sqrt(x.var(axes) + layer.epsilon)
    return y * (_np(layer.gamma) if layer.scale else 1.0) + (_np(layer.beta) if layer.center else 0.0)


def _resnet12(layer, x):
    """Inference: per block three 3x3 convs (BN, LeakyReLU 0.1 after the first two), a BN'd 1x1 shortcut,
    LeakyReLU, 2x2 max-pool; DropBlock is the identity; then the global average."""
    def leaky(z):
        return np.where(z > 0, z, 0.1 * z)

    h = x.astype("float64")
    for convs, norms, shortcut, shortcut_norm, _ in layer.blocks:
        z = h
        for j, (conv, norm) in enumerate(zip(convs, norms)):
            z = _batch_norm(_conv2d(z, _np(conv.kernel), 1, "same"), norm, False)
            z = leaky(z) if j < 2 else z
        z = leaky(z + _batch_norm(_conv2d(h, _np(shortcut.kernel), 1, "same"), shortcut_norm, False))
        h = _max_pool(z)
    return h.mean(axis=(1, 2))


ROWS = [
    Row("conv_backbone_pool_training", lambda **kw: ConvBackbone(channels=4, blocks=2, **kw),
        lambda: _normal((3, 9, 9, 2)), _conv_backbone(training=True), {"training": True}),
    Row("conv_backbone_stride_inference", lambda **kw: ConvBackbone(channels=4, blocks=2, pool=False, **kw),
        lambda: _normal((3, 10, 10, 2)), _conv_backbone(training=False), {"training": False}),
    Row("masked_transform_cell_dense", lambda **kw: MaskedTransformCell(4, **kw),
        lambda: _normal((2, 3)), _masked_transform_cell),
    Row("masked_transform_cell_conv_fast_weights",
        lambda **kw: MaskedTransformCell(3, kernel_size=3, strides=2, **kw),
        lambda: _normal((2, 5, 5, 2), (3, 3, 2, 3), (3,), seed=1), _masked_transform_cell,
        output_shape=lambda layer, x, kernel, bias: layer.compute_output_shape(x)),
    Row("weight_slice_transformer",
        lambda **kw: WeightSliceTransformer(num_slices=4, slice_size=6, num_labels=3, embedding_dim=8,
                                            num_layers=1, **kw),
        lambda: (*_normal((2, 5, 10)), np.array([[0, 1, 2, 0, -1]] * 2, "int32")), _weight_slices_permuted),
    Row("weight_slice_transformer_decoder_mask",
        lambda **kw: WeightSliceTransformer(num_slices=3, slice_size=12, num_labels=3, embedding_dim=8,
                                            num_layers=1, decoder_layers=1, **kw),
        lambda: (*_normal((2, 6, 5)), np.array([[0, 1, 2, -1, 0, 1]] * 2, "int32"),
                 np.array([[True] * 4 + [False] * 2] * 2)), _weight_slices_permuted),
    Row("factorized_dense", lambda **kw: FactorizedDense(5, **kw),
        lambda: _normal((3, 4), (3, 5)), _factorized_dense),
    Row("factorized_dense_all_pairs", lambda **kw: FactorizedDense(6, use_bias=False, **kw),
        lambda: _normal((4, 1, 3), (1, 7, 6)), _factorized_dense),
    Row("factorized_conv2d_one_task", lambda **kw: FactorizedConv2D(4, **kw),
        lambda: _normal((2, 5, 5, 3), (4,)), _factorized_conv),
    Row("factorized_conv2d_per_input_valid",
        lambda **kw: FactorizedConv2D(6, kernel_size=(3, 2), strides=2, padding="valid", use_bias=True, **kw),
        lambda: _normal((3, 9, 8, 2), (3, 6)), _factorized_conv),
    Row("attribute_modulator_eq3", lambda **kw: AttributeModulator(5, **kw),
        lambda: _normal((2, 3, 5), (2, 4)), _attribute_modulator),
    Row("attribute_modulator_minus_softmax",
        lambda **kw: AttributeModulator(5, operator="-", activation="softmax", **kw),
        lambda: _normal((2, 5), (2, 4)), _attribute_modulator),
    Row("dense_block_fdl", lambda **kw: DenseBlock(4, kind="fdl", **kw),
        lambda: _normal((2, 3)), _dense_block, {"training": False}),
    Row("dense_block_fbd", lambda **kw: DenseBlock(4, kind="fbd", **kw),
        lambda: _normal((2, 3)), _dense_block, {"training": False}),
    Row("resnet12_inference", lambda **kw: ResNet12(channels=(3, 4, 4, 5), **kw),
        lambda: _normal((2, 16, 16, 3)), _resnet12, {"training": False}),
    Row("dropblock_inference_is_identity", lambda **kw: DropBlock(0.3, 3, **kw),
        lambda: _normal((2, 6, 6, 4)), lambda layer, x: x, {"training": False}),
    Row("batch_stat_normalization", lambda **kw: BatchStatNormalization(**kw),
        lambda: _normal((6, 3)), _batch_stat_normalization),
    Row("batch_stat_normalization_fused", lambda **kw: BatchStatNormalization(**kw),
        lambda: _normal((2, 3, 3, 4)), _batch_stat_normalization, {"first_order": True}),
]

table = pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])


def _built(row, **kwargs):
    layer = row.make(**kwargs)
    args = row.inputs()
    return layer, args, layer(*args, **row.call_kwargs)


def _randomize(layer):
    """Seeded random weights, so that identity/zero initializations cannot hide a term of the formula."""
    rng = np.random.default_rng(1)
    for variable in layer.weights:
        value = rng.normal(scale=0.5, size=variable.shape)
        if variable.name.endswith("variance"):
            value = np.abs(value) + 0.5
        variable.assign(value.astype(variable.dtype))


@table
def test_config_round_trip(row):
    layer, _, _ = _built(row)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


@table
def test_output_shape_matches_compute_output_shape(row):
    layer, args, outputs = _built(row)
    expected = row.output_shape(layer, *(tuple(a.shape) for a in args))
    assert tuple(outputs.shape) == tuple(expected)


@table
def test_mixed_bfloat16_keeps_float32_variables(row):
    layer, _, outputs = _built(row, dtype="mixed_bfloat16")
    assert all(v.dtype == "float32" for v in layer.weights)  # (DropBlock has none)
    assert layer.compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(outputs.dtype) == "bfloat16"


@table
def test_output_matches_the_documented_maths(row):
    layer, args, _ = _built(row)
    _randomize(layer)
    outputs = np.asarray(layer(*args, **row.call_kwargs))
    np.testing.assert_allclose(outputs, row.reference(layer, *args), rtol=1e-5, atol=1e-5)


def test_every_exported_layer_has_a_row():
    exported = {getattr(kzoo.layers, name) for name in kzoo.layers.__all__}
    layers = {cls for cls in exported if isinstance(cls, type) and issubclass(cls, keras.layers.Layer)}
    assert layers
    assert layers <= {type(row.make()) for row in ROWS}
