"""AMAZ: Attribute-Modulated generAtive meta-model for Zero-shot learning (Li et al. 2021)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kzoo import presets
from kzoo.applications.amaz.meta_training import MetaTraining
from kzoo.checks import check_float, check_int, check_sizes
from kzoo.layers.attribute_modulator import AttributeModulator
from kzoo.layers.dense_block import DenseBlock
from kzoo.training.callbacks import DivergenceCheck


@keras.saving.register_keras_serializable(package="kzoo")
class AMAZ(presets.PresetMixin, MetaTraining, DivergenceCheck, keras.Model):
    """Attribute-modulated generative meta-model for zero-shot learning.

    A generator G synthesizes visual features `x_hat = G(z, a)` from a class's
    attributes `a` and noise `z ~ N(0, sigma)`. An Attribute Projector AP embeds
    the attribute set of a task's N classes (eq. 1: `e = mean_n FDL(a_n)`), and one
    `AttributeModulator` per generator layer, the input `(z, a)` included, turns `e`
    into `(w_j, b_j)` and modulates that layer's output (eq. 2-3). A discriminator
    D (a Wasserstein critic conditioned on `a`), an attribute discriminator AD
    (a decoder back to attributes, eq. 4-5) and an auxiliary classifier C train G.

    `fit` on batches of tasks from `zero_shot_tasks(...)` runs Algorithm 1: on the
    support sets, one SGD step each on D (eq. 6, learning rate alpha_1), then on
    (AP, AM, AD) with L_AD (eq. 5, alpha_2), then on (G, C) with L_GC (eq. 7,
    alpha_3); on the query sets, the gradients of the same three losses at the
    adapted weights update the original weights with three Adam optimizers
    (beta_1..beta_3), summed over the batch of tasks (a first-order meta-update;
    the batch of tasks is adapted together, as the paper says after eq. 11).

    `model({"attributes": a, "noise": z})` synthesizes one feature per row, each
    row modulated by its own class (a task of one class, its attributes
    replicated); `synthesize(class_attributes, n)` draws `n` features per class with
    `sigma = synthesis_sigma`. The final classifiers are in
    `kzoo.applications.amaz.classifiers`.

    Networks (the supplementary; sizes configurable): G = FDL(2048), FBD(2048),
    FBD(2048), LeakyReLU, FC(feature_dim); AP = FDL(2048); D = FDL(1024), FC(1024),
    Dropout, FDL(512), FC(1) on `[x, a]`; C = FDL(512), FDL(512),
    FC(num_classes); AD = FDL(1024), FDL(512), FC(attribute_dim). The
    supplementary's last FC(512) of C, AD and D is read as their output layer.

    Args:
        feature_dim: F, size of a visual feature. Defaults to `2048` (ResNet-101).
        attribute_dim: A, size of a class's attribute vector. Defaults to `85` (AwA).
        num_classes: S, seen classes, the label space of C (task classes in
            `support_classes`/`query_classes` index them). Defaults to `40`.
        noise_dim: Z. Defaults to `None`, which means `attribute_dim` (as in
            f-CLSWGAN and ZSML).
        generator_units: sizes of G's blocks (the first FDL, the others FBD).
            Defaults to `(2048, 2048, 2048)`.
        embedding_dim: size of AP's task embedding e. Defaults to `2048`.
        discriminator_units: D's block sizes. Defaults to `(1024, 512)`.
        classifier_units: C's hidden sizes. Defaults to `(512, 512)`.
        decoder_units: AD's hidden sizes. Defaults to `(1024, 512)`.
        dropout: dropout rate of every block. Defaults to `0.5`.
        modulate: use AP and AM. `False` gives the ZSML-like baseline (same G, D,
            C, AD and training, no modulation). Defaults to `True`.
        modulator_base, modulator_operator, modulator_activation, modulator_bias:
            the modulation operator (`AttributeModulator`'s `base`, `operator`,
            `activation`, `bias`; the Table IV ablation). Defaults to eq. (3):
            `True`, `"+"`, `"sigmoid"`, `True`.
        modulator_initialization: `"identity"`: every modulator starts near
            `o' = o` (for eq. 3, scale `1 + sigmoid(-4) = 1.018` and offset
            `sigmoid(-4) = 0.018`; `AttributeModulator`'s `initialization`);
            `"zeros"`: zero logits, so eq. (3) starts as `1.5 * o + 0.5` at each
            of the 5 layers. The paper gives no initialization; with `"zeros"`
            AMAZ stays at chance on the built-in glyph set (applications/amaz/
            README.md). Defaults to `"identity"`.
        inner_learning_rates: `(alpha_1, alpha_2, alpha_3)` of the support-set SGD
            steps. Defaults to `(1e-3, 1e-3, 1e-3)`.
        inner_clipnorm: the global norm each support-set step's gradient is clipped
            to, per group. `None` gives the paper's plain SGD step. Defaults to `10.0`:
            with plain steps, the meta-update (which only sees the losses after a
            step) let the critic's own gradient penalty grow to ~1,000 while one
            support step of norm ~3,000 repaired it, until a step overshot and the
            run diverged to NaN (applications/amaz/README.md, "Divergence"); a
            bounded step cannot repair it, so the meta-update keeps the critic
            Lipschitz itself. Healthy steps have norms below 10.
        meta_learning_rates: `(beta_1, beta_2, beta_3)`, the Adam learning rates
            `compile()` uses by default. Defaults to `(1e-3, 1e-5, 1e-5)`.
        gradient_penalty: lambda of the WGAN-GP penalty added to eq. (6); `0`
            gives the plain critic of eq. (6). Defaults to `10.0`.
        train_sigma: noise std in training. Defaults to `0.1`.
        synthesis_sigma: noise std when synthesizing. Defaults to `1.0`.
        output_activation: activation of G's output, after the last modulation
            (e.g. `"relu"` for post-ReLU features, which are >= 0; the supplementary
            gives none). Defaults to `None` (linear).
        modulation_scope: the attribute set AP embeds in training. `"task"`: the
            task's N classes (eq. 1), one modulation per task; `"class"`: each
            sample's own class, i.e. the replicated single-class set the paper
            uses at inference, so that training and synthesis see the same kind
            of embedding. Defaults to `"task"`.
        modulator_objective: the loss (AP, AM, AD) minimise. `"ad"`: L_AD (eq. 5), as
            in Algorithm 1 (lines 11 and 13); `"gc"`: L_GC (eq. 7), as in eq. (8) and
            the text of Sec. II-C ("optimizing theta_am to minimize L_GC"), which puts
            the modulation under the critic too. Defaults to `"gc"`: with `"ad"`
            the modulators, never constrained by the critic, moved G's features off
            the real ones and AMAZ stayed at chance on the built-in glyph set
            (applications/amaz/README.md).
        classifier_training: how C, whose cross-entropy on G's features is part of
            L_GC (eq. 7), is trained. `"joint"`: with G on G's own features, as in
            eq. (7) and Algorithm 1 (C never sees a real feature); `"pretrained"`: on
            the real seen-class features first (`pretrain_classifier`), then frozen,
            as f-CLSWGAN's classifier. On the built-in glyph set the jointly trained
            C classified 17% of the real test_seen features (519 classes), the
            pretrained one 87% (applications/amaz/README.md, "Why AMAZ trails
            f-CLSWGAN"). Defaults to `"joint"` (the paper).
        seed: seed of the training noise. Defaults to `0`.

    Example:

    >>> import numpy as np
    >>> model = AMAZ(feature_dim=16, attribute_dim=6, num_classes=20, generator_units=(32, 32),
    ...              embedding_dim=16, discriminator_units=(16,), classifier_units=(16,), decoder_units=(16,))
    >>> features, labels = model.synthesize(np.random.uniform(size=(3, 6)), num_per_class=4)
    >>> features.shape, labels.tolist()
    ((12, 16), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])

    Reference: Li, Liu, Yao, Chang, "Attribute-Modulated Generative Meta Learning
    for Zero-Shot Learning", 2021 (arXiv:2104.10857).
    """

    preset_folder = "amaz"

    def __init__(self, feature_dim=2048, attribute_dim=85, num_classes=40, noise_dim=None,
                 generator_units=(2048, 2048, 2048), embedding_dim=2048, discriminator_units=(1024, 512),
                 classifier_units=(512, 512), decoder_units=(1024, 512), dropout=0.5, modulate=True,
                 modulator_base=True, modulator_operator="+", modulator_activation="sigmoid", modulator_bias=True,
                 modulator_initialization="identity", inner_learning_rates=(1e-3, 1e-3, 1e-3),
                 meta_learning_rates=(1e-3, 1e-5, 1e-5),
                 gradient_penalty=10.0, train_sigma=0.1, synthesis_sigma=1.0, seed=0, output_activation=None,
                 modulation_scope="task", modulator_objective="gc", inner_clipnorm=10.0, classifier_training="joint",
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (("feature_dim", feature_dim), ("attribute_dim", attribute_dim),
                            ("num_classes", num_classes), ("embedding_dim", embedding_dim)):
            check_int(value, name, 1)
        noise_dim = attribute_dim if noise_dim is None else noise_dim
        check_int(noise_dim, "noise_dim", 1)
        self.feature_dim, self.attribute_dim, self.num_classes = feature_dim, attribute_dim, num_classes
        self.noise_dim, self.embedding_dim = noise_dim, embedding_dim
        self.generator_units = check_sizes(generator_units, "generator_units", allow_empty=False)
        self.discriminator_units = check_sizes(discriminator_units, "discriminator_units", allow_empty=False)
        self.classifier_units = check_sizes(classifier_units, "classifier_units", allow_empty=False)
        self.decoder_units = check_sizes(decoder_units, "decoder_units", allow_empty=False)
        self.dropout = check_float(dropout, "dropout", 0, 1, inclusive=(True, False))
        self.modulate = bool(modulate)
        self.modulator_base, self.modulator_operator = bool(modulator_base), modulator_operator
        self.modulator_activation, self.modulator_bias = modulator_activation, bool(modulator_bias)
        if modulator_initialization not in ("identity", "zeros"):
            raise ValueError(f'Expected `modulator_initialization` "identity" or "zeros". '
                             f"Received: modulator_initialization={modulator_initialization!r}.")
        self.modulator_initialization = modulator_initialization
        for name, rates in (("inner_learning_rates", inner_learning_rates),
                            ("meta_learning_rates", meta_learning_rates)):
            if len(tuple(rates)) != 3:
                raise ValueError(f"Expected `{name}` of 3 learning rates (D, AP/AM/AD, G/C). Received: {rates!r}.")
            for rate in rates:
                check_float(rate, name, 0)
        self.inner_learning_rates = tuple(float(r) for r in inner_learning_rates)
        self.inner_clipnorm = None if inner_clipnorm is None else check_float(inner_clipnorm, "inner_clipnorm", 0)
        self.meta_learning_rates = tuple(float(r) for r in meta_learning_rates)
        self.gradient_penalty = check_float(gradient_penalty, "gradient_penalty", 0, inclusive=(True, True))
        self.train_sigma = check_float(train_sigma, "train_sigma", 0)
        self.synthesis_sigma = check_float(synthesis_sigma, "synthesis_sigma", 0)
        self.seed = check_int(seed, "seed", 0)
        self.output_activation = output_activation
        if modulation_scope not in ("task", "class"):
            raise ValueError(f'Expected `modulation_scope` in ["task", "class"]. '
                             f"Received: modulation_scope={modulation_scope!r}.")
        self.modulation_scope = modulation_scope
        if modulator_objective not in ("ad", "gc"):
            raise ValueError(f'Expected `modulator_objective` in ["ad", "gc"]. '
                             f"Received: modulator_objective={modulator_objective!r}.")
        self.modulator_objective = modulator_objective
        if classifier_training not in ("joint", "pretrained"):
            raise ValueError(f'Expected `classifier_training` in ["joint", "pretrained"]. '
                             f"Received: classifier_training={classifier_training!r}.")
        self.classifier_training = classifier_training
        self._output_activation = keras.activations.get(output_activation)

        block = dict(dropout=self.dropout, dtype=self.dtype_policy)
        units = self.generator_units
        self.generator_blocks = [DenseBlock(u, "fdl" if i == 0 else "fbd", name=f"generator_{i}", **block)
                                 for i, u in enumerate(units)]
        self.generator_output = DenseBlock(feature_dim, "fc", name="generator_output", **block)
        if self.modulate:
            self.projector = DenseBlock(embedding_dim, "fdl", name="attribute_projector", **block)
            self.modulators = [
                AttributeModulator(size, base=self.modulator_base, operator=modulator_operator,
                                   activation=modulator_activation, bias=self.modulator_bias,
                                   initialization=modulator_initialization,
                                   name=f"attribute_modulator_{j}", dtype=self.dtype_policy)
                for j, size in enumerate((noise_dim + attribute_dim, *units, feature_dim))]
        else:
            self.projector, self.modulators = None, []
        d_units = self.discriminator_units
        self.critic_blocks = []
        for i, u in enumerate(d_units[:-1]):
            self.critic_blocks += [DenseBlock(u, "fdl", name=f"discriminator_{i}_fdl", **block),
                                   DenseBlock(u, "fcd", name=f"discriminator_{i}_fc", **block)]
        self.critic_blocks += [DenseBlock(d_units[-1], "fdl", name="discriminator_last_fdl", **block),
                               DenseBlock(1, "fc", name="discriminator_output", **block)]
        self.classifier_blocks = [DenseBlock(u, "fdl", name=f"classifier_{i}", **block)
                                  for i, u in enumerate(self.classifier_units)]
        self.classifier_blocks.append(DenseBlock(num_classes, "fc", name="classifier_output", **block))
        self.decoder_blocks = [DenseBlock(u, "fdl", name=f"attribute_discriminator_{i}", **block)
                               for i, u in enumerate(self.decoder_units)]
        self.decoder_blocks.append(DenseBlock(attribute_dim, "fc", name="attribute_discriminator_output", **block))
        self.seed_generator = keras.random.SeedGenerator(self.seed)

        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("d_loss", "wasserstein", "g_loss", "ad_loss", "c_loss")}
        self.attribute_optimizer = None
        self.generator_optimizer = None

    # -- building -----------------------------------------------------------------------

    def episode_shapes(self):
        """Input shapes of `call` (the name `PresetMixin` and `export_serving` use)."""
        return {"attributes": (None, self.attribute_dim), "noise": (None, self.noise_dim)}

    def build(self, input_shape=None):
        F, A = self.feature_dim, self.attribute_dim
        shape = (None, None, self.noise_dim + A)
        embedding_shape = (None, self.embedding_dim)
        if self.modulate:
            self.projector.build((None, None, A))
            self.modulators[0].build(shape, embedding_shape)
        for j, block in enumerate(self.generator_blocks):
            block.build(shape)
            shape = block.compute_output_shape(shape)
            if self.modulate:
                self.modulators[j + 1].build(shape, embedding_shape)
        self.generator_output.build(shape)
        if self.modulate:
            self.modulators[-1].build((None, None, F), embedding_shape)
        for blocks, width in ((self.critic_blocks, F + A), (self.classifier_blocks, F), (self.decoder_blocks, F)):
            shape = (None, None, width)
            for block in blocks:
                block.build(shape)
                shape = block.compute_output_shape(shape)
        self.built = True

    # -- networks -----------------------------------------------------------------------

    @staticmethod
    def _stack(blocks, h, training):
        for block in blocks:
            h = block(h, training=training)
        return h

    def task_embedding(self, class_attributes, training=None):
        """Eq. (1): AP's embedding of a task's attribute set, `[T, N, A] -> [T, E]`."""
        return ops.mean(self.projector(class_attributes, training=training), axis=1)

    def generate(self, noise, attributes, embedding=None, training=None):
        """G with modulation (eq. 3 at every layer): `[T, M, Z], [T, M, A], [T, E] -> [T, M, F]`.

        A per-sample embedding `[T, M, E]` modulates every sample on its own."""
        if embedding is not None and len(embedding.shape) == 3:
            shape = tf.shape(noise)
            flat = lambda t: tf.reshape(t, tf.concat([[-1, 1], tf.shape(t)[2:]], axis=0))
            h = self.generate(flat(noise), flat(attributes), tf.reshape(embedding, [-1, embedding.shape[-1]]),
                              training=training)
            return tf.reshape(h, tf.concat([shape[:2], [self.feature_dim]], axis=0))
        h = ops.concatenate([noise, attributes], axis=-1)
        if self.modulate:
            h = self.modulators[0](h, embedding)
        for j, block in enumerate(self.generator_blocks):
            h = block(h, training=training)
            if self.modulate:
                h = self.modulators[j + 1](h, embedding)
        h = self.generator_output(ops.leaky_relu(h, 0.2), training=training)
        if self.modulate:
            h = self.modulators[-1](h, embedding)
        return self._output_activation(h)

    def critic(self, features, attributes, training=None):
        """D's score of features conditioned on attributes: `[..., F], [..., A] -> [..., 1]`."""
        return self._stack(self.critic_blocks, ops.concatenate([features, attributes], axis=-1), training)

    def classify(self, features, training=None):
        """C's logits over the S seen classes: `[..., F] -> [..., S]`."""
        return self._stack(self.classifier_blocks, features, training)

    def decode_attributes(self, features, training=None):
        """AD, eq. (4): reconstructed attributes `a' = AD(x)`, `[..., F] -> [..., A]`."""
        return self._stack(self.decoder_blocks, features, training)

    def call(self, inputs, training=None):
        """Features `[B, F]` for `{"attributes": [B, A], "noise": [B, Z]}`, one class per row."""
        attributes, noise = self._check_synthesis_inputs(inputs)
        attributes, noise = attributes[:, None, :], noise[:, None, :]
        # a task made of one class (its attributes replicated): e = AP(a), eq. (1)
        embedding = self.task_embedding(attributes, training) if self.modulate else None
        return self.generate(noise, attributes, embedding, training=training)[:, 0, :]

    def _check_synthesis_inputs(self, inputs):
        if not isinstance(inputs, dict) or set(inputs) != {"attributes", "noise"}:
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise ValueError(f"Expected a dict with keys ['attributes', 'noise']. Received: {got}.")
        attributes = ops.cast(inputs["attributes"], self.compute_dtype)
        noise = ops.cast(inputs["noise"], self.compute_dtype)
        for name, value, size in (("attributes", attributes, self.attribute_dim), ("noise", noise, self.noise_dim)):
            if len(value.shape) != 2 or value.shape[-1] != size:
                raise ValueError(f"Expected `{name}` of shape [B, {size}] (the model's "
                                 f"{'attribute_dim' if name == 'attributes' else 'noise_dim'}). "
                                 f"Received: {name}.shape={tuple(value.shape)}.")
        check = tf.debugging.assert_all_finite(attributes, "attributes has NaN or inf values")
        with tf.control_dependencies([check]):
            return tf.identity(attributes), noise

    def pretrain_classifier(self, features, labels, epochs=25, batch_size=64, learning_rate=1e-3, verbose=0):
        """Trains C alone on real features of the seen classes (`classifier_training="pretrained"`).

        Args:
            features: float `[M, F]` real features (scaled as in training).
            labels: int `[M]`, C's class indices `0..num_classes-1`.
            epochs, batch_size, learning_rate: Adam on the cross-entropy (f-CLSWGAN's
                pretrained classifier: 25 epochs, 64, 1e-3).
            verbose: Keras's `fit` verbosity. Defaults to `0`.

        Returns:
            The `keras.callbacks.History` of the fit.
        """
        features, labels = np.asarray(features, np.float32), np.asarray(labels)
        if features.ndim != 2 or features.shape[1] != self.feature_dim:
            raise ValueError(f"Expected `features` of shape [M, {self.feature_dim}] (the model's feature_dim). "
                             f"Received: {features.shape}.")
        if labels.shape != features.shape[:1] or labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"Expected `labels` of shape [{features.shape[0]}] in 0..{self.num_classes - 1} "
                             f"(C's classes). Received: shape {labels.shape}, values {labels.min()}..{labels.max()}.")
        if not self.built:  # every block through the model's own build, so that compile() does not rebuild C
            self.build()
        classifier = keras.Sequential([keras.Input((self.feature_dim,)), *self.classifier_blocks],
                                      name="pretrained_classifier")
        classifier.compile(keras.optimizers.Adam(learning_rate),
                           keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return classifier.fit(features, labels.astype("int32"), batch_size=batch_size, epochs=epochs,
                              verbose=verbose)

    # -- synthesis ----------------------------------------------------------------------

    def synthesize(self, class_attributes, num_per_class, sigma=None, seed=0, batch_size=4096):
        """Draws `num_per_class` synthetic features per class (the paper's inference).

        Each class is its own task: its attributes, replicated, modulate G; the
        noise is `z ~ N(0, sigma)`.

        Args:
            class_attributes: float `[C, A]`, one row per class.
            num_per_class: features per class.
            sigma: noise std. Defaults to `synthesis_sigma` (1.0 in the paper).
            seed: noise seed. Defaults to `0`.
            batch_size: rows per generator call. Defaults to `4096`.

        Returns:
            `(features [C * num_per_class, F], labels [C * num_per_class])` NumPy
            arrays; `labels` are row indices of `class_attributes`, class by class.
        """
        class_attributes = np.asarray(class_attributes, np.float32)
        if class_attributes.ndim != 2 or class_attributes.shape[1] != self.attribute_dim:
            raise ValueError(f"Expected `class_attributes` of shape [C, {self.attribute_dim}] (the model's "
                             f"attribute_dim). Received: {class_attributes.shape}.")
        if not np.all(np.isfinite(class_attributes)):
            raise ValueError("Expected finite `class_attributes`. Received: NaN or inf values.")
        check_int(num_per_class, "num_per_class", 1)
        sigma = self.synthesis_sigma if sigma is None else check_float(sigma, "sigma", 0)
        if not self.built:
            self.build()
        labels = np.repeat(np.arange(class_attributes.shape[0]), num_per_class)
        noise = sigma * tf.random.stateless_normal([labels.size, self.noise_dim], [int(seed), 7]).numpy()
        fn = self._inference_function()
        features = [fn(class_attributes[labels[i:i + batch_size]], noise[i:i + batch_size]).numpy()
                    for i in range(0, labels.size, batch_size)]
        return np.concatenate(features).astype(np.float32), labels

    def reconstruct_attributes(self, features, batch_size=4096):
        """AD's reconstruction `a'` of `[M, F]` features (inference mode), `[M, A]`."""
        features = np.asarray(features, np.float32)
        if features.ndim != 2 or features.shape[1] != self.feature_dim:
            raise ValueError(f"Expected `features` of shape [M, {self.feature_dim}]. Received: {features.shape}.")
        if not self.built:
            self.build()
        fn = getattr(self, "_decode_fn", None)
        if fn is None:
            fn = self._decode_fn = tf.function(lambda x: self.decode_attributes(x, training=False), reduce_retracing=True)
        return np.concatenate([fn(features[i:i + batch_size]).numpy() for i in range(0, len(features), batch_size)]
                              or [np.zeros((0, self.attribute_dim), np.float32)])

    def _inference_function(self):
        fn = getattr(self, "_synthesis_fn", None)
        if fn is None:
            fn = self._synthesis_fn = tf.function(self.serve_features, input_signature=self.serving_specs())
        return fn

    # -- Algorithm 1 ----------------------------------------------------------------------

    def serving_specs(self):
        """Named `tf.TensorSpec`s of the export: `attributes` `[B, A]`, `noise` `[B, Z]`."""
        return [tf.TensorSpec((None, self.attribute_dim), tf.float32, name="attributes"),
                tf.TensorSpec((None, self.noise_dim), tf.float32, name="noise")]

    def serve_features(self, attributes, noise):
        return self({"attributes": attributes, "noise": noise}, training=False)

    def serve(self, attributes, noise):
        """The export endpoint: `{"features": [B, F]}` for class attributes and noise."""
        return {"features": self.serve_features(attributes, noise)}

    def get_config(self):
        return {
            **super().get_config(), "feature_dim": self.feature_dim, "attribute_dim": self.attribute_dim,
            "num_classes": self.num_classes, "noise_dim": self.noise_dim,
            "generator_units": list(self.generator_units), "embedding_dim": self.embedding_dim,
            "discriminator_units": list(self.discriminator_units), "classifier_units": list(self.classifier_units),
            "decoder_units": list(self.decoder_units), "dropout": self.dropout, "modulate": self.modulate,
            "modulator_base": self.modulator_base, "modulator_operator": self.modulator_operator,
            "modulator_activation": self.modulator_activation, "modulator_bias": self.modulator_bias,
            "modulator_initialization": self.modulator_initialization,
            "inner_learning_rates": list(self.inner_learning_rates), "inner_clipnorm": self.inner_clipnorm,
            "meta_learning_rates": list(self.meta_learning_rates), "gradient_penalty": self.gradient_penalty,
            "train_sigma": self.train_sigma, "synthesis_sigma": self.synthesis_sigma, "seed": self.seed,
            "output_activation": self.output_activation, "modulation_scope": self.modulation_scope,
            "modulator_objective": self.modulator_objective, "classifier_training": self.classifier_training,
        }
