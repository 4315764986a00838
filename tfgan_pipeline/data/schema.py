"""The TFRecord schema of paired images, defined once for the Beam writer and the tf.data reader.

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
