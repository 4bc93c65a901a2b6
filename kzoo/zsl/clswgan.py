"""f-CLSWGAN: a feature-generating GAN without modulation, the baseline AMAZ starts from.

Xian, Lorenz, Schiele & Akata, "Feature Generating Networks for Zero-Shot
Learning", CVPR 2018. A conditional generator G(z, a) learns to synthesize the
visual features of a class from its attributes a, trained as a Wasserstein GAN with
gradient penalty (their eq. 2) plus the cross-entropy of a softmax classifier that
was pretrained on the real seen features (eq. 4, weight beta). Zero-shot, a softmax
classifier is then trained on synthetic features of the unseen classes (and the real
seen features, for GZSL).

The critic penalty and the WGAN losses are AMAZ's (`kzoo.applications.amaz.losses`),
so a comparison of AMAZ with this model isolates meta-learning and modulation.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> attributes = rng.integers(0, 2, size=(20, 12)).astype("float32")
>>> y = np.repeat(np.arange(20), 30)
>>> x = np.maximum(attributes[y] @ rng.normal(size=(12, 40)) + 0.1 * rng.normal(size=(600, 40)), 0)
>>> seen = y < 15
>>> gan = CLSWGAN(hidden=128, epochs=100, learning_rate=1e-3).fit(x[seen], y[seen], attributes, np.arange(15), verbose=0)
>>> scorer = gan.classifier(attributes, np.arange(15, 20), x[seen], y[seen])  # features -> scores [B, 20]
>>> unseen = np.arange(15, 20)
>>> predicted = unseen[np.argmax(scorer(x[~seen])[:, unseen], 1)]
>>> float(np.mean(predicted == y[~seen])) > 0.6  # ZSL top-1 over 5 unseen classes (chance: 0.2)
True
"""

import numpy as np

from kzoo.checks import check_float, check_int
from kzoo.zsl.baselines import _check_fit


