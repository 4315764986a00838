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
def test_tensorboard_records_the_models_own_gradient_norms(tmp_path):
    class Probed(models.GAN):
        batches = []

        def gradient_norms(self, batch):
            self.batches.append(np.asarray(batch))
            return {"d_grad_norm": 1.25 * len(self.batches), "g_grad_norm": 2.5}

    gan = Probed(networks.dcgan_generator(8, image_size=16, channels=1, width=4),
                 networks.dcgan_discriminator(image_size=16, channels=1, width=4),
                 latent_dim=8)
    models.compile_preset(gan)
    x = np.random.default_rng(1).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    board = cb.TensorBoardGAN(str(tmp_path / "tensorboard"), every_n_steps=2, num_images=4,
                              probe_data=x)
    gan.fit(tf.data.Dataset.from_tensors(x).repeat(), epochs=1, steps_per_epoch=4, verbose=0,
            callbacks=[board])
    board.close()
    scalars, _ = _events(str(tmp_path))
    assert [(s, float(v)) for s, v in scalars["d_grad_norm"]] == [(2, 1.25), (4, 2.5)]
    assert [float(v) for _, v in scalars["g_grad_norm"]] == [2.5, 2.5]
    assert all(np.array_equal(b, x) for b in Probed.batches)


def test_unsupported_model_is_skipped_with_one_warning(tmp_path, caplog):
    class Plain(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

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


def test_an_error_inside_gradient_norms_is_not_hidden(tmp_path):
    class Broken(models.GAN):
        def gradient_norms(self, batch):
            raise RuntimeError("probe bug")

    gan = Broken(networks.dcgan_generator(8, image_size=16, channels=1, width=4),
                 networks.dcgan_discriminator(image_size=16, channels=1, width=4),
                 latent_dim=8)
    models.compile_preset(gan)
    board = cb.TensorBoardGAN(str(tmp_path), every_n_steps=1, num_images=4,
                              probe_data=_dataset())
    with pytest.raises(RuntimeError, match="probe bug"):
        gan.fit(_dataset(), epochs=1, steps_per_epoch=2, verbose=0, callbacks=[board])
    board.close()
