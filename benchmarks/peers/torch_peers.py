"""MAML and ProtoNet in PyTorch (NCHW), eager or through `torch.compile`, Adam(1e-3)."""

import numpy as np
import torch
import torch.nn.functional as F

from .common import INNER_LR


def same_pads(size, blocks):
    """TensorFlow's "SAME" padding of a 3x3 stride-2 conv: `(before, after)` per block."""
    pads = []
    for _ in range(blocks):
        out = -(-size // 2)
        total = max((out - 1) * 2 + 3 - size, 0)
        pads.append((total // 2, total - total // 2))
        size = out
    return pads


def _to_torch(name, array):
    """TensorFlow layout -> torch: conv kernels `[3, 3, in, out]` -> `[out, in, 3, 3]`; dense kernels stay `[in, out]`."""
    tensor = torch.from_numpy(np.array(array, dtype=np.float32))  # a copy: the optimizer updates it in place
    return tensor.permute(3, 2, 0, 1).contiguous() if tensor.ndim == 4 else tensor


def _to_tensorflow(name, tensor):
    array = tensor.detach().cpu().numpy()
    return array.transpose(2, 3, 1, 0) if array.ndim == 4 else array


class _Peer:
    def __init__(self, weights, compile=False, device="cpu"):
        self.device = torch.device(device)
        self.params = {k: torch.nn.Parameter(_to_torch(k, v).to(self.device)) for k, v in weights.items()}
        self.blocks = sum(k.startswith("w") for k in weights)
        self.optimizer = torch.optim.Adam(self.params.values(), lr=1e-3)

    def prepare(self, x, y):
        """The batch `(support_x, support_y, query_x, query_y)` on the peer's device, images NCHW."""
        nchw = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 1, 4, 2, 3)))
        batch = (nchw(x["support_x"]), torch.from_numpy(x["support_y"]).long(), nchw(x["query_x"]),
                 torch.from_numpy(y).long())
        return tuple(a.to(self.device) for a in batch)

    def loss_and_grad_tensors(self, batch):
        """Plain autograd of `self.loss(params, *batch)` (MAML overrides it with `torch.func`)."""
        for q in self.params.values():
            q.grad = None
        loss = self.loss(self.params, *batch)
        loss.backward()
        return loss.detach(), {k: q.grad for k, q in self.params.items()}

    def loss_and_grads(self, batch):
        loss, grads = self.loss_and_grad_tensors(batch)
        return float(loss), {k: _to_tensorflow(k, g) for k, g in grads.items()}

    def step(self, batch):
        loss, grads = self.loss_and_grad_tensors(batch)
        for k, p in self.params.items():
            p.grad = grads[k]
        self.optimizer.step()
        return loss


class TorchMAML(_Peer):
    """Second-order MAML with `torch.func`: `grad` of the support loss nested in `grad_and_value` of the query loss.

    `vmap=True` maps the tasks with `torch.func.vmap`, otherwise a loop; `compile=True`
    wraps the meta-gradient function in `torch.compile`."""

    def __init__(self, weights, inner_steps=1, vmap=False, compile=False, device="cpu", first_order=False):
        super().__init__(weights, compile, device)
        self.inner_steps, self.vmap, self.first_order = inner_steps, vmap, first_order
        self.fast = [k for k in weights if not k.startswith(("gamma", "beta"))]
        self.meta_grad = torch.func.grad_and_value(self.meta_loss)
        if compile:
            self.meta_grad = torch.compile(self.meta_grad)

    def forward(self, params, x):
        h = x
        for i, (top, bottom) in enumerate(same_pads(x.shape[-1], self.blocks)):
            h = F.conv2d(F.pad(h, (top, bottom, top, bottom)), params[f"w{i}"], params[f"b{i}"], stride=2)
            mean = h.mean(dim=(0, 2, 3), keepdim=True)
            var = ((h - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            h = F.relu((h - mean) * torch.rsqrt(var + 1e-3) * params[f"gamma{i}"][:, None, None]
                       + params[f"beta{i}"][:, None, None])
        return h.mean(dim=(2, 3)) @ params["head_w"] + params["head_b"]

    def query_loss(self, params, sx, sy, qx, qy):
        fast = {k: params[k] for k in self.fast}
        for _ in range(self.inner_steps):
            grads = torch.func.grad(lambda f: F.cross_entropy(self.forward({**params, **f}, sx), sy))(fast)
            if self.first_order:
                grads = {k: g.detach() for k, g in grads.items()}
            fast = {k: fast[k] - INNER_LR * grads[k] for k in fast}
        return F.cross_entropy(self.forward({**params, **fast}, qx), qy)

    def meta_loss(self, params, sx, sy, qx, qy):
        if self.vmap:
            return torch.func.vmap(self.query_loss, in_dims=(None, 0, 0, 0, 0))(params, sx, sy, qx, qy).mean()
        return torch.stack([self.query_loss(params, *task) for task in zip(sx, sy, qx, qy)]).mean()

    def loss_and_grad_tensors(self, batch):
        grads, loss = self.meta_grad({k: v.detach() for k, v in self.params.items()}, *batch)
        return loss, grads


class TorchProtoNet(_Peer):
    """ProtoNet: 4 x [3x3 conv, BatchNorm (batch statistics, running averages kept), ReLU, 2x2 max-pool];
    plain autograd, the loss function `torch.compile`d with `compile=True` (its backward is compiled too)."""

    def __init__(self, weights, compile=False, device="cpu"):
        super().__init__(weights, compile, device)
        self.running = [(torch.zeros(weights[f"w{i}"].shape[-1], device=self.device),
                         torch.ones(weights[f"w{i}"].shape[-1], device=self.device)) for i in range(self.blocks)]
        self.loss = torch.compile(self._loss) if compile else self._loss

    def _loss(self, params, sx, sy, qx, qy):
        tasks, support = sx.shape[0], sx.shape[1]
        h = torch.cat([sx, qx], dim=1).reshape(-1, *sx.shape[2:])
        for i in range(self.blocks):
            h = F.conv2d(h, params[f"w{i}"], params[f"b{i}"], padding=1)
            mean, var = self.running[i]
            h = F.relu(F.batch_norm(h, mean, var, params[f"gamma{i}"], params[f"beta{i}"], training=True,
                                    momentum=0.1, eps=1e-3))
            h = F.max_pool2d(h, 2)
        z = h.reshape(tasks, sx.shape[1] + qx.shape[1], -1)
        s, q = z[:, :support], z[:, support:]
        onehot = F.one_hot(sy, support).float()  # 1-shot: one support image per class
        prototypes = torch.einsum("tsn,tsd->tnd", onehot, s) / onehot.sum(1)[..., None]
        logits = -((q[:, :, None] - prototypes[:, None]) ** 2).sum(-1)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), qy.reshape(-1))


