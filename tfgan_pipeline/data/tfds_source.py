"""Any image dataset from TensorFlow Datasets, by name, as GAN-ready batches.

The images of ``tfds.load(name, split)`` are taken from one feature (``"image"``
by default), scaled from ``[0, dtype max]`` to float32 ``[-1, 1]`` (the tanh range
of DCGAN generators, Radford et al., ICLR 2016, Sec. 4), optionally resized, and
batched with ``drop_remainder``; the channel count is kept (1 for MNIST, 3 for
CIFAR-10). The ``"label"`` feature comes along on request, for conditional GANs
(Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014).

``download`` is off by default: the data must already be prepared under
``data_dir`` (``tfds build NAME --data_dir=...`` on a machine with network).
Offline, a download would hang, so a missing dataset raises a
``FileNotFoundError`` that says how to prepare it instead.

The command lines name a TFDS dataset as ``"tfds:NAME"`` or ``"tfds:NAME:SPLIT"``;
:func:`parse_tfds_spec` reads that form.
"""

import re
import typing

import tensorflow as tf

from tfgan_pipeline.data.images import (check_batch_size, normalize_image_size, resize_images,
                                        scale_to_unit_range)

TFDS_PREFIX = "tfds:"
_VERSION = re.compile(r"^(\d+|\*)\.(\d+|\*)\.(\d+|\*)$")


class TfdsSpec(typing.NamedTuple):
    """A parsed ``"tfds:NAME[:SPLIT]"`` spec: ``name`` (as ``tfds.load`` takes it) and ``split``."""

    name: str
    split: str


def is_tfds_spec(spec):
    """True if ``spec`` is a string starting with ``"tfds:"``."""
    return isinstance(spec, str) and spec.startswith(TFDS_PREFIX)


def parse_tfds_spec(spec, default_split="train"):
    """Parses ``"tfds:NAME"`` / ``"tfds:NAME:SPLIT"`` into a :class:`TfdsSpec`.

    ``NAME`` may carry a config and a version as TFDS spells them
    (``"celeb_a/align"``, ``"mnist:3.0.1"``): a version right after the name is kept
    in the name, so ``"tfds:mnist:3.0.1:test"`` is ``("mnist:3.0.1", "test")``.
    Everything after that is the split, verbatim, so TFDS slicing works:
    ``"tfds:cifar10:train[:90%]"`` is ``("cifar10", "train[:90%]")``.

    Raises:
      ValueError: if ``spec`` does not start with ``"tfds:"`` or names no dataset
        or an empty split.
    """
    if not is_tfds_spec(spec):
        raise ValueError(
            f"Not a TFDS dataset spec: {spec!r}. Write 'tfds:NAME' or 'tfds:NAME:SPLIT', "
            "e.g. 'tfds:cifar10' or 'tfds:mnist:test'.")
    rest = spec[len(TFDS_PREFIX):]
    parts = rest.split(":", 1)
    name = parts[0].strip()
    tail = parts[1] if len(parts) > 1 else None
    if tail is not None:
        maybe_version, separator, after = tail.partition(":")
        if _VERSION.match(maybe_version):
            name = f"{name}:{maybe_version}"
            tail = after if separator else None
    if not name:
        raise ValueError(f"TFDS spec {spec!r} names no dataset; write e.g. 'tfds:cifar10'.")
    if tail is not None and not tail.strip():
        raise ValueError(
            f"TFDS spec {spec!r} has an empty split after ':'; drop the ':' for the "
            f"default split {default_split!r} or name one, e.g. 'tfds:{name}:test'.")
    return TfdsSpec(name, tail.strip() if tail is not None else default_split)


def _image_max(dtype, name, key):
    if dtype.is_integer:
        return float(dtype.max)
    raise TypeError(
        f"TFDS dataset {name!r}: feature {key!r} has dtype {dtype.name}; only integer "
        "images (uint8, uint16) can be scaled to [-1, 1]. Pick another image_key.")


