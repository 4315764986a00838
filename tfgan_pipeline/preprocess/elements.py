"""Per-element preprocessing of paired images: plain functions, no Beam.

Implements the data preparation of Isola et al., "Image-to-Image Translation
with Conditional Adversarial Networks" (pix2pix), CVPR 2017, Sec. 4 and Appendix
6.2, and of the reference code's ``AlignedDataset``: a pair is either one image
holding A on its left half and B on its right half, or two same-named files in
folders ``A/`` and ``B/``; each half is resized to the *load size* (286 by
default; the random 256 crop happens later, in :mod:`tfgan_pipeline.data.paired`).

Decoding. Bytes are decoded with Pillow (installed as a dependency of
matplotlib) in the worker process: ``Image.open`` + ``load()`` detects
non-images and truncated files, and its bicubic resize is the one the reference
implementation uses. EXIF orientation is ignored, as in the reference code.

Encoding. Stored halves are PNG (lossless). 8-bit grayscale and RGB images are
written by :func:`encode_png` itself: every row "Up"-filtered with numpy, one zlib
stream deflated by Intel ISA-L (``isal``) at its level 1, which on the maps halves
takes 0.9 ms per half where zlib's level 1 takes 3.4 ms, for 6% more bytes
(Pillow's own encoder, which tries every filter on every row, took 7.2 ms); any PNG
decoder gives back the same pixels. This module needs no TensorFlow (a Beam worker
that imports it pays ~6 CPU s otherwise): records are serialized by
:mod:`tfgan_pipeline.preprocess.tfrecord_io` in the schema of
:mod:`tfgan_pipeline.data.schema`, whose feature names and direction values are
repeated here (:data:`DIRECTIONS`, ``_PAIR_KEYS``) and checked against it by the
tests.

JPEG draft. With ``jpeg_draft=True`` a JPEG source is decoded by libjpeg's DCT
scaling (Pillow's ``Image.draft``) at the smallest of 1/2, 1/4, 1/8 of its size that
still covers the load size and keeps whole pixels on both sides of the A|B seam
(:func:`draft_scale`), and the bicubic resize starts from there. On the maps
pairs (1200x600 -> 2 x 286x286) that halves the decode and resize time, but the
pixels differ from the reference's full-size bicubic resize (mean absolute difference
1.4 of 255, PSNR 42.9 dB on average, 33.3 dB at worst). Which splits take it is the
pipeline's ``jpeg_draft`` mode (:data:`JPEG_DRAFT_MODES`, :func:`jpeg_draft_for`):
``"train"`` (the default) drafts the training split only, so the held-out pairs the
metrics are taken on stay the reference's pixels; trained on the drafted pairs,
pix2pix reaches the same held-out L1 at equal steps (+0.9% at 128 px, -1.5% at 256,
within the seeds' spread; BUILD.md "Performance", eighth pass). ``"all"`` drafts
every split, ``"off"`` none.

Validation. Every input file ends in exactly one place: in a :class:`PairRecord`
or in a :class:`Reject` naming the file and one of :data:`REJECT_REASONS`.
Only 3-channel RGB images are accepted (grayscale, RGBA, palette, CMYK ... are
rejected as ``not_rgb`` rather than silently converted).

Splits. Files in ``train/``, ``val/``, ``test/`` folders keep their folder's split;
files in one flat folder are split by :func:`hash_split`, a stable hash of the
base name, so a file never moves between splits when others are added.
"""

import dataclasses
import hashlib
import io
import json
import struct
import typing
import warnings
import zlib

import numpy as np
from isal import isal_zlib
from PIL import Image
from PIL import UnidentifiedImageError

from tfgan_pipeline.preprocess import tfrecord_io

#: ``tfgan_pipeline.data.schema.DIRECTIONS`` (repeated: that module imports TensorFlow).
DIRECTIONS = ("AtoB", "BtoA")
# ``tfgan_pipeline.data.schema``'s paired feature names, in make_example's order.
_PAIR_KEYS = ("input_image", "target_image", "height", "width", "file_name", "direction")

