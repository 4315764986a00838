"""End to end on real pix2pix maps pairs (../shared/data/maps/train) plus planted bad files.

Four real 1200x600 A|B JPEGs (A = aerial photo, B = map) are copied into a temp
folder with five broken files; the Beam pipeline runs at load size 64 and the
records are read back through tfgan_pipeline.data.paired.
"""

import json
import os
import shutil

import numpy as np
from PIL import Image
import pytest

from tfgan_pipeline.data import paired
from tfgan_pipeline.preprocess import beam_pipeline

pytestmark = pytest.mark.usefixtures("shared_data")  # skips when ../shared/data is absent

REAL = ("1.jpg", "2.jpg", "3.jpg", "4.jpg")
# sha1 prefixes as fractions of 2**64: 1.jpg 0.675, 2.jpg 0.035, 3.jpg 0.409, 4.jpg 0.780.
VAL_AT_0_5 = {"2.jpg", "3.jpg"}
PLANTED = {"zero.jpg": "empty_file", "truncated.jpg": "corrupt_image",
           "notes.jpg": "not_an_image", "gray.jpg": "not_rgb", "odd.jpg": "odd_width"}


@pytest.fixture(scope="module")
def maps_run(tmp_path_factory):
    # Same folder as the shared_data fixture (a module-scoped fixture cannot use it).
    source = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "maps",
                          "train")
    if not os.path.isdir(source):
        pytest.skip(f"real maps data {source} is absent")
    root = tmp_path_factory.mktemp("maps")
    data = root / "train_flat"
    data.mkdir()
    for name in REAL:
        shutil.copy(os.path.join(source, name), data / name)
    real = Image.open(os.path.join(source, "5.jpg"))
    with open(os.path.join(source, "5.jpg"), "rb") as f:
        raw = f.read()
    (data / "zero.jpg").write_bytes(b"")
    (data / "truncated.jpg").write_bytes(raw[: len(raw) // 3])
    (data / "notes.jpg").write_text("these are field notes, not a JPEG\n")
    real.convert("L").save(data / "gray.jpg")
    real.crop((0, 0, 1199, 600)).save(data / "odd.jpg")
    config = beam_pipeline.PreprocessConfig(
        data_dir=str(data), output_dir=str(root / "out"), load_size=64, val_fraction=0.5,
        num_shards=2)
    return data, beam_pipeline.run_preprocess(config, verbose=False)


def test_maps_counts_and_reasons(maps_run):
    _, result = maps_run
    assert result.records_per_split == {"train": 2, "val": 2}
    assert result.stats["source_sizes"] == {"1200x600": 4}
    assert result.stats["files_listed"] == len(REAL) + len(PLANTED)
    with open(result.rejects_path) as f:
        rejects = {os.path.basename(r["path"]): r["reason"] for r in map(json.loads, f)}
    assert rejects == PLANTED


def test_maps_records_hold_the_resized_halves(maps_run):
    data, result = maps_run
    ds = paired.paired_eval_dataset(result.file_pattern("val"), batch_size=2, image_size=64,
                                    include_file_name=True)
    (inputs, targets, names), = list(ds)
    assert sorted(n.decode() for n in names.numpy()) == sorted(VAL_AT_0_5)
    for x, y, name in zip(inputs.numpy(), targets.numpy(), names.numpy()):
        image = Image.open(data / name.decode())
        for got, box in ((x, (0, 0, 600, 600)), (y, (600, 0, 1200, 600))):  # AtoB: aerial -> map
            want = np.asarray(image.crop(box).resize((64, 64), Image.Resampling.BICUBIC))
            np.testing.assert_allclose((got + 1.0) * 127.5, want, atol=1e-3)  # lossless PNG


def test_maps_train_batches_for_pix2pix(maps_run):
    _, result = maps_run
    ds = paired.paired_train_dataset(result.file_pattern("train"), batch_size=2, image_size=48,
                                     load_size=64, shuffle_buffer=4, seed=0)
    for x, y in ds.take(3):  # 6 pairs from 2 records: the dataset repeats
        assert x.shape == y.shape == (2, 48, 48, 3)
        assert x.dtype == y.dtype == np.float32
        assert -1.0 <= float(np.min(x)) and float(np.max(x)) <= 1.0
        assert -1.0 <= float(np.min(y)) and float(np.max(y)) <= 1.0
