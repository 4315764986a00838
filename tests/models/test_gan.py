"""GAN on the template: objectives by value, k steps with any batch, clipping, GP,
gradient norms, sampling, MirroredStrategy equivalence."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import models, networks
from tfgan_pipeline.models import base

from ._objectives import HAND as _HAND


def _tiny_dcgan(latent_dim=8, normalization="batch"):
    return (networks.dcgan_generator(latent_dim, image_size=16, channels=1, width=4,
                                     normalization=normalization),
            networks.dcgan_discriminator(image_size=16, channels=1, width=4,
                                         normalization=normalization))


def _images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 16, 16, 1)).astype("float32")


def _adam():
    return keras.optimizers.Adam(1e-3, beta_1=0.5)


def _frozen():
    """An optimizer that changes nothing: the step's reported values are then exact."""
    return keras.optimizers.SGD(0.0)


def _linear_gan(real_dim=2):
    """G ignores z and outputs its bias g0 = (0.5, -1); D(x) = 3 x0 + 4 x1 - 1."""
    z = keras.Input((3,))
    fake = keras.layers.Dense(real_dim, bias_initializer=keras.initializers.Constant([0.5, -1.0]))(
        keras.layers.Lambda(lambda t: t * 0.0)(z))
    x = keras.Input((real_dim,))
    score = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant([[3.0], [4.0]]),
                               bias_initializer=keras.initializers.Constant(-1.0))(x)
    return models.GAN(keras.Model(z, fake), keras.Model(x, score), latent_dim=3)




@pytest.mark.parametrize("loss", sorted(_HAND))
def test_fit_optimises_the_named_objective(loss):
    """The step reports exactly the named objective of D's outputs (frozen weights)."""
    gan = _linear_gan()
    gan.compile(_frozen(), _frozen(), loss=loss)
    real = np.array([[1.0, 0.0], [0.0, 0.5], [-1.0, 1.0]], np.float32)
    hist = gan.fit(real, batch_size=3, epochs=1, verbose=0, shuffle=False).history
    r = real @ np.array([3.0, 4.0]) - 1.0          # [2, 1, 0]
    f = 3.0 * 0.5 + 4.0 * -1.0 - 1.0               # -3.5 for every generated sample
    d_fn, g_fn = _HAND[loss]
    assert hist["d_loss"][0] == pytest.approx(np.mean(d_fn(r, f)), rel=1e-5)
    assert hist["g_loss"][0] == pytest.approx(g_fn(f), rel=1e-5)
    assert hist["d_real"][0] == pytest.approx(r.mean(), rel=1e-5)
    assert hist["d_fake"][0] == pytest.approx(f, rel=1e-5)
    assert hist["gp"][0] == 0.0


def test_gradient_penalty_is_added_to_the_critic_loss_by_value():
    # D is linear with ||w|| = 5, so the penalty is (5 - 1)^2 = 16 at every interpolate.
    gan = _linear_gan()
    gan.compile(_frozen(), _frozen(), loss="wasserstein", gradient_penalty_weight=10.0)
    real = np.array([[1.0, 0.0], [0.0, 0.5]], np.float32)
    hist = gan.fit(real, batch_size=2, epochs=1, verbose=0).history
    r, f = real @ np.array([3.0, 4.0]) - 1.0, -3.5
    assert hist["gp"][0] == pytest.approx(16.0, rel=1e-5)
    assert hist["d_loss"][0] == pytest.approx(np.mean(f - r) + 160.0, rel=1e-5)


def test_d_steps_updates_discriminator_k_times_per_generator_step():
    gan = models.GAN(*_tiny_dcgan(), latent_dim=8)
    gan.compile(_adam(), _adam(), d_steps=3)
    gan.fit(tf.data.Dataset.from_tensor_slices(_images(24)).batch(6), epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations.numpy()) == 4
    assert int(gan.d_optimizer.iterations.numpy()) == 12


