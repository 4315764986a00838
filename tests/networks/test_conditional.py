"""Conditional DCGAN/MLP builders, the ACGAN discriminator and the InfoGAN D+Q network."""

import keras
import numpy as np
import pytest

from tfgan_pipeline import networks
from tfgan_pipeline.networks import conditional


def _z(n, dim=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype("float32")


def _images(n, size=16, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype("float32")


@pytest.mark.parametrize("size, channels", [(16, 1), (28, 1), (32, 3)])
def test_conditional_generator_shapes_dtype_and_range(size, channels):
    g = networks.conditional_dcgan_generator(8, 3, image_size=size, channels=channels, width=4)
    out = g([_z(4), np.array([0, 1, 2, 1])], training=False)
    assert tuple(out.shape) == (4, size, size, channels)
    assert out.dtype == "float32"
    assert float(np.abs(out).max()) <= 1.0


def test_one_hot_labels_add_no_parameters_to_the_generator():
    # A dense layer on concat(z, one_hot(y)) is a DCGAN generator on latent_dim + classes.
    g = networks.conditional_dcgan_generator(8, 3, image_size=16, channels=1, width=4)
    plain = networks.dcgan_generator(8 + 3, image_size=16, channels=1, width=4)
    assert g.count_params() == plain.count_params()


@pytest.mark.parametrize("builder", ["dcgan", "mlp"])
def test_labels_change_the_generator_output_for_the_same_z(builder):
    if builder == "dcgan":
        g = networks.conditional_dcgan_generator(8, 3, image_size=16, channels=1, width=4)
    else:
        g = networks.conditional_mlp_generator(8, 3, (16, 16, 1), hidden_units=(16,),
                                               output_activation="tanh")
    z = np.repeat(_z(1), 3, axis=0)
    out = np.asarray(g([z, np.array([0, 1, 2])], training=False))
    assert out.shape == (3, 16, 16, 1)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert np.abs(out[a] - out[b]).max() > 1e-4, (a, b)
    same = np.asarray(g([z, np.array([1, 1, 1])], training=False))
    np.testing.assert_allclose(same[0], same[2], atol=1e-6)


@pytest.mark.parametrize("conditioning", ["projection", "concat"])
def test_conditional_discriminator_outputs_one_float32_logit_that_depends_on_the_label(
        conditioning):
    d = networks.conditional_dcgan_discriminator(3, image_size=16, channels=1, width=4,
                                                 conditioning=conditioning)
    x = np.repeat(_images(1), 3, axis=0)
    out = np.asarray(d([x, np.array([0, 1, 2])], training=False))
    assert out.shape == (3, 1) and out.dtype == np.float32
    assert len(set(np.round(out[:, 0], 6))) == 3


def test_projection_discriminator_matches_the_hand_written_formula():
    """logit = w . phi(x) + b + <E[y], phi(x)> (Miyato & Koyama 2018, Eq. 3)."""
    d = networks.conditional_dcgan_discriminator(3, image_size=16, channels=1, width=4)
    trunk = d.get_layer("conditional_dcgan_discriminator_trunk")
    w, b = d.get_layer("unconditional_logit").get_weights()
    (embedding,) = d.get_layer("label_embedding").get_weights()  # [classes, features]
    x, y = _images(5), np.array([0, 2, 1, 1, 0])
    phi = np.asarray(trunk(x, training=False))
    expected = phi @ w[:, 0] + b[0] + np.sum(embedding[y] * phi, axis=1)
    np.testing.assert_allclose(np.asarray(d([x, y], training=False))[:, 0], expected,
                               rtol=1e-4, atol=1e-5)
    # Parameters: the DCGAN trunk, an unconditional dense head, one embedding row per class.
    features = phi.shape[1]
    assert d.count_params() == trunk.count_params() + features + 1 + 3 * features


def test_concat_discriminator_sees_one_hot_label_maps_as_extra_channels():
    d = networks.conditional_dcgan_discriminator(3, image_size=16, channels=2, width=4,
                                                 conditioning="concat")
    body = d.get_layer("conditional_dcgan_discriminator_body")
    kernel = body.get_layer("conv_0").kernel
    assert tuple(kernel.shape) == (4, 4, 2 + 3, 4)
    maps = keras.Model(d.inputs, d.get_layer("label_maps").output)(
        [_images(2, channels=2), np.array([2, 0])])
    maps = np.asarray(maps)
    assert maps.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(maps[0, :, :, 2], 1.0)
    np.testing.assert_array_equal(maps[0, :, :, :2], 0.0)
    np.testing.assert_array_equal(maps[1, :, :, 0], 1.0)


def test_conditional_mlp_discriminator_shapes_and_input_width():
    d = networks.conditional_mlp_discriminator((4, 4, 1), 3, hidden_units=(8,))
    out = d([_images(2, size=4), np.array([0, 2])])
    assert tuple(out.shape) == (2, 1) and out.dtype == "float32"
    body = d.get_layer("conditional_mlp_discriminator_body")
    assert body.input_shape == (None, 16 + 3)


def test_acgan_discriminator_has_source_and_class_heads():
    d = networks.acgan_discriminator(5, image_size=16, channels=1, width=4)
    source, classes = d(_images(3), training=False)
    assert tuple(source.shape) == (3, 1) and tuple(classes.shape) == (3, 5)
    assert source.dtype == "float32" and classes.dtype == "float32"


def test_infogan_generator_input_is_noise_plus_codes():
    g = networks.infogan_generator(62)  # appendix C.1: 62 noise + 10 categorical + 2 continuous
    assert g.input_shape == (None, 74)
    assert g.output_shape == (None, 28, 28, 1)


@pytest.mark.parametrize("learn_std", [False, True])
def test_infogan_discriminator_outputs(learn_std):
    d = networks.infogan_discriminator((4, 3), 2, image_size=16, width=4, hidden_units=16,
                                       q_hidden_units=8, learn_continuous_std=learn_std)
    out = d(_images(2), training=False)
    expected = {"logit": (2, 1), "categorical": (2, 7), "continuous": (2, 2)}
    if learn_std:
        expected["continuous_log_std"] = (2, 2)
    assert {k: tuple(v.shape) for k, v in out.items()} == expected
    assert all(v.dtype == "float32" for v in out.values())


def test_infogan_discriminator_without_hidden_layers_or_continuous_codes():
    d = networks.infogan_discriminator(3, 0, image_size=16, width=4, hidden_units=None,
                                       q_hidden_units=None)
    out = d(_images(2), training=False)
    assert sorted(out) == ["categorical", "logit"]
    # Q's only own layer is the categorical head: the body is fully shared with D.
    assert not any("q_" in layer.name for layer in d.layers)


def test_networks_are_float32_at_the_output_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        g = networks.conditional_dcgan_generator(8, 3, image_size=16, channels=1, width=4)
        d = networks.conditional_dcgan_discriminator(3, image_size=16, channels=1, width=4)
        a = networks.acgan_discriminator(3, image_size=16, channels=1, width=4)
        q = networks.infogan_discriminator(3, 1, image_size=16, width=4, hidden_units=8,
                                           q_hidden_units=8)
        labels = np.array([0, 2])
        fake = g([_z(2), labels])
        assert fake.dtype == "float32"
        fake = np.asarray(fake)
        assert d([fake, labels]).dtype == "float32"
        assert all(t.dtype == "float32" for t in a(fake))
        assert all(t.dtype == "float32" for t in q(fake).values())
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        networks.conditional_dcgan_generator(8, 1, image_size=16)
    with pytest.raises(ValueError, match="conditioning must be one of"):
        networks.conditional_dcgan_discriminator(3, image_size=16, conditioning="film")
    with pytest.raises(ValueError, match="category counts >= 2"):
        conditional.check_code_dims((10, 1), 2)
    with pytest.raises(ValueError, match="continuous_dim must be an integer >= 0"):
        conditional.check_code_dims((10,), -1)
    with pytest.raises(ValueError, match="at least one latent code"):
        conditional.check_code_dims((), 0)
    assert conditional.check_code_dims(10, 2) == ((10,), 2)
