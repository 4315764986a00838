"""tf.data input pipeline for paired images (pix2pix).

Implements the input side of Isola et al., "Image-to-Image Translation with
Conditional Adversarial Networks", CVPR 2017, Appendix 6.2 ("random
jitter was applied by resizing the 256x256 input images to 286x286 and then
randomly cropping back to size 256x256") plus random mirroring, with the *same*
crop and flip for the input and the target: the two images are stacked on the
channel axis (6 channels) before the crop and the flip.

Records are those written by :mod:`tfgan_pipeline.preprocess` in the schema of
:mod:`tfgan_pipeline.data.schema` (already resized to the load size; if not, the
jitter resizes them). Both datasets yield ``(input_image, target_image)`` float32
batches in ``[-1, 1]`` of shape ``[batch, image_size, image_size, 3]`` and are
plain ``tf.data.Dataset`` objects that ``strategy.experimental_distribute_dataset``
and ``model.fit`` can shard (the training one batches with ``drop_remainder=True``
and starts from the file list, so ``MultiWorkerMirroredStrategy`` shards by file).

Randomness is stateless and keyed per element (``tf.data.Dataset.random``), so a
given ``seed`` reproduces the same stream regardless of ``num_parallel_calls``.
"""

import os

import tensorflow as tf

from tfgan_pipeline.data import images
from tfgan_pipeline.data import schema

_GLOB_CHARS = frozenset("*?[")


def list_tfrecord_files(file_pattern_or_list):
    """Expands a glob pattern, a file path, or a list of either into sorted file paths.

    Raises:
      FileNotFoundError: if nothing matches.
      TypeError: for anything but a string or a list/tuple of strings.
    """
    if isinstance(file_pattern_or_list, (str, bytes, os.PathLike)):
        items = [file_pattern_or_list]
    elif isinstance(file_pattern_or_list, (list, tuple)):
        items = list(file_pattern_or_list)
    else:
        raise TypeError("file_pattern_or_list must be a glob pattern, a path, or a list of them; "
                        f"got {type(file_pattern_or_list).__name__}.")
    files = []
    for item in items:
        item = item.decode() if isinstance(item, bytes) else os.fspath(item)
        if _GLOB_CHARS & set(item):
            files += tf.io.gfile.glob(item)
        elif tf.io.gfile.exists(item) and not tf.io.gfile.isdir(item):
            files.append(item)
    if not files:
        raise FileNotFoundError(f"No TFRecord files match {file_pattern_or_list!r}; run the "
                                "preprocessing first (tfgan_pipeline.preprocess.run_preprocess, "
                                "or run_image_preprocess for single images).")
    return sorted(set(files))


def tfrecord_compression(files):
    """``"GZIP"`` for ``.gz`` files, ``""`` otherwise; a mix raises ``ValueError``."""
    kinds = {"GZIP" if f.endswith(".gz") else "" for f in files}
    if len(kinds) > 1:
        raise ValueError("Mix of GZIP (.gz) and uncompressed TFRecord files; read them separately.")
    return kinds.pop()


def check_shuffle_buffer(shuffle_buffer):
    """Raises ``ValueError`` unless ``shuffle_buffer`` is a positive int."""
    if (isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int)
            or shuffle_buffer < 1):
        raise ValueError(f"shuffle_buffer must be a positive int, got {shuffle_buffer!r}.")


def shuffled_records(files, shuffle_buffer, seed=None):
    """Serialized records of ``files``: file order shuffled, files interleaved, records shuffled.

    Reproducible for an int ``seed`` (deterministic interleave); reshuffled each epoch
    when repeated. Starts from the file list, so ``MultiWorkerMirroredStrategy`` can
    shard it by file.
    """
    compression = tfrecord_compression(files)
    ds = tf.data.Dataset.from_tensor_slices(files).shuffle(len(files), seed=seed)
    ds = ds.interleave(lambda f: tf.data.TFRecordDataset(f, compression_type=compression),
                       cycle_length=min(len(files), 8), num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True)
    return ds.shuffle(shuffle_buffer, seed=seed)


def decode_pair(serialized):
    """Serialized example -> ``(input_image, target_image)``, ``uint8`` ``[H, W, 3]``."""
    parsed = schema.parse_example(serialized)
    return parsed[schema.INPUT_IMAGE], parsed[schema.TARGET_IMAGE]


