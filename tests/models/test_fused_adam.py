"""The fused Adam update against Keras' own Adam, by value (one device, MirroredStrategy).

The one rounding difference: Keras weights the second-moment step by the float32 of
the Python double ``1 - beta_2`` (0.001), the kernel by ``1 - float32(beta_2)``
(0.00099998713): 1.3e-5 relative in ``v``'s increment. Hence rtol 1e-4 rather than
bit equality; a wrong formula (bias correction, epsilon placement) is off by far more.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import models, networks
from tfgan_pipeline.models import fused_adam


def _variables(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in ((4, 4, 3, 8), (8,), (257,))]


def _run(values, grads_per_step, fuse, strategy=None, learning_rate=1e-2):
    with (strategy or tf.distribute.get_strategy()).scope():
        variables = [keras.Variable(v) for v in values]
        opt = keras.optimizers.Adam(learning_rate, beta_1=0.5)
        opt.build(variables)
    if fuse:
        assert fused_adam.fuse(opt)

    @tf.function
    def step(grads):
        def replica(grads):
            opt.apply_gradients(zip(grads, variables))
        if strategy is None:
            replica(grads)
        else:
            strategy.run(replica, args=(grads,))

    for grads in grads_per_step:
        step([tf.constant(g) for g in grads])
    return ([v.numpy() for v in variables], [m.numpy() for m in opt._momentums],
            [v.numpy() for v in opt._velocities], int(opt.iterations.numpy()))


def _grads(values, steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.normal(scale=s, size=v.shape).astype("float32") for v, s in
             zip(values, (1.0, 1e-3, 10.0))] for _ in range(steps)]


@pytest.mark.parametrize("learning_rate", [1e-2, "schedule"])
def test_fused_update_equals_keras_adam_by_value(learning_rate):
    if learning_rate == "schedule":
        learning_rate = models.LinearDecayToZero(1e-2, total_steps=6, decay_start=2)
    values = _variables()
    grads = _grads(values, steps=5)
    ref = _run(values, grads, fuse=False, learning_rate=learning_rate)
    got = _run(values, grads, fuse=True, learning_rate=learning_rate)
    assert got[3] == ref[3] == 5
    for a, b in zip(sum(got[:3], []), sum(ref[:3], [])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    moved = max(float(np.abs(a - b).max()) for a, b in zip(got[0], values))
    assert moved > 1e-2  # the updates did something


def _pix2pix_steps(strategy, weights, fused, steps=2):
    x = np.random.default_rng(5).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    with strategy.scope():
        gen = networks.unet_generator(16, base_filters=2, dropout=0.0)
        disc = networks.patchgan_discriminator(16, base_filters=2, receptive_field=16)
        gen.set_weights(weights[0])
        disc.set_weights(weights[1])
        model = models.compile_preset(models.Pix2Pix(gen, disc), fused_adam=fused)
    model.fit(tf.data.Dataset.from_tensors((x, -x)).repeat(), steps_per_epoch=steps, verbose=0)
    assert fused_adam.is_fused(model.g_optimizer) == fused
    return (gen.get_weights() + disc.get_weights() +
            [v.numpy() for v in model.g_optimizer.variables + model.d_optimizer.variables])


@pytest.mark.slow
def test_fused_update_equals_keras_adam_under_mirrored_strategy(mirrored_strategy):
    keras.utils.set_random_seed(6)
    start = ([v.copy() for v in networks.unet_generator(16, base_filters=2, dropout=0.0)
              .get_weights()],
             networks.patchgan_discriminator(16, base_filters=2, receptive_field=16).get_weights())
    ref = _pix2pix_steps(mirrored_strategy, start, fused=False)
    got = _pix2pix_steps(mirrored_strategy, start, fused=True)
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert max(float(np.abs(a - b).max()) for a, b in zip(got, start[0] + start[1])) > 1e-4


def test_only_plain_adam_is_fused():
    assert not fused_adam.fuse(keras.optimizers.SGD(0.1))
    assert not fused_adam.fuse(keras.optimizers.AdamW(1e-3))  # a subclass: its own update
    for options in ({"amsgrad": True}, {"weight_decay": 1e-4}, {"clipnorm": 1.0},
                    {"global_clipnorm": 1.0}, {"use_ema": True}):
        opt = keras.optimizers.Adam(1e-3, **options)
        assert not fused_adam.fuse(opt) and not fused_adam.is_fused(opt), options
    opt = keras.optimizers.Adam(1e-3)
    assert fused_adam.fuse(opt) and fused_adam.fuse(opt) and fused_adam.is_fused(opt)


def test_image_to_image_models_fuse_their_adam_optimizers():
    gen = networks.unet_generator(16, base_filters=2)
    disc = networks.patchgan_discriminator(16, base_filters=2, receptive_field=16)
    model = models.compile_preset(models.Pix2Pix(gen, disc))
    assert fused_adam.is_fused(model.d_optimizer) and fused_adam.is_fused(model.g_optimizer)
    sgd = models.Pix2Pix(networks.unet_generator(16, base_filters=2),
                         networks.patchgan_discriminator(16, base_filters=2, receptive_field=16))
    sgd.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    assert not fused_adam.is_fused(sgd.g_optimizer)