def test_split_batch_slices_any_batch_into_near_equal_fresh_slices():
    x = np.arange(7)
    pieces = base.split_batch(tf.constant(x), 3)
    assert [p.numpy().tolist() for p in pieces] == [[0, 1, 2], [3, 4], [5, 6]]
    # Nested structures are split alike: labels stay with their images.
    pairs = base.split_batch((tf.constant(x), tf.constant(x * 10)), 2)
    assert [(a.numpy().tolist(), b.numpy().tolist()) for a, b in pairs] == [
        ([0, 1, 2, 3], [0, 10, 20, 30]), ([4, 5, 6], [40, 50, 60])]
    # Unknown batch size at trace time: the same rule, computed in the graph.
    traced = tf.function(lambda t: base.split_batch(t, 3),
                         input_signature=[tf.TensorSpec([None], tf.int64)])
    assert [p.numpy().tolist() for p in traced(tf.constant(x))] == [[0, 1, 2], [3, 4], [5, 6]]
    with pytest.raises(ValueError, match="d_steps=3 slices.*at least 3 examples.*got 2"):
        base.split_batch(tf.constant([1, 2]), 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 3 examples"):
        traced(tf.constant([1, 2], tf.int64))


def test_wgan_gp_with_the_papers_batch_64_and_five_critic_steps():
    """Batch 64, n_critic 5 (Gulrajani et al.): slices of 13, 13, 13, 13, 12."""
    gan = models.GAN(*_tiny_dcgan(normalization="layer"), latent_dim=8)
    models.compile_preset(gan, "wgan_gp", run_eagerly=True)  # eager: sizes are numbers
    seen = []
    original = gan.discriminator_loss

    def recording(real):
        seen.append(real[0].shape[0])
        return original(real)

    gan.discriminator_loss = recording
    gan.fit(tf.data.Dataset.from_tensor_slices(_images(64)).batch(64), epochs=1, verbose=0)
    assert seen == [13, 13, 13, 13, 12]
    assert int(gan.d_optimizer.iterations.numpy()) == 5
    assert int(gan.g_optimizer.iterations.numpy()) == 1


def test_a_batch_smaller_than_d_steps_is_refused_with_the_rule():
    gan = models.GAN(*_tiny_dcgan(), latent_dim=8)
    gan.compile(_adam(), _adam(), d_steps=3)
    ds = tf.data.Dataset.from_tensor_slices(_images(2)).batch(2, drop_remainder=True)
    with pytest.raises(ValueError, match="at least 3 examples"):
        gan.fit(ds, epochs=1, verbose=0)


def test_weight_clipping_bounds_every_critic_weight():
    gan = models.GAN(*_tiny_dcgan(normalization="none"), latent_dim=8)
    models.compile_preset(gan, "wgan", d_steps=2)
    gan.fit(tf.data.Dataset.from_tensor_slices(_images(8)).batch(4), epochs=1, verbose=0)
    largest = [float(tf.reduce_max(tf.abs(w))) for w in gan.discriminator.trainable_variables]
    assert max(largest) <= 0.01 + 1e-7, largest
    assert max(largest) == pytest.approx(0.01), "no weight reached the bound: vacuous"
    assert isinstance(gan.d_optimizer, keras.optimizers.RMSprop)


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
    with pytest.raises(TypeError, match="does not take 'optimizer'"):
        gan.compile(_adam(), _adam(), optimizer=_adam())


# ------------------------------------------------------------------ presets
@pytest.mark.parametrize("name, d_cls, d_lr, g_lr, options", [
    ("gan", keras.optimizers.Adam, 2e-4, 2e-4, dict(loss_name="non_saturating", d_steps=1)),
    ("dcgan", keras.optimizers.Adam, 2e-4, 2e-4, dict(loss_name="non_saturating", d_steps=1)),
    ("wgan", keras.optimizers.RMSprop, 5e-5, 5e-5,
     dict(loss_name="wasserstein", d_steps=5, clip_value=0.01)),
    ("wgan_gp", keras.optimizers.Adam, 1e-4, 1e-4,
     dict(loss_name="wasserstein", d_steps=5, gradient_penalty_weight=10.0)),
])
def test_preset_rows_build_the_papers_settings(name, d_cls, d_lr, g_lr, options):
    gan = models.compile_preset(models.GAN(*_tiny_dcgan(), latent_dim=8), name)
    assert isinstance(gan.d_optimizer, d_cls) and isinstance(gan.g_optimizer, d_cls)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(d_lr)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(g_lr)
    for attr, value in options.items():
        assert getattr(gan, attr) == value, attr
    if name == "wgan_gp":
        assert (gan.d_optimizer.beta_1, gan.d_optimizer.beta_2) == (0.5, 0.9)
    assert "Alg. 1" in models.PRESETS[name].paper or "Sec." in models.PRESETS[name].paper


def test_compile_preset_overrides_learning_rates_when_building_the_optimizers():
    gan = models.GAN(*_tiny_dcgan(), latent_dim=8)
    models.compile_preset(gan, "dcgan", learning_rate=1e-3, g_learning_rate=5e-4, d_steps=2)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(5e-4)
    assert gan.d_steps == 2
    # The learning rate is the optimizer's own hyper-parameter, not a value
    # assigned after the fact: a fresh optimizer built by the preset carries it.
    assert gan.d_optimizer.get_config()["learning_rate"] == pytest.approx(1e-3)
    assert models.compile_preset(models.GAN(*_tiny_dcgan(), latent_dim=8)).loss_name == \
        "non_saturating"
    with pytest.raises(ValueError, match="Unknown preset 'biggan'"):
        models.compile_preset(gan, "biggan")
    with pytest.raises(ValueError, match="Preset 'pix2pix' is for Pix2Pix models"):
        models.compile_preset(gan, "pix2pix")


# ------------------------------------------------------------ gradient norms
def test_gradient_norms_hand_computed_and_nothing_changes():
    """d_loss = mean D(fake) - mean D(real): dD/dw = mean(fake) - mean(real) = g0 - (2, 3),
    dD/db = 0; g_loss = -mean D(G(z)): dG/dbias = -w = -(3, 4), kernel 0 (input zeroed)."""
    gan = _linear_gan()
    models.compile_preset(gan, "wgan", d_steps=1)  # clipping would move weights if a step ran
    before = [v.numpy().copy() for v in gan.variables]
    norms = gan.gradient_norms(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    assert norms["d_grad_norm"] == pytest.approx(math.hypot(0.5 - 2.0, -1.0 - 3.0), rel=1e-6)
    assert norms["g_grad_norm"] == pytest.approx(5.0, rel=1e-6)
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, gan.variables))
    assert int(gan.g_optimizer.iterations.numpy()) == 0