#: Split names recognised as sub-folders.
SPLITS = ("train", "val", "test")

#: ``pix2pix``: one A|B image per pair; ``ab``: folders ``A/`` and ``B/``.
LAYOUTS = ("pix2pix", "ab")

#: ``folders``: split from ``train/val/test`` sub-folders; ``hash``: by name hash.
SPLIT_MODES = ("folders", "hash")

#: Every reason a file can be rejected for.
REJECT_REASONS = (
    "empty_file",            # zero bytes
    "read_error",            # the file could not be read
    "not_an_image",          # not in any image format Pillow knows
    "corrupt_image",         # recognised format, but decoding failed (e.g. truncated)
    "too_large",             # over Pillow's decompression-bomb pixel limit
    "not_rgb",               # decoded, but not 3-channel RGB (grayscale, RGBA, ...)
    "odd_width",             # pix2pix layout: A|B cannot be split in two equal halves
    "size_mismatch",         # ab layout: A and B differ in size
    "missing_partner",       # ab layout: no same-named file on the other side
    "partner_rejected",      # ab layout: this file is fine, its partner was rejected
    "outside_split_folder",  # a loose file next to train/val/test folders
)

_PNG_COMPRESS_LEVEL = 1

# Leading bytes of common image formats: a file that starts like an image but does
# not decode is "corrupt_image" (e.g. truncated), not "not_an_image".
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM",
                b"II*\x00", b"MM\x00*")


def _looks_like_image(data):
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


@dataclasses.dataclass(frozen=True)
class FileKey:
    """Where a listed file belongs: its split, its side (``"A"``/``"B"``, or ``None``
    for an A|B image) and its base name (the pairing key)."""
    split: str
    side: object
    name: str


@dataclasses.dataclass(frozen=True)
class PairRecord:
    """One accepted pair, ready for :func:`tfgan_pipeline.data.schema.make_example`.

    Attributes:
      split: ``"train"``, ``"val"`` or ``"test"``.
      file_name: base name of the source file.
      input_png: PNG bytes of the generator's input image (after ``direction``).
      target_png: PNG bytes of the target image.
      size: stored ``(height, width)``, i.e. ``(load_size, load_size)``.
      source_size: ``(width, height)`` of the source file (of A for two files).
      direction: ``"AtoB"`` or ``"BtoA"``.
      paths: the source file path(s).
    """
    split: str
    file_name: str
    input_png: bytes
    target_png: bytes
    size: tuple
    source_size: tuple
    direction: str
    paths: tuple

    def to_example_bytes(self):
        """Serialised ``tf.train.Example`` in the shared schema: what
        ``schema.make_example(...).SerializeToString()`` parses to, without TensorFlow."""
        for name in ("input_png", "target_png"):
            if not isinstance(getattr(self, name), bytes):
                raise TypeError(f"{name} must be encoded PNG bytes, got "
                                f"{type(getattr(self, name)).__name__}.")
        if int(self.size[0]) <= 0 or int(self.size[1]) <= 0:
            raise ValueError(f"height and width must be positive, got {self.size}.")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}.")
        values = (tfrecord_io.bytes_feature(self.input_png),
                  tfrecord_io.bytes_feature(self.target_png),
                  tfrecord_io.int64_feature(self.size[0]), tfrecord_io.int64_feature(self.size[1]),
                  tfrecord_io.bytes_feature(str(self.file_name).encode("utf-8")),
                  tfrecord_io.bytes_feature(self.direction.encode("utf-8")))
        return tfrecord_io.encode_example(dict(zip(_PAIR_KEYS, values)))


@dataclasses.dataclass(frozen=True)
class Reject:
    """A file set aside, with the reason (one of :attr:`REASONS`) and details.

    Subclasses (the single-image pipeline's ``ImageReject``) extend :attr:`REASONS`
    and the fields; :meth:`for_key` builds one from a listed file's key.
    """
    REASONS: typing.ClassVar[tuple] = REJECT_REASONS
    path: str
    reason: str
    detail: str = ""
    split: object = None

    def __post_init__(self):
        if self.reason not in self.REASONS:
            raise ValueError(f"Unknown reject reason {self.reason!r}; use one of {self.REASONS}.")

    @classmethod
    def for_key(cls, path, key, reason, detail=""):
        """A reject of the file ``path`` listed under ``key`` (a :class:`FileKey`)."""
        return cls(path, reason, detail, key.split)

    def to_json(self):
        """One JSON line of the fields (``{"path", "reason", "detail", "split"}`` here)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


class Rejection(Exception):
    """Raised inside per-element functions; the caller turns it into a :class:`Reject`."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def hash_fraction(name, part=0):
    """A number in ``[0, 1)`` that depends on ``name`` only: 8 bytes of ``sha1(name)``.

    ``part`` 0 reads bytes 0-7, ``part`` 1 bytes 8-15 (an independent second draw,
    e.g. to assign a file to CycleGAN domain A or B after the held-out draw).
    """
    if part not in (0, 1):
        raise ValueError(f"part must be 0 or 1, got {part!r}.")
    digest = hashlib.sha1(name.encode("utf-8")).digest()
    return int.from_bytes(digest[8 * part:8 * part + 8], "big") / 2.0**64


def hash_split(name, val_fraction):
    """Stable split of a file by its base name: ``"val"`` for a ``val_fraction`` share.

    The first 8 bytes of ``sha1(name)`` read as an integer, divided by ``2**64``,
    give a number ``u`` in ``[0, 1)`` that depends on this name only
    (:func:`hash_fraction`); the file is ``"val"`` when ``u < val_fraction``. Adding
    or removing other files never moves it, and raising ``val_fraction`` only moves
    files from train to val.

    Args:
      name: the file's base name (not its path, so moving the folder is harmless).
      val_fraction: held-out share in ``[0, 1)``.

    Returns:
      ``"train"`` or ``"val"``.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}.")
    return "val" if hash_fraction(name) < val_fraction else "train"


def relative_parts(path, root):
    """Splits ``path`` below ``root`` into its components (``/`` or OS separators)."""
    root = root.rstrip("/\\")
    if not path.startswith(root):
        raise ValueError(f"{path!r} is not under the data folder {root!r}.")
    rel = path[len(root):].replace("\\", "/").strip("/")
    return [p for p in rel.split("/") if p]


def classify_path(path, root, layout, split_mode, val_fraction):
    """Assigns a listed file to a split, a side and a pairing name.

    Args:
      path: the file's full path, under ``root``.
      root: the data folder.
      layout: ``"pix2pix"`` (``[split/]name``) or ``"ab"`` (``A|B/[split/]name``).
      split_mode: ``"folders"`` (split from the folder) or ``"hash"`` (:func:`hash_split`).
      val_fraction: held-out share for ``"hash"``.

    Returns:
      A :class:`FileKey`, or a :class:`Reject` (``outside_split_folder``) for a loose
      file next to split folders.

    Raises:
      ValueError: for a path the listing stage should never have produced.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}.")
    if split_mode not in SPLIT_MODES:
        raise ValueError(f"split_mode must be one of {SPLIT_MODES}, got {split_mode!r}.")
    parts = relative_parts(path, root)
    side = None
    if layout == "ab":
        if not parts or parts[0] not in ("A", "B"):
            raise ValueError(f"{path!r} is not inside the A/ or B/ folder of {root!r}.")
        side, parts = parts[0], parts[1:]
    if split_mode == "hash" and len(parts) == 1:
        return FileKey(hash_split(parts[0], val_fraction), side, parts[0])
    if split_mode == "folders":
        if len(parts) == 2 and parts[0] in SPLITS:
            return FileKey(parts[0], side, parts[1])
        if len(parts) == 1:
            return Reject(path, "outside_split_folder",
                          f"the data folder has split folders {SPLITS}; move this file into one")
    raise ValueError(f"Unexpected file {path!r} for layout={layout!r}, split_mode={split_mode!r}.")


