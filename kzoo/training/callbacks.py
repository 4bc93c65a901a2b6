"""Callbacks: TensorBoard logging for episodic training, and stopping on divergence."""

import math
import time

import keras
import tensorflow as tf


class EpisodeTensorBoard(keras.callbacks.Callback):
    """Writes episodic training to TensorBoard, at `step = optimizer.iterations`.

    Scalars every `update_freq` batches: `train/loss`, `train/accuracy` (whatever
    the compiled metrics log), `train/learning_rate` and `train/episodes_per_second`;
    validation metrics at the end of each epoch (`validation/...`). With an
    `episode`, also an image summary `episode/support` and `episode/query` of its
    first task, once, at the start of training.

    Args:
        log_dir: folder for the event files.
        episode: optional `(x, y)` episode batch of images to show.
        update_freq: write train scalars every this many batches. Defaults to `10`.
        tasks_per_step: T, to convert steps/s into episodes/s. Defaults to the
            task axis of `episode`, if given.
    """

    def __init__(self, log_dir, episode=None, update_freq=10, tasks_per_step=None):
        super().__init__()
        if not isinstance(update_freq, int) or update_freq < 1:
            raise ValueError(f"Expected `update_freq` >= 1. Received: update_freq={update_freq!r}.")
        self.log_dir = str(log_dir)
        self.episode = episode
        self.update_freq = update_freq
        if tasks_per_step is None and episode is not None:
            tasks_per_step = int(episode[0]["support_x"].shape[0])
        self.tasks_per_step = tasks_per_step
        self._writer = None

    @property
    def writer(self):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        return self._writer

    def _step(self):
        return self.model.optimizer.iterations

    def on_train_begin(self, logs=None):
        self._last_time, self._last_step = time.perf_counter(), int(self._step())
        if self.episode is not None:
            x, _ = self.episode
            support, query = x["support_x"][0], x["query_x"][0]
            if len(support.shape) == 4:  # [S, H, W, C] images
                with self.writer.as_default():
                    tf.summary.image("episode/support", support, step=self._step(), max_outputs=20)
                    tf.summary.image("episode/query", query, step=self._step(), max_outputs=20)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self._step())
        if step % self.update_freq:
            return
        now = time.perf_counter()
        tasks_per_step = self.tasks_per_step
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"train/{name}", value, step=self._step())
            tf.summary.scalar("train/learning_rate", self._learning_rate(), step=self._step())
            if step > self._last_step and tasks_per_step:
                rate = tasks_per_step * (step - self._last_step) / (now - self._last_time)
                tf.summary.scalar("train/episodes_per_second", rate, step=self._step())
        self._last_time, self._last_step = now, step

    def on_epoch_end(self, epoch, logs=None):
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                if name.startswith("val_"):
                    tf.summary.scalar(f"validation/{name[4:]}", value, step=self._step())
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def _learning_rate(self):
        lr = self.model.optimizer.learning_rate
        return float(keras.ops.convert_to_numpy(lr))


class StopOnDivergence(keras.callbacks.Callback):
    """Stops training with a `FloatingPointError` when the loss or the weights stop being finite.

    Unlike `keras.callbacks.TerminateOnNaN`, which checks only the loss and stops
    quietly, this also checks every model weight (a model whose weights are NaN
    can still log a finite loss, e.g. a constant ln N from all-equal distances)
    and raises, so a script or `kzoo fit` cannot go on to evaluate or export a
    diverged model. Every kzoo application adds it to `fit` unless one is given.

    Checks: the weights when training begins (a model loaded with NaN weights),
    every logged metric after each batch, the weights every `check_every`
    batches and at each epoch end (one compiled reduction), and the validation
    metrics. The batch checks run on Keras's callback thread (`async_safe`), so
    the training loop never waits for them: a failure sets `stop_training` and
    the error is raised when the epoch ends.

    Args:
        check_every: check the weights every this many batches. Defaults to `100`.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(1e30), "mse")
    >>> try:
    ...     model.fit(np.ones((8, 1)), np.ones((8, 1)), epochs=3, verbose=0,
    ...               callbacks=[StopOnDivergence()])
    ... except FloatingPointError as error:
    ...     print(str(error).split(":")[0])
    Training diverged at step 2
    """

    def __init__(self, check_every=100):
        super().__init__()
        if isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 1:
            raise ValueError(f"Expected `check_every` to be an integer >= 1. Received: check_every={check_every!r}.")
        self.check_every = check_every
        self._all_finite = None
        self._batches = 0
        self._failure = None
        self.async_safe = True

    def _weights_finite(self):
        if self._all_finite is None:
            @tf.function
            def all_finite():
                floats = [w for w in self.model.weights if "float" in str(w.dtype)]
                return tf.reduce_all([tf.reduce_all(tf.math.is_finite(w)) for w in floats]) if floats else True

            self._all_finite = all_finite
        return bool(self._all_finite())

    def _step(self):
        optimizer = getattr(self.model, "optimizer", None)
        return int(optimizer.iterations) if optimizer is not None else self._batches

    def _fail(self, what):
        """Stops training now; the error is raised from the main thread at the epoch end."""
        if self._failure is None:
            lr = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
            hint = f" (learning_rate={float(keras.ops.convert_to_numpy(lr)):g})" if lr is not None else ""
            self._failure = (
                f"Training diverged at step {self._step()}: {what}. Lower the learning rate{hint} or check "
                "the inputs for extreme values; the model's weights are no longer usable."
            )
        self.model.stop_training = True

    def _raise_failure(self):
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise FloatingPointError(failure)

    def _check_weights(self):
        if not self._weights_finite():
            self._fail("a model weight is NaN or inf")

    def _check_logs(self, logs, prefix=""):
        for name, value in (logs or {}).items():
            try:
                value = float(keras.ops.convert_to_numpy(value))
            except (TypeError, ValueError):
                continue  # a non-scalar log entry
            if not math.isfinite(value):
                self._fail(f"{prefix}{name} is {value}")
                return

    def on_train_begin(self, logs=None):
        self._batches, self._failure = 0, None
        if not self._weights_finite():
            raise FloatingPointError(
                "Expected finite model weights before training. Received: a weight that is NaN or inf "
                "(a diverged checkpoint or preset?)."
            )

    def on_train_batch_end(self, batch, logs=None):
        # runs on Keras's callback thread (async_safe): the logs are read there, not in the step loop
        self._batches += 1
        self._check_logs(logs)
        if self._failure is None and self._batches % self.check_every == 0:
            self._check_weights()

    def on_epoch_end(self, epoch, logs=None):
        self._raise_failure()
        self._check_logs(logs)
        if self._failure is None:
            self._check_weights()
        self._raise_failure()

    def on_train_end(self, logs=None):
        self._raise_failure()


