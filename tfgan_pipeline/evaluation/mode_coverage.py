"""Mode coverage of generated samples on toy Gaussian mixtures.

Papers: Metz et al., "Unrolled Generative Adversarial Networks", ICLR 2017,
Sec. 3.1 (mode collapse on the ring of 8 Gaussians); the counting protocol
follows Srivastava et al., "VEEGAN", NeurIPS 2017, Sec. 5.1, and Lin et al.,
"PacGAN", NeurIPS 2018 (synthetic experiments): every sample is assigned to its
nearest mode centre; it is *high quality* if it lies within ``num_std`` (3)
standard deviations of that centre; a mode is *covered* if it received at least
a threshold number of high-quality samples. The reverse KL divergence
``KL(generated mode histogram || true mode weights)`` of the high-quality
samples measures how evenly the covered modes are populated (0 = as the data).

Threshold (documented choice): ``max(1, ceil(min_fraction * N * w_k))`` for mode
``k`` of weight ``w_k`` among ``N`` samples, with ``min_fraction = 0.01`` by
default -- 1% of the samples the mode would get from the data distribution
(for 2,500 samples on 25 equal modes: at least 1 sample). Raise ``min_fraction``
for a stricter count, or pass an absolute ``min_count``.

Non-finite samples (nan/inf, e.g. from a diverged generator) are never high
quality and are counted in ``num_nonfinite``; nothing is dropped silently.
"""

import dataclasses
import math

import numpy as np

from tfgan_pipeline.evaluation.theory import kl_divergence

_ROWS_PER_CHUNK = 65536  # bounds the [rows, num_modes] distance matrix


@dataclasses.dataclass(frozen=True)
class ModeCoverage:
    """Result of :func:`mode_coverage`.

    Attributes:
      modes_covered: modes with at least ``thresholds[k]`` high-quality samples.
      num_modes: number of modes ``K``.
      high_quality_fraction: high-quality samples / all ``N`` samples.
      counts: high-quality samples per mode (length ``K``).
      thresholds: the count each mode needed to be covered.
      reverse_kl: ``KL(counts / sum(counts) || mode weights)`` in nats; nan when
        there is no high-quality sample.
      num_samples: ``N``.
      num_nonfinite: samples with a nan/inf coordinate (never high quality).
    """

    modes_covered: int
    num_modes: int
    high_quality_fraction: float
    counts: tuple
    thresholds: tuple
    reverse_kl: float
    num_samples: int
    num_nonfinite: int

    @property
    def covered(self):
        """Per-mode booleans: ``counts[k] >= thresholds[k]``."""
        return tuple(c >= t for c, t in zip(self.counts, self.thresholds))

    def to_dict(self):
        """Scalar summary for logs and metric files."""
        return {"modes_covered": self.modes_covered, "num_modes": self.num_modes,
                "high_quality_fraction": self.high_quality_fraction,
                "reverse_kl": self.reverse_kl, "num_samples": self.num_samples,
                "num_nonfinite": self.num_nonfinite}


def _as_points(array, name):
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape [n, dim] (or [n] for 1-D), got "
                         f"{np.shape(array)}.")
    return array


