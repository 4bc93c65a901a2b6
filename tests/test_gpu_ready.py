"""Ready for a GPU: every application trains under XLA (`compile(jit_compile=True)`), and no
training step or episode pipeline leaves the graph for Python (no `py_function` or
`numpy_function`, which would be a host round trip on every step)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo import episodes
from kzoo.applications import AMAZ, HyperTransformer, MTNet, ProtoNet, TAFENet
from kzoo.applications.amaz import zero_shot_tasks
from tests.conftest import make_source

#: the ops of tf.py_function, tf.numpy_function and tf.compat.v1.py_func
HOST_OPS = {"EagerPyFunc", "PyFunc", "PyFuncStateless"}


def graph_ops(graph_def):
    """Every op type of a GraphDef, its function library included (loop bodies, map_fn, ...)."""
    return {n.op for n in graph_def.node} | {n.op for f in graph_def.library.function for n in f.node_def}


def test_host_ops_are_detected():
    """The check can fail: a step with a py_function shows it."""
    step = tf.function(lambda x: tf.py_function(lambda t: t * 2, [x], tf.float32))
    assert graph_ops(step.get_concrete_function(tf.constant(1.0)).graph.as_graph_def()) & HOST_OPS


def test_episode_pipeline_samples_in_graph():
    dataset = episodes.few_shot(make_source(size=8), ways=3, shots=1, queries=2, tasks=2, rotations=True)
    graph_def = tf.compat.v1.GraphDef.FromString(dataset._as_serialized_graph().numpy())
    ops = graph_ops(graph_def)
    assert not ops & HOST_OPS
    assert "RandomShuffle" in ops or any("Stateless" in op or "Random" in op for op in ops)


EPISODIC = {
    "protonet": lambda: ProtoNet(example_shape=(8, 8, 1), channels=4, blocks=2),
    "mtnet": lambda: MTNet(example_shape=(8, 8, 1), variant="mtnet", num_outputs=3, channels=4, blocks=2,
                           inner_lr=0.1, seed=0),
    "hypertransformer_logits": lambda: HyperTransformer(num_ways=3, channels=4, blocks=2, example_shape=(8, 8, 1),
                                                        embedding_dim=8, num_layers=1, image_embedding_dim=8),
}


@pytest.mark.parametrize("name", sorted(EPISODIC))
def test_episodic_applications_train_under_xla_without_host_round_trips(name):
    keras.utils.set_random_seed(0)
    dataset = episodes.few_shot(make_source(size=8), ways=3, shots=1, queries=2, tasks=2)
    model = EPISODIC[name]()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=True)
    assert model.jit_compile is True  # Keras keeps it (it turns it off for models it cannot compile)
    history = model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    batch = next(iter(dataset))
    step = tf.function(model.train_step).get_concrete_function(batch)
    assert not graph_ops(step.graph.as_graph_def()) & HOST_OPS


def _zero_shot_data():
    rng = np.random.default_rng(0)
    attributes = rng.uniform(size=(10, 4)).astype("float32")
    labels = np.repeat(np.arange(10), 8)
    features = (attributes[labels] @ rng.normal(size=(4, 6))).astype("float32")
    return features, labels, attributes, np.arange(7)


def test_tafenet_trains_under_xla():
    features, labels, attributes, seen = _zero_shot_data()
    train = np.isin(labels, seen)
    tafe = TAFENet(feature_dim=6, task_dim=4, hidden_units=(8, 8), task_layers=2, task_units=8, classifier_units=4)
    tafe.compile(keras.optimizers.Adam(1e-3), jit_compile=True)
    history = tafe.fit(features[train], labels[train], tasks=attributes, classes=seen, epochs=1, batch_size=16,
                       verbose=0)
    assert tafe.jit_compile is True and np.isfinite(history.history["loss"]).all()


@pytest.mark.slow  # ~30 s: XLA compiles Algorithm 1's six phases, a double backward among them
def test_amaz_trains_under_xla():
    features, labels, attributes, seen = _zero_shot_data()
    amaz = AMAZ(feature_dim=6, attribute_dim=4, num_classes=7, generator_units=(8,), embedding_dim=4,
                discriminator_units=(8,), classifier_units=(8,), decoder_units=(8,))
    amaz.compile(jit_compile=True)
    history = amaz.fit(zero_shot_tasks(features, labels, attributes, seen, ways=3, shots=2, queries=1, tasks=2),
                       steps_per_epoch=2, epochs=1, verbose=0)
    assert amaz.jit_compile is True and history.history
    assert all(np.isfinite(values).all() for values in history.history.values())
