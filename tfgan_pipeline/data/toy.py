"""Toy low-dimensional data: Gaussian mixtures with known modes and exact densities.

Papers:
  * ring of 8 Gaussians: Metz, Poole, Pfau, Sohl-Dickstein, "Unrolled Generative
    Adversarial Networks", ICLR 2017, Sec. 3.1 (8 modes evenly spaced on a circle
    of radius 2, standard deviation 0.02).
  * grid of 25 Gaussians: Srivastava et al., "VEEGAN: Reducing Mode Collapse in
    GANs using Implicit Variational Learning", NeurIPS 2017, Sec. 5.1 (a 5x5 grid
    with centres at -4, -2, 0, 2, 4 on each axis, standard deviation 0.05).
  * 1-D mixtures: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014,
    Fig. 1 and Sec. 4, whose theory (the optimal discriminator, Prop. 1; the
    global optimum, Thm. 1) needs densities known in closed form; see
    :mod:`tfgan_pipeline.evaluation.theory`.

Every toy is a :class:`GaussianMixture`: it exposes its mode centres, the
per-mode standard deviations and weights, a seeded numpy sampler, the exact
density :meth:`GaussianMixture.pdf`, and :meth:`GaussianMixture.dataset`, an
infinite ``tf.data.Dataset`` of batches. The dataset draws *fresh* samples for
every batch with stateless TF ops (keyed by the seed and a counter), so it
never repeats a finite pool and needs no shuffle: consecutive samples are
already i.i.d. and their modes come in random order.

The CLI names the toys through :data:`TOY_DATASETS` (``"ring8"``, ``"grid25"``,
``"mixture1d"``); :func:`toy_dataset` builds a dataset from such a name.
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from tfgan_pipeline.data.images import check_batch_size

# Samples drawn per stateless-sampling call before re-batching; large enough to
# amortise the op overhead, small enough to stay a few hundred KiB.
_CHUNK_SIZE = 4096


def _read_only(array):
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


@dataclasses.dataclass(frozen=True, eq=False)
class GaussianMixture:
    """A mixture of isotropic Gaussians ``sum_k w_k N(c_k, s_k^2 I)``.

    Args:
      name: short name (used in error messages and reports).
      centers: mode centres, ``[num_modes, dim]`` (a 1-D sequence is read as
        ``num_modes`` centres of a 1-D mixture).
      stds: per-mode standard deviation: a positive scalar or ``[num_modes]``.
      weights: positive mixture weights ``[num_modes]``, normalised to sum to 1;
        ``None`` for equal weights.

    Attributes (read-only float64 numpy arrays after construction):
      centers: ``[num_modes, dim]``.
      stds: ``[num_modes]``.
      weights: ``[num_modes]``, summing to 1.
    """

    name: str
    centers: np.ndarray
    stds: np.ndarray
    weights: np.ndarray = None

    def __post_init__(self):
        centers = np.asarray(self.centers, dtype=np.float64)
        if centers.ndim == 1:
            centers = centers[:, None]
        if centers.ndim != 2 or centers.shape[0] == 0 or centers.shape[1] == 0:
            raise ValueError(
                f"{self.name}: centers must have shape [num_modes, dim] with at least one "
                f"mode, got shape {np.shape(self.centers)}.")
        if not np.all(np.isfinite(centers)):
            raise ValueError(f"{self.name}: centers must be finite, got {centers.tolist()}.")
        num_modes = centers.shape[0]
        stds = np.asarray(self.stds, dtype=np.float64)
        if stds.ndim == 0:
            stds = np.full([num_modes], float(stds))
        if stds.shape != (num_modes,) or not np.all(np.isfinite(stds)) or np.any(stds <= 0):
            raise ValueError(
                f"{self.name}: stds must be a positive scalar or {num_modes} positive values "
                f"(one per mode), got {np.asarray(self.stds).tolist()}.")
        if self.weights is None:
            weights = np.full([num_modes], 1.0 / num_modes)
        else:
            weights = np.asarray(self.weights, dtype=np.float64)
            if (weights.shape != (num_modes,) or not np.all(np.isfinite(weights)) or
                    np.any(weights <= 0)):
                raise ValueError(
                    f"{self.name}: weights must be {num_modes} positive values (one per "
                    f"mode), got {np.asarray(self.weights).tolist()}.")
            weights = weights / weights.sum()
        object.__setattr__(self, "centers", _read_only(centers))
        object.__setattr__(self, "stds", _read_only(stds))
        object.__setattr__(self, "weights", _read_only(weights))

    # ---------------------------------------------------------------- shape
    @property
    def num_modes(self):
        """Number of mixture components."""
        return self.centers.shape[0]

    @property
    def dim(self):
        """Dimension of one sample."""
        return self.centers.shape[1]

    @property
    def std(self):
        """The common standard deviation; raises if the modes have different ones."""
        if not np.all(self.stds == self.stds[0]):
            raise ValueError(
                f"{self.name}: the modes have different stds {self.stds.tolist()}; use "
                "`.stds` (one per mode).")
        return float(self.stds[0])

    # ---------------------------------------------------------------- numpy
    def sample(self, num_samples, seed=None, return_modes=False):
        """Draws i.i.d. samples with numpy.

        Args:
          num_samples: number of samples ``N`` (0 allowed).
          seed: seed for ``np.random.default_rng`` (an int, a ``Generator`` or
            ``None`` for fresh entropy).
          return_modes: also return each sample's mixture component.

        Returns:
          float32 ``[N, dim]``, and int64 ``[N]`` mode indices if ``return_modes``.
        """
        num_samples = int(num_samples)
        if num_samples < 0:
            raise ValueError(f"num_samples must be >= 0, got {num_samples}.")
        rng = np.random.default_rng(seed)
        modes = rng.choice(self.num_modes, size=num_samples, p=self.weights)
        noise = rng.standard_normal((num_samples, self.dim))
        x = (self.centers[modes] + noise * self.stds[modes, None]).astype(np.float32)
        return (x, modes.astype(np.int64)) if return_modes else x

    def pdf(self, x):
        """Exact mixture density.

        Args:
          x: points ``[N, dim]``; for a 1-D mixture also ``[N]`` or a scalar.

        Returns:
          float64 densities ``[N]`` (a float for a scalar input of a 1-D mixture).
        """
        x = np.asarray(x, dtype=np.float64)
        scalar = x.ndim == 0
        if self.dim == 1 and x.ndim <= 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f"{self.name}: pdf expects points of shape [N, {self.dim}]"
                + (" or [N]" if self.dim == 1 else "") + f", got {np.shape(x)}.")
        sq_dist = np.sum((x[:, None, :] - self.centers[None, :, :]) ** 2, axis=-1)  # [N, K]
        var = self.stds ** 2
        norm = (2.0 * math.pi * var) ** (-0.5 * self.dim)
        density = np.sum(self.weights * norm * np.exp(-0.5 * sq_dist / var), axis=1)
        return float(density[0]) if scalar else density

    # ------------------------------------------------------------------- tf
    def tf_sample(self, num_samples, seed, return_modes=False):
        """Draws samples with stateless TF ops (usable inside ``tf.function``/``tf.data``).

        Args:
          num_samples: static number of samples ``N``.
          seed: shape ``[2]`` integer tensor, as for ``tf.random.stateless_normal``.
          return_modes: also return the int32 mode index of each sample.

        Returns:
          float32 ``[N, dim]`` (and int32 ``[N]`` modes).
        """
        seeds = tf.random.experimental.stateless_split(seed, 2)
        logits = tf.math.log(tf.constant(self.weights[None, :], tf.float32))
        modes = tf.random.stateless_categorical(logits, num_samples, seeds[0],
                                                dtype=tf.int32)[0]
        noise = tf.random.stateless_normal([num_samples, self.dim], seeds[1])
        centers = tf.constant(self.centers, tf.float32)
        stds = tf.constant(self.stds, tf.float32)
        x = tf.gather(centers, modes) + noise * tf.gather(stds, modes)[:, None]
        return (x, modes) if return_modes else x

    def dataset(self, batch_size, seed=None, with_modes=False):
        """An infinite ``tf.data.Dataset`` of float32 batches ``[batch_size, dim]``.

        Samples are fresh for every batch (see the module docstring), so there is no
        finite pool to shuffle or repeat; the final ``batch(drop_remainder=True)``
        gives a static batch dimension, which ``tf.distribute`` splits across replicas.

        Args:
          batch_size: global batch size.
          seed: int making the stream reproducible; ``None`` draws one at random.
          with_modes: yield ``(x, mode)`` pairs (int32 mode indices), e.g. as
            labels for a conditional GAN.
        """
        batch_size = check_batch_size(batch_size)
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        seed = tf.constant(int(seed), tf.int64)
        chunk = batch_size * max(1, -(-_CHUNK_SIZE // batch_size))

        def draw(index):
            return self.tf_sample(chunk, tf.stack([seed, index]), return_modes=with_modes)

        ds = tf.data.Dataset.counter(dtype=tf.int64).map(draw)
        ds = ds.unbatch().batch(batch_size, drop_remainder=True)
        return ds.prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------- the toys
def ring8(radius=2.0, std=0.02, num_modes=8):
    """Gaussians evenly spaced on a circle (Metz et al. 2017, Sec. 3.1).

    Mode ``k`` sits at angle ``2 pi k / num_modes``: ``(r cos a, r sin a)``.
    """
    if int(num_modes) < 1:
        raise ValueError(f"ring8: num_modes must be >= 1, got {num_modes}.")
    if not radius > 0:
        raise ValueError(f"ring8: radius must be positive, got {radius}.")
    angles = 2.0 * math.pi * np.arange(int(num_modes)) / int(num_modes)
    centers = float(radius) * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GaussianMixture("ring8", centers, std)


def grid25(grid_size=5, spacing=2.0, std=0.05):
    """A ``grid_size x grid_size`` grid of Gaussians centred on the origin (VEEGAN, Sec. 5.1).

    With the defaults the centres are ``(i, j)`` for ``i, j`` in ``-4, -2, 0, 2, 4``,
    listed row-major (x varies slowest).
    """
    if int(grid_size) < 1:
        raise ValueError(f"grid25: grid_size must be >= 1, got {grid_size}.")
    if not spacing > 0:
        raise ValueError(f"grid25: spacing must be positive, got {spacing}.")
    axis = (np.arange(int(grid_size)) - (int(grid_size) - 1) / 2.0) * float(spacing)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    centers = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return GaussianMixture("grid25", centers, std)


def mixture1d(means=(-2.0, 0.0, 2.0), stds=0.25, weights=None):
    """A 1-D Gaussian mixture with an exact :meth:`~GaussianMixture.pdf`.

    Defaults: three equally weighted modes at -2, 0, 2 with std 0.25 (modes 8 std
    apart, so the 3-std "high quality" regions of mode coverage do not overlap).
    A single mean gives a plain Gaussian, e.g. ``mixture1d((0.5,), 1.5)``.
    """
    return GaussianMixture("mixture1d", np.asarray(means, dtype=np.float64)[:, None],
                           stds, weights)


#: name -> factory returning a :class:`GaussianMixture`; keyword arguments of the
#: factory configure the toy (e.g. ``std=0.1``).
TOY_DATASETS = {
    "ring8": ring8,
    "grid25": grid25,
    "mixture1d": mixture1d,
}


def get_toy(name, **params):
    """Builds the toy mixture called ``name`` (a key of :data:`TOY_DATASETS`).

    Raises:
      ValueError: naming the valid toys when ``name`` is unknown.
    """
    try:
        factory = TOY_DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown toy dataset {name!r}; choose one of {sorted(TOY_DATASETS)}.") from None
    return factory(**params)


def toy_dataset(name, batch_size, seed=None, with_modes=False, **params):
    """Infinite ``tf.data.Dataset`` of ``[batch_size, dim]`` float32 toy batches.

    Args:
      name: ``"ring8"``, ``"grid25"`` or ``"mixture1d"`` (see :data:`TOY_DATASETS`).
      batch_size: global batch size (``drop_remainder`` semantics: always full).
      seed: int for a reproducible stream, ``None`` for a random one.
      with_modes: yield ``(x, mode_index)`` pairs.
      **params: passed to the toy's factory (``std=``, ``radius=``, ...).
    """
    return get_toy(name, **params).dataset(batch_size, seed=seed, with_modes=with_modes)
