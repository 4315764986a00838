"""Mode coverage on hand-built samples and on exact mixture samples."""

import math

import numpy as np
import pytest

from tfgan_pipeline.data import toy
from tfgan_pipeline.evaluation import mode_coverage as mc


def _on_centres(centers, per_mode, jitter=0.0, seed=0):
    """``per_mode`` points near each centre, each at most ``jitter`` away."""
    rng = np.random.default_rng(seed)
    points = np.repeat(np.asarray(centers, dtype=np.float64), per_mode, axis=0)
    direction = rng.standard_normal(points.shape)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return points + jitter * rng.uniform(0, 1, (len(points), 1)) * direction


def test_perfect_samples_cover_every_mode():
    grid = toy.grid25()
    samples = _on_centres(grid.centers, 100, jitter=2.9 * grid.std)
    result = mc.toy_mode_coverage(samples, grid)
    assert result.modes_covered == 25 and result.num_modes == 25
    assert result.high_quality_fraction == 1.0
    assert result.counts == (100,) * 25
    assert result.reverse_kl == pytest.approx(0.0, abs=1e-12)
    assert all(result.covered) and result.num_nonfinite == 0


def test_all_samples_on_one_mode_cover_one():
    ring = toy.ring8()
    samples = _on_centres(ring.centers[3:4], 400, jitter=0.01)
    result = mc.toy_mode_coverage(samples, ring)
    assert result.modes_covered == 1
    assert result.counts == (0, 0, 0, 400, 0, 0, 0, 0)
    assert result.high_quality_fraction == 1.0
    # KL(delta_3 || uniform over 8) = log 8.
    assert result.reverse_kl == pytest.approx(math.log(8))


def test_half_the_modes_gives_reverse_kl_log2():
    ring = toy.ring8()
    samples = _on_centres(ring.centers[::2], 50)
    result = mc.toy_mode_coverage(samples, ring)
    assert result.modes_covered == 4
    assert result.reverse_kl == pytest.approx(math.log(2))


def test_far_away_samples_are_never_high_quality():
    ring = toy.ring8()
    samples = np.full((100, 2), 10.0)
    result = mc.toy_mode_coverage(samples, ring)
    assert result.high_quality_fraction == 0.0 and result.modes_covered == 0
    assert result.counts == (0,) * 8 and math.isnan(result.reverse_kl)
    # Just outside 3 std of a centre is low quality; just inside is high quality.
    edge = ring.centers[0] + np.array([[3.01 * 0.02, 0.0], [2.99 * 0.02, 0.0]])
    assert mc.toy_mode_coverage(edge, ring).counts[0] == 1


def test_exact_mixture_samples_match_the_chi_distribution():
    # For a 2-D isotropic Gaussian, P(|x - c| <= 3 std) = 1 - exp(-9/2) = 0.98889.
    grid = toy.grid25()
    samples = grid.sample(20_000, seed=0)
    result = mc.toy_mode_coverage(samples, grid)
    p = 1 - math.exp(-4.5)
    assert result.high_quality_fraction == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / 2e4))
    assert result.modes_covered == 25
    # 1-D: P(|z| <= 3) = erf(3 / sqrt 2) = 0.99730.
    mix = toy.mixture1d()
    result = mc.toy_mode_coverage(mix.sample(20_000, seed=1)[:, 0], mix)  # [N] input
    p = math.erf(3 / math.sqrt(2))
    assert result.high_quality_fraction == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / 2e4))
    assert result.modes_covered == 3


def test_thresholds():
    ring = toy.ring8()
    # 2500 samples on 8 modes: expected 312.5 per mode; 1% -> 4 (ceil 3.125).
    samples = np.concatenate([_on_centres(ring.centers[:1], 2497),
                              _on_centres(ring.centers[1:2], 3)])
    result = mc.toy_mode_coverage(samples, ring)
    assert result.thresholds == (4,) * 8
    assert result.counts[:2] == (2497, 3) and result.modes_covered == 1
    assert mc.toy_mode_coverage(samples, ring, min_count=3).modes_covered == 2
    assert mc.toy_mode_coverage(samples, ring, min_fraction=0.5).thresholds == (157,) * 8
    # Tiny N: the threshold never drops below one sample.
    assert mc.toy_mode_coverage(samples[:8], ring).thresholds == (1,) * 8


def test_nonfinite_samples_are_counted_not_dropped():
    ring = toy.ring8()
    samples = np.concatenate([_on_centres(ring.centers, 1), [[np.nan, 0.0], [np.inf, 1.0]]])
    result = mc.toy_mode_coverage(samples, ring)
    assert result.num_samples == 10 and result.num_nonfinite == 2
    assert result.high_quality_fraction == pytest.approx(0.8)
    assert result.modes_covered == 8
    assert result.to_dict()["num_nonfinite"] == 2


def test_per_mode_std_and_weights():
    centers = [[0.0], [10.0]]
    samples = np.array([[0.7], [10.5], [11.5]])
    result = mc.mode_coverage(samples, centers, std=[0.2, 0.5], weights=[1, 3])
    assert result.counts == (0, 2)  # 0.7 > 3*0.2; 0.5 and 1.5 <= 3*0.5
    # Histogram (0, 1) vs weights (1/4, 3/4): KL = log(4/3).
    assert result.reverse_kl == pytest.approx(math.log(4 / 3))


@pytest.mark.parametrize("kwargs,message", [
    (dict(samples=np.zeros((3, 3))), "dimension 3"),
    (dict(samples=np.zeros((0, 2))), "empty"),
    (dict(std=-1.0), "std must be"),
    (dict(std=[0.1, 0.1]), "std must be"),
    (dict(min_count=0), "min_count"),
    (dict(min_fraction=0.0), "min_fraction"),
])
def test_invalid_arguments(kwargs, message):
    args = dict(samples=np.zeros((3, 2)), centers=toy.ring8().centers, std=0.02)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        mc.mode_coverage(**args)
