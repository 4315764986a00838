"""ConditionalGAN, ACGAN and InfoGAN: losses, label checks, learning, MirroredStrategy."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import models, networks

from ._objectives import HAND as _HAND
from ._objectives import softplus as _sp
from tfgan_pipeline.models import acgan as acgan_lib
from tfgan_pipeline.models import infogan as infogan_lib

LATENT, CLASSES, SIZE = 8, 3, 16


def _cgan_nets(conditioning="projection", normalization="batch"):
    return (networks.conditional_dcgan_generator(LATENT, CLASSES, image_size=SIZE, channels=1,
                                                 width=4, normalization=normalization),
            networks.conditional_dcgan_discriminator(CLASSES, image_size=SIZE, channels=1,
                                                     width=4, conditioning=conditioning,
                                                     normalization=normalization))


def _acgan_nets(classes=CLASSES, width=4, normalization="batch"):
    return (networks.conditional_dcgan_generator(LATENT, classes, image_size=SIZE, channels=1,
                                                 width=width, normalization=normalization),
            networks.acgan_discriminator(classes, image_size=SIZE, channels=1, width=width,
                                         normalization=normalization))


def _infogan_nets(categorical_dims=(3,), continuous_dim=2, width=4):
    return (networks.infogan_generator(LATENT, categorical_dims, continuous_dim,
                                       image_size=SIZE, width=width),
            networks.infogan_discriminator(categorical_dims, continuous_dim, image_size=SIZE,
                                           width=width, hidden_units=16, q_hidden_units=16))


def _images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, SIZE, SIZE, 1)).astype("float32")


def _labels(n, classes=CLASSES):
    return (np.arange(n) % classes).astype("int64")


def _labelled(n, batch, labels=None):
    labels = _labels(n) if labels is None else labels
    return tf.data.Dataset.from_tensor_slices((_images(n), labels)).batch(batch)


def _adam():
    return keras.optimizers.Adam(1e-3, beta_1=0.5)


# ---------------------------------------------------------- accuracy helpers
def test_class_hits_and_code_hits_by_hand():
    logits = np.array([[0.0, math.log(3.0)], [2.0, 0.0]], np.float32)
    np.testing.assert_array_equal(acgan_lib.class_hits(np.array([1, 1]), logits), [1.0, 0.0])
    sharp = np.array([[0, 0, 9, 9, 0], [9, 0, 0, 0, 9]], np.float32)
    # Example 0: code 0 -> 2 (right), code 1 -> 0 (wrong); example 1: both right.
    hits = infogan_lib.categorical_code_hits(np.array([[2, 1], [0, 1]]), sharp, (3, 2))
    np.testing.assert_array_equal(hits, [0.5, 1.0])


# -------------------------------------------------------------- ConditionalGAN


def _frozen():
    return keras.optimizers.SGD(0.0)


@pytest.mark.parametrize("loss", sorted(_HAND))
def test_cgan_fit_optimises_the_named_objective(loss):
    """With frozen weights and fixed noise/labels, the step's losses are the named
    objective of D's outputs on (real, label) and (G(z, label'), label') pairs."""
    tables = _tables(4)
    gan = _FixedCGAN(
        networks.conditional_mlp_generator(LATENT, CLASSES, (SIZE, SIZE, 1), hidden_units=(16,),
                                           output_activation="tanh"),
        networks.conditional_mlp_discriminator((SIZE, SIZE, 1), CLASSES, hidden_units=(16,)),
        latent_dim=LATENT, num_classes=CLASSES, tables=tables)
    gan.compile(_frozen(), _frozen(), loss=loss)
    images, labels = _images(4), _labels(4)
    hist = gan.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(4), epochs=1,
                   verbose=0).history
    fake_labels = tf.constant(tables["labels"])
    fake = gan.generator([tf.constant(tables["z"]), fake_labels], training=True)
    r = gan.discriminator([tf.constant(images), tf.constant(labels)],
                          training=True).numpy().reshape(-1)
    f = gan.discriminator([fake, fake_labels], training=True).numpy().reshape(-1)
    d_fn, g_fn = _HAND[loss]
    assert hist["d_loss"][0] == pytest.approx(np.mean(d_fn(r, f)), rel=1e-4, abs=1e-6)
    assert hist["g_loss"][0] == pytest.approx(np.mean(g_fn(f)), rel=1e-4, abs=1e-6)
    assert hist["d_real"][0] == pytest.approx(r.mean(), rel=1e-4, abs=1e-6)
    assert hist["d_fake"][0] == pytest.approx(f.mean(), rel=1e-4, abs=1e-6)


