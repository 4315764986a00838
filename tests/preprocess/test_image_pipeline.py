"""run_image_preprocess and its composites on the DirectRunner: tiny images, IDX files and
tfds.testing.mock_data, with planted bad inputs."""

import json
import os
import struct

import apache_beam as beam
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tfgan_pipeline.data import schema
from tfgan_pipeline.data import single
from tfgan_pipeline.preprocess import ImagePreprocessConfig
from tfgan_pipeline.preprocess import image_pipeline
from tfgan_pipeline.preprocess import run_image_preprocess

RED, BLUE = (255, 0, 0), (0, 0, 255)


def save_image(path, array):
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def solid(color, height=8, width=8):
    return np.tile(np.array(color, np.uint8), (height, width, 1))


def read_records(paths, channels):
    """``[(folder-free) parsed dict as numpy]`` of every record in ``paths``."""
    out = []
    for raw in tf.data.TFRecordDataset(list(paths), compression_type="GZIP"):
        parsed = schema.parse_image_example(raw, channels)
        out.append({k: (v.numpy().decode() if v.dtype == tf.string else v.numpy())
                    for k, v in parsed.items() if k != schema.IMAGE} | {
                        "pixels": parsed[schema.IMAGE].numpy()})
    return out


def rejects_of(result, root):
    with open(result.rejects_path) as f:
        return sorted((os.path.relpath(r["path"], root), r["reason"], r["split"], r["domain"])
                      for r in map(json.loads, f))


# ---------------------------------------------------------------------------- CycleGAN domains


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    root = tmp_path_factory.mktemp("domains")
    data = root / "horse2zebra"
    for folder in ("trainA", "trainB", "testA", "testB", "notes", "trainA/sub"):
        (data / folder).mkdir(parents=True)
    for i, (h, w) in enumerate([(8, 8), (8, 12), (6, 6)]):  # domains of different sizes
        save_image(data / "trainA" / f"h{i}.png", solid(RED, h, w))
    for i in range(2):
        save_image(data / "trainB" / f"z{i}.png", solid(BLUE))
    save_image(data / "testA" / "t.png", solid(RED))
    save_image(data / "testB" / "t.png", solid(BLUE))
    save_image(data / "trainA" / "gray.png", np.zeros((8, 8)))
    (data / "trainB" / "empty.jpg").write_bytes(b"")
    (data / "testB" / "notes.jpg").write_text("not an image")
    (data / "README.txt").write_text("loose file")
    config = ImagePreprocessConfig(source=str(data), output_dir=str(root / "out"), image_size=4,
                                   num_shards=2)
    return data, config, run_image_preprocess(config, verbose=False)


def test_domains_counts_and_layout(domains):
    _, config, result = domains
    assert result.layout == "domains" and not result.reused
    assert result.records_per_domain == {"A": {"test": 1, "train": 3}, "B": {"test": 1, "train": 2}}
    assert result.records_per_split == {"test": 2, "train": 5}
    assert result.label_counts == {} and result.channels == 3
    for folder in ("trainA", "trainB", "testA", "testB"):
        assert [os.path.basename(p) for p in result.tfrecords[folder]] == [
            "part-00000-of-00002.tfrecord.gz", "part-00001-of-00002.tfrecord.gz"]
    assert result.file_pattern("train", "A") == os.path.join(
        config.output_dir, "tfrecords", "trainA", "part-*.tfrecord.gz")
    with pytest.raises(KeyError, match=r"\('train', 'A'\)"):
        result.file_pattern("train")
    assert sorted(os.listdir(config.output_dir)) == ["config.json", "rejects.jsonl", "stats.json",
                                                     "tfrecords"]


def test_domains_records_hold_resized_images_of_their_domain(domains):
    _, _, result = domains
    train_a = read_records(result.tfrecords["trainA"], 3)
    assert sorted(r["file_name"] for r in train_a) == ["h0.png", "h1.png", "h2.png"]
    for r in train_a:
        assert (r["domain"], r["label"], r["height"], r["width"]) == ("A", -1, 4, 4)
        np.testing.assert_array_equal(r["pixels"], solid(RED, 4, 4))
    test_b, = read_records(result.tfrecords["testB"], 3)
    assert test_b["domain"] == "B"
    np.testing.assert_array_equal(test_b["pixels"], solid(BLUE, 4, 4))


