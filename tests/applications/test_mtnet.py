import numpy as np
import pytest
import tensorflow as tf

from kzoo import episodes
from kzoo.applications import MTNet
from kzoo.training.inner_loop import adapt


def _sine_episode(tasks=2, seed=0):
    return next(iter(episodes.sinusoid(shots=5, queries=4, tasks=tasks, seed=seed, batches=1)))


def test_identity_transform_all_ones_mask_one_step_equals_a_hand_written_maml_step():
    x, _ = _sine_episode()
    model = MTNet(variant="mtnet", hidden=(8,), inner_lr=0.05, inference_mask="mode")
    model.build(model.episode_shapes())
    for cell in model.cells:
        cell.mask_logits.assign(np.full(cell.mask_logits.shape, 5.0, "float32"))  # mode mask = 1
    w1, b1, w2, b2 = (v.numpy().astype(np.float64) for c in model.cells for v in c.fast_variables)

    def net(sx, w1, b1, w2, b2):
        return np.maximum(sx @ w1 + b1, 0) @ w2 + b2

    expected = []
    for t in range(2):
        sx, sy = x["support_x"][t].numpy(), x["support_y"][t].numpy()
        h = sx @ w1 + b1
        a = np.maximum(h, 0)
        d_out = 2 * (a @ w2 + b2 - sy) / sy.size  # d mean((f - y)^2) / d f
        g_w2, g_b2 = a.T @ d_out, d_out.sum(0)
        d_h = (d_out @ w2.T) * (h > 0)
        g_w1, g_b1 = sx.T @ d_h, d_h.sum(0)
        fast = [w1 - 0.05 * g_w1, b1 - 0.05 * g_b1, w2 - 0.05 * g_w2, b2 - 0.05 * g_b2]
        expected.append(net(x["query_x"][t].numpy(), *fast))
    np.testing.assert_allclose(model.predict(x, verbose=0), np.stack(expected), rtol=1e-4, atol=1e-6)
    maml = MTNet(variant="maml", hidden=(8,), inner_lr=0.05)
    maml.build(maml.episode_shapes())
    for src, dst in zip([v for c in model.cells for v in c.fast_variables], maml.trainable_variables):
        dst.assign(src)
    np.testing.assert_allclose(maml.predict(x, verbose=0), np.stack(expected), rtol=1e-4, atol=1e-6)


def test_masked_rows_receive_no_inner_update():
    model = MTNet(variant="mnet", hidden=(6,))
    model.build(model.episode_shapes())
    first = model.cells[0]
    first.mask_logits.assign(np.array([50, -50, 50, -50, -50, 50], "float32"))
    x, _ = _sine_episode()
    masks = model.sample_masks("sample")
    fast = model.adapt_task(x["support_x"][0], x["support_y"][0], steps=3, mask_mode="sample")
    kernel_change = np.abs(fast[0].numpy() - first.kernel.numpy()).max(axis=0)
    bias_change = np.abs(fast[1].numpy() - first.bias.numpy())
    blocked = np.array([1, 3, 4])
    assert np.all(kernel_change[blocked] == 0) and np.all(bias_change[blocked] == 0)
    assert np.all(kernel_change[[0, 2, 5]] > 0)
    assert masks[0].numpy().tolist() == [1, 0, 1, 0, 0, 1]


def test_adapt_is_the_masked_update_of_eq_8():
    w, g = [tf.constant([[1.0, 2.0]])], [tf.constant([[0.5, 0.5]])]
    np.testing.assert_allclose(adapt(w, g, 0.1, [tf.constant([1.0, 0.0])])[0], [[0.95, 2.0]])
    np.testing.assert_allclose(adapt(w, g, 0.1)[0], [[0.95, 1.95]])


def _tiny_conv(first_order, dtype="float64"):
    model = MTNet(example_shape=(6, 6, 1), variant="maml", num_outputs=2, channels=3, blocks=2,
                  inner_lr=0.5, first_order=first_order, dtype=dtype)
    model.build(model.episode_shapes())
    return model


