"""Resumable ``model.fit``: checkpoints with optimizer state and step, progress lines.

A rerun in the same directory restores the latest checkpoint (networks, both
optimizers' slots and iteration counters) and continues to ``train_steps`` rather
than starting over. Checkpoints are written by ``tf.train.CheckpointManager``,
whose index file is updated only after the data files are complete, so a run killed
mid-save resumes from the previous checkpoint.
"""

import dataclasses
import logging
import os
import time

import keras
import tensorflow as tf

from tfgan_pipeline import config as config_lib
from tfgan_pipeline.monitoring.callbacks import format_duration

logger = logging.getLogger("tfgan_pipeline")


@dataclasses.dataclass(frozen=True)
class FitResult:
    """What :func:`fit_resumable` did."""

    steps_done: int
    resumed_from: int
    seconds: float
    history: dict


def make_checkpoint(model):
    """A ``tf.train.Checkpoint`` of everything the model needs to resume (its
    ``checkpoint_objects()``: networks and both optimizers, for every family)."""
    return tf.train.Checkpoint(**model.checkpoint_objects())


def restore_latest(checkpoint, directory, max_to_keep=3):
    """Restores the newest checkpoint in ``directory`` if any; returns the manager."""
    manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=max_to_keep)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logger.info("Restored %s", manager.latest_checkpoint)
    return manager


class _StopAt(keras.callbacks.Callback):
    """Stops ``fit`` at the first batch end at or after ``train_steps`` generator steps
    or after ``deadline`` (a ``time.time()`` value; ``None``: no time budget)."""

    def __init__(self, train_steps, deadline=None):
        super().__init__()
        self.train_steps, self.deadline = train_steps, deadline
        self.out_of_time = False

    def on_train_batch_end(self, batch, logs=None):
        if self.deadline is not None and time.time() >= self.deadline:
            self.out_of_time = True
            self.model.stop_training = True
        if int(self.model.g_optimizer.iterations.numpy()) >= self.train_steps:
            self.model.stop_training = True


class _ChunkEnd(keras.callbacks.Callback):
    """At every epoch end (one checkpoint chunk): save, record the metrics, log progress."""

    def __init__(self, manager, train_steps, start, log, progress):
        super().__init__()
        self.manager = manager
        self.train_steps, self.start, self.log, self.progress = train_steps, start, log, progress
        self.history = {}
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        done = int(self.model.g_optimizer.iterations.numpy())
        self.manager.save(checkpoint_number=done)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(float(v))
        if not self.progress:
            return
        rate = (done - self.start) / max(time.time() - self.t0, 1e-9)
        metrics = " ".join(f"{k}={v[-1]:.4g}" for k, v in sorted(self.history.items()))
        self.log(f"step {done}/{self.train_steps} ({100 * done / self.train_steps:.0f}%) "
                 f"{rate:.1f} steps/s eta "
                 f"{format_duration((self.train_steps - done) / max(rate, 1e-9))} {metrics}")


def fit_resumable(model, dataset, checkpoint_dir, train_steps, checkpoint_every, log=print,
                  callbacks=(), progress=True, max_seconds=None):
    """Trains ``model`` until its generator optimizer has taken ``train_steps`` steps.

    One ``fit`` call runs the whole job, each chunk of ``checkpoint_every`` steps one
    Keras epoch, so the dataset's iterator carries on across chunks (a ``fit`` per
    chunk would restart the stream and replay its first batches every chunk); a
    checkpoint is written at each chunk end, and the last chunk stops at
    ``train_steps``.

    Args:
      model: a compiled :class:`tfgan_pipeline.models.GANBase`; its
        ``g_optimizer.iterations`` is the step counter.
      dataset: infinite ``tf.data.Dataset`` of training batches.
      checkpoint_dir: where checkpoints live (restored from if present).
      train_steps: total generator steps wanted.
      checkpoint_every: steps between checkpoints and progress lines.
      log: callable taking one progress string.
      callbacks: extra Keras callbacks for the ``fit`` calls.
      progress: print a progress line (steps, rate, time left, metrics) per chunk;
        off when a finer-grained progress callback is among ``callbacks``.
      max_seconds: optional training-time budget for this call: training stops
        (with a checkpoint) at the first step after it, even before ``train_steps``.

    Returns:
      :class:`FitResult`.
    """
    checkpoint = make_checkpoint(model)
    manager = restore_latest(checkpoint, checkpoint_dir)
    step = model.g_optimizer.iterations
    start = done = int(step.numpy())
    if done:
        log(f"Resuming from step {done} ({manager.latest_checkpoint}).")
    if done >= train_steps:
        log(f"Already trained {done} >= train_steps={train_steps} steps; nothing to do.")
    t0 = time.time()
    chunk_end = _ChunkEnd(manager, train_steps, start, log, progress)
    stop = _StopAt(train_steps, None if max_seconds is None else t0 + max_seconds)
    # The stop callback runs first: a chunk-end callback then sees the final step.
    callbacks = [stop] + list(callbacks) + [chunk_end]
    if done < train_steps:
        model.fit(dataset, epochs=-(-(train_steps - done) // checkpoint_every),
                  steps_per_epoch=checkpoint_every, verbose=0, callbacks=callbacks)
    done = int(step.numpy())
    if stop.out_of_time and done < train_steps:
        log(f"Time budget of {max_seconds:.0f} s reached at step {done}; stopping.")
    return FitResult(steps_done=done, resumed_from=start, seconds=time.time() - t0,
                     history=chunk_end.history)


def export_once(out, model_name, steps, variant, export_fn, log=print):
    """Runs ``export_fn()`` unless ``model_name`` was last exported at ``steps`` as ``variant``.

    ``export_fn`` returns an :class:`tfgan_pipeline.export.ExportResult`. A record in
    ``<out>/export/<model_name>.last_export.json`` remembers the last export, so a
    rerun that did not change the weights (or the served variant, e.g. pix2pix's
    test-time mode) publishes no duplicate version.

    Returns:
      ``(path, version)`` of the export in force.
    """
    import json

    record_path = os.path.join(out, "export", f"{model_name}.last_export.json")
    if os.path.exists(record_path):
        with open(record_path) as f:
            record = json.load(f)
        if (record.get("steps") == steps and record.get("variant") == variant
                and os.path.isdir(record.get("path", ""))):
            log(f"Export of step {steps} ({variant}) already at {record['path']}; "
                "not exporting again.")
            return record["path"], record["version"]
    result = export_fn()
    config_lib.write_json({"steps": steps, "variant": variant, "path": result.path,
                           "version": result.version}, record_path)
    log(f"Exported version {result.version} to {result.path} (models.config: "
        f"{result.model_config_path})")
    return result.path, result.version
