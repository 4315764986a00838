"""Monitoring callbacks: TensorBoard events, sample grids, progress lines, history, probe."""

import glob
import json
import logging
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import models, networks
from tfgan_pipeline.monitoring import callbacks as cb
from tfgan_pipeline.monitoring import report
from tfgan_pipeline.pipeline import training

TOTAL = 10


def _tiny_gan():
    gan = models.GAN(networks.dcgan_generator(8, image_size=16, channels=1, width=4),
                     networks.dcgan_discriminator(image_size=16, channels=1, width=4),
                     latent_dim=8)
    gan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5))
    return gan


def _dataset():
    x = np.random.default_rng(0).uniform(-1, 1, (32, 16, 16, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(x).repeat().batch(4)


def _callbacks(run, lines):
    return [cb.TensorBoardGAN(os.path.join(run, "tensorboard"), every_n_steps=2, num_images=4,
                              probe_data=_dataset()),
            cb.SampleGridHistory(os.path.join(run, "samples"), every_n_steps=3, num_images=4),
            cb.ProgressLogger(TOTAL, log=lines.append, every_n_steps=2),
            cb.MetricHistory(os.path.join(run, "history.jsonl"), every_n_steps=4)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Trains 6 steps, then resumes in a fresh process-like setup (new model, new
    callbacks) to 10 steps, with fit_resumable's chunks of 3 steps."""
    run_dir = str(tmp_path_factory.mktemp("run"))
    lines = {"first": [], "second": []}
    for name, steps in (("first", 6), ("second", TOTAL)):
        callbacks = _callbacks(run_dir, lines[name])
        training.fit_resumable(_tiny_gan(), _dataset(), os.path.join(run_dir, "checkpoints"),
                               steps, checkpoint_every=3, log=lambda s: None,
                               callbacks=callbacks)
        callbacks[0].close()
    return run_dir, lines


def _events(run_dir):
    scalars, images = {}, {}
    for path in sorted(glob.glob(os.path.join(run_dir, "tensorboard", "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                target = images if plugin == "images" else scalars
                target.setdefault(value.tag, []).append(
                    (event.step, tf.make_ndarray(value.tensor)))
    return scalars, images


def test_tensorboard_scalars_and_images_by_global_step(run):
    scalars, images = _events(run[0])
    for tag in ("d_loss", "g_loss", "d_real", "d_fake", "gp", "d_grad_norm", "g_grad_norm",
                "steps_per_second"):
        assert tag in scalars, tag
    # Cadence 2 plus chunk ends (3, 9) not already written; the resume starts at 6.
    assert [s for s, _ in scalars["d_loss"]] == [2, 3, 4, 6, 8, 9, 10]
    for tag in ("d_grad_norm", "g_grad_norm"):
        values = [float(v) for _, v in scalars[tag]]
        assert all(np.isfinite(v) and v > 0 for v in values), values
    assert [s for s, _ in images["samples"]] == [0, 2, 4, 6, 8, 10]
    # One PNG-encoded grid of 4 images of 16x16: 2 x 2 tiles -> 32 x 32.
    _, value = images["samples"][-1]
    width, height = int(value[0]), int(value[1])
    assert (width, height) == (32, 32)


def test_sample_grids_over_training(run):
    names = sorted(os.listdir(os.path.join(run[0], "samples")))
    assert names == ["step_0000000.png", "step_0000003.png", "step_0000006.png",
                     "step_0000009.png"]
    grid = tf.io.decode_png(tf.io.read_file(os.path.join(run[0], "samples", names[-1])))
    assert tuple(grid.shape) == (32, 32, 1)


def test_history_is_appended_across_resume(run):
    with open(os.path.join(run[0], "history.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    assert [(r["step"], r["kind"]) for r in rows] == [
        (3, "epoch"), (4, "batch"), (6, "epoch"), (8, "batch"), (9, "epoch"), (10, "epoch")]
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in rows)


def test_progress_lines(run):
    first, second = run[1]["first"], run[1]["second"]
    assert [line.split()[1] for line in first] == ["2/10", "4/10", "6/10"]
    assert [line.split()[1] for line in second] == ["8/10", "10/10"]
    assert "steps/s eta" in first[0] and "d_loss=" in first[0]
    assert second[-1].startswith("step 10/10 (100%)") and "eta 0h00m00s" in second[-1]


def test_report_of_the_trained_run_links_only_existing_files(run):
    index = report.write_report(run[0], final_metrics={"steps": TOTAL})
    assert report.check_report_links(index) == []
    page = open(index).read()
    assert page.index("step 0<") < page.index("step 9<")
    assert os.path.exists(os.path.join(run[0], "report", "curves_losses.png"))
    assert os.path.exists(os.path.join(run[0], "report", "curves_discriminator.png"))


# -------------------------------------------------------------- unit checks
def test_crossed_multiple():
    assert cb.crossed_multiple(0, 2, 2)
    assert not cb.crossed_multiple(2, 3, 2)
    assert cb.crossed_multiple(3, 5, 4)  # steps_per_execution jumps over 4
    assert not cb.crossed_multiple(5, 7, 4)


def test_progress_line_hand_computed():
    logger = cb.ProgressLogger(1000, every_n_steps=100)
    logger._start = (100, 1000.0)
    line = logger.format_line(300, 1010.0, {"d_loss": 0.5, "g_loss": 2.0})
    assert line == "step 300/1000 (30%) 20.0 steps/s eta 0h00m35s d_loss=0.5 g_loss=2"


def test_bad_cadence_is_refused(tmp_path):
    with pytest.raises(ValueError, match="every_n_steps"):
        cb.SampleGridHistory(str(tmp_path), every_n_steps=0)
    with pytest.raises(ValueError, match="total_steps"):
        cb.ProgressLogger(0)


def test_toy_data_grids_are_scatter_plots(tmp_path):
    toy = models.GAN(networks.mlp_generator(4, (2,), hidden_units=(8,)),
                     networks.mlp_discriminator((2,), hidden_units=(8,)), latent_dim=4)
    grids = cb.SampleGridHistory(str(tmp_path), every_n_steps=5, num_points=200,
                                 scatter_kwargs={"modes": np.zeros((1, 2))})
    grids.set_model(toy)
    path = grids.save(5)
    assert os.path.basename(path) == "step_0000005.png"
    image = tf.io.decode_png(tf.io.read_file(path))
    assert image.shape[0] > 100 and image.shape[-1] in (3, 4)  # a matplotlib figure


# ------------------------------------------------------------- gradient probe
def _linear_wgan():
    """G ignores z and outputs its bias (0); D(x) = 3 x0 + 4 x1 (Wasserstein losses).

    d_loss = mean D(fake) - mean D(real): grad w.r.t. D's kernel is mean(fake) -
    mean(real), w.r.t. its bias 0. g_loss = -mean D(G(z)): grad w.r.t. G's bias is
    -w = -(3, 4), w.r.t. its kernel 0 (its input is zeroed).
    """
    z = keras.Input((3,))
    fake = keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * 0.0)(z))
    x = keras.Input((2,))
    score = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant([[3.0], [4.0]]))(x)
    gan = models.GAN(keras.Model(z, fake), keras.Model(x, score), latent_dim=3)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), loss="wasserstein")
    return gan


REAL = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)  # mean (2, 3)


