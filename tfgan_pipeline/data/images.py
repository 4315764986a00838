"""Small image helpers shared by the tf.data sources: size checks, scaling, resizing.

Convention (DCGAN, Radford et al., ICLR 2016, Sec. 4): generators end in ``tanh``,
so every image source yields float32 pixels scaled from ``[0, max]`` to ``[-1, 1]``.
"""

import numpy as np
import tensorflow as tf


def normalize_image_size(image_size, name="image_size"):
    """Returns ``image_size`` as a ``(height, width)`` tuple of positive ints, or ``None``.

    Args:
      image_size: ``None``, an int (square) or a ``(height, width)`` pair.
      name: argument name used in the error message.

    Raises:
      ValueError: if a size is not a positive integer.
    """
    if image_size is None:
        return None
    if isinstance(image_size, (str, bytes, bool)):
        raise ValueError(
            f"{name} must be an int or a (height, width) pair, got {image_size!r}.")
    if isinstance(image_size, (int, np.integer)):
        size = (int(image_size), int(image_size))
    else:
        try:
            size = tuple(int(s) for s in image_size)
        except TypeError:
            raise ValueError(
                f"{name} must be an int or a (height, width) pair, got {image_size!r}.") from None
        if len(size) != 2 or any(float(s) != float(o) for s, o in zip(size, image_size)):
            raise ValueError(
                f"{name} must be an int or a (height, width) pair, got {image_size!r}.")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"{name} must be positive, got {image_size!r}.")
    return size


def scale_to_unit_range(images, max_value=255.0):
    """Maps integer pixels in ``[0, max_value]`` to float32 in ``[-1, 1]``."""
    images = tf.cast(images, tf.float32)
    return images * (2.0 / float(max_value)) - 1.0


def resize_images(images, size):
    """Bilinearly resizes ``[..., H, W, C]`` float images to ``size`` = ``(h, w)``.

    Anti-aliasing is on, so downsampling does not alias; the result is clipped to
    ``[-1, 1]`` (the input range) so the resize can never leave the tanh range.
    A no-op when the static size already matches.
    """
    size = normalize_image_size(size)
    images = tf.convert_to_tensor(images)
    if tuple(images.shape[-3:-1]) == size:
        return images
    resized = tf.image.resize(images, size, method="bilinear", antialias=True)
    return tf.clip_by_value(resized, -1.0, 1.0)


def check_batch_size(batch_size):
    """Returns ``batch_size`` as a positive int or raises ``ValueError``."""
    ok = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
    if not ok or int(batch_size) <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    return int(batch_size)
