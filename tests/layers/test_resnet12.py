import keras
import numpy as np
import pytest

from kzoo import episodes
from kzoo.applications import ProtoNet
from kzoo.layers import DropBlock, ResNet12


def test_dropblock_drops_about_its_rate_in_squares_and_keeps_the_mean():
    layer = DropBlock(0.2, block_size=3, seed=0)
    x = np.ones((8, 12, 12, 4), "float32")
    y = np.asarray(layer(x, training=True))
    dropped = y == 0
    assert 0.12 < dropped.mean() < 0.32 and abs(y.mean() - 1.0) < 1e-5
    # dropped units come in blocks: a dropped unit's 3x3 neighbourhood is mostly dropped too
    inner = dropped[:, 1:-1, 1:-1]
    neighbours = sum(np.roll(np.roll(dropped, a, 1), b, 2)[:, 1:-1, 1:-1] for a in (-1, 0, 1) for b in (-1, 0, 1))
    assert neighbours[inner].mean() > 4
    with pytest.raises(ValueError, match="rate"):
        DropBlock(1.0)


def test_resnet12_embeds_84x84_rgb_and_trains_as_a_protonet_backbone(tmp_path, recwarn):
    net = ResNet12(channels=(4, 8, 8, 16), name="resnet12")
    assert tuple(net(np.zeros((2, 84, 84, 3), "float32")).shape) == (2, 16)
    model = ProtoNet(example_shape=(32, 32, 3), backbone=ResNet12(channels=(4, 4, 8, 8)))
    rng = np.random.default_rng(0)
    source = episodes.arrays(rng.uniform(size=(30, 32, 32, 3)).astype("float32"), np.repeat(np.arange(5), 6))
    model.compile()
    history = model.fit(episodes.few_shot(source, 3, 1, 2, tasks=2), steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    x, _ = next(iter(episodes.few_shot(source, 3, 1, 2, batches=1)))
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "m.keras").predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-4, atol=1e-4)
    assert not [w for w in recwarn if "build_from_config" in str(w.message)]  # the loaded model builds itself
    with pytest.raises(ValueError, match="four `channels`"):
        ResNet12(channels=(4, 4))