def test_gradient_norm_probe_hand_computed():
    norms = cb.gradient_norm_probe(_linear_wgan(), REAL)
    assert norms["d_grad_norm"] == pytest.approx(np.sqrt(2.0 ** 2 + 3.0 ** 2), rel=1e-6)
    assert norms["g_grad_norm"] == pytest.approx(5.0, rel=1e-6)


def test_gradient_norm_probe_is_replica_independent(mirrored_strategy):
    with mirrored_strategy.scope():
        gan = _linear_wgan()
    norms = cb.gradient_norm_probe(gan, REAL)
    assert norms["d_grad_norm"] == pytest.approx(np.sqrt(13.0), rel=1e-6)
    assert norms["g_grad_norm"] == pytest.approx(5.0, rel=1e-6)


def test_gradient_norm_probe_leaves_no_trace():
    gan = _tiny_gan()
    models.compile_preset(gan, "wgan")  # clipping would change fresh weights at step 0
    before = [v.numpy().copy() for v in gan.variables]
    x = np.random.default_rng(1).uniform(-1, 1, (10, 16, 16, 1)).astype("float32")
    norms = cb.make_gradient_norm_probe(gan)(x)
    assert norms["d_grad_norm"] > 0 and norms["g_grad_norm"] > 0
    after = [v.numpy() for v in gan.variables]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert int(gan.g_optimizer.iterations.numpy()) == 0
    assert "apply_gradients" not in vars(gan)


def test_gradient_norm_probe_conditional_model():
    cgan = models.ConditionalGAN(
        networks.conditional_dcgan_generator(8, 3, image_size=16, channels=1, width=4),
        networks.conditional_dcgan_discriminator(3, image_size=16, channels=1, width=4),
        latent_dim=8, num_classes=3)
    models.compile_cgan(cgan)
    x = np.random.default_rng(2).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    norms = cb.gradient_norm_probe(cgan, (x, np.array([0, 1, 2, 0], np.int32)))
    assert norms["d_grad_norm"] > 0 and norms["g_grad_norm"] > 0


def test_unsupported_model_is_skipped_with_one_warning(tmp_path, caplog):
    class Plain(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(cb.UnsupportedModelError, match="gradient_norms"):
        cb.make_gradient_norm_probe(Plain())

    model = Plain()
    model.compile(keras.optimizers.SGD(0.1), loss="mse")
    x = np.ones((8, 2), np.float32)
    board = cb.TensorBoardGAN(str(tmp_path), every_n_steps=1, probe_data=x)
    with caplog.at_level(logging.WARNING, logger="tfgan_pipeline"):
        model.fit(x, x, batch_size=2, epochs=1, verbose=0, callbacks=[board])
    board.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("gradient norms disabled" in m for m in messages) == 1
    assert sum("sample images disabled" in m for m in messages) == 1
