"""MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 train with `fit`, end
with identical weights, and resume from `keras.callbacks.BackupAndRestore` after one
worker is killed.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds for one launch of both workers (about 25 s each on a quiet 2-core machine)

WORKER = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    import keras
    from kzoo import distribute
    from kzoo.applications import ProtoNet
    from kzoo.episodes.sampler import few_shot
    from kzoo.episodes.source import Source

    out, epochs, crash_epoch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    strategy = distribute.multi_worker_strategy()
    rng = np.random.RandomState(0)
    source = Source(rng.randint(0, 256, (12 * 6, 16, 16, 1)).astype("uint8"), np.repeat(np.arange(12), 6))
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = ProtoNet(example_shape=(16, 16, 1), channels=4, blocks=2)
        model.compile(optimizer=keras.optimizers.SGD(0.1))

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            print(f"epoch {epoch}", flush=True)
            if epoch == crash_epoch and index == 1:
                os._exit(3)  # a worker dies without any cleanup

    backup = keras.callbacks.BackupAndRestore(os.path.join(out, f"backup{index}"))
    # Keras 3's fit fails under MultiWorkerMirroredStrategy (keras-team/keras#20585)
    distribute.train_loop(model, few_shot(source, 4, 1, 2, tasks=4, seed=0), epochs=epochs, steps_per_epoch=2,
                          callbacks=[backup, Crash()])
    np.savez(os.path.join(out, f"worker{index}.npz"), iterations=int(model.optimizer.iterations.numpy()),
             *model.get_weights())
""")


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _launch(script, out, epochs, crash_epoch, tag):
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for index in range(2):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})}
        log = open(out / f"log_{tag}{index}.txt", "w")
        procs.append((subprocess.Popen([sys.executable, str(script), str(out), str(epochs), str(crash_epoch)],
                                       env=env, stdout=log, stderr=subprocess.STDOUT), log))
    return procs


def _wait(procs, out, crash=False):
    """Waits for both workers (bounded); with `crash`, kills the survivor once one died."""
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            codes = [p.poll() for p, _ in procs]
            if all(c is not None for c in codes) or (crash and any(c is not None for c in codes)):
                return codes
            time.sleep(0.5)
        raise AssertionError(f"workers did not finish within {TIMEOUT} s\n{_logs(out)}")
    finally:
        for p, log in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            log.close()


def _logs(out):
    return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(out.glob("log*")))


@pytest.mark.slow  # ~30 s of two worker processes; tests/test_distribute.py covers the strategies by default
def test_two_workers_train_identically_and_resume_after_a_crash(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    # launch 1: worker 1 dies at the start of epoch 2 (after the backup of epochs 0-1)
    codes = _wait(_launch(script, tmp_path, epochs=4, crash_epoch=2, tag="crash"), tmp_path, crash=True)
    assert 3 in codes, _logs(tmp_path)
    assert not list(tmp_path.glob("worker*.npz"))
    # launch 2: both restart, restore the backup and finish epochs 2-3
    codes = _wait(_launch(script, tmp_path, epochs=4, crash_epoch=-1, tag="resume"), tmp_path)
    assert codes == [0, 0], _logs(tmp_path)
    resumed = [(tmp_path / f"log_resume{i}.txt").read_text() for i in range(2)]
    assert all("epoch 2" in log and "epoch 0" not in log and "epoch 1" not in log for log in resumed), _logs(tmp_path)
    first, second = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert int(first["iterations"]) == int(second["iterations"]) == 4 * 2  # no step lost or repeated
    arrays = [k for k in first.files if k.startswith("arr_")]
    assert arrays
    for key in arrays:
        np.testing.assert_array_equal(first[key], second[key])
