import keras
import numpy as np
import pytest

from kzoo.training import LinearWarmup


def test_warmup_then_another_schedule_and_the_optimizer_round_trip():
    after = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=10, decay_rate=0.5)
    schedule = LinearWarmup(1e-2, warmup_steps=4, after=after)
    values = [float(schedule(step)) for step in (0, 3, 4, 14)]
    np.testing.assert_allclose(values, [2.5e-3, 1e-2, 1e-2, 5e-3], rtol=1e-6)
    optimizer = keras.optimizers.Adam(schedule)
    clone = keras.optimizers.Adam.from_config(keras.optimizers.serialize(optimizer)["config"])
    restored = clone._learning_rate  # a preset's compile config restores the schedule, not a constant
    assert isinstance(restored, LinearWarmup) and restored.get_config() == schedule.get_config()
    np.testing.assert_allclose([float(restored(s)) for s in (0, 14)], [2.5e-3, 5e-3], rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [(dict(learning_rate=0, warmup_steps=10), "learning_rate"),
                                           (dict(learning_rate=1e-3, warmup_steps=0), "warmup_steps")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LinearWarmup(**kwargs)
