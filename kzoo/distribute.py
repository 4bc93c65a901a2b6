"""Scaling kzoo with TensorFlow's distribution engine (`tf.distribute`).

kzoo does not ship a distribution layer of its own: applications are trained with
`model.fit` inside a `tf.distribute` strategy's scope, and the replicas split the task
axis T of the episode contract (each replica adapts to and scores T / replicas whole
tasks). This module holds the few helpers that make that exact:

- `replicas_in_sync` / `scale_loss_for_replicas`: custom `train_step`s (MTNet) divide
  their mean task loss by the number of replicas, because the optimizer *sums* the
  replicas' gradients, so the update equals the single-device one;
- `check_tasks_divisible`: a task batch the replicas cannot split evenly is an error
  that names T and the replica count (uneven splits would weight tasks unequally);
- `synchronized_batch_norm`: Keras `BatchNormalization` layers (ProtoNet's backbone)
  use the statistics of the *global* batch while replicas > 1, as on one device;
- `parse_tf_config` / `multi_worker_strategy`: a checked `TF_CONFIG` for
  `tf.distribute.MultiWorkerMirroredStrategy`;
- `train_steps`: a plain `strategy.run` loop, for the setups where Keras 3's `fit`
  cannot be used under a multi-worker strategy (keras-team/keras#20585).

Example (2 replicas on one machine; the same code runs on several GPUs):

>>> import tensorflow as tf
>>> from kzoo import episodes
>>> from kzoo.applications import ProtoNet
>>> strategy = tf.distribute.MirroredStrategy()  # all local GPUs, else the CPU  # doctest: +SKIP
>>> with strategy.scope():                                    # doctest: +SKIP
...     model = ProtoNet(channels=16)
...     model.compile()
>>> model.fit(episodes.few_shot(train, 5, 1, 5, tasks=8), steps_per_epoch=100)  # doctest: +SKIP
"""

import contextlib
import json
import os

import keras
import tensorflow as tf


def replicas_in_sync():
    """Number of replicas of the current strategy (1 outside any strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def all_reduce_mean(grads):
    """The replicas' mean of each gradient (`None` entries stay `None`); the gradients as they are outside a strategy.

    For updates that write into the model's own variables inside a replica step (AMAZ's
    support-set SGD): with every replica applying the mean gradient, the mirrored
    copies stay identical and equal the single-device step on the whole task batch.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return list(grads)
    kept = [i for i, g in enumerate(grads) if g is not None]
    reduced = context.all_reduce(tf.distribute.ReduceOp.MEAN, [grads[i] for i in kept])
    grads = list(grads)
    for i, g in zip(kept, reduced):
        grads[i] = g
    return grads


def scale_loss_for_replicas(loss):
    """`loss / replicas`: the per-replica share of a mean loss whose gradients are summed.

    Keras's optimizers all-reduce gradients with a SUM over replicas; a `train_step`
    that differentiates the mean loss of its own tasks must therefore scale it by
    1 / replicas so that the summed gradient is the gradient of the global mean (what
    the built-in `train_step` does for compiled losses).
    """
    replicas = replicas_in_sync()
    return loss if replicas == 1 else loss * tf.cast(1.0 / replicas, loss.dtype)


