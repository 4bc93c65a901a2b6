import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.applications.task2vec.embedding import _sym
from kzoo.applications.task2vec.fisher import FisherProbe, _LocalReparametrization


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _two_layer(d=5, k=4, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((d,)), keras.layers.Dense(k, activation="sigmoid", name="u"),
                             keras.layers.Dense(2, name="head")])


def _conv_probe(classes=4, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(6, 3, padding="same", name="c1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.Conv2D(10, 3, padding="valid", use_bias=False, name="c3")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(7, activation="relu", name="fc")(x)
    return keras.Model(inputs, keras.layers.Dense(classes, name="classifier")(x))


def _pattern_task(classes=4, per_class=12, seed=0, size=12):
    rng = np.random.RandomState(seed)
    templates = rng.rand(classes, size, size, 1)
    labels = np.repeat(np.arange(classes), per_class)
    images = np.clip(templates[labels] + 0.3 * rng.randn(labels.size, size, size, 1), 0, 1).astype("float32")
    return images, labels


def test_montecarlo_matches_closed_form_fisher_of_two_layer_sigmoid_network():
    """Supplementary Sect. 5: F_{U_kj} = E[p(1-p) (v_k z_k (1 - z_k) x_j)^2], averaged over j per unit k."""
    probe = _two_layer()
    rng = np.random.RandomState(0)
    x = rng.randn(2000, 5).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32")
    fisher = FisherProbe(probe, method="montecarlo", skip_layers=0, max_samples=2000, batch_size=500,
                         epochs=20, head_epochs=5, balanced=False)
    out = fisher.estimate(x, y, seed=1)
    kernel, bias = [np.asarray(v) for v in out["head"].weights]
    u, c = [np.asarray(v) for v in probe.get_layer("u").weights]
    z = _sigmoid(x @ u + c)
    v = kernel[:, 1] - kernel[:, 0]  # a 2-way softmax head is a logistic model with weights v
    p = _sigmoid(z @ v + bias[1] - bias[0])
    closed = np.mean((p * (1 - p))[:, None, None] * (x[:, :, None] * (v * z * (1 - z))[:, None, :]) ** 2, 0).mean(0)
    assert out["fisher"].shape == (4,)
    np.testing.assert_allclose(out["fisher"], closed, rtol=0.03)


def test_expected_fisher_equals_the_closed_form_and_ignores_the_seed():
    """The exact expectation over labels of the same network: equal to the closed form up to float32."""
    probe = _two_layer()
    rng = np.random.RandomState(0)
    x = rng.randn(300, 5).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.3).astype("int32")  # unbalanced: the class weights matter
    fisher = FisherProbe(probe, method="expected", skip_layers=0, max_samples=300, batch_size=64)
    out = fisher.estimate(x, y, seed=1)
    kernel, bias = [np.asarray(v) for v in out["head"].weights]
    u, c = [np.asarray(v) for v in probe.get_layer("u").weights]
    z = _sigmoid(x @ u + c)
    v = kernel[:, 1] - kernel[:, 0]
    p = _sigmoid(z @ v + bias[1] - bias[0])
    w = (y.size / (2 * np.bincount(y)))[y]
    per_example = (p * (1 - p))[:, None, None] * (x[:, :, None] * (v * z * (1 - z))[:, None, :]) ** 2
    closed = (w[:, None, None] * per_example).sum(0).mean(0) / w.sum()
    np.testing.assert_allclose(out["information"], closed, rtol=1e-4)
    # the embedding is the precision per image (beta / N) Lambda = F + (beta / N) lambda^2, lambda^2 = 1 / mean(u^2)
    prior = np.full(4, 1 / np.mean(u.astype(np.float64) ** 2))
    np.testing.assert_allclose(out["trivial"], fisher.beta / 300 * prior, rtol=1e-5)
    np.testing.assert_allclose(out["fisher"], out["trivial"] + closed, rtol=1e-4)
    np.testing.assert_array_equal(out["fisher"], fisher.estimate(x, y, seed=7)["fisher"])
    # a task larger than max_samples is sampled (class-balanced): close to the full value, seed-dependent
    sampled = FisherProbe(probe, method="expected", skip_layers=0, max_samples=100)
    a, b = sampled.estimate(x, y, seed=1)["information"], sampled.estimate(x, y, seed=2)["information"]
    np.testing.assert_allclose(a, out["information"], rtol=0.2)
    assert not np.array_equal(a, b)


def test_per_example_kernel_gradients_match_the_jacobian():
    keras.utils.set_random_seed(1)
    for layer, shape in ((keras.layers.Conv2D(5, 3, strides=2, padding="same", activation="relu"), (3, 9, 9, 2)),
                         (keras.layers.Conv2D(4, (3, 2), padding="valid", dilation_rate=(1, 2)), (3, 8, 8, 3)),
                         (keras.layers.Dense(6, activation="tanh"), (3, 5))):
        x = tf.constant(np.random.rand(*shape).astype("float32"))
        layer.build(shape)
        tap = _LocalReparametrization(layer, noise=False)
        target = tf.constant(np.random.randn(*layer.compute_output_shape(shape)).astype("float32"))
        with tf.GradientTape(persistent=True) as tape:
            out = tap(x)
            losses = tf.reduce_sum(tf.reshape(tf.sin(out) * target, (shape[0], -1)), -1)
            total = tf.reduce_sum(losses)
        np.testing.assert_allclose(out, layer(x), atol=1e-5)
        ours = tap.per_example_squared_gradient(tape.gradient(total, tap.last_output))
        jacobian = tape.jacobian(losses, layer.kernel)  # [B, *kernel.shape]
        expected = tf.reduce_mean(tf.square(tf.reshape(jacobian, (shape[0], -1, layer.kernel.shape[-1]))), 1)
        np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-10)


