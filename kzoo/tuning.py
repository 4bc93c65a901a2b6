"""keras-tuner `HyperModel`s for the applications, with the search spaces their papers ablate.

About 450 lines: one small HyperModel per application, sharing the tuner factory
and the objective checks.

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
passes extra constructor arguments such as `blocks`; `compile_options` such as
`{"jit_compile": True}` go to `compile`):

- `ProtoNetHyperModel`: `channels` {32, 64}, `distance` {euclidean, cosine}
  (Snell et al. compare both metrics), `learning_rate` 1e-4..1e-2 (log).
- `MTNetHyperModel`: `inner_lr` 1e-2..1 (log; the paper uses 0.4 / 0.1 on Omniglot),
  `inner_steps` 1..5, `variant` fixed to `"mtnet"` unless tuned via `tune_variant=True`
  (MAML, T-net, M-net, MT-net: the paper's Tables 1-2), `learning_rate`.
- `HyperTransformerHyperModel`: `num_layers` 1..4, `num_heads` {1, 2, 4},
  `embedding_dim` {16, 32, 64}, `nu` {0.5, 1, 2} (the model-size ablations of
  Zhmoginov et al., Appendix C), `learning_rate`.
- `TAFENetHyperModel` (zero-shot, on `(features, labels)` with `tasks=`): `beta` =
  `embedding_loss_weight` {0, 0.01, 0.1, 1} (eq. (5); the paper's 0.1, and Table 2's
  "w/o embedding loss" is 0), `learning_rate` 1e-5..1e-3 (log; the paper's 1e-4).
  `val_accuracy` is the per-class top-1 accuracy on `validation_data=(features,
  labels)` scored against `validation_tasks` (held-out, e.g. validation, classes).
- `AMAZHyperModel` (zero-shot, on `zero_shot_tasks` batches): `modulator` (the eight
  operators of Table IV, `AMAZ_MODULATORS`; default eq. (3)), `sigma` =
  `synthesis_sigma` {0.25, 0.5, 1, 2} (the noise std of Fig. 7's hyper-parameter
  analysis). `val_zsl_accuracy` is the ZSL per-class top-1 accuracy of a final
  classifier trained on synthetic features of held-out classes
  (`zsl_validation=(features, labels, class_attributes, classes)`); with
  `validation_data` (task batches) the `val_*` losses are logged too.

The zero-shot hypermodels take the data arguments of their application's `fit`
through `search` (`tuner.search(x, y, tasks=attributes, classes=seen, epochs=...)`).

A tuner objective that the model does not log (e.g. `val_accuracy` without
`validation_data`, or `accuracy` for a regression MT-net) stops the search at once
with a `ValueError` naming the objective and the metrics the model logs.
"""

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf

from kzoo import applications
from kzoo.checks import check_int
from kzoo.metrics import per_class_accuracy


