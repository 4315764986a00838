"""End-to-end pix2pix job on synthetic pairs: outputs, served model, resume, errors, CLI."""

import base64
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import config as config_lib
from tfgan_pipeline.pipeline import pix2pix as pix2pix_job

#: End-to-end runs: the "slow" tier (see BUILD.md, "Test tiers").
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cfg(out, **kw):
    # batch_stats: deterministic test-time mode, so served and in-process outputs compare.
    base = dict(output_dir=str(out), image_size=32, load_size=36, base_filters=4, train_steps=4,
                checkpoint_every=2, synthetic_pairs=16, model_name="tiny",
                eval_mode="batch_stats")
    base.update(kw)
    return config_lib.Pix2PixConfig(**base)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pix2pix")
    logs = []
    return pix2pix_job.run_pix2pix(_cfg(out), log=logs.append), logs


def test_run_writes_every_stage(first_run):
    result, logs = first_run
    out = result.output_dir
    assert result.steps == 4
    assert os.path.exists(os.path.join(out, "preprocessed", "stats.json"))
    metrics = json.load(open(result.metrics_path))
    assert metrics["held_out"] and metrics["split"] == "val" and metrics["num_images"] >= 1
    for key in ("l1", "psnr", "ssim"):
        assert np.isfinite(metrics[key]), key
    assert metrics["l1_0_255"] == pytest.approx(metrics["l1"] * 127.5)
    assert open(result.triplets_path, "rb").read(4) == b"\x89PNG"
    assert result.export_version == 1
    assert os.path.exists(os.path.join(result.export_path, "saved_model.pb"))
    assert os.path.exists(os.path.join(result.export_path, "assets.extra",
                                       "tf_serving_warmup_requests"))
    assert "tiny" in open(os.path.join(out, "export", "models.config")).read()
    assert any("synthetic" in line for line in logs)
    from tfgan_pipeline.monitoring import report

    assert report.check_report_links(result.report_path) == []
    assert os.listdir(os.path.join(out, "samples")) and os.listdir(os.path.join(out, "tensorboard"))
    assert open(os.path.join(out, "history.jsonl")).readline().startswith("{")


def test_exported_model_serves_png_bytes(first_run):
    result, _ = first_run
    loaded = tf.saved_model.load(result.export_path)
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    png = tf.io.encode_png(pixels)
    out = loaded.signatures["serving_default"](image_bytes=tf.stack([png]))
    decoded = tf.io.decode_png(out["output_png_bytes"][0]).numpy()
    # The served PNG is the trained model's translation of the same image.
    x = pixels[None].astype(np.float32) / 127.5 - 1.0
    expected = result.model.translate(x, mode="batch_stats").numpy()[0]
    expected = np.clip(np.round((expected + 1.0) * 127.5), 0, 255)
    assert decoded.shape == (32, 32, 3)
    assert np.abs(decoded.astype(np.float32) - expected).max() <= 1.0
    other = loaded.signatures["serving_default"](
        image_bytes=tf.stack([tf.io.encode_png(tf.zeros([50, 70, 3], tf.uint8))]))
    assert tf.io.decode_png(other["output_png_bytes"][0]).shape == (32, 32, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a decodable PNG or JPEG"):
        loaded.signatures["serving_default"](image_bytes=tf.constant([b"not an image"]))


def test_rerun_resumes_and_exports_a_new_version_only_for_new_weights(first_run):
    result, _ = first_run
    logs = []
    more = pix2pix_job.run_pix2pix(_cfg(result.output_dir, train_steps=6), log=logs.append)
    assert more.steps == 6 and more.metrics["resumed_from"] == 4
    assert any(line.startswith("Reused TFRecords") for line in logs)
    assert more.export_version == 2
    logs.clear()
    again = pix2pix_job.run_pix2pix(_cfg(result.output_dir, train_steps=6), log=logs.append)
    assert again.export_version == 2
    assert any("not exporting again" in line for line in logs)
    # A different test-time mode is a different served model: a new version.
    other = pix2pix_job.run_pix2pix(_cfg(result.output_dir, train_steps=6, eval_mode="inference"),
                                    log=lambda s: None)
    assert other.export_version == 3 and other.metrics["eval_mode"] == "inference"


def test_changed_architecture_is_refused(first_run):
    result, _ = first_run
    with pytest.raises(ValueError, match="receptive_field: 70 -> 16"):
        pix2pix_job.run_pix2pix(_cfg(result.output_dir, receptive_field=16), log=lambda s: None)


def test_bad_inputs_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        pix2pix_job.run_pix2pix(_cfg(tmp_path / "a", data_dir=str(tmp_path / "missing")),
                                log=lambda s: None)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="No training pairs"):
        pix2pix_job.run_pix2pix(_cfg(tmp_path / "b", data_dir=str(junk)), log=lambda s: None)
    with pytest.raises(ValueError, match="load_size"):
        _cfg(tmp_path, load_size=16)


def test_command_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.pix2pix", f"--output_dir={tmp_path}", "--image_size=32",
         "--load_size=36", "--base_filters=4", "--train_steps=2", "--checkpoint_every=2",
         "--synthetic_pairs=8", "--receptive_field=16", "--generator=encoder_decoder",
         "--direction=BtoA", "--gan_loss=least_squares"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Exported version 1" in proc.stdout
    cfg = json.load(open(tmp_path / "config.json"))
    assert cfg["receptive_field"] == 16 and cfg["generator"] == "encoder_decoder"
