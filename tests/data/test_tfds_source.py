"""TFDS image source and the "tfds:NAME[:SPLIT]" spec, on tfds.testing.mock_data only.

A real ``tfds.load`` would try to download; every load here runs under
``mock_data`` (random examples with the real feature specs), except the one that
checks the error for a dataset that is not prepared (``download=False``).
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tfgan_pipeline.data import tfds_source


@pytest.mark.parametrize("spec,expected", [
    ("tfds:mnist", ("mnist", "train")),
    ("tfds:mnist:test", ("mnist", "test")),
    ("tfds:cifar10:train[:90%]", ("cifar10", "train[:90%]")),
    ("tfds:mnist:3.0.1:test", ("mnist:3.0.1", "test")),
    ("tfds:mnist:3.0.1", ("mnist:3.0.1", "train")),
    ("tfds:celeb_a/align:validation", ("celeb_a/align", "validation")),
])
def test_parse_tfds_spec(spec, expected):
    assert tfds_source.is_tfds_spec(spec)
    assert tuple(tfds_source.parse_tfds_spec(spec)) == expected


@pytest.mark.parametrize("spec,message", [
    ("mnist", "Not a TFDS dataset spec"),
    ("tfds:", "names no dataset"),
    ("tfds:mnist:", "empty split"),
])
def test_parse_tfds_spec_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        tfds_source.parse_tfds_spec(spec)


def test_mnist_mock_images_and_labels():
    with tfds.testing.mock_data(num_examples=10):
        ds = tfds_source.tfds_dataset("mnist", 4, with_labels=True, shuffle=False, repeat=False)
        batches = list(ds)
    assert len(batches) == 2  # 10 // 4, remainder dropped
    x, y = batches[0]
    assert x.shape == (4, 28, 28, 1) and x.dtype == tf.float32
    assert y.shape == (4,) and y.dtype == tf.int64
    x = x.numpy()
    assert x.min() >= -1.0 and x.max() <= 1.0
    # Unresized values are exactly k / 127.5 - 1 for uint8 k.
    k = (x + 1.0) * 127.5
    np.testing.assert_allclose(k, np.round(k), atol=1e-3)


def test_mnist_mock_resized_to_32():
    with tfds.testing.mock_data(num_examples=8):
        x = next(iter(tfds_source.tfds_dataset("mnist", 4, image_size=32, seed=0)))
    assert x.shape == (4, 32, 32, 1)
    assert x.numpy().min() >= -1.0 and x.numpy().max() <= 1.0


def test_cifar10_mock_keeps_three_channels_and_resizes_rectangles():
    with tfds.testing.mock_data(num_examples=6):
        x = next(iter(tfds_source.tfds_dataset("cifar10", 3, split="test")))
        small = next(iter(tfds_source.tfds_dataset("cifar10", 3, image_size=(16, 24))))
    assert x.shape == (3, 32, 32, 3)
    assert small.shape == (3, 16, 24, 3)


def test_from_spec_and_repeat():
    with tfds.testing.mock_data(num_examples=5):
        ds = tfds_source.tfds_dataset_from_spec("tfds:mnist:test", 2, seed=1)
        batches = list(ds.take(6))  # 12 examples > 5: the stream repeats
    assert len(batches) == 6 and all(b.shape == (2, 28, 28, 1) for b in batches)


def test_missing_features_are_listed():
    with tfds.testing.mock_data(num_examples=4):
        with pytest.raises(ValueError, match=r"no feature 'img'.*\['image', 'label'\]"):
            tfds_source.tfds_dataset("mnist", 2, image_key="img")
        with pytest.raises(ValueError, match="no feature 'digit'"):
            tfds_source.tfds_dataset("mnist", 2, with_labels=True, label_key="digit")


def test_unprepared_dataset_says_how_to_prepare_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="tfds build mnist"):
        tfds_source.tfds_dataset("mnist", 2, data_dir=str(tmp_path))
