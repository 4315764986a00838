"""Per-element preprocessing of single images: plain functions, no Beam.

The ExampleGen data path for the latent GANs and for CycleGAN (Zhu, Park, Isola,
Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017). Four kinds of source, each ending in :class:`ImageRecord`
objects (one image each, in the schema of
:func:`tfgan_pipeline.data.schema.make_image_example`) or :class:`ImageReject`
objects naming the input and one of :data:`IMAGE_REJECT_REASONS`:

* **MNIST IDX files** (LeCun, Cortes, Burges, "The MNIST database"; format in
  :mod:`tfgan_pipeline.data.mnist`): :func:`read_idx_examples` yields each image with
  its label and the id ``<prefix>-<index>`` (``t10k-00042``); a file set that is not
  valid IDX is one ``invalid_idx`` reject; :func:`process_array` checks each image.
* **TFDS image datasets**: decoded ``uint8`` arrays, also through :func:`process_array`.
* **CycleGAN domains** in the published layout (Zhu et al. Sec. 5 and the
  authors' datasets: ``trainA/ trainB/ testA/ testB/``, domains of different sizes,
  no pairing): :func:`classify_domain_path` and :func:`process_image_file`.
* **pix2pix A|B files used as unpaired data** (Isola et al., "Image-to-Image
  Translation with Conditional Adversarial Networks", CVPR 2017, datasets of Sec. 4;
  CycleGAN evaluates maps <-> aerial photos with ground-truth pairs, Sec. 5.1.1):
  :func:`unpaired_assignment` puts each file, by a stable hash of its name, into the
  held-out set (both halves kept, as ``testA``/``testB`` with the same file name, so
  the true partner is recoverable for paired metrics) or into *one* of two disjoint
  training sets: the A (left) half of one set is train domain A, the B (right) half
  of the other set is train domain B. No training image has its partner in the
  other domain -- stricter than the paper, which used every map and every photo.
  :func:`process_unpaired_file` cuts the halves.

Channels. Only 1-channel (``L``) and 3-channel (``RGB``) images are accepted; RGBA,
palette, CMYK, 16-bit ... are rejected as ``wrong_channels``, never silently
converted. The wanted channel count is the source's (MNIST 1, photos and pix2pix
data 3, a TFDS dataset's image feature) unless the config asks for 1 or 3: then L
and RGB are converted to it (Pillow's ITU-R 601-2 luma for RGB -> L); without that
request an image with the other count is rejected (``wrong_channels``).

Size. ``image_size`` set: a bicubic resize to a square (Pillow, as the reference
CycleGAN/pix2pix code); unset: the native size is kept (the readers in
:mod:`tfgan_pipeline.data.single` resize or jitter later). Stored images are PNG.

Splits. Sources without a split (IDX, one TFDS split) are divided by
:func:`holdout_split` into ``train`` and ``eval`` by a stable hash of the example's
id; domain sources keep their ``train``/``test`` folders (or TFDS splits).
"""

import dataclasses
import re
import typing

import numpy as np
from PIL import Image

from tfgan_pipeline.data import mnist
from tfgan_pipeline.data import schema
from tfgan_pipeline.preprocess import elements

#: ``idx``: MNIST IDX files; ``tfds``: a TFDS dataset; ``domains``: trainA/ trainB/
#: testA/ testB/ folders; ``pix2pix_unpaired``: a flat folder of pix2pix A|B files.
IMAGE_LAYOUTS = ("idx", "tfds", "domains", "pix2pix_unpaired")

#: Every reason an input (file, example, IDX file set) can be rejected for.
IMAGE_REJECT_REASONS = (
    "empty_file",            # zero bytes
    "read_error",            # the file could not be read
    "not_an_image",          # no known image format / an array that is no image
    "corrupt_image",         # recognised format, but decoding failed (e.g. truncated)
    "too_large",             # over Pillow's decompression-bomb pixel limit
    "wrong_channels",        # not L/RGB, or (channels not requested) not the source's count
    "unsupported_dtype",     # array sources: not uint8
    "odd_width",             # pix2pix_unpaired: A|B cannot be split in two equal halves
    "label_out_of_range",    # IDX/TFDS label outside [0, num_classes)
    "invalid_idx",           # an IDX file set that is not valid IDX (magic, dims, counts)
    "outside_split_folder",  # domains: a loose file next to trainA/ trainB/ ...
)

