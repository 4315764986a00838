"""Pix2Pix training model: losses by hand, overfitting one pair, test-time modes,
MirroredStrategy equivalence, mixed precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import models, networks
from tfgan_pipeline.models import pix2pix

SIZE = 32


def _nets(base_filters=4, dropout=0.5, sync_batch_norm=True, size=SIZE):
    return (networks.unet_generator(size, base_filters=base_filters, dropout=dropout,
                                    sync_batch_norm=sync_batch_norm),
            networks.patchgan_discriminator(size, base_filters=base_filters,
                                            sync_batch_norm=sync_batch_norm))


def _pairs(n, seed=0, size=SIZE):
    x = np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")
    return x, -x[..., ::-1]  # an easy per-pixel map: negate and reverse channels


def _snapshot(model):
    return [v.numpy().copy() for v in model.variables]


def _unchanged(model, snapshot):
    return all(np.array_equal(v.numpy(), s) for v, s in zip(model.variables, snapshot))


# --------------------------------------------------------------- training
@pytest.mark.parametrize("gan_loss", ["vanilla", "least_squares"])
def test_first_step_metrics_match_hand_computed_losses(gan_loss):
    keras.utils.set_random_seed(3)
    gen, disc = _nets(dropout=0.0)
    x, y = _pairs(2)
    # The step's metrics come from the forward pass before the update, in training
    # mode (batch statistics), which we can reproduce here.
    out = gen(x, training=True).numpy()
    real = disc([x, y], training=True).numpy().reshape(2, -1)
    fake = disc([x, out], training=True).numpy().reshape(2, -1)
    softplus = lambda v: np.log1p(np.exp(v))  # noqa: E731
    if gan_loss == "vanilla":
        d_loss = 0.5 * (softplus(-real).mean() + softplus(fake).mean())
        g_gan = softplus(-fake).mean()
    else:
        d_loss = 0.5 * (0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean())
        g_gan = (0.5 * (fake - 1) ** 2).mean()
    l1 = np.abs(y - out).mean()

    model = models.Pix2Pix(gen, disc, l1_weight=10.0)
    models.compile_preset(model, gan_loss=gan_loss, run_eagerly=True)  # same math, no trace
    logs = model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0).history
    np.testing.assert_allclose(logs["d_loss"][0], d_loss, rtol=1e-4)
    np.testing.assert_allclose(logs["g_gan_loss"][0], g_gan, rtol=1e-4)
    np.testing.assert_allclose(logs["g_l1_loss"][0], l1, rtol=1e-4)
    np.testing.assert_allclose(logs["g_loss"][0], g_gan + 10.0 * l1, rtol=1e-4)
    np.testing.assert_allclose(logs["d_real"][0], real.mean(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(logs["d_fake"][0], fake.mean(), rtol=1e-4, atol=1e-6)
    assert int(model.d_optimizer.iterations.numpy()) == 1
    assert int(model.g_optimizer.iterations.numpy()) == 1


def test_overfits_one_pair_and_l1_falls():
    keras.utils.set_random_seed(1)
    model = models.Pix2Pix(*_nets(base_filters=8))
    models.compile_preset(model, learning_rate=2e-3, steps_per_execution=10)
    x, y = _pairs(1)
    l1 = lambda: float(np.abs(model.translate(x, "batch_stats").numpy() - y).mean())  # noqa: E731
    before = l1()
    hist = model.fit(tf.data.Dataset.from_tensors((x, y)).repeat(50), epochs=1, verbose=0)
    after = l1()
    for name in model.metric_names:
        assert np.isfinite(hist.history[name][0]), name
    assert after < 0.75 * before, (before, after)


def test_evaluate_reports_metrics_and_changes_no_variable():
    model = models.Pix2Pix(*_nets())
    models.compile_preset(model, eval_mode="paper")
    x, y = _pairs(4)
    before_g, before_d = _snapshot(model.generator), _snapshot(model.discriminator)
    logs = model.evaluate(x, y, batch_size=2, verbose=0, return_dict=True)
    assert set(logs) == set(model.metric_names)
    assert all(np.isfinite(v) for v in logs.values())
    assert _unchanged(model.generator, before_g) and _unchanged(model.discriminator, before_d)


def test_compile_and_data_errors():
    model = models.Pix2Pix(*_nets())
    d_opt, g_opt = models.build_optimizers("pix2pix")
    with pytest.raises(ValueError, match="gan_loss"):
        model.compile(d_opt, g_opt, gan_loss="wasserstein")
    with pytest.raises(ValueError, match="eval_mode"):
        model.compile(d_opt, g_opt, eval_mode="train")
    with pytest.raises(ValueError, match="l1_weight"):
        models.Pix2Pix(*_nets(), l1_weight=-1.0)
    with pytest.raises(ValueError, match="input_image, target_image"):
        model.real_slices((1, 2, 3))
    assert d_opt is not g_opt
    assert float(d_opt.learning_rate.numpy()) == pytest.approx(2e-4)
    assert d_opt.beta_1 == 0.5 and g_opt.beta_1 == 0.5


def test_gradient_norms_match_a_gradient_tape_and_change_nothing():
    keras.utils.set_random_seed(5)
    gen, disc = _nets(dropout=0.0)
    model = models.compile_preset(models.Pix2Pix(gen, disc, l1_weight=10.0))
    x, y = (tf.constant(t) for t in _pairs(2))
    before = _snapshot(gen) + _snapshot(disc)
    norms = model.gradient_norms((x, y))
    assert _unchanged(gen, before[:len(gen.variables)])
    assert _unchanged(disc, before[len(gen.variables):])
    # The same losses, written out: D's halved vanilla loss, G's non-saturating + 10 L1.
    with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
        out = gen(x, training=True)
        real = tf.reshape(disc([x, y], training=True), [2, -1])
        fake = tf.reshape(disc([x, out], training=True), [2, -1])
        d_loss = 0.5 * tf.reduce_mean(tf.nn.softplus(-real) + tf.nn.softplus(fake))
        g_loss = (tf.reduce_mean(tf.nn.softplus(-fake))
                  + 10.0 * tf.reduce_mean(tf.abs(y - out)))
    want_d = tf.linalg.global_norm(d_tape.gradient(d_loss, disc.trainable_variables))
    want_g = tf.linalg.global_norm(g_tape.gradient(g_loss, gen.trainable_variables))
    assert norms["d_grad_norm"] == pytest.approx(float(want_d), rel=1e-4)
    assert norms["g_grad_norm"] == pytest.approx(float(want_g), rel=1e-4)
    assert norms["g_grad_norm"] > 0 and norms["d_grad_norm"] > 0


def test_generate_points_to_translate():
    with pytest.raises(NotImplementedError, match="translate"):
        models.Pix2Pix(*_nets()).generate(2)


# ------------------------------------------------------------ translation
def test_paper_mode_changes_no_variable_and_is_stochastic():
    gen, disc = _nets(dropout=0.5)
    model = models.Pix2Pix(gen, disc)
    x, _ = _pairs(2)
    before = _snapshot(gen)
    a = model.translate(x, mode="paper").numpy()
    b = model.translate(x, mode="paper").numpy()
    c = pix2pix.make_translate_fn(gen, "paper")(x).numpy()
    assert _unchanged(gen, before)
    assert a.dtype == np.float32 and a.shape == (2, SIZE, SIZE, 3)
    assert not np.allclose(a, b) and not np.allclose(a, c)  # dropout stays on
    # Contrast: a plain training-mode call does move the moving statistics.
    gen(x, training=True)
    assert not _unchanged(gen, before)


def test_batch_stats_mode_equals_training_mode_without_dropout():
    gen, _ = _nets(dropout=0.0)
    x, _ = _pairs(3)
    fn = pix2pix.make_translate_fn(gen, "batch_stats")
    before = _snapshot(gen)
    got = fn(x).numpy()
    assert _unchanged(gen, before)
    np.testing.assert_allclose(got, gen(x, training=True).numpy(), atol=1e-5)
    # Each image alone (the paper's batch 1) differs from the batch of three.
    model = models.Pix2Pix(gen, _nets()[1])
    alone = model.translate(x, mode="batch_stats", batch_size=1).numpy()
    np.testing.assert_allclose(alone[1], fn(x[1:2]).numpy()[0], atol=1e-6)
    assert not np.allclose(alone, got, atol=1e-3)


def test_inference_mode_is_deterministic_and_uses_moving_averages():
    gen, _ = _nets(dropout=0.5)
    x, _ = _pairs(2)
    fn = pix2pix.make_translate_fn(gen, "inference")
    np.testing.assert_array_equal(fn(x).numpy(), fn(x).numpy())
    np.testing.assert_allclose(fn(x).numpy(), gen(x, training=False).numpy(), atol=1e-6)


def test_translate_fn_traces_and_follows_training():
    keras.utils.set_random_seed(2)
    gen, disc = _nets(dropout=0.0)
    fn = tf.function(pix2pix.make_translate_fn(gen, "batch_stats"),
                     input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)])
    x, y = _pairs(2)
    first = fn(x).numpy()
    model = models.compile_preset(models.Pix2Pix(gen, disc), learning_rate=1e-2,
                                   run_eagerly=True)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    second = fn(x).numpy()  # same trace, new weights: the copy shares the layers
    assert not np.allclose(first, second)
    np.testing.assert_allclose(second, gen(x, training=True).numpy(), atol=1e-5)


_ASSIGN_OPS = {"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"}


def _traced_op_types(fn):
    spec = tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)
    graph = tf.function(fn, input_signature=[spec]).get_concrete_function().graph
    return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("mode", pix2pix.TRANSLATE_MODES)
def test_traced_translate_fns_contain_no_variable_assignment(mode):
    gen, _ = _nets(dropout=0.5)
    ops = _traced_op_types(pix2pix.make_translate_fn(gen, mode))
    assert not ops & _ASSIGN_OPS, ops & _ASSIGN_OPS
    assert ("RandomUniform" in ops) == (mode == "paper")  # dropout only in paper mode
    # Contrast: a training-mode call assigns (moving statistics, dropout seeds).
    assert _traced_op_types(lambda x: gen(x, training=True)) & _ASSIGN_OPS


def test_translate_rejects_unknown_modes_and_models():
    gen, disc = _nets()
    with pytest.raises(ValueError, match="Unknown translate mode"):
        pix2pix.make_translate_fn(gen, "train")
    with pytest.raises(ValueError, match="Unknown translate mode"):
        models.Pix2Pix(gen, disc).translate(np.zeros((1, SIZE, SIZE, 3)), mode="eval")

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="functional"):
        pix2pix.make_translate_fn(Subclassed(), "paper")
    assert pix2pix.make_translate_fn(Subclassed(), "inference")(np.ones((1, 2))).shape == (1, 2)
    noisy = keras.Sequential([keras.Input((4,)), keras.layers.GaussianNoise(0.1)])
    with pytest.raises(ValueError, match="GaussianNoise"):
        pix2pix.make_translate_fn(noisy, "paper")


# ------------------------------------------------------ distribution, dtype
def _fit_one_step(strategy, weights, x, y, run_eagerly=False):
    with strategy.scope():
        gen, disc = _nets(dropout=0.0)
        gen.set_weights(weights[0])
        disc.set_weights(weights[1])
        model = models.Pix2Pix(gen, disc)
        # SGD: weight differences are gradient differences (Adam's first step is
        # ~lr * sign(g), which hides them and flips on near-zero gradients).
        model.compile(keras.optimizers.SGD(0.5), keras.optimizers.SGD(0.5),
                      run_eagerly=run_eagerly)
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(2), epochs=1, verbose=0)
    return gen.get_weights(), disc.get_weights()


@pytest.mark.slow
def test_mirrored_strategy_matches_one_device(mirrored_strategy):
    # The shared fixture: a second MirroredStrategy in one process would collide
    # with the first one's collective keys (see tfgan_pipeline/distribute.py).
    keras.utils.set_random_seed(4)
    gen, disc = _nets(dropout=0.0)
    start = (gen.get_weights(), disc.get_weights())
    x, y = _pairs(2)
    # One device with the global batch of 2 (eagerly: same math, no trace to wait
    # for) against two replicas of 1 example each (compiled, the production path).
    single = _fit_one_step(tf.distribute.get_strategy(), start, x, y, run_eagerly=True)
    mirrored = _fit_one_step(mirrored_strategy, start, x, y)
    moved = 0.0
    for one, two, init in zip(single[0] + single[1], mirrored[0] + mirrored[1],
                              start[0] + start[1]):
        np.testing.assert_allclose(two, one, atol=1e-4, rtol=1e-3)
        moved = max(moved, float(np.abs(one - init).max()))
    assert moved > 1e-2  # the step did move the weights


def test_trains_under_mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        gen, disc = _nets()
        assert gen.get_layer("enc_conv_1").compute_dtype == "bfloat16"
        model = models.compile_preset(models.Pix2Pix(gen, disc))
        x, y = _pairs(2)
        logs = model.fit(x, y, batch_size=2, epochs=1, verbose=0).history
        assert all(np.isfinite(logs[name][0]) for name in model.metric_names)
        assert all(v.dtype == "float32" for v in gen.trainable_variables)
        out = model.translate(x, mode="paper")
        assert out.dtype == tf.float32 and disc([x, y]).dtype == tf.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_gan_weight_zero_is_the_l1_only_ablation():
    keras.utils.set_random_seed(3)
    gen, disc = _nets(dropout=0.0)
    x, y = _pairs(2)
    out = gen(x, training=True).numpy()
    model = models.compile_preset(models.Pix2Pix(gen, disc, l1_weight=10.0, gan_weight=0.0),
                                  run_eagerly=True)
    logs = model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0).history
    # G's loss is 10 * L1 alone; the adversarial term is still measured and reported.
    np.testing.assert_allclose(logs["g_loss"][0], 10.0 * np.abs(y - out).mean(), rtol=1e-4)
    assert logs["g_gan_loss"][0] > 0
    with pytest.raises(ValueError, match="both 0"):
        models.Pix2Pix(*_nets(), l1_weight=0.0, gan_weight=0.0)
    with pytest.raises(ValueError, match="gan_weight must be >= 0"):
        models.Pix2Pix(*_nets(), gan_weight=-1.0)
