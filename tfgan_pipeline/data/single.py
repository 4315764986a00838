"""tf.data readers of single-image TFRecords: latent-GAN batches and CycleGAN's unpaired domains.

Records are those of :mod:`tfgan_pipeline.preprocess.image_pipeline`, in the
single-image schema of :mod:`tfgan_pipeline.data.schema` (one PNG, label, domain
and file name each). Every reader yields float32 images in ``[-1, 1]`` (the tanh
range of DCGAN generators, Radford et al., ICLR 2016, Sec. 4) and int32 labels.

* :func:`image_dataset`: training batches for the latent GANs (MNIST: LeCun et al.;
  any TFDS dataset): shuffled, repeated, optionally resized; labels on request
  (conditional GANs, Mirza & Osindero 2014; ACGAN, Odena et al. 2017).
* :func:`image_eval_dataset`: the same records in file order, one pass.
* :func:`unpaired_dataset`: CycleGAN training (Zhu, Park, Isola, Efros, ICCV 2017):
  ``(a, b)`` batches from two domains that are repeated, shuffled and jittered
  *independently*, each with its own seed: the domains are unpaired and of
  different sizes (Sec. 3), and the jitter of Appendix 7.1 (resize to the load
  size, 286, random crop to 256, random horizontal flip) is drawn per image.
* :func:`paired_test_dataset`: held-out ``testA``/``testB`` records joined by file
  name -- for pix2pix A|B data used as unpaired domains the name recovers each
  image's true partner, for the paired metrics (FCN score / L1 / PSNR) of
  CycleGAN Sec. 5.1.

All stored images of one output share a channel count (``stats.json``
``channels``); the readers take it from the first record. Randomness is stateless
and keyed per element, so a seed reproduces the stream for any parallelism.
"""

import numpy as np
import tensorflow as tf

from tfgan_pipeline.data import images
from tfgan_pipeline.data import paired
from tfgan_pipeline.data import schema

_PEEK_SPEC = {key: schema.IMAGE_FEATURE_SPEC[key]
              for key in (schema.HEIGHT, schema.WIDTH, schema.CHANNELS)}


def _files(file_pattern_or_list):
    files = paired.list_tfrecord_files(file_pattern_or_list)
    return files, paired.tfrecord_compression(files)


def stored_format(file_pattern_or_list):
    """``(height, width, channels)`` of the first record of the files (in sorted order).

    Raises:
      ValueError: if the files hold no records (nothing to read or train on).
    """
    files, compression = _files(file_pattern_or_list)
    for raw in tf.data.TFRecordDataset(files, compression_type=compression).take(1):
        peek = tf.io.parse_single_example(raw, _PEEK_SPEC)
        return tuple(int(peek[k]) for k in (schema.HEIGHT, schema.WIDTH, schema.CHANNELS))
    raise ValueError(f"The TFRecord files {files} hold no records; check the preprocessing's "
                     "stats.json (records_per_split, rejects_per_reason).")


def stored_channels(file_pattern_or_list):
    """The channel count (1 or 3) of the records (see :func:`stored_format`)."""
    return stored_format(file_pattern_or_list)[2]


def _decoder(file_pattern_or_list, image_size):
    """Serialized record -> ``(image float32 [0, 255] of a static shape, label, file_name)``.

    With ``image_size`` the image is resized (bicubic, :func:`images.resize_square`);
    without, every record must have the first record's size (checked per record).
    """
    height, width, channels = stored_format(file_pattern_or_list)

    def decode(serialized):
        parsed = schema.parse_image_example(serialized, channels)
        image = parsed[schema.IMAGE]
        if image_size is not None:
            image = images.resize_square(image, image_size)
        else:
            same_size = tf.debugging.assert_equal(
                tf.shape(image)[:2], tf.constant([height, width]),
                message=f"records of different sizes (the first is {height}x{width}); pass "
                        "image_size= to resize them")
            with tf.control_dependencies([same_size]):
                image = tf.ensure_shape(tf.identity(image), [height, width, channels])
            image = tf.cast(image, tf.float32)
        return image, tf.cast(parsed[schema.LABEL], tf.int32), parsed[schema.FILE_NAME]

    return decode


def _check_image_size(image_size):
    if image_size is not None:
        paired.check_sizes(image_size)