def load_tfds(name, split, data_dir=None, download=False, shuffle_files=False, seed=None):
    """``tfds.load(name, split=split, with_info=True, ...)`` -> ``(dataset, info)``.

    Raises:
      FileNotFoundError: the dataset is not prepared under ``data_dir`` and
        ``download`` is False; the message says how to prepare it.
    """
    import tensorflow_datasets as tfds  # heavy import; only paid when TFDS is used

    try:
        return tfds.load(
            name, split=split, data_dir=data_dir, download=download, with_info=True,
            shuffle_files=bool(shuffle_files), read_config=tfds.ReadConfig(shuffle_seed=seed))
    except AssertionError as e:  # TFDS' "could not find data" when not prepared
        raise FileNotFoundError(
            f"TFDS dataset {name!r} is not prepared in data_dir={data_dir!r} ({e}). "
            f"Prepare it on a machine with network (`tfds build {name.split(':')[0]} "
            "--data_dir=DIR`) and pass data_dir=DIR, or pass download=True.") from None


def tfds_dataset(name, batch_size, split="train", image_size=None, data_dir=None,
                 with_labels=False, shuffle=True, seed=None, repeat=True, image_key="image",
                 label_key="label", shuffle_buffer=10_000, download=False):
    """Loads ``name`` with ``tfds.load`` and yields float32 ``[B, H, W, C]`` in ``[-1, 1]``.

    Args:
      name: TFDS name, optionally with config/version (``"cifar10"``,
        ``"mnist:3.0.1"``); see :func:`parse_tfds_spec` for the CLI form.
      batch_size: global batch size; partial batches are dropped.
      split: TFDS split string (``"train"``, ``"test"``, ``"train[:90%]"``...).
      image_size: ``None`` to keep the stored size (which must then be fixed), an
        int for square outputs or ``(height, width)``. Resizing is bilinear with
        anti-aliasing, per example, so datasets of varying sizes work.
      data_dir: TFDS data directory (``None``: TFDS' default, ``~/tensorflow_datasets``).
      with_labels: also yield int64 labels ``[B]`` from ``label_key``.
      shuffle: shuffle file order and examples (buffer ``shuffle_buffer``).
      seed: seed for both shuffles.
      repeat: repeat forever; otherwise one pass.
      image_key: feature holding the image.
      label_key: feature holding the label.
      shuffle_buffer: examples in the shuffle buffer.
      download: let TFDS download and prepare the data (needs network).

    Returns:
      ``tf.data.Dataset`` of images, or of ``(images, labels)`` pairs.

    Raises:
      ValueError: unknown dataset, a missing ``image_key``/``label_key`` (the message
        lists the dataset's features), or a variable stored size with
        ``image_size=None``.
      FileNotFoundError: the dataset is not prepared under ``data_dir`` and
        ``download`` is False.
    """
    batch_size = check_batch_size(batch_size)
    size = normalize_image_size(image_size)
    ds, info = load_tfds(name, split, data_dir=data_dir, download=download, shuffle_files=shuffle,
                         seed=seed)

    features = dict(info.features)
    wanted = [image_key] + ([label_key] if with_labels else [])
    for key in wanted:
        if key not in features:
            raise ValueError(
                f"TFDS dataset {name!r} has no feature {key!r}; its features are "
                f"{sorted(features)}. Pass image_key=/label_key= to pick others.")
    image_spec = ds.element_spec[image_key]
    if image_spec.shape.rank != 3:
        raise ValueError(
            f"TFDS dataset {name!r}: feature {image_key!r} has shape {image_spec.shape}; "
            "expected one image [H, W, C] per example.")
    if size is None and not image_spec.shape[:2].is_fully_defined():
        raise ValueError(
            f"TFDS dataset {name!r} stores images of varying size {image_spec.shape}; "
            "pass image_size= so they can be batched.")
    max_value = _image_max(image_spec.dtype, name, image_key)

    if shuffle:
        ds = ds.shuffle(int(shuffle_buffer), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()

    def preprocess(example):
        image = scale_to_unit_range(example[image_key], max_value)
        if size is not None:
            image = resize_images(image, size)
        if with_labels:
            return image, tf.cast(example[label_key], tf.int64)
        return image

    ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def tfds_dataset_from_spec(spec, batch_size, **kwargs):
    """:func:`tfds_dataset` for a CLI spec ``"tfds:NAME[:SPLIT]"``; ``kwargs`` as there."""
    parsed = parse_tfds_spec(spec, default_split=kwargs.pop("split", "train"))
    return tfds_dataset(parsed.name, batch_size, split=parsed.split, **kwargs)
