"""Single-image preprocessing end to end on the real data in ../shared/data (skips when absent).

* MNIST t10k IDX (LeCun et al.): 10,000 digits, whose per-digit counts the data
  README states, hash-split into train/eval.
* Eight real pix2pix maps A|B JPEGs (1200x600, Isola et al. 2017) plus two broken
  files as unpaired CycleGAN domains at the native size: the held-out halves are
  the source's crops, pixel for pixel, and pair up again by file name.
"""

import json
import os
import shutil

import numpy as np
from PIL import Image
import pytest

from tfgan_pipeline.data import single
from tfgan_pipeline.preprocess import ImagePreprocessConfig
from tfgan_pipeline.preprocess import run_image_preprocess

#: End-to-end runs on real data: the "slow" tier (see BUILD.md, "Test tiers").
pytestmark = pytest.mark.slow

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
# README of ../shared/data: label counts of the t10k split for digits 0-9.
MNIST_T10K_LABELS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
# unpaired_assignment at 0.3: (u0, u1) 2.jpg (0.035, 0.191), 5.jpg (0.058, 0.151) held out;
# 3.jpg (0.409, 0.986) -> B; 1, 4, 6, 7, 8.jpg (u0 >= 0.3, u1 < 0.5) -> A.
MAPS = {"trainA": {"1.jpg", "4.jpg", "6.jpg", "7.jpg", "8.jpg"}, "trainB": {"3.jpg"},
        "testA": {"2.jpg", "5.jpg"}, "testB": {"2.jpg", "5.jpg"}}


def _need(path):
    if not os.path.isdir(path):
        pytest.skip(f"real data {path} is absent")
    return path


def test_real_mnist_idx(tmp_path):
    source = _need(os.path.join(SHARED, "mnist"))
    result = run_image_preprocess(ImagePreprocessConfig(
        source=source, output_dir=str(tmp_path / "out"), num_shards=2), verbose=False)
    assert result.records_per_split == {"eval": 1011, "train": 8989}  # stable hash split
    per_digit = [sum(result.label_counts[s].get(d, 0) for s in ("train", "eval"))
                 for d in range(10)]
    assert tuple(per_digit) == MNIST_T10K_LABELS
    assert result.rejects_per_reason == {} and result.stats["source_sizes"] == {"28x28": 10000}
    x, y = next(iter(single.image_dataset(result.file_pattern("train"), 64, image_size=32,
                                          with_labels=True, seed=0)))
    assert x.shape == (64, 32, 32, 1) and -1.0 <= float(np.min(x)) < float(np.max(x)) <= 1.0
    assert set(y.numpy()) <= set(range(10))


def test_real_maps_as_unpaired_domains(tmp_path):
    source = _need(os.path.join(SHARED, "maps", "train"))
    data = tmp_path / "maps"
    data.mkdir()
    for name in sorted(set().union(*MAPS.values())):
        shutil.copy(os.path.join(source, name), data / name)
    with open(os.path.join(source, "9.jpg"), "rb") as f:
        (data / "truncated.jpg").write_bytes(f.read()[:5000])
    Image.open(os.path.join(source, "10.jpg")).convert("L").save(data / "gray.jpg")
    result = run_image_preprocess(ImagePreprocessConfig(
        source=str(data), output_dir=str(tmp_path / "out"), layout="pix2pix_unpaired",
        unpaired_test_fraction=0.3, num_shards=1), verbose=False)
    assert result.records_per_domain == {"A": {"test": 2, "train": 5}, "B": {"test": 2, "train": 1}}
    assert result.stats["source_sizes"] == {"600x600": 10}
    with open(result.rejects_path) as f:
        rejects = {os.path.basename(r["path"]): r["reason"] for r in map(json.loads, f)}
    assert rejects == {"truncated.jpg": "corrupt_image", "gray.jpg": "wrong_channels"}

    ds = single.paired_test_dataset(result.file_pattern("test", "A"),
                                    result.file_pattern("test", "B"), batch_size=2)
    (a, b, names), = list(ds)
    assert [n.decode() for n in names.numpy()] == ["2.jpg", "5.jpg"]
    for x, y, name in zip(a.numpy(), b.numpy(), names.numpy()):
        image = np.asarray(Image.open(data / name.decode()))
        np.testing.assert_allclose((x + 1.0) * 127.5, image[:, :600], atol=1e-3)  # aerial half
        np.testing.assert_allclose((y + 1.0) * 127.5, image[:, 600:], atol=1e-3)  # map half

    train = single.unpaired_dataset(result.file_pattern("train", "A"),
                                    result.file_pattern("train", "B"), 2, image_size=64,
                                    load_size=72, seed=0)
    for x, y in train.take(2):
        assert x.shape == y.shape == (2, 64, 64, 3)