def mode_coverage(samples, centers, std, num_std=3.0, min_fraction=0.01, min_count=None,
                  weights=None):
    """Counts the modes covered by ``samples`` and the fraction of high-quality samples.

    Args:
      samples: generated points ``[N, dim]`` (or ``[N]`` for 1-D), numpy or tensor.
      centers: mode centres ``[K, dim]`` (or ``[K]``).
      std: the modes' standard deviation, a scalar or ``[K]``.
      num_std: high quality = within ``num_std * std`` (Euclidean) of the nearest centre.
      min_fraction: relative threshold (see the module docstring).
      min_count: absolute threshold for every mode; overrides ``min_fraction``.
      weights: true mode weights ``[K]`` for the thresholds and the reverse KL;
        ``None`` for equal weights.

    Returns:
      A :class:`ModeCoverage`.

    Raises:
      ValueError: for mismatched dimensions, no centres, or bad std/thresholds.
    """
    samples = _as_points(samples, "samples")
    centers = _as_points(centers, "centers")
    num_modes, dim = centers.shape
    if num_modes == 0 or not np.all(np.isfinite(centers)):
        raise ValueError("centers must hold at least one finite mode centre.")
    if samples.shape[0] == 0:
        raise ValueError("samples is empty; mode coverage needs at least one sample.")
    if samples.shape[1] != dim:
        raise ValueError(f"samples have dimension {samples.shape[1]} but the mode centres have "
                         f"{dim}.")
    stds = np.asarray(std, dtype=np.float64)
    if stds.ndim == 0:
        stds = np.full([num_modes], float(stds))
    if stds.shape != (num_modes,) or not np.all(np.isfinite(stds)) or np.any(stds <= 0):
        raise ValueError(f"std must be a positive scalar or {num_modes} positive values, got "
                         f"{np.asarray(std).tolist()}.")
    if not num_std > 0:
        raise ValueError(f"num_std must be positive, got {num_std}.")
    if weights is None:
        weights = np.full([num_modes], 1.0 / num_modes)
    else:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (num_modes,) or np.any(weights < 0) or not weights.sum() > 0:
            raise ValueError(f"weights must be {num_modes} non-negative values with a positive "
                             f"sum, got {np.asarray(weights).tolist()}.")
        weights = weights / weights.sum()

    num_samples = samples.shape[0]
    if min_count is not None:
        if int(min_count) != min_count or min_count < 1:
            raise ValueError(f"min_count must be an integer >= 1, got {min_count}.")
        thresholds = np.full([num_modes], int(min_count))
    else:
        if not 0 < min_fraction <= 1:
            raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction}.")
        thresholds = np.maximum(1, np.ceil(min_fraction * num_samples * weights - 1e-9))
        thresholds = thresholds.astype(np.int64)

    finite = np.all(np.isfinite(samples), axis=1)
    counts = np.zeros([num_modes], dtype=np.int64)
    num_high_quality = 0
    for start in range(0, num_samples, _ROWS_PER_CHUNK):
        chunk = samples[start:start + _ROWS_PER_CHUNK][finite[start:start + _ROWS_PER_CHUNK]]
        if chunk.shape[0] == 0:
            continue
        sq_dist = np.sum((chunk[:, None, :] - centers[None, :, :]) ** 2, axis=-1)
        nearest = np.argmin(sq_dist, axis=1)
        dist = np.sqrt(sq_dist[np.arange(chunk.shape[0]), nearest])
        high_quality = dist <= num_std * stds[nearest]
        counts += np.bincount(nearest[high_quality], minlength=num_modes)
        num_high_quality += int(high_quality.sum())

    if num_high_quality > 0:
        reverse_kl = kl_divergence(counts / num_high_quality, weights)
    else:
        reverse_kl = math.nan
    return ModeCoverage(
        modes_covered=int(np.sum(counts >= thresholds)),
        num_modes=int(num_modes),
        high_quality_fraction=num_high_quality / num_samples,
        counts=tuple(int(c) for c in counts),
        thresholds=tuple(int(t) for t in thresholds),
        reverse_kl=float(reverse_kl),
        num_samples=int(num_samples),
        num_nonfinite=int(np.sum(~finite)),
    )


def toy_mode_coverage(samples, mixture, **kwargs):
    """:func:`mode_coverage` against a toy mixture's centres, stds and weights.

    Args:
      samples: generated points ``[N, dim]``.
      mixture: a :class:`tfgan_pipeline.data.toy.GaussianMixture` (anything with
        ``centers``, ``stds`` and ``weights``).
      **kwargs: ``num_std``, ``min_fraction``, ``min_count``.
    """
    return mode_coverage(samples, mixture.centers, mixture.stds, weights=mixture.weights,
                         **kwargs)
