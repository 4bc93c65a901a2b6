"""Every example runs (small settings) and prints what it promises."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    "script, expect",
    [
        ("quickstart.py", "accuracy on unseen scripts"),
        ("own_images.py", "query logits: (2, 12, 4)"),
        ("serving.py", "same as Keras: True"),
        ("mtnet_sine.py", "after one step"),
        ("task2vec_quickstart.py", "d_sym(Greek, Cyrillic) = "),
        ("hypertransformer_quickstart.py", "generated CNN alone gives the model's logits: True"),
        ("tafenet_zero_shot.py", "harmonic mean H = "),
        ("amaz_zero_shot.py", "ZSL per-class top-1 accuracy"),
        pytest.param("tuning.py", "best beta = ", marks=pytest.mark.slow),  # ~19 s; test_tuning.py calls the same
    ],
)
def test_example_runs(script, expect, tmp_path):
    env = {**os.environ, "KZOO_EXAMPLE_STEPS": "5"}
    result = subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert expect in result.stdout, result.stdout