#: The published CycleGAN folders: ``{folder: (split, domain)}``.
DOMAIN_FOLDERS = {f"{split}{domain}": (split, domain)
                  for split in ("train", "test") for domain in schema.DOMAINS}
_DOMAIN_SPLIT = re.compile(r"^(train|test)([AB])$")

_MODE_CHANNELS = {"L": 1, "RGB": 3}
_CHANNEL_MODES = {1: "L", 3: "RGB"}


def output_folder(split, domain=None):
    """Output folder of a split and domain: ``"train"``, ``"eval"``; ``"trainA"``, ``"testB"``."""
    return f"{split}{domain or ''}"


def domain_split(name):
    """``(split, domain)`` for a CycleGAN folder or TFDS split name (``"trainA"``), else ``None``."""
    match = _DOMAIN_SPLIT.match(name)
    return (match.group(1), match.group(2)) if match else None


@dataclasses.dataclass(frozen=True)
class ImageFormat:
    """How accepted images are stored.

    Attributes:
      image_size: side of the square bicubic resize, or ``None`` (native size).
      channels: stored channel count, 1 or 3.
      convert: convert L <-> RGB to ``channels`` (the config asked for a count);
        otherwise an image with the other count is rejected.
    """
    image_size: object = None
    channels: int = 3
    convert: bool = False

    def __post_init__(self):
        if self.image_size is not None:
            if isinstance(self.image_size, bool) or not isinstance(self.image_size, int) \
                    or self.image_size < 1:
                raise ValueError(f"image_size must be None or an int >= 1, got {self.image_size!r}.")
        if self.channels not in schema.IMAGE_CHANNELS:
            raise ValueError(f"channels must be one of {schema.IMAGE_CHANNELS}, "
                             f"got {self.channels!r}.")


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One accepted image, ready for :func:`tfgan_pipeline.data.schema.make_image_example`.

    Attributes:
      split: ``"train"``, ``"eval"`` or ``"test"``.
      domain: ``"A"``, ``"B"`` or ``None``.
      file_name: base name of the source file, or the example's id.
      image_png: PNG bytes.
      size: stored ``(height, width)``.
      channels: stored channel count.
      label: class label, or :data:`schema.NO_LABEL`.
      source_size: ``(width, height)`` of the source image (of the half, for A|B files).
      path: where it came from (file path, ``<IDX file>[<index>]``, ``tfds:<name>/<split>[i]``).
    """
    split: str
    domain: object
    file_name: str
    image_png: bytes
    size: tuple
    channels: int
    label: int
    source_size: tuple
    path: str

    @property
    def folder(self):
        """The output folder (:func:`output_folder`)."""
        return output_folder(self.split, self.domain)

    def to_example_bytes(self):
        """Serialised ``tf.train.Example`` in the shared single-image schema."""
        return schema.make_image_example(
            self.image_png, self.size[0], self.size[1], self.channels, self.label, self.domain,
            self.file_name).SerializeToString()


@dataclasses.dataclass(frozen=True)
class ImageReject(elements.Reject):
    """An input set aside: path, reason (one of :data:`IMAGE_REJECT_REASONS`), detail,
    split and domain (where known)."""
    REASONS: typing.ClassVar[tuple] = IMAGE_REJECT_REASONS
    domain: object = None

    @classmethod
    def for_key(cls, path, key, reason, detail=""):
        """A reject of the file ``path`` listed under ``key`` (its ``side`` is the domain)."""
        return cls(path, reason, detail, key.split, key.side)


@dataclasses.dataclass(frozen=True)
class ExampleRef:
    """Where one array example (IDX image, TFDS example) came from.

    Attributes:
      name: its id, the hash key of the train/eval split and the stored file name.
      path: the source, for records and rejects.
      split: its split, or ``None`` to split by :func:`holdout_split`.
      domain: ``"A"``, ``"B"`` or ``None``.
    """
    name: str
    path: str
    split: object = None
    domain: object = None


# ---------------------------------------------------------------------------- splits


def holdout_split(name, eval_fraction):
    """``"eval"`` for a stable ``eval_fraction`` share of ids, else ``"train"``.

    Uses :func:`elements.hash_fraction` (the first 8 bytes of ``sha1(name)``), the
    rule of the paired pipeline's flat-folder split.
    """
    if not 0.0 <= eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be in [0, 1), got {eval_fraction!r}.")
    return "eval" if elements.hash_fraction(name) < eval_fraction else "train"


def unpaired_assignment(name, test_fraction):
    """Where a pix2pix A|B file goes when used as unpaired data.

    ``u0`` = :func:`elements.hash_fraction` ``(name, 0)`` (the same draw as the paired
    pipeline's held-out split, so at equal fractions the same files are held out)
    and ``u1`` = ``hash_fraction(name, 1)``, an independent draw:

    * ``u0 < test_fraction``: ``("test", None)``, both halves kept;
    * else ``u1 < 0.5``: ``("train", "A")``, only the A (left) half;
    * else ``("train", "B")``, only the B (right) half.

    Raising ``test_fraction`` only moves files from training to test, never
    between A and B.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"unpaired_test_fraction must be in [0, 1), got {test_fraction!r}.")
    if elements.hash_fraction(name, 0) < test_fraction:
        return "test", None
    return "train", ("A" if elements.hash_fraction(name, 1) < 0.5 else "B")