def test_gradient_norms_are_replica_independent(mirrored_strategy):
    with mirrored_strategy.scope():
        gan = _linear_gan()
        models.compile_preset(gan, "wgan", d_steps=1)
    norms = gan.gradient_norms(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    assert norms["d_grad_norm"] == pytest.approx(math.hypot(1.5, 4.0), rel=1e-6)
    assert norms["g_grad_norm"] == pytest.approx(5.0, rel=1e-6)


def test_gradient_norms_restore_batch_norm_statistics():
    gan = models.compile_preset(models.GAN(*_tiny_dcgan(), latent_dim=8))
    before = [v.numpy().copy() for v in gan.variables]
    norms = gan.gradient_norms(_images(10, seed=1))
    assert norms["d_grad_norm"] > 0 and norms["g_grad_norm"] > 0
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, gan.variables))


# ----------------------------------------------------------------- sampling
def test_generate_is_reproducible_with_a_seed_and_takes_noise():
    gan = models.GAN(*_tiny_dcgan(), latent_dim=8)
    a = gan.generate(5, seed=3).numpy()
    np.testing.assert_array_equal(a, gan.generate(5, seed=3).numpy())
    assert not np.allclose(a, gan.generate(5, seed=4).numpy())
    z = tf.random.stateless_normal([5, 8], seed=[3, 0])
    np.testing.assert_allclose(a, gan.generator(z, training=False).numpy(), atol=1e-6)
    np.testing.assert_allclose(gan.generate(5, noise=z, batch_size=2).numpy(), a, atol=1e-6)
    with pytest.raises(TypeError, match=r"conditioning \['labels'\] it does not take"):
        gan.generate(2, labels=1)
    with pytest.raises(ValueError, match=r"noise must have shape \[8\]"):
        gan.generate(2, noise=np.zeros(3))