@pytest.mark.parametrize("method", ["montecarlo", "expected", "variational"])
def test_one_value_per_filter_of_the_selected_layers(method):
    probe = _conv_probe()
    images, labels = _pattern_task()
    assert FisherProbe(probe, method=method, skip_layers=1).layers == ["c2", "c3", "fc"]
    fisher = FisherProbe(probe, method=method, layers=["c1", "c3", "fc"], max_samples=64, batch_size=32,
                         head_epochs=1)
    assert fisher.filters == [6, 10, 7]
    out = fisher.estimate(images, labels)
    assert out["fisher"].shape == out["trivial"].shape == out["information"].shape == (23,)
    assert np.all(out["fisher"] >= 0) and np.mean(out["information"] > 0) > 0.7  # dead ReLU units give 0


@pytest.mark.parametrize("method", ["variational", "expected"])
def test_embedding_is_invariant_to_permuting_label_names(method):
    probe = _conv_probe()
    images, labels = _pattern_task()
    options = {"method": method, "skip_layers": 1, "max_samples": 48, "batch_size": 48, "epochs": 5,
                   "head_epochs": 3, "balanced": False}
    perm = np.array([2, 0, 3, 1])
    a = FisherProbe(probe, **options).estimate(images, labels, seed=3)["fisher"]
    b = FisherProbe(probe, **options).estimate(images, perm[labels], seed=3)["fisher"]
    np.testing.assert_allclose(a, b, rtol=1e-3)


def test_montecarlo_embedding_is_invariant_to_permuting_label_names_in_distribution():
    probe = _conv_probe()
    images, labels = _pattern_task()
    other_images, other_labels = _pattern_task(seed=5)
    options = {"method": "montecarlo", "skip_layers": 1, "max_samples": 48, "batch_size": 48, "epochs": 40, "balanced": False}
    a = FisherProbe(probe, **options).estimate(images, labels, seed=0)["fisher"]
    b = FisherProbe(probe, **options).estimate(images, np.array([3, 1, 0, 2])[labels], seed=0)["fisher"]
    c = FisherProbe(probe, **options).estimate(other_images, other_labels, seed=0)["fisher"]
    # the labels y ~ p(y|x) are sampled, so the embeddings are equal in distribution, not bit for bit
    assert _sym(a, b) < 0.2 * _sym(a, c), (_sym(a, b), _sym(a, c))


def test_variational_estimate_tends_to_the_prior_on_a_trivial_task():
    """Constant images, balanced labels and a head that stays at its zero init: the loss does not
    depend on the probe's weights, and the learned precision reaches the prior (Sect. 3.1)."""
    probe = _conv_probe()
    images = np.full((32, 12, 12, 1), 0.5, "float32")
    labels = np.arange(32) % 4
    options = {"method": "variational", "skip_layers": 1, "max_samples": 32, "batch_size": 32, "epochs": 300,
                   "head_epochs": 1, "head_learning_rate": 0.0, "balanced": False, "learning_rate": 0.05}
    trivial = FisherProbe(probe, **options).estimate(images, labels, seed=0)
    np.testing.assert_allclose(trivial["fisher"], trivial["trivial"], rtol=0.03)
    task_images, task_labels = _pattern_task(per_class=8)
    real = FisherProbe(probe, **{**options, "head_learning_rate": 1e-2, "head_epochs": 20}).estimate(
        task_images, task_labels, seed=0)
    spread = [np.max(np.abs(np.log(out["fisher"] / out["trivial"]))) for out in (trivial, real)]
    assert spread[1] > 0.3 and spread[1] > 10 * spread[0], spread


