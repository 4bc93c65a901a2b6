"""TAFE-Net: Task-Aware Feature Embedding Networks (Wang, Yu, Wang, Darrell & Gonzalez, CVPR 2019).

About 460 lines: the model, its (features, class description) pair scoring, its two
optimizers and the `fit` / `evaluate` / `predict` wrappers that take the descriptions
belong to one class.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kzoo import distribute, presets
from kzoo.checks import check_float, check_int, check_sizes
from kzoo.layers.factorized import FactorizedDense
from kzoo.training.callbacks import DivergenceCheck


def embedding_loss(tafe, task_embedding, match, positive_weight=1.0):
    """TAFE-Net's embedding loss, eq. (6): hinged cosine similarity regressed onto the match label.

    L_emb = 1/(T S) sum_{i, j} w_ij (max(cos(TAFE(x_j; t_i), T(t_i)), 0) - q_ij)^2

    with q_ij = 1 when sample j belongs to task (class) i, else 0, and w_ij =
    `positive_weight` for q_ij = 1, else 1 (eq. (6) is `positive_weight=1`; the
    authors' code weights positives by the number of classes - 1).

    Args:
        tafe: `[..., S, T, d]` task-aware feature embeddings of every (sample, task) pair.
        task_embedding: `[..., T, d]` task embeddings T(t_i).
        match: `[..., S, T]` q, 1.0 for matching pairs.
        positive_weight: weight of matching pairs. Defaults to `1.0`.

    Returns:
        The scalar loss.
    """
    cosine = ops.sum(_l2_normalize(tafe) * _l2_normalize(ops.expand_dims(task_embedding, -3)), axis=-1)
    distance = ops.relu(cosine)
    match = ops.cast(match, distance.dtype)
    weight = 1.0 + (positive_weight - 1.0) * match
    return ops.mean(weight * ops.square(distance - match))


def _l2_normalize(x, epsilon=1e-7):
    """`x / max(||x||, epsilon)` on the last axis, with a finite gradient at `x = 0`.

    `keras.ops.normalize` (inside `keras.losses.cosine_similarity`) takes `rsqrt` of
    the squared norm before clipping it, whose gradient is infinite for the all-zero
    TAFE rows that ReLU-activated factors produce; under XLA that made the weights NaN.
    """
    square_sum = ops.sum(ops.square(x), axis=-1, keepdims=True)
    return x * ops.rsqrt(ops.maximum(square_sum, epsilon**2))


@keras.saving.register_keras_serializable(package="kzoo")
class TAFENet(presets.PresetMixin, DivergenceCheck, keras.Model):
    """TAFE-Net: a meta learner generates task-specific factors of a prediction network.

    Task embedding network T (Section 3.5; the authors' code): `task_layers - 1`
    blocks of `Dense(task_units, no bias) -> BatchNorm -> ReLU`, then
    `Dense(hidden_units[-1]) -> ReLU`, giving e_t in the TAFE's space (eq. (6)
    compares them). Weight generators g_i: one `Dense(hidden_units[i])` per feature
    layer on e_t, with `generator_activation` (ReLU) on its output. Prediction
    network F (eq. (1)): `FactorizedDense(hidden_units[i])` layers whose weight is
    W_sr,i . diag(g_i(e_t)) (eq. (4)), ReLU between them; the last output is the
    task-aware feature embedding TAFE(x; t). A task-independent binary classifier
    (`Dropout(dropout) -> Dense(classifier_units) -> ReLU -> Dense(1)`) scores
    "does x match task t".

    A class is a task (its attribute vector, word vector or the mean feature of
    support images). `predict` scores every (input, class) pair - the first layer's
    shared matmul is done once per input and broadcast over the classes - and the
    predicted class is the argmax. Training (eq. (5)): binary cross-entropy over
    (input, class) pairs plus `embedding_loss_weight` x eq. (6); Adam with learning
    rate 1e-4, and a `task_learning_rate_multiplier` (0.1) times smaller rate for T.

    Args:
        feature_dim: dimension of the input features (2048 for ResNet-101). Required.
        task_dim: dimension of a task description (e.g. 85 attributes). Required.
        hidden_units: widths of the factorized feature layers. Defaults to
            `(2048, 2048, 2048)` (the paper's).
        task_layers: layers of T. Defaults to `3` (the paper's; 2 for aPY).
        task_units: width of T's hidden layers. Defaults to `2048`.
        classifier_units: hidden width of the binary classifier. Defaults to `2048`.
        generator_activation: activation on the generated factors. Defaults to
            `"relu"` (Section 3.5).
        dropout: dropout before the classifier. Defaults to `0.5`.
        embedding_loss_weight: beta of eq. (5); 0 disables eq. (6). Defaults to `0.1`.
        embedding_positive_weight: weight of matching pairs in eq. (6). Defaults to
            `1.0` (the paper's equation).
        classes_per_step: if set, each training step scores the batch against its
            own classes plus random other training classes, `classes_per_step` in all
            (cheaper than all classes). Defaults to `None` (all training classes, the
            paper's).
        task_learning_rate_multiplier: T's learning rate relative to the rest.
            Defaults to `0.1` (1e-5 vs 1e-4 in the paper).
        backbone: a built `keras.Model` mapping images `[B, H, W, C]` to features
            `[B, D]` (e.g. `keras.applications.MobileNetV3Small(include_top=False,
            pooling="avg", weights=None)`), trained with the rest: the model then
            takes images where it took features (`feature_dim` is D; inputs,
            episodes and the serving signature's `images` are `[..., H, W, C]`).
            Saved in the config. Defaults to `None` (precomputed features).
        initialization: `"glorot"` (Keras's default) or `"reference"`, the authors'
            code: kernels of the prediction network and classifier drawn from
            N(0, 0.001), of T and the generators from N(0, 0.01). Defaults to
            `"glorot"`.
        task_normalization: `"batch"` (BatchNorm after each hidden Dense of T, the
            authors' code) or `None`. In training, BatchNorm normalizes over the
            step's classes; at inference over moving statistics of seen classes,
            which unseen descriptions need not share. Defaults to `"batch"`.
        classification_loss: `"binary"` (eq. (5): binary cross-entropy of every
            (input, class) pair) or `"softmax"` (cross-entropy of a softmax over the
            step's classes, the loss of the bilinear compatibility baselines).
            Defaults to `"binary"`.
        task_activation: `"relu"` (T is a ReLU MLP, the paper's) or `None` (T is
            affine: with linear generators every factor is then an affine map of the
            description, additive in its parts, like a bilinear model's). Defaults to
            `"relu"`.

    Call arguments:
        inputs: `{"features": [B, feature_dim], "tasks": [C, task_dim]}` (with a
            backbone: `{"images": [B, H, W, C], "tasks": ...}`), or an
            episode (DESIGN.md contract) of features: `{"support_x": [T, S,
            feature_dim], "support_y": int32 [T, S], "query_x": [T, Q,
            feature_dim]}`, where the task of class n is the mean support feature of
            class n (needs `task_dim == feature_dim`).

    Returns:
        Match logits `[B, C]` (or `[T, Q, N]` for an episode).

    Example:

    >>> import numpy as np
    >>> from kzoo.applications import TAFENet
    >>> model = TAFENet(feature_dim=16, task_dim=5, hidden_units=(8, 8), task_units=8, classifier_units=8)
    >>> model.compile()
    >>> x, y = np.random.rand(64, 16).astype("float32"), np.arange(64) % 4
    >>> tasks = np.random.rand(4, 5).astype("float32")
    >>> history = model.fit(x, y, tasks=tasks, epochs=1, verbose=0)
    >>> model.predict(x[:3], tasks=tasks, verbose=0).shape
    (3, 4)

    Reference: Wang et al., "TAFE-Net: Task-Aware Feature Embeddings for Low Shot
    Learning", CVPR 2019.
    """

    preset_folder = "tafenet"

    def __init__(self, feature_dim=None, task_dim=None, hidden_units=(2048, 2048, 2048), task_layers=3,
                 task_units=2048, classifier_units=2048, generator_activation="relu", dropout=0.5,
                 embedding_loss_weight=0.1, embedding_positive_weight=1.0, classes_per_step=None,
                 task_learning_rate_multiplier=0.1, backbone=None, initialization="glorot",
                 task_normalization="batch", classification_loss="binary", task_activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.backbone, self.image_shape = None, None
        if backbone is not None:
            self.backbone, self.image_shape, feature_dim = _check_backbone(backbone, feature_dim)
        if feature_dim is None:
            raise ValueError("Expected `feature_dim` (the size of the input features) or a `backbone`. "
                             "Received: neither.")
        for name, value, low in (("feature_dim", feature_dim, 1), ("task_dim", task_dim, 1),
                                 ("task_layers", task_layers, 1), ("task_units", task_units, 1),
                                 ("classifier_units", classifier_units, 1)):
            check_int(value, name, low)
        hidden_units = check_sizes(hidden_units, "hidden_units", allow_empty=False)
        if classes_per_step is not None and (isinstance(classes_per_step, bool) or classes_per_step < 2):
            raise ValueError(f"Expected `classes_per_step` >= 2 or None. Received: {classes_per_step!r}.")
        check_float(dropout, "dropout", 0, 1, inclusive=(True, False))
        check_float(embedding_loss_weight, "embedding_loss_weight", 0, inclusive=(True, True))
        self.feature_dim = int(feature_dim)
        self.task_dim = int(task_dim)
        self.hidden_units = hidden_units
        self.task_layers = int(task_layers)
        self.task_units = int(task_units)
        self.classifier_units = int(classifier_units)
        self.generator_activation = generator_activation
        self.dropout = float(dropout)
        self.embedding_loss_weight = float(embedding_loss_weight)
        self.embedding_positive_weight = float(embedding_positive_weight)
        self.classes_per_step = None if classes_per_step is None else int(classes_per_step)
        self.task_learning_rate_multiplier = float(task_learning_rate_multiplier)
        if initialization not in ("glorot", "reference"):
            raise ValueError(f'Expected `initialization` "glorot" or "reference". '
                             f"Received: initialization={initialization!r}.")
        self.initialization = initialization
        if task_normalization not in ("batch", None):
            raise ValueError(f'Expected `task_normalization` "batch" or None. '
                             f"Received: task_normalization={task_normalization!r}.")
        if classification_loss not in ("binary", "softmax"):
            raise ValueError(f'Expected `classification_loss` "binary" or "softmax". '
                             f"Received: classification_loss={classification_loss!r}.")
        self.task_normalization, self.classification_loss = task_normalization, classification_loss
        if task_activation not in ("relu", None):
            raise ValueError(f'Expected `task_activation` "relu" or None. Received: task_activation={task_activation!r}.')
        self.task_activation = task_activation
        if initialization == "reference":  # the authors' code: N(0, 0.001) for F, N(0, 0.01) for T and g
            prediction = dict(kernel_initializer=keras.initializers.RandomNormal(stddev=0.001))
            meta = dict(kernel_initializer=keras.initializers.RandomNormal(stddev=0.01))
        else:
            prediction = meta = {}

        policy = dict(dtype=self.dtype_policy)  # sublayers follow a mixed-precision policy
        self.task_network = []
        batch = task_normalization == "batch"  # then the Dense's bias is BatchNorm's beta
        for i in range(self.task_layers - 1):
            self.task_network += [keras.layers.Dense(self.task_units, use_bias=not batch, name=f"task_dense{i}",
                                                     **meta, **policy)]
            if batch:
                self.task_network.append(keras.layers.BatchNormalization(name=f"task_norm{i}", **policy))
            if task_activation:
                self.task_network.append(keras.layers.ReLU(name=f"task_relu{i}", **policy))
        self.task_network.append(keras.layers.Dense(hidden_units[-1], activation=task_activation,
                                                    name=f"task_dense{self.task_layers - 1}", **meta, **policy))
        self.generators = [keras.layers.Dense(u, activation=generator_activation, name=f"generator{i}", **meta,
                                              **policy) for i, u in enumerate(hidden_units)]
        self.feature_layers = [FactorizedDense(u, name=f"feature{i}", **prediction, **policy)
                               for i, u in enumerate(hidden_units)]
        self.classifier = [keras.layers.Dropout(self.dropout, name="classifier_dropout", **policy),
                           keras.layers.Dense(self.classifier_units, activation="relu", name="classifier_hidden",
                                              **prediction, **policy),
                           keras.layers.Dense(1, name="classifier_logit", **prediction, **policy)]
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.classification_loss_tracker = keras.metrics.Mean(name="classification_loss")
        self.embedding_loss_tracker = keras.metrics.Mean(name="embedding_loss")
        self.accuracy_tracker = keras.metrics.Mean(name="accuracy")
        self.task_optimizer = None
        self._tasks = None
        self._label_map = None

    # -- building -------------------------------------------------------------------------

    @property
    def input_key(self):
        """The input's name: `"images"` with a backbone, else `"features"`."""
        return "features" if self.backbone is None else "images"

    def episode_shapes(self):
        """Input shapes for `build` (also used by presets and the serving export)."""
        inputs = (None, self.feature_dim) if self.backbone is None else (None, *self.image_shape)
        return {self.input_key: inputs, "tasks": (None, self.task_dim)}

    def extract(self, x, training=None):
        """Features `[..., feature_dim]` of the inputs: the backbone's of images `[..., H, W, C]`, else `x`."""
        x = tf.cast(x, self.compute_dtype)
        if self.backbone is None:
            return x
        rank = len(self.image_shape)
        if x.shape.rank is not None and tuple(x.shape[-rank:]) != self.image_shape:
            raise ValueError(f"Expected images of shape [..., {', '.join(map(str, self.image_shape))}] (the "
                             f"backbone's input). Received: shape {tuple(x.shape)}.")
        leading = tf.shape(x)[:-rank]
        z = self.backbone(tf.reshape(x, (-1, *self.image_shape)), training=training)
        return tf.reshape(tf.cast(z, self.compute_dtype), tf.concat([leading, [self.feature_dim]], 0))

    def build(self, input_shape=None):
        shape = (None, self.task_dim)
        for layer in self.task_network:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        for generator in self.generators:
            generator.build(shape)
        shape = (None, self.feature_dim)
        for layer, units in zip(self.feature_layers, self.hidden_units):
            layer.build(shape, (None, units))
            shape = (None, units)
        self.classifier[1].build(shape)
        self.classifier[2].build((None, self.classifier_units))
        self.built = True

    @property
    def task_variables(self):
        """Trainable variables of the task embedding network T."""
        return [v for layer in self.task_network for v in layer.trainable_variables]

    @property
    def prediction_variables(self):
        """Trainable variables of everything but T (generators, prediction network, classifier)."""
        task_ids = {id(v) for v in self.task_variables}
        return [v for v in self.trainable_variables if id(v) not in task_ids]

    # -- forward --------------------------------------------------------------------------

    def embed_tasks(self, tasks, training=None):
        """T(t): `[..., N, task_dim]` -> `[..., N, hidden_units[-1]]`."""
        if tasks.shape[-1] is not None and tasks.shape[-1] != self.task_dim:
            raise ValueError(f"Expected task descriptions of size task_dim={self.task_dim} (the built size). "
                             f"Received: tasks.shape={tuple(tasks.shape)}.")
        leading = tf.shape(tasks)[:-1]
        h = tf.reshape(tasks, (-1, self.task_dim))  # BatchNormalization was built for [N, task_dim]
        for layer in self.task_network:
            h = layer(h, training=training) if isinstance(layer, keras.layers.BatchNormalization) else layer(h)
        return tf.reshape(h, tf.concat([leading, [self.hidden_units[-1]]], 0))

    def forward(self, features, tasks, training=None):
        """Scores every (input, task) pair.

        Args:
            features: `[..., Q, feature_dim]`.
            tasks: `[..., N, task_dim]` (same leading dims as `features`, or none).

        Returns:
            `(logits [..., Q, N], tafe [..., Q, N, d], task_embedding [..., N, d])`.
        """
        if features.shape[-1] is not None and features.shape[-1] != self.feature_dim:
            raise ValueError(f"Expected features of size feature_dim={self.feature_dim} (the built size). "
                             f"Received: features.shape={tuple(features.shape)}.")
        embedding = self.embed_tasks(tasks, training=training)
        h = ops.expand_dims(features, -2)  # [..., Q, 1, D]: x @ W_sr once per input
        for i, (generator, layer) in enumerate(zip(self.generators, self.feature_layers)):
            factors = ops.expand_dims(generator(embedding), -3)  # [..., 1, N, u]
            h = layer(h, factors)
            if i + 1 < len(self.feature_layers):
                h = ops.relu(h)
        tafe = h
        logits = self.classifier[2](self.classifier[1](self.classifier[0](tafe, training=training)))
        return ops.squeeze(logits, -1), tafe, embedding

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict) or not ("support_x" in inputs or self.input_key in inputs):
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise ValueError(f"Expected `inputs` to be a dict {{'{self.input_key}', 'tasks'}} or an episode dict "
                             f"{{'support_x', 'support_y', 'query_x'}}. Received: {got}.")
        if "support_x" in inputs:
            if self.task_dim != self.feature_dim:
                raise ValueError("Episodes describe tasks by support features: expected task_dim == feature_dim. "
                                 f"Received: task_dim={self.task_dim}, feature_dim={self.feature_dim}.")
            tasks = support_prototypes(self.extract(inputs["support_x"], training), inputs["support_y"])
            return self.forward(self.extract(inputs["query_x"], training), tasks, training=training)[0]
        return self.forward(self.extract(inputs[self.input_key], training), ops.convert_to_tensor(inputs["tasks"]),
                            training=training)[0]

    # -- training -------------------------------------------------------------------------

    def compile(self, optimizer=None, task_optimizer=None, **kwargs):
        """Paper defaults: Adam(1e-4), and Adam(1e-4 x `task_learning_rate_multiplier`) for T.

        Args:
            optimizer: optimizer of the prediction network, generators and classifier.
                Defaults to `Adam(1e-4)`.
            task_optimizer: optimizer of T. Defaults to a copy of `optimizer` with its
                (float) learning rate times `task_learning_rate_multiplier`.
        """
        if optimizer is None or optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-4)
        optimizer = keras.optimizers.get(optimizer)
        if task_optimizer is None:
            rate = optimizer.get_config()["learning_rate"]
            if not isinstance(rate, (int, float)):
                raise ValueError("Expected a float learning rate to derive the task network's optimizer; "
                                 "with a schedule pass `task_optimizer=` too.")
            task_optimizer = type(optimizer).from_config(
                {**optimizer.get_config(), "learning_rate": rate * self.task_learning_rate_multiplier})
        self.task_optimizer = keras.optimizers.get(task_optimizer)
        self.task_optimizer = distribute.loss_scaled_optimizer(self.task_optimizer, self.dtype_policy)
        kwargs.pop("loss", None)
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        """Recompiles a loaded `.keras` model and builds both optimizers so their state loads."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(optimizer=config.get("optimizer"))
        if self.built:
            self.optimizer.build(self.prediction_variables)
            self.task_optimizer.build(self.task_variables)

    @property
    def metrics(self):
        return [self.loss_tracker, self.classification_loss_tracker, self.embedding_loss_tracker,
                self.accuracy_tracker]

    def _set_tasks(self, tasks, classes, y, where):
        if tasks is None:
            raise ValueError(f"Expected `tasks` (the class task matrix [num_classes, {self.task_dim}]) in "
                             f"`{where}`. Received: tasks=None.")
        tasks = np.asarray(tasks, np.float32)
        if tasks.ndim != 2 or tasks.shape[1] != self.task_dim:
            raise ValueError(f"Expected `tasks` of shape [num_classes, task_dim={self.task_dim}] (the built task "
                             f"size). Received: tasks.shape={tasks.shape}.")
        if not np.all(np.isfinite(tasks)):
            raise ValueError("Expected finite `tasks`. Received: NaN or inf.")
        label_map = np.arange(tasks.shape[0])
        if classes is not None:
            classes = np.asarray(classes, np.int64).reshape(-1)
            if classes.size == 0 or classes.min() < 0 or classes.max() >= tasks.shape[0]:
                raise ValueError(f"Expected `classes` to index the {tasks.shape[0]} rows of `tasks`. "
                                 f"Received: classes in [{classes.min()}, {classes.max()}].")
            label_map = np.full(tasks.shape[0], -1)
            label_map[classes] = np.arange(classes.size)
            tasks = tasks[classes]
        if y is not None and not isinstance(y, (tf.data.Dataset,)) and hasattr(y, "__len__"):
            y = np.asarray(y)
            if y.size and (y.min() < 0 or y.max() >= label_map.size):
                raise ValueError(f"Expected labels in 0..{label_map.size - 1} (rows of `tasks`). Received: "
                                 f"labels in [{y.min()}, {y.max()}].")
            outside = np.unique(y[label_map[y] < 0]) if y.size else []
            if len(outside):
                raise ValueError(f"Expected training labels among `classes` (the seen classes). Received: "
                                 f"{len(outside)} other classes in the labels, e.g. {outside[:5].tolist()} - "
                                 "unseen classes must not appear in the training data.")
        if self.classes_per_step is not None and where == "fit" and tasks.shape[0] < 2:
            raise ValueError("Expected at least 2 training classes.")
        self._tasks = tf.constant(tasks)
        self._label_map = tf.constant(label_map, tf.int32)
        self.train_function = self.test_function = self.predict_function = None
        if not self.built:
            with self.distribute_strategy.scope():  # variables of the strategy the model was created in
                self.build()

    def fit(self, x=None, y=None, tasks=None, classes=None, **kwargs):
        """`Model.fit` on `(features [N, feature_dim], labels [N])` with the class task matrix.

        Args:
            x, y: features (with a backbone: images `[N, H, W, C]`) and labels (or a
                `tf.data.Dataset` of such pairs).
            tasks: `[num_classes, task_dim]`, row c describes class c.
            classes: optional training (seen) classes: only these rows of `tasks`
                take part; a label outside them raises an error. Defaults to all rows.
            **kwargs: passed to `keras.Model.fit`.
        """
        self._set_tasks(tasks, classes, y, "fit")
        if self.task_optimizer is None:
            raise ValueError("Call `compile()` before `fit`.")
        with self.distribute_strategy.scope():
            if not self.task_optimizer.built:
                self.task_optimizer.build(self.task_variables)
            if not self.optimizer.built:
                self.optimizer.build(self.prediction_variables)
        if "validation_data" in kwargs:
            raise ValueError("TAFENet.fit does not take `validation_data`: score a held-out split with `predict` "
                             "(model selection must not use the test split).")
        return super().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, tasks=None, classes=None, **kwargs):
        """`Model.evaluate` against every class of `tasks` (or of `classes`)."""
        self._set_tasks(tasks, classes, y, "evaluate")
        return super().evaluate(x, y, **kwargs)

    def predict(self, x, tasks=None, batch_size=32, **kwargs):
        """Match logits of every (input, class) pair: `[N, num_classes]`; argmax = predicted class."""
        self._set_tasks(tasks, None, None, "predict")
        return super().predict(x, batch_size=batch_size, **kwargs)

    def _step_classes(self, labels, training):
        """Local class indices of this step and the match targets `[B, K]`."""
        num = tf.shape(self._tasks)[0]
        if training and self.classes_per_step is not None:
            k = tf.minimum(self.classes_per_step, num)
            priority = tf.random.uniform([num])
            priority = tf.tensor_scatter_nd_update(priority, labels[:, None], tf.fill(tf.shape(labels), 2.0))
            chosen = tf.math.top_k(priority, k=k, sorted=False).indices
        else:
            chosen = tf.range(num)
        match = tf.cast(tf.equal(labels[:, None], chosen[None, :]), tf.float32)
        return chosen, match

    def _pair_losses(self, data, training):
        x, y = data[0], data[1]
        labels = tf.gather(self._label_map, tf.cast(tf.reshape(y, [-1]), tf.int32))
        tf.debugging.assert_non_negative(labels, message="a label is not among the training classes")
        chosen, match = self._step_classes(labels, training)
        logits, tafe, embedding = self.forward(self.extract(x, training), tf.gather(self._tasks, chosen),
                                               training=training)
        # the losses in float32 under a mixed-precision policy
        logits, tafe, embedding = (tf.cast(t, tf.float32) for t in (logits, tafe, embedding))
        if self.classification_loss == "softmax":
            classification = ops.mean(ops.categorical_crossentropy(match, logits, from_logits=True))
        else:
            classification = ops.mean(ops.binary_crossentropy(match, logits, from_logits=True))
        emb = embedding_loss(tafe, embedding, match, self.embedding_positive_weight)
        total = classification + self.embedding_loss_weight * emb
        accuracy = ops.mean(ops.cast(ops.equal(ops.argmax(logits, -1), ops.argmax(match, -1)), "float32"))
        return total, classification, emb, accuracy

    def _record(self, total, classification, emb, accuracy):
        for tracker, value in zip(self.metrics, (total, classification, emb, accuracy)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        # mixed_float16: each optimizer is a LossScaleOptimizer with its own scale; one backward pass otherwise
        scaled = isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
        with tf.GradientTape(persistent=scaled) as tape:
            total, classification, emb, accuracy = self._pair_losses(data, training=True)
            regularization = sum(self.losses) if self.losses else 0.0
            # a replica's share of the global mean: tf.distribute sums the replicas' gradients
            objective = distribute.scale_loss_for_replicas(total + regularization)
            if scaled:
                task_objective = self.task_optimizer.scale_loss(objective)
                objective = self.optimizer.scale_loss(objective)
        task_vars, other_vars = self.task_variables, self.prediction_variables
        if scaled:
            task_grads, other_grads = tape.gradient(task_objective, task_vars), tape.gradient(objective, other_vars)
            del tape
        else:
            grads = tape.gradient(objective, task_vars + other_vars)
            task_grads, other_grads = grads[:len(task_vars)], grads[len(task_vars):]
        self.task_optimizer.apply(task_grads, task_vars)
        self.optimizer.apply(other_grads, other_vars)
        return self._record(total, classification, emb, accuracy)

    def test_step(self, data):
        return self._record(*self._pair_losses(data, training=False))

    def predict_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        return tf.cast(self.forward(self.extract(x), self._tasks, training=False)[0], tf.float32)

    # -- serving --------------------------------------------------------------------------

    def serving_specs(self):
        """Named specs: `features` `[B, feature_dim]` (with a backbone: `images` `[B, H, W, C]`), `tasks` `[C, task_dim]`."""
        shapes = self.episode_shapes()
        return [tf.TensorSpec(shapes[self.input_key], tf.float32, name=self.input_key),
                tf.TensorSpec(shapes["tasks"], tf.float32, name="tasks")]

    def serve(self, features, tasks):
        """`{"logits": [B, C], "probabilities": sigmoid, "predicted_class": int32 [B]}`.

        With a backbone `features` are images `[B, H, W, C]` (the signature names them `images`)."""
        logits = tf.cast(self.forward(self.extract(features), tasks, training=False)[0], tf.float32)
        return {"logits": logits, "probabilities": tf.sigmoid(logits),
                "predicted_class": tf.argmax(logits, -1, output_type=tf.int32)}

    @property
    def _default_save_signature(self):
        return tf.function(self.serve, input_signature=self.serving_specs())

    def get_config(self):
        return {**super().get_config(), "feature_dim": self.feature_dim, "task_dim": self.task_dim,
                "hidden_units": list(self.hidden_units), "task_layers": self.task_layers,
                "task_units": self.task_units, "classifier_units": self.classifier_units,
                "generator_activation": self.generator_activation, "dropout": self.dropout,
                "embedding_loss_weight": self.embedding_loss_weight,
                "embedding_positive_weight": self.embedding_positive_weight,
                "classes_per_step": self.classes_per_step,
                "task_learning_rate_multiplier": self.task_learning_rate_multiplier,
                "backbone": None if self.backbone is None else keras.saving.serialize_keras_object(self.backbone),
                "initialization": self.initialization, "task_normalization": self.task_normalization,
                "task_activation": self.task_activation,
                "classification_loss": self.classification_loss}


def _check_backbone(backbone, feature_dim):
    """`(backbone, image_shape, feature_dim)` of a feature-extractor model (deserialized from a config dict)."""
    if isinstance(backbone, dict):
        backbone = keras.saving.deserialize_keras_object(backbone)
    try:
        inputs, outputs = backbone.inputs, backbone.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not isinstance(backbone, keras.Model) or not inputs or len(inputs) != 1 or len(outputs) != 1:
        raise ValueError("Expected `backbone` to be a built keras.Model with one input and one output (images -> "
                         f"features). Received: {type(backbone).__name__}.")
    out = tuple(outputs[0].shape)
    if len(out) != 2:
        raise ValueError(f"Expected `backbone` features of shape [B, D] (e.g. pooling=\"avg\"). "
                         f"Received: output shape {out}.")
    if feature_dim is not None and feature_dim != out[-1]:
        raise ValueError(f"Expected `feature_dim` to match the backbone's features ({out[-1]}). "
                         f"Received: feature_dim={feature_dim}.")
    return backbone, tuple(inputs[0].shape[1:]), int(out[-1])


def support_prototypes(support_x, support_y):
    """Class-mean support features `[T, N, D]` (few-shot task descriptions); label -1 is ignored."""
    support_x = tf.convert_to_tensor(support_x, tf.float32)
    support_y = tf.cast(tf.convert_to_tensor(support_y), tf.int32)
    ways = tf.reduce_max(support_y) + 1
    onehot = tf.one_hot(support_y, ways)  # -1 -> all zeros
    counts = tf.maximum(tf.reduce_sum(onehot, 1), 1.0)  # [T, N]
    return tf.einsum("tsn,tsd->tnd", onehot, support_x) / counts[..., None]