def _task_norm(x, gamma, beta):
    """`[T, B, C, H, W]` normalized with each task's statistics over its B, H, W."""
    mean = x.mean(dim=(1, 3, 4), keepdim=True)
    var = ((x - mean) ** 2).mean(dim=(1, 3, 4), keepdim=True)
    return (x - mean) * torch.rsqrt(var + 1e-3) * gamma[:, None, None] + beta[:, None, None]


class TorchHyperTransformer(_Peer):
    """HyperTransformer, logits generated, as `jax_peers.JaxHyperTransformer`; plain autograd,
    the loss function `torch.compile`d with `compile=True`."""

    def __init__(self, weights, ways, num_layers=3, num_heads=2, embedding_dim=32, compile=False, device="cpu"):
        super().__init__(weights, compile, device)
        self.ways, self.num_layers, self.embedding_dim = ways, num_layers, embedding_dim
        self.blocks = sum(k.startswith("conv") for k in weights)
        self.loss = torch.compile(self._loss) if compile else self._loss

    def image_embedding(self, p, x):
        tasks = x.shape[0]
        for i, (top, bottom) in enumerate(same_pads(x.shape[-1], 4)):
            h = F.conv2d(F.pad(x.reshape(-1, *x.shape[2:]), (top, bottom, top, bottom)), p[f"image_conv{i}/kernel"],
                         stride=2)
            x = F.relu(_task_norm(h.reshape(tasks, -1, *h.shape[1:]), p[f"image_norm{i}_gamma"],
                                  p[f"image_norm{i}_beta"]))
        return x.mean(dim=(3, 4))

    def features(self, p, x):
        tasks = x.shape[0]
        for i in range(self.blocks):
            h = F.max_pool2d(F.relu(F.conv2d(x.reshape(-1, *x.shape[2:]), p[f"conv{i}_kernel"], padding=1)), 2)
            x = _task_norm(h.reshape(tasks, -1, *h.shape[1:]), p[f"norm{i}_gamma"], p[f"norm{i}_beta"])
        return x.permute(0, 1, 3, 4, 2).reshape(tasks, x.shape[1], -1)  # flattened as TensorFlow's NHWC

    def attention(self, p, prefix, x):
        q, k, v = (torch.einsum("tsd,dhk->tshk", x, p[f"{prefix}/{name}/kernel"]) for name in ("query", "key", "value"))
        scores = torch.einsum("tqhk,tshk->thqs", q / q.shape[-1] ** 0.5, k)
        mixed = torch.einsum("thqs,tshk->tqhk", torch.softmax(scores, dim=-1), v)
        return torch.einsum("tqhk,hkd->tqd", mixed, p[f"{prefix}/attention_output/kernel"])

    def generate(self, p, images, features, labels):
        t = "logits_transformer"
        tokens = torch.cat([images, features], dim=-1)
        width = self.embedding_dim + max(tokens.shape[-1], features.shape[-1] + 1)
        rows = torch.where(labels < 0, torch.full_like(labels, self.ways), labels)
        samples = torch.cat([p[f"{t}/label_embeddings"][rows],
                             F.pad(tokens, (0, width - self.embedding_dim - tokens.shape[-1]))], dim=-1)
        placeholders = F.pad(p[f"{t}/slice_embeddings"], (0, width - self.embedding_dim))
        x = torch.cat([placeholders.expand(tokens.shape[0], -1, -1), samples], dim=1)
        for i in range(self.num_layers):
            def norm(y, j):
                return F.layer_norm(y, (width,), p[f"{t}/encoder{i}_norm{j}/gamma"],
                                    p.get(f"{t}/encoder{i}_norm{j}/beta"), eps=1e-6)
            x = norm(x + self.attention(p, f"{t}/encoder{i}_attention", x), 0)
            inner = F.relu(x @ p[f"{t}/encoder{i}_inner/kernel"] + p[f"{t}/encoder{i}_inner/bias"])
            x = norm(x + inner @ p[f"{t}/encoder{i}_outer/kernel"] + p[f"{t}/encoder{i}_outer/bias"], 1)
        return x[:, :self.ways, self.embedding_dim:self.embedding_dim + features.shape[-1] + 1]

    def _loss(self, p, sx, sy, qx, qy):
        support = self.features(p, sx)
        slices = self.generate(p, self.image_embedding(p, sx), support, sy)
        size = support.shape[-1]
        logits = torch.einsum("tqf,tnf->tqn", self.features(p, qx), slices[..., :size]) + slices[:, None, :, size]
        return F.cross_entropy(logits.reshape(-1, self.ways), qy.reshape(-1))