def linear_softmax(x, labels, num_classes, seed=0, epochs=25, batch_size=64):
    """A linear softmax classifier trained with Adam 1e-3: f-CLSWGAN's pretrained and final classifier.

    `x` `[N, D]`, int `labels` `[N]` in `0..num_classes-1`; returns the trained Keras model (logits).
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(num_classes)])
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(np.asarray(x, np.float32), labels, batch_size=batch_size, epochs=epochs, verbose=0)
    return model


class CLSWGAN:
    """Conditional WGAN-GP feature generator with a classification loss (f-CLSWGAN).

    Networks (the paper's, `hidden` = 4096 there): G = Dense(hidden, LeakyReLU 0.2),
    Dense(D, `output_activation`) on `[z, a]` with z ~ N(0, I) of size
    `noise_dim`; D = Dense(hidden, LeakyReLU 0.2), Dense(1) on `[x, a]`. Each
    generator step follows `critic_steps` critic steps on fresh batches; Adam
    (`learning_rate`, beta_1 = 0.5) for both.

    Args:
        hidden: units of G's and D's hidden layer. Defaults to `4096`.
        noise_dim: size of z. Defaults to `None`: the attribute size.
        classification_weight: beta of eq. (4). Defaults to `0.01`.
        gradient_penalty: lambda of the WGAN-GP penalty. Defaults to `10.0`.
        critic_steps: critic updates per generator update. Defaults to `5`.
        epochs: generator updates = `epochs * N / batch_size`. Defaults to `30`.
        batch_size: Defaults to `64`.
        learning_rate: Defaults to `1e-4`.
        output_activation: G's output activation; `"relu"` for post-ReLU features
            (ResNet pool5). Defaults to `"relu"`.
        synthetic_per_class: synthetic features per unseen class for the final
            classifier. Defaults to `300`.
        classifier_epochs: epochs of the pretrained and of the final softmax
            classifiers. Defaults to `25`.
        seed: Defaults to `0`.
    """

    def __init__(self, hidden=4096, noise_dim=None, classification_weight=0.01, gradient_penalty=10.0, critic_steps=5,
                 epochs=30, batch_size=64, learning_rate=1e-4, output_activation="relu", synthetic_per_class=300,
                 classifier_epochs=25, seed=0):
        self.hidden = check_int(hidden, "hidden", 1)
        self.noise_dim = None if noise_dim is None else check_int(noise_dim, "noise_dim", 1)
        self.classification_weight = check_float(classification_weight, "classification_weight", 0,
                                                 inclusive=(True, True))
        self.gradient_penalty = check_float(gradient_penalty, "gradient_penalty", 0, inclusive=(True, True))
        self.critic_steps = check_int(critic_steps, "critic_steps", 1)
        self.epochs = check_int(epochs, "epochs", 1)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        self.learning_rate = check_float(learning_rate, "learning_rate", 0)
        self.output_activation = output_activation
        self.synthetic_per_class = check_int(synthetic_per_class, "synthetic_per_class", 1)
        self.classifier_epochs = check_int(classifier_epochs, "classifier_epochs", 1)
        self.seed = check_int(seed, "seed", 0)
        self.generator = None
        self.history = None

    def _softmax(self, x, labels, num_classes, seed):
        return linear_softmax(x, labels, num_classes, seed, epochs=self.classifier_epochs, batch_size=self.batch_size)

    def fit(self, x, y, attributes, classes=None, verbose=1):
        """Trains G on the seen features `x` `[N, D]`, labels `y` `[N]`, class `attributes` `[C, a]`; `self`.

        `history` then holds the critic's Wasserstein estimate and the generator's
        classification loss, averaged per epoch.
        """
        import keras
        import tensorflow as tf

        from kzoo.applications.amaz.losses import critic_loss, gradient_penalty

        x, index, attributes, classes = _check_fit(x, y, attributes, classes)
        x, attributes = x.astype("float32"), attributes.astype("float32")
        feature_dim, attribute_dim = x.shape[1], attributes.shape[1]
        noise_dim = self.noise_dim or attribute_dim
        pretrained = self._softmax(x, index, classes.size, self.seed)
        pretrained.trainable = False
        keras.utils.set_random_seed(self.seed)
        leaky = keras.layers.LeakyReLU(0.2)
        z_in, a_in = keras.Input((noise_dim,)), keras.Input((attribute_dim,))
        hidden = leaky(keras.layers.Dense(self.hidden)(keras.layers.Concatenate()([z_in, a_in])))
        generator = keras.Model([z_in, a_in], keras.layers.Dense(feature_dim, activation=self.output_activation)(hidden),
                                name="generator")
        x_in, c_in = keras.Input((feature_dim,)), keras.Input((attribute_dim,))
        hidden = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(self.hidden)(keras.layers.Concatenate()([x_in, c_in])))
        critic = keras.Model([x_in, c_in], keras.layers.Dense(1)(hidden), name="critic")
        g_opt = keras.optimizers.Adam(self.learning_rate, beta_1=0.5)
        d_opt = keras.optimizers.Adam(self.learning_rate, beta_1=0.5)
        seeds = keras.random.SeedGenerator(self.seed)
        table = tf.constant(attributes[classes])  # [z, a], rows of the seen classes
        cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        def critic_fn(features, a):
            return critic([features, a], training=True)

        @tf.function
        def step(xs, labels):  # xs [critic_steps, B, D], labels [critic_steps, B]
            wasserstein = 0.0
            for k in range(self.critic_steps):
                a = tf.gather(table, labels[k])
                fake = generator([keras.random.normal((tf.shape(a)[0], noise_dim), seed=seeds), a])
                with tf.GradientTape() as tape:
                    distance = -critic_loss(critic_fn(xs[k], a), critic_fn(fake, a))
                    loss = -distance
                    if self.gradient_penalty:
                        u = keras.random.uniform((tf.shape(a)[0], 1), seed=seeds)
                        loss += self.gradient_penalty * gradient_penalty(critic_fn, xs[k], fake, a, u)
                d_opt.apply_gradients(zip(tape.gradient(loss, critic.trainable_variables), critic.trainable_variables))
                wasserstein += distance / self.critic_steps
            a = tf.gather(table, labels[-1])
            with tf.GradientTape() as tape:
                fake = generator([keras.random.normal((tf.shape(a)[0], noise_dim), seed=seeds), a], training=True)
                classification = cross_entropy(labels[-1], pretrained(fake))
                loss = -tf.reduce_mean(critic_fn(fake, a)) + self.classification_weight * classification
            g_opt.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables),
                                      generator.trainable_variables))
            return tf.stack([wasserstein, classification])

        per_epoch = max(1, x.shape[0] // self.batch_size)
        data = (tf.data.Dataset.from_tensor_slices((x, index.astype("int32"))).repeat()
                .shuffle(x.shape[0], seed=self.seed).batch(self.batch_size, drop_remainder=True)
                .batch(self.critic_steps, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
        batches = iter(data)
        progress = keras.utils.Progbar(self.epochs, verbose=verbose, stateful_metrics=("wasserstein", "cls_loss"))
        self.history = {"wasserstein": [], "cls_loss": []}
        for epoch in range(self.epochs):
            totals = tf.zeros(2)
            for _ in range(per_epoch):  # summed on the device: one host read per epoch
                totals += step(*next(batches))
            w, c = (totals / per_epoch).numpy()
            if not np.isfinite(w):
                raise FloatingPointError(f"f-CLSWGAN diverged at epoch {epoch + 1}: the Wasserstein estimate is {w}.")
            self.history["wasserstein"].append(float(w))
            self.history["cls_loss"].append(float(c))
            progress.update(epoch + 1, [("wasserstein", w), ("cls_loss", c)])
        self.generator, self._noise_dim, self._classes = generator, noise_dim, classes
        return self

    def synthesize(self, attributes, num_per_class, seed=0):
        """`num_per_class` synthetic features for each row of `attributes` `[C, a]`: `([C n, D], labels [C n])`."""
        if self.generator is None:
            raise ValueError("Call `fit` before `synthesize`.")
        attributes = np.asarray(attributes, np.float32)
        labels = np.repeat(np.arange(attributes.shape[0]), num_per_class)
        noise = np.random.default_rng([self.seed, seed]).normal(size=(labels.size, self._noise_dim))
        features = self.generator.predict([noise.astype("float32"), attributes[labels]], batch_size=1024, verbose=0)
        return features, labels

    def classifier(self, attributes, synthetic_classes, x=None, y=None, seed=0):
        """A softmax classifier over all classes, trained on synthetic features of `synthetic_classes`.

        With the real seen features `x`, `y` as well, it is the paper's GZSL
        classifier; without them, it can only predict `synthetic_classes` (ZSL).

        Returns:
            A callable, features `[B, D]` -> scores `[B, C]` over the rows of `attributes`.
        """
        synthetic_classes = np.asarray(synthetic_classes).reshape(-1)
        features, rows = self.synthesize(np.asarray(attributes)[synthetic_classes], self.synthetic_per_class, seed)
        labels = synthetic_classes[rows]
        if x is not None:
            features = np.concatenate([np.asarray(features), np.asarray(x, np.float32)])
            labels = np.concatenate([labels, np.asarray(y).reshape(-1)])
        model = self._softmax(features, labels, np.asarray(attributes).shape[0], self.seed + seed + 1)
        return lambda inputs: np.asarray(model.predict(np.asarray(inputs, np.float32), batch_size=1024, verbose=0))