def classify_domain_path(path, root):
    """Assigns a file listed in a CycleGAN domain folder to its split and domain.

    Args:
      path: the file's full path, under ``root``.
      root: the folder holding ``trainA/ trainB/ testA/ testB/``.

    Returns:
      An :class:`elements.FileKey` (``side`` is the domain), or an
      :class:`ImageReject` (``outside_split_folder``) for a loose file in ``root``.

    Raises:
      ValueError: for a path the listing stage should never have produced.
    """
    parts = elements.relative_parts(path, root)
    if len(parts) == 2 and parts[0] in DOMAIN_FOLDERS:
        split, domain = DOMAIN_FOLDERS[parts[0]]
        return elements.FileKey(split, domain, parts[1])
    if len(parts) == 1:
        return ImageReject(path, "outside_split_folder",
                           f"a loose file next to the domain folders {sorted(DOMAIN_FOLDERS)}; "
                           "move it into one")
    raise ValueError(f"Unexpected file {path!r} in the domain folders of {root!r}.")


def classify_unpaired_path(path, root, test_fraction):
    """An A|B file in the flat folder ``root`` -> :class:`elements.FileKey` of
    :func:`unpaired_assignment` (``side`` ``None``: both halves, held out)."""
    parts = elements.relative_parts(path, root)
    if len(parts) != 1:
        raise ValueError(f"Unexpected file {path!r}: pix2pix_unpaired reads the flat folder "
                         f"{root!r} only.")
    split, side = unpaired_assignment(parts[0], test_fraction)
    return elements.FileKey(split, side, parts[0])


# ---------------------------------------------------------------------------- images


def _check_mode(image, fmt):
    """Validates (and, when asked, converts) an image's channels; returns an L/RGB image."""
    have = _MODE_CHANNELS.get(image.mode)
    if have is None:
        raise elements.Rejection(
            "wrong_channels", f"mode {image.mode} ({image.format or 'array'}); only "
            "1-channel L and 3-channel RGB images are accepted")
    if have != fmt.channels:
        if not fmt.convert:
            raise elements.Rejection(
                "wrong_channels", f"{have} channel(s) (mode {image.mode}) where this source "
                f"has {fmt.channels}; pass channels={fmt.channels} to convert such images")
        image = image.convert(_CHANNEL_MODES[fmt.channels])
    return image


def _to_record(image, fmt, split, domain, file_name, label, path):
    """Resizes (if asked) and encodes a checked L/RGB image into an :class:`ImageRecord`."""
    source_size = image.size
    if fmt.image_size is not None and image.size != (fmt.image_size, fmt.image_size):
        image = image.resize((fmt.image_size, fmt.image_size), Image.Resampling.BICUBIC)
    width, height = image.size
    return ImageRecord(split=split, domain=domain, file_name=file_name,
                       image_png=elements.encode_png(image), size=(height, width),
                       channels=fmt.channels, label=int(label), source_size=source_size,
                       path=path)


