"""MNIST IDX reader: synthetic (incl. corrupt) files, the tf.data stream, the real t10k split."""

import gzip
import hashlib
import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.data import mnist


def _write_idx(path, magic, dims, payload, gz=False):
    data = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return str(path)


def _split(folder, prefix, n, seed=0, gz=False, label_offset=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = ((np.arange(n) + label_offset) % 10).astype(np.uint8)
    ext = ".gz" if gz else ""
    _write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", 2051, (n, 28, 28), images.tobytes(), gz)
    _write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", 2049, (n,), labels.tobytes(), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trips_raw_and_gzip(tmp_path, gz):
    payload = bytes(range(24))
    path = _write_idx(tmp_path / "x-idx3-ubyte", 2051, (2, 3, 4), payload, gz=gz)
    array = mnist.read_idx(path, expected_magic=2051)
    assert array.dtype == np.uint8 and array.shape == (2, 3, 4)
    np.testing.assert_array_equal(array.ravel(), np.arange(24))


def test_load_auto_concatenates_train_then_test(tmp_path):
    train_images, train_labels = _split(tmp_path, "train", 7, seed=1, gz=True)
    test_images, test_labels = _split(tmp_path, "t10k", 5, seed=2, label_offset=3)
    images, labels = mnist.load_mnist_idx(str(tmp_path))
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (12,) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, np.concatenate([train_images, test_images]))
    np.testing.assert_array_equal(labels, np.concatenate([train_labels, test_labels]))
    test_only, test_only_labels = mnist.load_mnist_idx(str(tmp_path), split="test")
    np.testing.assert_array_equal(test_only, test_images)
    np.testing.assert_array_equal(test_only_labels, test_labels)


def test_raw_file_preferred_over_gzip_and_dot_spelling_accepted(tmp_path):
    _split(tmp_path, "t10k", 3, seed=1, gz=True)
    raw_images, _ = _split(tmp_path, "t10k", 3, seed=2, gz=False)
    np.testing.assert_array_equal(mnist.load_mnist_idx(str(tmp_path))[0], raw_images)
    other = tmp_path / "other"
    other.mkdir()
    images = np.zeros((2, 28, 28), np.uint8)
    _write_idx(other / "train-images.idx3-ubyte", 2051, (2, 28, 28), images.tobytes())
    _write_idx(other / "train-labels.idx1-ubyte", 2049, (2,), bytes([1, 2]))
    assert mnist.load_mnist_idx(str(other), split="train")[1].tolist() == [1, 2]


def test_bad_magic_names_the_file(tmp_path):
    _split(tmp_path, "t10k", 4)
    # Swap in a labels-style magic number for the images file.
    images = tmp_path / "t10k-images-idx3-ubyte"
    _write_idx(images, 2049, (4, 28, 28), bytes(4 * 784))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: bad IDX magic number 2049"):
        mnist.load_mnist_idx(str(tmp_path))


def test_truncated_and_overlong_payloads_are_rejected(tmp_path):
    _split(tmp_path, "t10k", 4)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", 2051, (4, 28, 28), bytes(4 * 784 - 10))
    with pytest.raises(ValueError, match=r"images-idx3-ubyte: payload truncated.*3136 bytes, "
                                         r"found 3126"):
        mnist.load_mnist_idx(str(tmp_path))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", 2051, (4, 28, 28), bytes(4 * 784 + 1))
    with pytest.raises(ValueError, match="trailing bytes"):
        mnist.load_mnist_idx(str(tmp_path))
    short = _write_idx(tmp_path / "short", 2051, (), b"")
    with pytest.raises(ValueError, match="header declares 3 dimensions"):
        mnist.read_idx(short)


def test_count_mismatch_names_both_files(tmp_path):
    _split(tmp_path, "t10k", 4)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", 2049, (3,), bytes(3))
    with pytest.raises(ValueError, match=r"count mismatch.*4 images.*3 labels") as err:
        mnist.load_mnist_idx(str(tmp_path))
    assert "t10k-images-idx3-ubyte" in str(err.value) and "t10k-labels" in str(err.value)


def test_wrong_dims_bad_labels_and_corrupt_gzip(tmp_path):
    _split(tmp_path, "t10k", 2)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", 2051, (2, 32, 32), bytes(2 * 1024))
    with pytest.raises(ValueError, match=r"shape \[N, 28, 28\].*\[2, 32, 32\]"):
        mnist.load_mnist_idx(str(tmp_path))
    _split(tmp_path, "t10k", 2)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", 2049, (2,), bytes([3, 12]))
    with pytest.raises(ValueError, match="outside 0-9"):
        mnist.load_mnist_idx(str(tmp_path))
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(gzip.compress(bytes(100))[:20])
    with pytest.raises(ValueError, match="corrupt gzip"):
        mnist.read_idx(str(corrupt))


def test_missing_files_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mnist.load_mnist_idx(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="No MNIST IDX files"):
        mnist.load_mnist_idx(str(tmp_path))
    _split(tmp_path, "t10k", 2)
    with pytest.raises(FileNotFoundError, match="No MNIST train IDX files"):
        mnist.load_mnist_idx(str(tmp_path), split="train")
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="test split.*incomplete"):
        mnist.load_mnist_idx(str(tmp_path))
    with pytest.raises(ValueError, match="split must be"):
        mnist.load_mnist_idx(str(tmp_path), split="validation")


def test_dataset_scales_to_unit_range_and_batches(tmp_path):
    images, labels = _split(tmp_path, "t10k", 10)
    ds = mnist.mnist_dataset(str(tmp_path), 4, with_labels=True, shuffle=False, repeat=False)
    assert ds.element_spec[0].shape == (4, 28, 28, 1)
    batches = list(ds)
    assert len(batches) == 2  # 10 // 4, remainder dropped
    x, y = batches[0]
    assert x.dtype == tf.float32 and y.dtype == tf.int64
    np.testing.assert_allclose(x.numpy()[..., 0], images[:4] / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y.numpy(), labels[:4])


def test_dataset_resizes_shuffles_with_seed_and_repeats(tmp_path):
    _split(tmp_path, "t10k", 6)
    ds = mnist.mnist_dataset(str(tmp_path), 4, image_size=32, seed=5)
    first = [b.numpy() for b in ds.take(4)]  # 16 > 6 examples: it repeats
    assert all(b.shape == (4, 32, 32, 1) for b in first)
    assert min(b.min() for b in first) >= -1.0 and max(b.max() for b in first) <= 1.0
    again = [b.numpy() for b in mnist.mnist_dataset(str(tmp_path), 4, image_size=32,
                                                    seed=5).take(4)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="exceeds the 6 MNIST examples"):
        mnist.mnist_dataset(str(tmp_path), 7)
    for bad in ("32", 0, (32, 32, 1), 32.5):
        with pytest.raises(ValueError, match="image_size"):
            mnist.mnist_dataset(str(tmp_path), 2, image_size=bad)


def test_real_t10k_files(shared_data):
    folder = os.path.join(shared_data, "mnist")
    images, labels = mnist.load_mnist_idx(folder)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974,
                                            1009]
    header = struct.pack(">IIII", 2051, 10000, 28, 28)
    assert (hashlib.md5(header + images.tobytes()).hexdigest() ==
            "2646ac647ad5339dbf082846283269ea")
    x, y = next(iter(mnist.mnist_dataset(folder, 8, image_size=32, with_labels=True, seed=0)))
    assert x.shape == (8, 32, 32, 1) and y.shape == (8,)
    assert x.numpy().min() >= -1.0 and x.numpy().max() <= 1.0 and x.numpy().min() < -0.99
