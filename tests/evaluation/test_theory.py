"""GAN theory (Goodfellow et al. 2014, Sec. 4): KL/JS by hand, D* (Prop. 1), C(G) (Thm. 1).

The last test trains a small discriminator on samples of two known 1-D densities
and checks it reaches D* and the value -log 4 + 2 JSD.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import losses, networks
from tfgan_pipeline.data import toy
from tfgan_pipeline.evaluation import theory

LOG2 = math.log(2.0)


def _normal_pdf(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


# ---------------------------------------------------------------- discrete
def test_kl_of_bernoullis_by_hand():
    p, q = [0.5, 0.5], [0.25, 0.75]
    # 0.5 log(0.5/0.25) + 0.5 log(0.5/0.75) = 0.5 log(4/3)
    assert theory.kl_divergence(p, q) == pytest.approx(0.5 * math.log(4 / 3), rel=1e-12)
    # 0.25 log(0.25/0.5) + 0.75 log(0.75/0.5) = 0.130812...: KL is not symmetric.
    assert theory.kl_divergence(q, p) == pytest.approx(
        0.25 * math.log(0.5) + 0.75 * math.log(1.5), rel=1e-12)
    assert theory.kl_divergence(p, p) == 0.0


def test_kl_zero_conventions():
    # 0 log(0/q) = 0: only the first entry counts.
    assert theory.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(LOG2)
    # p puts mass where q has none.
    assert theory.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf


def test_js_by_hand():
    assert theory.js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(LOG2)  # disjoint
    assert theory.js_divergence([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0  # identical
    # m = (0.75, 0.25): KL(p||m) = log(4/3), KL(q||m) = 0.5 log(4/3).
    expected = 0.5 * (math.log(4 / 3) + 0.5 * math.log(4 / 3))
    assert theory.js_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(expected, rel=1e-12)
    assert theory.js_divergence([0.5, 0.5], [1.0, 0.0]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("p,q,message", [
    ([0.5, 0.6], [0.5, 0.5], "sum to 1"),
    ([1.5, -0.5], [0.5, 0.5], "negative"),
    ([np.nan, 1.0], [0.5, 0.5], "non-finite"),
    ([0.5, 0.5], [0.2, 0.3, 0.5], "same shape"),
])
def test_discrete_inputs_are_validated(p, q, message):
    with pytest.raises(ValueError, match=message):
        theory.kl_divergence(p, q)
    with pytest.raises(ValueError, match=message):
        theory.js_divergence(p, q)


# -------------------------------------------------------------------- grid
def test_kl_of_gaussians_on_a_grid_matches_the_closed_form():
    x = np.linspace(-20, 20, 40001)
    p, q = _normal_pdf(x, 0.0, 1.0), _normal_pdf(x, 1.0, 2.0)
    # log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2 = log 2 + 2/8 - 1/2
    expected = LOG2 + 0.25 - 0.5
    assert theory.kl_divergence_on_grid(p, q, x=x) == pytest.approx(expected, abs=1e-7)
    assert theory.kl_divergence_on_grid(p, q, dx=x[1] - x[0]) == pytest.approx(expected,
                                                                                abs=1e-7)


def test_js_on_a_grid_identical_and_disjoint():
    x = np.linspace(-30, 30, 60001)
    p = _normal_pdf(x, -10.0, 0.5)
    q = _normal_pdf(x, 10.0, 0.5)
    assert theory.js_divergence_on_grid(p, p, x=x) == 0.0
    assert theory.js_divergence_on_grid(p, q, x=x) == pytest.approx(LOG2, abs=1e-6)
    # Unequal supports: KL is infinite one way, JSD stays finite.
    u = np.where(np.abs(x) <= 1.0, 0.5, 0.0)
    w = np.where(np.abs(x) <= 2.0, 0.25, 0.0)
    assert theory.kl_divergence_on_grid(w, u, x=x, normalization_tol=1e-3) == math.inf
    assert theory.kl_divergence_on_grid(u, w, x=x) == pytest.approx(LOG2, abs=1e-3)


def test_grid_inputs_are_validated():
    x = np.linspace(-4, 4, 801)  # wide enough for N(0, 1), too narrow for N(0, 2^2)
    p, q = _normal_pdf(x, 0.0, 1.0), _normal_pdf(x, 0.0, 2.0)
    with pytest.raises(ValueError, match="q_values integrates to 0.954"):
        theory.js_divergence_on_grid(p, q, x=x)
    with pytest.raises(ValueError, match="exactly one of x"):
        theory.kl_divergence_on_grid(p, p, x=x, dx=0.01)
    with pytest.raises(ValueError, match="exactly one of x"):
        theory.kl_divergence_on_grid(p, p)
    with pytest.raises(ValueError, match="strictly increasing"):
        theory.kl_divergence_on_grid(p, p, x=x[::-1])
    with pytest.raises(ValueError, match="1-D"):
        theory.kl_divergence_on_grid(p[None], p[None], x=x)


# ----------------------------------------------------------------- the GAN
def test_optimal_discriminator_by_hand():
    d = theory.optimal_discriminator([1.0, 0.0, 0.3, 0.0, 2.0], [1.0, 2.0, 0.1, 0.0, 0.0])
    np.testing.assert_allclose(d, [0.5, 0.0, 0.75, 0.5, 1.0])  # 0/0 -> 0.5
    with pytest.raises(ValueError, match="negative"):
        theory.optimal_discriminator([-1.0], [1.0])


def test_optimal_value_is_minus_log4_when_pg_equals_pdata():
    p = [0.1, 0.2, 0.7]
    assert theory.optimal_value(p, p) == -math.log(4.0)
    np.testing.assert_array_equal(theory.optimal_discriminator(p, p), 0.5)
    mix = toy.mixture1d(means=(-1.5, 1.5), stds=0.5)
    x = np.linspace(-8, 8, 3201)
    density = mix.pdf(x)
    assert theory.optimal_value(density, density, x=x) == -math.log(4.0)
    assert theory.value_function(theory.optimal_discriminator(density, density), density,
                                 density, x=x) == pytest.approx(-math.log(4.0), abs=1e-12)
    # Disjoint supports: the worst generator, C(G) = -log 4 + 2 log 2 = 0.
    assert theory.optimal_value([1.0, 0.0], [0.0, 1.0]) == pytest.approx(0.0, abs=1e-15)


def test_value_at_d_star_is_c_of_g_and_d_star_is_the_maximiser():
    p_data = toy.mixture1d(means=(-1.5, 1.5), stds=0.5)
    p_g = toy.mixture1d(means=(0.5,), stds=1.25)
    x = np.linspace(-9, 9, 3601)
    pd, pg = p_data.pdf(x), p_g.pdf(x)
    d_star = theory.optimal_discriminator(pd, pg)
    c_of_g = theory.optimal_value(pd, pg, x=x)
    assert c_of_g == pytest.approx(
        -math.log(4.0) + 2 * theory.js_divergence_on_grid(pd, pg, x=x))
    assert theory.value_function(d_star, pd, pg, x=x) == pytest.approx(c_of_g, abs=1e-9)
    # Any other D is worse; D = 1/2 everywhere gives exactly -log 4.
    assert theory.value_function(np.full_like(x, 0.5), pd, pg, x=x) == pytest.approx(
        -math.log(4.0))
    for delta in (-0.05, 0.05):
        worse = np.clip(d_star + delta, 1e-6, 1 - 1e-6)
        assert theory.value_function(worse, pd, pg, x=x) < c_of_g - 1e-4
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        theory.value_function(x, pd, pg, x=x)


def test_trained_discriminator_approaches_d_star_and_c_of_g():
    """Prop. 1 / Thm. 1 in practice: a D trained with the minimax loss reaches D* and C(G).

    p_data = 0.5 N(-1.5, 0.5^2) + 0.5 N(1.5, 0.5^2), p_g = N(0.5, 1.25^2) (fixed);
    JSD = 0.153 nats, so C(G) = -1.080 against -log 4 = -1.386 for a blind D.
    Measured on this set-up (2000 Adam steps, batch 512, three seeds): mean
    |D - D*| over the high-density region 0.007-0.008, value gap 0.0011-0.0018.
    """
    keras.utils.set_random_seed(0)
    p_data = toy.mixture1d(means=(-1.5, 1.5), stds=0.5)
    p_g = toy.mixture1d(means=(0.5,), stds=1.25)
    disc = networks.mlp_discriminator((1,), hidden_units=(32, 32))
    steps, batch = 2000, 512
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps))

    @tf.function
    def train_step(step):
        seeds = tf.random.experimental.stateless_split(
            tf.stack([tf.constant(0, tf.int64), step]), 2)
        real, fake = p_data.tf_sample(batch, seeds[0]), p_g.tf_sample(batch, seeds[1])
        with tf.GradientTape() as tape:
            per_example = losses.minimax_discriminator_loss(disc(real, training=True),
                                                            disc(fake, training=True))
            loss = tf.reduce_mean(per_example)
        grads = tape.gradient(loss, disc.trainable_variables)
        optimizer.apply_gradients(zip(grads, disc.trainable_variables))

    x = np.linspace(-8, 8, 3201)
    pd, pg = p_data.pdf(x), p_g.pdf(x)
    d_star = theory.optimal_discriminator(pd, pg)
    c_of_g = theory.optimal_value(pd, pg, x=x)
    region = (pd + pg) > 0.05

    def learned_d():
        logits = disc(x[:, None].astype(np.float32)).numpy()[:, 0].astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logits))

    gap_before = c_of_g - theory.value_function(learned_d(), pd, pg, x=x)
    for step in range(steps):
        train_step(tf.constant(step, tf.int64))
    d = learned_d()

    mean_abs_error = np.abs(d - d_star)[region].mean()
    assert mean_abs_error < 0.03, mean_abs_error
    value = theory.value_function(d, pd, pg, x=x)  # exact expectation for this D
    assert gap_before > 0.05  # training had something to do
    assert value <= c_of_g + 1e-9  # D* is the maximiser (Prop. 1)
    assert c_of_g - value < 0.01, (value, c_of_g)
    # The same value estimated from fresh samples, as a GAN would see it.
    real, fake = p_data.sample(100_000, seed=1), p_g.sample(100_000, seed=2)
    d_real = tf.sigmoid(tf.cast(disc(real), tf.float64)).numpy()
    d_fake = tf.sigmoid(tf.cast(disc(fake), tf.float64)).numpy()
    monte_carlo = np.mean(np.log(d_real)) + np.mean(np.log1p(-d_fake))
    assert monte_carlo == pytest.approx(c_of_g, abs=0.02)
