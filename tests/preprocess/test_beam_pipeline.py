"""Beam composites and run_preprocess on the DirectRunner: tiny 16x8 pairs, planted bad files."""

import io
import json
import os

import apache_beam as beam
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from tfgan_pipeline.preprocess import beam_pipeline

RED, BLUE = (255, 0, 0), (0, 0, 255)


def save_image(path, array):
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def solid(color, height=8, width=8):
    return np.tile(np.array(color, np.uint8), (height, width, 1))


@pytest.fixture(scope="module")
def flat_result(flat_data):
    config = beam_pipeline.PreprocessConfig(
        data_dir=flat_data.data_dir, output_dir=str(flat_data.root / "out"), load_size=12,
        val_fraction=0.3, num_shards=2)
    return config, beam_pipeline.run_preprocess(config, verbose=False)


# ---------------------------------------------------------------------------- flat A|B folder


def test_counts_and_hash_split(flat_result, flat_data):
    _, result = flat_result
    assert result.records_per_split == {"train": 8, "val": 2}
    assert not result.reused
    for split, expected in (("train", set(flat_data.good) - flat_data.val_at_0_3),
                            ("val", flat_data.val_at_0_3)):
        records = flat_data.records(result.tfrecords[split])
        assert {name for name, _, _ in records} == expected
        for _, input_image, target_image in records:
            np.testing.assert_array_equal(input_image, solid(RED, 12, 12))
            np.testing.assert_array_equal(target_image, solid(BLUE, 12, 12))


def test_every_bad_file_is_rejected_with_its_reason(flat_result, flat_data):
    _, result = flat_result
    assert flat_data.rejects(result.rejects_path) == dict(flat_data.bad)
    assert result.rejects_per_reason == {"corrupt_image": 1, "empty_file": 1, "not_an_image": 1,
                                         "not_rgb": 2, "odd_width": 1}


def test_stats_account_for_every_file(flat_result):
    _, result = flat_result
    with open(result.stats_path) as f:
        stats = json.load(f)
    assert stats == result.stats
    assert stats["files_listed"] == 16
    assert stats["files_listed"] == stats["total_records"] + stats["rejected_files"]
    assert stats["source_sizes"] == {"16x8": 10}
    assert stats["ignored"] == ["notes/"]
    assert (stats["layout"], stats["split_mode"], stats["load_size"]) == ("pix2pix", "hash", 12)
    summary = beam_pipeline.format_summary(result)
    assert "10 pairs (train 8, val 2) from 16 files; 6 files rejected" in summary
    assert "rejected not_rgb: 2" in summary


def test_output_layout_is_sharded_gzip_and_complete(flat_result, flat_data):
    config, result = flat_result
    for split in ("train", "val"):
        assert [os.path.basename(p) for p in result.tfrecords[split]] == [
            "part-00000-of-00002.tfrecord.gz", "part-00001-of-00002.tfrecord.gz"]
        assert sorted(tf.io.gfile.glob(result.file_pattern(split))) == list(result.tfrecords[split])
    with open(result.config_path) as f:
        saved = json.load(f)
    assert saved["config"]["load_size"] == 12
    assert saved["beam_flags"] == ["--runner=DirectRunner"]
    assert "out" in os.listdir(flat_data.root)
    assert not [p for p in os.listdir(flat_data.root) if ".tmp-" in p]  # no temp folder left
    assert beam_pipeline.load_preprocess_result(config.output_dir) == result


def test_rerun_with_same_config_reuses_the_output(flat_result, capsys):
    config, result = flat_result
    before = os.path.getmtime(result.stats_path)
    again = beam_pipeline.run_preprocess(config)
    assert again.reused and again.records_per_split == result.records_per_split
    assert os.path.getmtime(result.stats_path) == before
    assert "reused existing output" in capsys.readouterr().out


def test_changed_config_or_input_refuses_without_overwrite(flat_result, flat_data):
    config, _ = flat_result
    changed = beam_pipeline.PreprocessConfig(**{**config.to_json_dict(), "load_size": 10})
    with pytest.raises(ValueError, match=r"different config \(\['load_size'\]\).*overwrite=True"):
        beam_pipeline.run_preprocess(changed, verbose=False)
    extra = os.path.join(flat_data.data_dir, "new.png")
    save_image(extra, solid(RED, 8, 16))
    try:
        with pytest.raises(ValueError, match="input_fingerprint"):
            beam_pipeline.run_preprocess(config, verbose=False)
    finally:
        os.remove(extra)


