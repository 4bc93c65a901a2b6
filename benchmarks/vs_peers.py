"""kzoo against eager PyTorch, `torch.compile` and JAX on the same algorithms and networks, in one run.

    python benchmarks/vs_peers.py --threads 1           # every algorithm and configuration
    python benchmarks/vs_peers.py --threads 2
    python benchmarks/vs_peers.py --quick --threads 1   # 5-way, 32 channels, no torch.compile

Needs the `[bench]` extra (`pip install -e .[bench]`: torch, jax, optax). Use torch's CPU
build: the CUDA build's triton segfaults when `torch.compile` imports it after TensorFlow.

Algorithms, the same math on every side (`benchmarks/peers/`):
- second-order MAML with 1 and 5 inner steps (kzoo: `MTNet(variant="maml")`): 4 blocks of
  [3x3 stride-2 conv with TensorFlow's "SAME" padding, batch-statistics normalisation
  with the full graph, ReLU], spatial mean, dense head; inner SGD steps (alpha = 0.4) on
  each task's support set, Adam(1e-3) on the mean query loss after adaptation,
  differentiated through the inner steps. torch: `torch.func.grad` nested in
  `grad_and_value`, a loop over the tasks. JAX: nested `jax.grad` in one `jax.jit`, timed
  both with a loop over the tasks and with `jax.vmap`; the faster is compared.
- ProtoNet: 4 blocks of [3x3 conv, BatchNorm with running averages, ReLU, 2x2 max-pool],
  prototypes, negative squared distances, cross-entropy, Adam(1e-3).
- HyperTransformer's training step with generated logits (`HyperTransformer()`, the
  paper's defaults: 3 post-LN encoder layers, 2 heads, label and slice embeddings of 32,
  image embedding of 4 stride-2 convs, a learned 4-block CNN with per-task batch
  statistics), Adam(1e-3) on the query cross-entropy.

Before timing, every peer starts from kzoo's weights, and its loss and gradients on the
batch are checked against kzoo's (`||g_peer - g_kzoo|| / ||g_kzoo||` below `--tolerance`
over the whole gradient vector); a peer that differs is reported and not timed.

Timing: N-way 1-shot, 15 queries per class, T = 4 tasks per step, 28x28x1 images; every
side trains on the same fixed batch (data loading is not timed) after warm-up steps
(tracing, compilation, whose seconds are printed). kzoo's side runs Keras's compiled
train function, the one `fit` calls every step. The sides alternate `--repeats` times and
their medians are compared: `kzoo/torch = R` (R > 1: kzoo is faster).

Threads: `--threads N` sets every side's pools before they start (TensorFlow intra- and
inter-op; torch intra-op, one inter-op; XLA's CPU client) and, unless
`--omp-wait-policy` says otherwise, `OMP_WAIT_POLICY=PASSIVE` so that torch's idle
OpenMP workers sleep instead of spinning while another side runs.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

CONFIGS = {  # algorithm -> (ways, channels) timed by default
    "maml1": [(5, 32), (20, 32)],
    "maml5": [(5, 32)],
    "protonet": [(5, 32), (20, 32)],
    "hypertransformer": [(5, 8), (20, 8)],
}
PEERS = ("torch", "torch.compile", "jax")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads of every side (default 1)")
    parser.add_argument("--algorithms", default=",".join(CONFIGS),
                        help=f"comma-separated subset of {', '.join(CONFIGS)} (default all)")
    parser.add_argument("--peers", default=None,
                        help=f"comma-separated subset of {', '.join(PEERS)} (default: all; torch,jax with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="5-way, 32 channels only, without torch.compile (whose compilation takes minutes)")
    parser.add_argument("--repeats", type=int, default=3, help="timed chunks per side (default 3)")
    parser.add_argument("--tolerance", type=float, default=5e-3,
                        help="largest relative gradient difference to kzoo's (default 5e-3: ProtoNet's float32 "
                             "gradients differ by up to ~2e-3 between frameworks' conv kernels)")
    parser.add_argument("--omp-wait-policy", choices=("PASSIVE", "ACTIVE", "unset"), default="PASSIVE",
                        help="OMP_WAIT_POLICY for torch's OpenMP pool (default PASSIVE)")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                        help="where every side runs (gpu: TensorFlow's first GPU, torch's cuda:0, JAX's GPU "
                             "backend; each must be installed with GPU support)")
    args = parser.parse_args(argv)
    if args.peers is None:
        args.peers = "torch,jax" if args.quick else ",".join(PEERS)
    for option, value, known in (("--algorithms", args.algorithms, CONFIGS), ("--peers", args.peers, PEERS)):
        unknown = set(value.split(",")) - set(known)
        if unknown:
            parser.error(f"Expected {option} among {', '.join(known)}. Received: {sorted(unknown)}.")
    if args.threads < 1:
        parser.error(f"Expected --threads >= 1. Received: {args.threads}.")
    return args


def set_thread_environment(args):
    """Thread settings that must be in the environment before TensorFlow, torch or JAX start."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.omp_wait_policy != "unset":
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy
    if args.device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        # (a first token without "--" would be read as a flags file name)
        flags = (f"--xla_cpu_multi_thread_eigen={'false' if args.threads == 1 else 'true'} "
                 f"intra_op_parallelism_threads={args.threads}")
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()


def interleaved(runners, steps, repeats):
    """Median steps/s of each runner, alternating between them `repeats` times."""
    rates = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run(steps)
            rates[name].append(steps / (time.perf_counter() - start))
    return {name: statistics.median(r) for name, r in rates.items()}