def test_cgan_gradient_norms_match_a_gradient_tape():
    tables = _tables(4)
    gan = _FixedCGAN(*_cgan_nets(), latent_dim=LATENT, num_classes=CLASSES, tables=tables)
    models.compile_preset(gan)
    images, labels = tf.constant(_images(4)), tf.constant(_labels(4))
    before = [v.numpy().copy() for v in gan.variables]
    norms = gan.gradient_norms((images, labels))
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, gan.variables))
    z, fake_labels = tf.constant(tables["z"]), tf.constant(tables["labels"])
    with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
        # D's and G's terms each draw their own generated batch (same tables here).
        fake_d = gan.generator([z, fake_labels], training=True)
        fake_g = gan.generator([z, fake_labels], training=True)
        r = gan.discriminator([images, labels], training=True)
        f = gan.discriminator([fake_d, fake_labels], training=True)
        d_loss = tf.reduce_mean(tf.nn.softplus(-r) + tf.nn.softplus(f))
        g_loss = tf.reduce_mean(tf.nn.softplus(
            -gan.discriminator([fake_g, fake_labels], training=True)))
    want_d = tf.linalg.global_norm(d_tape.gradient(d_loss, gan.discriminator.trainable_variables))
    want_g = tf.linalg.global_norm(g_tape.gradient(g_loss, gan.generator.trainable_variables))
    assert norms["d_grad_norm"] == pytest.approx(float(want_d), rel=1e-4)
    assert norms["g_grad_norm"] == pytest.approx(float(want_g), rel=1e-4)


def test_cgan_concat_conditioning_with_d_steps_wgan_gp_and_clipping():
    gan = models.ConditionalGAN(*_cgan_nets("concat", "layer"), latent_dim=LATENT,
                                num_classes=CLASSES)
    gan.compile(_adam(), _adam(), loss="wasserstein", d_steps=2, gradient_penalty_weight=10.0,
                clip_value=0.5)
    hist = gan.fit(_labelled(16, 8), epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations.numpy()) == 4
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    assert hist.history["gp"][-1] > 0
    for w in gan.discriminator.trainable_variables:
        assert float(tf.reduce_max(tf.abs(w))) <= 0.5 + 1e-6, w.path


def test_cgan_generate_cycles_repeats_or_takes_labels():
    gan = models.ConditionalGAN(*_cgan_nets(), latent_dim=LATENT, num_classes=CLASSES)
    cycled = gan.generate(5, seed=3).numpy()
    explicit = gan.generate(5, labels=[0, 1, 2, 0, 1], seed=3).numpy()
    np.testing.assert_array_equal(cycled, explicit)
    assert cycled.shape == (5, SIZE, SIZE, 1)
    twos = gan.generate(5, labels=2, seed=3).numpy()
    np.testing.assert_array_equal(twos[2], cycled[2])  # same z row, same label
    assert np.abs(twos[0] - cycled[0]).max() > 1e-4  # same z row, label 2 vs 0
    # One shared z: the rows differ only through their labels.
    shared = gan.generate(3, labels=[1, 1, 2], noise=np.ones(LATENT)).numpy()
    np.testing.assert_allclose(shared[0], shared[1], atol=1e-6)
    assert np.abs(shared[0] - shared[2]).max() > 1e-4


