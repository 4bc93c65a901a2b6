"""kzoo applications' training steps written directly in TensorFlow (no Keras), for `vs_plain_tf.py`.

Each class copies the weights of a built kzoo model into its own `tf.Variable`s and runs
the same math in one `tf.function`: tensors and `tf.nn` ops, Adam written out, no
layers, metrics or optimizers. What the kzoo step costs beyond this is kzoo's (and
Keras's) overhead.
"""

import keras
import tensorflow as tf


class Adam:
    """Adam as Keras applies it (epsilon 1e-7 outside the square root, bias corrections in the rate)."""

    def __init__(self, variables, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.variables, self.rate = variables, learning_rate
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.m = [tf.Variable(tf.zeros_like(v)) for v in variables]
        self.v = [tf.Variable(tf.zeros_like(v)) for v in variables]
        self.step = tf.Variable(0.0)

    def apply(self, grads):
        self.step.assign_add(1.0)
        rate = self.rate * tf.sqrt(1.0 - self.beta_2 ** self.step) / (1.0 - self.beta_1 ** self.step)
        for var, grad, m, v in zip(self.variables, grads, self.m, self.v):
            m.assign_add((grad - m) * (1.0 - self.beta_1))
            v.assign_add((tf.square(grad) - v) * (1.0 - self.beta_2))
            var.assign_sub(rate * m / (tf.sqrt(v) + self.epsilon))


def _dense(layer):
    return [tf.Variable(layer.kernel.numpy()), tf.Variable(layer.bias.numpy())]


class PlainTAFENet:
    """`kzoo.applications.TAFENet`'s training step: the task network T (Dense layers, no
    normalization), linear or ReLU weight generators, factorized feature layers
    `(x W + b) * g(T(t))` (eq. 4), the classifier's dropout and two dense layers, eq. (5)'s
    binary loss plus beta x eq. (6)'s embedding loss over `classes_per_step` classes (the
    batch's own and random others) or all, and Adam on T (its own rate) and on the rest.

    Args:
        model: a built `TAFENet` with `task_normalization=None` (its weights are copied).
        tasks: `[C, task_dim]` the training classes' descriptions.
        learning_rate: the prediction network's Adam rate; T's is times the model's multiplier.
    """

    def __init__(self, model, tasks, learning_rate):
        if model.task_normalization is not None or model.backbone is not None:
            raise ValueError("PlainTAFENet covers task_normalization=None without a backbone.")
        self.model_config = model.get_config()
        self.tasks = tf.constant(tasks, tf.float32)
        self.task_weights = [_dense(layer) for layer in model.task_network if isinstance(layer, keras.layers.Dense)]
        self.generator_weights = [_dense(layer) for layer in model.generators]
        self.feature_weights = [_dense(layer) for layer in model.feature_layers]
        self.classifier_weights = [_dense(model.classifier[1]), _dense(model.classifier[2])]
        self.task_activation = model.task_activation == "relu"
        self.generator_relu = model.generator_activation == "relu"
        self.dropout, self.beta = model.dropout, model.embedding_loss_weight
        self.positive_weight, self.classes_per_step = model.embedding_positive_weight, model.classes_per_step
        flat = lambda groups: [w for group in groups for w in group]  # noqa: E731
        self.task_variables = flat(self.task_weights)
        self.other_variables = flat(self.generator_weights + self.feature_weights + self.classifier_weights)
        self.task_optimizer = Adam(self.task_variables, learning_rate * model.task_learning_rate_multiplier)
        self.optimizer = Adam(self.other_variables, learning_rate)
        self.step = tf.function(self._step)

    def loss(self, features, labels, training=True):
        """The scalar training loss of one batch (`features` `[B, F]`, int `labels` `[B]`)."""
        count = tf.shape(self.tasks)[0]
        if training and self.classes_per_step is not None:  # the batch's classes first, then random others
            priority = tf.tensor_scatter_nd_update(tf.random.uniform([count]), labels[:, None],
                                                   tf.fill(tf.shape(labels), 2.0))
            chosen = tf.math.top_k(priority, k=tf.minimum(self.classes_per_step, count), sorted=False).indices
        else:
            chosen = tf.range(count)
        match = tf.cast(tf.equal(labels[:, None], chosen[None, :]), tf.float32)  # [B, K]
        h = tf.gather(self.tasks, chosen)
        for kernel, bias in self.task_weights:
            h = h @ kernel + bias
            if self.task_activation:
                h = tf.nn.relu(h)
        embedding = h  # [K, d]
        x = features[:, None, :]  # [B, 1, F]
        for i, ((gk, gb), (fk, fb)) in enumerate(zip(self.generator_weights, self.feature_weights)):
            factors = embedding @ gk + gb
            if self.generator_relu:
                factors = tf.nn.relu(factors)
            x = (x @ fk + fb) * factors[None]  # [B, K, u]
            if i + 1 < len(self.feature_weights):
                x = tf.nn.relu(x)
        tafe = x
        if training and self.dropout:
            x = tf.nn.dropout(x, self.dropout)
        (k1, b1), (k2, b2) = self.classifier_weights
        logits = tf.squeeze(tf.nn.relu(x @ k1 + b1) @ k2 + b2, -1)  # [B, K]
        classification = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=match, logits=logits))
        normalize = lambda t: t * tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(t), -1, keepdims=True),  # noqa: E731
                                                           1e-14))
        cosine = tf.reduce_sum(normalize(tafe) * normalize(embedding)[None], -1)
        weight = 1.0 + (self.positive_weight - 1.0) * match
        emb = tf.reduce_mean(weight * tf.square(tf.nn.relu(cosine) - match))
        return classification + self.beta * emb

    def loss_and_grads(self, features, labels, training=True):
        with tf.GradientTape() as tape:
            loss = self.loss(features, labels, training)
        return loss, tape.gradient(loss, self.task_variables + self.other_variables)

    def _step(self, features, labels):
        loss, grads = self.loss_and_grads(features, labels)
        self.task_optimizer.apply(grads[:len(self.task_variables)])
        self.optimizer.apply(grads[len(self.task_variables):])
        return loss


