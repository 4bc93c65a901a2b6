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
        keras.utils.set_random_seed(0)  # the 16-bit errors depend on the initial weights: fix them
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


# bfloat16 keeps 8 mantissa bits: through BatchNorm's backward (which cancels most of the
# gradient) one step of the tiny test net differs from float32 by 19-50% (ProtoNet, initial
# weights from seeds 0-5; float16 5-8%), while the loss agrees to 0.5%. A wrong 16-bit
# path (e.g. a missing cast) gives errors near or above 100%.
@pytest.mark.parametrize("policy, tolerance", [("mixed_bfloat16", 0.6), ("mixed_float16", 0.1)])
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


# -- zero-shot applications (their own data: features + class attributes, tasks of classes) -----------------


def _tafenet(**kwargs):
    from kzoo.applications import TAFENet

    return TAFENet(feature_dim=12, task_dim=6, hidden_units=(16, 16), task_layers=2, task_units=16,
                   classifier_units=8, dropout=0.0, **kwargs)


def _amaz(**kwargs):
    from kzoo.applications import AMAZ

    return AMAZ(feature_dim=8, attribute_dim=5, num_classes=10, generator_units=(16, 16), embedding_dim=8,
                discriminator_units=(16,), classifier_units=(16,), decoder_units=(16,), dropout=0.0, **kwargs)


@pytest.fixture(scope="module")
def zero_shot():
    rng = np.random.default_rng(3)
    attributes = rng.uniform(size=(10, 6)).astype("float32")
    labels = np.repeat(np.arange(10), 4)
    features = attributes[labels] @ rng.normal(size=(6, 12)).astype("float32")
    return features.astype("float32"), labels, attributes


def _sgd(rate, policy):
    # mixed_float16: a LossScaleOptimizer starting low, so that the compared step is applied
    sgd = keras.optimizers.SGD(rate)
    return keras.optimizers.LossScaleOptimizer(sgd, initial_scale=2.0**6) if policy == "mixed_float16" else sgd


def _tafenet_step(weights, data, policy=None, jit_compile=False):
    x, y, tasks = data
    model = _tafenet(**({"dtype": policy} if policy else {}))
    model.compile(optimizer=_sgd(0.5, policy), task_optimizer=_sgd(0.05, policy), jit_compile=jit_compile,
                  run_eagerly=not jit_compile)  # eager: tracing costs more than the step
    model.build()
    if weights is not None:
        model.set_weights(weights)
    loss = model.fit(x, y, tasks=tasks, batch_size=len(x), verbose=0).history["loss"][0]
    return model, loss


@pytest.mark.parametrize("option, tolerance", [pytest.param("xla", 1e-3, marks=pytest.mark.slow),  # 7 s: XLA
                                               ("mixed_bfloat16", 0.15), ("mixed_float16", 0.02)])
def test_tafenet_options_match_float32(option, tolerance, zero_shot):
    keras.utils.set_random_seed(0)  # errors vary with the initial weights (seeds 0-5: bfloat16 3-8%, float16 < 0.5%)
    init = _tafenet()
    init.build()
    before = init.get_weights()
    reference, loss = _tafenet_step(before, zero_shot)
    if option == "xla":
        model, other = _tafenet_step(before, zero_shot, jit_compile=True)
    else:
        model, other = _tafenet_step(before, zero_shot, policy=option)
        assert model.compute_dtype == option.split("_")[1] and all(w.dtype == "float32" for w in model.weights)
    np.testing.assert_allclose(other, loss, rtol=tolerance / 5)
    assert _relative_update_error(before, reference.get_weights(), model.get_weights()) < tolerance


def _amaz_step(weights, batch, policy=None):
    model = _amaz(**({"dtype": policy} if policy else {}))
    model.compile(optimizer=_sgd(0.1, policy), attribute_optimizer=_sgd(0.1, policy),
                  generator_optimizer=_sgd(0.1, policy), run_eagerly=True)  # tracing the six phases is slow
    if weights is not None:
        model.set_weights(weights)
    logs = model.fit(batch, epochs=1, verbose=0).history
    return model, logs


@pytest.mark.parametrize("policy, tolerance", [("mixed_bfloat16", 0.15), ("mixed_float16", 0.05)])
def test_amaz_mixed_precision_matches_float32(policy, tolerance, zero_shot):
    from kzoo.applications.amaz import zero_shot_tasks

    x, y, _ = zero_shot
    attributes = zero_shot[2][:, :5]
    batch = zero_shot_tasks(x[:, :8], y, attributes, np.arange(10), ways=2, shots=2, queries=2, tasks=2).take(1)
    keras.utils.set_random_seed(0)  # seeds 0-5: update error bfloat16 1.5-7%, float16 0.2-3% (a WGAN-GP step)
    init = _amaz()
    init.build()
    before = init.get_weights()
    reference, logs = _amaz_step(before, batch)
    model, mixed_logs = _amaz_step(before, batch, policy)
    assert model.compute_dtype == policy.split("_")[1] and all(w.dtype == "float32" for w in model.weights)
    for key in ("d_loss", "g_loss", "ad_loss", "c_loss"):
        np.testing.assert_allclose(mixed_logs[key], logs[key], rtol=tolerance, atol=tolerance, err_msg=key)
    # Algorithm 1's three inner steps and meta-update, to the precision of 16-bit activations
    assert _relative_update_error(before, reference.get_weights(), model.get_weights()) < tolerance


@pytest.mark.slow  # XLA-compiling Algorithm 1's six phases takes about 25 s on 2 shared cores
def test_amaz_xla_matches_tf_function_without_random_terms(zero_shot):
    from kzoo.applications.amaz import zero_shot_tasks

    # XLA draws other numbers than TensorFlow's CPU kernels for the same stateless seeds (the
    # noise z and the penalty's interpolation): compare with near-zero noise and no penalty
    x, y, _ = zero_shot
    batch = zero_shot_tasks(x[:, :8], y, zero_shot[2][:, :5], np.arange(10), ways=2, shots=2, queries=2,
                            tasks=2).take(1)
    models, logs = [], []
    for jit_compile in (False, True):
        model = _amaz(gradient_penalty=0.0, train_sigma=1e-6)
        model.build()
        if models:
            model.set_weights(models[0][1])
        before = model.get_weights()
        sgd = keras.optimizers.SGD
        model.compile(optimizer=sgd(0.1), attribute_optimizer=sgd(0.1), generator_optimizer=sgd(0.1),
                      jit_compile=jit_compile)
        logs.append(model.fit(batch, epochs=1, verbose=0).history)
        models.append((model, before))
    (reference, before), (xla, _) = models
    assert xla.jit_compile
    np.testing.assert_allclose(logs[1]["ad_loss"], logs[0]["ad_loss"], rtol=1e-4)
    assert _relative_update_error(before, reference.get_weights(), xla.get_weights()) < 1e-4
