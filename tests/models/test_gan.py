"""GAN training model: objectives, k steps, clipping, sampling, MirroredStrategy equivalence."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import models, networks


def _tiny_dcgan(latent_dim=8, normalization="batch"):
    return (networks.dcgan_generator(latent_dim, image_size=16, channels=1, width=4,
                                     normalization=normalization),
            networks.dcgan_discriminator(image_size=16, channels=1, width=4,
                                         normalization=normalization))


def _images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 16, 16, 1)).astype("float32")


def _adam():
    return keras.optimizers.Adam(1e-3, beta_1=0.5)


@pytest.mark.parametrize("loss", ["minimax", "non_saturating", "wasserstein", "least_squares",
                                  "hinge"])
def test_fit_reports_metrics_for_every_loss(loss):
    gan = models.GAN(*_tiny_dcgan(), latent_dim=8)
    gan.compile(_adam(), _adam(), loss=loss)
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(_images(16)).batch(8), epochs=1, verbose=0)
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert np.isfinite(hist.history[name][-1]), name


def test_d_steps_updates_discriminator_k_times_per_generator_step():
    gan = models.GAN(*_tiny_dcgan(), latent_dim=8)
    gan.compile(_adam(), _adam(), d_steps=3)
    gan.fit(tf.data.Dataset.from_tensor_slices(_images(24)).batch(6), epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations.numpy()) == 4
    assert int(gan.d_optimizer.iterations.numpy()) == 12


def test_d_steps_needs_divisible_batches():
    gan = models.GAN(*_tiny_dcgan(), latent_dim=8)
    gan.compile(_adam(), _adam(), d_steps=3)
    ds = tf.data.Dataset.from_tensor_slices(_images(8)).batch(8, drop_remainder=True)
    with pytest.raises(ValueError, match="divisible by d_steps"):
        gan.fit(ds, epochs=1, verbose=0)


def test_weight_clipping_bounds_every_critic_weight():
    gan = models.GAN(*_tiny_dcgan(normalization="none"), latent_dim=8)
    models.compile_preset(gan, "wgan", d_steps=2)
    gan.fit(tf.data.Dataset.from_tensor_slices(_images(8)).batch(4), epochs=1, verbose=0)
    for w in gan.discriminator.trainable_variables:
        assert float(tf.reduce_max(tf.abs(w))) <= 0.01 + 1e-7, w.path
    assert isinstance(gan.d_optimizer, keras.optimizers.RMSprop)


def test_gradient_penalty_is_reported_and_positive():
    gan = models.GAN(*_tiny_dcgan(normalization="layer"), latent_dim=8)
    models.compile_preset(gan, "wgan_gp", d_steps=1)
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(_images(8)).batch(4), epochs=1, verbose=0)
    assert hist.history["gp"][-1] > 0
    assert gan.gradient_penalty_weight == 10.0
    assert gan.d_optimizer.beta_2 == 0.9


def test_compile_rejects_bad_arguments():
    gan = models.GAN(*_tiny_dcgan(), latent_dim=8)
    with pytest.raises(ValueError, match="Unknown GAN loss"):
        gan.compile(_adam(), _adam(), loss="nope")
    with pytest.raises(ValueError, match="d_steps"):
        gan.compile(_adam(), _adam(), d_steps=0)
    with pytest.raises(TypeError, match="g_optimizer must be"):
        gan.compile(_adam(), "adam")
    opt = _adam()
    with pytest.raises(ValueError, match="two different optimizer"):
        gan.compile(opt, opt)
    with pytest.raises(ValueError, match="Unknown preset"):
        models.compile_preset(gan, "biggan")


def test_generate_is_reproducible_with_a_seed():
    gan = models.GAN(*_tiny_dcgan(), latent_dim=8)
    a = gan.generate(5, seed=3).numpy()
    b = gan.generate(5, seed=3).numpy()
    c = gan.generate(5, seed=4).numpy()
    assert a.shape == (5, 16, 16, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.abs(a).max() <= 1.0


def test_learns_a_1d_gaussian():
    """Non-saturating GAN moves its samples onto N(3, 0.5^2) from N(0, 1)-ish start."""
    keras.utils.set_random_seed(0)
    gan = models.GAN(networks.mlp_generator(4, (1,), hidden_units=(32, 32)),
                     networks.mlp_discriminator((1,), hidden_units=(32, 32)), latent_dim=4)
    gan.compile(keras.optimizers.Adam(2e-3, beta_1=0.5), keras.optimizers.Adam(2e-3, beta_1=0.5))
    data = np.random.default_rng(0).normal(3.0, 0.5, (128 * 64, 1)).astype("float32")
    gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(128), epochs=3, verbose=0)
    samples = gan.generate(4000, seed=0).numpy()
    assert abs(samples.mean() - 3.0) < 0.3
    assert 0.25 < samples.std() < 0.9


class _FixedNoiseGAN(models.GAN):
    """Takes z rows from a table by replica id, so 1 and 2 replicas see the same noise."""

    def __init__(self, *args, noise, **kwargs):
        super().__init__(*args, **kwargs)
        self.noise = tf.constant(noise)

    def sample_latent(self, batch_size):
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        start = tf.cast(replica, tf.int32) * batch_size
        return self.noise[start:start + batch_size]


@pytest.mark.parametrize("d_steps", [1, 2])
def test_mirrored_step_matches_single_device(mirrored_strategy, d_steps):
    """One fit step on 2 replicas equals the same step on one device.

    Each replica gets a contiguous half of the global batch and splits it into
    d_steps slices, so discriminator step i on 2 replicas sees examples
    {half_0 slice i} + {half_1 slice i}; the single-device run is fed the same
    examples in that order.
    """
    global_batch = 8
    noise = np.random.default_rng(1).normal(size=(global_batch // d_steps, 8)).astype("float32")
    images = _images(global_batch)
    halves = np.split(images, 2)
    single_order = np.concatenate(
        [s for i in range(d_steps) for s in (np.split(halves[0], d_steps)[i],
                                             np.split(halves[1], d_steps)[i])])
    data = tf.data.Dataset.from_tensor_slices(images).batch(global_batch)
    single_data = tf.data.Dataset.from_tensor_slices(single_order).batch(global_batch)

    keras.utils.set_random_seed(0)
    single = _FixedNoiseGAN(*_tiny_dcgan(), latent_dim=8, noise=noise)
    single.compile(_adam(), _adam(), d_steps=d_steps)
    init_g, init_d = single.generator.get_weights(), single.discriminator.get_weights()

    with mirrored_strategy.scope():
        mirrored = _FixedNoiseGAN(*_tiny_dcgan(), latent_dim=8, noise=noise)
        mirrored.generator.set_weights(init_g)
        mirrored.discriminator.set_weights(init_d)
        mirrored.compile(_adam(), _adam(), d_steps=d_steps)

    h1 = single.fit(single_data, epochs=1, verbose=0)
    h2 = mirrored.fit(data, epochs=1, verbose=0)

    for net in ("generator", "discriminator"):
        w1 = getattr(single, net).get_weights()
        w2 = getattr(mirrored, net).get_weights()
        moved = max(np.abs(a - b).max() for a, b in zip(w1, init_g if net == "generator" else init_d))
        assert moved > 1e-4, "the step did not change the weights; the test would be vacuous"
        for a, b in zip(w1, w2):
            np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)
    for name in ("d_loss", "g_loss"):
        assert h1.history[name][-1] == pytest.approx(h2.history[name][-1], rel=1e-4, abs=1e-5)