def process_image_file(path, data, split, domain, fmt):
    """One image file of a domain folder -> an :class:`ImageRecord` or an :class:`ImageReject`.

    Args:
      path: the file's path.
      data: its bytes.
      split: ``"train"`` or ``"test"``.
      domain: ``"A"`` or ``"B"``.
      fmt: an :class:`ImageFormat`.
    """
    try:
        image = _check_mode(elements.decode_image(data), fmt)
    except elements.Rejection as r:
        return ImageReject(path, r.reason, r.detail, split, domain)
    return _to_record(image, fmt, split, domain, elements.basename(path), schema.NO_LABEL, path)


def process_unpaired_file(path, data, split, side, fmt):
    """One pix2pix A|B file used as unpaired data -> its records, or one reject.

    Args:
      path: the file's path.
      data: its bytes.
      split: ``"train"`` or ``"test"`` (from :func:`unpaired_assignment`).
      side: ``"A"`` (keep the left half), ``"B"`` (the right half) or ``None`` (both:
        the held-out pair, as domain A and domain B records with the same file name).
      fmt: an :class:`ImageFormat`.

    Returns:
      A list: one record (training), two records A then B (held out), or one
      :class:`ImageReject` (the file's decoding reason, ``wrong_channels`` or
      ``odd_width``), so the file is never dropped.
    """
    if side not in ("A", "B", None):
        raise ValueError(f"side must be 'A', 'B' or None, got {side!r} for {path!r}.")
    try:
        image = _check_mode(elements.decode_image(data), fmt)
        width, height = image.size
        if width % 2:
            raise elements.Rejection("odd_width",
                                     f"{width}x{height}: A|B images need an even width")
    except elements.Rejection as r:
        return [ImageReject(path, r.reason, r.detail, split, side)]
    half = width // 2
    boxes = {"A": (0, 0, half, height), "B": (half, 0, width, height)}
    name = elements.basename(path)
    return [_to_record(image.crop(boxes[d]), fmt, split, d, name, schema.NO_LABEL, path)
            for d in ((side,) if side else schema.DOMAINS)]


