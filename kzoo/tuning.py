"""keras-tuner `HyperModel`s for the applications, with the search spaces their papers ablate.

Each application has a `kt.HyperModel` whose `build(hp)` returns a compiled, built
model and whose `fit` forwards everything (`epochs`, `initial_epoch` from Hyperband,
`validation_data`, callbacks) to `model.fit`, so the stock tuners work:

>>> import keras_tuner as kt
>>> from kzoo import episodes, tuning
>>> train, val, test = episodes.glyphs(scripts=["Greek", "Cyrillic"]).split((0.6, 0.2, 0.2), by="class")
>>> tuner = kt.RandomSearch(tuning.ProtoNetHyperModel(ways=5), objective=kt.Objective("val_accuracy", "max"),
...                         max_trials=2, directory="tuning", project_name="protonet")   # doctest: +SKIP
>>> tuner.search(episodes.few_shot(train, 5, 1, 5, tasks=4), steps_per_epoch=100, epochs=3,
...              validation_data=episodes.few_shot(val, 5, 1, 15, tasks=4, batches=25))  # doctest: +SKIP
>>> best = tuner.get_best_models(1)[0]                                                    # doctest: +SKIP

Search spaces (every name can be pinned with `fixed={name: value}`, which also
passes extra constructor arguments such as `blocks`):

- `ProtoNetHyperModel`: `channels` {32, 64}, `distance` {euclidean, cosine}
  (Snell et al. compare both metrics), `learning_rate` 1e-4..1e-2 (log).
- `MTNetHyperModel`: `inner_lr` 1e-2..1 (log; the paper uses 0.4 / 0.1 on Omniglot),
  `inner_steps` 1..5, `variant` fixed to `"mtnet"` unless tuned via `tune_variant=True`
  (MAML, T-net, M-net, MT-net: the paper's Tables 1-2), `learning_rate`.
- `HyperTransformerHyperModel`: `num_layers` 1..4, `num_heads` {1, 2, 4},
  `embedding_dim` {16, 32, 64}, `nu` {0.5, 1, 2} (the model-size ablations of
  Zhmoginov et al., Appendix C), `learning_rate`.

AMAZ (modulator variant, sigma) and TAFE-Net (beta) join when those applications land.

A tuner objective that the model does not log (e.g. `val_accuracy` without
`validation_data`, or `accuracy` for a regression MT-net) stops the search at once
with a `ValueError` naming the objective and the metrics the model logs.
"""

import keras
import keras_tuner as kt

from kzoo import applications


class EpisodicHyperModel(kt.HyperModel):
    """Base: builds `application(example_shape, **search_space(hp), **fixed)`.

    Args:
        example_shape: shape of one example. Defaults to `(28, 28, 1)`.
        ways: N, the number of classes of the episodes (for the applications that
            need it as an output size). Defaults to `5`.
        fixed: dict of constructor arguments (or search-space names, including
            `"learning_rate"`) to pin instead of tuning. Defaults to `None`.
        name: hypermodel name. Defaults to the application's.
    """

    application = None

    def __init__(self, example_shape=(28, 28, 1), ways=5, fixed=None, name=None, **kwargs):
        super().__init__(name=name or self.application.__name__, **kwargs)
        if isinstance(ways, bool) or not isinstance(ways, int) or ways < 2:
            raise ValueError(f"Expected `ways` to be an integer >= 2. Received: ways={ways!r}.")
        self.example_shape = tuple(example_shape)
        self.ways = ways
        self.fixed = dict(fixed or {})

    def value(self, hp, name, define):
        """`fixed[name]` if pinned, else the hyperparameter `define(hp)`."""
        return self.fixed[name] if name in self.fixed else define(hp)

    def search_space(self, hp):
        """Constructor arguments for this trial (override per application)."""
        return {}

    def build(self, hp):
        kwargs = {**self.search_space(hp), **self.fixed}
        learning_rate = kwargs.pop("learning_rate", None)
        if learning_rate is None:
            learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
        model = self.application(example_shape=self.example_shape, **kwargs)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        model.build(model.episode_shapes())  # weights exist before `load_weights`
        return model

    def fit(self, hp, model, *args, **kwargs):
        objective = _tuner_objective(kwargs.get("callbacks", []))
        if objective is not None:
            names = [o.name for o in getattr(objective, "objectives", [objective])]
            if any(n.startswith("val_") for n in names) and kwargs.get("validation_data") is None:
                raise kt.errors.FatalValueError(
                    f"Expected `validation_data` in `search()` for the objective {names}: the model logs "
                    f"val_* metrics only with validation data. Received: validation_data=None.")
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), _ObjectiveCheck(names)]
        return model.fit(*args, **kwargs)


def _tuner_objective(callbacks):
    # keras-tuner passes its objective to `fit` through the callback that saves the best epoch
    for callback in callbacks or []:
        if isinstance(getattr(callback, "objective", None), kt.Objective):
            return callback.objective
    return None