def test_domains_rejects_and_stats_account_for_every_input(domains):
    data, _, result = domains
    assert rejects_of(result, data) == [
        ("README.txt", "outside_split_folder", None, None),
        ("testB/notes.jpg", "not_an_image", "test", "B"),
        ("trainA/gray.png", "wrong_channels", "train", "A"),
        ("trainB/empty.jpg", "empty_file", "train", "B")]
    with open(result.stats_path) as f:
        stats = json.load(f)
    assert stats == result.stats
    assert stats["inputs"] == 11 == stats["total_records"] + stats["rejected_inputs"]
    assert stats["source_sizes"] == {"12x8": 1, "6x6": 1, "8x8": 5}
    assert stats["ignored"] == ["notes/", "trainA/sub/"]
    summary = image_pipeline.format_image_summary(result)
    assert ("7 images (trainA 3, trainB 2, testA 1, testB 1; 4x4, 3 channels) from 11 inputs; "
            "4 rejected") in summary


def test_rerun_reuses_and_a_changed_config_refuses(domains, capsys):
    _, config, result = domains
    before = os.path.getmtime(result.stats_path)
    again = run_image_preprocess(config)
    assert again.reused and again.records_per_domain == result.records_per_domain
    assert os.path.getmtime(result.stats_path) == before
    assert "reused existing output" in capsys.readouterr().out
    changed = ImagePreprocessConfig(**{**config.to_json_dict(), "image_size": 6})
    with pytest.raises(ValueError, match=r"different config \(\['image_size'\]\).*overwrite=True"):
        run_image_preprocess(changed, verbose=False)
    with open(result.config_path) as f:
        assert json.load(f)["beam_flags"] == ["--runner=DirectRunner"]


# ---------------------------------------------------------------------------- pix2pix as unpaired


# hash_fraction(name, 0), (name, 1) of "<i>.png": u0 < 0.3 for 2, 8, 10 (held out); among the
# others u1 < 0.5 (domain A) for 1, 5, 6, 7 and u1 >= 0.5 (domain B) for 0, 3, 4, 9, 11.
TEST_FILES = {"2.png", "8.png", "10.png"}
TRAIN_A = {"1.png", "5.png", "6.png", "7.png"}
TRAIN_B = {"0.png", "3.png", "4.png", "9.png", "11.png"}


@pytest.fixture(scope="module")
def unpaired(tmp_path_factory):
    root = tmp_path_factory.mktemp("unpaired")
    data = root / "maps"
    data.mkdir()
    ab = np.concatenate([solid(RED), solid(BLUE)], axis=1)
    for i in range(12):
        save_image(data / f"{i}.png", ab)
    save_image(data / "odd.png", np.zeros((8, 15, 3)))
    save_image(data / "rgba.png", np.zeros((8, 16, 4)))
    config = ImagePreprocessConfig(source=str(data), output_dir=str(root / "out"),
                                   layout="pix2pix_unpaired", unpaired_test_fraction=0.3,
                                   num_shards=1)
    return data, run_image_preprocess(config, verbose=False)


def test_unpaired_domains_are_disjoint_halves(unpaired):
    data, result = unpaired
    names = {}
    for folder, color in (("trainA", RED), ("trainB", BLUE), ("testA", RED), ("testB", BLUE)):
        records = read_records(result.tfrecords[folder], 3)
        names[folder] = {r["file_name"] for r in records}
        for r in records:
            np.testing.assert_array_equal(r["pixels"], solid(color))  # native 8x8 halves
    assert names == {"trainA": TRAIN_A, "trainB": TRAIN_B, "testA": TEST_FILES,
                     "testB": TEST_FILES}
    assert result.records_per_domain == {"A": {"test": 3, "train": 4},
                                         "B": {"test": 3, "train": 5}}
    # odd.png and rgba.png both hash to (train, A).
    assert rejects_of(result, data) == [("odd.png", "odd_width", "train", "A"),
                                        ("rgba.png", "wrong_channels", "train", "A")]
    assert result.stats["unpaired_test_fraction"] == 0.3 and result.stats["eval_fraction"] is None


def test_unpaired_test_halves_pair_up_by_file_name(unpaired):
    _, result = unpaired
    ds = single.paired_test_dataset(result.file_pattern("test", "A"),
                                    result.file_pattern("test", "B"), batch_size=8)
    (a, b, names), = list(ds)
    assert sorted(n.decode() for n in names.numpy()) == sorted(TEST_FILES)
    np.testing.assert_allclose(a.numpy()[..., 0], 1.0)   # red A halves
    np.testing.assert_allclose(b.numpy()[..., 2], 1.0)   # blue B halves


