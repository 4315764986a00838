"""The paired TFRecord schema and the pix2pix tf.data pipeline, on tiny hand-made records."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.data import paired
from tfgan_pipeline.data import schema

SIZE = 6  # stored size of the hand-made records


def _png(array):
    return tf.io.encode_png(np.asarray(array, np.uint8)).numpy()


def _write(path, pairs, gzip=True):
    options = tf.io.TFRecordOptions(compression_type="GZIP" if gzip else "")
    with tf.io.TFRecordWriter(str(path), options) as writer:
        for name, input_image, target_image in pairs:
            example = schema.make_example(_png(input_image), _png(target_image),
                                          input_image.shape[0], input_image.shape[1], name, "AtoB")
            writer.write(example.SerializeToString())
    return str(path)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Two GZIP shards, 5 pairs: input = random pixels, target = 255 - input (pairing check)."""
    folder = tmp_path_factory.mktemp("paired")
    rng = np.random.default_rng(0)
    inputs = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(5)]
    pairs = [(f"{i}.jpg", x, 255 - x) for i, x in enumerate(inputs)]
    _write(folder / "part-00000-of-00002.tfrecord.gz", pairs[:3])
    _write(folder / "part-00001-of-00002.tfrecord.gz", pairs[3:])
    return str(folder / "part-*.tfrecord.gz"), inputs


def _to_uint8(x):
    return np.rint((np.asarray(x) + 1.0) * 127.5).astype(np.int64)


# ---------------------------------------------------------------------------- schema


def test_schema_round_trip():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    example = schema.make_example(_png(image), _png(255 - image), 2, 3, "a/1.jpg", "BtoA")
    parsed = schema.parse_example(tf.constant(example.SerializeToString()))
    np.testing.assert_array_equal(parsed["input_image"].numpy(), image)
    np.testing.assert_array_equal(parsed["target_image"].numpy(), 255 - image)
    assert parsed["input_image"].dtype == tf.uint8
    assert (int(parsed["height"]), int(parsed["width"])) == (2, 3)
    assert parsed["file_name"].numpy() == b"a/1.jpg" and parsed["direction"].numpy() == b"BtoA"


def test_schema_rejects_bad_fields():
    with pytest.raises(TypeError, match="input_image must be encoded PNG bytes"):
        schema.make_example(np.zeros((2, 2, 3)), b"x", 2, 2, "a", "AtoB")
    with pytest.raises(ValueError, match="direction"):
        schema.make_example(b"x", b"x", 2, 2, "a", "left")
    with pytest.raises(ValueError, match="positive"):
        schema.make_example(b"x", b"x", 0, 2, "a", "AtoB")


# ---------------------------------------------------------------------------- jitter


def test_jitter_crops_and_flips_input_and_target_identically(records):
    pattern, inputs = records
    ds = paired.paired_train_dataset(pattern, batch_size=5, image_size=4, load_size=SIZE,
                                     shuffle_buffer=8, seed=1)
    windows = {}
    for x in inputs:  # every 4x4 window of every input, plain and mirrored
        for flipped, image in ((False, x), (True, x[:, ::-1])):
            for i in range(SIZE - 3):
                for j in range(SIZE - 3):
                    windows[image[i:i + 4, j:j + 4].tobytes()] = flipped
    flips = []
    for input_batch, target_batch in ds.take(8):
        assert input_batch.shape == target_batch.shape == (5, 4, 4, 3)
        assert input_batch.dtype == tf.float32
        # target = 255 - input pixelwise, so in [-1, 1]: target = -input, exactly where aligned.
        np.testing.assert_allclose(target_batch.numpy(), -input_batch.numpy(), atol=1e-6)
        for crop in _to_uint8(input_batch).astype(np.uint8):
            flips.append(windows[crop.tobytes()])  # KeyError if not a window of a stored input
    assert any(flips) and not all(flips)  # both mirrored and plain crops occur


def test_jitter_resizes_when_stored_size_differs(records):
    pattern, _ = records
    ds = paired.paired_train_dataset(pattern, batch_size=2, image_size=7, load_size=8, seed=0)
    x, y = next(iter(ds))
    assert x.shape == y.shape == (2, 7, 7, 3)
    assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0