def _conv_episode():
    rng = np.random.RandomState(3)
    x = {"support_x": tf.constant(rng.rand(1, 4, 6, 6, 1)), "support_y": tf.constant([[0, 1, 0, 1]]),
         "query_x": tf.constant(rng.rand(1, 4, 6, 6, 1))}
    return x, tf.constant([[1, 0, 0, 1]])


def _meta_gradient(model, x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model._query_losses(x, y, training=True)[:, 1])
    return loss, tape.gradient(loss, model.trainable_variables)


def test_second_order_meta_gradient_through_batchnorm_matches_finite_differences():
    model = _tiny_conv(first_order=False)
    reference = _tiny_conv(first_order=True)
    for src, dst in zip(model.trainable_variables, reference.trainable_variables):
        dst.assign(src)
    x, y = _conv_episode()
    _, grads = _meta_gradient(model, x, y)
    _, first_order = _meta_gradient(reference, x, y)
    rng = np.random.RandomState(0)
    checked = 0
    for var, grad, fo in zip(model.trainable_variables, grads, first_order):
        flat = var.numpy().ravel()
        for i in rng.choice(flat.size, size=min(3, flat.size), replace=False):
            def loss_at(delta):
                values = flat.copy()
                values[i] += delta
                var.assign(values.reshape(var.shape))
                value = float(_meta_gradient(model, x, y)[0])
                var.assign(flat.reshape(var.shape))
                return value
            numeric = (loss_at(1e-6) - loss_at(-1e-6)) / 2e-6
            np.testing.assert_allclose(grad.numpy().ravel()[i], numeric, rtol=1e-4, atol=1e-8)
            checked += 1
    assert checked >= 12
    difference = max(np.abs(g.numpy() - f.numpy()).max() for g, f in zip(grads, first_order))
    assert difference > 1e-3  # second order really adds terms


@pytest.mark.parametrize("compiled", [False, True])
def test_remat_gives_the_same_second_order_meta_gradient(compiled):
    # MT-net (T matrices, sampled masks, normalization variables read inside the inner steps), 2 steps
    def build(remat):
        model = MTNet(example_shape=(6, 6, 1), variant="mtnet", num_outputs=2, channels=3, blocks=2, inner_lr=0.5,
                      inner_steps=2, seed=0, remat=remat, dtype="float64")
        model.build(model.episode_shapes())
        return model

    plain, remat = build(False), build(True)
    for src, dst in zip(plain.trainable_variables, remat.trainable_variables):
        dst.assign(src)
    x, y = _conv_episode()
    run = (lambda m: tf.function(lambda: _meta_gradient(m, x, y))()) if compiled else (
        lambda m: _meta_gradient(m, x, y))
    (loss_p, grads_p), (loss_r, grads_r) = run(plain), run(remat)
    np.testing.assert_allclose(float(loss_r), float(loss_p), rtol=1e-10)
    assert all(g is not None for g in grads_r)
    for variable, a, b in zip(plain.trainable_variables, grads_p, grads_r):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-8, atol=1e-12, err_msg=variable.path)
    assert MTNet.from_config(remat.get_config()).remat


@pytest.mark.parametrize("first_order", [False, True])
def test_fused_query_normalization_gives_the_same_meta_gradient(first_order):
    # float32: the fused kernel runs on the query passes (and on first-order support passes)
    fused, plain = _tiny_conv(first_order, dtype="float32"), _tiny_conv(first_order, dtype="float32")
    plain.fused_query_norms = False
    for src, dst in zip(fused.trainable_variables, plain.trainable_variables):
        dst.assign(src)
    x, y = _conv_episode()
    x = {k: tf.cast(v, "float32") if v.dtype == tf.float64 else v for k, v in x.items()}
    graph = tf.function(lambda: _meta_gradient(fused, x, y)).get_concrete_function().graph
    ops = {op.type for op in graph.get_operations()}
    assert "FusedBatchNormV3" in ops and "FusedBatchNormGradV3" in ops
    loss_f, grads_f = _meta_gradient(fused, x, y)
    loss_p, grads_p = _meta_gradient(plain, x, y)
    np.testing.assert_allclose(float(loss_f), float(loss_p), rtol=1e-5)
    for a, b in zip(grads_f, grads_p):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-3, atol=2e-5)