class ApplicationHyperModel(kt.HyperModel):
    """Base: builds `application(**shape_arguments(), **search_space(hp), **fixed)`, compiled.

    Args:
        fixed: dict of constructor arguments (or search-space names, including
            `"learning_rate"`) to pin instead of tuning. Defaults to `None`.
        compile_options: extra `compile` arguments, e.g. `{"jit_compile": True}`.
            Defaults to `None`.
        name: hypermodel name. Defaults to the application's.
    """

    application = None
    #: range and default of the `learning_rate` hyperparameter (`None`: not tuned)
    learning_rates = (1e-4, 1e-2, 1e-3)
    #: search-space names that are not constructor arguments (kept out of `fixed`'s merge)
    search_only = ()

    def __init__(self, fixed=None, compile_options=None, name=None, **kwargs):
        super().__init__(name=name or self.application.__name__, **kwargs)
        self.fixed = dict(fixed or {})
        self.compile_options = dict(compile_options or {})

    def value(self, hp, name, define):
        """`fixed[name]` if pinned, else the hyperparameter `define(hp)`."""
        return self.fixed[name] if name in self.fixed else define(hp)

    def search_space(self, hp):
        """Constructor arguments for this trial (override per application)."""
        return {}

    def shape_arguments(self):
        """Constructor arguments that describe the data (example shape, feature sizes)."""
        return {}

    def compile_model(self, model, learning_rate):
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), **self.compile_options)

    def build(self, hp):
        kwargs = {**self.search_space(hp), **{k: v for k, v in self.fixed.items() if k not in self.search_only}}
        learning_rate = kwargs.pop("learning_rate", None)
        if learning_rate is None and self.learning_rates is not None:
            low, high, default = self.learning_rates
            learning_rate = hp.Float("learning_rate", low, high, sampling="log", default=default)
        model = self.application(**self.shape_arguments(), **kwargs)
        self.compile_model(model, learning_rate)
        if not model.built:  # weights exist before `load_weights`
            model.build(model.episode_shapes())
        return model

    def missing_validation(self, objective, kwargs):
        """The `search` argument that `objective` needs and `kwargs` lacks, else `None`."""
        if objective.startswith("val_") and kwargs.get("validation_data") is None:
            return "validation_data"
        return None

    def checked_callbacks(self, kwargs):
        """`kwargs["callbacks"]` plus a check that the tuner's objective is logged.

        Raises at once (`FatalValueError`, a `ValueError`) when the objective needs
        validation data that `search` did not get.
        """
        callbacks = list(kwargs.get("callbacks") or [])
        objective = _tuner_objective(callbacks)
        if objective is None:
            return callbacks
        names = [o.name for o in getattr(objective, "objectives", [objective])]
        for name in names:
            missing = self.missing_validation(name, kwargs)
            if missing:
                raise kt.errors.FatalValueError(
                    f"Expected `{missing}` in `search()` for the objective {name!r}: {self.application.__name__} "
                    f"logs it only with that validation data. Received: {missing}=None.")
        return [*callbacks, _ObjectiveCheck(names)]

    def fit(self, hp, model, *args, **kwargs):
        kwargs["callbacks"] = self.checked_callbacks(kwargs)
        return model.fit(*args, **kwargs)


class EpisodicHyperModel(ApplicationHyperModel):
    """Base of the few-shot applications: `application(example_shape, ...)` on episodes.

    Args:
        example_shape: shape of one example. Defaults to `(28, 28, 1)`.
        ways: N, the number of classes of the episodes (for the applications that
            need it as an output size). Defaults to `5`.
        fixed, compile_options, name: as in `ApplicationHyperModel`.
    """

    def __init__(self, example_shape=(28, 28, 1), ways=5, fixed=None, name=None, **kwargs):
        super().__init__(fixed=fixed, name=name, **kwargs)
        check_int(ways, "ways", 2)
        self.example_shape = tuple(example_shape)
        self.ways = ways

    def shape_arguments(self):
        return {"example_shape": self.example_shape}


def _tuner_objective(callbacks):
    # keras-tuner passes its objective to `fit` through the callback that saves the best epoch
    for callback in callbacks or []:
        if isinstance(getattr(callback, "objective", None), kt.Objective):
            return callback.objective
    return None


class _LogValidation(keras.callbacks.Callback):
    """Adds `{name: score(model)}` to the epoch's logs (before the tuner reads them)."""

    def __init__(self, name, score):
        super().__init__()
        self.name, self.score = name, score

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[self.name] = float(self.score(self.model))


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


