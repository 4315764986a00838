"""The TFRecord schemas (paired images, single images), each defined once for writer and reader.

One ``tf.train.Example`` holds one training pair of Isola et al., "Image-to-Image
Translation with Conditional Adversarial Networks" (pix2pix), CVPR 2017, Sec. 3:
the generator's *input* image and its *target* image, already oriented by the
preprocessing ``direction`` (``AtoB``: input = A; ``BtoA``: input = B), so readers
never need to know which half was which.

Features:

* ``input_image``, ``target_image``: PNG-encoded RGB ``uint8`` images (lossless).
* ``height``, ``width``: the stored image size in pixels (both images share it).
* ``file_name``: base name of the source file (of A for two-folder inputs).
* ``direction``: ``"AtoB"`` or ``"BtoA"``, provenance only.

:func:`make_example` is what :mod:`tfgan_pipeline.preprocess` writes and
:func:`parse_example` is what :mod:`tfgan_pipeline.data.paired` reads; change both
here together and bump :data:`SCHEMA_VERSION`.

The single-image schema (:data:`IMAGE_FEATURE_SPEC`, :func:`make_image_example`,
:func:`parse_image_example`, versioned apart by :data:`IMAGE_SCHEMA_VERSION`) is at
the end of this module.
"""

import tensorflow as tf

#: Bumped whenever a feature is added, removed or changes meaning.
SCHEMA_VERSION = 1

INPUT_IMAGE = "input_image"
TARGET_IMAGE = "target_image"
HEIGHT = "height"
WIDTH = "width"
FILE_NAME = "file_name"
DIRECTION = "direction"

DIRECTIONS = ("AtoB", "BtoA")

FEATURE_SPEC = {
    INPUT_IMAGE: tf.io.FixedLenFeature([], tf.string),
    TARGET_IMAGE: tf.io.FixedLenFeature([], tf.string),
    HEIGHT: tf.io.FixedLenFeature([], tf.int64),
    WIDTH: tf.io.FixedLenFeature([], tf.int64),
    FILE_NAME: tf.io.FixedLenFeature([], tf.string),
    DIRECTION: tf.io.FixedLenFeature([], tf.string),
}


