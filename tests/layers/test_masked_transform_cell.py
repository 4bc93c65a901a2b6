import numpy as np
import pytest
import tensorflow as tf

from kzoo.layers import MaskedTransformCell


def test_transform_starts_as_identity_and_is_applied_after_w_x_plus_b():
    cell = MaskedTransformCell(3, use_mask=False)
    x = np.array([[1.0, 2.0]], "float32")
    y = cell(x).numpy()
    np.testing.assert_allclose(y, x @ cell.kernel.numpy() + cell.bias.numpy(), rtol=1e-6)
    t = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [3.0, 0.0, -1.0]], "float32")
    cell.transform.assign(t)
    np.testing.assert_allclose(cell(x).numpy(), (x @ cell.kernel.numpy() + cell.bias.numpy()) @ t, rtol=1e-5)


def test_conv_transform_is_a_channel_mixing_1x1_conv():
    cell = MaskedTransformCell(2, kernel_size=3, strides=2)
    x = np.random.RandomState(0).rand(1, 6, 6, 3).astype("float32")
    plain = cell(x).numpy()
    t = np.array([[0.0, 1.0], [2.0, 0.0]], "float32")
    cell.transform.assign(t)
    np.testing.assert_allclose(cell(x).numpy(), plain @ t, rtol=1e-5, atol=1e-6)
    assert plain.shape == (1, 3, 3, 2)


def test_gumbel_mask_is_binary_forward_and_passes_gradient_to_the_logits():
    cell = MaskedTransformCell(64)
    cell.build((None, 5))
    with tf.GradientTape() as tape:
        kernel_mask, bias_mask = cell.sample_masks()
        target = tf.reduce_sum(kernel_mask * tf.range(64, dtype=tf.float32))
    values = np.unique(kernel_mask.numpy())
    assert set(values) == {0.0, 1.0}  # both occur at p = 0.5 over 64 units
    assert kernel_mask is bias_mask or np.array_equal(kernel_mask, bias_mask)
    grad = tape.gradient(target, cell.mask_logits).numpy()
    assert np.count_nonzero(grad) > 32 and np.all(grad >= 0)


def test_mask_probability_follows_the_logits():
    cell = MaskedTransformCell(2000)
    cell.build((None, 1))
    cell.mask_logits.assign(np.full(2000, np.log(3.0), "float32"))  # sigmoid = 0.75
    rate = np.mean([cell.sample_masks()[0].numpy().mean() for _ in range(5)])
    assert abs(rate - 0.75) < 0.02
    assert float(cell.update_fraction()) == pytest.approx(0.75, abs=1e-6)
    np.testing.assert_array_equal(cell.sample_masks("mode")[0].numpy(), np.ones(2000))


def test_full_mask_has_one_logit_per_weight():
    cell = MaskedTransformCell(4, kernel_size=3, full_mask=True)
    cell.build((None, 8, 8, 2))
    assert cell.mask_logits.shape == (3, 3, 2, 4) and cell.bias_mask_logits.shape == (4,)
    kernel_mask, bias_mask = cell.sample_masks()
    assert kernel_mask.shape == (3, 3, 2, 4) and bias_mask.shape == (4,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"units": 0}, "units"),
        ({"units": 3, "temperature": 0.0}, "temperature"),
        ({"units": 3, "use_mask": False, "full_mask": True}, "full_mask"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MaskedTransformCell(**kwargs)


def test_config_round_trip():
    cell = MaskedTransformCell(5, kernel_size=3, strides=2, use_transform=False, full_mask=True, temperature=0.5)
    assert MaskedTransformCell.from_config(cell.get_config()).get_config() == cell.get_config()


def test_cells_of_the_same_shape_draw_independent_masks():
    first, second = MaskedTransformCell(40), MaskedTransformCell(40)
    for cell in (first, second):
        cell.build((None, 40))  # zero logits: each unit is kept with probability 0.5
    agreement = np.mean([np.mean(first.sample_masks()[0].numpy() == second.sample_masks()[0].numpy())
                         for _ in range(100)])
    assert 0.43 < agreement < 0.57  # 100% when every cell shared one seed


def test_a_stateless_seed_replays_its_mask():
    cell = MaskedTransformCell(64)
    cell.build((None, 3))
    seed = tf.constant([3, 4], tf.int64)
    np.testing.assert_array_equal(cell.sample_masks(seed=seed)[0], cell.sample_masks(seed=seed)[0])
    other = cell.sample_masks(seed=tf.constant([3, 5], tf.int64))[0]
    assert not np.array_equal(cell.sample_masks(seed=seed)[0], other)
