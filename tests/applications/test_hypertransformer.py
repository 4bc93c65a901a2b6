import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.applications import HyperTransformer
from kzoo.applications.hypertransformer import UnlabeledDropSchedule, per_task_conv

SMALL = dict(num_ways=4, channels=4, embedding_dim=8, num_layers=1, image_embedding_dim=8)


def _model(**kwargs):
    model = HyperTransformer(**{**SMALL, **kwargs})
    model.build(model.episode_shapes())
    return model


def _episode(seed=0, tasks=2, ways=4, shots=2, queries=3, unlabeled=0):
    rng = np.random.RandomState(seed)
    labels = np.concatenate([np.repeat(np.arange(ways), shots), -np.ones(ways * unlabeled, int)])
    support = len(labels)
    return {"support_x": rng.rand(tasks, support, 28, 28, 1).astype("float32"),
            "support_y": np.tile(labels, (tasks, 1)).astype("int32"),
            "query_x": rng.rand(tasks, ways * queries, 28, 28, 1).astype("float32")}


def _weights(model, x):
    return {k: v.numpy() for k, v in model.generate_weights(x["support_x"], x["support_y"]).items()}


@pytest.mark.parametrize("allocation", ["output", "spatial"])
def test_generated_weight_shapes(allocation):
    model = _model(generate="all", allocation=allocation)
    weights = _weights(model, _episode())
    assert weights["conv0"].shape == (2, 3, 3, 1, 4)
    assert all(weights[f"conv{i}"].shape == (2, 3, 3, 4, 4) for i in (1, 2, 3))
    assert weights["logits_kernel"].shape == (2, 4, 4) and weights["logits_bias"].shape == (2, 4)
    slices = {"output": [(4, 9), (4, 36)], "spatial": [(9, 4), (9, 16)]}[allocation]
    assert (model.transformers[0].num_slices, model.transformers[0].slice_size) == slices[0]
    assert (model.transformers[1].num_slices, model.transformers[1].slice_size) == slices[1]
    assert model.transformers[-1].num_slices == 4 and model.transformers[-1].slice_size == 4 + 1


def test_output_allocation_puts_one_output_channel_per_slice():
    model = _model(generate="all")
    slices = np.arange(2 * 4 * 36, dtype="float32").reshape(2, 4, 36)
    kernel = model._assemble_kernel(slices, 4).numpy()
    np.testing.assert_array_equal(kernel[1, :, :, :, 2].reshape(-1), slices[1, 2])


