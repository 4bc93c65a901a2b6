"""Learning-rate schedules."""

import keras
from keras import ops

from kzoo.checks import check_float, check_int


@keras.saving.register_keras_serializable(package="kzoo")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Rises linearly to `learning_rate` over `warmup_steps`, then follows `after`.

    Step k < `warmup_steps` (the optimizer's iteration, from 0) gets
    `learning_rate * (k + 1) / warmup_steps`.

    `after` is a constant (then `learning_rate`) or another schedule, called with the
    step counted from the end of the warm-up.

    Why kzoo needs it: HyperTransformer with `generate="all"` trained with Adam at
    full rate from step 0 falls early to uniform logits (loss ln N) with the
    generated conv channels collapsed onto one direction, and stays on that
    plateau; a warm-up keeps the channels apart (`kzoo fit --warmup-steps`).

    Args:
        learning_rate: the rate reached at the end of the warm-up.
        warmup_steps: steps of the linear ramp (>= 1).
        after: optional schedule for the steps after the warm-up. Defaults to the
            constant `learning_rate`.

    Examples:
        >>> schedule = LinearWarmup(1e-3, warmup_steps=100)
        >>> [round(float(schedule(step)), 6) for step in (0, 49, 99, 1000)]
        [1e-05, 0.0005, 0.001, 0.001]
    """

    def __init__(self, learning_rate, warmup_steps, after=None):
        self.learning_rate = check_float(learning_rate, "learning_rate", 0)
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", 1)
        if isinstance(after, dict):
            after = keras.optimizers.schedules.deserialize(after)
        self.after = after

    def __call__(self, step):
        step = ops.cast(step, "float32")
        ramp = self.learning_rate * ops.minimum(step + 1.0, float(self.warmup_steps)) / float(self.warmup_steps)
        if self.after is None:
            return ramp
        later = self.after(ops.maximum(step - float(self.warmup_steps), 0.0))
        return ops.where(step < float(self.warmup_steps), ramp, ops.cast(later, "float32"))

    def get_config(self):
        after = None if self.after is None else keras.optimizers.schedules.serialize(self.after)
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps, "after": after}
