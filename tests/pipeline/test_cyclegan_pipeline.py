"""The CycleGAN job as a pipeline: synthetic pairs used unpaired, a domains folder, the
served a_to_b / b_to_a signatures by value, errors, CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_pipeline import config as config_lib
from tfgan_pipeline.monitoring import report as html_lib
from tfgan_pipeline.pipeline import components, examples, jobs, layout

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cfg(root, **kw):
    base = dict(output_dir=str(root), image_size=24, load_size=28, base_filters=4, num_blocks=1,
                train_steps=2, checkpoint_every=2, synthetic_pairs=16, pool_size=4,
                require_beating_baseline=False)
    base.update(kw)
    return config_lib.CycleGANConfig(**base)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    lines = []
    return jobs.run_job(_cfg(tmp_path_factory.mktemp("cyclegan")), log=lines.append), lines


def test_unpaired_run_evaluates_cycles_and_the_true_partners(synthetic):
    result, lines = synthetic
    ex = result.output("ExampleGen", "examples").properties
    assert ex["paired_test"] == 1 and ex["layout"] == "pix2pix_unpaired"
    domains = ex["records_per_domain"]
    assert domains["A"]["test"] == domains["B"]["test"] >= 1
    metrics = json.load(open(layout.artifact_file(
        result.output("Evaluator", "evaluation").uri, "ModelEvaluation", "metrics")))
    for key in ("cycle_l1_a", "cycle_l1_b", "l1_ab", "psnr_ab", "ssim_ab", "l1_ba",
                "baseline_l1_ab", "baseline_cycle_l1_a"):
        assert np.isfinite(metrics[key]), key
    assert metrics["l1"] == metrics["l1_ab"] and metrics["l1_is"] == "l1_ab"
    # The cycle metric is what the trained networks do to the test images.
    data = examples.open_examples(result.output("ExampleGen", "examples"))
    _, _, model = components._rebuild(result.output("Trainer", "model"), data)
    a = data.test_images("A", 24)
    back = model.translate(model.translate(a, "a_to_b", batch_size=1), "b_to_a", batch_size=1)
    assert metrics["cycle_l1_a"] == pytest.approx(float(np.abs(a - back.numpy()).mean()),
                                                  rel=1e-4)
    assert html_lib.check_report_links(result.report_path) == []
    assert any("cycles.png" in f for f in os.listdir(layout.artifact_file(
        result.output("Evaluator", "evaluation").uri, "ModelEvaluation", "figures")))


def test_served_directions_are_the_trained_generators(synthetic):
    result, _ = synthetic
    props = result.output("Pusher", "pushed_model").properties
    loaded = tf.saved_model.load(props["path"])
    assert {"serving_default", "a_to_b", "b_to_a"} <= set(loaded.signatures)
    data = examples.open_examples(result.output("ExampleGen", "examples"))
    _, _, model = components._rebuild(result.output("Trainer", "model"), data)
    pixels = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    x = pixels[None].astype(np.float32) / 127.5 - 1.0
    for signature, direction in (("a_to_b", "a_to_b"), ("b_to_a", "b_to_a"),
                                 ("serving_default", "a_to_b")):
        served = loaded.signatures[signature](image_bytes=tf.stack([tf.io.encode_png(pixels)]))
        decoded = tf.io.decode_png(served["output_png_bytes"][0]).numpy().astype(np.float32)
        expected = np.clip(np.round((model.translate(x, direction).numpy()[0] + 1) * 127.5), 0,
                           255)
        assert np.abs(decoded - expected).max() <= 1.0, signature


def test_a_domains_folder_trains_and_reports_cycle_metrics_only(tmp_path):
    rng = np.random.default_rng(0)
    for folder, count in (("trainA", 5), ("trainB", 3), ("testA", 2), ("testB", 2)):
        os.makedirs(tmp_path / "data" / folder)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(
                tmp_path / "data" / folder / f"{folder}_{i}.png")
    (tmp_path / "data" / "trainA" / "broken.png").write_bytes(b"not a png")
    result = jobs.run_job(_cfg(tmp_path / "run", data_dir=str(tmp_path / "data")),
                          log=lambda s: None)
    ex = result.output("ExampleGen", "examples").properties
    assert ex["paired_test"] == 0 and ex["rejects"] == 1
    assert ex["records_per_domain"]["A"]["train"] == 5 and ex["records_per_domain"]["B"]["train"] == 3
    metrics = json.load(open(layout.artifact_file(
        result.output("Evaluator", "evaluation").uri, "ModelEvaluation", "metrics")))
    assert "l1_ab" not in metrics and metrics["l1_is"] == "cycle_l1_a"


def test_bad_settings_fail_naming_the_flag(tmp_path):
    with pytest.raises(ValueError, match="--layout='ab' is not one of"):
        _cfg(tmp_path, layout="ab")
    with pytest.raises(ValueError, match="--image_size=18 must be a multiple of 4"):
        _cfg(tmp_path, image_size=18)
    with pytest.raises(ValueError, match="--image_size=20 .* 70x70 PatchGAN"):
        _cfg(tmp_path, image_size=20)
    with pytest.raises(ValueError, match="--data_dir=.* is not a folder"):
        _cfg(tmp_path, data_dir=str(tmp_path / "missing"))
    proc = subprocess.run([sys.executable, "-m", "pipelines.cyclegan", f"--output_dir={tmp_path}/c",
                           "--image_size=24", "--load_size=28", "--base_filters=4",
                           "--num_blocks=1", "--train_steps=2", "--checkpoint_every=2",
                           "--synthetic_pairs=8", "--norequire_beating_baseline"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pushed version 1" in proc.stdout
