"""Paired image metrics for image-to-image translation: L1, PSNR, SSIM.

Used to compare a translated image with its ground-truth target (pix2pix: Isola et
al., "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017,
whose Sec. 3.1 L1 term and Sec. 4 evaluation motivate the per-pair scores).

* L1: mean absolute difference per image, in the units of the inputs (so an L1 of
  0.1 on ``[-1, 1]`` images is 12.75 on ``[0, 255]``).
* PSNR: ``10 log10(R^2 / MSE)`` dB with ``R`` the width of the value range,
  via ``tf.image.psnr``; ``inf`` for identical images.
* SSIM: Wang, Bovik, Sheikh, Simoncelli, "Image Quality Assessment: From Error
  Visibility to Structural Similarity", IEEE TIP 2004, Eq. 13 with an 11x11
  Gaussian window (sigma 1.5), ``K1 = 0.01``, ``K2 = 0.03``, via ``tf.image.ssim``,
  averaged over channels. ``tf.image.ssim`` computes in float32, where
  ``E[x^2] - E[x]^2`` cancels, so values are accurate to a few 1e-4 (worst on
  near-flat images).

Value range. Every function takes ``value_range = (low, high)``: ``(-1, 1)`` (the
default: generator outputs, our datasets), ``(0, 255)`` for uint8-style pixels or
``(0, 1)``. The dynamic range is ``R = high - low``. SSIM's luminance term is not
shift-invariant, so images are shifted by ``-low`` to ``[0, R]`` before SSIM (the
paper's pixels start at 0); L1 and PSNR do not depend on the shift. Inputs outside
the stated range (beyond a 1e-3 * R tolerance) raise ``ValueError`` -- the usual
cause is ``[0, 255]`` images measured with the default range. Images are
``[B, H, W, C]`` (or one ``[H, W, C]`` image), computed in float32.

Each metric returns per-image values (numpy ``[B]``); :func:`paired_metrics`
averages one batch and :func:`paired_metrics_over` averages a stream of batches
(e.g. a whole evaluation split). Means are over images (mean of per-image PSNR,
the usual pix2pix-evaluation convention); the mean PSNR is ``inf`` if any pair is
identical. Report the number of images (``num_images``) with the values.
"""

import dataclasses

import numpy as np
import tensorflow as tf

#: Common value ranges.
TANH_RANGE = (-1.0, 1.0)
UNIT_RANGE = (0.0, 1.0)
UINT8_RANGE = (0.0, 255.0)

_RANGE_TOLERANCE = 1e-3


@dataclasses.dataclass(frozen=True)
class PairedMetrics:
    """Means of the per-image paired metrics.

    Attributes:
      l1: mean absolute error, in input units.
      psnr: mean PSNR in dB (``inf`` if any pair is identical).
      ssim: mean SSIM (1 = identical).
      num_images: number of image pairs averaged.
      value_range: the ``(low, high)`` range the inputs were measured in.
    """

    l1: float
    psnr: float
    ssim: float
    num_images: int
    value_range: tuple

    def to_dict(self):
        """Flat scalars for logs / metric files."""
        return {"l1": self.l1, "psnr": self.psnr, "ssim": self.ssim,
                "num_images": self.num_images}


def _check_range(value_range):
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be a (low, high) pair such as (-1, 1) or (0, 255), "
                         f"got {value_range!r}.") from None
    if not np.isfinite([low, high]).all() or high <= low:
        raise ValueError(f"value_range must have finite low < high, got {value_range!r}.")
    return low, high


def _as_images(images, name, value_range):
    images = tf.convert_to_tensor(images)
    if not (images.dtype.is_floating or images.dtype.is_integer):
        raise TypeError(f"{name} must hold numbers, got dtype {images.dtype.name}.")
    images = tf.cast(images, tf.float32)
    if images.shape.rank == 3:
        images = images[None]
    if images.shape.rank != 4:
        raise ValueError(f"{name} must have shape [B, H, W, C] or [H, W, C], got "
                         f"{images.shape}.")
    if images.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch.")
    low, high = value_range
    tol = _RANGE_TOLERANCE * (high - low)
    values = images.numpy()
    if not np.isfinite(values).all():
        raise ValueError(f"{name} has nan/inf pixels.")
    vmin, vmax = float(values.min()), float(values.max())
    if vmin < low - tol or vmax > high + tol:
        raise ValueError(
            f"{name} has values in [{vmin:.4g}, {vmax:.4g}], outside value_range "
            f"({low:g}, {high:g}); pass the range the images are in, e.g. "
            f"value_range=(0, 255) for uint8-style pixels or (-1, 1) for tanh outputs.")
    return images


def _pair(images_a, images_b, value_range):
    value_range = _check_range(value_range)
    a = _as_images(images_a, "images_a", value_range)
    b = _as_images(images_b, "images_b", value_range)
    if a.shape != b.shape:
        raise ValueError(f"images_a and images_b must have the same shape, got {a.shape} and "
                         f"{b.shape}; resize the outputs to the targets' size first.")
    return a, b, value_range


