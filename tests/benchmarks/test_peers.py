"""The peers of benchmarks/vs_peers.py compute kzoo's loss and gradients from kzoo's weights (so the same work is timed).

Skipped without the `[bench]` extra (torch, jax, optax)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


@pytest.fixture(scope="module")
def batch():
    from peers import common

    return common.episode_batch(3)


@pytest.mark.parametrize("algorithm,inner_steps", [("maml", 2), ("protonet", 0), ("hypertransformer", 0)])
def test_peers_match_kzoo_loss_and_gradients(batch, algorithm, inner_steps):
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    from peers import common
    from peers.jax_peers import JaxHyperTransformer, JaxMAML, JaxProtoNet
    from peers.torch_peers import TorchHyperTransformer, TorchMAML, TorchProtoNet

    x, y = batch
    model = common.kzoo_model(algorithm, 3, 4, inner_steps)
    weights = common.kzoo_weights(model)
    loss, grads = common.kzoo_loss_and_grads(model, x, y)
    if algorithm == "maml":
        peers = [TorchMAML(weights, inner_steps), JaxMAML(weights, inner_steps), JaxMAML(weights, inner_steps, vmap=True)]
    elif algorithm == "protonet":
        peers = [TorchProtoNet(weights), JaxProtoNet(weights, 3)]
    else:
        peers = [TorchHyperTransformer(weights, 3), JaxHyperTransformer(weights, 3)]
    for peer in peers:
        peer_loss, peer_grads = peer.loss_and_grads(peer.prepare(x, y))
        assert peer_loss == pytest.approx(loss, rel=1e-4), type(peer).__name__
        assert common.relative_difference(grads, peer_grads) < 1e-3, type(peer).__name__
    # and the check can fail: one weight off changes the gradients
    key = "conv1_kernel" if algorithm == "hypertransformer" else "w1"
    weights = {**weights, key: weights[key] * 1.01}
    peer = peers[0].__class__(weights, *{"maml": (inner_steps,), "protonet": ()}.get(algorithm, (3,)))
    assert common.relative_difference(grads, peer.loss_and_grads(peer.prepare(x, y))[1]) > 1e-3


def test_relative_difference_is_over_the_whole_gradient():
    from peers import common

    reference = {"w": np.ones(100), "b": np.full(1, 1e-9)}  # a bias before BatchNorm: zero up to rounding
    assert common.relative_difference(reference, {"w": np.ones(100), "b": np.full(1, -1e-9)}) < 1e-9
    with pytest.raises(ValueError, match="same weights"):
        common.relative_difference(reference, {"w": np.ones(100)})
