"""Inner-loop adaptation as pure functions (MAML, MT-net; Lee & Choi 2018 eq. 8)."""

import tensorflow as tf


def adapt(weights, grads, learning_rate, masks=None):
    """One masked gradient step on fast weights: `W' = W - alpha * M * grad_W` (eq. 8).

    Args:
        weights: list of tensors (the task learner's current fast weights).
        grads: list of gradients, same structure (`None` entries leave a weight as is).
        learning_rate: alpha, a float or scalar tensor.
        masks: optional list of 0/1 masks broadcastable to each weight (`None`
            entries or `masks=None` mean "update everything": plain MAML).

    Returns:
        The list of updated weights.
    """
    masks = masks if masks is not None else [None] * len(weights)
    updated = []
    for w, g, m in zip(weights, grads, masks):
        if g is None:
            updated.append(w)
        elif m is None:
            updated.append(w - learning_rate * g)
        else:
            updated.append(w - learning_rate * m * g)
    return updated


def inner_loop(loss_fn, weights, steps, learning_rate, masks=None, first_order=False):
    """`steps` masked gradient steps on `loss_fn(weights)`, starting from `weights`.

    Args:
        loss_fn: maps a list of fast weights to the scalar support loss.
        weights: initial fast weights (the meta-learned initialisation).
        steps: number of inner steps (a Python int; 0 returns `weights`).
        learning_rate: alpha.
        masks: per-weight 0/1 masks (see `adapt`), fixed for all steps.
        first_order: stop gradients through the inner gradients (first-order MAML).

    Returns:
        The adapted fast weights. Gradients flow back to `weights` (and the masks)
        through every step: second order unless `first_order`.
    """
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(weights)
            loss = loss_fn(weights)
        grads = tape.gradient(loss, weights)
        if first_order:
            grads = [None if g is None else tf.stop_gradient(g) for g in grads]
        weights = adapt(weights, grads, learning_rate, masks)
    return weights
