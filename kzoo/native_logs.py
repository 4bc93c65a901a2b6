"""Keeps TensorFlow's C++ start-up lines (oneDNN, cudart, cuInit) off the `kzoo` command's stderr.

TensorFlow writes them from C++ straight to file descriptor 2 while it loads, before
Python logging exists and, in recent versions, whatever `TF_CPP_MIN_LOG_LEVEL` says.
The command loads TensorFlow inside `quiet_native_start_up()`, which sends descriptor
2 to a temporary file and afterwards writes back every line that is not one of those
start-up messages, so real errors still show. Setting `TF_CPP_MIN_LOG_LEVEL` yourself
turns the filter off.
"""

import contextlib
import os
import re
import sys
import tempfile

# absl/glog lines ("I0000 00:00:1796... 123 port.cc:153] ...") and absl's pre-init notice
_NATIVE = re.compile(r"^([IWE]\d{4} \d\d:\d\d:[\d.]+\s+\d+ \S+:\d+\] |WARNING: All log messages before absl::InitializeLog)")


def is_start_up_line(line):
    """Whether `line` is one of TensorFlow's native log lines.

    >>> is_start_up_line("I0000 00:00:1796598149.930988   23566 port.cc:153] oneDNN custom operations are on.")
    True
    >>> is_start_up_line("Traceback (most recent call last):")
    False
    """
    return bool(_NATIVE.match(line))


@contextlib.contextmanager
def quiet_native_start_up(enabled=True):
    """Runs the block with descriptor 2 captured; writes back the lines that are not native log lines."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if not is_start_up_line(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def load_tensorflow_quietly():
    """Imports TensorFlow (and initialises its devices) with the start-up lines filtered out,
    unless the user set `TF_CPP_MIN_LOG_LEVEL`."""
    with quiet_native_start_up(enabled=not _USER_SET_LEVEL):
        import tensorflow as tf

        tf.config.list_physical_devices()


_USER_SET_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ
