"""MNIST from the original IDX files in a local folder.

Data: LeCun, Cortes, Burges, "The MNIST database of handwritten digits"
(http://yann.lecun.com/exdb/mnist/), whose page defines the IDX format used here:
a big-endian header -- two zero bytes, a type byte (0x08 = unsigned byte), a
byte giving the number of dimensions, then one big-endian uint32 per dimension --
followed by the row-major payload. For MNIST the images' magic number is 2051
(``0x00000803``: uint8, 3 dims ``[N, 28, 28]``) and the labels' is 2049
(``0x00000801``: uint8, 1 dim ``[N]``).

The files may be gzip-compressed (``.gz``, detected from the content, not the
name) or raw. Each split is a pair ``{train,t10k}-images-idx3-ubyte`` /
``{train,t10k}-labels-idx1-ubyte``; the ``images.idx3-ubyte`` spelling of some
mirrors is accepted too. Every problem (bad magic, wrong dims, short or long
payload, image/label count mismatch, labels outside 0-9) raises a ``ValueError``
naming the file; nothing is silently dropped or truncated.

Used by the unconditional / conditional GANs (Goodfellow et al. 2014 Sec. 5;
Mirza & Osindero, "Conditional GANs", 2014) as the small real-image dataset.
"""

import gzip
import os

import numpy as np
import tensorflow as tf

from tfgan_pipeline.data.images import (check_batch_size, normalize_image_size, resize_images,
                                        scale_to_unit_range)

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10

#: split -> file-name prefix in the original distribution.
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}
_GZIP_MAGIC = b"\x1f\x8b"


def _candidates(prefix, kind):
    ndim = 3 if kind == "images" else 1
    stems = [f"{prefix}-{kind}-idx{ndim}-ubyte", f"{prefix}-{kind}.idx{ndim}-ubyte"]
    return [stem + ext for stem in stems for ext in ("", ".gz")]


def _read_bytes(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: corrupt gzip stream ({e}); re-download the file.") from None
    return data


def read_idx(path, expected_magic=None):
    """Reads one unsigned-byte IDX file (gzip or raw) into a uint8 numpy array.

    Args:
      path: file path.
      expected_magic: if given, the required magic number (2051 for MNIST images,
        2049 for labels).

    Returns:
      uint8 array whose shape is the header's dimensions.

    Raises:
      ValueError: naming ``path`` for a short header, an unexpected magic number,
        a non-uint8 type code, or a payload whose length differs from the product
        of the dimensions.
    """
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes is too short for an IDX header.")
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"{path}: bad IDX magic number {magic} (0x{magic:08x}); expected "
            f"{expected_magic} (0x{expected_magic:08x}). Is this the right file (images "
            "files have 2051, label files 2049)?")
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(
            f"{path}: IDX magic 0x{magic:08x} does not describe unsigned-byte data "
            "(expected 0x0000 08 <ndim>).")
    ndim = data[3]
    header_len = 4 + 4 * ndim
    if ndim == 0 or len(data) < header_len:
        raise ValueError(
            f"{path}: IDX header declares {ndim} dimensions but the file has only "
            f"{len(data)} bytes.")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    payload = len(data) - header_len
    if payload != expected:
        problem = "truncated" if payload < expected else "has trailing bytes"
        raise ValueError(
            f"{path}: payload {problem}: header dims {list(dims)} need {expected} bytes, "
            f"found {payload}.")
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims)


def find_mnist_files(folder):
    """Finds the IDX files of every split present in ``folder``.

    Returns:
      ``{split: (images_path, labels_path)}`` for each split (``"train"``,
      ``"test"``) whose images file exists; the raw file is preferred when both
      raw and ``.gz`` exist.

    Raises:
      FileNotFoundError: if ``folder`` is missing, or a split has an images file but
        no labels file (or the reverse).
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"MNIST folder {folder!r} does not exist.")
    found = {}
    for split, prefix in SPLIT_PREFIXES.items():
        paths = {}
        for kind in ("images", "labels"):
            names = _candidates(prefix, kind)
            hits = [n for n in names if os.path.isfile(os.path.join(folder, n))]
            # Prefer raw over .gz: faster and unambiguous.
            hits.sort(key=lambda n: n.endswith(".gz"))
            paths[kind] = (os.path.join(folder, hits[0]) if hits else None, names)
        (images, image_names), (labels, label_names) = paths["images"], paths["labels"]
        if images and labels:
            found[split] = (images, labels)
        elif images or labels:
            have, missing = (images, label_names) if images else (labels, image_names)
            raise FileNotFoundError(
                f"MNIST {split} split in {folder!r} is incomplete: found {have} but none of "
                f"{missing}.")
    return found


def _load_split(images_path, labels_path):
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"{images_path}: expected images of shape [N, 28, 28], header says "
            f"{list(images.shape)}.")
    if labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected labels of shape [N], header says "
                         f"{list(labels.shape)}.")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST count mismatch: {images_path} has {images.shape[0]} images but "
            f"{labels_path} has {labels.shape[0]} labels.")
    if labels.size and labels.max() >= NUM_CLASSES:
        bad = int(np.sum(labels >= NUM_CLASSES))
        raise ValueError(
            f"{labels_path}: {bad} labels are outside 0-{NUM_CLASSES - 1} (max "
            f"{int(labels.max())}).")
    return images, labels.astype(np.int64)


def load_mnist_idx(folder, split="auto"):
    """Loads MNIST images and labels from the IDX files in ``folder``.

    Args:
      folder: directory holding the IDX files (gzip or raw).
      split: ``"train"``, ``"test"``, or ``"auto"`` for every split present,
        concatenated train first.

    Returns:
      ``(images, labels)``: uint8 ``[N, 28, 28]`` and int64 ``[N]``.

    Raises:
      ValueError: for an unknown ``split`` or a malformed file (see :func:`read_idx`).
      FileNotFoundError: if the requested split (or, for ``"auto"``, any split) is
        not in ``folder``.
    """
    if split not in ("auto", *SPLIT_PREFIXES):
        raise ValueError(f"split must be 'auto', 'train' or 'test', got {split!r}.")
    files = find_mnist_files(folder)
    wanted = [s for s in SPLIT_PREFIXES if s in files] if split == "auto" else [split]
    if not wanted or wanted[0] not in files:
        looked_for = [n for s in (SPLIT_PREFIXES if split == "auto" else [split])
                      for n in _candidates(SPLIT_PREFIXES[s], "images")]
        raise FileNotFoundError(
            f"No MNIST {'' if split == 'auto' else split + ' '}IDX files in {folder!r}; "
            f"looked for {looked_for} and the matching labels files.")
    parts = [_load_split(*files[s]) for s in wanted]
    if len(parts) == 1:
        return parts[0]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


def mnist_dataset(folder, batch_size, image_size=28, with_labels=False, shuffle=True,
                  seed=None, repeat=True, split="auto"):
    """A ``tf.data.Dataset`` of MNIST batches scaled to ``[-1, 1]``.

    Args:
      folder: directory of IDX files (see :func:`load_mnist_idx`).
      batch_size: global batch size; the last partial batch is dropped
        (``drop_remainder``) so every batch has a static shape.
      image_size: output height/width (int or pair); 28 keeps the originals,
        anything else resizes bilinearly (e.g. 32 for DCGAN's power-of-two sizes).
      with_labels: yield ``(images, labels)`` with int64 labels ``[B]``.
      shuffle: shuffle the whole split (the buffer holds every example), reshuffled
        each epoch.
      seed: shuffle seed for reproducible order.
      repeat: repeat forever; otherwise one pass.
      split: ``"auto"``, ``"train"`` or ``"test"``.

    Returns:
      Dataset of float32 ``[B, H, W, 1]`` (and int64 ``[B]`` labels).

    Raises:
      ValueError: if ``batch_size`` exceeds the number of examples (nothing would
        ever be yielded).
    """
    batch_size = check_batch_size(batch_size)
    size = normalize_image_size(image_size)
    images, labels = load_mnist_idx(folder, split)
    if batch_size > images.shape[0]:
        raise ValueError(
            f"batch_size {batch_size} exceeds the {images.shape[0]} MNIST examples in "
            f"{folder!r} (split {split!r}); with drop_remainder nothing would be yielded.")
    ds = tf.data.Dataset.from_tensor_slices((images[..., None], labels))
    if shuffle:
        ds = ds.shuffle(images.shape[0], seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=True)

    def preprocess(x, y):
        x = resize_images(scale_to_unit_range(x), size)
        return (x, y) if with_labels else x

    return ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
