"""Losses against hand-computed numbers."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import losses

R = np.array([0.0, 2.0, -1.0], np.float32)
F = np.array([0.0, -3.0, 1.0], np.float32)


def sp(x):
    return math.log1p(math.exp(x))


def test_minimax_discriminator_loss_hand_computed():
    got = losses.minimax_discriminator_loss(R, F).numpy()
    want = [sp(-r) + sp(f) for r, f in zip(R, F)]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # At logits 0 (D = 1/2) the loss is 2 log 2.
    assert got[0] == pytest.approx(2 * math.log(2), rel=1e-6)


def test_generator_losses_hand_computed():
    np.testing.assert_allclose(losses.minimax_generator_loss(F), [-sp(f) for f in F], rtol=1e-6)
    np.testing.assert_allclose(losses.modified_generator_loss(F), [sp(-f) for f in F], rtol=1e-6)
    # log(1 - D) with D = sigmoid(f) equals -softplus(f).
    d = 1 / (1 + np.exp(-F.astype(np.float64)))
    np.testing.assert_allclose(losses.minimax_generator_loss(F), np.log(1 - d), rtol=1e-5)


def test_wasserstein_least_squares_hinge_hand_computed():
    np.testing.assert_allclose(losses.wasserstein_discriminator_loss(R, F), [0.0, -5.0, 2.0])
    np.testing.assert_allclose(losses.wasserstein_generator_loss(F), [0.0, 3.0, -1.0])
    np.testing.assert_allclose(losses.least_squares_discriminator_loss(R, F),
                               [0.5 + 0.0, 0.5 + 4.5, 2.0 + 0.5])
    np.testing.assert_allclose(losses.least_squares_generator_loss(F), [0.5, 8.0, 0.0])
    np.testing.assert_allclose(losses.hinge_discriminator_loss(R, F),
                               [1.0 + 1.0, 0.0 + 0.0, 2.0 + 2.0])
    np.testing.assert_allclose(losses.hinge_generator_loss(F), [0.0, 3.0, -1.0])


def test_patch_outputs_are_averaged_per_example():
    real = np.zeros([2, 3, 3, 1], np.float32)
    fake = np.zeros([2, 3, 3, 1], np.float32)
    fake[1, 0, 0, 0] = 9.0  # one patch of the second example
    got = losses.wasserstein_discriminator_loss(real, fake).numpy()
    np.testing.assert_allclose(got, [0.0, 1.0])
    assert losses.least_squares_generator_loss(fake).shape == (2,)


def test_column_outputs_match_flat_outputs():
    np.testing.assert_allclose(losses.minimax_discriminator_loss(R[:, None], F[:, None]),
                               losses.minimax_discriminator_loss(R, F), rtol=1e-6)


def test_scalar_and_mismatched_outputs_are_rejected():
    with pytest.raises(ValueError, match="batch axis"):
        losses.modified_generator_loss(tf.constant(1.0))
    with pytest.raises(ValueError, match="same per-example shape"):
        losses.hinge_discriminator_loss(np.zeros([2, 4]), np.zeros([2, 5]))
    with pytest.raises(ValueError, match="Unknown GAN loss 'foo'"):
        losses.get_losses("foo")


def test_gradient_penalty_of_linear_critic_hand_computed():
    # critic(x) = w . x has gradient w everywhere: penalty (||w|| - 1)^2 = (5 - 1)^2 = 16.
    w = tf.constant([[3.0], [4.0]])
    critic = lambda x, training=True: tf.matmul(x, w)  # noqa: E731
    real = tf.random.normal([4, 2])
    fake = tf.random.normal([4, 2])
    np.testing.assert_allclose(losses.wasserstein_gradient_penalty(critic, real, fake),
                               [16.0] * 4, rtol=1e-5)


def test_gradient_penalty_interpolates_per_example():
    # critic(x) = sum x^2 / 2 has gradient x: at x_hat = a*r + (1-a)*f the norm is |x_hat|.
    critic = lambda x, training=True: 0.5 * tf.reduce_sum(tf.square(x), axis=1)  # noqa: E731
    real = tf.constant([[2.0], [4.0]])
    fake = tf.constant([[0.0], [0.0]])
    alpha = tf.constant([0.5, 0.25])
    got = losses.wasserstein_gradient_penalty(critic, real, fake, alpha=alpha).numpy()
    np.testing.assert_allclose(got, [(1.0 - 1.0) ** 2, (1.0 - 1.0) ** 2], atol=1e-6)
    got = losses.wasserstein_gradient_penalty(critic, real, fake, alpha=tf.constant([1.0, 1.0]))
    np.testing.assert_allclose(got, [1.0, 9.0], rtol=1e-5)


def test_gradient_penalty_draws_alpha_uniformly_per_example():
    critic = lambda x, training=True: 0.5 * tf.reduce_sum(tf.square(x), axis=1)  # noqa: E731
    real = tf.ones([4000, 1])
    fake = tf.zeros([4000, 1])
    # penalty = (alpha - 1)^2 with alpha ~ U[0,1]: mean 1/3, and values vary per example.
    gp = losses.wasserstein_gradient_penalty(critic, real, fake).numpy()
    assert gp.mean() == pytest.approx(1 / 3, abs=0.03)
    assert gp.std() > 0.2


# name -> (discriminator formula, generator formula), written out by hand.
_BY_NAME = {
    "minimax": (lambda r, f: sp(-r) + sp(f), lambda f: -sp(f)),
    "non_saturating": (lambda r, f: sp(-r) + sp(f), lambda f: sp(-f)),
    "wasserstein": (lambda r, f: f - r, lambda f: -f),
    "least_squares": (lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * f ** 2, lambda f: 0.5 * (f - 1) ** 2),
    "hinge": (lambda r, f: max(0.0, 1 - r) + max(0.0, 1 + f), lambda f: -f),
}


@pytest.mark.parametrize("name", sorted(_BY_NAME))
def test_the_name_table_maps_each_name_to_its_objective(name):
    d_fn, g_fn = losses.get_losses(name)
    want_d, want_g = _BY_NAME[name]
    np.testing.assert_allclose(d_fn(R, F), [want_d(r, f) for r, f in zip(R, F)], rtol=1e-6)
    np.testing.assert_allclose(g_fn(F), [want_g(f) for f in F], rtol=1e-6, atol=1e-7)
    assert sorted(losses.LOSSES) == sorted(_BY_NAME)


def test_auxiliary_class_loss_by_hand():
    logits = np.array([[0.0, math.log(3.0)], [2.0, 0.0]], np.float32)
    # softmax([0, ln 3]) = [1/4, 3/4]; softmax([2, 0])[1] = 1 / (1 + e^2).
    np.testing.assert_allclose(losses.auxiliary_class_loss(np.array([1, 1]), logits),
                               [math.log(4 / 3), math.log(1 + math.e ** 2)], rtol=1e-6)


def test_categorical_code_loss_sums_over_codes():
    # Two codes (3 and 2 categories); uniform logits give ln 3 + ln 2.
    loss = losses.categorical_code_loss(np.array([[2, 1]]), np.zeros((1, 5), np.float32), (3, 2))
    np.testing.assert_allclose(loss, [math.log(3) + math.log(2)], rtol=1e-6)
    # Code 0 sure of category 2 (right: ~0), code 1 sure of category 0 (wrong: ~9).
    sharp = np.array([[0, 0, 9, 9, 0]], np.float32)
    want = (math.log(2 + math.exp(9)) - 9) + (math.log(1 + math.exp(9)))
    np.testing.assert_allclose(losses.categorical_code_loss(np.array([[2, 1]]), sharp, (3, 2)),
                               [want], rtol=1e-5)


def test_gaussian_code_nll_by_hand():
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    codes, mean = np.array([[1.0, -1.0]]), np.array([[0.0, -1.0]])
    np.testing.assert_allclose(losses.gaussian_code_nll(codes, mean),
                               [0.5 + 2 * half_log_2pi], rtol=1e-6)
    log_std = np.log([[2.0, 0.5]])
    expected = (math.log(2.0) + 0.5 * (1 / 2) ** 2 + math.log(0.5) + 0.0 + 2 * half_log_2pi)
    np.testing.assert_allclose(losses.gaussian_code_nll(codes, mean, log_std), [expected],
                               rtol=1e-6)


def test_l1_loss_is_the_per_example_mean_absolute_error():
    target = np.zeros((2, 2, 2, 1), np.float32)
    output = np.zeros((2, 2, 2, 1), np.float32)
    output[0, 0, 0, 0] = 2.0   # one pixel of example 0 off by 2
    output[1] = -0.5           # every pixel of example 1 off by 0.5
    np.testing.assert_allclose(losses.l1_loss(target, output), [0.5, 0.5])
