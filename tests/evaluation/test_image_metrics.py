"""Paired L1 / PSNR / SSIM with hand-computed values."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.evaluation import image_metrics as im


def _images(seed=0, shape=(3, 16, 16, 2)):
    return np.random.default_rng(seed).uniform(-0.7, 0.7, shape).astype(np.float32)


def test_identical_images():
    images = _images()
    np.testing.assert_array_equal(im.l1(images, images), np.zeros(3))
    assert np.all(np.isinf(im.psnr(images, images)))
    np.testing.assert_allclose(im.ssim(images, images), np.ones(3), atol=1e-6)


def test_constant_offset_in_tanh_range():
    images = _images()
    shifted = images + 0.2
    # L1 = 0.2; MSE = 0.04 and R = 2: PSNR = 10 log10(4 / 0.04) = 20 dB.
    np.testing.assert_allclose(im.l1(images, shifted), np.full(3, 0.2), rtol=1e-5)
    np.testing.assert_allclose(im.psnr(images, shifted), np.full(3, 20.0), rtol=1e-5)


def test_constant_offset_in_uint8_range():
    images = np.random.default_rng(1).uniform(30, 200, (2, 12, 12, 3)).astype(np.float32)
    shifted = images - 25.5
    # Same relative offset as 0.2 on [-1, 1]: L1 25.5, PSNR 20 dB.
    np.testing.assert_allclose(im.l1(images, shifted, im.UINT8_RANGE), [25.5, 25.5], rtol=1e-5)
    np.testing.assert_allclose(im.psnr(images, shifted, im.UINT8_RANGE), [20.0, 20.0],
                               rtol=1e-5)


def test_ssim_of_constant_images_by_hand():
    # Constant images have no variance, so SSIM is the luminance term
    # (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1), C1 = (0.01 R)^2, measured after
    # shifting [-1, 1] to [0, 2]: 0 -> 1, 0.4 -> 1.4.
    a = np.zeros((1, 16, 16, 1), np.float32)
    b = np.full((1, 16, 16, 1), 0.4, np.float32)
    c1 = (0.01 * 2) ** 2
    expected = (2 * 1.0 * 1.4 + c1) / (1.0 + 1.4 ** 2 + c1)
    # tf.image.ssim works in float32: E[x^2] - E[x]^2 cancels to ~1e-7, against
    # C2 = 3.6e-3, so the contrast term is 1 only to ~3e-4. (Unshifted it would be
    # C1 / (0.16 + C1) = 0.0025.)
    np.testing.assert_allclose(im.ssim(a, b), [expected], atol=1e-3)


def test_ssim_does_not_depend_on_the_value_range_convention():
    a, b = _images(2), _images(3)
    in_tanh = im.ssim(a, b, im.TANH_RANGE)
    in_uint8 = im.ssim((a + 1) * 127.5, (b + 1) * 127.5, im.UINT8_RANGE)
    np.testing.assert_allclose(in_tanh, in_uint8, rtol=1e-4)
    assert np.all(in_tanh < 0.5)  # independent noise images are dissimilar


def test_psnr_matches_definition():
    a, b = _images(4), _images(5)
    mse = np.mean((a.astype(np.float64) - b) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(im.psnr(a, b), 10 * np.log10(4.0 / mse), rtol=1e-5)


def test_single_image_and_tensor_inputs():
    a = tf.zeros((16, 16, 1))
    b = tf.fill((16, 16, 1), 0.5)
    np.testing.assert_allclose(im.l1(a, b), [0.5])


def test_out_of_range_images_are_rejected_with_a_hint():
    uint8_like = np.full((1, 16, 16, 1), 200.0, np.float32)
    with pytest.raises(ValueError, match=r"outside value_range \(-1, 1\).*\(0, 255\)"):
        im.psnr(uint8_like, uint8_like)


@pytest.mark.parametrize("call, message", [
    (lambda: im.l1(np.zeros((2, 16, 16, 1)), np.zeros((2, 16, 8, 1))), "same shape"),
    (lambda: im.ssim(np.zeros((1, 8, 8, 1)), np.zeros((1, 8, 8, 1))), "at least 11x11"),
    (lambda: im.l1(np.zeros((16, 16)), np.zeros((16, 16))), r"\[B, H, W, C\]"),
    (lambda: im.psnr(np.zeros((1, 16, 16, 1)), np.zeros((1, 16, 16, 1)), (1, 1)), "low < high"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_paired_metrics_over_batches_averages_over_images():
    a = _images(6, (5, 16, 16, 1))
    b = np.clip(a + _images(7, (5, 16, 16, 1)) * 0.1, -1, 1)
    whole = im.paired_metrics(a, b)
    assert whole.num_images == 5 and whole.value_range == (-1.0, 1.0)
    assert whole.l1 == pytest.approx(float(np.mean(im.l1(a, b))), rel=1e-6)
    batches = [(a[:2], b[:2]), (a[2:], b[2:])]  # unequal batches: means over images
    streamed = im.paired_metrics_over(batches)
    for name in ("l1", "psnr", "ssim"):
        assert getattr(streamed, name) == pytest.approx(getattr(whole, name), rel=1e-6)
    assert streamed.num_images == 5
    dataset = tf.data.Dataset.from_tensor_slices((a, b)).batch(2).repeat()
    first3 = im.paired_metrics_over(dataset, max_images=3)
    assert first3.num_images == 3
    assert first3.l1 == pytest.approx(float(np.mean(im.l1(a[:3], b[:3]))), rel=1e-6)
    assert math.isinf(im.paired_metrics(a, a).psnr)
    with pytest.raises(ValueError, match="no image pairs"):
        im.paired_metrics_over([])