def test_train_dataset_repeats_and_is_reproducible_with_a_seed(records):
    pattern, _ = records

    def first_batches(seed):
        ds = paired.paired_train_dataset(pattern, 3, image_size=4, load_size=SIZE, seed=seed)
        return [x.numpy() for x, _ in ds.take(4)]  # 12 pairs from 5 records: repeated

    a, b = first_batches(7), first_batches(7)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a, first_batches(8)))


def test_train_dataset_on_empty_files_ends_instead_of_hanging(tmp_path):
    path = _write(tmp_path / "empty.tfrecord.gz", [])
    ds = paired.paired_train_dataset(path, 2, image_size=4, load_size=SIZE)
    assert list(ds) == []


# ---------------------------------------------------------------------------- evaluation


def test_eval_dataset_is_deterministic_finite_and_in_file_order(records):
    pattern, inputs = records
    ds = paired.paired_eval_dataset(pattern, batch_size=2, image_size=SIZE, include_file_name=True)
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [2, 2, 1]
    names = [n.decode() for b in batches for n in b[2].numpy()]
    assert names == ["0.jpg", "1.jpg", "2.jpg", "3.jpg", "4.jpg"]
    got = np.concatenate([b[0].numpy() for b in batches])
    # No resize at the stored size: exactly x / 127.5 - 1, hand-checked at the ends.
    np.testing.assert_allclose(got, np.stack(inputs) / 127.5 - 1.0, atol=1e-6)
    again = np.concatenate([x.numpy() for x, _ in paired.paired_eval_dataset(pattern, 2, SIZE)])
    np.testing.assert_array_equal(got, again)
    dropped = paired.paired_eval_dataset(pattern, 2, SIZE, drop_remainder=True)
    assert sum(1 for _ in dropped) == 2


def test_eval_resize_keeps_constants_and_scales_to_unit_range(tmp_path):
    black, white, grey = (np.full((SIZE, SIZE, 3), v, np.uint8) for v in (0, 255, 51))
    path = _write(tmp_path / "c.tfrecord", [("c", black, white), ("g", grey, grey)], gzip=False)
    (x, y), = paired.paired_eval_dataset(path, batch_size=2, image_size=4)
    assert x.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(x[0], -1.0, atol=1e-5)
    np.testing.assert_allclose(y[0], 1.0, atol=1e-5)
    np.testing.assert_allclose(x[1], 51 / 127.5 - 1.0, atol=1e-5)  # = -0.6


# ---------------------------------------------------------------------------- distribution, errors


def test_train_dataset_distributes_over_two_replicas(records, two_cpu_devices):
    pattern, _ = records
    strategy = tf.distribute.MirroredStrategy(two_cpu_devices)
    ds = paired.paired_train_dataset(pattern, batch_size=4, image_size=4, load_size=SIZE, seed=0)
    x, y = next(iter(strategy.experimental_distribute_dataset(ds)))
    assert [t.shape for t in strategy.experimental_local_results(x)] == [(2, 4, 4, 3)] * 2
    assert [t.shape for t in strategy.experimental_local_results(y)] == [(2, 4, 4, 3)] * 2


def test_file_listing_accepts_lists_and_reports_missing_files(records, tmp_path):
    pattern, _ = records
    files = paired.list_tfrecord_files(pattern)
    assert len(files) == 2 and paired.list_tfrecord_files(files[::-1]) == files
    with pytest.raises(FileNotFoundError, match="run the preprocessing first"):
        paired.list_tfrecord_files(str(tmp_path / "*.tfrecord.gz"))
    with pytest.raises(TypeError):
        paired.list_tfrecord_files(3)


def test_bad_arguments_raise(records, tmp_path):
    pattern, _ = records
    with pytest.raises(ValueError, match="load_size"):
        paired.paired_train_dataset(pattern, 2, image_size=8, load_size=6)
    with pytest.raises(ValueError, match="batch_size"):
        paired.paired_train_dataset(pattern, 0)
    with pytest.raises(ValueError, match="shuffle_buffer"):
        paired.paired_train_dataset(pattern, 2, image_size=4, load_size=6, shuffle_buffer=0)
    plain = _write(tmp_path / "plain.tfrecord", [])
    with pytest.raises(ValueError, match="Mix of GZIP"):
        paired.paired_eval_dataset([plain, paired.list_tfrecord_files(pattern)[0]], 2)