def test_cgan_rejects_bad_data_labels_and_networks():
    gan = models.ConditionalGAN(*_cgan_nets(), latent_dim=LATENT, num_classes=CLASSES)
    gan.compile(_adam(), _adam())
    images_only = tf.data.Dataset.from_tensor_slices(_images(8)).batch(4)
    with pytest.raises(ValueError, match=r"needs a dataset of \(images, labels\)"):
        gan.fit(images_only, epochs=1, verbose=0)
    with pytest.raises(TypeError, match="labels must be integer class ids"):
        gan.fit(_labelled(8, 4, labels=_labels(8).astype("float32")), epochs=1, verbose=0)
    one_hot = np.eye(CLASSES, dtype="int64")[_labels(8)]
    with pytest.raises(ValueError, match=r"labels must have shape \[batch\].*argmax"):
        gan.fit(_labelled(8, 4, labels=one_hot), epochs=1, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class ids in \[0, 3\)"):
        gan.fit(_labelled(8, 4, labels=np.array([0, 1, 2, 3, 0, 1, 2, 0])), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\).*max 7"):
        gan.generate(2, labels=[0, 7])
    with pytest.raises(ValueError, match="labels must be None, one int"):
        gan.generate(3, labels=[0, 1])
    with pytest.raises(ValueError, match=r"noise must have shape \[8\]"):
        gan.generate(3, noise=np.zeros(5))
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        models.ConditionalGAN(*_cgan_nets(), latent_dim=LATENT, num_classes=1)
    plain_g = networks.dcgan_generator(LATENT, image_size=SIZE, channels=1, width=4)
    with pytest.raises(ValueError, match=r"generator must take two inputs \[z, labels\]"):
        models.ConditionalGAN(plain_g, _cgan_nets()[1], latent_dim=LATENT, num_classes=CLASSES)
    with pytest.raises(ValueError, match="discriminator must take 2 input"):
        models.ConditionalGAN(_cgan_nets()[0], _acgan_nets()[1], latent_dim=LATENT,
                              num_classes=CLASSES)


def test_cgan_accepts_labels_of_shape_batch_by_one():
    gan = models.ConditionalGAN(*_cgan_nets(), latent_dim=LATENT, num_classes=CLASSES)
    models.compile_preset(gan)
    hist = gan.fit(_labelled(8, 4, labels=_labels(8)[:, None]), epochs=1, verbose=0)
    assert np.isfinite(hist.history["d_loss"][-1])
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(2e-4)
    assert gan.g_optimizer.beta_1 == 0.5


# ------------------------------------------------------------------------ ACGAN
@pytest.mark.parametrize("fake_class_loss", [True, False])
def test_acgan_class_terms_and_accuracies_by_value(fake_class_loss):
    """Frozen weights, fixed noise and labels: every reported class term is exact."""
    tables = _tables(4)
    gan = _FixedACGAN(*_acgan_nets(), latent_dim=LATENT, num_classes=CLASSES, tables=tables)
    models.compile_preset(gan, class_loss_weight=0.5, fake_class_loss=fake_class_loss,
                          learning_rate=0.0)
    images, labels = _images(4), np.array([0, 1, 2, 1])
    hist = gan.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(4), epochs=1,
                   verbose=0).history
    assert set(hist) == set(models.ACGAN.metric_names)
    real_src, real_cls = (t.numpy() for t in gan.discriminator(images, training=True))
    fake = gan.generator([tf.constant(tables["z"]), tf.constant(tables["labels"])],
                         training=True)
    fake_src, fake_cls = (t.numpy() for t in gan.discriminator(fake, training=True))

    def ce(y, logits):
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -log_p[np.arange(len(y)), y]

    d_class = ce(labels, real_cls) + (ce(tables["labels"], fake_cls) if fake_class_loss else 0)
    g_class = ce(tables["labels"], fake_cls)
    assert hist["d_class_loss"][0] == pytest.approx(d_class.mean(), rel=1e-4)
    assert hist["g_class_loss"][0] == pytest.approx(g_class.mean(), rel=1e-4)
    assert hist["real_accuracy"][0] == pytest.approx(
        np.mean(real_cls.argmax(1) == labels), abs=1e-6)
    assert hist["fake_accuracy"][0] == pytest.approx(
        np.mean(fake_cls.argmax(1) == tables["labels"]), abs=1e-6)
    d_adv = (_sp(-real_src) + _sp(fake_src)).reshape(-1)
    assert hist["d_loss"][0] == pytest.approx(np.mean(d_adv + 0.5 * d_class), rel=1e-4)
    assert hist["g_loss"][0] == pytest.approx(
        np.mean(_sp(-fake_src).reshape(-1) + 0.5 * g_class), rel=1e-4)