class _ObjectiveCheck(keras.callbacks.Callback):
    """Stops the search after the first epoch if the objective is not among the logs."""

    def __init__(self, names):
        super().__init__()
        self.names = names

    def on_epoch_end(self, epoch, logs=None):
        missing = [n for n in self.names if n not in (logs or {})]
        if missing:
            raise kt.errors.FatalValueError(
                f"Expected the tuner objective {missing[0]!r} among the metrics {type(self.model).__name__} "
                f"logs. Received: logs with {sorted(logs or {})}.")


class ProtoNetHyperModel(EpisodicHyperModel):
    """ProtoNet: backbone channels, distance metric and learning rate."""

    application = applications.ProtoNet

    def search_space(self, hp):
        return {"channels": self.value(hp, "channels", lambda hp: hp.Choice("channels", [32, 64], default=64)),
                "distance": self.value(hp, "distance",
                                       lambda hp: hp.Choice("distance", ["euclidean", "cosine"], default="euclidean"))}


class MTNetHyperModel(EpisodicHyperModel):
    """MT-net (and MAML/T-net/M-net): inner learning rate alpha and inner steps.

    Args:
        tune_variant: also search the variant (maml, tnet, mnet, mtnet). Defaults to `False`.
    """

    application = applications.MTNet

    def __init__(self, example_shape=(28, 28, 1), ways=5, fixed=None, tune_variant=False, **kwargs):
        super().__init__(example_shape=example_shape, ways=ways, fixed=fixed, **kwargs)
        self.tune_variant = tune_variant

    def search_space(self, hp):
        space = {
            "inner_lr": self.value(hp, "inner_lr", lambda hp: hp.Float("inner_lr", 1e-2, 1.0, sampling="log",
                                                                       default=0.4)),
            "inner_steps": self.value(hp, "inner_steps", lambda hp: hp.Int("inner_steps", 1, 5, default=1)),
        }
        if len(self.example_shape) == 3:
            space["num_outputs"] = self.ways
        if self.tune_variant:
            space["variant"] = self.value(hp, "variant", lambda hp: hp.Choice(
                "variant", ["maml", "tnet", "mnet", "mtnet"], default="mtnet"))
        return space


HYPERMODELS = {"protonet": ProtoNetHyperModel, "mtnet": MTNetHyperModel}

if hasattr(applications, "HyperTransformer"):

    class HyperTransformerHyperModel(EpisodicHyperModel):
        """HyperTransformer: Transformer layers, heads, embedding size and nu."""

        application = applications.HyperTransformer

        def search_space(self, hp):
            return {
                "num_ways": self.ways,
                "num_layers": self.value(hp, "num_layers", lambda hp: hp.Int("num_layers", 1, 4, default=3)),
                "num_heads": self.value(hp, "num_heads", lambda hp: hp.Choice("num_heads", [1, 2, 4], default=2)),
                "embedding_dim": self.value(hp, "embedding_dim",
                                            lambda hp: hp.Choice("embedding_dim", [16, 32, 64], default=32)),
                "nu": self.value(hp, "nu", lambda hp: hp.Choice("nu", [0.5, 1.0, 2.0], default=1.0)),
            }

    HYPERMODELS["hypertransformer"] = HyperTransformerHyperModel


def hypermodel(name, **kwargs):
    """The `HyperModel` of application `name` (e.g. `"mtnet"`), built with `kwargs`."""
    if name.lower() not in HYPERMODELS:
        raise ValueError(f"Expected an application with a search space, one of {sorted(HYPERMODELS)}. "
                         f"Received: {name!r}.")
    return HYPERMODELS[name.lower()](**kwargs)


def make_tuner(hyper_model, tuner="random", objective="val_accuracy", max_trials=10, max_epochs=10,
               directory="tuning", project_name=None, seed=0, overwrite=False):
    """A `kt.RandomSearch` or `kt.Hyperband` over `hyper_model`.

    Args:
        hyper_model: an `EpisodicHyperModel`.
        tuner: `"random"` or `"hyperband"`. Defaults to `"random"`.
        objective: a metric name the model logs (`val_` prefix for validation);
            maximised if it contains "accuracy", else minimised.
            Defaults to `"val_accuracy"`.
        max_trials: trials of the random search. Defaults to `10`.
        max_epochs: Hyperband's largest budget per model. Defaults to `10`.
        directory, project_name: where trials and checkpoints are written.
        seed: search seed. Defaults to `0`.
        overwrite: start over instead of resuming. Defaults to `False`.
    """
    if isinstance(objective, str):
        objective = kt.Objective(objective, "max" if "accuracy" in objective else "min")
    common = dict(objective=objective, directory=str(directory), seed=seed, overwrite=overwrite,
                  project_name=project_name or hyper_model.name.lower())
    if tuner == "random":
        return kt.RandomSearch(hyper_model, max_trials=max_trials, **common)
    if tuner == "hyperband":
        return kt.Hyperband(hyper_model, max_epochs=max_epochs, factor=3, **common)
    raise ValueError(f'Expected `tuner` "random" or "hyperband". Received: tuner={tuner!r}.')