@pytest.mark.parametrize(
    "variant, full_mask, has_transform, mask_shape",
    [("maml", False, False, None), ("tnet", False, True, None), ("mnet", False, False, (8,)),
     ("mtnet", False, True, (8,)), ("mnet", True, False, (1, 8)), ("mtnet", True, True, (1, 8))],
)
def test_variants_change_only_what_they_should(variant, full_mask, has_transform, mask_shape):
    model = MTNet(variant=variant, full_mask=full_mask, hidden=(8,))
    model.build(model.episode_shapes())
    first = model.cells[0]
    assert (first.transform is not None) == has_transform
    assert (None if first.mask_logits is None else tuple(first.mask_logits.shape)) == mask_shape
    # the inner loop adapts W and b only: T and zeta never move inside a task
    x, _ = _sine_episode()
    fast = model.adapt_task(x["support_x"][0], x["support_y"][0], steps=2, mask_mode="sample")
    assert len(fast) == 2 * len(model.cells)
    assert [f.shape for f in fast] == [v.shape for c in model.cells for v in c.fast_variables]


def test_meta_training_moves_transform_and_mask_logits():
    model = MTNet(variant="mtnet", hidden=(8,))
    model.compile()
    model.build(model.episode_shapes())
    before = [v.numpy().copy() for c in model.cells for v in c.meta_variables]
    model.fit(episodes.sinusoid(tasks=2), steps_per_epoch=3, verbose=0)
    after = [v.numpy() for c in model.cells for v in c.meta_variables]
    assert all(not np.allclose(b, a) for b, a in zip(before, after))


def test_sine_meta_training_makes_adaptation_help():
    """After a short meta-training (3,000 steps), one inner step clearly lowers the query loss."""
    import keras

    keras.utils.set_random_seed(0)  # initial weights; the mask noise follows the model's seed
    model = MTNet(variant="mtnet", inner_lr=0.01, seed=0)
    model.compile()
    model.fit(episodes.sinusoid(tasks=4, seed=0), steps_per_epoch=3000, verbose=0)
    scores = model.evaluate(episodes.sinusoid(tasks=25, seed=99, batches=8), verbose=0, return_dict=True)
    assert scores["loss"] < 0.7 * scores["pre_adaptation_loss"], scores
    assert 0.0 < scores["update_fraction"] < 1.0