def test_acgan_rejects_bad_options_and_networks():
    gan = models.ACGAN(*_acgan_nets(), latent_dim=LATENT, num_classes=CLASSES)
    with pytest.raises(ValueError, match="class_loss_weight must be >= 0"):
        gan.compile(_adam(), _adam(), class_loss_weight=-1.0)
    with pytest.raises(ValueError, match="discriminator must take 1 input"):
        models.ACGAN(*_cgan_nets(), latent_dim=LATENT, num_classes=CLASSES)


def test_acgan_wgan_gp_trains_on_the_source_output():
    gan = models.ACGAN(*_acgan_nets(normalization="layer"), latent_dim=LATENT,
                       num_classes=CLASSES)
    gan.compile(_adam(), _adam(), loss="wasserstein", gradient_penalty_weight=10.0)
    hist = gan.fit(_labelled(8, 4), epochs=1, verbose=0)
    assert hist.history["gp"][-1] > 0


def _quadrant_images(labels, rng):
    """Class k = the k-th quadrant is bright; same mean brightness for every class."""
    images = rng.normal(-0.6, 0.2, (len(labels), SIZE, SIZE, 1)).astype("float32")
    half = SIZE // 2
    for i, k in enumerate(labels):
        r, c = divmod(int(k), 2)
        images[i, r * half:(r + 1) * half, c * half:(c + 1) * half] += 1.2
    return np.clip(images, -1, 1)


def test_acgan_auxiliary_classifier_learns_an_easy_labelled_dataset():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 32 * 50)
    ds = tf.data.Dataset.from_tensor_slices((_quadrant_images(labels, rng), labels)).batch(32)
    gan = models.ACGAN(*_acgan_nets(classes=4, width=8), latent_dim=LATENT, num_classes=4)
    models.compile_preset(gan, learning_rate=1e-3)

    held_out = rng.integers(0, 4, 64)
    held_out_images = _quadrant_images(held_out, rng)

    def accuracy():
        _, logits = gan.discriminator(held_out_images, training=True)
        return float(np.mean(acgan_lib.class_hits(held_out, logits)))

    before = accuracy()
    gan.fit(ds, epochs=1, verbose=0)  # 50 steps
    after = accuracy()
    assert before < 0.6, before  # chance is 0.25
    assert after > 0.9, (before, after)


# ----------------------------------------------------------------------- InfoGAN
def test_infogan_generator_input_layout():
    gan = models.InfoGAN(*_infogan_nets((3, 2), 1), noise_dim=LATENT, categorical_dims=(3, 2),
                         continuous_dim=1)
    z = np.arange(LATENT, dtype="float32")[None]
    vec = gan.generator_inputs(z, (tf.constant([[1, 0]]), tf.constant([[0.5]]))).numpy()
    np.testing.assert_array_equal(vec[0], list(range(LATENT)) + [0, 1, 0, 1, 0, 0.5])
    codes, cont = gan.sample_condition(500)
    assert codes.shape == (500, 2) and cont.shape == (500, 1)
    assert set(codes.numpy()[:, 0]) == {0, 1, 2} and set(codes.numpy()[:, 1]) == {0, 1}
    assert -1 <= cont.numpy().min() and cont.numpy().max() <= 1


