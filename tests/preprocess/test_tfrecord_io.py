"""TF-free records: Example wire format, TFRecord framing, stored-GZIP shards, fast PNG,
and the pairs pipeline's worker modules importing without TensorFlow."""

import gzip
import io
import subprocess
import sys

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_pipeline.data import schema
from tfgan_pipeline.preprocess import elements, tfrecord_io


def _record(**overrides):
    fields = dict(split="train", file_name="12_a.jpg", input_png=b"\x89PNG-in",
                  target_png=b"\x00\xffbytes", size=(286, 300), source_size=(1200, 600),
                  direction="BtoA", paths=("x",))
    fields.update(overrides)
    return elements.PairRecord(**fields)


def test_constants_repeated_from_the_schema_match_it():
    assert elements.DIRECTIONS == schema.DIRECTIONS
    assert elements._PAIR_KEYS == tuple(schema.FEATURE_SPEC)


@pytest.mark.parametrize("name", ["12_a.jpg", "ünïcode name.png", ""])
def test_pair_example_parses_to_the_schemas_example(name):
    record = _record(file_name=name, input_png=bytes(range(256)) * 700)
    ours = tf.train.Example.FromString(record.to_example_bytes())
    theirs = schema.make_example(record.input_png, record.target_png, 286, 300, name, "BtoA")
    assert ours == theirs
    parsed = tf.io.parse_single_example(record.to_example_bytes(), schema.FEATURE_SPEC)
    assert int(parsed["height"]) == 286 and int(parsed["width"]) == 300
    assert parsed["file_name"].numpy().decode() == name


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2 ** 40, -1, -(2 ** 63)])
def test_int64_features_round_trip(value):
    data = tfrecord_io.encode_example({"v": tfrecord_io.int64_feature(value)})
    assert tf.train.Example.FromString(data).features.feature["v"].int64_list.value == [value]


def test_pair_record_checks_what_make_example_checks():
    with pytest.raises(ValueError, match="direction"):
        _record(direction="AB").to_example_bytes()
    with pytest.raises(ValueError, match="positive"):
        _record(size=(0, 4)).to_example_bytes()
    with pytest.raises(TypeError, match="input_png"):
        _record(input_png="text").to_example_bytes()


def test_framed_records_read_back_with_tensorflow(tmp_path):
    payloads = [b"", b"a", bytes(range(256)) * 1000]
    path = tmp_path / "x.tfrecord"
    path.write_bytes(b"".join(tfrecord_io.frame_record(p) for p in payloads))
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(path))] == payloads


def test_stored_gzip_sink_writes_readable_shards(tmp_path):
    payloads = [f"record {i}".encode() * (i + 1) for i in range(7)]
    prefix = str(tmp_path / "part")
    with beam.Pipeline(runner="DirectRunner") as p:
        _ = (p | beam.Create(payloads)
             | beam.io.Write(tfrecord_io.StoredGzipTFRecordSink(prefix, num_shards=2)))
    files = sorted(str(f) for f in tmp_path.glob("part-*.tfrecord.gz"))
    assert [f.rsplit("/", 1)[1] for f in files] == ["part-00000-of-00002.tfrecord.gz",
                                                    "part-00001-of-00002.tfrecord.gz"]
    read = [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]
    assert sorted(read) == sorted(payloads)
    with open(files[0], "rb") as f:
        assert gzip.GzipFile(fileobj=f).read()  # a plain GZIP file too


@pytest.mark.parametrize("mode, shape", [("RGB", (37, 53, 3)), ("L", (29, 31)), ("RGB", (1, 1, 3))])
def test_png_encoder_is_lossless_for_pillow_and_tensorflow(mode, shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    pixels[..., : shape[1] // 2] = 200  # flat and noisy regions both
    data = elements.encode_png(Image.fromarray(pixels, mode))
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)
    decoded = tf.io.decode_png(data, channels=3 if mode == "RGB" else 1).numpy()
    np.testing.assert_array_equal(decoded.reshape(pixels.shape), pixels)


def test_png_encoder_falls_back_to_pillow_for_other_modes():
    image = Image.new("RGBA", (5, 4), (1, 2, 3, 4))
    assert Image.open(io.BytesIO(elements.encode_png(image))).getpixel((0, 0)) == (1, 2, 3, 4)


def test_pairs_pipeline_worker_modules_import_without_tensorflow():
    code = ("import sys\n"
            "import tfgan_pipeline.preprocess.beam_pipeline, tfgan_pipeline.preprocess.elements\n"
            "import tfgan_pipeline.preprocess.beam_common, tfgan_pipeline.preprocess.tfrecord_io\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
            "from tfgan_pipeline.preprocess import PreprocessConfig\n"
            "assert 'tensorflow' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