def image_dataset(file_pattern, batch_size, image_size=None, with_labels=False, shuffle=True,
                  seed=0, repeat=True, drop_remainder=True, shuffle_buffer=1000):
    """Batches of single images for latent-GAN training.

    Args:
      file_pattern: TFRecord glob pattern(s) or paths, e.g.
        ``result.file_pattern("train")`` of :func:`run_image_preprocess`.
      batch_size: global batch size.
      image_size: side of a square bicubic resize, or ``None`` for the stored size
        (which every record must then share).
      with_labels: yield ``(images, labels)``, labels int32 ``[batch]`` (``-1`` = none).
      shuffle: shuffle file order and records (buffer ``shuffle_buffer``), reshuffled
        each epoch; ``False`` keeps file order.
      seed: int for a reproducible order, or ``None``.
      repeat: repeat forever; otherwise one pass.
      drop_remainder: drop a last partial batch (static shapes for ``tf.distribute``).
      shuffle_buffer: records in the shuffle buffer.

    Returns:
      A ``tf.data.Dataset`` of float32 ``[batch, H, W, C]`` in ``[-1, 1]`` (and labels).

    Raises:
      ValueError: bad sizes, or files without records.
      FileNotFoundError: nothing matches ``file_pattern``.
    """
    batch_size = images.check_batch_size(batch_size)
    _check_image_size(image_size)
    paired.check_shuffle_buffer(shuffle_buffer)
    decode = _decoder(file_pattern, image_size)
    files, compression = _files(file_pattern)
    if shuffle:
        ds = paired.shuffled_records(files, shuffle_buffer, seed)
    else:
        ds = tf.data.TFRecordDataset(files, compression_type=compression)
    if repeat:
        ds = ds.repeat()

    def load(serialized):
        image, label, _ = decode(serialized)
        image = images.scale_to_unit_range(image)
        return (image, label) if with_labels else image

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def image_eval_dataset(file_pattern, batch_size, image_size=None, with_labels=False,
                       include_file_name=False, drop_remainder=False):
    """Deterministic, finite evaluation batches: file order (sorted paths, then record
    order), one pass, no jitter.

    Returns:
      A ``tf.data.Dataset`` of images float32 ``[batch, H, W, C]`` in ``[-1, 1]``,
      followed by int32 labels if ``with_labels`` and ``tf.string`` file names if
      ``include_file_name`` (a tuple when either is asked, else the images alone).
    """
    batch_size = images.check_batch_size(batch_size)
    _check_image_size(image_size)
    decode = _decoder(file_pattern, image_size)
    files, compression = _files(file_pattern)

    def load(serialized):
        image, label, name = decode(serialized)
        out = (images.scale_to_unit_range(image),)
        out += (label,) if with_labels else ()
        out += (name,) if include_file_name else ()
        return out if len(out) > 1 else out[0]

    ds = tf.data.TFRecordDataset(files, compression_type=compression)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def domain_seeds(seed):
    """Two independent int seeds (domains A and B) derived from ``seed`` (``None``: unseeded).

    ``numpy.random.SeedSequence(seed).spawn(2)``: distinct, well-mixed streams, so
    the two domains never share a shuffle order or a jitter.
    """
    if seed is None:
        return None, None
    children = np.random.SeedSequence(int(seed)).spawn(2)
    return tuple(int(child.generate_state(1)[0]) for child in children)


def _jittered_domain(file_pattern, image_size, load_size, seed, shuffle_buffer):
    """One domain's infinite stream of jittered float32 images in ``[-1, 1]``: resize to
    ``load_size`` (bicubic; ``None``: crop the stored size), then
    :func:`images.random_crop_and_flip` with this element's seed."""
    decode = _decoder(file_pattern, load_size)
    files, _ = _files(file_pattern)
    ds = paired.shuffled_records(files, shuffle_buffer, seed).repeat()
    seeds = tf.data.Dataset.random(seed=seed).batch(2, drop_remainder=True)

    def load(serialized, element_seed):
        image, _, _ = decode(serialized)
        return images.scale_to_unit_range(
            images.random_crop_and_flip(image, element_seed, image_size))

    return tf.data.Dataset.zip((ds, seeds)).map(load, num_parallel_calls=tf.data.AUTOTUNE)


