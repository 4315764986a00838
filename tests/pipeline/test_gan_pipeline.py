"""The GAN job as a pipeline: toy data, outputs, coverage by value, resume, errors, CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import config as config_lib
from tfgan_pipeline.data import toy
from tfgan_pipeline.evaluation import toy_mode_coverage
from tfgan_pipeline.monitoring import report as html_lib
from tfgan_pipeline.pipeline import components, examples, jobs, layout

#: End-to-end runs: the "slow" tier (see BUILD.md, "Test tiers").
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cfg(root, **kw):
    base = dict(dataset="ring8", output_dir=str(root), train_steps=60, checkpoint_every=30,
                batch_size=64, num_samples=500, pipeline_name="ring")
    base.update(kw)
    return config_lib.GANConfig(**base)


def _run(cfg):
    lines = []
    return jobs.run_job(cfg, log=lines.append), lines


def _model(result):
    data = examples.open_examples(result.output("ExampleGen", "examples"))
    return data, components._rebuild(result.output("Trainer", "model"), data)[2]


def _metrics(result):
    return json.load(open(layout.artifact_file(result.output("Evaluator", "evaluation").uri,
                                               "ModelEvaluation", "metrics")))


def test_toy_run_reports_the_trained_generators_coverage_and_resumes(tmp_path):
    cfg = _cfg(tmp_path)
    result, lines = _run(cfg)
    # --precision=auto never picks bfloat16 for 2-D mixtures, whatever the CPU.
    assert any(line.startswith("Trainer: precision auto -> float32 (toy mixture")
               for line in lines)
    metrics = _metrics(result)
    data, gan = _model(result)
    # The reported coverage is that of the trained generator's seeded samples.
    coverage = toy_mode_coverage(gan.generate(cfg.num_samples, seed=cfg.seed).numpy(),
                                 toy.get_toy("ring8"))
    assert metrics["num_modes"] == 8 and metrics["steps"] == 60
    assert metrics["modes_covered"] == coverage.modes_covered
    assert metrics["high_quality_fraction"] == pytest.approx(coverage.high_quality_fraction)
    # Real samples against the mixture: the floor covers every mode, ~98.9% high quality.
    assert metrics["floor_modes_covered"] == 8
    assert metrics["floor_high_quality_fraction"] == pytest.approx(0.989, abs=0.02)
    assert metrics["baseline_high_quality_fraction"] < 0.2  # one fitted Gaussian
    assert html_lib.check_report_links(result.report_path) == []
    assert os.path.exists(layout.artifact_file(result.output("Evaluator", "evaluation").uri,
                                               "ModelEvaluation", "figures") + "/samples.png")
    # Asking for more steps continues the same training.
    more, lines = _run(_cfg(tmp_path, train_steps=90))
    assert any(line.startswith("Resuming from step 60") for line in lines)
    assert _metrics(more)["steps"] == 90
    assert any(line.startswith("ExampleGen: cached") for line in lines)


def test_pushed_generator_serves_the_trained_generators_samples(tmp_path):
    result, _ = _run(_cfg(tmp_path, gan="wgan", train_steps=10, checkpoint_every=5,
                          require_beating_baseline=False, model_name="toy_wgan"))
    props = result.output("Pusher", "pushed_model").properties
    assert props["pushed"] == 1 and props["path"].endswith(os.path.join("toy_wgan", "1"))
    _, gan = _model(result)
    loaded = tf.saved_model.load(props["path"])
    z = np.random.default_rng(0).normal(size=(3, gan.latent_dim)).astype("float32")
    served = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    np.testing.assert_allclose(served, gan.generate(3, noise=z).numpy(), atol=1e-5)
    sampled = loaded.signatures["sample"](num_samples=tf.constant(4, tf.int32),
                                          seed=tf.constant(7, tf.int64))
    np.testing.assert_allclose(sampled["images"].numpy(), gan.generate(4, seed=7).numpy(),
                               atol=1e-5)


def test_bad_settings_fail_naming_the_flag(tmp_path):
    with pytest.raises(ValueError, match="--gan='stylegan' is not one of"):
        config_lib.GANConfig(gan="stylegan")
    with pytest.raises(ValueError, match="--batch_size=0 must be a number >= 1"):
        config_lib.GANConfig(batch_size=0)
    with pytest.raises(ValueError, match="--dataset='no_such_thing' is neither a toy"):
        config_lib.GANConfig(dataset="no_such_thing")
    with pytest.raises(ValueError, match="--gan=infogan needs image data"):
        config_lib.GANConfig(gan="infogan", dataset="ring8")
    with pytest.raises(ValueError, match="--loss='nope' is not one of"):
        config_lib.GANConfig(loss="nope")


def test_a_batch_that_does_not_split_over_the_replicas_names_the_flag(tmp_path,
                                                                     mirrored_strategy):
    cfg = _cfg(tmp_path, distribution_strategy="mirrored", train_steps=2, batch_size=5)
    with pytest.raises(ValueError, match=r"--batch_size=5 x d_steps=1 = 5 .* 2 replicas"):
        _run(cfg)
    assert not os.path.exists(tmp_path / "metadata.sqlite")  # nothing written
    fixed, _ = _run(_cfg(tmp_path, distribution_strategy="mirrored", train_steps=4,
                         checkpoint_every=2, batch_size=6))
    assert _metrics(fixed)["steps"] == 4


def test_time_budget_stops_early_with_a_checkpoint_and_the_rerun_continues(tmp_path):
    result, lines = _run(_cfg(tmp_path, train_steps=100000, checkpoint_every=50,
                              max_minutes=0.05))
    assert result.interrupted and "rerun the same command" in result.interrupted
    assert "Evaluator" not in result.runs
    resumed, lines = _run(_cfg(tmp_path, train_steps=100000, checkpoint_every=50,
                               max_minutes=0.05))
    step = [int(line.split()[3].rstrip(".")) for line in lines
            if line.startswith("Resuming from step")]
    assert step and step[0] > 0


def test_command_line_runs_end_to_end(tmp_path):
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.gan", "--gan=wgan", "--dataset=grid25",
         "--train_steps=4", "--checkpoint_every=2", "--batch_size=8", f"--output_dir={out}",
         "--num_samples=100", "--intra_op_threads=1", "--inter_op_threads=2"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Trainer: done" in proc.stdout and "step 4/4" in proc.stdout
    assert "TensorFlow threads: intra-op 1, inter-op 2" in proc.stdout
    assert os.path.exists(out / "metadata.sqlite") and os.path.isdir(out / "wgan")
    bad = subprocess.run([sys.executable, "-m", "pipelines.gan", "--gan=nope"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "nope" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "pipelines.gan", f"--output_dir={tmp_path}/x",
                          "--inter_op_threads=-1"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "--inter_op_threads must be an integer >= 0" in bad.stderr
    assert not os.path.exists(tmp_path / "x")


def _write_idx(folder, n=64):
    import gzip
    import struct

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
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
    data = tmp_path / "idx"
    data.mkdir()
    _write_idx(data)
    cfg = config_lib.GANConfig(gan=family, dataset=str(data), output_dir=str(tmp_path / "run"),
                               pipeline_name=family, train_steps=2, checkpoint_every=2,
                               batch_size=4, image_size=32, width=4, latent_dim=8,
                               num_samples=16, eval_samples=32, require_beating_baseline=False,
                               d_steps=1)  # one critic step: the pipeline, not WGAN, is tested
    result, _ = _run(cfg)
    metrics = _metrics(result)
    assert metrics["steps"] == 2 and metrics["eval_num_samples"] <= 32
    for key in (extra_metric, "baseline_frechet_distance", "floor_frechet_distance"):
        assert np.isfinite(metrics[key]), key
    held_out = result.output("ExampleGen", "examples").properties["records_per_split"]["eval"]
    assert metrics["floor_eval_num_samples"] == held_out // 2  # two halves of the held-out
    figures = layout.artifact_file(result.output("Evaluator", "evaluation").uri,
                                   "ModelEvaluation", "figures")
    assert os.path.exists(os.path.join(figures, visual))
    assert html_lib.check_report_links(result.report_path) == []
    ex = result.output("ExampleGen", "examples").properties
    assert ex["num_classes"] == 10 and ex["image_size"] == 32
    # The pushed generator computes the trained generator's images for the same inputs.
    props = result.output("Pusher", "pushed_model").properties
    loaded = tf.saved_model.load(props["path"])
    _, gan = _model(result)
    if family == "infogan":
        z = np.random.default_rng(0).normal(size=(3, gan.input_dim)).astype("float32")
        served = loaded.signatures["serving_default"](z=tf.constant(z))
        expected = gan.generator(z, training=False)
    else:
        z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
        if family in ("cgan", "acgan"):
            labels = np.array([0, 3, 9], np.int32)
            served = loaded.signatures["serving_default"](z=tf.constant(z),
                                                          label=tf.constant(labels))
            expected = gan.generate(3, noise=z, labels=labels)
            with pytest.raises(tf.errors.InvalidArgumentError, match="label must be < num_classes"):
                loaded.signatures["serving_default"](z=tf.constant(z),
                                                     label=tf.constant([0, 1, 10]))
        else:
            served = loaded.signatures["serving_default"](z=tf.constant(z))
            expected = gan.generate(3, noise=z)
    assert served["images"].shape == (3, 32, 32, 1)
    np.testing.assert_allclose(served["images"].numpy(), np.asarray(expected), atol=1e-5)