def test_logs_pre_and_post_adaptation_metrics_and_update_fraction():
    model = MTNet(example_shape=(8, 8, 1), num_outputs=3, channels=4, blocks=2, inner_lr=0.1)
    model.compile()
    rng = np.random.RandomState(0)
    source = episodes.arrays((rng.rand(30, 8, 8, 1) * 255).astype("uint8"), np.repeat(np.arange(6), 5))
    history = model.fit(episodes.few_shot(source, 3, 1, 2, tasks=2), steps_per_epoch=2, verbose=0)
    assert set(history.history) == {"loss", "pre_adaptation_loss", "accuracy", "pre_adaptation_accuracy",
                                    "update_fraction"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"inner_steps": -1}, "inner_steps"),
        ({"inner_lr": 0.0}, "inner_lr"),
        ({"temperature": -1.0}, "temperature"),
        ({"variant": "reptile"}, "variant"),
        ({"variant": "maml", "full_mask": True}, "full_mask"),
        ({"eval_inner_steps": -2}, "eval_inner_steps"),
        ({"example_shape": (4, 4)}, "example_shape"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MTNet(**kwargs)


def test_regression_episode_fed_to_a_classifier_and_the_reverse():
    classifier = MTNet(example_shape=(8, 8, 1), num_outputs=3, channels=4, blocks=2)
    x, _ = _sine_episode()
    with pytest.raises(ValueError, match="support_x"):
        classifier.predict(x, verbose=0)
    regressor = MTNet()
    labels = {**x, "support_y": tf.zeros([2, 5], tf.int32)}
    with pytest.raises(ValueError, match="support_y"):
        regressor.predict(labels, verbose=0)
    ints = {**x, "support_y": tf.zeros([2, 5, 1], tf.int32)}
    with pytest.raises(ValueError, match="classification episode"):
        regressor.predict(ints, verbose=0)


def test_support_and_query_feature_shapes_must_match():
    x, _ = _sine_episode()
    bad = {**x, "query_x": tf.zeros([2, 4, 2])}
    with pytest.raises(ValueError, match="query_x"):
        MTNet().predict(bad, verbose=0)


def test_more_ways_than_the_model_has_outputs():
    model = MTNet(example_shape=(8, 8, 1), num_outputs=2, channels=4, blocks=2)
    x = {"support_x": tf.zeros([1, 3, 8, 8, 1]), "support_y": tf.constant([[0, 1, 2]]),
         "query_x": tf.zeros([1, 3, 8, 8, 1])}
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_outputs"):
        model.predict(x, verbose=0)


def _mask_draws(model, batches, tasks):
    """`[batches, tasks, cells]` lists of kernel masks, drawn as a training step draws them."""
    return [[model.sample_masks("sample", seed)[0::2] for seed in model.task_seeds(tasks)] for _ in range(batches)]


def test_masks_are_independent_across_cells_and_tasks():
    model = MTNet(variant="mtnet", hidden=(40, 40), seed=0)
    model.build(model.episode_shapes())  # zero logits: p = 0.5 per unit
    draws = _mask_draws(model, batches=50, tasks=4)
    cells = np.mean([np.mean(task[0].numpy() == task[1].numpy()) for batch in draws for task in batch])
    tasks = np.mean([np.mean(batch[0][0].numpy() == batch[t][0].numpy()) for batch in draws for t in (1, 2, 3)])
    batches = np.mean([np.mean(draws[b][0][0].numpy() == draws[b + 1][0][0].numpy()) for b in range(49)])
    for agreement in (cells, tasks, batches):
        assert 0.45 < agreement < 0.55  # 1.0 for the two hidden cells when they shared SeedGenerator(0)


def test_the_model_seed_replays_the_masks_and_training():
    def run(seed):
        model = MTNet(variant="mtnet", hidden=(8,), seed=seed)
        model.compile()
        model.fit(episodes.sinusoid(tasks=2, seed=0), steps_per_epoch=3, verbose=0)
        return [m.numpy() for m in _mask_draws(model, batches=1, tasks=2)[0][1]], model.get_weights()

    import keras

    keras.utils.set_random_seed(1)  # the same initial weights for every run
    masks_a, weights_a = run(5)
    keras.utils.set_random_seed(1)
    masks_b, weights_b = run(5)
    keras.utils.set_random_seed(1)
    masks_c, _ = run(6)
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)
    assert all(np.array_equal(a, b) for a, b in zip(masks_a, masks_b))
    assert not all(np.array_equal(a, c) for a, c in zip(masks_a, masks_c))
    assert MTNet.from_config(MTNet(seed=5).get_config()).seed == 5


@pytest.mark.parametrize("variant", ["maml", "mtnet"])
def test_an_episode_with_fewer_classes_adapts_as_a_model_with_that_many_outputs(variant):
    """N < num_outputs: the softmax (inner loop, query loss, logits) covers the episode's N classes only,
    so the model acts as one whose head is the first N of its num_outputs columns."""
    from kzoo.applications import MTNet
    from tests.conftest import make_source

    x, y = next(iter(episodes.few_shot(make_source(size=28), ways=3, shots=2, queries=2, tasks=2, batches=1)))
    options = dict(example_shape=(28, 28, 1), variant=variant, channels=4, blocks=2, inner_lr=0.5,
                   inner_steps=2, seed=0)
    wide, narrow = MTNet(num_outputs=5, **options), MTNet(num_outputs=3, **options)
    wide(x), narrow(x)
    for big, small in zip(wide.weights, narrow.weights):
        # the head's first N output columns (and its N x N transform, the identity here)
        small.assign(big.numpy()[tuple(slice(0, d) for d in small.shape)])
    np.testing.assert_allclose(wide(x).numpy(), narrow(x).numpy(), rtol=1e-5, atol=1e-5)
    for model in (wide, narrow):
        model.compile()
    np.testing.assert_allclose(wide.evaluate(x, y, verbose=0), narrow.evaluate(x, y, verbose=0), rtol=1e-5)
