"""The single-image schema and the tf.data readers (latent GANs, CycleGAN), on hand-made records."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.data import schema
from tfgan_pipeline.data import single


def _png(array):
    return tf.io.encode_png(np.asarray(array, np.uint8)).numpy()


def _write(path, rows, gzip=True):
    """``rows``: ``(file_name, uint8 image [H, W, C], label, domain)``."""
    options = tf.io.TFRecordOptions(compression_type="GZIP" if gzip else "")
    with tf.io.TFRecordWriter(str(path), options) as writer:
        for name, image, label, domain in rows:
            h, w, c = image.shape
            writer.write(schema.make_image_example(_png(image), h, w, c, label, domain,
                                                   name).SerializeToString())
    return str(path)


def _flat(value, size=6, channels=3):
    return np.full((size, size, channels), value, np.uint8)


def _values(x):
    """The constant pixel value (0-255) of each image of a batch in [-1, 1]."""
    x = np.asarray(x)
    return [int(v) for v in np.rint((x.reshape(x.shape[0], -1).mean(1) + 1.0) * 127.5)]


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    """Domain A: 5 flat images of values 10..50 in two shards; B: 3 of values 110..130."""
    folder = tmp_path_factory.mktemp("single")
    a = [(f"a{i}.png", _flat(10 * (i + 1)), i, "A") for i in range(5)]
    b = [(f"b{i}.png", _flat(110 + 10 * i), -1, "B") for i in range(3)]
    _write(folder / "a-00000-of-00002.tfrecord.gz", a[:3])
    _write(folder / "a-00001-of-00002.tfrecord.gz", a[3:])
    _write(folder / "b-00000-of-00001.tfrecord.gz", b)
    return str(folder / "a-*.tfrecord.gz"), str(folder / "b-*.tfrecord.gz")


# ---------------------------------------------------------------------------- schema


@pytest.mark.parametrize("channels", [1, 3])
def test_image_schema_round_trip(channels):
    image = np.arange(2 * 3 * channels, dtype=np.uint8).reshape(2, 3, channels)
    example = schema.make_image_example(_png(image), 2, 3, channels, 7, "B", "t10k-00042")
    parsed = schema.parse_image_example(tf.constant(example.SerializeToString()), channels)
    np.testing.assert_array_equal(parsed["image"].numpy(), image)
    assert parsed["image"].dtype == tf.uint8
    assert [int(parsed[k]) for k in ("height", "width", "channels", "label")] == [2, 3, channels, 7]
    assert parsed["domain"].numpy() == b"B" and parsed["file_name"].numpy() == b"t10k-00042"
    unlabelled = schema.make_image_example(_png(image), 2, 3, channels, -1, None, "x")
    parsed = schema.parse_image_example(tf.constant(unlabelled.SerializeToString()), channels)
    assert int(parsed["label"]) == schema.NO_LABEL and parsed["domain"].numpy() == b""


@pytest.mark.parametrize("kwargs,error,match", [
    ({"image_png": np.zeros(3)}, TypeError, "encoded PNG bytes"),
    ({"height": 0}, ValueError, "positive"),
    ({"channels": 4}, ValueError, "channels"),
    ({"label": -2}, ValueError, "label"),
    ({"domain": "C"}, ValueError, "domain"),
])
def test_image_schema_rejects_bad_fields(kwargs, error, match):
    args = {"image_png": b"png", "height": 2, "width": 2, "channels": 3, "label": 0,
            "domain": "A", "file_name": "x", **kwargs}
    with pytest.raises(error, match=match):
        schema.make_image_example(**args)


def test_paired_schema_is_unchanged():
    assert schema.SCHEMA_VERSION == 1 and schema.IMAGE_SCHEMA_VERSION == 1
    assert sorted(schema.FEATURE_SPEC) == ["direction", "file_name", "height", "input_image",
                                           "target_image", "width"]


# ---------------------------------------------------------------------------- latent-GAN batches


def test_image_dataset_batches_labels_and_repeats(domains):
    pattern_a, _ = domains
    ds = single.image_dataset(pattern_a, 4, with_labels=True, seed=0)
    batches = list(ds.take(5))  # 20 images from 5 records: it repeats
    for x, y in batches:
        assert x.shape == (4, 6, 6, 3) and x.dtype == tf.float32 and y.dtype == tf.int32
        np.testing.assert_array_equal(_values(x), 10 * (y.numpy() + 1))  # labels stay with images
    values = sum((_values(x) for x, _ in batches), [])
    assert sorted(values) == sorted([10, 20, 30, 40, 50] * 4)  # each epoch sees every record once
    again = [_values(x) for x, _ in single.image_dataset(pattern_a, 4, with_labels=True,
                                                          seed=0).take(5)]
    assert again == [_values(x) for x, _ in batches]


def test_image_dataset_in_order_one_pass_and_resized(domains):
    pattern_a, _ = domains
    ds = single.image_dataset(pattern_a, 2, image_size=4, shuffle=False, repeat=False)
    batches = [_values(x) for x in ds]
    assert batches == [[10, 20], [30, 40]]  # the fifth is dropped (drop_remainder)
    assert next(iter(ds)).shape == (2, 4, 4, 3)
    kept = single.image_dataset(pattern_a, 2, shuffle=False, repeat=False, drop_remainder=False)
    assert [_values(x) for x in kept] == [[10, 20], [30, 40], [50]]


def test_eval_dataset_keeps_file_order_and_names(domains):
    pattern_a, _ = domains
    ds = single.image_eval_dataset(pattern_a, 3, with_labels=True, include_file_name=True)
    (x1, y1, n1), (x2, y2, n2) = list(ds)
    assert [n.decode() for n in np.concatenate([n1, n2])] == [f"a{i}.png" for i in range(5)]
    assert list(np.concatenate([y1, y2])) == [0, 1, 2, 3, 4]
    assert _values(x1) == [10, 20, 30]
    only_images = next(iter(single.image_eval_dataset(pattern_a, 5)))
    assert only_images.shape == (5, 6, 6, 3)


def test_grayscale_records_and_mixed_sizes(tmp_path):
    gray = _write(tmp_path / "g.tfrecord.gz", [("0", _flat(0, 4, 1), 0, None),
                                               ("1", _flat(255, 6, 1), 1, None)])
    assert single.stored_format(gray) == (4, 4, 1) and single.stored_channels(gray) == 1
    resized = next(iter(single.image_dataset(gray, 2, image_size=5, shuffle=False)))
    assert resized.shape == (2, 5, 5, 1)
    assert _values(resized) == [0, 255]
    with pytest.raises(tf.errors.InvalidArgumentError, match="pass image_size"):
        list(single.image_eval_dataset(gray, 2))


def test_no_records_and_bad_arguments(domains, tmp_path):
    pattern_a, _ = domains
    empty = _write(tmp_path / "empty.tfrecord.gz", [])
    with pytest.raises(ValueError, match="hold no records"):
        single.image_dataset(empty, 2)
    with pytest.raises(FileNotFoundError, match="run_image_preprocess"):
        single.image_dataset(str(tmp_path / "none-*.gz"), 2)
    with pytest.raises(ValueError, match="batch_size"):
        single.image_dataset(pattern_a, 0)
    with pytest.raises(ValueError, match="load_size"):
        single.unpaired_dataset(pattern_a, pattern_a, 1, image_size=8, load_size=6)


# ---------------------------------------------------------------------------- CycleGAN


def test_domain_seeds_are_distinct_and_reproducible():
    a, b = single.domain_seeds(0)
    assert a != b and (a, b) == single.domain_seeds(0) and single.domain_seeds(1) != (a, b)
    assert single.domain_seeds(None) == (None, None)


def test_unpaired_batches_repeat_each_domain_at_its_own_pace(domains):
    pattern_a, pattern_b = domains
    ds = single.unpaired_dataset(pattern_a, pattern_b, 1, image_size=4, load_size=6, seed=3)
    pairs = [(_values(a)[0], _values(b)[0]) for a, b in ds.take(15)]
    a_values, b_values = zip(*pairs)
    # 15 draws = 3 epochs of A's 5 records and 5 epochs of B's 3, each epoch complete.
    for epoch in range(3):
        assert sorted(a_values[5 * epoch:5 * epoch + 5]) == [10, 20, 30, 40, 50]
    for epoch in range(5):
        assert sorted(b_values[3 * epoch:3 * epoch + 3]) == [110, 120, 130]
    a, b = next(iter(ds))
    assert a.shape == b.shape == (1, 4, 4, 3) and a.dtype == b.dtype == tf.float32


def _gradient_records(path):
    """Eight records, identical in both 'domains': channel 0 names the record (10 * (i + 1)),
    channel 1 is a horizontal ramp (shows the crop offset and the flip)."""
    rows = []
    for i in range(8):
        image = np.zeros((8, 8, 3), np.uint8)
        image[..., 0] = 10 * (i + 1)
        image[..., 1] = np.arange(0, 80, 10)[None, :]
        rows.append((f"{i}.png", image, i, None))
    return _write(path, rows)


def test_unpaired_domains_are_shuffled_and_jittered_independently(tmp_path):
    same_a = _gradient_records(tmp_path / "a.tfrecord.gz")
    same_b = _gradient_records(tmp_path / "b.tfrecord.gz")

    def streams(seed):
        ds = single.unpaired_dataset(same_a, same_b, 4, image_size=4, load_size=8, seed=seed)
        batches = [(a.numpy(), b.numpy()) for a, b in ds.take(4)]  # 2 epochs of 8 records
        return tuple(np.rint((np.concatenate(side) + 1.0) * 127.5).astype(int)
                     for side in zip(*batches))

    a_stream, b_stream = streams(0)
    order_a, order_b = a_stream[:, 0, 0, 0], b_stream[:, 0, 0, 0]
    assert sorted(order_a[:8]) == sorted(order_b[:8]) == [10 * (i + 1) for i in range(8)]
    # Identical records of one shape: with a shared shuffle seed the orders would be the
    # same, and with a shared jitter seed so would the crop/flip at each position (channel 1).
    assert list(order_a) != list(order_b)
    crops_a = [tuple(a[0, :, 1]) for a in a_stream]
    crops_b = [tuple(b[0, :, 1]) for b in b_stream]
    assert crops_a != crops_b
    steps = {np.sign(c[1] - c[0]) for c in crops_a + crops_b}
    assert steps == {-1, 1}  # some crops mirrored, some not (random flip)
    again_a, again_b = streams(0)
    np.testing.assert_array_equal(again_a, a_stream)
    np.testing.assert_array_equal(again_b, b_stream)


def test_unpaired_batches_distribute_over_two_replicas(domains, mirrored_strategy):
    pattern_a, pattern_b = domains
    strategy = mirrored_strategy
    ds = single.unpaired_dataset(pattern_a, pattern_b, 4, image_size=4, load_size=6, seed=0)
    a, b = next(iter(strategy.experimental_distribute_dataset(ds)))
    assert [t.shape for t in strategy.experimental_local_results(a)] == [(2, 4, 4, 3)] * 2
    assert [t.shape for t in strategy.experimental_local_results(b)] == [(2, 4, 4, 3)] * 2


def test_paired_test_dataset_joins_partners_by_name(tmp_path):
    names = ["3.jpg", "1.jpg", "2.jpg"]
    a = [(n, _flat(int(n[0]) * 10), -1, "A") for n in names]
    b = [(n, _flat(int(n[0]) * 10 + 100), -1, "B") for n in reversed(names)]
    pattern_a = _write(tmp_path / "testA.tfrecord.gz", a)
    pattern_b = _write(tmp_path / "testB.tfrecord.gz", b)
    (xa, xb, got), = list(single.paired_test_dataset(pattern_a, pattern_b, 4, image_size=4))
    assert [n.decode() for n in got.numpy()] == ["1.jpg", "2.jpg", "3.jpg"]
    assert _values(xa) == [10, 20, 30] and _values(xb) == [110, 120, 130]
    assert xa.shape == (3, 4, 4, 3)
    lonely = _write(tmp_path / "lonely.tfrecord.gz", b[:2])
    with pytest.raises(ValueError, match=r"1 file names have no partner.*'3.jpg'"):
        single.paired_test_dataset(pattern_a, lonely, 2)
    twice = _write(tmp_path / "twice.tfrecord.gz", a + a[:1])
    with pytest.raises(ValueError, match="Two records named '3.jpg'"):
        single.paired_test_dataset(twice, pattern_b, 2)