def loss_scaled_optimizer(optimizer, dtype_policy):
    """`optimizer` wrapped in a `LossScaleOptimizer` under `mixed_float16`, else as it is.

    Keras wraps only the optimizer passed to `compile`; applications with more than one
    optimizer (TAFE-Net's task network, AMAZ's three groups) wrap the others with this.
    """
    if dtype_policy.name != "mixed_float16" or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def check_tasks_divisible(tasks, strategy=None, argument="tasks"):
    """Raises a `ValueError` when a task batch of `tasks` cannot be split evenly.

    Args:
        tasks: T, the number of tasks per batch (`None` = unknown, not checked).
        strategy: a `tf.distribute.Strategy`. Defaults to the current one.
        argument: the name of T in the error message. Defaults to `"tasks"`.
    """
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    if tasks is None or replicas == 1 or tasks % replicas == 0:
        return
    lower = (tasks // replicas) * replicas
    suggestion = f"{lower} or {lower + replicas}" if lower else f"{replicas}"
    raise ValueError(
        f"Expected the task batch T to be divisible by the number of replicas of "
        f"{type(strategy).__name__} ({replicas}): the replicas split the T axis of each "
        f"episode batch into equal parts. Received: {argument}={tasks} with {replicas} "
        f"replicas; use {argument}={suggestion}."
    )


def episode_batch_size(dataset):
    """The static T of a `tf.data.Dataset` of episode batches, or `None` if unknown."""
    spec = dataset.element_spec
    spec = spec[0] if isinstance(spec, tuple) else spec
    if isinstance(spec, dict) and "support_x" in spec:
        return spec["support_x"].shape[0]
    return None


def check_fit_input(model, x, batch_size=None):
    """Checks that the replicas of `model`'s strategy can split the T axis of `x`."""
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync == 1:
        return
    if isinstance(x, dict) and "support_x" in x and x["support_x"].shape[0] is not None:
        total = x["support_x"].shape[0]
        size = min(batch_size or 32, total)
        check_tasks_divisible(size, strategy, "batch_size")
        if total % size:
            check_tasks_divisible(total % size, strategy, "the last batch's T")
        return
    if isinstance(x, tf.data.Dataset):
        check_tasks_divisible(episode_batch_size(x), strategy)


def _batch_norms(layer):
    return [sub for sub in layer._flatten_layers() if isinstance(sub, keras.layers.BatchNormalization)]


@contextlib.contextmanager
def synchronized_batch_norm(layer):
    """Computes the batch statistics of every Keras `BatchNormalization` inside `layer`
    over all replicas while more than one replica is in sync (otherwise does nothing).

    On one device a BatchNorm layer normalises over the whole batch of T tasks; under a
    strategy each replica sees T / replicas of them. Keras's `synchronized=True`
    all-reduces the moments, so training matches the single-device run. The flag is
    read while the step is traced and restored afterwards, so configs and single-device
    numerics do not change.
    """
    norms = [n for n in _batch_norms(layer) if not n.synchronized] if replicas_in_sync() > 1 else []
    for norm in norms:
        norm.synchronized = True
    try:
        yield
    finally:
        for norm in norms:
            norm.synchronized = False


# -- multi-worker ----------------------------------------------------------------------

def parse_tf_config(value=None):
    """The checked `TF_CONFIG` of a multi-worker job, as a dict.

    `TF_CONFIG` is JSON: `{"cluster": {"worker": ["host:port", ...]}, "task": {"type":
    "worker", "index": i}}` (a `"chief"` job is optional). Every worker gets the same
    cluster and its own index.

    Args:
        value: the JSON string. Defaults to the `TF_CONFIG` environment variable.

    Raises:
        ValueError: naming the field that is missing or malformed.
    """
    value = os.environ.get("TF_CONFIG") if value is None else value
    if not value:
        raise ValueError("Expected the `TF_CONFIG` environment variable (JSON with 'cluster' and 'task') "
                         "for a multi-worker strategy. Received: it is unset or empty.")
    try:
        config = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"Expected `TF_CONFIG` to be JSON. Received: {value!r} ({error}).") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not config["cluster"]:
        raise ValueError(
            'Expected `TF_CONFIG` with a "cluster" mapping, e.g. {"cluster": {"worker": '
            f'["127.0.0.1:12345", "127.0.0.1:12346"]}}, "task": {{"type": "worker", "index": 0}}}}. Received: {value!r}.'
        )
    for job, addresses in config["cluster"].items():
        if job not in ("chief", "worker", "ps", "evaluator"):
            raise ValueError(f'Expected `TF_CONFIG` cluster jobs among chief, worker, ps, evaluator. Received: {job!r}.')
        if not isinstance(addresses, list) or not addresses:
            raise ValueError(f"Expected `TF_CONFIG` cluster[{job!r}] to be a non-empty list of 'host:port'. "
                             f"Received: {addresses!r}.")
        for address in addresses:
            host, sep, port = str(address).rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"Expected `TF_CONFIG` addresses as 'host:port'. Received: {address!r} in "
                                 f"cluster[{job!r}].")
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(f'Expected `TF_CONFIG` "task" with "type" and "index". Received: task={task!r}.')
    if task["type"] not in config["cluster"]:
        raise ValueError(f"Expected `TF_CONFIG` task type to be a job of the cluster "
                         f"({sorted(config['cluster'])}). Received: type={task['type']!r}.")
    size = len(config["cluster"][task["type"]])
    if isinstance(task["index"], bool) or not isinstance(task["index"], int) or not 0 <= task["index"] < size:
        raise ValueError(f"Expected `TF_CONFIG` task index in 0..{size - 1} for job {task['type']!r}. "
                         f"Received: index={task['index']!r}.")
    return config


