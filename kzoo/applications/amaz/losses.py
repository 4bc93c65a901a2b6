"""AMAZ losses and data-quality weights (Li et al. 2021, eq. 5-7, 12-14) as pure functions."""

import tensorflow as tf
from keras import ops


def critic_loss(real_scores, fake_scores):
    """Wasserstein critic loss, minimised by D: `E[D(x_fake, a)] - E[D(x_real, a)]`.

    Eq. (6) written as a loss to minimise (the paper maximises its negation with
    `theta_d + alpha_1 grad`; the two are the same update).
    """
    return ops.mean(fake_scores) - ops.mean(real_scores)


def gradient_penalty(critic, real, fake, attributes, interpolation):
    """WGAN-GP penalty `E[(||grad_x D(x_hat, a)||_2 - 1)^2]` (Gulrajani et al. 2017).

    `x_hat = u * real + (1 - u) * fake`. Its gradient with respect to the critic's
    weights is a second-order (double-backward) gradient: `critic` must be made of
    layers with correct second-order gradients (AMAZ's D: dense, dropout,
    LeakyReLU; no normalization).

    Args:
        critic: function `(features [..., F], attributes [..., A]) -> scores [..., 1]`.
        real: real features `[..., F]`.
        fake: synthetic features, same shape (gradients are not taken through them).
        attributes: the attributes D is conditioned on, `[..., A]`.
        interpolation: `u`, uniform in [0, 1], broadcastable to `real` (e.g. `[..., 1]`).

    Returns:
        The scalar penalty.
    """
    mixed = interpolation * real + (1.0 - interpolation) * tf.stop_gradient(fake)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        total = ops.sum(critic(mixed, attributes))
    grads = tape.gradient(total, mixed)
    if grads.dtype in (tf.float16, tf.bfloat16):  # the norm in float32 under mixed precision
        grads = ops.cast(grads, "float32")
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=-1) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def attribute_loss(attributes, reconstructed):
    """Eq. (5): `L_AD = 1/(N K) sum_n ||a_n - a'_n||_2^2`, the mean squared L2 distance."""
    return ops.mean(ops.sum(ops.square(attributes - reconstructed), axis=-1))


def quality_weights(attributes, reconstructed, clip=True):
    """Eq. (12): data quality `Q(a') = cos(a, a')` of each synthetic feature.

    Args:
        attributes: `[M, A]` true attributes of the classes the features were drawn for.
        reconstructed: `[M, A]` attributes AD reconstructs from the features.
        clip: clip negative similarities to 0, so that no sample gets a negative loss
            weight (the paper does not say; a negative weight would push the
            classifier away from the label). Defaults to `True`.

    Returns:
        `[M]` weights (in [0, 1] with `clip`).
    """
    a = tf.convert_to_tensor(attributes, tf.float32)
    r = tf.convert_to_tensor(reconstructed, tf.float32)
    cos = tf.reduce_sum(a * r, -1) / tf.maximum(tf.norm(a, axis=-1) * tf.norm(r, axis=-1), 1e-12)
    return tf.maximum(cos, 0.0) if clip else cos


def class_weights(quality, labels, num_classes):
    """Eq. (14): `w_y = 1/|A_y| sum_{a' in A_y} Q(a')`, the mean quality of each class.

    Args:
        quality: `[M]` instance weights from `quality_weights`.
        labels: int `[M]` class of each synthetic feature, 0..num_classes-1.
        num_classes: number of classes.

    Returns:
        `[num_classes]` weights (0 for a class without samples).
    """
    labels = tf.convert_to_tensor(labels, tf.int32)
    quality = tf.convert_to_tensor(quality, tf.float32)
    totals = tf.math.unsorted_segment_sum(quality, labels, num_classes)
    counts = tf.math.unsorted_segment_sum(tf.ones_like(quality), labels, num_classes)
    return totals / tf.maximum(counts, 1.0)
