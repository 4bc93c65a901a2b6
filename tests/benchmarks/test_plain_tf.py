"""benchmarks/vs_plain_tf.py times the same work on both sides: its plain-TensorFlow TAFE-Net and AMAZ
steps compute kzoo's loss and gradients from kzoo's weights (and the check notices when they do not)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def _fails_with(monkeypatch, plain_class, attribute, value, check):
    """`check(1e-4)` raises once every `plain_class` is built with `attribute = value` (different math)."""
    original = plain_class.__init__

    def changed(self, *args, **kwargs):
        original(self, *args, **kwargs)
        setattr(self, attribute, value)

    monkeypatch.setattr(plain_class, "__init__", changed)
    with pytest.raises(SystemExit, match="differs from kzoo's"):
        check(1e-4)


def test_plain_tafenet_step_matches_kzoo_and_the_check_fails_on_different_math(capsys, monkeypatch):
    import vs_plain_tf
    from peers.plain_tf import PlainTAFENet

    vs_plain_tf.check(1e-4)
    assert "gradients differ by" in capsys.readouterr().out
    _fails_with(monkeypatch, PlainTAFENet, "beta", 0.0, vs_plain_tf.check)  # without the embedding loss


def test_plain_tafenet_step_trains():
    import numpy as np
    import vs_plain_tf

    _, plain, _, (x, y) = vs_plain_tf.tafenet_pair(dropout=0.5, classes_per_step=64)
    losses = [float(plain.step(x, y)) for _ in range(20)]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0]


@pytest.mark.slow  # ~18 s; vs_plain_tf.py runs the same check before it times AMAZ
def test_plain_amaz_meta_gradients_match_kzoo_and_the_check_fails_on_different_math(capsys, monkeypatch):
    import vs_plain_tf
    from peers.plain_tf import PlainAMAZ

    vs_plain_tf.check_amaz(1e-4)
    assert "check AMAZ: gradients differ by" in capsys.readouterr().out
    _fails_with(monkeypatch, PlainAMAZ, "penalty", 0.0, vs_plain_tf.check_amaz)  # without the gradient penalty
