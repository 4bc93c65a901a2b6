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


def inner_loop(loss_fn, weights, steps, learning_rate, masks=None, first_order=False, remat=False):
    """`steps` masked gradient steps on `loss_fn(weights)`, starting from `weights`.

    Args:
        loss_fn: maps a list of fast weights to the scalar support loss.
        weights: initial fast weights (the meta-learned initialisation).
        steps: number of inner steps (a Python int; 0 returns `weights`).
        learning_rate: alpha.
        masks: per-weight 0/1 masks (see `adapt`), fixed for all steps.
        first_order: stop gradients through the inner gradients (first-order MAML).
        remat: rematerialize each step in the backward pass: keep only the fast
            weights between steps and recompute the step's support pass (and its
            inner gradient) when the meta-gradient reaches it, as `keras.remat` does
            for a layer. Second-order memory then grows with the steps by one copy of
            the weights, not by one step's activations, for about one more support
            forward and backward per step. The gradients are unchanged.

    Returns:
        The adapted fast weights. Gradients flow back to `weights` (and the masks,
        and the variables `loss_fn` reads) through every step: second order unless
        `first_order`.

    Example (a 1-d least-squares task; remat gives the same second-order gradient):

    >>> import tensorflow as tf
    >>> w0 = tf.constant([0.0])
    >>> def meta_gradient(remat):
    ...     with tf.GradientTape() as tape:
    ...         tape.watch(w0)
    ...         w = inner_loop(lambda w: tf.reduce_sum((3.0 * w[0] - 1.0) ** 2), [w0], 2, 0.05, remat=remat)
    ...         query = tf.reduce_sum((w[0] - 0.5) ** 2)
    ...     return float(tape.gradient(query, w0)[0])
    >>> round(meta_gradient(False), 5) == round(meta_gradient(True), 5)
    True
    """
    masks = list(masks) if masks is not None else [None] * len(weights)

    def step(weights, masks):
        with tf.GradientTape() as tape:
            tape.watch(weights)
            loss = loss_fn(weights)
        grads = tape.gradient(loss, weights)
        if first_order:
            grads = [None if g is None else tf.stop_gradient(g) for g in grads]
        return adapt(weights, grads, learning_rate, masks)

    for _ in range(steps):
        weights = _rematerialized(step, list(weights), masks) if remat else step(list(weights), masks)
    return weights


def _rematerialized(step, weights, masks):
    """`step(weights, masks)` as one custom-gradient op whose backward pass recomputes it.

    `tf.recompute_grad` cannot be used: it runs the forward pass with every tape stopped,
    so the step's own inner gradient would be `None`."""
    present = [i for i, m in enumerate(masks) if m is not None]
    count = len(weights)

    def run(inputs):
        full = list(masks)
        for i, mask in zip(present, inputs[count:]):
            full[i] = mask
        return step(list(inputs[:count]), full)

    @tf.custom_gradient
    def rematerialized(*inputs):
        def grad(*upstream, variables=None):
            # fresh copies: one tensor may be several inputs (a cell's kernel and bias share a mask),
            # and each input must get only its own share of the gradient. In a graph they also
            # depend on the upstream gradient (a zero that Grappler cannot fold), as in
            # tf.recompute_grad: without it the recomputation is deduplicated into the forward
            # pass, whose activations then stay alive, and nothing is saved.
            copies = [tf.identity(x) for x in inputs]
            if not tf.executing_eagerly():
                first = tf.reduce_max(tf.reshape(upstream[0], [-1])[:1])
                zero = tf.where(tf.equal(first, first), 0.0, float("nan"))
                copies = [x + tf.cast(zero, x.dtype) for x in copies]
            with tf.GradientTape() as tape:
                tape.watch(copies)
                again = run(copies)
            sources = copies + list(variables or [])
            grads = tape.gradient(again, sources, output_gradients=list(upstream),
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
            if variables is None:
                return grads
            return grads[:len(inputs)], grads[len(inputs):]

        return run(inputs), grad

    return list(rematerialized(*weights, *(masks[i] for i in present)))
