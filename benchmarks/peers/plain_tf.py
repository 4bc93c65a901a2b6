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
        for i, (kernel, bias) in enumerate(self.task_weights):
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