class KeepBestWeights(keras.callbacks.Callback):
    """Restores, when training ends, the weights of the epoch with the best validation score.

    Model selection on validation data only: `monitor` must be a validation metric
    (`"val_..."`), so a test split can never choose the weights. Unlike
    `keras.callbacks.EarlyStopping(restore_best_weights=True)`, it never stops early
    and always restores. The weights are copied in memory (no file).

    Args:
        monitor: the logged validation metric. Defaults to `"val_accuracy"`.
        mode: `"max"` or `"min"`. Defaults to `"max"`.

    Attributes:
        best: the best value seen; `best_epoch`: its epoch (0-based).

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> keep = KeepBestWeights(monitor="val_loss", mode="min")
    >>> _ = model.fit(np.ones((8, 1)), np.ones((8, 1)), epochs=3, verbose=0,
    ...               validation_data=(np.ones((8, 1)), np.ones((8, 1))), callbacks=[keep])
    >>> keep.best_epoch
    2
    """

    def __init__(self, monitor="val_accuracy", mode="max"):
        super().__init__()
        if not isinstance(monitor, str) or not monitor.startswith("val_"):
            raise ValueError(
                f"Expected `monitor` to name a validation metric (\"val_...\"): weights are selected "
                f"on validation data only. Received: monitor={monitor!r}."
            )
        if mode not in ("max", "min"):
            raise ValueError(f'Expected `mode` to be "max" or "min". Received: mode={mode!r}.')
        self.monitor, self.mode = monitor, mode
        self.best, self.best_epoch, self._weights = None, None, None

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self._weights = None, None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(
                f"Expected the validation metric {self.monitor!r} in the logs (pass validation_data to fit). "
                f"Received: logs with {sorted(logs or {})}."
            )
        value = float(value)
        if self.best is None or (value > self.best if self.mode == "max" else value < self.best):
            self.best, self.best_epoch = value, epoch
            self._weights = [keras.ops.convert_to_numpy(w) for w in self.model.weights]

    def on_train_end(self, logs=None):
        if self._weights is not None:
            for variable, value in zip(self.model.weights, self._weights):
                variable.assign(value)


class DivergenceCheck:
    """Mixin for `keras.Model` subclasses: `fit` adds a `StopOnDivergence` unless one is given.

    Place it before `keras.Model` in the bases; an application's own `fit` calls
    `super().fit(...)` as usual.
    """

    def fit(self, *args, **kwargs):
        if len(args) < 6:  # callbacks not given positionally (x, y, batch_size, epochs, verbose, callbacks)
            kwargs["callbacks"] = with_divergence_check(kwargs.get("callbacks"))
        return super().fit(*args, **kwargs)


def with_divergence_check(callbacks):
    """`callbacks` (a list, a `CallbackList` or None) with a `StopOnDivergence` unless it has one."""
    if isinstance(callbacks, keras.callbacks.CallbackList):
        callbacks = list(callbacks.callbacks)
    callbacks = list(callbacks or [])
    if not any(isinstance(c, (StopOnDivergence, keras.callbacks.TerminateOnNaN)) for c in callbacks):
        # first, so that it raises at an epoch end before a checkpoint callback saves diverged weights
        callbacks.insert(0, StopOnDivergence())
    return callbacks
