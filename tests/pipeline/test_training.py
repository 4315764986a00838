"""fit_resumable: chunks without replaying the data stream, checkpoints, time budget."""

import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_pipeline import models, networks
from tfgan_pipeline.pipeline import training


def _gan():
    return models.compile_preset(models.GAN(networks.mlp_generator(2, (2,), (8,)),
                                            networks.mlp_discriminator((2,), (8,)),
                                            latent_dim=2))


def _recording_dataset(pulled):
    """Batch i holds the value i; every batch the pipeline pulls is recorded."""
    def record(i):
        pulled.append(int(i))
        return i

    def batch(i):
        i = tf.py_function(record, [i], tf.int64)
        return tf.fill([4, 2], tf.cast(i, tf.float32) / 100.0)

    return tf.data.Dataset.range(10_000).map(batch)


def test_chunks_continue_the_data_stream_and_checkpoint_each_chunk(tmp_path):
    pulled = []
    lines = []
    fit = training.fit_resumable(_gan(), _recording_dataset(pulled), str(tmp_path), 7,
                                 checkpoint_every=2, log=lines.append)
    assert fit.steps_done == 7
    # One stream for all chunks: no batch is drawn twice (a fit per chunk would
    # restart at batch 0 every chunk).
    assert len(pulled) == len(set(pulled)) and min(pulled) == 0
    assert sorted(pulled)[:7] == list(range(7))
    names = sorted(f for f in os.listdir(tmp_path) if f.endswith(".index"))
    assert names == ["ckpt-4.index", "ckpt-6.index", "ckpt-7.index"]  # 3 kept
    assert [line.split()[1] for line in lines] == ["2/7", "4/7", "6/7", "7/7"]
    assert len(fit.history["d_loss"]) == 4


def test_resume_restores_the_step_and_optimizer_state(tmp_path):
    first = _gan()
    training.fit_resumable(first, _recording_dataset([]), str(tmp_path), 4, 2, log=lambda s: None)
    second = _gan()
    lines = []
    fit = training.fit_resumable(second, _recording_dataset([]), str(tmp_path), 4, 2,
                                 log=lines.append)
    assert fit.steps_done == 4 and fit.resumed_from == 4
    assert any("nothing to do" in line for line in lines)
    for a, b in zip(first.variables, second.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(first.d_optimizer.variables, second.d_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_time_budget_stops_with_a_checkpoint(tmp_path):
    keras.utils.set_random_seed(0)
    lines = []
    fit = training.fit_resumable(_gan(), _recording_dataset([]), str(tmp_path), 10_000, 5,
                                 log=lines.append, max_seconds=0.5)
    assert 0 < fit.steps_done < 10_000
    assert os.path.exists(tmp_path / f"ckpt-{fit.steps_done}.index")
    assert any("Time budget" in line for line in lines)
