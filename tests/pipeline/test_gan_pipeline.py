"""End-to-end GAN job: toy and image data, outputs, resume, config conflicts, CLI."""

import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import config as config_lib
from tfgan_pipeline.data import toy
from tfgan_pipeline.evaluation import toy_mode_coverage
from tfgan_pipeline.pipeline import gan as gan_job

#: End-to-end runs: the "slow" tier (see BUILD.md, "Test tiers").
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_toy_run_writes_outputs_and_resumes(tmp_path):
    cfg = config_lib.GANConfig(dataset="ring8", output_dir=str(tmp_path / "run"), train_steps=60,
                               checkpoint_every=30, batch_size=64, num_samples=500)
    logs = []
    first = gan_job.run_gan(cfg, log=logs.append)
    assert first.steps == 60
    for name in ("config.json", "samples.png", "metrics.json"):
        assert os.path.exists(os.path.join(first.output_dir, name)), name
    metrics = json.load(open(first.metrics_path))
    # The reported coverage is that of the trained generator's samples (seeded).
    samples = first.model.generate(cfg.num_samples, seed=cfg.seed).numpy()
    coverage = toy_mode_coverage(samples, toy.get_toy("ring8"))
    assert metrics["num_modes"] == 8
    assert metrics["modes_covered"] == coverage.modes_covered
    assert metrics["high_quality_fraction"] == pytest.approx(coverage.high_quality_fraction)
    assert any("step 60/60" in line for line in logs)

    # Rerun asking for more steps continues from the checkpoint instead of restarting.
    logs.clear()
    second = gan_job.run_gan(cfg.__class__(**{**config_lib.to_dict(cfg), "train_steps": 90}),
                             log=logs.append)
    assert second.steps == 90 and second.metrics["resumed_from"] == 60
    assert any("Resuming from step 60" in line for line in logs)


def test_resume_with_conflicting_settings_is_refused(tmp_path):
    cfg = config_lib.GANConfig(dataset="ring8", output_dir=str(tmp_path), train_steps=5,
                               checkpoint_every=5, batch_size=16, num_samples=100)
    gan_job.run_gan(cfg, log=lambda s: None)
    changed = config_lib.GANConfig(**{**config_lib.to_dict(cfg), "gan": "wgan_gp"})
    with pytest.raises(ValueError, match=r"gan: 'gan' -> 'wgan_gp'.*new --output_dir"):
        gan_job.run_gan(changed, log=lambda s: None)
    # The refused run left the first run's config untouched.
    assert json.load(open(tmp_path / "config.json"))["gan"] == "gan"


def _write_idx(folder, n=64):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + labels.tobytes())


