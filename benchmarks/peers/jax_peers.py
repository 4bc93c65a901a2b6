"""MAML and ProtoNet in JAX: `jax.jit` of the whole step, optax Adam(1e-3), NHWC like TensorFlow."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from .common import INNER_LR


def _conv(x, kernel, bias, stride):
    """TensorFlow's 3x3 conv with "SAME" padding: `[B, H, W, in] -> [B, H', W', out]`."""
    return lax.conv_general_dilated(x, kernel, (stride, stride), "SAME",
                                    dimension_numbers=("NHWC", "HWIO", "NHWC")) + bias


def _batch_norm(x, gamma, beta, epsilon=1e-3):
    """Batch statistics over every axis but the last, with the full graph (exact higher-order gradients)."""
    mean = jnp.mean(x, axis=(0, 1, 2))
    variance = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
    return (x - mean) * lax.rsqrt(variance + epsilon) * gamma + beta


def _cross_entropy(logits, labels):
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


class _Peer:
    """The optimizer and the jitted step around a `loss(params, *batch) -> scalar`."""

    def __init__(self, weights):
        self.params = {k: jnp.asarray(v) for k, v in weights.items()}
        self.optimizer = optax.adam(1e-3)
        self.opt_state = self.optimizer.init(self.params)
        self._compile()

    def _compile(self):
        grad = jax.value_and_grad(self.loss)

        def step(params, opt_state, batch):
            loss, grads = grad(params, *batch)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        self._step = jax.jit(step)
        self._grad = jax.jit(grad)

    @staticmethod
    def prepare(x, y):
        """The batch `(support_x, support_y, query_x, query_y)` as device arrays."""
        return tuple(jnp.asarray(a) for a in (x["support_x"], x["support_y"], x["query_x"], y))

    def loss_and_grads(self, batch):
        loss, grads = self._grad(self.params, *batch)
        return float(loss), {k: np.asarray(v) for k, v in grads.items()}

    def step(self, batch):
        self.params, self.opt_state, loss = self._step(self.params, self.opt_state, batch)
        return loss


class JaxMAML(_Peer):
    """Second-order MAML: nested `jax.grad`, one inner SGD step per `inner_steps` on each task's support set.

    `vmap=True` maps the tasks with `jax.vmap`; otherwise a Python loop, unrolled in the jit."""

    def __init__(self, weights, inner_steps=1, vmap=False):
        self.blocks = sum(k.startswith("w") for k in weights)
        self.inner_steps, self.vmap = inner_steps, vmap
        self.fast = [k for k in weights if not k.startswith(("gamma", "beta"))]
        super().__init__(weights)

    def forward(self, params, x):
        h = x
        for i in range(self.blocks):
            h = jax.nn.relu(_batch_norm(_conv(h, params[f"w{i}"], params[f"b{i}"], 2),
                                        params[f"gamma{i}"], params[f"beta{i}"]))
        return jnp.mean(h, axis=(1, 2)) @ params["head_w"] + params["head_b"]

    def query_loss(self, params, sx, sy, qx, qy):
        fast = {k: params[k] for k in self.fast}
        support_loss = lambda f: _cross_entropy(self.forward({**params, **f}, sx), sy)
        for _ in range(self.inner_steps):
            grads = jax.grad(support_loss)(fast)
            fast = {k: fast[k] - INNER_LR * grads[k] for k in fast}
        return _cross_entropy(self.forward({**params, **fast}, qx), qy)

    def loss(self, params, sx, sy, qx, qy):
        if self.vmap:
            return jnp.mean(jax.vmap(self.query_loss, in_axes=(None, 0, 0, 0, 0))(params, sx, sy, qx, qy))
        return jnp.mean(jnp.stack([self.query_loss(params, sx[t], sy[t], qx[t], qy[t])
                                   for t in range(sx.shape[0])]))


class JaxProtoNet(_Peer):
    """ProtoNet: 4 x [3x3 conv, BatchNorm (batch statistics, moving averages kept), ReLU, 2x2 max-pool]."""

    def __init__(self, weights, ways, momentum=0.9):
        self.blocks = sum(k.startswith("w") for k in weights)
        self.ways, self.momentum = ways, momentum
        self.moving = [(jnp.zeros(weights[f"w{i}"].shape[-1]), jnp.ones(weights[f"w{i}"].shape[-1]))
                       for i in range(self.blocks)]
        super().__init__(weights)

    def _compile(self):
        grad = jax.value_and_grad(self.loss, has_aux=True)

        def step(params, opt_state, moving, batch):  # the moving statistics, as Keras's BatchNormalization keeps them
            (loss, stats), grads = grad(params, *batch)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            moving = [(self.momentum * m + (1 - self.momentum) * mean, self.momentum * v + (1 - self.momentum) * var)
                      for (m, v), (mean, var) in zip(moving, stats)]
            return optax.apply_updates(params, updates), opt_state, moving, loss

        self._step = jax.jit(step)
        loss_and_grads = lambda params, *batch: (lambda value, grads: (value[0], grads))(*grad(params, *batch))
        self._grad = jax.jit(loss_and_grads)

    def loss(self, params, sx, sy, qx, qy):
        tasks, support, ways = sx.shape[0], sx.shape[1], self.ways
        h = jnp.concatenate([sx, qx], axis=1).reshape(-1, *sx.shape[2:])
        stats = []
        for i in range(self.blocks):
            h = _conv(h, params[f"w{i}"], params[f"b{i}"], 1)
            mean = jnp.mean(h, axis=(0, 1, 2))
            variance = jnp.mean(jnp.square(h - mean), axis=(0, 1, 2))
            stats.append((lax.stop_gradient(mean), lax.stop_gradient(variance)))
            h = jax.nn.relu((h - mean) * lax.rsqrt(variance + 1e-3) * params[f"gamma{i}"] + params[f"beta{i}"])
            h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        z = h.reshape(tasks, -1, int(np.prod(h.shape[1:])))
        s, q = z[:, :support], z[:, support:]
        onehot = jax.nn.one_hot(sy, ways)
        prototypes = jnp.einsum("tsn,tsd->tnd", onehot, s) / jnp.sum(onehot, 1)[..., None]
        logits = -jnp.sum(jnp.square(q[:, :, None] - prototypes[:, None]), -1)
        return _cross_entropy(logits.reshape(-1, ways), qy.reshape(-1)), stats

    def step(self, batch):
        self.params, self.opt_state, self.moving, loss = self._step(self.params, self.opt_state, self.moving, batch)
        return loss


