"""The pix2pix job as a pipeline on synthetic pairs: stages, caching, reruns, blessing,
the pushed servable, resume after kill -9, errors, CLI."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import config as config_lib
from tfgan_pipeline import families
from tfgan_pipeline.monitoring import report as html_lib
from tfgan_pipeline.pipeline import components, examples, jobs, layout
from tfgan_pipeline.pipeline.metadata import MetadataStore

#: End-to-end runs: the "slow" tier (see BUILD.md, "Test tiers").
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cfg(root, **kw):
    # batch_stats: a deterministic test-time mode, so served and in-process outputs compare.
    base = dict(output_dir=str(root), image_size=32, load_size=36, base_filters=4, train_steps=4,
                checkpoint_every=2, synthetic_pairs=16, model_name="tiny", eval_mode="batch_stats",
                require_beating_baseline=False)
    base.update(kw)
    return config_lib.Pix2PixConfig(**base)


def _run(cfg):
    lines = []
    return jobs.run_job(cfg, log=lines.append), lines


def _states(lines):
    """{component: "cached" | "ran"} from a run's log."""
    out = {}
    for line in lines:
        for name in ("ExampleGen", "Trainer", "Evaluator", "Pusher"):
            if line.startswith(f"{name}: cached"):
                out[name] = "cached"
            elif line.startswith(f"{name}: running"):
                out[name] = "ran"
    return out


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    root = tmp_path_factory.mktemp("pix2pix")
    return root, *_run(_cfg(root))


def test_first_run_writes_every_stage_and_pushes(first):
    root, result, lines = first
    assert _states(lines) == dict.fromkeys(("ExampleGen", "Trainer", "Evaluator", "Pusher"), "ran")
    ex = result.output("ExampleGen", "examples")
    stats = json.load(open(layout.artifact_file(ex.uri, "Examples", "stats")))
    assert stats["total_records"] == 16 and ex.properties["records_per_split"]["train"] >= 1
    metrics = json.load(open(layout.artifact_file(
        result.output("Evaluator", "evaluation").uri, "ModelEvaluation", "metrics")))
    for key in ("l1", "psnr", "ssim", "baseline_l1", "baseline_psnr", "baseline_ssim"):
        assert np.isfinite(metrics[key]), key
    assert metrics["l1_0_255"] == pytest.approx(metrics["l1"] * 127.5)
    assert metrics["held_out"] and metrics["steps"] == 4
    pushed = result.output("Pusher", "pushed_model").properties
    assert pushed["pushed"] == 1 and pushed["version"] == 1
    assert pushed["path"] == os.path.join(str(root), "serving", "tiny", "1")
    assert os.path.exists(os.path.join(pushed["path"], "assets.extra",
                                       "tf_serving_warmup_requests"))
    assert "tiny" in open(os.path.join(str(root), "serving", "models.config")).read()
    out = "\n".join(lines)
    for label in ("stats", "rejects", "samples", "metrics", "blessing", "servable", "report"):
        assert f"\n  {label}" in out, label


def test_mean_target_baseline_is_the_mean_of_the_training_targets(first):
    _, result, _ = first
    data = examples.open_examples(result.output("ExampleGen", "examples"))
    targets = np.concatenate([t.numpy() for _, t in data.train_eval_dataset(8, 32)])
    np.testing.assert_allclose(families.mean_target_image(data, 32), targets.mean(axis=0),
                               atol=1e-5)


def test_served_png_is_the_trained_models_translation(first):
    _, result, _ = first
    loaded = tf.saved_model.load(result.output("Pusher", "pushed_model").properties["path"])
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    served = loaded.signatures["serving_default"](image_bytes=tf.stack([tf.io.encode_png(pixels)]))
    decoded = tf.io.decode_png(served["output_png_bytes"][0]).numpy()
    data = examples.open_examples(result.output("ExampleGen", "examples"))
    _, _, model = components._rebuild(result.output("Trainer", "model"), data)
    x = pixels[None].astype(np.float32) / 127.5 - 1.0
    expected = np.clip(np.round((model.translate(x, mode="batch_stats").numpy()[0] + 1) * 127.5),
                       0, 255)
    assert np.abs(decoded.astype(np.float32) - expected).max() <= 1.0
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a decodable PNG or JPEG"):
        loaded.signatures["serving_default"](image_bytes=tf.constant([b"not an image"]))


def test_rerun_is_cached_and_parameter_changes_rerun_downstream_only(first):
    root, result, _ = first
    again, lines = _run(_cfg(root))
    assert _states(lines) == dict.fromkeys(("ExampleGen", "Trainer", "Evaluator", "Pusher"),
                                           "cached")
    assert again.output("Pusher", "pushed_model").id == result.output("Pusher", "pushed_model").id
    # More steps: the Trainer continues from its checkpoint; a new version is pushed.
    more, lines = _run(_cfg(root, train_steps=6))
    assert _states(lines) == {"ExampleGen": "cached", "Trainer": "ran", "Evaluator": "ran",
                              "Pusher": "ran"}
    assert any(line.startswith("Resuming from step 4") for line in lines)
    assert more.output("Pusher", "pushed_model").properties["version"] == 2
    # The Evaluator compared it with the model pushed before (version 1's).
    metrics = json.load(open(layout.artifact_file(
        more.output("Evaluator", "evaluation").uri, "ModelEvaluation", "metrics")))
    assert "pushed_l1" in metrics
    # A test-time mode change is Evaluator and Pusher business only.
    _, lines = _run(_cfg(root, train_steps=6, eval_mode="inference"))
    assert _states(lines) == {"ExampleGen": "cached", "Trainer": "cached", "Evaluator": "ran",
                              "Pusher": "ran"}