@pytest.mark.parametrize("family,extra_metric,visual", [
    ("dcgan", "frechet_distance", "latent_walk.png"),
    ("wgan_gp", "kid", "interpolation_slerp.png"),
    ("cgan", "label_accuracy", "class_grid.png"),
    ("acgan", "label_accuracy", "class_grid.png"),
    ("infogan", "categorical_code_accuracy", "infogan_categorical.png"),
])
def test_image_run_on_an_idx_folder(tmp_path, family, extra_metric, visual):
    from tfgan_pipeline.monitoring import report

    _write_idx(tmp_path)
    cfg = config_lib.GANConfig(gan=family, dataset=str(tmp_path), output_dir=str(tmp_path / "run"),
                               train_steps=2, checkpoint_every=2, batch_size=4, image_size=32,
                               width=4, latent_dim=8, num_samples=16, eval_samples=32)
    result = gan_job.run_gan(cfg, log=lambda s: None)
    assert result.steps == 2
    assert open(result.samples_path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert extra_metric in result.metrics and result.metrics["eval_num_samples"] == 32
    assert os.path.exists(os.path.join(result.output_dir, "visuals", visual))
    assert os.path.exists(os.path.join(result.output_dir, "classifier",
                                       "feature_classifier.keras"))
    assert os.listdir(os.path.join(result.output_dir, "tensorboard"))
    assert report.check_report_links(result.report_path) == []
    # The generator is served: a SavedModel version that computes the trained
    # generator's images for the same inputs.
    assert result.export_version == 1
    loaded = tf.saved_model.load(result.export_path)
    gan = result.model
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    if family in ("cgan", "acgan"):
        labels = np.array([0, 3, 9], np.int32)
        served = loaded.signatures["serving_default"](z=tf.constant(z), label=tf.constant(labels))
        expected = gan.generate(3, noise=z, labels=labels)
        with pytest.raises(tf.errors.InvalidArgumentError, match="label must be < num_classes"):
            loaded.signatures["serving_default"](z=tf.constant(z), label=tf.constant([0, 1, 10]))
    elif family == "infogan":
        z = np.random.default_rng(0).normal(size=(3, 8 + 10 + 2)).astype("float32")
        served = loaded.signatures["serving_default"](z=tf.constant(z))
        expected = gan.generator(z, training=False)
    else:
        served = loaded.signatures["serving_default"](z=tf.constant(z))
        expected = gan.generate(3, noise=z)
    assert served["images"].shape == (3, 32, 32, 1)
    np.testing.assert_allclose(served["images"].numpy(), np.asarray(expected), atol=1e-5)


def test_unknown_dataset_is_named_in_the_error(tmp_path):
    cfg = config_lib.GANConfig(dataset="no_such_thing", output_dir=str(tmp_path))
    with pytest.raises(ValueError, match="no_such_thing"):
        gan_job.run_gan(cfg, log=lambda s: None)


def test_config_validation():
    with pytest.raises(ValueError, match="gan must be one of"):
        config_lib.GANConfig(gan="stylegan")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        config_lib.GANConfig(batch_size=0)


def test_command_line_runs_end_to_end(tmp_path):
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.gan", "--gan=wgan", "--dataset=grid25",
         "--train_steps=4", "--checkpoint_every=2", "--batch_size=8", f"--output_dir={out}",
         "--num_samples=100"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "step 4/4" in proc.stdout
    assert json.load(open(out / "config.json"))["gan"] == "wgan"
    assert json.load(open(out / "metrics.json"))["num_modes"] == 25
    bad = subprocess.run([sys.executable, "-m", "pipelines.gan", "--gan=nope"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "nope" in bad.stderr


def test_mirrored_strategy_run(tmp_path, mirrored_strategy):
    cfg = config_lib.GANConfig(gan="dcgan", dataset="ring8", output_dir=str(tmp_path),
                               strategy="mirrored", train_steps=6, checkpoint_every=3,
                               batch_size=16, num_samples=200)
    result = gan_job.run_gan(cfg, log=lambda s: None)
    assert result.steps == 6
    assert np.isfinite(result.metrics["d_loss"])


def test_a_batch_that_does_not_split_over_the_replicas_names_the_flag(tmp_path,
                                                                     mirrored_strategy):
    cfg = config_lib.GANConfig(gan="gan", dataset="ring8", output_dir=str(tmp_path),
                               strategy="mirrored", train_steps=2, batch_size=5)
    with pytest.raises(ValueError, match=r"--batch_size=5 x d_steps=1 = 5 .* 2 replicas"):
        gan_job.run_gan(cfg, log=lambda s: None)
    # Nothing was written that would block the corrected rerun.
    assert not os.path.exists(tmp_path / "config.json")
    fixed = config_lib.GANConfig(**{**config_lib.to_dict(cfg), "batch_size": 6,
                                    "checkpoint_every": 2, "num_samples": 100})
    assert gan_job.run_gan(fixed, log=lambda s: None).steps == 2


def test_time_budget_stops_early_with_a_checkpoint(tmp_path):
    cfg = config_lib.GANConfig(dataset="ring8", output_dir=str(tmp_path), train_steps=100000,
                               checkpoint_every=50, batch_size=16, num_samples=100,
                               max_minutes=0.05)
    logs = []
    result = gan_job.run_gan(cfg, log=logs.append)
    assert 0 < result.steps < 100000
    assert any("Time budget" in line for line in logs)
    assert os.path.exists(tmp_path / "checkpoints" / f"ckpt-{result.steps}.index")