def test_variational_embedding_norm_grows_with_the_number_of_samples():
    """Supplementary Fig. 2: the learned precision Lambda = lambda^2 + (N / beta) F grows with the
    task size N (the embedding is Lambda per image, (beta / N) Lambda)."""
    probe = _conv_probe()
    norms = []
    for per_class in (5, 50):
        images, labels = _pattern_task(per_class=per_class, seed=2)
        out = FisherProbe(probe, method="variational", skip_layers=1, max_samples=64, batch_size=64, epochs=100,
                          head_epochs=5, learning_rate=0.05).estimate(images, labels, seed=0)
        norms.append(labels.size / 1e-4 * np.abs(out["fisher"] - out["trivial"]).sum())  # Lambda - lambda^2
    assert norms[1] > 2 * norms[0], norms


def test_bad_input_is_named():
    probe = _conv_probe()
    images, labels = _pattern_task()
    fisher = FisherProbe(probe, method="montecarlo", max_samples=32)
    with pytest.raises(ValueError, match="at least 2 classes"):
        fisher.estimate(images, np.zeros_like(labels))
    with pytest.raises(ValueError, match=r"0..C-1.*\[0, 2, 5\]"):
        fisher.estimate(images[:3], np.array([0, 2, 5]))
    with pytest.raises(ValueError, match=r"match the probe's input.*\(48, 10, 10, 1\)"):
        fisher.estimate(images[:, :10, :10], labels)
    with pytest.raises(ValueError, match="unknown names \\['conv9'\\]"):
        FisherProbe(probe, layers=["c1", "conv9"])
    with pytest.raises(ValueError, match="feature_layer"):
        FisherProbe(probe, feature_layer="nope")
    with pytest.raises(ValueError, match="method"):
        FisherProbe(probe, method="exact")
    with pytest.raises(ValueError, match="skip_layers"):
        FisherProbe(probe, skip_layers=10)
    with pytest.raises(ValueError, match="keras.Model"):
        FisherProbe(lambda x: x)


@pytest.mark.parametrize("network", [
    lambda: keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=7),
    lambda: keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), weights=None, classes=7,
                                                include_preprocessing=False),
], ids=["MobileNetV2", "MobileNetV3Small"])
def test_a_keras_applications_probe_embeds_one_value_per_conv_filter(network):
    # the example of a user probe: a keras.applications network (random weights here;
    # a user loads theirs). Depthwise convolutions are not filter layers and are skipped.
    probe = network()
    rng = np.random.default_rng(0)
    images, labels = rng.uniform(size=(30, 32, 32, 3)).astype("float32"), np.repeat(np.arange(3), 10)
    fisher = FisherProbe(probe, method="montecarlo", max_samples=30, batch_size=15, head_epochs=2)
    convs = [layer for layer in fisher.extractor.layers if type(layer) is keras.layers.Conv2D]
    assert fisher.layers == [layer.name for layer in convs[3:]]  # the first skip_layers=3 are skipped
    assert fisher.filters == [int(layer.kernel.shape[-1]) for layer in convs[3:]]
    out = fisher.estimate(images, labels, seed=0)
    assert out["fisher"].shape == (sum(fisher.filters),)
    assert np.all(np.isfinite(out["fisher"])) and np.all(out["fisher"] >= 0)


def test_expected_embedding_has_the_prior_as_trivial_embedding_so_d_asym_measures_complexity():
    """Sect. 3.3: d_asym(a -> b) = d_sym(a, b) - alpha d_sym(a, t0). With t0 = 0 (Monte Carlo),
    d_sym(a, t0) = 1 for every task and d_asym = d_sym - alpha; with the prior as t0 it grows
    with the task's information, i.e. with N (supplementary Fig. 2)."""
    from kzoo.applications.task2vec import TaskEmbedding, d_asym, d_sym

    probe = _conv_probe()
    options = {"method": "expected", "skip_layers": 1, "max_samples": 400, "batch_size": 64}
    small, large = (FisherProbe(probe, **options).estimate(*_pattern_task(per_class=n, seed=2)) for n in (4, 60))
    a, b = (TaskEmbedding(o["fisher"], o["trivial"], method="expected") for o in (small, large))
    trivial_a = TaskEmbedding(a.trivial, a.trivial, method="expected")
    trivial_b = TaskEmbedding(b.trivial, b.trivial, method="expected")
    assert 0 < d_sym(a, trivial_a) < d_sym(b, trivial_b) < 1  # the larger task is the more complex one
    assert d_asym(b, a) < d_asym(a, b)  # transfer from the more complex task scores better
    assert abs(d_asym(a, b) - (d_sym(a, b) - 0.15)) > 0.01  # not the constant shift of a zero t0
    mc = FisherProbe(probe, **{**options, "method": "montecarlo"}).estimate(*_pattern_task(per_class=4, seed=2))
    m = TaskEmbedding(mc["fisher"], mc["trivial"], method="montecarlo")
    assert d_asym(m, m) == pytest.approx(-0.15)  # t0 = 0: d_sym(m, t0) = 1