def _task_norm(x, gamma, beta):
    """`[T, B, H, W, C]` normalized with each task's statistics over its B, H, W."""
    mean = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
    variance = jnp.mean(jnp.square(x - mean), axis=(1, 2, 3), keepdims=True)
    return (x - mean) * lax.rsqrt(variance + 1e-3) * gamma + beta


def _layer_norm(x, gamma, beta=None, epsilon=1e-6):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    variance = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    x = (x - mean) * lax.rsqrt(variance + epsilon) * gamma
    return x if beta is None else x + beta


class JaxHyperTransformer(_Peer):
    """HyperTransformer, logits generated (the paper's default): image embedding s(x), a 4-block CNN whose
    kernels are learned, and a post-LN Transformer encoder that reads the logits layer's weight slices
    from the support tokens `[label embedding, s(x), CNN features]` (Zhmoginov et al. 2022, Sect. 3)."""

    def __init__(self, weights, ways, num_layers=3, num_heads=2, embedding_dim=32):
        self.ways, self.num_layers, self.num_heads, self.embedding_dim = ways, num_layers, num_heads, embedding_dim
        self.blocks = sum(k.startswith("conv") for k in weights)
        super().__init__(weights)

    def image_embedding(self, p, x):
        tasks = x.shape[0]
        for i in range(4):
            h = lax.conv_general_dilated(x.reshape(-1, *x.shape[2:]), p[f"image_conv{i}/kernel"], (2, 2), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
            x = jax.nn.relu(_task_norm(h.reshape(tasks, -1, *h.shape[1:]), p[f"image_norm{i}_gamma"],
                                       p[f"image_norm{i}_beta"]))
        return jnp.mean(x, axis=(2, 3))

    def features(self, p, x):
        tasks = x.shape[0]
        for i in range(self.blocks):
            h = lax.conv_general_dilated(x.reshape(-1, *x.shape[2:]), p[f"conv{i}_kernel"], (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
            h = lax.reduce_window(jax.nn.relu(h), -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            x = _task_norm(h.reshape(tasks, -1, *h.shape[1:]), p[f"norm{i}_gamma"], p[f"norm{i}_beta"])
        return x.reshape(tasks, x.shape[1], -1)

    def attention(self, p, prefix, x):
        q, k, v = (jnp.einsum("tsd,dhk->tshk", x, p[f"{prefix}/{name}/kernel"]) for name in ("query", "key", "value"))
        scores = jnp.einsum("tqhk,tshk->thqs", q / jnp.sqrt(q.shape[-1]), k)
        mixed = jnp.einsum("thqs,tshk->tqhk", jax.nn.softmax(scores, axis=-1), v)
        return jnp.einsum("tqhk,hkd->tqd", mixed, p[f"{prefix}/attention_output/kernel"])

    def generate(self, p, images, features, labels):
        """The logits layer's slices `[T, ways, F + 1]` from the support tokens."""
        t = "logits_transformer"
        table, slots = p[f"{t}/label_embeddings"], p[f"{t}/slice_embeddings"]
        tokens = jnp.concatenate([images, features], axis=-1)
        width = self.embedding_dim + max(tokens.shape[-1], features.shape[-1] + 1)
        samples = jnp.concatenate([table[jnp.where(labels < 0, self.ways, labels)],
                                   jnp.pad(tokens, ((0, 0), (0, 0), (0, width - self.embedding_dim - tokens.shape[-1])))],
                                  axis=-1)
        placeholders = jnp.broadcast_to(jnp.pad(slots, ((0, 0), (0, width - self.embedding_dim)))[None],
                                        (tokens.shape[0], self.ways, width))
        x = jnp.concatenate([placeholders, samples], axis=1)
        for i in range(self.num_layers):
            norm = lambda j: (p[f"{t}/encoder{i}_norm{j}/gamma"], p.get(f"{t}/encoder{i}_norm{j}/beta"))
            x = _layer_norm(x + self.attention(p, f"{t}/encoder{i}_attention", x), *norm(0))
            inner = jax.nn.relu(x @ p[f"{t}/encoder{i}_inner/kernel"] + p[f"{t}/encoder{i}_inner/bias"])
            x = _layer_norm(x + inner @ p[f"{t}/encoder{i}_outer/kernel"] + p[f"{t}/encoder{i}_outer/bias"], *norm(1))
        return x[:, :self.ways, self.embedding_dim:self.embedding_dim + features.shape[-1] + 1]

    def loss(self, p, sx, sy, qx, qy):
        support = self.features(p, sx)
        slices = self.generate(p, self.image_embedding(p, sx), support, sy)
        size = support.shape[-1]
        logits = jnp.einsum("tqf,tnf->tqn", self.features(p, qx), slices[..., :size]) + slices[:, None, :, size]
        return _cross_entropy(logits.reshape(-1, self.ways), qy.reshape(-1))