class TAFENetHyperModel(ApplicationHyperModel):
    """TAFE-Net: beta (`embedding_loss_weight`, eq. (5)) and the learning rate.

    Trials run `TAFENet.fit(x, y, tasks=..., classes=...)` with what `search` gets.
    `search(..., validation_data=(features, labels), validation_tasks=[C, task_dim],
    validation_classes=None)` logs `val_accuracy`: the per-class top-1 accuracy of
    the validation features scored against the rows `validation_classes` (default:
    all rows) of `validation_tasks` (labels index those rows), after every epoch.

    Args:
        feature_dim: input feature size. Required.
        task_dim: task description (attribute vector) size. Required.
        fixed, compile_options, name: as in `ApplicationHyperModel`.
    """

    application = applications.TAFENet
    learning_rates = (1e-5, 1e-3, 1e-4)

    def __init__(self, feature_dim, task_dim, fixed=None, **kwargs):
        super().__init__(fixed=fixed, **kwargs)
        self.feature_dim, self.task_dim = feature_dim, task_dim

    def shape_arguments(self):
        return {"feature_dim": self.feature_dim, "task_dim": self.task_dim}

    search_only = ("beta",)

    def search_space(self, hp):
        beta = self.value(hp, "beta", lambda hp: hp.Choice("beta", [0.0, 0.01, 0.1, 1.0], default=0.1))
        return {"embedding_loss_weight": beta}

    def fit(self, hp, model, *args, **kwargs):
        callbacks = self.checked_callbacks(kwargs)
        validation_data = kwargs.pop("validation_data", None)  # TAFENet.fit itself takes none
        tasks, classes = kwargs.pop("validation_tasks", None), kwargs.pop("validation_classes", None)
        if validation_data is not None:
            score = _tafenet_validation(validation_data, tasks, classes, self.task_dim)
            callbacks.insert(0, _LogValidation("val_accuracy", score))  # before the tuner reads the logs
        return model.fit(*args, **{**kwargs, "callbacks": callbacks})