def kzoo_runner(model, x, y):
    """Keras's compiled train step, the function `fit` runs every step, on a persistent iterator."""
    import tensorflow as tf

    model.compile(jit_compile=False)
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(data, steps_per_epoch=2, verbose=0, shuffle=False)  # build and trace
    iterator = iter(data)

    def run(steps):
        for _ in range(steps):
            logs = model.train_function(iterator)
        float(logs["loss"])  # the step's results are ready
    return run


def peer_runner(peer, batch, synchronize):
    def run(steps):
        for _ in range(steps):
            loss = peer.step(batch)
        synchronize(loss)
    return run


def build_peers(names, algorithm, weights, ways, inner_steps, device):
    """`{label: peer}`; JAX's MAML both with a loop over the tasks and with vmap."""
    peers = {}
    if "torch" in names or "torch.compile" in names:
        from peers.torch_peers import TorchMAML, TorchProtoNet
        from peers.torch_peers import TorchHyperTransformer
    if "jax" in names:
        from peers.jax_peers import JaxHyperTransformer, JaxMAML, JaxProtoNet
    for name in names:
        compiled = name == "torch.compile"
        if name.startswith("torch"):
            peers[name] = {"protonet": lambda: TorchProtoNet(weights, compile=compiled, device=device),
                           "hypertransformer": lambda: TorchHyperTransformer(weights, ways, compile=compiled,
                                                                             device=device),
                           }.get(algorithm, lambda: TorchMAML(weights, inner_steps, compile=compiled,
                                                             device=device))()
        elif algorithm == "protonet":
            peers["jax"] = JaxProtoNet(weights, ways)
        elif algorithm == "hypertransformer":
            peers["jax"] = JaxHyperTransformer(weights, ways)
        else:
            peers["jax (loop)"] = JaxMAML(weights, inner_steps, vmap=False)
            peers["jax (vmap)"] = JaxMAML(weights, inner_steps, vmap=True)
    return peers


def main(argv=None):
    args = parse_args(argv)
    set_thread_environment(args)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tensorflow as tf

    from peers import common

    if args.device == "cpu":
        tf.config.set_visible_devices([], "GPU")
    names = args.peers.split(",")
    common.set_threads(args.threads, torch_too=any(n.startswith("torch") for n in names))
    versions = [f"tensorflow {tf.__version__}"]
    if any(n.startswith("torch") for n in names):
        import torch

        versions.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    if "jax" in names:
        import jax

        versions.append(f"jax {jax.__version__} ({jax.devices()[0].platform})")
    print(f"{', '.join(versions)}; --threads {args.threads}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}",
          flush=True)
    device = "cuda" if args.device == "gpu" else "cpu"
    for algorithm in args.algorithms.split(","):
        inner_steps = {"maml1": 1, "maml5": 5}.get(algorithm, 0)
        label = (f"MAML 2nd order, {inner_steps} inner step{'s' * (inner_steps > 1)}" if inner_steps else
                 {"protonet": "ProtoNet", "hypertransformer": "HyperTransformer (logits)"}[algorithm])
        for ways, channels in CONFIGS[algorithm][:1] if args.quick else CONFIGS[algorithm]:
            x, y = common.episode_batch(ways)
            model = common.kzoo_model("maml" if inner_steps else algorithm, ways, channels, inner_steps)
            weights = common.kzoo_weights(model)
            kzoo_loss, kzoo_grads = common.kzoo_loss_and_grads(model, x, y)
            runners, notes = {"kzoo": kzoo_runner(model, x, y)}, []
            for name, peer in build_peers(names, algorithm, weights, ways, inner_steps, device).items():
                batch = peer.prepare(x, y)
                start = time.perf_counter()
                try:
                    loss, grads = peer.loss_and_grads(batch)
                except Exception as error:  # e.g. a compiler that cannot handle a double backward
                    notes.append(f"{name}: failed ({type(error).__name__}: {str(error).splitlines()[0][:120]})")
                    continue
                difference = common.relative_difference(kzoo_grads, grads)
                if difference > args.tolerance or abs(loss - kzoo_loss) > args.tolerance * abs(kzoo_loss):
                    notes.append(f"{name}: NOT TIMED, loss {loss:.6f} vs kzoo's {kzoo_loss:.6f}, "
                                 f"gradients differ by {difference:.1e}")
                    continue
                peer.step(batch)  # the step's own first call (optimizer state, compilation)
                notes.append(f"{name}: gradients within {difference:.0e}, first calls {time.perf_counter() - start:.1f} s")
                runners[name] = peer_runner(peer, batch, lambda loss: float(loss))
            steps = 3 if inner_steps else 5
            rates = interleaved(runners, steps, args.repeats)
            jax_rates = {k: v for k, v in rates.items() if k.startswith("jax")}
            if jax_rates:
                fastest = max(jax_rates, key=jax_rates.get)
                rates = {k: v for k, v in rates.items() if not k.startswith("jax")} | {fastest: jax_rates[fastest]}
            line = ", ".join(f"{k} {v:.2f}" for k, v in rates.items())
            ratios = ", ".join(f"kzoo/{k.split(' ')[0]} = {rates['kzoo'] / v:.2f}" for k, v in rates.items()
                               if k != "kzoo")
            print(f"{label:30s} {ways:2d}-way C={channels:2d} steps/s: {line}; {ratios}", flush=True)
            if jax_rates and len(jax_rates) > 1:
                notes.append("jax " + ", ".join(f"{k[5:-1]} {v:.2f}" for k, v in jax_rates.items()) + " steps/s")
            for note in notes:
                print(f"    {note}", flush=True)


if __name__ == "__main__":
    main()