def test_per_task_conv_uses_each_tasks_kernel():
    rng = np.random.RandomState(0)
    x, kernel = rng.randn(3, 2, 6, 6, 2).astype("float32"), rng.randn(3, 3, 3, 2, 5).astype("float32")
    expected = np.stack([tf.nn.conv2d(x[t], kernel[t], 1, "SAME").numpy() for t in range(3)])
    np.testing.assert_allclose(per_task_conv(tf.constant(x), tf.constant(kernel)).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("generate", ["logits", "all"])
def test_permuting_support_samples_keeps_the_generated_weights(generate):
    model = _model(generate=generate)
    x = _episode(unlabeled=1)
    order = np.random.RandomState(1).permutation(x["support_y"].shape[1])
    permuted = {**x, "support_x": x["support_x"][:, order], "support_y": x["support_y"][:, order]}
    before, after = _weights(model, x), _weights(model, permuted)
    for name in before:
        np.testing.assert_allclose(before[name], after[name], atol=1e-4, err_msg=name)


def test_changing_one_class_image_changes_that_class_slice():
    model = _model()
    x = _episode()
    changed = {**x, "support_x": x["support_x"].copy()}
    changed["support_x"][:, 2] = 1.0 - changed["support_x"][:, 2]  # the first image of class 1
    before, after = _weights(model, x), _weights(model, changed)
    diff = np.abs(after["logits_kernel"][0, :, 1] - before["logits_kernel"][0, :, 1]).max()
    assert diff > 1e-3
    # the logits layer's input for the unchanged images is the same (learned convs), so the
    # effect reaches the logits only through the generated slices
    np.testing.assert_allclose(after["conv0"], before["conv0"])


def test_unlabeled_samples_are_consumed_and_change_the_logits():
    model = _model()
    x = _episode(unlabeled=1)
    labelled_only = {**x, "support_x": x["support_x"][:, :8], "support_y": x["support_y"][:, :8]}
    with_unlabeled = model.predict(x, verbose=0)
    assert with_unlabeled.shape == (2, 12, 4)
    assert np.abs(with_unlabeled - model.predict(labelled_only, verbose=0)).max() > 1e-4


def test_unlabeled_tokens_are_dropped_in_training_by_the_schedule():
    model = _model(unlabeled_drop=1.0)
    y = tf.constant([[0, 1, -1, -1] * 50])
    keras.utils.set_random_seed(0)
    kept = model._token_mask(y, training=True).numpy()
    assert kept[y.numpy() >= 0].all() and 0 < kept[y.numpy() < 0].mean() < 1  # p ~ U(0, 1)
    assert model._token_mask(y, training=False) is None
    schedule = UnlabeledDropSchedule(steps=4, initial=0.8)
    schedule.set_model(model)
    values = []
    for batch in range(6):
        schedule.on_train_batch_begin(batch)
        values.append(float(model.unlabeled_drop.numpy()))
    np.testing.assert_allclose(values, [0.8, 0.6, 0.4, 0.2, 0.0, 0.0], atol=1e-6)


def test_generate_all_gradients_reach_every_transformer():
    model = _model(generate="all")
    x = _episode()
    y = np.tile(np.repeat(np.arange(4), 3), (2, 1))
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    grads = dict(zip([w.path for w in model.trainable_weights], tape.gradient(loss, model.trainable_weights)))
    assert len(model.transformers) == 5
    for transformer in model.transformers:
        norms = [float(tf.norm(tf.convert_to_tensor(grads[w.path]))) for w in transformer.trainable_weights]
        assert min(norms) > 0, transformer.name


def test_classify_with_generated_weights_is_the_call():
    model = _model(generate="all", normalization="support")
    x = _episode()
    weights = model.generate_weights(x["support_x"], x["support_y"])
    np.testing.assert_allclose(model.classify(x["query_x"], weights).numpy(), model.predict(x, verbose=0),
                               atol=1e-5)
    # support statistics: each query is classified on its own
    one = model.classify(x["query_x"][:, :1], weights).numpy()
    np.testing.assert_allclose(one, model.predict(x, verbose=0)[:, :1], atol=1e-5)


def _plain_keras_cnn(model, weights, task, support_moments):
    """The generated CNN of one task rebuilt from stock Keras layers (no kzoo code)."""
    layers = [keras.Input((28, 28, 1))]
    for _ in range(model.blocks):
        layers += [keras.layers.Conv2D(model.channels, 3, padding="same", use_bias=False), keras.layers.ReLU(),
                   keras.layers.MaxPooling2D(2), keras.layers.BatchNormalization(epsilon=1e-3)]
    layers += [keras.layers.Flatten(), keras.layers.Dense(model.num_ways)]
    cnn = keras.Sequential(layers)
    norms = [layer for layer in cnn.layers if isinstance(layer, keras.layers.BatchNormalization)]
    convs = [layer for layer in cnn.layers if isinstance(layer, keras.layers.Conv2D)]
    for i, (conv, norm) in enumerate(zip(convs, norms)):
        conv.set_weights([weights[f"conv{i}"][task]])
        gamma, beta = (w.numpy() for w in model.norm[i])
        mean, variance = (np.zeros_like(gamma), np.ones_like(gamma)) if not support_moments else (
            weights[f"norm{i}_mean"][task].ravel(), weights[f"norm{i}_variance"][task].ravel())
        norm.set_weights([gamma, beta, mean, variance])
    cnn.layers[-1].set_weights([weights["logits_kernel"][task], weights["logits_bias"][task]])
    return cnn


@pytest.mark.parametrize("normalization", ["batch", "support"])
def test_generated_cnn_equals_a_plain_keras_cnn_with_those_weights(normalization):
    model = _model(generate="all", normalization=normalization)
    for gamma, beta in model.norm:  # non-trivial learned BatchNorm parameters
        gamma.assign(np.linspace(0.5, 1.5, gamma.shape[0]).astype("float32"))
        beta.assign(np.linspace(-0.2, 0.3, beta.shape[0]).astype("float32"))
    x = _episode()
    weights = _weights(model, x)
    ours = model.classify(x["query_x"], weights).numpy()
    for task in range(2):
        cnn = _plain_keras_cnn(model, weights, task, support_moments=normalization == "support")
        # "batch": the query batch's own statistics (Keras BN in training mode, no moving-average use);
        # "support": the support set's statistics (Keras BN in inference mode with those moments)
        theirs = cnn(x["query_x"][task], training=normalization == "batch").numpy()
        np.testing.assert_allclose(ours[task], theirs, rtol=1e-4, atol=1e-4)


def test_fewer_ways_than_num_ways_and_new_support_sizes_without_retracing():
    model = _model()
    serve = tf.function(lambda sx, sy, qx: model.serve(sx, sy, qx), input_signature=model.serving_specs())
    for x, shape in ((_episode(ways=3, queries=2), (2, 6, 3)), (_episode(shots=5), (2, 12, 4))):
        assert serve(x["support_x"], x["support_y"], x["query_x"])["logits"].shape == shape
    assert serve.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda x: {**x, "support_y": np.where(x["support_y"] == 3, 4, x["support_y"])},
         tf.errors.InvalidArgumentError, "at least one labelled"),
        (lambda x: _episode(ways=5), tf.errors.InvalidArgumentError, "must be < num_ways \\(4\\)"),
        (lambda x: {**x, "support_y": -np.ones_like(x["support_y"])}, tf.errors.InvalidArgumentError,
         "Expected at least one labelled support example \\(label >= 0\\) in every task"),
        (lambda x: {**x, "support_x": x["support_x"][:, :, :24, :24]}, ValueError, "built for examples"),
    ],
)
def test_bad_episodes_raise_clear_errors(change, error, match):
    with pytest.raises(error, match=match):
        _model().predict(change(_episode()), verbose=0)