def test_infogan_fit_updates_q_with_the_discriminator_and_ignores_labels():
    gan = models.InfoGAN(*_infogan_nets(), noise_dim=LATENT, categorical_dims=(3,),
                         continuous_dim=2)
    models.compile_preset(gan, loss="least_squares")
    q_head = gan.discriminator.get_layer("categorical").kernel
    before = q_head.numpy().copy()
    hist = gan.fit(_labelled(16, 8), epochs=1, verbose=0)  # (images, labels): labels ignored
    assert set(hist.history) == set(models.InfoGAN.metric_names)
    assert np.abs(q_head.numpy() - before).max() > 0
    expected_info = (hist.history["categorical_loss"][-1]
                     + 0.1 * hist.history["continuous_loss"][-1])
    assert hist.history["info_loss"][-1] == pytest.approx(expected_info, rel=1e-5)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(2e-4)


def test_infogan_q_recovers_the_categorical_code_after_short_training():
    keras.utils.set_random_seed(0)
    gan = models.InfoGAN(*_infogan_nets((3,), 1, width=8), noise_dim=LATENT,
                         categorical_dims=(3,), continuous_dim=1)
    models.compile_preset(gan, d_learning_rate=1e-3)
    data = tf.data.Dataset.from_tensor_slices(_images(32 * 20)).batch(32)
    hist = gan.fit(data, epochs=2, verbose=0)  # 2 x 20 steps
    losses = hist.history["categorical_loss"]  # starts near ln 3 = 1.1
    assert losses[-1] < losses[0] - 0.2, losses
    assert hist.history["categorical_accuracy"][-1] > 0.75  # chance 1/3


def test_infogan_generate_sweeps_codes():
    gan = models.InfoGAN(*_infogan_nets(), noise_dim=LATENT, categorical_dims=(3,),
                         continuous_dim=2)
    a = gan.generate(4, seed=1).numpy()
    np.testing.assert_array_equal(a, gan.generate(4, seed=1).numpy())
    assert a.shape == (4, SIZE, SIZE, 1)
    sweep = gan.generate(3, categorical=[0, 1, 2], continuous=[0.0, 0.0],
                         noise=np.zeros(LATENT)).numpy()
    assert np.abs(sweep[0] - sweep[1]).max() > 1e-4
    fixed = gan.generate(2, categorical=1, continuous=0.25, noise=np.zeros(LATENT)).numpy()
    np.testing.assert_allclose(fixed[0], fixed[1], atol=1e-6)
    with pytest.raises(ValueError, match=r"categorical code 0 takes values in \[0, 3\)"):
        gan.generate(2, categorical=[0, 3])
    with pytest.raises(ValueError, match="continuous must be None"):
        gan.generate(2, continuous=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="categorical codes must be integers"):
        gan.generate(2, categorical=[0.5, 1.0])


def test_infogan_rejects_mismatched_networks_and_weights():
    g, d = _infogan_nets()
    with pytest.raises(ValueError, match=r"8 \+ 3 \+ 1 = 12 values"):
        models.InfoGAN(g, d, noise_dim=LATENT, categorical_dims=(3,), continuous_dim=1)
    gan = models.InfoGAN(g, d, noise_dim=LATENT, categorical_dims=(3,), continuous_dim=2)
    with pytest.raises(ValueError, match="continuous_weight must be >= 0"):
        gan.compile(_adam(), _adam(), continuous_weight=-0.1)
    plain_d = networks.dcgan_discriminator(image_size=SIZE, channels=1, width=4)
    bad = models.InfoGAN(g, plain_d, noise_dim=LATENT, categorical_dims=(3,), continuous_dim=2)
    bad.compile(_adam(), _adam())
    with pytest.raises(ValueError, match="must return a dict with 'logit'"):
        bad.fit(tf.data.Dataset.from_tensor_slices(_images(4)).batch(4), epochs=1, verbose=0)


# ------------------------------------------------------------- MirroredStrategy
def _replica_rows(table, batch_size):
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    start = tf.cast(replica, tf.int32) * batch_size
    return table[start:start + batch_size]