def test_extract_images_composite_on_test_pipeline(unpaired):
    data, _ = unpaired
    config = ImagePreprocessConfig(source=str(data), output_dir=str(data) + "_x",
                                   layout="pix2pix_unpaired", unpaired_test_fraction=0.3)
    plan = image_pipeline.plan_image_inputs(config)
    fmt = image_pipeline.image_format(config, plan)
    assert (plan.folders, fmt.channels, fmt.convert) == (
        ("trainA", "trainB", "testA", "testB"), 3, False)
    with test_pipeline.TestPipeline(options=beam.options.pipeline_options.PipelineOptions(
            flags=["--runner=DirectRunner"])) as p:
        images = p | "ExtractImages" >> image_pipeline.ExtractImages(plan, fmt, 0.1, 0.3)
        folders = images["records"] | "Folders" >> beam.Map(lambda r: (r.folder, r.file_name))
        expected = ([("trainA", n) for n in TRAIN_A] + [("trainB", n) for n in TRAIN_B]
                    + [(f, n) for f in ("testA", "testB") for n in TEST_FILES])
        assert_that(folders, equal_to(expected), label="CheckRecords")
        count = images["inputs"] | "Count" >> beam.combiners.Count.Globally()
        assert_that(count, equal_to([14]), label="CheckInputs")


# ---------------------------------------------------------------------------- MNIST IDX


def _write_idx(path, magic, dims, payload):
    path.write_bytes(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)
                     + payload)


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    root = tmp_path_factory.mktemp("idx")
    data = root / "mnist"
    data.mkdir()
    pixels = {p: np.arange(n * 16, dtype=np.uint8).reshape(n, 4, 4) + 100 * (p == "t10k")
              for p, n in (("train", 6), ("t10k", 4))}
    labels = {"train": [0, 1, 2, 3, 4, 5], "t10k": [1, 2, 3, 12]}  # 12: out of range
    for prefix in ("train", "t10k"):
        n = len(labels[prefix])
        _write_idx(data / f"{prefix}-images-idx3-ubyte", 2051, (n, 4, 4), pixels[prefix].tobytes())
        _write_idx(data / f"{prefix}-labels-idx1-ubyte", 2049, (n,), bytes(labels[prefix]))
    (data / "README").write_text("not read")
    config = ImagePreprocessConfig(source=str(data), output_dir=str(root / "out"),
                                   eval_fraction=0.3, num_shards=1)
    return data, pixels, run_image_preprocess(config, verbose=False)


def test_idx_pools_both_sets_and_hash_splits_them(idx):
    data, pixels, result = idx
    # hash_fraction < 0.3: train-00003 (0.132), train-00004 (0.179), t10k-00002 (0.022),
    # t10k-00003 (0.211, but its label 12 is rejected).
    assert result.layout == "idx" and result.channels == 1
    assert result.records_per_split == {"eval": 3, "train": 6}
    assert result.label_counts == {"eval": {3: 2, 4: 1}, "train": {0: 1, 1: 2, 2: 2, 5: 1}}
    assert rejects_of(result, data) == [
        ("t10k-images-idx3-ubyte[3]", "label_out_of_range", "eval", None)]
    assert result.stats["ignored"] == ["README"] and result.stats["num_classes"] == 10
    ds = single.image_eval_dataset(result.file_pattern("eval"), 3, with_labels=True,
                                   include_file_name=True)
    (x, y, names), = list(ds)
    got = sorted(zip((n.decode() for n in names.numpy()), y.numpy(), x.numpy()), key=lambda t: t[0])
    assert [(n, int(label)) for n, label, _ in got] == [
        ("t10k-00002", 3), ("train-00003", 3), ("train-00004", 4)]
    np.testing.assert_allclose((got[0][2][..., 0] + 1) * 127.5, pixels["t10k"][2], atol=1e-4)
    np.testing.assert_allclose((got[2][2][..., 0] + 1) * 127.5, pixels["train"][4], atol=1e-4)


def test_invalid_idx_set_is_one_reject_and_channels_convert(idx, tmp_path):
    data, _, _ = idx
    broken = tmp_path / "mnist"
    broken.mkdir()
    for name in os.listdir(data):
        (broken / name).write_bytes((data / name).read_bytes())
    _write_idx(broken / "t10k-labels-idx1-ubyte", 2049, (3,), bytes([1, 2, 3]))  # 4 images
    result = run_image_preprocess(ImagePreprocessConfig(
        source=str(broken), output_dir=str(tmp_path / "out"), eval_fraction=0.0, channels=3,
        image_size=8, num_shards=1), verbose=False)
    assert result.records_per_split == {"train": 6}
    assert result.rejects_per_reason == {"invalid_idx": 1}
    assert result.stats["inputs"] == 7 and result.channels == 3
    x = next(iter(single.image_dataset(result.file_pattern("train"), 2, seed=0)))
    assert x.shape == (2, 8, 8, 3)


# ---------------------------------------------------------------------------- TFDS (mocked)