def multi_worker_strategy(communication="ring"):
    """A `tf.distribute.MultiWorkerMirroredStrategy` after checking `TF_CONFIG`.

    Args:
        communication: `"ring"` (gRPC, CPUs), `"nccl"` (GPUs) or `"auto"`.
            Defaults to `"ring"`.
    """
    parse_tf_config()
    implementation = {"ring": tf.distribute.experimental.CommunicationImplementation.RING,
                      "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
                      "auto": tf.distribute.experimental.CommunicationImplementation.AUTO}
    if communication not in implementation:
        raise ValueError(f"Expected `communication` in {sorted(implementation)}. Received: {communication!r}.")
    options = tf.distribute.experimental.CommunicationOptions(implementation=implementation[communication])
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def is_chief(strategy=None):
    """True on the worker that should write logs and exports (task 0 / the chief)."""
    strategy = strategy or tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def train_loop(model, dataset, epochs=1, steps_per_epoch=1, callbacks=None):
    """`fit` for strategies where Keras 3's own `fit` fails: a `strategy.run` loop.

    Keras 3.15's `fit` under `MultiWorkerMirroredStrategy` fails when it reduces the
    step's logs across workers (keras-team/keras#20585). This loop runs the model's
    own `train_step` on every replica with `strategy.run`, reads the metrics in the
    cross-replica context (summed over replicas and workers), and drives the usual
    callbacks, so `keras.callbacks.BackupAndRestore` restores weights, optimizer state
    and the epoch to resume from.

    Args:
        model: a compiled application, created and compiled under the strategy's scope.
        dataset: an endless `tf.data.Dataset` of `(episode, query_y)` with T divisible
            by the number of replicas.
        epochs: epochs to train. Defaults to `1`.
        steps_per_epoch: steps per epoch. Defaults to `1`.
        callbacks: list of `keras.callbacks.Callback`. Defaults to `None`.

    Returns:
        A `keras.callbacks.History`.
    """
    strategy = model.distribute_strategy
    check_tasks_divisible(episode_batch_size(dataset), strategy)
    model._check_dict_input(None)
    with strategy.scope():
        model._maybe_symbolic_build()
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    history = keras.callbacks.History()
    callbacks = keras.callbacks.CallbackList([*(callbacks or []), history], model=model, epochs=epochs,
                                             steps=steps_per_epoch)
    iterator = iter(strategy.experimental_distribute_dataset(dataset))

    @tf.function
    def train_step(iterator):
        strategy.run(model.train_step, args=(next(iterator),))

    model.stop_training = False
    callbacks.on_train_begin()
    for epoch in range(model._initial_epoch or 0, epochs):
        for metric in model.metrics:
            metric.reset_state()
        callbacks.on_epoch_begin(epoch)
        for step in range(steps_per_epoch):
            callbacks.on_train_batch_begin(step)
            train_step(iterator)
            callbacks.on_train_batch_end(step)
        logs = {}
        for metric in model.metrics:
            result = metric.result()
            logs.update(result if isinstance(result, dict) else {metric.name: result})
        logs = {k: float(v) for k, v in logs.items()}
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end()
    return history