def l1(images_a, images_b, value_range=TANH_RANGE):
    """Per-image mean absolute difference ``mean |a - b|`` over H, W, C, in input units.

    Args:
      images_a, images_b: ``[B, H, W, C]`` (or ``[H, W, C]``) in ``value_range``.
      value_range: ``(low, high)`` of the inputs (only used to validate them).

    Returns:
      float32 numpy ``[B]``.
    """
    a, b, _ = _pair(images_a, images_b, value_range)
    return _l1(a, b)


def _l1(a, b):
    return tf.reduce_mean(tf.abs(a - b), axis=[1, 2, 3]).numpy()


def psnr(images_a, images_b, value_range=TANH_RANGE):
    """Per-image PSNR ``10 log10(R^2 / MSE)`` in dB, ``R = high - low`` (``tf.image.psnr``).

    Returns:
      float32 numpy ``[B]``; ``inf`` where a pair is identical.
    """
    a, b, value_range = _pair(images_a, images_b, value_range)
    return _psnr(a, b, value_range)


def _psnr(a, b, value_range):
    low, high = value_range
    return tf.image.psnr(a, b, max_val=high - low).numpy()


def ssim(images_a, images_b, value_range=TANH_RANGE, filter_size=11, filter_sigma=1.5,
         k1=0.01, k2=0.03):
    """Per-image SSIM (Wang et al. 2004) via ``tf.image.ssim``, averaged over channels.

    Images are shifted from ``[low, high]`` to ``[0, high - low]`` first (SSIM's
    luminance term is not shift-invariant) and ``max_val = high - low``. Height and
    width must be at least ``filter_size``.

    Returns:
      float32 numpy ``[B]``; 1 for identical images.
    """
    a, b, value_range = _pair(images_a, images_b, value_range)
    return _ssim(a, b, value_range, filter_size, filter_sigma, k1, k2)


def _ssim(a, b, value_range, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03):
    low, high = value_range
    if min(a.shape[1], a.shape[2]) < filter_size:
        raise ValueError(f"SSIM with filter_size {filter_size} needs images at least "
                         f"{filter_size}x{filter_size}, got {a.shape[1]}x{a.shape[2]}; pass a "
                         "smaller filter_size.")
    return tf.image.ssim(a - low, b - low, max_val=high - low, filter_size=filter_size,
                         filter_sigma=filter_sigma, k1=k1, k2=k2).numpy()


def _per_image(images_a, images_b, value_range):
    a, b, value_range = _pair(images_a, images_b, value_range)
    return _l1(a, b), _psnr(a, b, value_range), _ssim(a, b, value_range)


def paired_metrics(images_a, images_b, value_range=TANH_RANGE):
    """Mean L1, PSNR and SSIM over one batch of pairs.

    Returns:
      :class:`PairedMetrics`.
    """
    value_range = _check_range(value_range)
    l1_values, psnr_values, ssim_values = _per_image(images_a, images_b, value_range)
    return PairedMetrics(l1=float(np.mean(l1_values, dtype=np.float64)),
                         psnr=float(np.mean(psnr_values, dtype=np.float64)),
                         ssim=float(np.mean(ssim_values, dtype=np.float64)),
                         num_images=int(l1_values.shape[0]), value_range=value_range)


def paired_metrics_over(batches, value_range=TANH_RANGE, max_images=None):
    """Mean L1, PSNR and SSIM over an iterable of ``(images_a, images_b)`` batches.

    Args:
      batches: iterable (e.g. a finite ``tf.data.Dataset``, or a generator running
        the translator) of ``(images_a, images_b)`` pairs of batches.
      value_range: ``(low, high)`` of the inputs.
      max_images: stop after this many pairs (the last batch is cut to fit); needed
        for an infinite dataset. ``None`` consumes the whole iterable.

    Returns:
      :class:`PairedMetrics` (means over images, not over batches).

    Raises:
      ValueError: if no image pair was seen.
    """
    value_range = _check_range(value_range)
    if max_images is not None and (isinstance(max_images, bool) or int(max_images) <= 0
                                   or int(max_images) != max_images):
        raise ValueError(f"max_images must be a positive integer or None, got {max_images!r}.")
    sums = np.zeros(3, dtype=np.float64)
    count = 0
    for batch in batches:
        if max_images is not None and count >= max_images:
            break
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("each element of batches must be an (images_a, images_b) pair.")
        images_a, images_b = batch
        if max_images is not None:
            keep = int(max_images) - count
            images_a, images_b = images_a[:keep], images_b[:keep]
        values = _per_image(images_a, images_b, value_range)
        sums += [np.sum(v, dtype=np.float64) for v in values]
        count += int(values[0].shape[0])
    if count == 0:
        raise ValueError("batches yielded no image pairs.")
    means = sums / count
    return PairedMetrics(l1=float(means[0]), psnr=float(means[1]), ssim=float(means[2]),
                         num_images=count, value_range=value_range)
