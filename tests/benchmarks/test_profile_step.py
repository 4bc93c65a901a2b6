"""benchmarks/profile_step.py reads the ops of a TensorBoard profiler trace: a traced matmul loop shows up
as MatMul ops, once per step, and the executor's own events are not counted as ops."""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_op_table_counts_the_ops_of_each_profiled_step(tmp_path):
    import profile_step

    x = tf.constant(np.random.default_rng(0).normal(size=(64, 64)).astype("float32"))
    step = tf.function(lambda a: tf.reduce_sum(tf.matmul(tf.matmul(a, a), a)))
    step(x)
    tf.profiler.experimental.start(str(tmp_path))
    for _ in range(5):
        step(x).numpy()
    tf.profiler.experimental.stop()
    trace = next(tmp_path.glob("plugins/profile/*/*.xplane.pb"))
    total, ops = profile_step.op_table(trace, steps=5)
    matmul = [name for name in ops if "MatMul" in name]
    assert matmul and abs(sum(ops[name][1] for name in matmul) - 2) < 1e-9  # two per step
    assert not any("::" in name or name == "Process" for name in ops)
    assert 0 < total < 1  # seconds per step
