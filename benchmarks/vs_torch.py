"""kzoo vs PyTorch (`torch.func`) on the same algorithms and networks, in one run.

    python benchmarks/vs_torch.py            # 4 MAML + 4 ProtoNet configurations
    python benchmarks/vs_torch.py --quick    # the smallest of each, under a minute

Needs the `[bench]` extra (`pip install -e .[bench]`; a CPU build of torch is enough).

Algorithms, identical on both sides:
- second-order MAML (kzoo: `MTNet(variant="maml")`): 4 blocks of [3x3 stride-2 conv
  ("same" padding as TensorFlow pads it), batch-statistics normalisation with the full
  graph, ReLU], spatial mean, dense head; one inner SGD step (alpha = 0.4) on the
  support set per task, Adam(1e-3) on the mean query loss after adaptation,
  differentiating through the inner step. torch: `torch.func.grad` nested in
  `torch.func.grad_and_value`, a loop over the T tasks (`--torch-vmap`: `vmap`,
  slower on this CPU).
- ProtoNet: 4 blocks of [3x3 conv, BatchNorm, ReLU, 2x2 max-pool], prototypes,
  negative squared distances, cross-entropy, Adam(1e-3) (plain autograd in torch).

Each configuration: N-way 1-shot, 15 queries per class, T = 4 tasks per step, 28x28x1
images, 32 or 64 channels. Both sides train on the same fixed batch (data loading is
not timed) after warm-up steps (tracing, compilation); kzoo's side runs Keras's compiled
train function, the one `fit` calls every step (`--fit-calls`: one `fit` call per timed
chunk, which adds fit's per-call setup); timings alternate between kzoo
and torch `--repeats` times and the medians are compared. A line ends with
`kzoo/torch = R` (R > 1: kzoo is faster). GFLOP/s counts the conv and matmul FLOPs of
one torch step (`torch.utils.flop_counter`, forward and all backward passes), the same
work for both, against this machine's float32 matmul and conv ceilings measured with
TensorFlow at the start of the run.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

try:
    import torch
    import torch.nn.functional as F
except ImportError as error:  # the default install has no torch
    raise SystemExit("benchmarks/vs_torch.py needs torch: pip install -e .[bench]") from error

from kzoo.applications import MTNet, ProtoNet

SIZE, SHOTS, QUERIES, TASKS, INNER_LR = 28, 1, 15, 4, 0.4


def episode_batch(ways, seed=0):
    rng = np.random.RandomState(seed)
    support_y = np.tile(np.arange(ways, dtype="int32"), (TASKS, SHOTS))
    query_y = np.tile(np.arange(ways, dtype="int32"), (TASKS, QUERIES))
    x = {"support_x": rng.rand(TASKS, ways * SHOTS, SIZE, SIZE, 1).astype("float32"), "support_y": support_y,
         "query_x": rng.rand(TASKS, ways * QUERIES, SIZE, SIZE, 1).astype("float32")}
    return x, query_y


# -- torch implementations ------------------------------------------------------------

def same_pads(size, blocks):
    """TensorFlow's 'same' padding of a 3x3 stride-2 conv: (before, after) per block."""
    pads = []
    for _ in range(blocks):
        out = -(-size // 2)
        total = max((out - 1) * 2 + 3 - size, 0)
        pads.append((total // 2, total - total // 2))
        size = out
    return pads


class TorchMAML:
    def __init__(self, ways, channels, inner_steps=1, blocks=4, vmap=False):
        g = torch.Generator().manual_seed(0)
        self.vmap = vmap
        self.pads = same_pads(SIZE, blocks)
        params, c_in = {}, 1
        for i in range(blocks):
            params[f"w{i}"] = torch.randn(channels, c_in, 3, 3, generator=g) * (2.0 / (9 * c_in)) ** 0.5
            params[f"b{i}"] = torch.zeros(channels)
            params[f"gamma{i}"], params[f"beta{i}"] = torch.ones(channels), torch.zeros(channels)
            c_in = channels
        params["head_w"] = torch.randn(ways, channels, generator=g) * (1.0 / channels) ** 0.5
        params["head_b"] = torch.zeros(ways)
        self.params = {k: torch.nn.Parameter(v) for k, v in params.items()}
        self.fast = [k for k in self.params if not k.startswith(("gamma", "beta"))]
        self.blocks, self.inner_steps = blocks, inner_steps
        self.optimizer = torch.optim.Adam(self.params.values(), lr=1e-3)

    def forward(self, params, x):
        h = x
        for i in range(self.blocks):
            (top, bottom) = self.pads[i]
            h = F.conv2d(F.pad(h, (top, bottom, top, bottom)), params[f"w{i}"], params[f"b{i}"], stride=2)
            mean = h.mean(dim=(0, 2, 3), keepdim=True)
            var = ((h - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            h = (h - mean) * torch.rsqrt(var + 1e-3) * params[f"gamma{i}"][:, None, None] \
                + params[f"beta{i}"][:, None, None]
            h = F.relu(h)
        return h.mean(dim=(2, 3)) @ params["head_w"].T + params["head_b"]

    def task_loss(self, params, x, y):
        return F.cross_entropy(self.forward(params, x), y)

    def query_loss(self, params, sx, sy, qx, qy):
        fast = dict(params)
        for _ in range(self.inner_steps):
            grads = torch.func.grad(lambda w: self.task_loss({**fast, **w}, sx, sy))({k: fast[k] for k in self.fast})
            fast.update({k: fast[k] - INNER_LR * grads[k] for k in self.fast})
        return self.task_loss(fast, qx, qy)

    def meta_loss(self, params, sx, sy, qx, qy):
        if self.vmap:
            return torch.func.vmap(self.query_loss, in_dims=(None, 0, 0, 0, 0))(params, sx, sy, qx, qy).mean()
        return torch.stack([self.query_loss(params, *task) for task in zip(sx, sy, qx, qy)]).mean()

    def step(self, batch):
        params = {k: v.detach() for k, v in self.params.items()}
        grads, loss = torch.func.grad_and_value(self.meta_loss)(params, *batch)
        for k, p in self.params.items():
            p.grad = grads[k]
        self.optimizer.step()
        return loss


class TorchProtoNet(torch.nn.Module):
    def __init__(self, channels, blocks=4):
        super().__init__()
        torch.manual_seed(0)
        layers, c_in = [], 1
        for _ in range(blocks):
            layers += [torch.nn.Conv2d(c_in, channels, 3, padding=1), torch.nn.BatchNorm2d(channels),
                       torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            c_in = channels
        self.net = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)

    def step(self, batch):
        sx, sy, qx, qy = batch
        tasks, support, ways = sx.shape[0], sx.shape[1], int(sy.max()) + 1
        images = torch.cat([sx, qx], dim=1)
        z = self.net(images.reshape(-1, *images.shape[2:])).reshape(tasks, images.shape[1], -1)
        s, q = z[:, :support], z[:, support:]
        onehot = F.one_hot(sy.long(), ways).float()
        prototypes = torch.einsum("tsn,tsd->tnd", onehot, s) / onehot.sum(1)[..., None]
        logits = -((q[:, :, None] - prototypes[:, None]) ** 2).sum(-1)
        loss = F.cross_entropy(logits.reshape(-1, ways), qy.reshape(-1).long())
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss


def torch_batch(x, y):
    nchw = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 1, 4, 2, 3)))
    return (nchw(x["support_x"]), torch.from_numpy(x["support_y"]).long(), nchw(x["query_x"]),
            torch.from_numpy(y).long())


def torch_flops(model, batch):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model.step(batch)
    return counter.get_total_flops()


# -- timing ---------------------------------------------------------------------------

def kzoo_runner(model, x, y, fit_calls=False):
    """Times Keras's compiled train step, the function `fit` runs once per step.

    `fit` builds and traces it once; after that, steps run on a persistent iterator,
    like the steps of one long epoch. With `fit_calls`, every timed chunk is a
    separate `model.fit(..., steps_per_epoch=steps)` call instead, which adds fit's
    per-call setup (a new iterator, callbacks, epoch logs: about 0.1-0.2 s here) to
    each chunk of a few steps.
    """
    model.compile(jit_compile=False)
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(data, steps_per_epoch=2, verbose=0)  # build and trace
    iterator = iter(data)

    def run(steps):
        if fit_calls:
            model.fit(data, steps_per_epoch=steps, verbose=0)
            return
        for _ in range(steps):
            logs = model.train_function(iterator)
        float(logs["loss"])  # the step's results are ready
    return run


def torch_runner(model, batch):
    model.step(batch)

    def run(steps):
        for _ in range(steps):
            model.step(batch)
    return run


def interleaved(runners, steps, repeats):
    """Median steps/s of each runner, alternating between them `repeats` times."""
    rates = [[] for _ in runners]
    for _ in range(repeats):
        for i, run in enumerate(runners):
            start = time.perf_counter()
            run(steps)
            rates[i].append(steps / (time.perf_counter() - start))
    return [statistics.median(r) for r in rates]


def ceilings(repeats=3):
    """This machine's float32 matmul and 3x3-conv GFLOP/s (TensorFlow, medians)."""
    a = tf.random.normal((1024, 1024))
    images = tf.random.normal((64, 28, 28, 64))
    kernel = tf.random.normal((3, 3, 64, 64))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
    conv = tf.function(lambda: tf.reduce_sum(tf.nn.conv2d(images, kernel, 1, "SAME")))
    out = []
    for fn, flops in ((matmul, 2 * 1024 ** 3), (conv, 2 * 64 * 28 * 28 * 64 * 64 * 9)):
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(5):
                fn().numpy()
            times.append((time.perf_counter() - start) / 5)
        out.append(flops / statistics.median(times) / 1e9)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5-way, 32 channels only (under a minute)")
    parser.add_argument("--fit-calls", action="store_true",
                        help="time kzoo through one model.fit call per timed chunk (adds fit's per-call setup)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per side (default 5)")
    parser.add_argument("--inner-steps", type=int, default=1, help="MAML inner steps (default 1)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for both TensorFlow and torch (default: all cores; on a machine "
                             "shared with other jobs use 1: torch's OpenMP threads stall when oversubscribed)")
    parser.add_argument("--torch-vmap", action="store_true", help="vmap over tasks in torch (default: a loop)")
    parser.add_argument("--algorithms", default="maml,protonet", help="comma-separated subset (default both)")
    args = parser.parse_args()
    unknown = set(args.algorithms.split(",")) - {"maml", "protonet"}
    if unknown:
        parser.error(f"Expected --algorithms among maml, protonet. Received: {sorted(unknown)}.")
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    torch.set_num_threads(args.threads)

    matmul_ceiling, conv_ceiling = ceilings(2 if args.quick else 3)
    print(f"machine ceilings (TensorFlow float32): matmul {matmul_ceiling:.0f} GFLOP/s, "
          f"3x3 conv {conv_ceiling:.0f} GFLOP/s; torch {torch.__version__}, {torch.get_num_threads()} threads")
    configs = [(w, c) for w in (5, 20) for c in (32, 64)]
    if args.quick:
        configs = [(5, 32)]
    for algorithm in args.algorithms.split(","):
        for ways, channels in configs:
            x, y = episode_batch(ways)
            batch = torch_batch(x, y)
            if algorithm == "maml":
                name = f"MAML 2nd order, {args.inner_steps} inner step(s)"
                kzoo = MTNet(example_shape=(SIZE, SIZE, 1), variant="maml", num_outputs=ways, channels=channels,
                             inner_lr=INNER_LR, inner_steps=args.inner_steps)
                reference = TorchMAML(ways, channels, inner_steps=args.inner_steps, vmap=args.torch_vmap)
            else:
                name = "ProtoNet"
                kzoo = ProtoNet(example_shape=(SIZE, SIZE, 1), channels=channels)
                reference = TorchProtoNet(channels)
            flops = torch_flops(reference, batch)
            steps = 3 if algorithm == "maml" else 10
            if args.quick:
                steps = 2 if algorithm == "maml" else 3
            kzoo_rate, torch_rate = interleaved([kzoo_runner(kzoo, x, y, args.fit_calls),
                                                 torch_runner(reference, batch)], steps,
                                                3 if args.quick else args.repeats)
            print(f"{name:34s} {ways:2d}-way 1-shot 15q T=4 C={channels:2d}: kzoo {kzoo_rate:6.2f} steps/s "
                  f"({flops * kzoo_rate / 1e9:5.1f} GFLOP/s), torch {torch_rate:6.2f} steps/s "
                  f"({flops * torch_rate / 1e9:5.1f} GFLOP/s), {flops / 1e9:.2f} GFLOP/step, "
                  f"kzoo/torch = {kzoo_rate / torch_rate:.2f}", flush=True)


if __name__ == "__main__":
    main()
