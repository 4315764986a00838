"""TensorFlow-free writing of ``tf.train.Example`` records into GZIP TFRecord shards.

Why this exists (measured on the 1,096 maps pairs, BUILD.md "Performance"): a Beam
worker process that imports TensorFlow pays ~6 CPU seconds for it before its first
element, which is what kept 2 DirectRunner workers at 1.1x one; and Beam's
``WriteToTFRecord(compression_type=GZIP)`` deflates, at zlib's default level, bytes
that are already PNG (deflated): 4.5 ms per pair for 0.01% smaller files. So the
pairs pipeline's workers build the records with this module, which needs only the
standard library and ``google-crc32c`` (a dependency already, for Beam):

* :func:`encode_example` -- the protobuf wire format of ``tf.train.Example`` with
  ``bytes`` and ``int64`` features (field numbers of ``example.proto`` /
  ``feature.proto``). ``tests/preprocess/test_tfrecord_io.py`` parses it with
  TensorFlow and compares it with :func:`tfgan_pipeline.data.schema.make_example`.
* :func:`frame_record` -- TFRecord framing (length, masked CRC32C of the length, data,
  masked CRC32C of the data), as ``tf.io.TFRecordWriter`` writes it.
* :class:`StoredGzipTFRecordSink` -- a Beam ``FileBasedSink`` writing GZIP files
  whose deflate blocks are *stored* (level 0): still ``.tfrecord.gz`` files that
  ``tf.data.TFRecordDataset(..., compression_type="GZIP")`` reads, at memcpy speed.
"""

import gzip
import struct

from apache_beam.coders import coders
from apache_beam.io import filebasedsink
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
import google_crc32c

_MASK_DELTA = 0xA282EAD8
_UINT64 = (1 << 64) - 1


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field (wire type 2)."""
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def bytes_feature(value):
    """``Feature{bytes_list: BytesList{value: [value]}}`` in wire format."""
    return _field(1, _field(1, bytes(value)))


def int64_feature(value):
    """``Feature{int64_list: Int64List{value: [value]}}`` (packed) in wire format."""
    return _field(3, _field(1, _varint(int(value) & _UINT64)))


def encode_example(features):
    """Serialized ``tf.train.Example`` of ``{key: feature}``.

    Args:
      features: ``{str: bytes}`` whose values come from :func:`bytes_feature` or
        :func:`int64_feature`; written in the given order.
    """
    entries = b"".join(_field(1, _field(1, key.encode("utf-8")) + _field(2, feature))
                       for key, feature in features.items())
    return _field(1, entries)


def _masked_crc(data):
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def frame_record(data):
    """One TFRecord: ``uint64 length, uint32 masked_crc32c(length), data, uint32
    masked_crc32c(data)``, little-endian."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", _masked_crc(length)) + data + struct.pack(
        "<I", _masked_crc(data))


class _GzipHandle:
    """A write-only GZIP stream (stored blocks) over a Beam file handle."""

    def __init__(self, raw):
        self._raw = raw
        self._gzip = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=0, mtime=0)

    def write(self, data):
        self._gzip.write(data)

    def close(self):
        self._gzip.close()
        self._raw.close()


class StoredGzipTFRecordSink(filebasedsink.FileBasedSink):
    """Beam sink of TFRecord files, GZIP with stored (uncompressed) deflate blocks.

    Elements are serialized records (``bytes``). Shard names follow Beam's default
    ``-SSSSS-of-NNNNN`` template, as ``WriteToTFRecord``'s do.
    """

    def __init__(self, file_path_prefix, file_name_suffix=".tfrecord.gz", num_shards=0):
        super().__init__(file_path_prefix, coder=coders.BytesCoder(),
                         file_name_suffix=file_name_suffix, num_shards=num_shards,
                         mime_type="application/octet-stream",
                         compression_type=CompressionTypes.UNCOMPRESSED)

    def open(self, temp_path):
        return _GzipHandle(FileSystems.create(temp_path, self.mime_type,
                                              CompressionTypes.UNCOMPRESSED))

    def write_encoded_record(self, file_handle, encoded_value):
        file_handle.write(frame_record(encoded_value))

    def close(self, file_handle):
        file_handle.close()