def _tables(rows, seed=1):
    rng = np.random.default_rng(seed)
    return dict(z=rng.normal(size=(rows, LATENT)).astype("float32"),
                labels=rng.integers(0, CLASSES, rows).astype("int32"),
                categorical=rng.integers(0, 3, (rows, 1)).astype("int32"),
                continuous=rng.uniform(-1, 1, (rows, 2)).astype("float32"))


class _FixedRandomness:
    """Takes z and the fake condition (labels or codes) from tables by replica id,
    so 1 and 2 replicas, and a test's own forward pass, see the same draws."""

    def __init__(self, *args, tables, **kwargs):
        super().__init__(*args, **kwargs)
        self.tables = {k: tf.constant(v) for k, v in tables.items()}

    def sample_latent(self, batch_size):
        return _replica_rows(self.tables["z"], batch_size)

    def sample_condition(self, batch_size):
        if isinstance(self, models.InfoGAN):
            return (_replica_rows(self.tables["categorical"], batch_size),
                    _replica_rows(self.tables["continuous"], batch_size))
        return _replica_rows(self.tables["labels"], batch_size)


class _FixedCGAN(_FixedRandomness, models.ConditionalGAN):
    pass


class _FixedACGAN(_FixedRandomness, models.ACGAN):
    pass


class _FixedInfoGAN(_FixedRandomness, models.InfoGAN):
    pass


_FAMILIES = {
    "cgan": (_FixedCGAN, _cgan_nets, dict(latent_dim=LATENT, num_classes=CLASSES)),
    "acgan": (_FixedACGAN, _acgan_nets, dict(latent_dim=LATENT, num_classes=CLASSES)),
    "infogan": (_FixedInfoGAN, _infogan_nets,
                dict(noise_dim=LATENT, categorical_dims=(3,), continuous_dim=2)),
}


@pytest.mark.slow
@pytest.mark.parametrize("family, d_steps", [("cgan", 2), ("acgan", 1), ("infogan", 1)])
def test_mirrored_step_matches_single_device(mirrored_strategy, family, d_steps):
    """One fit step on 2 replicas equals the same step on one device (see test_gan.py).

    Replica r takes the contiguous half r of the global batch, splits it into
    d_steps slices and draws its noise, fake labels and codes from rows
    [r * slice, (r + 1) * slice) of fixed tables; the single-device run is fed the
    same examples in the matching order.
    """
    cls, nets, kwargs = _FAMILIES[family]
    global_batch = 8
    tables = _tables(global_batch // d_steps)
    rng = np.random.default_rng(2)
    images, labels = _images(global_batch), rng.integers(0, CLASSES, global_batch)

    def interleave(x):
        halves = np.split(x, 2)
        return np.concatenate([np.split(h, d_steps)[i] for i in range(d_steps) for h in halves])

    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(global_batch)
    single_data = tf.data.Dataset.from_tensor_slices(
        (interleave(images), interleave(labels))).batch(global_batch)

    keras.utils.set_random_seed(0)
    single = cls(*nets(), tables=tables, **kwargs)
    single.compile(_adam(), _adam(), d_steps=d_steps)
    init = {"generator": single.generator.get_weights(),
            "discriminator": single.discriminator.get_weights()}

    with mirrored_strategy.scope():
        mirrored = cls(*nets(), tables=tables, **kwargs)
        mirrored.generator.set_weights(init["generator"])
        mirrored.discriminator.set_weights(init["discriminator"])
        mirrored.compile(_adam(), _adam(), d_steps=d_steps)

    h1 = single.fit(single_data, epochs=1, verbose=0)
    h2 = mirrored.fit(data, epochs=1, verbose=0)

    for net in ("generator", "discriminator"):
        w1, w2 = getattr(single, net).get_weights(), getattr(mirrored, net).get_weights()
        moved = max(np.abs(a - b).max() for a, b in zip(w1, init[net]))
        assert moved > 1e-4, "the step did not change the weights; the test would be vacuous"
        for a, b in zip(w1, w2):
            np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)
    for name in cls.metric_names:
        assert h1.history[name][-1] == pytest.approx(h2.history[name][-1], rel=1e-4, abs=1e-5), \
            name
