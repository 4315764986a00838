"""Toy Gaussian mixtures: centres, exact densities, samplers and tf.data streams."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.data import toy


def test_ring8_centres_and_std_match_metz_et_al():
    ring = toy.ring8()
    assert ring.num_modes == 8 and ring.dim == 2 and ring.std == 0.02
    np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 2.0)
    np.testing.assert_allclose(ring.centers[0], [2.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(ring.centers[1], [math.sqrt(2), math.sqrt(2)], atol=1e-12)
    np.testing.assert_allclose(ring.centers[2], [0.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(ring.weights, np.full(8, 1 / 8))


def test_ring_is_configurable():
    ring = toy.ring8(radius=1.0, std=0.1, num_modes=4)
    np.testing.assert_allclose(ring.centers, [[1, 0], [0, 1], [-1, 0], [0, -1]], atol=1e-12)
    np.testing.assert_allclose(ring.stds, [0.1] * 4)


def test_grid25_centres_are_the_5x5_grid_from_minus4_to_4():
    grid = toy.grid25()
    assert grid.num_modes == 25 and grid.std == 0.05
    expected = {(float(i), float(j)) for i in (-4, -2, 0, 2, 4) for j in (-4, -2, 0, 2, 4)}
    assert {tuple(c) for c in grid.centers.tolist()} == expected
    small = toy.grid25(grid_size=2, spacing=1.0, std=0.2)
    assert {tuple(c) for c in small.centers.tolist()} == {(-.5, -.5), (-.5, .5), (.5, -.5),
                                                           (.5, .5)}


def test_mixture1d_pdf_is_exact():
    gauss = toy.mixture1d(means=(0.0,), stds=1.0)
    assert gauss.pdf(0.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert gauss.pdf(1.0) == pytest.approx(math.exp(-0.5) / math.sqrt(2 * math.pi))
    mix = toy.mixture1d(means=(-1.0, 1.0), stds=(1.0, 2.0), weights=(1.0, 3.0))
    np.testing.assert_allclose(mix.weights, [0.25, 0.75])
    expected = (0.25 * math.exp(-0.5) / math.sqrt(2 * math.pi) +
                0.75 * math.exp(-1 / 8) / (2 * math.sqrt(2 * math.pi)))
    np.testing.assert_allclose(mix.pdf(np.array([0.0])), [expected], rtol=1e-12)
    x = np.linspace(-15, 15, 30001)
    assert np.trapezoid(mix.pdf(x), x) == pytest.approx(1.0, abs=1e-8)


def test_2d_pdf_at_a_grid_centre():
    grid = toy.grid25()
    # Other modes are 40 std away: their contribution underflows to 0.
    assert grid.pdf([[0.0, 0.0]])[0] == pytest.approx(1 / 25 / (2 * math.pi * 0.05**2))
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        grid.pdf([0.0, 0.0, 0.0])


def test_numpy_sampler_is_seeded_and_follows_the_modes():
    grid = toy.grid25()
    x, modes = grid.sample(5000, seed=3, return_modes=True)
    assert x.shape == (5000, 2) and x.dtype == np.float32 and modes.dtype == np.int64
    np.testing.assert_array_equal(x, grid.sample(5000, seed=3))
    assert not np.array_equal(x, grid.sample(5000, seed=4))
    # Each sample within 6 std of its own mode; per-axis spread = std.
    offsets = x - grid.centers[modes]
    assert np.abs(offsets).max() < 6 * 0.05
    assert offsets.std() == pytest.approx(0.05, rel=0.05)
    # Mode frequencies: each count ~ Binomial(5000, 1/25) = 200 +- 14.
    counts = np.bincount(modes, minlength=25)
    assert np.all(np.abs(counts - 200) < 5 * 14)


def test_invalid_mixtures_are_rejected():
    with pytest.raises(ValueError, match="stds"):
        toy.mixture1d(means=(0.0, 1.0), stds=(1.0, -1.0))
    with pytest.raises(ValueError, match="weights"):
        toy.mixture1d(means=(0.0, 1.0), weights=(1.0,))
    with pytest.raises(ValueError, match="finite"):
        toy.GaussianMixture("bad", [[0.0, np.nan]], 1.0)
    with pytest.raises(ValueError, match="different stds"):
        _ = toy.mixture1d(means=(0.0, 1.0), stds=(1.0, 2.0)).std
    with pytest.raises(ValueError, match="radius"):
        toy.ring8(radius=0.0)


def test_unknown_toy_name_lists_the_valid_names():
    assert set(toy.TOY_DATASETS) == {"ring8", "grid25", "mixture1d"}
    with pytest.raises(ValueError, match=r"ring8.*") as err:
        toy.toy_dataset("ring9", 8)
    assert "grid25" in str(err.value) and "mixture1d" in str(err.value)


@pytest.mark.parametrize("name,dim", [("ring8", 2), ("grid25", 2), ("mixture1d", 1)])
def test_dataset_batches_are_static_float32(name, dim):
    ds = toy.toy_dataset(name, 16, seed=0)
    assert ds.element_spec.shape == (16, dim) and ds.element_spec.dtype == tf.float32
    batches = [b.numpy() for b in ds.take(3)]
    assert all(b.shape == (16, dim) for b in batches)
    assert not np.array_equal(batches[0], batches[1])  # fresh samples every batch


def test_dataset_is_reproducible_with_a_seed_and_differs_across_seeds():
    a = np.concatenate([b.numpy() for b in toy.toy_dataset("ring8", 64, seed=7).take(100)])
    b = np.concatenate([b.numpy() for b in toy.toy_dataset("ring8", 64, seed=7).take(100)])
    c = next(iter(toy.toy_dataset("ring8", 64, seed=8))).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[:64], c)
    # 6400 samples spanning two internal chunks: all on the radius-2 ring, every mode hit.
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 2.0, atol=6 * 0.02)
    angles = np.round(np.arctan2(a[:, 1], a[:, 0]) / (2 * np.pi / 8)) % 8
    counts = np.bincount(angles.astype(int), minlength=8)
    assert np.all(np.abs(counts - 800) < 5 * 27)  # Binomial(6400, 1/8): sd ~ 26.5


def test_dataset_with_modes_and_factory_params():
    ds = toy.toy_dataset("grid25", 32, seed=1, with_modes=True, std=0.5)
    x, modes = next(iter(ds))
    assert x.shape == (32, 2) and modes.shape == (32,) and modes.dtype == tf.int32
    centres = toy.grid25().centers[modes.numpy()]
    offsets = x.numpy() - centres
    assert np.abs(offsets).max() < 6 * 0.5 and np.abs(offsets).max() > 0.2  # std 0.5 used
    with pytest.raises(ValueError, match="batch_size"):
        toy.toy_dataset("grid25", 0)


def test_dataset_splits_across_two_replicas(two_cpu_devices):
    strategy = tf.distribute.MirroredStrategy(two_cpu_devices)
    dist = strategy.experimental_distribute_dataset(toy.toy_dataset("ring8", 8, seed=0))
    batch = next(iter(dist))
    assert [v.shape for v in strategy.experimental_local_results(batch)] == [(4, 2), (4, 2)]
