"""AMAZ's meta-training (Algorithm 1): three parameter groups, support-set steps, meta-updates, replicas.

`MetaTraining` is mixed into `AMAZ` (kzoo/applications/amaz/model.py holds the
networks, synthesis and serving). Per batch of T tasks, for each group in `PHASES`
(D; AP, AM, AD; G, C): one SGD step on the support sets written into the model's
variables (eq. 9-10), then the group's meta-update on the query sets with its own
optimizer (eq. 11).
"""

import keras
import tensorflow as tf
from keras import ops

from kzoo import distribute
from kzoo.applications.amaz import losses
from kzoo.episodes.zero_shot import TASK_KEYS
from kzoo.training.inner_loop import adapt

#: the three parameter groups of Algorithm 1, in the order each batch updates them
PHASES = ("discriminator", "attribute", "generator")


class MetaTraining:
    """Algorithm 1 as `train_step`, `test_step`, `compile` and `fit` of a Keras model (mixed into `AMAZ`)."""

    def phase_variables(self, phase):
        """The trainable variables of one group: `"discriminator"` (D), `"attribute"`
        (AP, AM, AD) or `"generator"` (G, and C unless `classifier_training="pretrained"`)."""
        if phase == "discriminator":
            layers = self.critic_blocks
        elif phase == "attribute":
            layers = ([self.projector] if self.modulate else []) + self.modulators + self.decoder_blocks
        elif phase == "generator":
            layers = self.generator_blocks + [self.generator_output]
            if self.classifier_training == "joint":
                layers = layers + self.classifier_blocks
        else:
            raise ValueError(f"Expected `phase` in {list(PHASES)}. Received: phase={phase!r}.")
        return [v for layer in layers for v in layer.trainable_variables]

    def _task_random(self, draw, shape, **kwargs):
        """`draw(shape)` (float32, from the model's seed generator) for this replica's tasks.

        Under a strategy with R replicas each replica draws the numbers of the whole
        batch of `R * shape[0]` tasks and keeps its own slice, so training uses the
        same noise as on one device (and the replicas different noise)."""
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas == 1:
            return draw(shape, dtype="float32", seed=self.seed_generator, **kwargs)
        local = shape[0]
        values = draw(tf.concat([[local * replicas], shape[1:]], axis=0), dtype="float32", seed=self.seed_generator,
                      **kwargs)
        start = local * tf.cast(context.replica_id_in_sync_group, local.dtype)
        return values[start:start + local]

    def _task_inputs(self, batch, part, training):
        classes_attributes = ops.cast(batch[f"{part}_attributes"], self.compute_dtype)
        labels = batch[f"{part}_y"]
        attributes = tf.gather(classes_attributes, labels, batch_dims=1)  # [T, M, A]
        real = ops.cast(batch[f"{part}_x"], self.compute_dtype)
        shape = tf.concat([tf.shape(real)[:2], [self.noise_dim]], axis=0)
        # drawn in float32 (then cast): the same noise under every dtype policy
        noise = ops.cast(self._task_random(keras.random.normal, shape, stddev=self.train_sigma), self.compute_dtype)
        if not self.modulate:
            embedding = None
        elif self.modulation_scope == "class":  # AP of each sample's own (replicated) class: [T, M, E]
            embedding = self.projector(attributes, training=training)
        else:
            embedding = self.task_embedding(classes_attributes, training)
        return real, attributes, noise, embedding

    def phase_loss(self, phase, batch, part="support", training=True):
        """The loss one group minimises on the `part` ("support"/"query") sets of a task batch.

        - `"discriminator"`: eq. (6) as a critic loss plus the gradient penalty,
          with G's output held fixed;
        - `"attribute"`: L_AD, eq. (5), through AD(G(a, z)) into AP and AM (with
          `modulator_objective="gc"`: L_GC, eq. 7-8);
        - `"generator"`: L_GC, eq. (7): `-E[D(G(a, z), a)] + L_AD + CE(C(G(a, z)), y)`,
          C's logits restricted to the task's N classes.

        Returns:
            `(loss, logs)` with the loss terms in `logs`.
        """
        real, attributes, noise, embedding = self._task_inputs(batch, part, training)
        fake = self.generate(noise, attributes, embedding, training=training)
        f32 = lambda t: ops.cast(t, "float32")  # losses in float32 under a mixed-precision policy
        if phase == "discriminator":
            fake = tf.stop_gradient(fake)
            wasserstein = -losses.critic_loss(f32(self.critic(real, attributes, training)),
                                              f32(self.critic(fake, attributes, training)))
            loss = -wasserstein
            if self.gradient_penalty:
                mix = ops.cast(self._task_random(keras.random.uniform, tf.concat([tf.shape(real)[:2], [1]], axis=0)),
                               self.compute_dtype)
                loss += self.gradient_penalty * losses.gradient_penalty(
                    lambda x, a: self.critic(x, a, training), real, fake, attributes, mix)
            return loss, {"d_loss": loss, "wasserstein": wasserstein}
        ad_loss = losses.attribute_loss(f32(attributes), f32(self.decode_attributes(fake, training)))
        if phase == "attribute" and self.modulator_objective == "ad":
            return ad_loss, {"ad_loss": ad_loss}
        if phase not in ("generator", "attribute"):
            raise ValueError(f"Expected `phase` in {list(PHASES)}. Received: phase={phase!r}.")
        g_loss = -ops.mean(f32(self.critic(fake, attributes, training)))
        logits = tf.gather(f32(self.classify(fake, training)), batch[f"{part}_classes"], axis=2, batch_dims=1)
        c_loss = ops.mean(keras.losses.sparse_categorical_crossentropy(batch[f"{part}_y"], logits, from_logits=True))
        logs = {"g_loss": g_loss, "ad_loss": ad_loss, "c_loss": c_loss}
        if phase == "attribute":  # modulator_objective "gc": eq. (8)
            logs = {"ad_loss": ad_loss}
        return g_loss + ad_loss + c_loss, logs

    def phase_gradients(self, phase, batch, part, optimizer=None):
        """Gradients of `phase_loss` for the group's variables; with a `LossScaleOptimizer`
        (`mixed_float16`) of the scaled loss, which `optimizer.apply` unscales."""
        variables = self.phase_variables(phase)
        with tf.GradientTape() as tape:
            loss, logs = self.phase_loss(phase, batch, part, training=True)
            if optimizer is not None:
                loss = optimizer.scale_loss(loss)
        return tape.gradient(loss, variables), variables, logs

    def inner_update(self, phase, batch):
        """One support-set SGD step of one group (Algorithm 1, lines 10-15; eq. 9-10).

        With `inner_clipnorm`, the step's gradient is clipped to that global norm first.

        Under a distribution strategy each replica holds T / replicas tasks: the
        replicas' gradients are averaged (all-reduce) before the step, so every
        replica takes the single-device step on the whole task batch and the
        mirrored copies of the weights stay identical."""
        optimizer = self._phase_optimizer(phase)
        scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        grads, variables, logs = self.phase_gradients(phase, batch, "support", optimizer if scaled else None)
        grads = distribute.all_reduce_mean(grads)
        rate = self.inner_learning_rates[PHASES.index(phase)]
        if self.inner_clipnorm is not None:  # of the unscaled gradient under mixed_float16
            limit = self.inner_clipnorm * (optimizer.dynamic_scale if scaled else 1.0)
            present = [i for i, g in enumerate(grads) if g is not None]
            clipped, _ = tf.clip_by_global_norm([grads[i] for i in present], limit)
            grads = list(grads)
            for i, g in zip(present, clipped):
                grads[i] = g
        if scaled:  # mixed_float16: the step of the unscaled gradient
            rate = rate / optimizer.dynamic_scale
        # Algorithm 1 writes the adapted weights into the model itself (not into fast weights)
        for variable, grad in zip(variables, grads):
            if grad is not None:
                variable.assign(adapt([variable.value], [grad], ops.cast(rate, variable.dtype))[0])
        return logs

    def _phase_optimizer(self, phase):
        if getattr(self, "optimizer", None) is None:  # not compiled (inner steps called directly)
            return None
        return self._optimizers()[PHASES.index(phase)]

    def _check_replicas(self, x=None):
        """Under a strategy, the replicas must split the T tasks of a batch evenly."""
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec[0] if isinstance(x.element_spec, tuple) else x.element_spec
            if isinstance(spec, dict) and "support_x" in spec:
                distribute.check_tasks_divisible(spec["support_x"].shape[0], self.distribute_strategy)

    def _check_tasks(self, data):
        batch = data[0] if isinstance(data, (tuple, list)) else data
        if not isinstance(batch, dict) or not set(TASK_KEYS) <= set(batch):
            got = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
            raise ValueError(f"Expected a batch of tasks with keys {list(TASK_KEYS)} (from zero_shot_tasks). "
                             f"Received: {got}.")
        for part in ("support", "query"):
            a, x = batch[f"{part}_attributes"], batch[f"{part}_x"]
            if a.shape[-1] != self.attribute_dim:
                raise ValueError(f"Expected `{part}_attributes` with attribute_dim={self.attribute_dim} (the "
                                 f"model's). Received: {part}_attributes.shape={tuple(a.shape)}.")
            if x.shape[-1] != self.feature_dim:
                raise ValueError(f"Expected `{part}_x` with feature_dim={self.feature_dim} (the model's). "
                                 f"Received: {part}_x.shape={tuple(x.shape)}.")
        support, query = batch["support_classes"], batch["query_classes"]
        checks = [
            tf.debugging.assert_all_finite(ops.cast(batch["support_attributes"], "float32"),
                                           "support_attributes has NaN or inf values"),
            tf.debugging.assert_all_finite(ops.cast(batch["query_attributes"], "float32"),
                                           "query_attributes has NaN or inf values"),
            tf.debugging.assert_equal(
                tf.reduce_any(tf.equal(support[:, :, None], query[:, None, :])), False,
                message="support and query classes of a task must be disjoint (overlapping classes)"),
            tf.debugging.assert_less(tf.maximum(tf.reduce_max(support), tf.reduce_max(query)),
                                     tf.cast(self.num_classes, support.dtype),
                                     message=f"task classes must be < num_classes ({self.num_classes})"),
        ]
        with tf.control_dependencies(checks):
            return {k: tf.identity(v) for k, v in batch.items()}

    def train_step(self, data):
        """Algorithm 1 on one batch of tasks: support-set inner steps, query-set meta-update.

        Under a `MirroredStrategy` the replicas split the T tasks: the support-set
        steps average their gradients over replicas (`inner_update`), the query-set
        losses are scaled by 1 / replicas (Keras's optimizers sum the replicas'
        gradients) and G's BatchNorm uses the whole batch's statistics, so a step
        gives the single-device parameters."""
        with distribute.synchronized_batch_norm(self):
            return self._train_step(data)

    def _train_step(self, data):
        batch = self._check_tasks(data)
        groups = {phase: self.phase_variables(phase) for phase in PHASES}
        initial = {phase: [tf.identity(v.value) for v in groups[phase]] for phase in PHASES}
        for phase in PHASES:  # lines 10-15: theta'_d, then theta'_am, then theta'_gc
            self.inner_update(phase, batch)
        meta_grads, logs = {}, {}
        replicas = distribute.replicas_in_sync()
        for phase in PHASES:  # lines 17-19: query gradients at the adapted weights
            grads, _, phase_logs = self.phase_gradients(phase, batch, "query", self._phase_optimizer(phase))
            # summed over replicas by the optimizer: the per-replica share of the mean
            meta_grads[phase] = grads if replicas == 1 else [None if g is None else g / replicas for g in grads]
            logs.update(phase_logs)
        for phase in PHASES:  # back to theta, which the meta-optimizers update
            for variable, value in zip(groups[phase], initial[phase]):
                variable.assign(value)
        for optimizer, phase in zip(self._optimizers(), PHASES):
            optimizer.apply_gradients(zip(meta_grads[phase], groups[phase]))
        return self._update_trackers(logs)

    def test_step(self, data):
        """Query-set losses of the current weights (no adaptation, no update)."""
        batch = self._check_tasks(data)
        logs = {}
        for phase in PHASES:
            logs.update(self.phase_loss(phase, batch, "query", training=False)[1])
        return self._update_trackers(logs)

    def _update_trackers(self, logs):
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _optimizers(self):
        return (self.optimizer, self.attribute_optimizer, self.generator_optimizer)

    def compile(self, optimizer="auto", attribute_optimizer="auto", generator_optimizer="auto", **kwargs):
        """Three meta-optimizers: D (`optimizer`, the one whose `iterations` count
        meta-iterations), (AP, AM, AD) and (G, C). `"auto"`: Adam with
        `meta_learning_rates`. Losses are built in."""
        rates = self.meta_learning_rates
        optimizer = keras.optimizers.Adam(rates[0]) if optimizer == "auto" else keras.optimizers.get(optimizer)
        self.attribute_optimizer = (keras.optimizers.Adam(rates[1]) if attribute_optimizer == "auto"
                                    else keras.optimizers.get(attribute_optimizer))
        self.generator_optimizer = (keras.optimizers.Adam(rates[2]) if generator_optimizer == "auto"
                                    else keras.optimizers.get(generator_optimizer))
        self.attribute_optimizer, self.generator_optimizer = (  # Keras wraps `optimizer` itself
            distribute.loss_scaled_optimizer(o, self.dtype_policy)
            for o in (self.attribute_optimizer, self.generator_optimizer))
        kwargs.pop("loss", None)
        kwargs.pop("metrics", None)
        super().compile(optimizer=optimizer, **kwargs)
        if not self.built:
            self.build()
        for opt, phase in zip(self._optimizers(), PHASES):
            opt.build(self.phase_variables(phase))

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**{k: v for k, v in config.items() if k in ("optimizer", "jit_compile", "steps_per_execution")})

    def fit(self, x=None, *args, **kwargs):
        if not self.built:
            self.build()
        if self.attribute_optimizer is None:
            raise ValueError("Expected a compiled model: call `model.compile()` before `fit`.")
        self._check_replicas(x)
        return super().fit(x, *args, **kwargs)

    # -- serving --------------------------------------------------------------------------
