"""CycleGAN: losses by hand, the image pool, the schedule, MirroredStrategy, full-state resume."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import losses, models, networks

SIZE = 16


def _nets(base_filters=4, blocks=1):
    def g(name):
        return networks.resnet_generator(SIZE, 3, base_filters=base_filters, num_blocks=blocks,
                                         name=name)

    def d(name):
        return networks.patchgan_discriminator(SIZE, input_channels=0, receptive_field=16,
                                               base_filters=base_filters, norm="instance",
                                               name=name)

    return g("g_ab"), g("g_ba"), d("d_a"), d("d_b")


def _model(**kw):
    kw.setdefault("image_shape", (SIZE, SIZE, 3))
    return models.CycleGAN(*_nets(), **kw)


def _images(n, seed):
    return np.random.default_rng(seed).uniform(-1, 1, (n, SIZE, SIZE, 3)).astype("float32")


def test_first_step_reports_the_papers_objective_by_value():
    keras.utils.set_random_seed(0)
    model = _model(cycle_weight=10.0, identity_weight=0.5, pool_size=0)
    g_ab, g_ba, d_a, d_b = (model.generator_ab, model.generator_ba, model.discriminator_a,
                            model.discriminator_b)
    a, b = _images(2, 1), _images(2, 2)
    fake_b, fake_a = g_ab(a, training=True).numpy(), g_ba(b, training=True).numpy()
    cycle = (np.abs(a - g_ba(fake_b, training=True).numpy()).mean(axis=(1, 2, 3))
             + np.abs(b - g_ab(fake_a, training=True).numpy()).mean(axis=(1, 2, 3)))
    identity = (np.abs(b - g_ab(b, training=True).numpy()).mean(axis=(1, 2, 3))
                + np.abs(a - g_ba(a, training=True).numpy()).mean(axis=(1, 2, 3)))

    def patches(net, x):
        return net(x, training=True).numpy().reshape(len(x), -1)

    gan_ab = (0.5 * (patches(d_b, fake_b) - 1) ** 2).mean(axis=1)
    gan_ba = (0.5 * (patches(d_a, fake_a) - 1) ** 2).mean(axis=1)
    d_loss = 0.5 * ((0.5 * (patches(d_a, a) - 1) ** 2 + 0.5 * patches(d_a, fake_a) ** 2).mean(1)
                    + (0.5 * (patches(d_b, b) - 1) ** 2 + 0.5 * patches(d_b, fake_b) ** 2).mean(1))
    models.compile_preset(model, learning_rate=0.0, run_eagerly=True)
    logs = model.fit(tf.data.Dataset.from_tensors((a, b)), epochs=1, verbose=0).history
    np.testing.assert_allclose(logs["cycle_loss"][0], cycle.mean(), rtol=1e-4)
    np.testing.assert_allclose(logs["identity_loss"][0], identity.mean(), rtol=1e-4)
    np.testing.assert_allclose(logs["gan_loss_ab"][0], gan_ab.mean(), rtol=1e-4)
    np.testing.assert_allclose(logs["d_loss"][0], d_loss.mean(), rtol=1e-4)
    np.testing.assert_allclose(logs["g_loss"][0], (gan_ab + gan_ba + 10 * cycle
                                                   + 5 * identity).mean(), rtol=1e-4)
    assert int(model.g_optimizer.iterations.numpy()) == 1
    assert model.gan_loss == "least_squares"


def test_cycle_and_identity_losses_are_per_example_l1():
    x = np.zeros((2, 2, 2, 1), np.float32)
    y = x.copy()
    y[1] = 0.25
    np.testing.assert_allclose(losses.cycle_consistency_loss(x, y), [0.0, 0.25])
    np.testing.assert_allclose(losses.identity_loss(y, x), [0.0, 0.25])


def test_image_pool_stores_then_swaps_half_the_time():
    tf.random.set_seed(3)
    pool = models.ImagePool(3, (1, 1, 1))
    first = tf.constant(np.arange(3, dtype="float32").reshape(3, 1, 1, 1))
    np.testing.assert_array_equal(pool.query(first).numpy(), first.numpy())  # not full yet
    assert int(pool.count.numpy()) == 3
    stored = sorted(pool.images.numpy().ravel().tolist())
    assert stored == [0.0, 1.0, 2.0]
    values = np.arange(10, 410, dtype="float32")
    new = tf.constant(values.reshape(400, 1, 1, 1))
    out = pool.query(new).numpy().ravel()
    swapped = out != values
    # Half the queries return a stored image instead of their own ...
    assert 150 < swapped.sum() < 250
    # ... always one stored earlier (an initial image or an earlier query's), never later.
    for i in np.flatnonzero(swapped):
        assert out[i] in (0.0, 1.0, 2.0) or out[i] < values[i], (i, out[i])
    assert len(set(out[swapped])) == swapped.sum()  # a stored image leaves the pool once
    off = models.ImagePool(0, (1, 1, 1))
    np.testing.assert_array_equal(off.query(new).numpy(), new.numpy())


def test_linear_decay_to_zero():
    schedule = models.LinearDecayToZero(2e-4, total_steps=100)
    values = [float(schedule(s)) for s in (0, 49, 50, 75, 100, 120)]
    np.testing.assert_allclose(values, [2e-4, 2e-4, 2e-4, 1e-4, 0.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="decay_start"):
        models.LinearDecayToZero(1e-3, total_steps=10, decay_start=10)


def test_full_state_resume_restores_networks_optimizers_schedule_and_pools(tmp_path):
    keras.utils.set_random_seed(1)
    model = _model(pool_size=4)
    models.compile_preset(model, learning_rate=models.LinearDecayToZero(2e-4, 10))
    data = tf.data.Dataset.from_tensors((_images(1, 1), _images(1, 2))).repeat()
    model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)
    path = tf.train.Checkpoint(**model.checkpoint_objects()).write(str(tmp_path / "ckpt"))
    other = _model(pool_size=4)
    models.compile_preset(other, learning_rate=models.LinearDecayToZero(2e-4, 10))
    tf.train.Checkpoint(**other.checkpoint_objects()).read(path).assert_existing_objects_matched()
    assert int(other.g_optimizer.iterations.numpy()) == 3
    assert int(other.pool_a.count.numpy()) == 3
    np.testing.assert_array_equal(other.pool_b.images.numpy(), model.pool_b.images.numpy())
    for net in ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"):
        for x, y in zip(getattr(model, net).get_weights(), getattr(other, net).get_weights()):
            np.testing.assert_array_equal(x, y)
    for x, y in zip(model.g_optimizer.variables, other.g_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_translate_both_ways_and_bad_inputs():
    model = _model()
    a = _images(3, 4)
    out = model.translate(a, "a_to_b", batch_size=2).numpy()
    np.testing.assert_allclose(out, model.generator_ab(a, training=False).numpy(), atol=1e-6)
    np.testing.assert_allclose(model.translate(a, "b_to_a").numpy(),
                               model.generator_ba(a, training=False).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="direction must be one of"):
        model.translate(a, "sideways")
    with pytest.raises(ValueError, match=r"\(images_a, images_b\)"):
        model.real_slices(a)
    with pytest.raises(ValueError, match="cycle_weight must be >= 0"):
        _model(cycle_weight=-1)


@pytest.mark.slow
def test_mirrored_step_matches_single_device(mirrored_strategy):
    keras.utils.set_random_seed(5)
    start = [n.get_weights() for n in _nets()]
    a, b = _images(2, 6), _images(2, 7)

    def one_step(strategy):
        with strategy.scope():
            nets = _nets()
            for net, weights in zip(nets, start):
                net.set_weights(weights)
            model = models.CycleGAN(*nets, image_shape=(SIZE, SIZE, 3))
            # SGD: weight differences are gradient differences.
            model.compile(keras.optimizers.SGD(0.5), keras.optimizers.SGD(0.5))
        model.fit(tf.data.Dataset.from_tensor_slices((a, b)).batch(2), epochs=1, verbose=0)
        return [n.get_weights() for n in (model.generator_ab, model.generator_ba,
                                          model.discriminator_a, model.discriminator_b)]

    single = one_step(tf.distribute.get_strategy())
    mirrored = one_step(mirrored_strategy)
    moved = 0.0
    for one, two, init in zip(single, mirrored, start):
        for x, y, z in zip(one, two, init):
            np.testing.assert_allclose(y, x, atol=1e-4, rtol=1e-3)
            moved = max(moved, float(np.abs(x - z).max()))
    assert moved > 1e-3
