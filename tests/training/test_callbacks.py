import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.applications import ProtoNet
from kzoo.episodes.sampler import few_shot
from kzoo.training.callbacks import EpisodeTensorBoard
from tests.conftest import make_source


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """A real training run's TensorBoard folder (6 steps, scalars every 2)."""
    folder = tmp_path_factory.mktemp("logs")
    source = make_source(num_classes=12, per_class=8, size=28)
    train = few_shot(source, 4, 1, 3, tasks=2)
    val = few_shot(source, 4, 1, 3, tasks=2, seed=1, batches=1)
    model = ProtoNet(channels=4)
    model.compile()
    callback = EpisodeTensorBoard(folder, episode=next(iter(train)), update_freq=2)
    model.fit(train, steps_per_epoch=3, epochs=2, validation_data=val, callbacks=[callback], verbose=0)
    return folder


def _events(folder):
    found = {}
    for path in Path(folder).rglob("events.out.tfevents*"):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                found.setdefault(value.tag, []).append(event.step)
    return found


def test_event_files_hold_scalars_at_increasing_optimizer_steps(logdir):
    events = _events(logdir)
    for tag in ("train/loss", "train/accuracy", "train/learning_rate", "train/episodes_per_second"):
        assert tag in events, sorted(events)
    assert events["train/loss"] == [2, 4, 6]
    assert events["train/episodes_per_second"] == [2, 4, 6]
    assert events["validation/loss"] == [3, 6] and events["validation/accuracy"] == [3, 6]
    assert events["episode/support"] == [0] and events["episode/query"] == [0]


def test_update_freq_is_checked():
    with pytest.raises(ValueError, match="update_freq"):
        EpisodeTensorBoard("x", update_freq=0)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tensorboard_server_serves_the_scalars(logdir):
    """A real TensorBoard on 127.0.0.1 reads the run back through its HTTP data API."""
    binary = shutil.which("tensorboard") or str(Path(sys.executable).parent / "tensorboard")
    port = _free_port()
    server = subprocess.Popen([binary, "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port),
                               "--load_fast", "false"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        tags = {}
        while time.time() < deadline and "train/loss" not in json.dumps(tags):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=5) as r:
                    tags = json.loads(r.read())
            except OSError:
                pass
            time.sleep(1)
        assert "train/loss" in json.dumps(tags), tags
        run = next(run for run, run_tags in tags.items() if "train/loss" in run_tags)
        url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?run={run}&tag=train/loss"
        with urllib.request.urlopen(url, timeout=10) as r:
            points = json.loads(r.read())
        assert [step for _, step, _ in points] == [2, 4, 6]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_an_explicit_divergence_callback_is_not_doubled():
    from kzoo.training.callbacks import StopOnDivergence, with_divergence_check

    own = StopOnDivergence(check_every=5)
    assert with_divergence_check([own]) == [own]
    added = with_divergence_check(None)
    assert len(added) == 1 and isinstance(added[0], StopOnDivergence)
    checkpoint = keras.callbacks.ModelCheckpoint("/tmp/unused.keras")
    first, second = with_divergence_check([checkpoint])  # raises before a checkpoint saves NaN weights
    assert isinstance(first, StopOnDivergence) and second is checkpoint
    with pytest.raises(ValueError, match="check_every"):
        StopOnDivergence(check_every=0)


def test_keep_best_weights_restores_the_best_validation_epoch():
    import keras

    from kzoo.training import KeepBestWeights

    class Record(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append([keras.ops.convert_to_numpy(w) for w in self.model.weights])

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.linspace(-1, 1, 16)[:, None]
    # "max" val_loss selects the worst epoch, the first, which the last can never be
    keep, record = KeepBestWeights(monitor="val_loss", mode="max"), Record()
    model.fit(x, 3 * x, epochs=4, verbose=0, validation_data=(x, 3 * x), callbacks=[record, keep])
    assert keep.best_epoch == 0
    for restored, first, last in zip(model.weights, record.weights[0], record.weights[-1]):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored), first)
        assert not np.array_equal(first, last)
    with pytest.raises(ValueError, match="Expected `monitor` to name a validation metric"):
        KeepBestWeights(monitor="accuracy")
    with pytest.raises(ValueError, match="Expected the validation metric 'val_loss' in the logs"):
        model.fit(x, x, epochs=1, verbose=0, callbacks=[KeepBestWeights("val_loss")])
