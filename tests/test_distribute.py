"""Applications under `tf.distribute.MirroredStrategy` (2 logical CPUs, see conftest.py).

One optimizer step on the same episodes must give the same parameters and the same
logged loss as a single-device run: the replicas split the task axis T, gradients are
summed over replicas, so every loss must be scaled by 1 / replicas (SGD, unlike Adam,
shows a wrong scale). BatchNorm layers use the global batch's statistics.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo import distribute
from kzoo.applications import MTNet, ProtoNet
from kzoo.episodes.sampler import few_shot
from tests.conftest import make_source

SHAPE = (16, 16, 1)

# (name, factory); every application joins this table. MT-net's random masks would
# differ between replicas and one device, so MAML (no masks) is compared.
APPLICATIONS = [
    ("protonet", lambda: ProtoNet(example_shape=SHAPE, channels=4, blocks=2)),
    ("maml_second_order", lambda: MTNet(example_shape=SHAPE, variant="maml", num_outputs=4, channels=4, blocks=2,
                                        inner_lr=0.1)),
]
try:
    from kzoo.applications import HyperTransformer

    APPLICATIONS.append(("hypertransformer", lambda: HyperTransformer(
        num_ways=4, channels=4, blocks=2, embedding_dim=8, num_layers=1, image_embedding_dim=8, example_shape=SHAPE)))
except ImportError:  # not landed yet
    pass


@pytest.fixture(scope="module")
def strategy():
    if len(tf.config.list_logical_devices("CPU")) < 2:
        pytest.skip("needs 2 logical CPU devices, set in tests/conftest.py before TensorFlow initialises")
    # one strategy per process: a second MirroredStrategy over the same devices reuses
    # collective instance keys and its first all-reduce fails with a shape mismatch
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


@pytest.fixture(scope="module")
def source():
    return make_source(num_classes=12, per_class=8, size=SHAPE[0], alphabets=3)


def _one_step(factory, weights, dataset, strategy=None):
    with (strategy or tf.distribute.get_strategy()).scope():
        model = factory()
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        model.build(model.episode_shapes())
    model.set_weights(weights)
    history = model.fit(dataset, epochs=1, verbose=0)
    return model, history.history


@pytest.mark.parametrize("name, factory", APPLICATIONS)
def test_mirrored_step_matches_single_device(name, factory, strategy, source):
    dataset = few_shot(source, 4, 1, 2, tasks=2, seed=3, batches=1)
    keras.utils.set_random_seed(0)
    init = factory()
    init.build(init.episode_shapes())
    weights = init.get_weights()
    single, single_logs = _one_step(factory, weights, dataset)
    mirrored, mirrored_logs = _one_step(factory, weights, dataset, strategy)
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    assert any(not np.allclose(w, v) for w, v in zip(weights, single.get_weights()))
    for w, a, b, var in zip(weights, single.get_weights(), mirrored.get_weights(), single.weights):
        # the update of every variable agrees to float tolerance (a missing 1/replicas
        # loss scale would double it). A conv bias followed by BatchNorm has an exactly
        # zero gradient, so its update is rounding noise of about 1e-5 on both sides:
        # hence the absolute term.
        assert np.linalg.norm((b - w) - (a - w)) <= 2e-3 * np.linalg.norm(a - w) + 1e-4, var.path
    for key, value in single_logs.items():
        np.testing.assert_allclose(mirrored_logs[key], value, rtol=1e-5, err_msg=key)


def test_batch_norm_is_synchronized_only_while_replicated(strategy):
    model = ProtoNet(example_shape=SHAPE, channels=4, blocks=1)
    model.build(model.episode_shapes())
    norm = model.backbone.norms[0]

    def replica_fn():
        with distribute.synchronized_batch_norm(model):
            return tf.constant(norm.synchronized)

    with strategy.scope():
        assert all(strategy.experimental_local_results(strategy.run(replica_fn)))
    assert not norm.synchronized
    with distribute.synchronized_batch_norm(model):  # one device: Keras's own path
        assert not norm.synchronized
    assert not model.get_config().get("synchronized")


def test_task_batch_not_divisible_by_replicas_raises(strategy, source):
    with strategy.scope():
        model = ProtoNet(example_shape=SHAPE, channels=4, blocks=2)
        model.compile()
    with pytest.raises(ValueError, match=r"divisible by the number of replicas.*tasks=3 with 2 replicas"):
        model.fit(few_shot(source, 4, 2, 3, tasks=3, batches=1), verbose=0)
    x, y = next(iter(few_shot(source, 4, 2, 3, tasks=4, batches=1)))
    with pytest.raises(ValueError, match="batch_size=3"):
        model.fit({k: v.numpy() for k, v in x.items()}, y.numpy(), batch_size=3, verbose=0)


def test_check_tasks_divisible_names_a_fix():
    distribute.check_tasks_divisible(3)  # the default strategy, 1 replica: never an error

    class FakeStrategy:
        num_replicas_in_sync = 4

    with pytest.raises(ValueError, match="tasks=6 with 4 replicas; use tasks=4 or 8"):
        distribute.check_tasks_divisible(6, FakeStrategy())
    distribute.check_tasks_divisible(8, FakeStrategy())


@pytest.mark.parametrize(
    "value, match",
    [
        ("", "unset or empty"),
        ("{not json", "to be JSON"),
        ('{"task": {"type": "worker", "index": 0}}', '"cluster" mapping'),
        ('{"cluster": {"worker": "127.0.0.1:1"}, "task": {"type": "worker", "index": 0}}', "non-empty list"),
        ('{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}', "'host:port'"),
        ('{"cluster": {"boss": ["a:1"]}, "task": {"type": "boss", "index": 0}}', "cluster jobs"),
        ('{"cluster": {"worker": ["a:1", "a:2"]}}', '"task" with "type" and "index"'),
        ('{"cluster": {"worker": ["a:1", "a:2"]}, "task": {"type": "chief", "index": 0}}', "task type"),
        ('{"cluster": {"worker": ["a:1", "a:2"]}, "task": {"type": "worker", "index": 2}}', r"index in 0\.\.1"),
    ],
)
def test_malformed_tf_config_raises(value, match):
    with pytest.raises(ValueError, match=match):
        distribute.parse_tf_config(value)


def test_valid_tf_config_parses():
    config = distribute.parse_tf_config(
        '{"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 1}}')
    assert config["task"]["index"] == 1 and len(config["cluster"]["worker"]) == 2


# -- zero-shot applications ---------------------------------------------------------------------


def _tafenet_step(weights, data, strategy=None):
    from kzoo.applications import TAFENet

    x, y, tasks = data
    with (strategy or tf.distribute.get_strategy()).scope():
        # no dropout: its masks would differ between replicas and one device
        model = TAFENet(feature_dim=12, task_dim=6, hidden_units=(8, 8), task_layers=2, task_units=8,
                        classifier_units=8, dropout=0.0)
        model.compile(optimizer=keras.optimizers.SGD(0.5))  # and SGD(0.05) for the task network
        model.build()
    model.set_weights(weights)
    history = model.fit(x, y, tasks=tasks, batch_size=len(x), epochs=1, verbose=0)
    return model, history.history


def test_tafenet_mirrored_step_matches_single_device(strategy):
    from kzoo.applications import TAFENet

    rng = np.random.default_rng(0)
    tasks = rng.uniform(size=(5, 6)).astype("float32")
    y = np.repeat(np.arange(5), 4)
    x = (tasks[y] @ rng.normal(size=(6, 12))).astype("float32")
    init = TAFENet(feature_dim=12, task_dim=6, hidden_units=(8, 8), task_layers=2, task_units=8, classifier_units=8)
    init.build()
    weights = init.get_weights()
    single, single_logs = _tafenet_step(weights, (x, y, tasks))
    mirrored, mirrored_logs = _tafenet_step(weights, (x, y, tasks), strategy)
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    for w, a, b, var in zip(weights, single.get_weights(), mirrored.get_weights(), single.weights):
        # both optimizers (task network and the rest) apply the single-device update
        assert np.linalg.norm((b - w) - (a - w)) <= 2e-3 * np.linalg.norm(a - w) + 2e-6, var.path
    assert any(not np.allclose(w, v) for w, v in zip(weights, single.get_weights()))
    for key, value in single_logs.items():
        np.testing.assert_allclose(mirrored_logs[key], value, rtol=1e-5, err_msg=key)


def _amaz_step(weights, tasks, strategy=None):
    from kzoo.applications import AMAZ

    with (strategy or tf.distribute.get_strategy()).scope():
        # no dropout: its masks would differ between replicas and one device
        model = AMAZ(feature_dim=8, attribute_dim=5, num_classes=10, generator_units=(8, 8), embedding_dim=8,
                     discriminator_units=(8,), classifier_units=(8,), decoder_units=(8,), dropout=0.0,
                     meta_learning_rates=(0.05, 0.05, 0.05), inner_learning_rates=(0.1, 0.1, 0.1))
        model.compile(optimizer=keras.optimizers.SGD(0.05), attribute_optimizer=keras.optimizers.SGD(0.05),
                      generator_optimizer=keras.optimizers.SGD(0.05))  # builds the model
    model.set_weights(weights)
    history = model.fit(tasks, steps_per_epoch=1, verbose=0)
    return model, history.history


def test_amaz_mirrored_step_matches_single_device(strategy):
    from kzoo.applications import AMAZ
    from kzoo.applications.amaz import zero_shot_tasks

    rng = np.random.default_rng(0)
    attributes = rng.uniform(size=(10, 5)).astype("float32")
    labels = np.repeat(np.arange(10), 4)
    features = np.maximum(attributes[labels] @ rng.normal(size=(5, 8)), 0).astype("float32")
    tasks = zero_shot_tasks(features, labels, attributes, np.arange(10), ways=2, shots=1, queries=1, tasks=4)
    init = AMAZ(feature_dim=8, attribute_dim=5, num_classes=10, generator_units=(8, 8), embedding_dim=8,
                discriminator_units=(8,), classifier_units=(8,), decoder_units=(8,), dropout=0.0)
    init.build()
    weights = init.get_weights()
    single, single_logs = _amaz_step(weights, tasks)
    mirrored, mirrored_logs = _amaz_step(weights, tasks, strategy)
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    moved = 0
    for w, a, b, var in zip(weights, single.get_weights(), mirrored.get_weights(), single.weights):
        # inner steps (all-reduced), the three SGD meta-updates and G's BatchNorm statistics
        assert np.linalg.norm((b - w) - (a - w)) <= 2e-3 * np.linalg.norm(a - w) + 2e-6, var.path
        moved += not np.allclose(w, a)
    assert moved > len(weights) // 2
    for key, value in single_logs.items():
        np.testing.assert_allclose(mirrored_logs[key], value, rtol=1e-4, atol=1e-6, err_msg=key)
    with pytest.raises(ValueError, match="divisible by the number of replicas"):
        odd = zero_shot_tasks(features, labels, attributes, np.arange(10), ways=2, shots=1, queries=1, tasks=3)
        _amaz_step(weights, odd, strategy)