def unpaired_dataset(pattern_a, pattern_b, batch_size, image_size=256, load_size=286, seed=0,
                     shuffle_buffer=1000):
    """CycleGAN training batches ``(a, b)`` from two unpaired domains.

    Each domain is read, repeated, shuffled and jittered on its own, with its own
    seed (:func:`domain_seeds`): resized to ``load_size``, randomly cropped to
    ``image_size`` and randomly mirrored, each image independently (Zhu et al.
    2017, App. 7.1). Domains of different sizes simply repeat at their own pace.

    Args:
      pattern_a: TFRecord pattern(s) of domain A (``result.file_pattern("train", "A")``).
      pattern_b: TFRecord pattern(s) of domain B.
      batch_size: global batch size (1 in the paper); partial batches never occur
        (the streams are infinite) and shapes are static.
      image_size: crop side (256 in the paper).
      load_size: resize side before the crop (286), ``>= image_size``; ``None`` crops
        the stored size (every record must then share it).
      seed: int for reproducible streams, or ``None``.
      shuffle_buffer: records in each domain's shuffle buffer.

    Returns:
      An infinite ``tf.data.Dataset`` of ``(a, b)``, float32
      ``[batch, image_size, image_size, C]`` in ``[-1, 1]``.
    """
    batch_size = images.check_batch_size(batch_size)
    paired.check_sizes(image_size, load_size)
    paired.check_shuffle_buffer(shuffle_buffer)
    seed_a, seed_b = domain_seeds(seed)
    ds = tf.data.Dataset.zip((
        _jittered_domain(pattern_a, image_size, load_size, seed_a, shuffle_buffer),
        _jittered_domain(pattern_b, image_size, load_size, seed_b, shuffle_buffer)))
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _records_by_name(file_pattern):
    files, compression = _files(file_pattern)
    by_name = {}
    for raw in tf.data.TFRecordDataset(files, compression_type=compression):
        name = tf.io.parse_single_example(
            raw, {schema.FILE_NAME: schema.IMAGE_FEATURE_SPEC[schema.FILE_NAME]})
        name = name[schema.FILE_NAME].numpy().decode("utf-8")
        if name in by_name:
            raise ValueError(f"Two records named {name!r} in {file_pattern!r}; partners are "
                             "joined by file name, which must be unique per domain.")
        by_name[name] = raw.numpy()
    return by_name


def paired_test_dataset(pattern_a, pattern_b, batch_size, image_size=None):
    """Held-out ``(a, b, file_name)`` batches: each A record with the B record of its name.

    For ``pix2pix_unpaired`` outputs the ``testA``/``testB`` records of one A|B file
    share its name, so this recovers the true pairs (for paired metrics on an
    unpaired model, Zhu et al. 2017, Sec. 5.1). Sorted by file name, one pass, no
    jitter. Both domains' serialized records are held in memory (test sets are small).

    Args:
      pattern_a: TFRecord pattern(s) of ``testA``.
      pattern_b: TFRecord pattern(s) of ``testB``.
      batch_size: batch size (the last batch may be partial).
      image_size: side of a square bicubic resize, or ``None`` for the stored size.

    Returns:
      A ``tf.data.Dataset`` of ``(a, b, file_name)``: float32 images in ``[-1, 1]``
      and ``tf.string`` names.

    Raises:
      ValueError: if a name is on one side only or twice on one side.
    """
    batch_size = images.check_batch_size(batch_size)
    _check_image_size(image_size)
    a, b = _records_by_name(pattern_a), _records_by_name(pattern_b)
    unmatched = sorted(set(a) ^ set(b))
    if unmatched:
        raise ValueError(f"{len(unmatched)} file names have no partner in the other domain, "
                         f"e.g. {unmatched[:5]}; these are not paired test sets "
                         "(pix2pix_unpaired writes both halves of each held-out file).")
    names = sorted(a)
    decode_a, decode_b = _decoder(pattern_a, image_size), _decoder(pattern_b, image_size)

    def load(raw_a, raw_b, name):
        return (images.scale_to_unit_range(decode_a(raw_a)[0]),
                images.scale_to_unit_range(decode_b(raw_b)[0]), name)

    ds = tf.data.Dataset.from_tensor_slices(
        ([a[n] for n in names], [b[n] for n in names], names))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
