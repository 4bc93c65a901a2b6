"""`EpisodicModel`: the base of every few-shot application (the episode contract)."""

import keras
import tensorflow as tf

from kzoo import distribute, presets
from kzoo.training.callbacks import DivergenceCheck

EPISODE_KEYS = ("support_x", "support_y", "query_x")


class EpisodicModel(presets.PresetMixin, DivergenceCheck, keras.Model):
    """A `keras.Model` whose `call` takes one batch of episodes and returns query logits.

    Inputs follow the episode contract (DESIGN.md): a dict with `support_x`
    `[T, S, *example_shape]`, `support_y` `[T, S]` (int32 labels 0..N-1, -1 for an
    unlabeled sample; float for regression) and `query_x` `[T, Q, *example_shape]`,
    with T, S, Q >= 1, float examples and, for images `[H, W, C]`, pixels in [0, 1]
    (uint8 images are refused, not rescaled: divide by 255). Structure, dtypes and
    known sizes are checked when called; sizes, labels (every task needs a labelled
    example), NaNs and the pixel range are checked in the graph, so the serving
    signature checks them too.
    Subclasses implement `call_episode(support_x, support_y, query_x, training)`, set
    `self.example_shape` and build their layers in `build_layers(example_shape)`;
    this class checks the inputs, builds, and provides presets and serving specs,
    so every application is fit, evaluated, saved and served the same way.
    """

    #: True for classifiers (integer labels, logits over N classes).
    classification = True

    def __init__(self, example_shape, **kwargs):
        super().__init__(**kwargs)
        example_shape = tuple(example_shape)
        if not example_shape or any(not isinstance(d, int) or d < 1 for d in example_shape):
            raise ValueError(
                f"Expected `example_shape` of positive integers, e.g. (28, 28, 1). "
                f"Received: {example_shape!r}."
            )
        self.example_shape = example_shape

    # -- building ---------------------------------------------------------------------

    def episode_shapes(self):
        """Shapes of one batch of episodes with unknown T, S and Q."""
        label_shape = (None, None) if self.classification else (None, None, 1)
        return {"support_x": (None, None, *self.example_shape), "support_y": label_shape,
                "query_x": (None, None, *self.example_shape)}

    def build(self, input_shape=None):
        if isinstance(input_shape, dict):
            self._check_structure(input_shape, shapes=True)
        self.build_layers(self.example_shape)
        self.built = True

    def build_layers(self, example_shape):
        raise NotImplementedError

    # -- checks -------------------------------------------------------------------------

    def _check_structure(self, inputs, shapes=False):
        if not isinstance(inputs, dict) or set(inputs) != set(EPISODE_KEYS):
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise ValueError(f"Expected an episode dict with keys {list(EPISODE_KEYS)}. Received: {got}.")
        shape = (lambda k: tuple(inputs[k])) if shapes else (lambda k: tuple(inputs[k].shape))
        rank = len(self.example_shape) + 2
        for key in ("support_x", "query_x"):
            if len(shape(key)) != rank or tuple(shape(key)[2:]) != self.example_shape:
                raise ValueError(
                    f"Expected `{key}` of shape [T, {'S' if key[0] == 's' else 'Q'}, "
                    f"{', '.join(map(str, self.example_shape))}] (the model was built for examples of "
                    f"shape {self.example_shape}). Received: {key}.shape={shape(key)}."
                )
        label_rank = 2 if self.classification else 3
        if len(shape("support_y")) != label_rank or tuple(shape("support_y")[:2]) != tuple(shape("support_x")[:2]):
            raise ValueError(
                f"Expected `support_y` of shape {'[T, S]' if self.classification else '[T, S, 1]'} "
                f"matching support_x {shape('support_x')}. Received: support_y.shape={shape('support_y')}."
            )
        t_support, t_query = shape("support_x")[0], shape("query_x")[0]
        if t_support is not None and t_query is not None and t_support != t_query:
            raise ValueError(
                f"Expected the same number of tasks T in `support_x` and `query_x`. "
                f"Received: {t_support} and {t_query}."
            )
        for key, axis, what in (("support_x", 0, "at least one task (T >= 1)"),
                                ("support_x", 1, "a non-empty support set (S >= 1)"),
                                ("query_x", 1, "a non-empty query set (Q >= 1)")):
            if shape(key)[axis] == 0:
                raise ValueError(f"Expected {what}. Received: {key}.shape={shape(key)}.")

    def _check_episode(self, inputs):
        """Static checks now; data checks (sizes, labels, NaNs, pixel range) as in-graph assertions."""
        self._check_structure(inputs)
        support_x = tf.convert_to_tensor(inputs["support_x"])
        query_x = tf.convert_to_tensor(inputs["query_x"])
        support_y = tf.convert_to_tensor(inputs["support_y"])
        for key, value in (("support_x", support_x), ("query_x", query_x)):
            if not value.dtype.is_floating:
                scale = " (uint8 images: divide by 255)" if self.pixel_range else ""
                raise ValueError(
                    f"Expected float `{key}`{self._range_text()}{scale}. Received: {key}.dtype={value.dtype.name}."
                )
        if self.classification:
            if not support_y.dtype.is_integer:
                raise ValueError(
                    f"Expected integer `support_y` (class labels) for {type(self).__name__}. "
                    f"Received: support_y.dtype={support_y.dtype.name}."
                )
            support_y = tf.cast(support_y, tf.int32)
        elif support_y.dtype.is_integer:
            raise ValueError(
                f"Expected float `support_y` (regression targets) for {type(self).__name__}. "
                f"Received: support_y.dtype={support_y.dtype.name}; is this a classification episode?"
            )
        support_shape, query_shape = tf.shape(support_x), tf.shape(query_x)
        checks = [
            tf.debugging.assert_positive(support_shape[:2], message="Expected support_x of shape [T, S, ...] "
                                         "with T >= 1 tasks and S >= 1 examples. Received [T, S] ="),
            tf.debugging.assert_positive(query_shape[1], message="Expected a non-empty query set: query_x of "
                                         "shape [T, Q, ...] with Q >= 1. Received Q ="),
            tf.debugging.assert_equal(support_shape[0], query_shape[0], message=(
                "Expected the same number of tasks T in support_x and query_x. Received T of support_x (x) "
                "and of query_x (y):")),
            tf.debugging.assert_equal(tf.shape(support_y)[:2], support_shape[:2], message=(
                "Expected support_y [T, S] to match support_x [T, S]. Received [T, S] of support_y (x) and "
                "of support_x (y):")),
            tf.debugging.assert_all_finite(tf.cast(support_x, tf.float32), "support_x has NaN or inf values"),
            tf.debugging.assert_all_finite(tf.cast(query_x, tf.float32), "query_x has NaN or inf values"),
        ]
        if self.pixel_range:
            low, high = self.pixel_range
            for key, value in (("support_x", support_x), ("query_x", query_x)):
                expected = f"Expected {key} pixels in [{low:g}, {high:g}] (float images; uint8 images divided by 255)."
                checks += [
                    tf.debugging.assert_greater_equal(tf.reduce_min(value), tf.cast(low, value.dtype),
                                                      message=f"{expected} Received min({key}) ="),
                    tf.debugging.assert_less_equal(tf.reduce_max(value), tf.cast(high, value.dtype),
                                                   message=f"{expected} Received max({key}) ="),
                ]
        if self.classification:
            checks.append(tf.debugging.assert_greater_equal(
                support_y, -1, message="support_y labels must be in -1..N-1 (-1 = unlabeled)"))
            checks.append(tf.debugging.assert_non_negative(
                tf.reduce_max(support_y, axis=1), message=(
                        "Expected at least one labelled support example (label >= 0) in every task. Received "
                    "a task whose support_y is all -1 (unlabeled); the largest label of each task:")))
            ways = tf.reduce_max(support_y) + 1
            counts = tf.reduce_sum(tf.one_hot(support_y, ways, dtype=tf.int32), axis=1)
            checks.append(tf.debugging.assert_positive(
                counts, message="every class 0..N-1 needs at least one labelled support example "
                                "(labels must be a contiguous range 0..N-1)"))
        with tf.control_dependencies(checks):
            return (tf.identity(tf.cast(support_x, self.compute_dtype)), support_y,
                    tf.identity(tf.cast(query_x, self.compute_dtype)))

    @property
    def pixel_range(self):
        """`(low, high)` of valid input values: `(0, 1)` for image examples `[H, W, C]`, else None (unchecked)."""
        return (0.0, 1.0) if len(self.example_shape) == 3 else None

    def _range_text(self):
        return f" in [{self.pixel_range[0]:g}, {self.pixel_range[1]:g}]" if self.pixel_range else ""

    def _check_dict_input(self, x):
        # Keras's array adapter fails obscurely on mismatched dicts; check first.
        if isinstance(x, dict):
            self._check_structure(x)
        # custom train steps never call the model eagerly: build before tracing
        if not self.built:
            with self.distribute_strategy.scope():  # variables of the compiling strategy
                self.build(self.episode_shapes())
        # an optimizer that creates its slots while the step is traced makes tf.function
        # trace the whole step twice (MAML 5-way: 15 s of a 20 s first `fit` call)
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            with self.distribute_strategy.scope():
                optimizer.build(self.trainable_variables)

    def fit(self, x=None, y=None, *args, **kwargs):
        self._check_dict_input(x)
        distribute.check_fit_input(self, x, kwargs.get("batch_size", args[0] if args else None))
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._check_dict_input(x)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self._check_dict_input(x)
        return super().predict(x, *args, **kwargs)

    def call(self, inputs, training=None):
        support_x, support_y, query_x = self._check_episode(inputs)
        with distribute.synchronized_batch_norm(self):
            return self.call_episode(support_x, support_y, query_x, training=training)

    def call_episode(self, support_x, support_y, query_x, training=None):
        raise NotImplementedError

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if self.classification and y is not None and y_pred is not None:
            y = tf.convert_to_tensor(y)
            ways = tf.shape(y_pred)[-1]
            checks = [tf.debugging.assert_non_negative(y, message="query_y labels must be >= 0"),
                      tf.debugging.assert_less(tf.cast(y, tf.int32), ways, message=(
                          "query_y labels must be < N, the number of classes in the support set"))]
            with tf.control_dependencies(checks):
                y = tf.identity(y)
        return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a strategy, Keras 3.15 builds from a first batch reduced with MEAN over
        # the replicas: int32 labels become float32 (and a batch is drawn). Build from
        # the episode contract's shapes and dtypes instead.
        if data_batch is None and getattr(self, "_distribute_strategy", None) is not None:
            shapes = self.episode_shapes()
            x = {k: keras.KerasTensor(s, "float32") for k, s in shapes.items()}
            if self.classification:
                x["support_y"] = keras.KerasTensor(shapes["support_y"], "int32")
            y = keras.KerasTensor(shapes["support_y"], "int32" if self.classification else "float32")
            iterator, data_batch = None, (x, y)
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def default_optimizer(self):
        """The optimizer `compile()` uses unless given one: Adam(1e-3); applications override it with their paper's."""
        return keras.optimizers.Adam(1e-3)

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`compile` with the application's defaults.

        `"auto"` means `default_optimizer()`, and for classifiers the query
        cross-entropy on logits and accuracy (regressors: mean squared error).
        """
        if optimizer == "auto":
            optimizer = self.default_optimizer()
        if loss == "auto":
            loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True) if self.classification
                    else keras.losses.MeanSquaredError())
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")] if self.classification else []
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        """Recompiles a loaded `.keras` model with its saved compile arguments."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    # -- serving --------------------------------------------------------------------------

    def serving_specs(self):
        """Named `tf.TensorSpec`s of the serving signature: dtypes only, any shape.

        The shapes are left open so that `serve` can check them in the graph with
        messages naming the input: a server feeding a tensor whose shape contradicts
        a declared one would otherwise fail deep inside the model (a reshape or
        concat error), since servers do not check fed shapes and the graph trusts
        the declared ones. `episode_shapes()` gives the expected shapes.
        """
        label_dtype = tf.int32 if self.classification else tf.float32
        return [tf.TensorSpec(None, tf.float32, name="support_x"),
                tf.TensorSpec(None, label_dtype, name="support_y"),
                tf.TensorSpec(None, tf.float32, name="query_x")]

    def serving_outputs(self, outputs):
        """Named serving outputs from `call`'s result."""
        if self.classification:
            return {"logits": outputs, "probabilities": tf.nn.softmax(outputs, axis=-1)}
        return {"predictions": outputs}

    def serve(self, support_x, support_y, query_x):
        """One inference pass on separate tensors, returning the named serving outputs.

        Exported, this is the `serving_default` signature. Its specs leave shapes open
        and the shapes are checked here, in the graph (`tf.ensure_shape`), so that a
        wrong size or rank is reported with the input's name and both shapes rather
        than as a reshape or concat error deep inside the model.
        """
        episode = {"support_x": support_x, "support_y": support_y, "query_x": query_x}
        # "Shape of tensor support_x [2,8,20,28,1] is not compatible with expected shape [?,?,28,28,1]."
        episode = {name: tf.ensure_shape(episode[name], shape) for name, shape in self.episode_shapes().items()}
        return self.serving_outputs(self(episode, training=False))

    @property
    def _default_save_signature(self):
        # Keras's default signature casts every input to the model's float dtype
        # (int32 labels included); give SavedModel tracking the real one instead.
        return tf.function(self.serve, input_signature=self.serving_specs())

    def get_config(self):
        return {**super().get_config(), "example_shape": list(self.example_shape)}