def _array_image(array):
    """A ``uint8`` array ``[H, W]``, ``[H, W, 1]`` or ``[H, W, 3]`` -> ``PIL.Image``."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise elements.Rejection("unsupported_dtype",
                                 f"dtype {array.dtype}; only uint8 images are accepted")
    if array.ndim not in (2, 3) or 0 in array.shape[:2]:
        raise elements.Rejection("not_an_image",
                                 f"array of shape {list(array.shape)} is no [H, W(, C)] image")
    if array.ndim == 3:
        if array.shape[2] not in schema.IMAGE_CHANNELS:
            raise elements.Rejection(
                "wrong_channels", f"{array.shape[2]} channels (shape {list(array.shape)}); "
                "only 1-channel and 3-channel images are accepted")
        if array.shape[2] == 1:
            array = array[..., 0]
    return Image.fromarray(np.ascontiguousarray(array))


def process_array(ref, array, label, fmt, eval_fraction, num_classes=None):
    """One decoded example (IDX image, TFDS example) -> an :class:`ImageRecord` or a reject.

    Args:
      ref: its :class:`ExampleRef`.
      array: the image, ``uint8`` ``[H, W]`` or ``[H, W, C]``.
      label: its class label; ``None`` or -1 (TFDS' "unlabelled") for none.
      fmt: an :class:`ImageFormat`.
      eval_fraction: held-out share for :func:`holdout_split` when ``ref.split`` is ``None``.
      num_classes: labels must lie in ``[0, num_classes)`` (``None``: not checked).
    """
    split = ref.split or holdout_split(ref.name, eval_fraction)
    label = schema.NO_LABEL if label is None else int(label)
    try:
        if label < schema.NO_LABEL or (num_classes is not None and label >= num_classes):
            top = f"{num_classes - 1}" if num_classes is not None else "..."
            raise elements.Rejection("label_out_of_range",
                                     f"label {label} is outside 0-{top} (or -1 for none)")
        image = _check_mode(_array_image(array), fmt)
    except elements.Rejection as r:
        return ImageReject(ref.path, r.reason, r.detail, split, ref.domain)
    return _to_record(image, fmt, split, ref.domain, ref.name, label, ref.path)


def read_idx_examples(prefix, images_path, labels_path):
    """Yields the images of one MNIST IDX file set, or one reject for a bad set.

    Args:
      prefix: the set's file prefix (``"train"``, ``"t10k"``): ids are
        ``<prefix>-<index:05d>``.
      images_path: the images file (gzip or raw; magic 2051, ``[N, H, W]``).
      labels_path: the labels file (magic 2049, ``[N]``).

    Yields:
      ``(ExampleRef, image uint8 [H, W], label int)`` per image; or a single
      :class:`ImageReject` (``invalid_idx`` for bad magic, dims, truncation or an
      image/label count mismatch; ``read_error`` if a file cannot be read) naming
      ``images_path``, when the set cannot be read as a whole. Labels are checked
      later, per image (:func:`process_array`).
    """
    try:
        images = mnist.read_idx(images_path, mnist.IMAGES_MAGIC)
        labels = mnist.read_idx(labels_path, mnist.LABELS_MAGIC)
        if images.ndim != 3 or labels.ndim != 1:
            raise ValueError(f"expected images [N, H, W] and labels [N], the headers say "
                             f"{list(images.shape)} and {list(labels.shape)}")
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels in "
                             f"{labels_path}")
    except ValueError as e:
        yield ImageReject(images_path, "invalid_idx", str(e))
        return
    except OSError as e:
        yield ImageReject(images_path, "read_error", f"{type(e).__name__}: {e}")
        return
    for i, (image, label) in enumerate(zip(images, labels)):
        yield ExampleRef(f"{prefix}-{i:05d}", f"{images_path}[{i}]"), image, int(label)


# ---------------------------------------------------------------------------- stats


def stat_keys(item):
    """Counter keys contributed by one record or reject (for :func:`build_stats`)."""
    if isinstance(item, ImageRecord):
        width, height = item.source_size
        keys = [("records", item.split), ("source_sizes", f"{width}x{height}")]
        if item.domain:
            keys.append(("domains", (item.domain, item.split)))
        if item.label != schema.NO_LABEL:
            keys.append(("labels", (item.split, item.label)))
        return keys
    if isinstance(item, ImageReject):
        return [("rejects", item.reason)]
    raise TypeError(f"Expected an ImageRecord or an ImageReject, got {type(item).__name__}.")


def build_stats(counts, static_fields, folders):
    """Turns ``{(kind, key): count}`` into the JSON-ready stats dict.

    Args:
      counts: mapping from :func:`stat_keys` keys (plus ``("inputs", "")``, one per
        input read: file, example, or an IDX set rejected whole) to counts.
      static_fields: extra fields copied in (layout, image size, ...).
      folders: every output folder written (``"train"``, ``"trainA"`` ...), reported
        even when empty.

    Returns:
      ``{"records_per_split", "records_per_domain": {domain: {split: n}},
      "label_counts": {split: {label: n}}, "total_records", "rejects_per_reason",
      "rejected_inputs", "inputs", "source_sizes", "folders", **static_fields}``.
    """
    grouped = elements.group_counts(
        counts, ("records", "domains", "labels", "rejects", "source_sizes", "inputs"))
    per_split, per_domain = {}, {}
    for folder in folders:
        split, domain = domain_split(folder) or (folder, None)
        per_split.setdefault(split, 0)
        if domain:
            per_domain.setdefault(domain, {})[split] = 0
    for split, n in grouped["records"].items():
        per_split[split] = per_split.get(split, 0) + n
    for (domain, split), n in grouped["domains"].items():
        per_domain.setdefault(domain, {})[split] = n
    labels = {}
    for (split, label), n in grouped["labels"].items():
        labels.setdefault(split, {})[str(label)] = n
    stats = dict(static_fields)
    stats.update({
        "folders": list(folders),
        "records_per_split": dict(sorted(per_split.items())),
        "records_per_domain": {d: dict(sorted(s.items())) for d, s in sorted(per_domain.items())},
        "label_counts": {s: dict(sorted(c.items(), key=lambda kv: int(kv[0])))
                         for s, c in sorted(labels.items())},
        "total_records": sum(grouped["records"].values()),
        "rejects_per_reason": dict(sorted(grouped["rejects"].items())),
        "rejected_inputs": sum(grouped["rejects"].values()),
        "inputs": sum(grouped["inputs"].values()),
        "source_sizes": dict(sorted(grouped["source_sizes"].items())),
    })
    return stats
