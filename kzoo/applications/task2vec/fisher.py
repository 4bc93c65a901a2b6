"""`FisherProbe`: per-filter diagonal Fisher information of a probe network on a task (Task2Vec).

Over 400 lines because its three estimators (Monte Carlo, expected, variational) share
the cached features, the head fit, the sampling and the checks of one class.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kzoo.applications.task2vec.reparametrization import LocalReparametrization as _LocalReparametrization
from kzoo.applications.task2vec.reparametrization import weight_scale_variance
from kzoo.checks import check_int

METHODS = ("montecarlo", "expected", "variational")
_FILTER_LAYERS = (keras.layers.Conv2D, keras.layers.Dense)


class FisherProbe:
    """Diagonal Fisher information of a probe's feature extractor, one value per filter.

    The probe (any functional or sequential Keras classifier: the built-in
    `probe_resnet`, or e.g. a `keras.applications` ResNet) is cut into a frozen feature
    extractor phi (input -> `feature_layer`) and a new linear head for the task
    (Task2Vec, Sect. 3.1). `estimate(images, labels)` then

    1. caches the features phi(x) of every task image once and fits the head
       `Dense(num_classes)` on them (Adam, weight decay, class-balanced samples; for
       `"expected"`, `head_steps` full-batch Adam steps on the class-weighted
       cross-entropy plus `head_l2` * ||kernel||^2, the same for every seed);
    2. estimates the Fisher information of the extractor weights w of the selected
       layers, with the head attached, averaged over the weights of each filter
       (conv output channel / dense unit), so the result has one entry per filter:

    - `method="montecarlo"`: F = E_{x ~ p^, y ~ p_w(y|x)}[(d log p_w(y|x) / dw)^2]
      (Sect. 3, the FIM), with y sampled from the model's predictive distribution
      and per-example gradients vectorised: one backward pass gives the gradient of
      each example's log-likelihood w.r.t. a layer's pre-activations g_b, and the
      per-example kernel gradient is sum_pos patch_b(pos) (x) g_b(pos) (a batched
      matmul of `tf.image.extract_patches` with g_b), squared and averaged per filter.
    - `method="expected"`: the same F with the expectation over y computed exactly,
      sum_c p_w(c|x) (d log p_w(c|x) / dw)^2 (one forward and C backward passes per batch), over
      every task image once (class-weighted), or over a class-balanced sample of
      `max_samples` images when the task is larger. Its head is fitted full-batch
      and deterministically (below), so the embedding of a task with at most
      `max_samples` images does not depend on the seed. On small tasks the sampled
      estimator's seed-to-seed spread is as large as the distances between tasks
      (`applications/task2vec/variational_budget.py`); this one has none. The
      embedding is the precision the variational estimator converges to, in closed
      form, Lambda = lambda^2 + (N / beta) F with the prior lambda^2 below, per image:
      (beta / N) Lambda = F + (beta / N) lambda^2, the paper's "estimator of the FIM
      F, biased towards the prior". Its trivial embedding is the prior term
      (beta / N) lambda^2, as in the paper, and `d_asym` measures how far a task's
      Fisher rises above it (with a trivial embedding of 0, d_sym(F, 0) = 1 for every
      F and `d_asym` would be `d_sym - alpha`).
    - `method="variational"`: the robust estimator of Sect. 3.1. Each filter f gets a
      learned log-variance; weights are perturbed as w ~ N(w^, Lambda^-1) through the
      local reparametrisation trick (Kingma et al. 2015: a filter's output noise has
      variance sigma_f^2 * conv(x^2, 1)), and Lambda minimises
      L = E_w[H(y|x)] + (beta / N) KL(N(w^, Lambda^-1) || N(w^, lambda^-2 I))
      with one prior precision lambda^2 per layer (supplementary Sect. 6).
      At the optimum Lambda = lambda^2 + (N / beta) F (eq. of Sect. 3.1 with a mean
      cross-entropy): the embedding is the learned precision per image, (beta / N)
      Lambda, and the trivial embedding (a task whose loss does not depend on w) is
      the prior's, (beta / N) lambda^2.

    Batch normalization runs in inference mode (moving statistics) in every pass:
    the probe is frozen, and batch statistics would make the embedding depend on how
    the class-balanced batches are composed. (The official code leaves train mode on,
    its issue #23; kzoo chooses eval mode deliberately.)

    Args:
        probe: a functional or sequential `keras.Model` mapping images to logits.
        method: `"expected"`, `"montecarlo"` or `"variational"`. Defaults to
            `"expected"`: the only one of the three whose embedding of a small task
            moves less under a new seed or a label permutation than the distance
            between two tasks (`applications/task2vec/README.md`, "Estimator noise").
        layers: names of the extractor layers (Conv2D or Dense)
            whose filters are embedded. Defaults to all of them but the first
            `skip_layers`.
        skip_layers: filter layers skipped from the input side when `layers` is None
            (the official code skips the first modules). Defaults to `3`.
        feature_layer: name of the layer whose output feeds the head. Defaults to the
            input of the probe's last layer (its classifier).
        max_samples: images drawn per epoch (class-balanced with replacement when
            `balanced`, else the first `max_samples` of a shuffle). Defaults to `10000`.
        batch_size: batch size of every pass. Defaults to `64`.
        epochs: Fisher epochs: MC passes, or variational training epochs (unused by
            `"expected"`). Defaults to `2` for `"variational"`, else `1`.
        head_epochs: epochs of head training on cached features. Defaults to `10`.
        head_learning_rate: Adam learning rate of the zero-initialised head (the
            official code uses 4e-4 with 10x longer epochs). Defaults to `1e-2`; the
            variational pass keeps training the head at a tenth of it.
        head_weight_decay: decoupled weight decay of the head. Defaults to `1e-4`.
        head_steps: full-batch steps of the `"expected"` head. Defaults to `300`.
        head_l2: L2 penalty on the `"expected"` head's kernel. Defaults to `1e-3`.
        learning_rate: Adam learning rate of the variational parameters. Defaults to `1e-2`.
        beta: KL weight beta (variational; and the weight of the prior in the
            expected estimator's F + (beta / N) lambda^2); the KL term is weighted beta / N for a
            task of N images, so the official code's weight 1e-7 corresponds to beta =
            1e-4 at N = 1,000. Defaults to `1e-4`.
        learn_prior: also train the per-layer prior precision lambda^2 (the official
            code does; the paper trains it "together with Lambda"). Off by default: in
            the quadratic approximation the joint optimum has no finite lambda^2 (its
            KL-optimal value 1 / mean(sigma_f^2) exceeds lambda^2 whenever some F_f > 0,
            so lambda^2 and Lambda grow together and Lambda / lambda^2 -> 1); kzoo keeps
            lambda^2 at the weight-scale prior 1 / mean(w^2) of each layer, so the
            trivial embedding is the same for every task. Defaults to `False`.
        balanced: class-balanced sampling. Defaults to `True`.

    Example:

    >>> import numpy as np, keras
    >>> probe = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="sigmoid", name="u"),
    ...                           keras.layers.Dense(2, name="head")])
    >>> fp = FisherProbe(probe, method="montecarlo", skip_layers=0, max_samples=64)
    >>> x, y = np.random.rand(40, 6).astype("float32"), np.arange(40) % 2
    >>> fp.estimate(x, y)["fisher"].shape
    (4,)

    Reference: Achille et al., "Task2Vec: Task Embedding for Meta-Learning", ICCV 2019.
    """

    def __init__(self, probe, method="expected", layers=None, skip_layers=3, feature_layer=None,
                 max_samples=10000, batch_size=64, epochs=None, head_epochs=10, head_learning_rate=1e-2,
                 head_weight_decay=1e-4, learning_rate=1e-2, beta=1e-4, learn_prior=False, balanced=True,
                 head_steps=300, head_l2=1e-3):
        if not isinstance(probe, keras.Model):
            raise ValueError(f"Expected `probe` to be a functional or sequential keras.Model. Received: {probe!r}.")  # noqa: TRY004
        try:
            probe_inputs = probe.inputs
        except (AttributeError, ValueError):
            probe_inputs = None
        if not probe_inputs or len(probe_inputs) != 1:
            raise ValueError(
                "Expected `probe` to be a built functional or sequential keras.Model with one input. "
                f"Received: {type(probe).__name__} {probe.name!r}."
            )
        if method not in METHODS:
            raise ValueError(f"Expected `method` in {METHODS}. Received: method={method!r}.")
        for name, value in (("max_samples", max_samples), ("batch_size", batch_size), ("head_epochs", head_epochs),
                            ("head_steps", head_steps)):
            check_int(value, name, 0 if name == "head_epochs" else 1)
        self.probe = probe
        self.method = method
        self.max_samples = max_samples
        self.batch_size = batch_size
        self.epochs = epochs if epochs is not None else (2 if method == "variational" else 1)
        self.head_epochs = head_epochs
        self.head_learning_rate = head_learning_rate
        self.head_weight_decay = head_weight_decay
        self.head_steps = head_steps
        self.head_l2 = float(head_l2)
        self.learning_rate = learning_rate
        self.beta = beta
        self.learn_prior = bool(learn_prior)
        self.balanced = balanced
        self.input_shape = tuple(probe_inputs[0].shape[1:])

        if feature_layer is None:
            last = probe.layers[-1]
            features = last.input
            self.feature_layer = last.name
            self.feature_tensor_name = f"input of {last.name!r}"
        else:
            features = self._layer(feature_layer, "feature_layer").output
            self.feature_layer = feature_layer
            self.feature_tensor_name = f"output of {feature_layer!r}"
        self.extractor = keras.Model(probe_inputs, features, name=f"{probe.name}_extractor")
        self.feature_dim = int(features.shape[-1])
        candidates = [layer for layer in self.extractor.layers if isinstance(layer, _FILTER_LAYERS)]
        if layers is None:
            check_int(skip_layers, "skip_layers", 0)
            selected = candidates[skip_layers:]
            if not selected:
                raise ValueError(
                    f"Expected `skip_layers` < the number of conv/dense layers of the extractor "
                    f"({len(candidates)}). Received: skip_layers={skip_layers}."
                )
        else:
            names = [layers] if isinstance(layers, str) else list(layers)
            known = {layer.name: layer for layer in self.extractor.layers}
            missing = [n for n in names if n not in known]
            if missing:
                raise ValueError(
                    f"Expected `layers` to name layers of the probe's feature extractor. Received unknown "
                    f"names {missing}; conv/dense layers are: {[layer.name for layer in candidates]}."
                )
            selected = [known[n] for n in names]
            wrong = [layer.name for layer in selected if not isinstance(layer, _FILTER_LAYERS)]
            if wrong:
                raise ValueError(f"Expected `layers` to be Conv or Dense layers. Received: {wrong}.")
        for layer in selected:
            if getattr(layer, "groups", 1) != 1:
                raise ValueError(f"Expected ungrouped convolutions. Received: layer {layer.name!r} with groups={layer.groups}.")
        self.layers = [layer.name for layer in selected]
        self._selected = selected
        self.filters = [int(layer.kernel.shape[-1]) for layer in selected]

    # ----------------------------------------------------------------- helpers
    def _layer(self, name, argument):
        try:
            return self.probe.get_layer(name)
        except ValueError:
            raise ValueError(
                f"Expected `{argument}` to name a layer of the probe {self.probe.name!r}. Received: "
                f"{argument}={name!r}; layers are: {[layer.name for layer in self.probe.layers]}."
            ) from None

    @property
    def num_filters(self):
        """Length of the embedding: the number of filters of the selected layers."""
        return sum(self.filters)

    def check_task(self, images, labels):
        """Validates and converts a task: float32 images `[M, *input_shape]`, int32 labels 0..C-1."""
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != len(self.input_shape) + 1 or any(
                d is not None and d != s for d, s in zip(self.input_shape, images.shape[1:])):
            raise ValueError(
                f"Expected `images` of shape [M, {', '.join(str(d) for d in self.input_shape)}] to match "
                f"the probe's input. Received: images.shape={images.shape}."
            )
        if labels.shape != (images.shape[0],):
            raise ValueError(f"Expected `labels` of shape [{images.shape[0]}]. Received: labels.shape={labels.shape}.")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"Expected integer `labels`. Received: labels.dtype={labels.dtype}.")
        present = np.unique(labels)
        if present.size < 2:
            raise ValueError(
                f"Expected a task with at least 2 classes. Received: {present.size} class "
                f"({present.tolist()}) in {labels.size} labels."
            )
        if present[0] != 0 or present[-1] != present.size - 1:
            raise ValueError(
                f"Expected `labels` to be 0..C-1 with every class present (C={present.size}). "
                f"Received: labels {present[:10].tolist()}{'...' if present.size > 10 else ''}."
            )
        if images.dtype == np.uint8:
            images = images.astype("float32") / 255.0
        images = images.astype("float32")
        if not np.all(np.isfinite(images)):
            raise ValueError("Expected finite `images`. Received: NaN or infinite values.")
        return images, labels.astype("int32")

    def _sample(self, labels, rng):
        """One epoch of indices: class-balanced with replacement, or a capped shuffle."""
        if not self.balanced:
            return rng.permutation(labels.size)[: self.max_samples]
        num_classes = int(labels.max()) + 1
        by_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
        classes = rng.randint(0, num_classes, size=self.max_samples)
        return np.array([by_class[c][rng.randint(len(by_class[c]))] for c in classes])

    def features(self, images):
        """phi(x) for every image, `[M, feature_dim]` (BatchNorm in inference mode)."""
        return self.extractor.predict(images, batch_size=256, verbose=0)

    # --------------------------------------------------------------- the head
    def fit_head(self, features, labels, rng):
        """Fits a zero-initialised `Dense(C)` head on cached features; returns the layer."""
        num_classes = int(labels.max()) + 1
        head = keras.layers.Dense(num_classes, kernel_initializer="zeros", name="task_head")
        head.build((None, self.feature_dim))
        if self.method == "expected":
            return self._fit_head_full_batch(head, features, labels)
        optimizer = keras.optimizers.Adam(self.head_learning_rate, weight_decay=self.head_weight_decay)
        optimizer.build(head.trainable_variables)

        features = tf.constant(features, tf.float32)
        labels_tensor = tf.constant(labels)

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
        def train(batches):
            # all steps in one graph: the head is tiny, so per-step Python overhead would dominate
            for i in tf.range(tf.shape(batches)[0]):
                rows = batches[i]
                z, y = tf.gather(features, rows), tf.gather(labels_tensor, rows)
                with tf.GradientTape() as tape:
                    loss = ops.mean(keras.losses.sparse_categorical_crossentropy(y, head(z), from_logits=True))
                optimizer.apply(tape.gradient(loss, head.trainable_variables), head.trainable_variables)

        for _ in range(self.head_epochs):
            order = self._sample(labels, rng)
            size = min(self.batch_size, order.size)
            train(tf.constant(order[: order.size // size * size].reshape(-1, size), tf.int32))
        return head

    def _fit_head_full_batch(self, head, features, labels):
        """`head_steps` full-batch Adam steps on the class-weighted cross-entropy + head_l2 ||kernel||^2."""
        optimizer = keras.optimizers.Adam(self.head_learning_rate)
        optimizer.build(head.trainable_variables)
        features = tf.constant(features, tf.float32)
        labels_tensor = tf.constant(labels)
        weights = tf.constant(_class_weights(labels), tf.float32)

        @tf.function
        def train():
            for _ in tf.range(self.head_steps):
                with tf.GradientTape() as tape:
                    cross_entropy = keras.losses.sparse_categorical_crossentropy(
                        labels_tensor, head(features), from_logits=True)
                    loss = ops.mean(weights * cross_entropy) + self.head_l2 * ops.sum(ops.square(head.kernel))
                optimizer.apply(tape.gradient(loss, head.trainable_variables), head.trainable_variables)

        train()
        return head

    # ----------------------------------------------------------- estimators
    def _tapped_extractor(self):
        """The extractor with the selected layers wrapped so their outputs can be differentiated.

        Returns `(network, taps)`: a clone sharing the probe's weights, and the noise-free
        `_LocalReparametrization` wrappers of the selected layers, in order.
        """
        taps = {layer.name: _LocalReparametrization(layer, noise=False) for layer in self._selected}
        network = keras.models.clone_model(self.extractor, clone_function=lambda layer: taps.get(layer.name, layer))
        return network, list(taps.values())

    def estimate(self, images, labels, seed=0):
        """Estimates the per-filter Fisher information of the task `(images, labels)`.

        Args:
            images: `[M, *input_shape]` images, uint8 in [0, 255] or floats in [0, 1].
            labels: int `[M]`, classes 0..C-1 (C >= 2, every class present).
            seed: seed of the sampling, the Monte Carlo labels and the variational noise.

        Returns:
            A dict: `"fisher"` `[num_filters]`, the embedding (the MC Fisher; for
            `"expected"` and `"variational"` the precision per image (beta / N)
            Lambda), `"trivial"` `[num_filters]` (zeros for MC; the prior's
            (beta / N) lambda^2 of each filter's layer otherwise), `"information"`
            `[num_filters]`, the Fisher information F itself (for variational, read off
            its optimum: (beta / N) (Lambda - lambda^2)),
            `"head_accuracy"` (the
            head's accuracy on the task images), `"features_mean"` `[feature_dim]`
            (the domain embedding: mean probe activations), `"head"` (the fitted
            `Dense` head layer).
        """
        images, labels = self.check_task(images, labels)
        rng = np.random.RandomState(seed)
        features = self.features(images)
        head = self.fit_head(features, labels, rng)
        self._check_finite("head weights", np.concatenate([np.ravel(w) for w in head.get_weights()]), labels)
        head_accuracy = float(np.mean(np.argmax(np.asarray(head(features)), -1) == labels))
        if self.method == "montecarlo":
            fisher = information = self._montecarlo(images, labels, head, rng, seed)
            trivial = np.zeros_like(fisher)
        else:
            # the precision per image, (beta / N) Lambda = F + (beta / N) lambda^2, the paper's
            # "estimator of the FIM F, biased towards the prior" (Sect. 3.1): Lambda itself grows
            # with N, so tasks of different sizes would differ by scale more than by pattern
            scale = self.beta / labels.size
            if self.method == "expected":
                information = self._expected(images, labels, head, rng).astype(np.float64)
                trivial = scale * self.prior_precision().astype(np.float64)
                fisher = information + trivial
            else:
                precision, prior = self._variational(images, labels, head, rng, seed)
                fisher, trivial = scale * precision.astype(np.float64), scale * prior.astype(np.float64)
                information = fisher - trivial
            fisher, trivial, information = (v.astype("float32") for v in (fisher, trivial, information))
        self._check_finite("Fisher information", np.concatenate([fisher, trivial]), labels)
        return {"fisher": fisher, "trivial": trivial, "information": information, "head_accuracy": head_accuracy,
                "features_mean": features.mean(0), "num_images": int(labels.size),
                "num_classes": int(labels.max()) + 1, "head": head}

    def prior_precision(self):
        """lambda^2 `[num_filters]`: 1 / mean(w^2) of each filter's layer, the variational estimator's fixed prior."""
        return np.concatenate([np.full(f, 1.0 / weight_scale_variance(layer.kernel))
                               for layer, f in zip(self._selected, self.filters)]).astype("float32")

    def _check_finite(self, name, values, labels):
        if not np.all(np.isfinite(values)):
            raise FloatingPointError(
                f"The probe diverged: its {name} on this task ({labels.size} images) are NaN or inf. Lower "
                f"head_learning_rate={self.head_learning_rate:g} (or learning_rate={self.learning_rate:g}, "
                "variational)."
            )

    def _montecarlo(self, images, labels, head, rng, seed):
        network, taps = self._tapped_extractor()

        @tf.function(input_signature=[tf.TensorSpec((None, *self.input_shape)), tf.TensorSpec([2], tf.int32)])
        def batch_fisher(x, step_seed):
            with tf.GradientTape() as tape:
                logits = head(network(x, training=False))
                y = tf.stop_gradient(tf.random.stateless_categorical(logits, 1, step_seed)[:, 0])
                log_likelihood = -keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
                total = tf.reduce_sum(log_likelihood)
            # examples are independent (BatchNorm in inference mode), so the gradient of the
            # summed log-likelihood w.r.t. a layer's pre-activations is per example
            output_grads = tape.gradient(total, [tap.last_output for tap in taps])
            return [tap.per_example_squared_gradient(g) for tap, g in zip(taps, output_grads)]

        sums = [np.zeros(f, np.float64) for f in self.filters]
        count = 0
        for epoch in range(self.epochs):
            order = self._sample(labels, rng)
            for start in range(0, order.size, self.batch_size):
                rows = order[start:start + self.batch_size]
                parts = batch_fisher(tf.constant(images[rows]), tf.constant([seed, epoch * 1000003 + start], tf.int32))
                sums = [s + np.asarray(p, np.float64).sum(0) for s, p in zip(sums, parts)]
                count += rows.size
        return np.concatenate([s / count for s in sums]).astype("float32")

    def _expected(self, images, labels, head, rng):
        num_classes = int(labels.max()) + 1
        if labels.size > self.max_samples:  # a class-balanced sample, equally weighted
            rows = self._sample(labels, rng)
            weights = np.ones(rows.size)
        else:  # every image once, weighted so that every class counts equally
            rows = np.arange(labels.size)
            weights = _class_weights(labels)
        network, taps = self._tapped_extractor()

        @tf.function(input_signature=[tf.TensorSpec((None, *self.input_shape)), tf.TensorSpec([None])])
        def batch_fisher(x, w):
            # one forward pass; E_y exactly with one backward pass per class through it
            with tf.GradientTape(persistent=True) as tape:
                log_p = tf.nn.log_softmax(head(network(x, training=False)))
                class_totals = tf.unstack(tf.reduce_sum(log_p, 0), num=num_classes)
            outputs = [tap.last_output for tap in taps]
            p = w[:, None] * tf.exp(tf.stop_gradient(log_p))
            totals = [tf.zeros([f]) for f in self.filters]
            for c in range(num_classes):
                output_grads = tape.gradient(class_totals[c], outputs)
                totals = [t + tf.linalg.matvec(tap.per_example_squared_gradient(g), p[:, c], transpose_a=True)
                          for t, tap, g in zip(totals, taps, output_grads)]
            del tape
            return totals

        sums = [np.zeros(f, np.float64) for f in self.filters]
        for start in range(0, rows.size, self.batch_size):
            batch = rows[start:start + self.batch_size]
            parts = batch_fisher(tf.constant(images[batch]), tf.constant(weights[start:start + self.batch_size], tf.float32))
            sums = [s + np.asarray(p, np.float64) for s, p in zip(sums, parts)]
        return np.concatenate([s / weights.sum() for s in sums]).astype("float32")

    def _variational(self, images, labels, head, rng, seed):
        noisy = {}
        for layer in self._selected:
            noisy[layer.name] = _LocalReparametrization(layer, seed=seed + len(noisy))

        def clone(layer):
            return noisy.get(layer.name, layer)

        network = keras.models.clone_model(self.extractor, clone_function=clone)
        wrappers = list(noisy.values())
        variational = [w.log_variance for w in wrappers]
        if self.learn_prior:
            variational += [w.log_prior_precision for w in wrappers]
        head_variables = head.trainable_variables
        optimizer = keras.optimizers.Adam(self.learning_rate)
        optimizer.build(variational)
        head_optimizer = keras.optimizers.Adam(self.head_learning_rate / 10, weight_decay=self.head_weight_decay)
        head_optimizer.build(head_variables)
        kl_weight = self.beta / labels.size

        @tf.function(input_signature=[tf.TensorSpec((None, *self.input_shape)), tf.TensorSpec([None], tf.int32)])
        def step(x, y):
            with tf.GradientTape() as tape:
                logits = head(network(x, training=False))
                cross_entropy = ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
                kl = tf.add_n([w.kl() for w in wrappers])
                loss = cross_entropy + kl_weight * kl
            grads = tape.gradient(loss, variational + head_variables)
            optimizer.apply(grads[: len(variational)], variational)
            head_optimizer.apply(grads[len(variational):], head_variables)
            return cross_entropy

        for _ in range(self.epochs):
            order = self._sample(labels, rng)
            for start in range(0, order.size, self.batch_size):
                rows = order[start:start + self.batch_size]
                step(tf.constant(images[rows]), tf.constant(labels[rows]))
        precision = np.concatenate([np.exp(-np.asarray(w.log_variance)) for w in wrappers])
        prior = np.concatenate([np.full(f, np.exp(float(w.log_prior_precision))) for w, f in zip(wrappers, self.filters)])
        return precision.astype("float32"), prior.astype("float32")


def _class_weights(labels):
    """Per-example weights M / (C * count(class)): every class carries the same total weight."""
    counts = np.bincount(labels)
    return (labels.size / (counts.size * counts))[labels]