def test_tfds_mnist_split_is_hash_split_with_labels(tmp_path):
    with tfds.testing.mock_data(num_examples=6):
        result = run_image_preprocess(ImagePreprocessConfig(
            source="tfds:mnist", output_dir=str(tmp_path / "out"), eval_fraction=0.3,
            num_shards=1), verbose=False)
    # "train-<i:06d>" ids: only train-000002 (0.023) hashes below 0.3.
    assert result.layout == "tfds" and result.records_per_split == {"eval": 1, "train": 5}
    assert result.channels == 1 and result.stats["num_classes"] == 10
    assert sum(sum(c.values()) for c in result.label_counts.values()) == 6
    eval_record, = read_records(result.tfrecords["eval"], 1)
    assert eval_record["file_name"] == "train-000002" and eval_record["height"] == 28


def test_tfds_cycle_gan_reads_the_four_domain_splits(tmp_path):
    with tfds.testing.mock_data(num_examples=3):
        result = run_image_preprocess(ImagePreprocessConfig(
            source="tfds:cycle_gan/horse2zebra", output_dir=str(tmp_path / "out"), image_size=8,
            num_shards=1), verbose=False)
        again = run_image_preprocess(ImagePreprocessConfig(
            source="tfds:cycle_gan/horse2zebra", output_dir=str(tmp_path / "out"), image_size=8,
            num_shards=1), verbose=False)
    assert result.stats["folders"] == ["trainA", "trainB", "testA", "testB"]
    assert result.records_per_domain == {"A": {"test": 3, "train": 3}, "B": {"test": 3, "train": 3}}
    assert again.reused
    record = read_records(result.tfrecords["testB"], 3)[0]
    assert (record["domain"], record["height"], record["width"]) == ("B", 8, 8)
    assert record["file_name"].startswith("testB-")


def test_tfds_unprepared_dataset_says_how_to_prepare_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="tfds build mnist"):
        run_image_preprocess(ImagePreprocessConfig(
            source="tfds:mnist", output_dir=str(tmp_path / "out"), data_dir=str(tmp_path / "tfds")),
            verbose=False)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------- config, plan


def test_auto_layout_needs_domains_or_idx(tmp_path):
    (tmp_path / "flat").mkdir()
    save_image(tmp_path / "flat" / "1.png", solid(RED, 8, 16))
    config = ImagePreprocessConfig(source=str(tmp_path / "flat"), output_dir=str(tmp_path / "o"))
    with pytest.raises(ValueError, match="layout='pix2pix_unpaired'"):
        image_pipeline.plan_image_inputs(config)
    with pytest.raises(FileNotFoundError, match="trainA"):
        image_pipeline.plan_image_inputs(ImagePreprocessConfig(
            source=str(tmp_path / "flat"), output_dir=str(tmp_path / "o"), layout="domains"))
    with pytest.raises(FileNotFoundError, match="not a folder"):
        image_pipeline.plan_image_inputs(ImagePreprocessConfig(
            source=str(tmp_path / "nope"), output_dir=str(tmp_path / "o")))


def _config(tmp_path, **kwargs):
    return ImagePreprocessConfig(**{"source": str(tmp_path / "d"),
                                    "output_dir": str(tmp_path / "o"), **kwargs})


def test_pipeline_flags_are_shared_with_the_paired_pipeline(tmp_path):
    from tfgan_pipeline.preprocess import beam_common
    assert beam_common.pipeline_flags(_config(tmp_path, num_workers=2)) == [
        "--runner=DirectRunner", "--direct_running_mode=multi_threading", "--direct_num_workers=2"]
    args = ("--runner=DataflowRunner", "--project=p")
    assert beam_common.pipeline_flags(_config(tmp_path, beam_pipeline_args=args)) == list(args)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"layout": "cyclegan"}, ValueError, "layout"),
    ({"layout": "tfds"}, ValueError, "does not fit source"),
    ({"source": "tfds:mnist", "layout": "idx"}, ValueError, "does not fit source"),
    ({"source": "tfds:"}, ValueError, "names no dataset"),
    ({"image_size": 0}, ValueError, "image_size"),
    ({"channels": 4}, ValueError, "channels"),
    ({"eval_fraction": 1.0}, ValueError, "eval_fraction"),
    ({"unpaired_test_fraction": -0.1}, ValueError, "unpaired_test_fraction"),
    ({"num_shards": -1}, ValueError, "num_shards"),
    ({"beam_pipeline_args": "--runner=DirectRunner"}, TypeError, "sequence of flag strings"),
])
def test_config_validation(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        _config(tmp_path, **kwargs)


def test_output_inside_source_is_refused(tmp_path):
    with pytest.raises(ValueError, match="inside one another"):
        ImagePreprocessConfig(source=str(tmp_path), output_dir=str(tmp_path / "out"))
    tfds_config = ImagePreprocessConfig(source="tfds:mnist", output_dir=str(tmp_path),
                                        data_dir="~/tfds")
    assert tfds_config.data_dir == os.path.expanduser("~/tfds")
