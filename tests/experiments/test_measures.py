"""The experiments' own measures on hand-made inputs (style, sharpness, KL fits, statistics)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.experiments import core, kl_direction, pix2pix_ablations


def test_mean_std_is_the_sample_std_and_skips_missing_values():
    assert core.mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert core.mean_std([5.0]) == (5.0, 0.0)
    assert core.mean_std([2.0, None, float("nan"), 4.0]) == pytest.approx((3.0, math.sqrt(2)))
    assert all(math.isnan(v) for v in core.mean_std([]))


def test_spearman_ranks_and_undefined_cases():
    assert core.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert core.spearman([1, 2, 3, 4], [4, 1, 0, -5]) == pytest.approx(-1.0)
    assert math.isnan(core.spearman([1, 2, 3], [7, 7, 7]))


def test_to_jsonable_turns_nan_into_null_and_numpy_into_python():
    out = core.to_jsonable({"a": np.float32(1.5), "b": float("inf"), "c": np.arange(2),
                            "d": (np.bool_(True),)})
    assert out == {"a": 1.5, "b": None, "c": [0, 1], "d": [True]}


def _stroke(slope):
    """A one-pixel line through the centre, x = 14 + slope * (14 - y), in [-1, 1]."""
    image = -np.ones((28, 28, 1), np.float32)
    for y in range(4, 24):
        image[y, int(round(14 + slope * (14 - y))), 0] = 1.0
    return image


def test_slant_is_positive_leaning_right_and_zero_upright():
    style = core.style_measures(np.stack([_stroke(0.0), _stroke(0.5), _stroke(-0.5)]))
    upright, right, left = style["slant"]
    assert upright == pytest.approx(0.0, abs=1e-9)
    assert right == pytest.approx(0.5, abs=0.03) and left == pytest.approx(-0.5, abs=0.03)
    assert style["ink"][0] == pytest.approx(20 / 784)


def test_sharpness_is_one_for_the_target_and_lower_when_blurred():
    rng = np.random.default_rng(0)
    target = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    blurred = tf.nn.avg_pool2d(target, 3, 1, "SAME").numpy()
    energy = pix2pix_ablations.high_frequency_energy(target)
    assert np.mean(pix2pix_ablations.sharpness(target, target)) == pytest.approx(1.0)
    np.testing.assert_allclose(pix2pix_ablations.sharpness(target, target), energy / energy.mean())
    assert np.all(pix2pix_ablations.sharpness(blurred, target) < 0.5)
    flat = np.zeros_like(target)
    assert np.all(pix2pix_ablations.high_frequency_energy(flat) == 0)
    # A flat target among detailed ones does not blow the ratio up: the reference is the mean.
    mixed = np.concatenate([target[:1], flat[:1]])
    assert np.all(np.isfinite(pix2pix_ablations.sharpness(mixed, mixed)))


def test_pixel_accuracy_counts_pixels_with_every_channel_within_tolerance():
    target = np.zeros((1, 2, 2, 3), np.float32)
    output = target.copy()
    output[0, 0, 0, 0] = 5.0 / 127.5      # exactly 5 levels: counted
    output[0, 0, 1, 2] = 6.0 / 127.5      # 6 levels on one channel: not counted
    assert pix2pix_ablations.pixel_accuracy(output, target) == pytest.approx([0.75])


def test_grid_kls_match_the_library_theory():
    from tfgan_pipeline.data import toy
    from tfgan_pipeline.evaluation import theory

    x = tf.constant(kl_direction.GRID, tf.float64)
    log_p = kl_direction._log_p(x)
    p = toy.mixture1d(kl_direction.MODES, kl_direction.MODE_STD).pdf(kl_direction.GRID)
    for mu, sigma in ((0.0, 2.0), (2.0, 0.5), (-1.0, 1.0)):
        q = toy.mixture1d((mu,), sigma).pdf(kl_direction.GRID)
        args = (tf.constant([mu], tf.float64), tf.constant([math.log(sigma)], tf.float64), x,
                log_p)
        assert float(kl_direction.forward_kl(*args)[0]) == pytest.approx(
            theory.kl_divergence_on_grid(p, q, x=kl_direction.GRID), rel=1e-4)
        assert float(kl_direction.reverse_kl(*args)[0]) == pytest.approx(
            theory.kl_divergence_on_grid(q, p, x=kl_direction.GRID), rel=1e-4)


def test_kl_fits_reach_moment_matching_and_a_mode():
    budget = kl_direction.Budget(kl_steps=1500, restarts=2, kl_learning_rate=0.05, gan_steps=1,
                                 gan_batch_size=8, gan_hidden_units=(4,), run_eagerly=True)
    mu, sigma, _, _ = kl_direction.fit(kl_direction.forward_kl, [0.5, -1.0], [1.0, 1.0], budget)
    np.testing.assert_allclose(mu, 0.0, atol=0.02)
    np.testing.assert_allclose(sigma, kl_direction.MIXTURE_STD, rtol=0.02)
    mu, sigma, _, _ = kl_direction.fit(kl_direction.reverse_kl, [1.0, -1.5], [0.5, 0.5], budget)
    np.testing.assert_allclose(mu, [2.0, -2.0], atol=0.02)
    np.testing.assert_allclose(sigma, kl_direction.MODE_STD, rtol=0.05)


def test_affine_generator_density_parameters():
    gen = core.affine_generator(mean=1.5, std=-0.5)
    assert core.affine_parameters(gen) == pytest.approx((1.5, 0.5))
    z = np.array([[0.0], [2.0]], np.float32)
    np.testing.assert_allclose(gen(z).numpy()[:, 0], [1.5, 0.5])