def test_foreign_output_dir_is_never_deleted(flat_data, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    config = beam_pipeline.PreprocessConfig(data_dir=flat_data.data_dir, output_dir=str(tmp_path))
    with pytest.raises(ValueError, match="holds other files"):
        beam_pipeline.run_preprocess(config, overwrite=True, verbose=False)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


# ---------------------------------------------------------------------------- A/ and B/ folders


@pytest.fixture(scope="module")
def ab_result(tmp_path_factory):
    root = tmp_path_factory.mktemp("ab")
    data = root / "data"
    for side, color in (("A", RED), ("B", BLUE)):
        for split in ("train", "val"):
            (data / side / split).mkdir(parents=True)
        for name in ("1.png", "2.png", "3.png"):
            save_image(data / side / "train" / name, solid(color))
        save_image(data / side / "val" / "4.png", solid(color))
        save_image(data / side / "train" / "big.png", solid(color, 8, 8 if side == "A" else 10))
    save_image(data / "A" / "train" / "orphan.png", solid(RED))
    (data / "A" / "train" / "broken.png").write_bytes(b"")
    save_image(data / "B" / "train" / "broken.png", solid(BLUE))
    (data / "A" / "loose.txt").write_text("outside the split folders")
    (data / "A" / "extra").mkdir()
    config = beam_pipeline.PreprocessConfig(
        data_dir=str(data), output_dir=str(root / "out"), layout="auto", direction="BtoA",
        load_size=4, num_shards=1)
    return beam_pipeline.run_preprocess(config, verbose=False)


def test_ab_layout_pairs_by_name_and_direction(ab_result, flat_data):
    assert ab_result.records_per_split == {"train": 3, "val": 1}
    assert ab_result.stats["layout"] == "ab" and ab_result.stats["split_mode"] == "folders"
    records = flat_data.records(ab_result.tfrecords["train"])
    assert sorted(name for name, _, _ in records) == ["1.png", "2.png", "3.png"]
    for _, input_image, target_image in records:  # BtoA: input is B (blue)
        np.testing.assert_array_equal(input_image, solid(BLUE, 4, 4))
        np.testing.assert_array_equal(target_image, solid(RED, 4, 4))


def test_ab_layout_rejects_name_each_file(ab_result):
    data = os.path.join(os.path.dirname(ab_result.output_dir), "data")
    with open(ab_result.rejects_path) as f:
        rejects = sorted((os.path.relpath(r["path"], data),
                          r["reason"]) for r in map(json.loads, f))
    assert rejects == [
        ("A/loose.txt", "outside_split_folder"),
        ("A/train/big.png", "size_mismatch"),
        ("A/train/broken.png", "empty_file"),
        ("A/train/orphan.png", "missing_partner"),
        ("B/train/big.png", "size_mismatch"),
        ("B/train/broken.png", "partner_rejected"),
    ]
    stats = ab_result.stats
    assert stats["files_listed"] == 2 * stats["total_records"] + stats["rejected_files"] == 14
    assert stats["ignored"] == ["A/extra/"]


# ---------------------------------------------------------------------------- composites, flags


def test_extract_pairs_composite_on_test_pipeline(flat_data):
    plan = beam_pipeline.plan_inputs(flat_data.data_dir, "pix2pix", 0.3)
    with test_pipeline.TestPipeline(options=beam.options.pipeline_options.PipelineOptions(
            flags=["--runner=DirectRunner"])) as p:
        pairs = p | "ExtractPairs" >> beam_pipeline.ExtractPairs(plan, 4, "AtoB", 0.3)
        names = pairs["records"] | "Names" >> beam.Map(lambda r: (r.split, r.file_name, r.size))
        expected = [("val" if n in flat_data.val_at_0_3 else "train", n, (4, 4))
                    for n in flat_data.good]
        assert_that(names, equal_to(expected), label="CheckRecords")
        reasons = pairs["rejects"] | "Reasons" >> beam.Map(
            lambda r: (os.path.basename(r.path), r.reason))
        assert_that(reasons, equal_to(list(flat_data.bad)), label="CheckRejects")


def test_plan_inputs_layouts(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    (tmp_path / "other").mkdir()
    plan = beam_pipeline.plan_inputs(str(tmp_path))
    assert (plan.layout, plan.split_mode, plan.splits) == ("pix2pix", "folders", ("train", "val"))
    assert plan.ignored == ("other/",)
    assert plan.patterns == tuple(os.path.join(str(tmp_path), p) for p in ("*", "train/*", "val/*"))
    with pytest.raises(FileNotFoundError, match=r"missing \['A', 'B'\]"):
        beam_pipeline.plan_inputs(str(tmp_path), "ab")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        beam_pipeline.plan_inputs(str(tmp_path / "nope"))


def _config(tmp_path, **kwargs):
    return beam_pipeline.PreprocessConfig(data_dir=str(tmp_path / "d"),
                                          output_dir=str(tmp_path / "o"), **kwargs)


def test_pipeline_flags(tmp_path):
    assert beam_pipeline.pipeline_flags(_config(tmp_path)) == ["--runner=DirectRunner"]
    assert beam_pipeline.pipeline_flags(_config(tmp_path, num_workers=3)) == [
        "--runner=DirectRunner", "--direct_running_mode=multi_threading", "--direct_num_workers=3"]
    processes = ("--direct_running_mode=multi_processing",)
    assert beam_pipeline.pipeline_flags(_config(
        tmp_path, num_workers=2, beam_pipeline_args=processes)) == [
        "--runner=DirectRunner", *processes, "--direct_num_workers=2"]
    dataflow = ("--runner=DataflowRunner", "--project=p", "--temp_location=gs://b/t")
    flags = beam_pipeline.pipeline_flags(_config(tmp_path, beam_pipeline_args=dataflow))
    assert flags == list(dataflow)
    with pytest.raises(ValueError, match="DirectRunner only"):
        beam_pipeline.pipeline_flags(_config(tmp_path, num_workers=2, beam_pipeline_args=dataflow))


def test_default_shards_are_one_file_per_bundle_and_an_empty_split_gets_a_file(tmp_path):
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "val").mkdir()
    for i in range(3):
        save_image(data / "train" / f"{i}.png", np.concatenate([solid(RED), solid(BLUE)], 1))
    config = beam_pipeline.PreprocessConfig(data_dir=str(data), output_dir=str(tmp_path / "o"),
                                            load_size=4)
    assert config.num_shards == 0 and config.jpeg_draft == "train"
    result = beam_pipeline.run_preprocess(config, verbose=False)
    assert result.records_per_split == {"train": 3, "val": 0}
    assert result.stats["jpeg_draft"] == "train"
    for split, count in (("train", 3), ("val", 0)):
        files = result.tfrecords[split]
        assert len(files) >= 1  # the runner's bundles decide how many
        records = list(tf.data.TFRecordDataset(list(files), compression_type="GZIP"))
        assert len(records) == count


@pytest.mark.parametrize("kwargs,error,match", [
    ({"layout": "cyclegan"}, ValueError, "layout"),
    ({"direction": "AB"}, ValueError, "direction"),
    ({"load_size": 0}, ValueError, "load_size"),
    ({"val_fraction": 1.0}, ValueError, "val_fraction"),
    ({"num_shards": -1}, ValueError, "num_shards"),
    ({"jpeg_draft": 1}, ValueError, "jpeg_draft"),
    ({"jpeg_draft": "val"}, ValueError, r"jpeg_draft must be one of \('off', 'train', 'all'\)"),
    ({"beam_pipeline_args": "--runner=DirectRunner"}, TypeError, "sequence of flag strings"),
])
def test_config_validation(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        _config(tmp_path, **kwargs)


def _png_pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)))


def _smooth_ab_jpeg(path, height=96, half=96):
    """A smooth A|B JPEG (gradients), large enough for a 1/2 DCT-scale decode at load 40."""
    y, x = np.mgrid[0:height, 0:2 * half]
    image = np.stack([x * 255 // (2 * half), y * 255 // height, (x + y) % 256 // 2], -1)
    Image.fromarray(image.astype(np.uint8)).save(path, format="JPEG", quality=95)


def test_jpeg_draft_mode_normalises_the_boolean_form(tmp_path):
    assert _config(tmp_path).jpeg_draft == "train"
    assert _config(tmp_path, jpeg_draft=True).jpeg_draft == "all"
    assert _config(tmp_path, jpeg_draft=False).jpeg_draft == "off"
    assert _config(tmp_path, jpeg_draft="off").jpeg_draft == "off"


@pytest.mark.parametrize("mode,drafted", [(None, {"train"}), ("all", {"train", "val"}),
                                          ("off", set())])
def test_jpeg_draft_mode_decides_which_splits_are_drafted(tmp_path, flat_data, mode, drafted):
    from tfgan_pipeline.preprocess import elements  # noqa: PLC0415
    data = tmp_path / "data"
    for split in ("train", "val"):
        (data / split).mkdir(parents=True)
        _smooth_ab_jpeg(data / split / f"{split}.jpg")
    config = beam_pipeline.PreprocessConfig(
        data_dir=str(data), output_dir=str(tmp_path / "o"), load_size=40,
        **({} if mode is None else {"jpeg_draft": mode}))
    result = beam_pipeline.run_preprocess(config, verbose=False)
    assert result.stats["jpeg_draft"] == (mode or "train")
    for split in ("train", "val"):
        (name, got_input, got_target), = flat_data.records(result.tfrecords[split])
        path = str(data / split / name)
        with open(path, "rb") as f:
            raw = f.read()
        want, other = (elements.process_pix2pix_file(path, raw, split, 40, "AtoB", draft)
                       for draft in (split in drafted, split not in drafted))
        for got, key in ((got_input, "input_png"), (got_target, "target_png")):
            np.testing.assert_array_equal(got, _png_pixels(getattr(want, key)))
            assert not np.array_equal(got, _png_pixels(getattr(other, key)))  # told apart


def test_jpeg_draft_default_in_the_ab_layout_drafts_the_training_split_only(tmp_path,
                                                                            flat_data):
    from tfgan_pipeline.preprocess import elements  # noqa: PLC0415
    data = tmp_path / "data"
    for side in ("A", "B"):
        for split in ("train", "val"):
            (data / side / split).mkdir(parents=True)
            _smooth_ab_jpeg(data / side / split / "1.jpg", half=48)  # 96x96 per side
    config = beam_pipeline.PreprocessConfig(data_dir=str(data), output_dir=str(tmp_path / "o"),
                                            load_size=40)
    result = beam_pipeline.run_preprocess(config, verbose=False)
    assert result.stats["layout"] == "ab" and result.records_per_split == {"train": 1, "val": 1}
    for split in ("train", "val"):
        (_, got_input, _), = flat_data.records(result.tfrecords[split])
        files = []
        for side in ("A", "B"):
            path = str(data / side / split / "1.jpg")
            with open(path, "rb") as f:
                files.append((side, path, f.read()))
        want, other = (elements.process_ab_pair(split, "1.jpg", files, 40, "AtoB", draft)[0]
                       for draft in (split == "train", split != "train"))
        np.testing.assert_array_equal(got_input, _png_pixels(want.input_png))
        assert not np.array_equal(got_input, _png_pixels(other.input_png))


def test_output_inside_data_dir_is_refused(tmp_path):
    with pytest.raises(ValueError, match="inside one another"):
        beam_pipeline.PreprocessConfig(data_dir=str(tmp_path), output_dir=str(tmp_path / "out"))


def test_rejects_file_is_one_sorted_file_and_empty_when_nothing_is_rejected(tmp_path):
    from tfgan_pipeline.preprocess import beam_common, elements  # noqa: PLC0415
    rejects = [elements.Reject(f"/d/{name}.jpg", "corrupt_image", "bad") for name in "cab"]
    paths = [str(tmp_path / "rejects.jsonl"), str(tmp_path / "none.jsonl")]
    with beam.Pipeline() as p:
        _ = p | "Some" >> beam.Create(rejects) | "W1" >> beam_common.WriteRejects(paths[0])
        _ = (p | "None" >> beam.Create([]).with_output_types(elements.Reject)
             | "W2" >> beam_common.WriteRejects(paths[1]))
    lines = open(paths[0]).read().splitlines()
    assert [json.loads(line)["path"] for line in lines] == ["/d/a.jpg", "/d/b.jpg", "/d/c.jpg"]
    assert open(paths[1]).read() == ""
    assert sorted(os.listdir(tmp_path)) == ["none.jsonl", "rejects.jsonl"]
