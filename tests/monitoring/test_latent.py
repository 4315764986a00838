"""Latent interpolation (lerp / slerp), walks, class-conditional grids, InfoGAN sweeps."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import models, networks
from tfgan_pipeline.monitoring import latent

LATENT = 8


# ------------------------------------------------------------------ vector maths
def test_linear_interpolation_hand_computed():
    out = latent.linear_interpolation([0.0, 0.0], [2.0, 4.0], 3)
    np.testing.assert_allclose(out, [[0, 0], [1, 2], [2, 4]])
    assert out.dtype == np.float32


def test_slerp_of_orthogonal_unit_vectors_stays_on_the_circle():
    out = latent.spherical_interpolation([1.0, 0.0], [0.0, 1.0], 3)
    h = np.sqrt(0.5)
    np.testing.assert_allclose(out, [[1, 0], [h, h], [0, 1]], atol=1e-6)
    # Linear interpolation cuts the chord instead: its midpoint has norm sqrt(1/2).
    np.testing.assert_allclose(np.linalg.norm(latent.linear_interpolation(
        [1.0, 0.0], [0.0, 1.0], 3)[1]), h, atol=1e-6)


def test_slerp_endpoints_and_constant_norm_for_equal_norm_endpoints():
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal((2, 16))
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    out = latent.spherical_interpolation(z0, z1, 9)
    np.testing.assert_allclose(out[0], z0, rtol=1e-5)
    np.testing.assert_allclose(out[-1], z1, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), np.linalg.norm(z0), rtol=1e-5)


@pytest.mark.parametrize("z1", [[2.0, 4.0], [-1.0, -2.0], [0.0, 0.0]])
def test_slerp_falls_back_to_lerp_for_parallel_antiparallel_or_zero(z1):
    np.testing.assert_allclose(latent.spherical_interpolation([1.0, 2.0], z1, 5),
                               latent.linear_interpolation([1.0, 2.0], z1, 5))


def test_interpolation_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_steps"):
        latent.linear_interpolation([0.0], [1.0], 1)
    with pytest.raises(ValueError, match="same shape"):
        latent.spherical_interpolation([0.0, 1.0], [1.0, 0.0, 0.0], 3)


def test_latent_walk_changes_only_the_walked_coordinate():
    z = np.arange(5, dtype=np.float32)
    out = latent.latent_walk(z, 2, [-1.0, 0.5, 9.0])
    np.testing.assert_array_equal(out[:, 2], [-1.0, 0.5, 9.0])
    np.testing.assert_array_equal(np.delete(out, 2, axis=1), np.tile(np.delete(z, 2), (3, 1)))
    np.testing.assert_array_equal(latent.latent_walk(z, -1, [7.0])[0], [0, 1, 2, 3, 7])
    with pytest.raises(ValueError, match="dim must be"):
        latent.latent_walk(z, 5, [0.0])


# ------------------------------------------------------------------ model grids
@pytest.fixture(scope="module")
def gan():
    return models.GAN(networks.dcgan_generator(LATENT, image_size=16, channels=1, width=4),
                      networks.dcgan_discriminator(image_size=16, channels=1, width=4),
                      latent_dim=LATENT)


def _png_shape(path):
    return tuple(tf.io.decode_png(tf.io.read_file(path)).shape)


def test_interpolation_grid_shapes_png_and_shared_endpoints(gan, tmp_path):
    path = str(tmp_path / "interp.png")
    slerp = latent.interpolation_grid(gan, num_rows=2, num_steps=4, seed=3, path=path)
    lerp = latent.interpolation_grid(gan, num_rows=2, num_steps=4, method="lerp", seed=3)
    assert slerp.shape == (8, 16, 16, 1)
    assert _png_shape(path) == (32, 64, 1)
    ends = [0, 3, 4, 7]  # first and last column of each row: the same end points
    np.testing.assert_allclose(slerp[ends], lerp[ends], atol=1e-5)
    assert np.abs(slerp[1] - lerp[1]).max() > 1e-4  # the paths differ in between
    z = np.random.default_rng(3).standard_normal((2, 2, LATENT)).astype(np.float32)
    np.testing.assert_allclose(slerp[4], gan.generate(1, noise=z[1, :1]).numpy()[0],
                               atol=1e-5)
    with pytest.raises(ValueError, match="Unknown interpolation"):
        latent.interpolation_grid(gan, 1, 3, method="cubic")


def test_latent_walk_grid_rows_share_the_base_vector(gan, tmp_path):
    path = str(tmp_path / "walk.png")
    out = latent.latent_walk_grid(gan, dims=[0, 5], values=[-2.0, 0.0, 2.0], seed=1, path=path)
    assert out.shape == (6, 16, 16, 1)
    assert _png_shape(path) == (32, 48, 1)
    base = np.random.default_rng(1).standard_normal(LATENT).astype(np.float32)
    expected = gan.generate(3, noise=latent.latent_walk(base, 5, [-2.0, 0.0, 2.0])).numpy()
    np.testing.assert_allclose(out[3:], expected, atol=1e-5)


def test_class_conditional_grid_rows_are_classes(tmp_path):
    cgan = models.ConditionalGAN(
        networks.conditional_dcgan_generator(LATENT, 3, image_size=16, channels=1, width=4),
        networks.conditional_dcgan_discriminator(3, image_size=16, channels=1, width=4),
        latent_dim=LATENT, num_classes=3)
    path = str(tmp_path / "classes.png")
    out = latent.class_conditional_grid(cgan, samples_per_class=2, seed=4, path=path)
    assert out.shape == (6, 16, 16, 1)
    assert _png_shape(path) == (48, 32, 1)
    z = np.random.default_rng(4).standard_normal((2, LATENT)).astype(np.float32)
    np.testing.assert_allclose(out[2:4], cgan.generate(2, noise=z, labels=[1, 1]).numpy(),
                               atol=1e-5)


def test_class_conditional_grid_needs_classes(gan):
    with pytest.raises(TypeError, match="num_classes"):
        latent.class_conditional_grid(gan, 2)


def test_infogan_code_sweeps(tmp_path):
    info = models.InfoGAN(
        networks.infogan_generator(4, (3,), 2, image_size=16, channels=1, width=4),
        networks.infogan_discriminator((3,), 2, image_size=16, channels=1, width=4,
                                       hidden_units=8, q_hidden_units=8),
        noise_dim=4, categorical_dims=(3,), continuous_dim=2)
    path = str(tmp_path / "sweep.png")
    cat = latent.infogan_code_sweep(info, "categorical", num_rows=2, seed=5, path=path)
    assert cat.shape == (6, 16, 16, 1)
    assert _png_shape(path) == (32, 48, 1)
    z = np.random.default_rng(5).standard_normal((2, 4)).astype(np.float32)
    row0 = info.generate(3, categorical=[0, 1, 2], continuous=[0.0, 0.0], noise=z[0]).numpy()
    np.testing.assert_allclose(cat[:3], row0, atol=1e-5)

    cont = latent.infogan_code_sweep(info, 1, values=[-1.0, 1.0], num_rows=3, seed=5)
    assert cont.shape == (6, 16, 16, 1)
    z = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    row2 = info.generate(2, categorical=2, continuous=[[0.0, -1.0], [0.0, 1.0]],
                         noise=z[2]).numpy()
    np.testing.assert_allclose(cont[4:], row2, atol=1e-5)
    with pytest.raises(ValueError, match="out of range"):
        latent.infogan_code_sweep(info, "continuous:2")
    with pytest.raises(ValueError, match="code must be"):
        latent.infogan_code_sweep(info, "style")


def test_models_without_latent_space_are_refused():
    class NoLatent:
        latent_dim = None

    with pytest.raises(ValueError, match="latent space"):
        latent.interpolation_grid(NoLatent(), 1, 2)


def test_grids_refuse_non_image_samples(tmp_path):
    toy = models.GAN(networks.mlp_generator(4, (2,), hidden_units=(8,)),
                     networks.mlp_discriminator((2,), hidden_units=(8,)), latent_dim=4)
    with pytest.raises(ValueError, match="scatter_plot"):
        latent.latent_walk_grid(toy, [0], [0.0, 1.0], path=str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()