def _tafenet_validation(validation_data, tasks, classes, task_dim):
    """`score(model)`: per-class top-1 accuracy of `validation_data` among the `classes` rows of `tasks`."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError("Expected `validation_data=(features, labels)` for TAFENetHyperModel. "
                         f"Received: {type(validation_data).__name__}.")
    if tasks is None or np.ndim(tasks) != 2 or np.shape(tasks)[1] != task_dim:
        raise ValueError(f"Expected `validation_tasks` of shape [num_classes, {task_dim}] with `validation_data`. "
                         f"Received: {None if tasks is None else np.shape(tasks)}.")
    features = np.asarray(validation_data[0], np.float32)
    labels = np.asarray(validation_data[1]).reshape(-1)
    classes = np.arange(len(tasks)) if classes is None else np.asarray(classes, np.int64).reshape(-1)
    if not np.isin(labels, classes).all():
        raise ValueError(f"Expected validation labels among `validation_classes`. Received: labels "
                         f"{np.setdiff1d(labels, classes)[:5].tolist()} outside them.")
    candidates = tf.constant(np.asarray(tasks, np.float32)[classes])

    def score(model):
        logits = np.concatenate([model.forward(tf.constant(features[i:i + 1024]), candidates, training=False)[0]
                                 .numpy() for i in range(0, len(features), 1024)])
        return per_class_accuracy(labels, classes[logits.argmax(-1)])

    return score


#: Table IV's modulation operators: name -> AMAZ's (modulator_base, modulator_operator,
#: modulator_activation, modulator_bias); "base+sigmoid+bias" is eq. (3)
AMAZ_MODULATORS = {
    "plain": (False, None, None, False),
    "sigmoid": (False, None, "sigmoid", False),
    "softmax": (False, None, "softmax", False),
    "base+sigmoid": (True, "+", "sigmoid", False),
    "base-sigmoid": (True, "-", "sigmoid", False),
    "base+softmax": (True, "+", "softmax", False),
    "base-softmax": (True, "-", "softmax", False),
    "base+sigmoid+bias": (True, "+", "sigmoid", True),
}


class AMAZHyperModel(ApplicationHyperModel):
    """AMAZ: the modulator operator (Table IV) and sigma, the synthesis noise std (Fig. 7).

    Trials run `AMAZ.fit` on batches of `zero_shot_tasks`. The learning rates are
    AMAZ's three `meta_learning_rates` (pin them with `fixed`); they are not tuned.
    `search(..., zsl_validation=(features, labels, class_attributes, classes))` logs
    `val_zsl_accuracy` after every epoch: a `zsl_classifier` trained on
    `zsl_num_per_class` synthetic features per class of `classes` (held-out classes)
    classifies their real `features` (per-class top-1, `zsl_scores`).

    Args:
        feature_dim, attribute_dim, num_classes: AMAZ's data sizes. Required.
        zsl_classifier: final classifier of the validation score, one of
            `kzoo.applications.amaz.evaluation.CLASSIFIERS`. Defaults to `"softmax"`
            (the SVMs fit the synthetic features and miss the real ones).
        zsl_num_per_class: synthetic features per class. Defaults to `100` (the paper's).
        zsl_epochs: epochs of the final classifier. Defaults to `None` (its default).
        fixed, compile_options, name: as in `ApplicationHyperModel`.
    """

    application = applications.AMAZ
    learning_rates = None
    search_only = ("modulator", "sigma")

    def __init__(self, feature_dim, attribute_dim, num_classes, fixed=None, zsl_classifier="softmax",
                 zsl_num_per_class=100, zsl_epochs=None, **kwargs):
        super().__init__(fixed=fixed, **kwargs)
        from kzoo.applications.amaz.evaluation import CLASSIFIERS

        if zsl_classifier not in CLASSIFIERS:
            raise ValueError(f"Expected `zsl_classifier` in {list(CLASSIFIERS)}. Received: {zsl_classifier!r}.")
        self.feature_dim, self.attribute_dim, self.num_classes = feature_dim, attribute_dim, num_classes
        self.zsl_classifier, self.zsl_num_per_class, self.zsl_epochs = zsl_classifier, zsl_num_per_class, zsl_epochs

    def shape_arguments(self):
        return {"feature_dim": self.feature_dim, "attribute_dim": self.attribute_dim,
                "num_classes": self.num_classes}

    def search_space(self, hp):
        modulator = self.value(hp, "modulator", lambda hp: hp.Choice(
            "modulator", list(AMAZ_MODULATORS), default="base+sigmoid+bias"))
        if modulator not in AMAZ_MODULATORS:
            raise ValueError(f"Expected `modulator` in {list(AMAZ_MODULATORS)}. Received: {modulator!r}.")
        base, operator, activation, bias = AMAZ_MODULATORS[modulator]
        sigma = self.value(hp, "sigma", lambda hp: hp.Choice("sigma", [0.25, 0.5, 1.0, 2.0], default=1.0))
        return {"modulator_base": base, "modulator_operator": operator, "modulator_activation": activation,
                "modulator_bias": bias, "synthesis_sigma": sigma}

    def compile_model(self, model, learning_rate):
        model.compile(**self.compile_options)  # three Adams with the model's meta_learning_rates

    def missing_validation(self, objective, kwargs):
        if objective == "val_zsl_accuracy":
            return "zsl_validation" if kwargs.get("zsl_validation") is None else None
        return super().missing_validation(objective, kwargs)

    def fit(self, hp, model, *args, **kwargs):
        callbacks = self.checked_callbacks(kwargs)
        zsl_validation = kwargs.pop("zsl_validation", None)
        if zsl_validation is not None:  # before the tuner reads the logs
            callbacks.insert(0, _LogValidation("val_zsl_accuracy", self._zsl_score(zsl_validation)))
        return model.fit(*args, **{**kwargs, "callbacks": callbacks})

    def _zsl_score(self, zsl_validation):
        from kzoo.applications.amaz.evaluation import zsl_scores

        if not isinstance(zsl_validation, (tuple, list)) or len(zsl_validation) != 4:
            raise ValueError("Expected `zsl_validation=(features, labels, class_attributes, classes)`. Received: "
                             f"{type(zsl_validation).__name__}.")
        features, labels, class_attributes, classes = zsl_validation
        options = {} if self.zsl_epochs is None else {"softmax_epochs": self.zsl_epochs, "svm_epochs": self.zsl_epochs}

        def score(model):
            return zsl_scores(model, features, labels, class_attributes, classes, self.zsl_num_per_class,
                              kinds=(self.zsl_classifier,), **options)[self.zsl_classifier]

        return score


HYPERMODELS = {"protonet": ProtoNetHyperModel, "mtnet": MTNetHyperModel, "tafenet": TAFENetHyperModel,
               "amaz": AMAZHyperModel}
#: hypermodels of zero-shot applications (their data is features and class attributes, not episodes)
ZERO_SHOT = ("tafenet", "amaz")

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
