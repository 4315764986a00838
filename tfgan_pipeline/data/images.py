"""Small image helpers shared by the tf.data sources: size checks, scaling, resizing, jitter.

Convention (DCGAN, Radford et al., ICLR 2016, Sec. 4): generators end in ``tanh``,
so every image source yields float32 pixels scaled from ``[0, max]`` to ``[-1, 1]``.

Random jitter (pix2pix, Isola et al., CVPR 2017, App. 6.2; CycleGAN, Zhu et al.,
ICCV 2017, App. 7.1): :func:`resize_square` to the load size, then
:func:`random_crop_and_flip`. pix2pix stacks input and target on the channel axis
so both get the same crop and flip; CycleGAN jitters each domain's image alone.
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


def resize_square(image, size):
    """Bicubic resize of a ``[0, 255]`` image ``[H, W, C]`` to ``size x size``; float32.

    Anti-aliased and clipped to ``[0, 255]``; a no-op (but the cast) when the image is
    already that size. The channel count must be static.
    """
    image = tf.cast(image, tf.float32)
    shape = tf.shape(image)

    def resize():
        out = tf.image.resize(image, [size, size], method="bicubic", antialias=True)
        return tf.clip_by_value(out, 0.0, 255.0)

    same = tf.logical_and(tf.equal(shape[0], size), tf.equal(shape[1], size))
    out = tf.cond(same, lambda: image, resize)
    return tf.ensure_shape(out, [size, size, image.shape[-1]])


def random_crop_and_flip(image, seed, size):
    """One stateless random ``size x size`` crop and one random horizontal flip.

    Args:
      image: ``[H, W, C]`` with ``H, W >= size`` and a static ``C``.
      seed: ``int`` tensor of shape ``[2]``; split into a crop seed and a flip seed.
      size: crop side.

    Returns:
      ``[size, size, C]``, same dtype.
    """
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    image = tf.image.stateless_random_crop(image, [size, size, image.shape[-1]], seed=crop_seed)
    return tf.image.stateless_random_flip_left_right(image, seed=flip_seed)