#: ``jpeg_draft`` modes: which splits a JPEG source is decoded at a reduced DCT scale for.
JPEG_DRAFT_MODES = ("off", "train", "all")


def check_jpeg_draft(value):
    """The ``jpeg_draft`` mode ``value`` names; ``True`` / ``False`` (the older boolean
    form) mean ``"all"`` / ``"off"``.

    Raises:
      ValueError: for anything else, naming ``jpeg_draft`` and the modes.
    """
    if isinstance(value, bool):
        return "all" if value else "off"
    if value not in JPEG_DRAFT_MODES:
        raise ValueError(f"jpeg_draft must be one of {JPEG_DRAFT_MODES} (or True/False for "
                         f"'all'/'off'), got {value!r}.")
    return value


def jpeg_draft_for(mode, split):
    """Whether ``split``'s JPEGs are decoded at a reduced DCT scale under ``mode``."""
    return mode == "all" or (mode == "train" and split == "train")


def draft_scale(size, cover, parts=1):
    """The JPEG DCT reduction (8, 4, 2 or 1) for ``jpeg_draft``.

    The largest ``s`` with ``width / s`` and ``height / s`` whole numbers, ``width`` a
    multiple of ``parts * s`` (so each of ``parts`` side-by-side images keeps whole
    pixels: an A|B image has 2) and the reduced image still covering ``cover``
    (``(width, height)``); 1 when none does.
    """
    width, height = size
    for s in (8, 4, 2):
        if (width % (parts * s) == 0 and height % s == 0
                and width // s >= cover[0] and height // s >= cover[1]):
            return s
    return 1


def decode_image(data, draft_cover=None, draft_parts=1):
    """Decodes image bytes into a loaded ``PIL.Image`` of any mode.

    ``image.info["source_size"]`` is the file's ``(width, height)``. With
    ``draft_cover`` (a ``(width, height)``) a JPEG is decoded at the reduction
    :func:`draft_scale` picks (``draft_parts`` side-by-side images), so its ``size``
    can be smaller than the file's (see "JPEG draft" in the module doc). Other
    formats ignore it.

    Raises:
      Rejection: with reason ``empty_file``, ``not_an_image``, ``corrupt_image`` or
        ``too_large``.
    """
    if not data:
        raise Rejection("empty_file", "0 bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            source_size = image.size
            if draft_cover is not None and image.format == "JPEG":
                scale = draft_scale(source_size, draft_cover, draft_parts)
                if scale > 1:
                    image.draft(image.mode, (source_size[0] // scale, source_size[1] // scale))
            image.load()
    except UnidentifiedImageError as e:
        if _looks_like_image(data):
            raise Rejection("corrupt_image", f"image header, but unreadable ({e})") from None
        raise Rejection("not_an_image", f"{len(data)} bytes in no known image format") from None
    except Image.DecompressionBombError as e:
        raise Rejection("too_large", str(e)) from None
    except Exception as e:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError...
        raise Rejection("corrupt_image", f"{type(e).__name__}: {e}") from None
    image.info["source_size"] = source_size
    return image


def decode_rgb(data, draft_cover=None, draft_parts=1):
    """Decodes image bytes into a loaded RGB ``PIL.Image`` (the draft arguments: see
    :func:`decode_image`).

    Raises:
      Rejection: with reason ``empty_file``, ``not_an_image``, ``corrupt_image``,
        ``too_large`` (see :func:`decode_image`) or ``not_rgb``.
    """
    image = decode_image(data, draft_cover, draft_parts)
    if image.mode != "RGB":
        raise Rejection("not_rgb", f"mode {image.mode} ({image.format}); convert it to RGB first")
    return image


def _png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(image):
    """PNG bytes of a ``PIL.Image`` (lossless; see "Encoding" in the module doc).

    8-bit ``L`` and ``RGB`` images: every scanline "Up"-filtered (PNG filter type 2),
    one zlib stream from ISA-L at level 1. Other modes: Pillow's encoder at zlib level 1.
    """
    if image.mode not in ("L", "RGB"):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
        return buffer.getvalue()
    pixels = np.asarray(image, dtype=np.uint8)
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    filtered = np.empty((height, rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = 2  # "Up": each byte minus the one above it (mod 256)
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if image.mode == "RGB" else 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", isal_zlib.compress(filtered, _PNG_COMPRESS_LEVEL))
            + _png_chunk(b"IEND", b""))


def resize_to_png(image, load_size):
    """Bicubic resize to ``load_size x load_size`` and PNG encoding; returns bytes."""
    return encode_png(image.resize((load_size, load_size), Image.Resampling.BICUBIC))


def _check_args(load_size, direction):
    if isinstance(load_size, bool) or not isinstance(load_size, int) or load_size <= 0:
        raise ValueError(f"load_size must be a positive int, got {load_size!r}.")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}.")


def _orient(a_png, b_png, direction):
    return (a_png, b_png) if direction == "AtoB" else (b_png, a_png)


def process_pix2pix_file(path, data, split, load_size, direction, jpeg_draft=False):
    """One A|B image (A = left half, B = right half) -> a :class:`PairRecord` or a :class:`Reject`.

    Args:
      path: the file's path (names it in the record or reject).
      data: the file's bytes.
      split: the split it belongs to.
      load_size: side of the square each half is resized to.
      direction: ``"AtoB"`` (input = left half) or ``"BtoA"`` (input = right half).
      jpeg_draft: decode a JPEG at a reduced DCT scale that still covers both halves
        at ``load_size`` (see "JPEG draft" in the module doc).

    Returns:
      A :class:`PairRecord`, or a :class:`Reject` if the file cannot become a pair.
    """
    _check_args(load_size, direction)
    try:
        image = decode_rgb(data, (2 * load_size, load_size) if jpeg_draft else None, 2)
        width, height = image.info["source_size"]
        if width % 2:
            raise Rejection("odd_width", f"{width}x{height}: A|B images need an even width")
        decoded_width, decoded_height = image.size  # the file's, or a draft's
        half = decoded_width // 2
        a_png = resize_to_png(image.crop((0, 0, half, decoded_height)), load_size)
        b_png = resize_to_png(image.crop((half, 0, decoded_width, decoded_height)), load_size)
    except Rejection as r:
        return Reject(path, r.reason, r.detail, split)
    input_png, target_png = _orient(a_png, b_png, direction)
    return PairRecord(split=split, file_name=basename(path), input_png=input_png,
                      target_png=target_png, size=(load_size, load_size),
                      source_size=(width, height), direction=direction, paths=(path,))


def process_ab_pair(split, name, files, load_size, direction, jpeg_draft=False):
    """Same-named files from ``A/`` and ``B/`` -> one :class:`PairRecord`, or one reject per file.

    Args:
      split: the split of the pair.
      name: the shared base name.
      files: iterable of ``(side, path, data)`` with ``side`` in ``{"A", "B"}``; at most
        one file per side (the listing guarantees it: names are unique in a folder).
      load_size: side of the square each image is resized to.
      direction: ``"AtoB"`` (input = A) or ``"BtoA"`` (input = B).
      jpeg_draft: decode JPEGs at a reduced DCT scale that still covers ``load_size``
        (see "JPEG draft" in the module doc).

    Returns:
      A list holding either one :class:`PairRecord` or one :class:`Reject` for every
      file given (``missing_partner``, ``size_mismatch``, ``partner_rejected`` or the
      file's own decoding reason), so that no file is ever dropped.
    """
    _check_args(load_size, direction)
    by_side = {}
    for side, path, data in files:
        if side not in ("A", "B"):
            raise ValueError(f"side must be 'A' or 'B', got {side!r} for {path!r}.")
        if side in by_side:
            raise ValueError(f"Two {side} files share the name {name!r}: "
                             f"{by_side[side][0]!r} and {path!r}.")
        by_side[side] = (path, data)
    if len(by_side) == 1:
        (side, (path, _)), = by_side.items()
        other = "B" if side == "A" else "A"
        return [Reject(path, "missing_partner", f"no {other}/ file named {name!r}", split)]
    decoded, rejects = {}, {}
    for side, (path, data) in sorted(by_side.items()):
        try:
            decoded[side] = decode_rgb(data, (load_size, load_size) if jpeg_draft else None)
        except Rejection as r:
            rejects[side] = Reject(path, r.reason, r.detail, split)
    path_a, path_b = by_side["A"][0], by_side["B"][0]
    if rejects:
        out = list(rejects.values())
        for side in decoded:
            other = "B" if side == "A" else "A"
            out.append(Reject(by_side[side][0], "partner_rejected",
                              f"{by_side[other][0]} was rejected: {rejects[other].reason}", split))
        return out
    size_a, size_b = decoded["A"].info["source_size"], decoded["B"].info["source_size"]
    if size_a != size_b:
        detail = f"A is {size_a[0]}x{size_a[1]}, B is {size_b[0]}x{size_b[1]}"
        return [Reject(path_a, "size_mismatch", detail, split),
                Reject(path_b, "size_mismatch", detail, split)]
    a_png = resize_to_png(decoded["A"], load_size)
    b_png = resize_to_png(decoded["B"], load_size)
    input_png, target_png = _orient(a_png, b_png, direction)
    return [PairRecord(split=split, file_name=name, input_png=input_png, target_png=target_png,
                       size=(load_size, load_size), source_size=size_a, direction=direction,
                       paths=(path_a, path_b))]


def basename(path):
    """Last component of a local or URL-style path."""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def stat_keys(item):
    """Counter keys contributed by one record or reject (for :func:`build_stats`)."""
    if isinstance(item, PairRecord):
        width, height = item.source_size
        return [("records", item.split), ("source_sizes", f"{width}x{height}")]
    if isinstance(item, Reject):
        return [("rejects", item.reason)]
    raise TypeError(f"Expected a PairRecord or a Reject, got {type(item).__name__}.")


def group_counts(counts, kinds):
    """``{(kind, key): count}`` -> ``{kind: {key: count}}`` for every kind in ``kinds``.

    Raises:
      ValueError: for a kind not in ``kinds``.
    """
    grouped = {kind: {} for kind in kinds}
    for (kind, key), count in counts.items():
        if kind not in grouped:
            raise ValueError(f"Unknown stats key {(kind, key)!r}.")
        grouped[kind][key] = grouped[kind].get(key, 0) + int(count)
    return grouped


def build_stats(counts, static_fields, splits):
    """Turns ``{(kind, key): count}`` into the JSON-ready stats dict.

    Args:
      counts: mapping from :func:`stat_keys` keys (plus ``("files_listed", "")``) to counts.
      static_fields: extra fields copied in (layout, load size, ...).
      splits: every split written, reported even when empty.

    Returns:
      ``{"records_per_split", "total_records", "rejects_per_reason", "rejected_files",
      "files_listed", "source_sizes", **static_fields}``.
    """
    grouped = group_counts(counts, ("records", "rejects", "source_sizes", "files_listed"))
    grouped["records"] = {**{s: 0 for s in splits}, **grouped["records"]}
    files_listed = sum(grouped["files_listed"].values())
    stats = dict(static_fields)
    stats.update({
        "records_per_split": dict(sorted(grouped["records"].items())),
        "total_records": sum(grouped["records"].values()),
        "rejects_per_reason": dict(sorted(grouped["rejects"].items())),
        "rejected_files": sum(grouped["rejects"].values()),
        "files_listed": files_listed,
        "source_sizes": dict(sorted(grouped["source_sizes"].items())),
    })
    return stats