def random_jitter(input_image, target_image, seed, image_size=256, load_size=286):
    """Resize to ``load_size``, one random ``image_size`` crop and one random flip for both.

    Args:
      input_image: ``uint8`` or float ``[H, W, 3]`` in ``[0, 255]``.
      target_image: same shape as ``input_image``.
      seed: ``int`` tensor of shape ``[2]`` (stateless RNG seed for this element).
      image_size: crop size.
      load_size: resize size before the crop (``>= image_size``).

    Returns:
      ``(input_image, target_image)``, float32 ``[image_size, image_size, 3]`` in ``[0, 255]``.
    """
    stacked = tf.concat([tf.cast(input_image, tf.float32), tf.cast(target_image, tf.float32)], -1)
    stacked = images.random_crop_and_flip(images.resize_square(stacked, load_size), seed,
                                          image_size)
    return stacked[..., :3], stacked[..., 3:]


def check_sizes(image_size, load_size=None):
    """Checks the crop size (and load size, ``>= image_size``) of a jitter; raises ``ValueError``."""
    for name, value in (("image_size", image_size), ("load_size", load_size)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if load_size is not None and load_size < image_size:
        raise ValueError(f"load_size ({load_size}) must be >= image_size ({image_size}): the "
                         "jitter crops image_size out of the load_size resize.")


def paired_train_dataset(file_pattern_or_list, batch_size, image_size=256, load_size=286,
                         shuffle_buffer=400, seed=None):
    """Repeated, shuffled, jittered training batches of ``(input_image, target_image)``.

    Args:
      file_pattern_or_list: TFRecord glob pattern(s) or paths (``.gz`` = GZIP).
      batch_size: global batch size; batches drop the remainder (fixed shapes for
        distribution strategies).
      image_size: side of the random crop (the generator's input size).
      load_size: side the pair is resized to before the crop.
      shuffle_buffer: records in the shuffle buffer (each holds two PNGs).
      seed: int for a reproducible stream (file order, shuffle and jitter), or ``None``.

    Returns:
      An infinite ``tf.data.Dataset`` of float32 ``[batch, image_size, image_size, 3]``
      pairs in ``[-1, 1]``. (It ends instead if the files hold no records.)
    """
    batch_size = images.check_batch_size(batch_size)
    check_sizes(image_size, load_size)
    check_shuffle_buffer(shuffle_buffer)
    ds = shuffled_records(list_tfrecord_files(file_pattern_or_list), shuffle_buffer, seed).repeat()
    seeds = tf.data.Dataset.random(seed=seed).batch(2, drop_remainder=True)

    def load(serialized, element_seed):
        input_image, target_image = decode_pair(serialized)
        input_image, target_image = random_jitter(
            input_image, target_image, element_seed, image_size, load_size)
        return images.scale_to_unit_range(input_image), images.scale_to_unit_range(target_image)

    ds = tf.data.Dataset.zip((ds, seeds)).map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def paired_eval_dataset(file_pattern_or_list, batch_size, image_size=256, drop_remainder=False,
                        include_file_name=False):
    """Deterministic, finite evaluation batches: resize straight to ``image_size``, no jitter.

    Args:
      file_pattern_or_list: TFRecord glob pattern(s) or paths (``.gz`` = GZIP).
      batch_size: batch size.
      image_size: side the images are resized to.
      drop_remainder: drop a last partial batch (for strategies that need fixed shapes).
      include_file_name: also yield the ``tf.string`` source file names.

    Returns:
      A ``tf.data.Dataset`` of ``(input_image, target_image)`` (plus ``file_name`` if
      asked) float32 ``[batch, image_size, image_size, 3]`` in ``[-1, 1]``, in file
      order (sorted paths, then record order), one pass.
    """
    batch_size = images.check_batch_size(batch_size)
    check_sizes(image_size)
    files = list_tfrecord_files(file_pattern_or_list)
    ds = tf.data.TFRecordDataset(files, compression_type=tfrecord_compression(files))

    def load(serialized):
        parsed = schema.parse_example(serialized)
        out = tuple(images.scale_to_unit_range(images.resize_square(parsed[key], image_size))
                    for key in (schema.INPUT_IMAGE, schema.TARGET_IMAGE))
        return out + (parsed[schema.FILE_NAME],) if include_file_name else out

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