def _bytes_feature(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int_feature(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def make_example(input_png, target_png, height, width, file_name, direction):
    """Builds one paired ``tf.train.Example`` (pure Python; no graph ops).

    Args:
      input_png: PNG bytes of the generator's input image.
      target_png: PNG bytes of the target image, same size as the input.
      height: stored image height in pixels.
      width: stored image width in pixels.
      file_name: base name of the source file.
      direction: ``"AtoB"`` or ``"BtoA"``.

    Returns:
      A ``tf.train.Example``; call ``SerializeToString()`` to write it.

    Raises:
      TypeError: if an image is not ``bytes``.
      ValueError: if a size is not positive or ``direction`` is unknown.
    """
    for name, value in ((INPUT_IMAGE, input_png), (TARGET_IMAGE, target_png)):
        if not isinstance(value, bytes):
            raise TypeError(f"{name} must be encoded PNG bytes, got {type(value).__name__}.")
    if int(height) <= 0 or int(width) <= 0:
        raise ValueError(f"height and width must be positive, got {height}x{width}.")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}.")
    return tf.train.Example(features=tf.train.Features(feature={
        INPUT_IMAGE: _bytes_feature(input_png),
        TARGET_IMAGE: _bytes_feature(target_png),
        HEIGHT: _int_feature(int(height)),
        WIDTH: _int_feature(int(width)),
        FILE_NAME: _bytes_feature(str(file_name).encode("utf-8")),
        DIRECTION: _bytes_feature(direction.encode("utf-8")),
    }))


def parse_example(serialized):
    """Parses one serialized paired example (works inside ``tf.data.Dataset.map``).

    Args:
      serialized: scalar ``tf.string`` tensor holding a serialized ``tf.train.Example``
        written by :func:`make_example`.

    Returns:
      A dict with ``input_image`` and ``target_image`` as ``uint8`` tensors of shape
      ``[height, width, 3]``, ``height`` and ``width`` as ``int64`` scalars, and
      ``file_name`` and ``direction`` as ``tf.string`` scalars.
    """
    features = tf.io.parse_single_example(serialized, FEATURE_SPEC)
    parsed = dict(features)
    for key in (INPUT_IMAGE, TARGET_IMAGE):
        image = tf.io.decode_png(features[key], channels=3, dtype=tf.uint8)
        parsed[key] = tf.ensure_shape(image, [None, None, 3])
    return parsed


# ---------------------------------------------------------------------------- single images
#
# One ``tf.train.Example`` holds one image of a latent-GAN dataset (MNIST, LeCun et
# al.; any TFDS image dataset) or of one CycleGAN domain (Zhu, Park, Isola, Efros,
# "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks",
# ICCV 2017, Sec. 5.1: unpaired sets X and Y, here domains "A" and "B"):
#
# * ``image``: PNG-encoded ``uint8`` image with ``channels`` channels (lossless).
# * ``height``, ``width``, ``channels``: the stored image size (1 = grayscale, 3 = RGB).
# * ``label``: the source's class label (MNIST digit, TFDS ``label``), ``-1`` when the
#   source has none.
# * ``domain``: ``"A"`` or ``"B"`` for CycleGAN domains, ``""`` otherwise.
# * ``file_name``: base name of the source file, or an example id (``t10k-00042``,
#   ``train-000042``); in pix2pix-as-unpaired test data the A and B halves of one
#   file share it, which recovers the true partner.
#
# :func:`make_image_example` is what :mod:`tfgan_pipeline.preprocess.image_pipeline`
# writes and :func:`parse_image_example` is what :mod:`tfgan_pipeline.data.single`
# reads; change both here together and bump :data:`IMAGE_SCHEMA_VERSION`.

#: Bumped whenever a single-image feature is added, removed or changes meaning.
IMAGE_SCHEMA_VERSION = 1

IMAGE = "image"
CHANNELS = "channels"
LABEL = "label"
DOMAIN = "domain"

#: ``label`` of an image whose source has no class labels.
NO_LABEL = -1
#: Domain names (CycleGAN's X and Y, stored as the published ``trainA``/``trainB`` layout).
DOMAINS = ("A", "B")
IMAGE_CHANNELS = (1, 3)

IMAGE_FEATURE_SPEC = {
    IMAGE: tf.io.FixedLenFeature([], tf.string),
    HEIGHT: tf.io.FixedLenFeature([], tf.int64),
    WIDTH: tf.io.FixedLenFeature([], tf.int64),
    CHANNELS: tf.io.FixedLenFeature([], tf.int64),
    LABEL: tf.io.FixedLenFeature([], tf.int64),
    DOMAIN: tf.io.FixedLenFeature([], tf.string),
    FILE_NAME: tf.io.FixedLenFeature([], tf.string),
}


def make_image_example(image_png, height, width, channels, label, domain, file_name):
    """Builds one single-image ``tf.train.Example`` (pure Python; no graph ops).

    Args:
      image_png: PNG bytes of the image.
      height: stored height in pixels.
      width: stored width in pixels.
      channels: 1 (grayscale) or 3 (RGB).
      label: class label ``>= 0``, or :data:`NO_LABEL`.
      domain: ``"A"``, ``"B"`` or ``None``/``""`` (no domain).
      file_name: base name of the source file or the example's id.

    Returns:
      A ``tf.train.Example``; call ``SerializeToString()`` to write it.

    Raises:
      TypeError: if the image is not ``bytes``.
      ValueError: for a non-positive size, other channels, a label below -1 or an
        unknown domain.
    """
    if not isinstance(image_png, bytes):
        raise TypeError(f"{IMAGE} must be encoded PNG bytes, got {type(image_png).__name__}.")
    if int(height) <= 0 or int(width) <= 0:
        raise ValueError(f"height and width must be positive, got {height}x{width}.")
    if int(channels) not in IMAGE_CHANNELS:
        raise ValueError(f"channels must be one of {IMAGE_CHANNELS}, got {channels!r}.")
    if int(label) < NO_LABEL:
        raise ValueError(f"label must be >= 0, or {NO_LABEL} for none; got {label!r}.")
    domain = domain or ""
    if domain and domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS} or empty, got {domain!r}.")
    return tf.train.Example(features=tf.train.Features(feature={
        IMAGE: _bytes_feature(image_png),
        HEIGHT: _int_feature(int(height)),
        WIDTH: _int_feature(int(width)),
        CHANNELS: _int_feature(int(channels)),
        LABEL: _int_feature(int(label)),
        DOMAIN: _bytes_feature(domain.encode("utf-8")),
        FILE_NAME: _bytes_feature(str(file_name).encode("utf-8")),
    }))


def parse_image_example(serialized, channels):
    """Parses one serialized single-image example (works inside ``tf.data.Dataset.map``).

    Args:
      serialized: scalar ``tf.string`` tensor written by :func:`make_image_example`.
      channels: the stored channel count (1 or 3; every record of one output shares
        it, see :func:`tfgan_pipeline.data.single.stored_channels`).

    Returns:
      A dict with ``image`` as ``uint8`` ``[height, width, channels]``, ``height``,
      ``width``, ``channels`` and ``label`` as ``int64`` scalars, ``domain`` and
      ``file_name`` as ``tf.string`` scalars.
    """
    if channels not in IMAGE_CHANNELS:
        raise ValueError(f"channels must be one of {IMAGE_CHANNELS}, got {channels!r}.")
    parsed = dict(tf.io.parse_single_example(serialized, IMAGE_FEATURE_SPEC))
    image = tf.io.decode_png(parsed[IMAGE], channels=channels, dtype=tf.uint8)
    parsed[IMAGE] = tf.ensure_shape(image, [None, None, channels])
    return parsed
