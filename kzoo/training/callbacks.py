"""Callbacks: TensorBoard logging for episodic training."""

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