def _leaky(h):
    return tf.nn.leaky_relu(h, 0.2)


def _block_weights(block):
    """`[kernel, bias]` (and `[gamma, beta]` for "fbd") of a `DenseBlock`; its moving statistics separately."""
    weights = _dense(block.dense)
    stats = None
    if block.norm is not None:
        weights += [tf.Variable(block.norm.gamma.numpy()), tf.Variable(block.norm.beta.numpy())]
        stats = [tf.Variable(block.norm.moving_mean.numpy(), trainable=False),
                 tf.Variable(block.norm.moving_variance.numpy(), trainable=False)]
    return weights, stats


class PlainAMAZ:
    """`kzoo.applications.AMAZ`'s training step (Algorithm 1) with the `amaz/glyphs_zsl` preset's
    options: eq. (3) modulators (base, "+", sigmoid, bias) on G's input, blocks and output, the
    task embedding AP over each task's classes, G = FDL, FBD (BatchNorm momentum 0.8), ...,
    LeakyReLU, FC, ReLU; the WGAN-GP critic D, classifier C and attribute decoder AD; for D,
    then (AP, AM, AD), then (G, C): one clipped SGD step on the support sets written into the
    weights, then each group's query gradients at the adapted weights, the weights restored, and
    three Adams. Dropout must be 0 (the preset's).

    Args:
        model: a built, compiled `AMAZ` (its weights are copied).
    """

    def __init__(self, model):
        if (model.dropout or not model.modulate or model.modulation_scope != "task" or model.modulator_objective != "gc"
                or (model.modulator_base, model.modulator_operator, model.modulator_activation, model.modulator_bias)
                != (True, "+", "sigmoid", True) or model.output_activation != "relu"):
            raise ValueError("PlainAMAZ covers the glyphs_zsl preset's options only.")
        self.model = model
        blocks = lambda layers: [_block_weights(b) for b in layers]  # noqa: E731
        self.generator = blocks(model.generator_blocks + [model.generator_output])
        self.projector = _block_weights(model.projector)[0]
        self.modulators = [_dense(m.scale_dense) + _dense(m.bias_dense) for m in model.modulators]
        self.critic_weights = [w for w, _ in blocks(model.critic_blocks)]
        self.critic_kinds = [b.kind for b in model.critic_blocks]
        self.classifier = [w for w, _ in blocks(model.classifier_blocks)]
        self.decoder = [w for w, _ in blocks(model.decoder_blocks)]
        flat = lambda groups: [v for group in groups for v in group]  # noqa: E731
        self.groups = {  # the three groups of Algorithm 1, in kzoo's `phase_variables` order
            "discriminator": flat(self.critic_weights),
            "attribute": self.projector + flat(self.modulators) + flat(self.decoder),
            "generator": flat([w for w, _ in self.generator]) + flat(self.classifier),
        }
        self.optimizers = {phase: Adam(self.groups[phase], rate)
                           for phase, rate in zip(self.groups, model.meta_learning_rates)}
        self.inner_rates = dict(zip(self.groups, model.inner_learning_rates))
        self.clipnorm, self.penalty, self.sigma = model.inner_clipnorm, model.gradient_penalty, model.train_sigma
        self.draws = None  # a list of tensors to use instead of random draws, in order (the equality check)
        self.step = tf.function(self._step)

    def _random(self, draw, shape, **kwargs):
        return self.draws.pop(0) if self.draws is not None else draw(shape, **kwargs)

    def generate(self, noise, attributes, embedding):
        """G modulated by the task embeddings: `[T, M, Z], [T, M, A], [T, E] -> [T, M, F]`."""
        def modulate(h, weights):
            ws, bs, wb, bb = weights
            scale, offset = tf.sigmoid(embedding @ ws + bs)[:, None], tf.sigmoid(embedding @ wb + bb)[:, None]
            return h + scale * h + offset

        h = modulate(tf.concat([noise, attributes], -1), self.modulators[0])
        for j, (weights, stats) in enumerate(self.generator):
            if j == len(self.generator) - 1:  # LeakyReLU, then G's output FC
                h = _leaky(h) @ weights[0] + weights[1]
            else:
                h = h @ weights[0] + weights[1]
                if stats is None:  # FDL (no dropout)
                    h = _leaky(h)
                else:  # FBD: BatchNormalization(momentum 0.8) in training mode
                    mean, variance = tf.nn.moments(h, axes=[0, 1])
                    stats[0].assign(stats[0] * 0.8 + mean * 0.2)
                    stats[1].assign(stats[1] * 0.8 + variance * 0.2)
                    h = tf.nn.batch_normalization(h, mean, variance, weights[3], weights[2], 1e-3)
            h = modulate(h, self.modulators[j + 1])
        return tf.nn.relu(h)

    def critic(self, features, attributes):
        h = tf.concat([features, attributes], -1)
        for (kernel, bias), kind in zip(self.critic_weights, self.critic_kinds):
            h = h @ kernel + bias
            if kind == "fdl":
                h = _leaky(h)
        return h

    @staticmethod
    def _mlp(weights, h):
        for i, (kernel, bias) in enumerate(weights):
            h = h @ kernel + bias
            if i + 1 < len(weights):
                h = _leaky(h)
        return h

    def phase_loss(self, phase, batch, part):
        classes_attributes = batch[f"{part}_attributes"]
        labels = batch[f"{part}_y"]
        attributes = tf.gather(classes_attributes, labels, batch_dims=1)
        real = batch[f"{part}_x"]
        shape = tf.concat([tf.shape(real)[:2], [self.model.noise_dim]], 0)
        noise = self._random(tf.random.normal, shape, stddev=self.sigma)
        kernel, bias = self.projector
        embedding = tf.reduce_mean(_leaky(classes_attributes @ kernel + bias), 1)
        fake = self.generate(noise, attributes, embedding)
        if phase == "discriminator":
            fake = tf.stop_gradient(fake)
            loss = tf.reduce_mean(self.critic(fake, attributes)) - tf.reduce_mean(self.critic(real, attributes))
            mix = self._random(tf.random.uniform, tf.concat([tf.shape(real)[:2], [1]], 0))
            mixed = mix * real + (1.0 - mix) * fake
            with tf.GradientTape() as tape:
                tape.watch(mixed)
                total = tf.reduce_sum(self.critic(mixed, attributes))
            norms = tf.sqrt(tf.reduce_sum(tf.square(tape.gradient(total, mixed)), -1) + 1e-12)
            return loss + self.penalty * tf.reduce_mean(tf.square(norms - 1.0))
        ad_loss = tf.reduce_mean(tf.reduce_sum(tf.square(attributes - self._mlp(self.decoder, fake)), -1))
        g_loss = -tf.reduce_mean(self.critic(fake, attributes))
        logits = tf.gather(self._mlp(self.classifier, fake), batch[f"{part}_classes"], axis=2, batch_dims=1)
        c_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        return g_loss + ad_loss + c_loss

    def phase_gradients(self, phase, batch, part):
        with tf.GradientTape() as tape:
            loss = self.phase_loss(phase, batch, part)
        return tape.gradient(loss, self.groups[phase])

    def meta_gradients(self, batch):
        """Lines 10-19 of Algorithm 1: the support steps, then the query gradients of each group at the
        adapted weights; the weights are restored before returning `{phase: gradients}`."""
        initial = {phase: [tf.identity(v) for v in variables] for phase, variables in self.groups.items()}
        for phase, variables in self.groups.items():
            grads = self.phase_gradients(phase, batch, "support")
            present = [i for i, g in enumerate(grads) if g is not None]
            clipped, _ = tf.clip_by_global_norm([grads[i] for i in present], self.clipnorm)
            for i, g in zip(present, clipped):
                variables[i].assign_sub(self.inner_rates[phase] * g)
        meta = {phase: self.phase_gradients(phase, batch, "query") for phase in self.groups}
        for phase, variables in self.groups.items():
            for variable, value in zip(variables, initial[phase]):
                variable.assign(value)
        return meta

    def _step(self, batch):
        meta = self.meta_gradients(batch)
        for phase, grads in meta.items():
            self.optimizers[phase].apply([tf.zeros_like(v) if g is None else g
                                          for v, g in zip(self.groups[phase], grads)])
        return tf.add_n([tf.reduce_sum(tf.square(g)) for g in meta["generator"] if g is not None])