def test_learns_a_1d_gaussian():
    """Non-saturating GAN moves its samples onto N(3, 0.5^2) from N(0, 1)-ish start."""
    keras.utils.set_random_seed(0)
    gan = models.GAN(networks.mlp_generator(4, (1,), hidden_units=(32, 32)),
                     networks.mlp_discriminator((1,), hidden_units=(32, 32)), latent_dim=4)
    models.compile_preset(gan, "gan", learning_rate=2e-3)
    data = np.random.default_rng(0).normal(3.0, 0.5, (128 * 64, 1)).astype("float32")
    gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(128), epochs=3, verbose=0)
    samples = gan.generate(4000, seed=0).numpy()
    assert abs(samples.mean() - 3.0) < 0.3
    assert 0.25 < samples.std() < 0.9


# ------------------------------------------------------- MirroredStrategy
class _FixedNoiseGAN(models.GAN):
    """Takes z rows from a table by replica id, so 1 and 2 replicas see the same noise."""

    def __init__(self, *args, noise, **kwargs):
        super().__init__(*args, **kwargs)
        self.noise = tf.constant(noise)

    def sample_latent(self, batch_size):
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        start = tf.cast(replica, tf.int32) * batch_size
        return self.noise[start:start + batch_size]


def _assert_same_step(single, mirrored, init, h1, h2, names):
    for net in ("generator", "discriminator"):
        w1 = getattr(single, net).get_weights()
        w2 = getattr(mirrored, net).get_weights()
        moved = max(np.abs(a - b).max() for a, b in zip(w1, init[net]))
        assert moved > 1e-4, "the step did not change the weights; the test would be vacuous"
        for a, b in zip(w1, w2):
            np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)
    for name in names:
        assert h1.history[name][-1] == pytest.approx(h2.history[name][-1], rel=1e-4, abs=1e-5), \
            name


@pytest.mark.slow
@pytest.mark.parametrize("d_steps", [1, 2, 4])
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
    init = {"generator": single.generator.get_weights(),
            "discriminator": single.discriminator.get_weights()}

    with mirrored_strategy.scope():
        mirrored = _FixedNoiseGAN(*_tiny_dcgan(), latent_dim=8, noise=noise)
        mirrored.generator.set_weights(init["generator"])
        mirrored.discriminator.set_weights(init["discriminator"])
        mirrored.compile(_adam(), _adam(), d_steps=d_steps)

    h1 = single.fit(single_data, epochs=1, verbose=0)
    h2 = mirrored.fit(data, epochs=1, verbose=0)
    _assert_same_step(single, mirrored, init, h1, h2, models.GAN.metric_names)


@pytest.mark.slow
def test_mirrored_fit_with_an_indivisible_batch_and_five_critic_steps(mirrored_strategy):
    """Batch 14 on 2 replicas with d_steps 5: 7 per replica, slices 2, 2, 1, 1, 1."""
    with mirrored_strategy.scope():
        gan = models.compile_preset(models.GAN(*_tiny_dcgan(normalization="layer"),
                                               latent_dim=8), "wgan_gp")
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(_images(28)).batch(14), epochs=1,
                   verbose=0).history
    assert int(gan.d_optimizer.iterations.numpy()) == 10
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    assert hist["gp"][0] > 0


def test_a_family_without_loss_hooks_is_told_which_to_write():
    class Bare(base.GANBase):
        pass

    bare = Bare(*_tiny_dcgan())
    with pytest.raises(NotImplementedError, match="discriminator_loss and generator_loss, or "
                                                  "joint_losses"):
        bare.discriminator_loss(None)