def test_an_unblessed_model_is_not_pushed_and_the_reason_is_printed(first):
    root, _, _ = first
    result, lines = _run(_cfg(root, train_steps=6, blessing_thresholds=("ssim>=0.999",)))
    pushed = result.output("Pusher", "pushed_model").properties
    assert pushed["pushed"] == 0
    assert any("not pushed" in line and "ssim >= 0.999" in line for line in lines)
    blessing = result.output("Evaluator", "blessing")
    assert os.path.exists(layout.artifact_file(blessing.uri, "ModelBlessing", "not_blessed"))
    assert not os.path.exists(layout.artifact_file(blessing.uri, "ModelBlessing", "blessed"))


def test_report_shows_verdict_baseline_and_lineage_with_working_links(first):
    _, result, _ = first
    index = result.report_path
    assert html_lib.check_report_links(index) == []
    page = open(index, encoding="utf-8").read()
    for needle in ("BLESSED", "trivial baseline", "pushed model", "version", "Lineage",
                   "ExampleGen", "curves_g_l1_loss.png", "triplets.png", "stats.json"):
        assert needle in page, needle


def test_bad_flags_fail_naming_the_flag_and_write_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"--data_dir='.*missing' is not a folder"):
        _cfg(tmp_path / "a", data_dir=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"--receptive_field=12 is not one of \[1, 16, 70, 286\]"):
        _cfg(tmp_path / "a", receptive_field=12)
    with pytest.raises(ValueError, match="--load_size=16 must be >= --image_size=32"):
        _cfg(tmp_path / "a", load_size=16)
    with pytest.raises(ValueError, match="--blessing_thresholds entry 'ssim=1'"):
        _cfg(tmp_path / "a", blessing_thresholds=("ssim=1",))
    with pytest.raises(ValueError, match=r"--jpeg_draft='val' must be one of \('off', 'train'"):
        _cfg(tmp_path / "a", jpeg_draft="val")
    assert _cfg(tmp_path / "a").jpeg_draft == "train"
    assert _cfg(tmp_path / "a", jpeg_draft=False).jpeg_draft == "off"
    assert not (tmp_path / "a").exists()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="No training pairs"):
        _run(_cfg(tmp_path / "b", data_dir=str(junk)))
    store = MetadataStore(os.path.join(tmp_path / "b", "metadata.sqlite"))
    assert [e.state for e in store.executions("ExampleGen")] == ["FAILED"]


def test_command_line_and_kill_9_resume(tmp_path):
    root = tmp_path / "cli"
    args = [sys.executable, "-m", "pipelines.pix2pix", f"--output_dir={root}", "--image_size=32",
            "--load_size=36", "--base_filters=4", "--checkpoint_every=5", "--synthetic_pairs=8",
            "--receptive_field=16", "--generator=encoder_decoder", "--direction=BtoA",
            "--gan_loss=least_squares", "--norequire_beating_baseline"]
    proc = subprocess.Popen(args + ["--train_steps=100000"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    work = os.path.join(root, "pix2pix", "Trainer", ".work")
    deadline = time.time() + 240
    while time.time() < deadline:
        found = [f for d, _, fs in os.walk(work) for f in fs if f.startswith("ckpt-10.index")]
        if found:
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    killed_output = proc.communicate()[0]
    assert found, killed_output[-3000:]
    done = subprocess.run(args + ["--train_steps=40"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ExampleGen: cached" in done.stdout
    resumed = [line for line in done.stdout.splitlines() if line.startswith("Resuming from step")]
    assert resumed and int(resumed[0].split()[3]) >= 10
    assert "Pusher: done" in done.stdout and "pushed version 1" in done.stdout
    model_dir = [line.split()[1] for line in done.stdout.splitlines()
                 if line.strip().startswith("model ")][0]
    model_spec = json.load(open(os.path.join(model_dir, "model.json")))
    assert model_spec["steps"] == 40 and model_spec["hparams"]["receptive_field"] == 16
    store = MetadataStore(os.path.join(root, "metadata.sqlite"))
    assert [e.state for e in store.executions("Trainer")] == ["FAILED", "COMPLETE"]
    bad = subprocess.run([sys.executable, "-m", "pipelines.pix2pix", f"--output_dir={tmp_path}/x",
                          "--load_size=8"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--load_size=8 must be >= --image_size=256" in bad.stderr
    assert not os.path.exists(tmp_path / "x")