def test_bad_constructor_arguments():
    for kwargs, match in ((dict(generate="some"), "generate"), (dict(allocation="input"), "allocation"),
                          (dict(channels=0), "channels"), (dict(unlabeled_drop=2.0), "unlabeled_drop"),
                          (dict(example_shape=(8, 8, 1)), "at least 16x16"),
                          (dict(normalization="layer"), "normalization")):
        with pytest.raises(ValueError, match=match):
            HyperTransformer(**kwargs)


def test_compile_defaults_to_the_papers_sgd_schedule():
    model = _model()
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    schedule = model.optimizer.learning_rate if not hasattr(model.optimizer, "_learning_rate") \
        else model.optimizer._learning_rate
    assert float(schedule(0)) == pytest.approx(0.02) and float(schedule(100_000)) == pytest.approx(0.019)


@pytest.mark.slow  # ~20 s (generate="all" traces a transformer per layer); the similarity itself is tested by hand
def test_channel_similarity_is_logged_in_training_for_generated_convs():
    from kzoo.applications.hypertransformer import generated_channel_similarity

    kernels = np.random.RandomState(0).randn(2, 3, 3, 4, 6).astype("float32")
    assert float(generated_channel_similarity(kernels)) < 0.3
    collapsed = np.repeat(kernels[..., :1], 6, axis=-1) * np.array([1, -1, 2, 1, 1, 3], "float32")
    np.testing.assert_allclose(float(generated_channel_similarity(collapsed)), 1.0, rtol=1e-6)
    x = _episode()
    y = np.tile(np.repeat(np.arange(4), 3), (2, 1))
    model = _model(generate="all")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    similarity = model.fit(x, y, epochs=1, verbose=0).history["channel_similarity"][0]
    assert 0 < similarity < 1
    assert "channel_similarity" not in model.evaluate(x, y, verbose=0, return_dict=True)
    logits_only = _model()
    logits_only.compile(optimizer=keras.optimizers.Adam(1e-3))
    assert "channel_similarity" not in logits_only.fit(x, y, epochs=1, verbose=0).history
