"""The same MAML and ProtoNet steps as kzoo's, written in PyTorch and in JAX, for `benchmarks/vs_peers.py`.

Every peer starts from kzoo's weights (`common.kzoo_weights`, TensorFlow layouts:
conv kernels `[3, 3, in, out]`, dense kernels `[in, out]`) and exposes
`loss_and_grads(batch)` (for the equality check, gradients back in TensorFlow layouts)
and `step(batch)` (one Adam(1e-3) training step, the timed work).
"""
