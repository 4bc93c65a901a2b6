"""XLA (`jit_compile`) and mixed precision give the float32 `tf.function` result to a tolerance.

Every application takes `compile(jit_compile=True)` and a Keras dtype policy
(`dtype="mixed_float16"` / `"mixed_bfloat16"`): variables stay float32, layers compute
in 16 bits, and the losses (MT-net's inner-loop loss included) and ProtoNet's
distances are computed in float32.
"""

import keras
import numpy as np
import pytest

from kzoo.applications import MTNet, ProtoNet
from kzoo.episodes.sampler import few_shot
from tests.conftest import make_source

SHAPE = (16, 16, 1)

APPLICATIONS = [
    ("protonet", lambda **kw: ProtoNet(example_shape=SHAPE, channels=8, blocks=2, **kw)),
    ("maml_second_order", lambda **kw: MTNet(example_shape=SHAPE, variant="maml", num_outputs=4, channels=8, blocks=2,
                                             inner_lr=0.1, **kw)),
]
try:
    from kzoo.applications import HyperTransformer

    APPLICATIONS.append(("hypertransformer", lambda **kw: HyperTransformer(
        num_ways=4, channels=8, blocks=2, embedding_dim=8, num_layers=1, image_embedding_dim=8, example_shape=SHAPE,
        **kw)))
except ImportError:  # not landed yet
    pass


@pytest.fixture(scope="module")
def batch():
    source = make_source(num_classes=12, per_class=8, size=SHAPE[0], alphabets=3)
    return next(iter(few_shot(source, 4, 2, 3, tasks=2, seed=7, batches=1)))


@pytest.fixture(scope="module")
def reference():
    """Initial weights and the float32, non-XLA result of one step, per application."""
    return {}


def _step(factory, weights, batch, jit_compile=False, **kwargs):
    model = factory(**kwargs)
    optimizer = keras.optimizers.SGD(0.1)
    if kwargs.get("dtype") == "mixed_float16":
        # the dynamic loss scale starts at 2**15 and skips the steps whose gradients
        # overflow while it adapts; start low so that the one compared step is applied
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=2.0**6)
    model.compile(optimizer=optimizer, jit_compile=jit_compile)
    model.build(model.episode_shapes())
    model.set_weights(weights)
    x, y = batch
    loss = model.fit(x, y, batch_size=2, verbose=0).history["loss"][0]
    return model, loss


def _reference(name, factory, batch, reference):
    if name not in reference:
        init = factory()
        init.build(init.episode_shapes())
        weights = init.get_weights()
        model, loss = _step(factory, weights, batch)
        reference[name] = weights, model.get_weights(), loss
    return reference[name]


def _relative_update_error(before, expected, got):
    expected = np.concatenate([(a - w).ravel() for w, a in zip(before, expected)])
    got = np.concatenate([(b - w).ravel() for w, b in zip(before, got)])
    return np.linalg.norm(got - expected) / np.linalg.norm(expected)


def _slow_unless(names):
    """The table, with the applications not in `names` behind the slow marker (XLA and
    mixed-precision tracing of the inner loops take 10-50 s each on 2 shared cores)."""
    return [pytest.param(n, f, marks=() if n in names else pytest.mark.slow) for n, f in APPLICATIONS]


@pytest.mark.parametrize("name, factory", _slow_unless({"protonet"}))
def test_xla_matches_tf_function(name, factory, batch, reference):
    before, after, loss = _reference(name, factory, batch, reference)
    model, xla_loss = _step(factory, before, batch, jit_compile=True)
    assert model.jit_compile
    np.testing.assert_allclose(xla_loss, loss, rtol=1e-4)
    assert _relative_update_error(before, after, model.get_weights()) < 1e-3


@pytest.mark.parametrize("policy, tolerance", [("mixed_bfloat16", 0.25), ("mixed_float16", 0.1)])
@pytest.mark.parametrize("name, factory", _slow_unless({"protonet", "maml_second_order"}))
def test_mixed_precision_matches_float32(name, factory, policy, tolerance, batch, reference):
    before, after, loss = _reference(name, factory, batch, reference)
    model, mixed_loss = _step(factory, before, batch, dtype=policy)
    assert model.compute_dtype == policy.split("_")[1]
    assert all(w.dtype == "float32" for w in model.weights)  # variables stay float32
    np.testing.assert_allclose(mixed_loss, loss, rtol=tolerance / 10)
    # the same step as in float32, to the precision of 16-bit activations
    assert _relative_update_error(before, after, model.get_weights()) < tolerance
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
