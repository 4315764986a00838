"""Keras callbacks that make GAN training visible: TensorBoard, sample grids, progress, history.

Papers and sources:
  * The keras-io example ``dcgan_overriding_train_step.py`` ("a callback writes
    sample images each epoch") — the pattern :class:`SampleGridHistory` follows.
  * Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016, Sec. 3,
    and Mescheder, Geiger, Nowozin, "Which Training Methods for GANs do actually
    Converge?", ICML 2018 — discriminator outputs on real and generated data and the
    players' gradient norms are the quantities to watch for non-convergence; hence
    ``d_real`` / ``d_fake`` scalars and the models' public ``gradient_norms``.

Every callback keys what it records by the **global step**, the generator
optimizer's ``iterations`` counter (:func:`global_step`), which survives
checkpoint/resume; nothing depends on Keras' per-``fit`` epoch or batch indices, so
the callbacks work unchanged when ``fit`` is called once per checkpoint chunk
(``pipeline/training.py::fit_resumable``). "Every N steps" means "whenever the step
crosses a multiple of N", which also holds with ``steps_per_execution > 1``.

Metric values Keras hands to batch-level callbacks are running means since the start
of the current ``fit`` epoch (the ``Mean`` trackers reset per epoch); epoch-level
values are the means over the whole epoch (one checkpoint chunk in the pipeline).

Cost: any callback with a batch-level hook makes Keras convert the step's metrics to
Python numbers after every step (one host sync per step, or per
``steps_per_execution`` steps); the image and gradient work runs only at the logging
cadence.
"""

import json
import logging
import math
import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from tfgan_pipeline.monitoring import images as images_lib

logger = logging.getLogger("tfgan_pipeline")


# ------------------------------------------------------------------- helpers
def global_step(model):
    """The training step of ``model``: ``g_optimizer.iterations`` (or ``optimizer``'s)."""
    optimizer = getattr(model, "g_optimizer", None) or getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            f"{type(model).__name__} has no g_optimizer/optimizer to read the global step "
            "from; compile the model before fit.")
    return int(optimizer.iterations.numpy())


def crossed_multiple(previous_step, step, every_n_steps):
    """True when ``(previous_step, step]`` contains a multiple of ``every_n_steps``."""
    return step // every_n_steps > previous_step // every_n_steps


def _check_every(every_n_steps):
    if isinstance(every_n_steps, bool) or int(every_n_steps) != every_n_steps or \
            every_n_steps < 1:
        raise ValueError(f"every_n_steps must be a positive integer, got {every_n_steps!r}.")
    return int(every_n_steps)


def scalar_logs(logs):
    """``logs`` as ``{name: float}``; entries that are not numbers are left out (reported)."""
    out = {}
    for name, value in (logs or {}).items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            logger.debug("Metric %r is not a scalar (%r); not logged.", name, value)
    return out


def default_sample_fn(num_samples, seed=0):
    """``model -> samples``: ``model.generate(num_samples, seed=seed)`` as numpy.

    The seed makes every call draw the same latent batch (stateless RNG), so
    grids taken at different steps are comparable; conditional models cycle their
    classes and InfoGAN draws its codes from the same seed.
    """
    def sample(model):
        if not callable(getattr(model, "generate", None)):
            raise TypeError(
                f"{type(model).__name__} has no generate(num_samples, seed=); pass a "
                "sample_fn(model) -> samples.")
        return np.asarray(model.generate(int(num_samples), seed=int(seed)), np.float32)

    return sample


def _scatter_array(samples, title=None, **scatter_kwargs):
    """A scatter plot of 2-D samples rendered as a uint8 ``[H, W, C]`` array."""
    with tempfile.TemporaryDirectory() as tmp:
        path = images_lib.scatter_plot(samples, os.path.join(tmp, "scatter.png"),
                                       title=title, **scatter_kwargs)
        return tf.io.decode_png(tf.io.read_file(path)).numpy()


def samples_to_image(samples, columns=None, title=None, **scatter_kwargs):
    """Samples as one displayable uint8 image: an image grid, or a scatter plot for 2-D data.

    Args:
      samples: ``[N, H, W, C]`` images in ``[-1, 1]`` or ``[N, 1|2]`` points.
      columns: grid columns (images only).
      title, **scatter_kwargs: passed to :func:`images.scatter_plot` (points only).

    Raises:
      ValueError: for other shapes.
    """
    samples = np.asarray(samples, np.float32)
    if samples.ndim == 4:
        return images_lib.image_grid(samples, columns=columns)
    if samples.ndim == 2 and samples.shape[1] in (1, 2):
        return _scatter_array(samples, title=title, **scatter_kwargs)
    raise ValueError(
        f"Cannot display samples of shape {samples.shape}: expected images [N, H, W, C] or "
        "2-D points [N, 2]. Pass a sample_fn that returns one of those.")


def format_duration(seconds):
    """Seconds as ``HhMMmSSs`` (negative values count as 0)."""
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600:d}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


# --------------------------------------------------------- gradient norm probe
class _BatchSource:
    """Batches for the probe: a fixed batch, or successive batches of a dataset."""

    def __init__(self, data):
        self._data = data
        self._iterator = None

    def next(self):
        if isinstance(self._data, tf.data.Dataset):
            if self._iterator is None:
                self._iterator = iter(self._data)
            return next(self._iterator)
        return self._data


# ------------------------------------------------------------------ callbacks
class TensorBoardGAN(keras.callbacks.Callback):
    """Writes GAN scalars, gradient norms and fixed-noise sample grids to TensorBoard.

    Every ``every_n_steps`` global steps it writes: each numeric metric in the logs
    under its own name (``d_loss``, ``g_loss``, ``d_real``, ``d_fake``, ``gp``, ...),
    ``steps_per_second``, ``d_grad_norm`` / ``g_grad_norm`` (when ``probe_data`` is
    given: the model's public ``gradient_norms(batch)``, see
    :meth:`tfgan_pipeline.models.GANBase.gradient_norms`) and the image ``samples``: a grid
    of ``sample_fn(model)`` — by default the same ``num_images`` latent vectors
    (``seed``) every time — or a scatter plot for 2-D toy data. Step 0 samples are
    written when training starts from scratch, and the epoch-end (chunk-end) metrics
    when their step was not already written. View with ``tensorboard --logdir``.

    Args:
      log_dir: event-file folder (e.g. ``<run>/tensorboard``); appended to on resume.
      every_n_steps: logging cadence in global steps.
      sample_fn: ``model -> samples`` (numpy / tensor); default
        :func:`default_sample_fn` ``(num_images, seed)``. Needed for models without
        a latent space (pix2pix: e.g. translate a fixed batch of inputs).
      num_images: images in the default grid.
      seed: seed of the default fixed latent batch.
      probe_data: a batch or a ``tf.data.Dataset`` of training batches for
        ``model.gradient_norms`` (``None``: no gradient norms).
      scatter_kwargs: extra :func:`images.scatter_plot` arguments for 2-D data
        (``modes=``, ``real=``).
    """

    def __init__(self, log_dir, every_n_steps=100, sample_fn=None, num_images=16, seed=0,
                 probe_data=None, scatter_kwargs=None):
        super().__init__()
        self.log_dir = log_dir
        self.every_n_steps = _check_every(every_n_steps)
        self.sample_fn = sample_fn or default_sample_fn(num_images, seed)
        self.scatter_kwargs = dict(scatter_kwargs or {})
        self._batches = None if probe_data is None else _BatchSource(probe_data)
        self._probe_disabled = False
        self._images_ok = True
        self._writer = None
        self._last_step = None
        self._last_time = None
        self._written_step = None

    # Keras hooks ---------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        step = global_step(self.model)
        self._last_step, self._last_time = step, time.time()
        if step == 0:
            self._write_images(0)

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if crossed_multiple(self._last_step, step, self.every_n_steps):
            self._write(step, logs, images=True)

    def on_epoch_end(self, epoch, logs=None):
        step = global_step(self.model)
        if step != self._written_step:
            self._write(step, logs, images=False)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def close(self):
        """Flushes and closes the event file (a later ``fit`` reopens one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # writing -------------------------------------------------------------
    def _write(self, step, logs, images):
        now = time.time()
        scalars = scalar_logs(logs)
        if step > self._last_step and now > self._last_time:
            scalars["steps_per_second"] = (step - self._last_step) / (now - self._last_time)
        scalars.update(self._gradient_norms())
        with self._writer.as_default(step=step):
            for name, value in sorted(scalars.items()):
                tf.summary.scalar(name, value)
        if images:
            self._write_images(step)
        self._last_step, self._last_time, self._written_step = step, now, step

    def _gradient_norms(self):
        """The model's public ``gradient_norms(batch)``; a model without one is
        reported once and not probed again. An error inside it propagates: it is a
        bug in the model, not something to train on without."""
        if self._batches is None or self._probe_disabled:
            return {}
        if not callable(getattr(self.model, "gradient_norms", None)):
            logger.warning(
                "TensorBoardGAN: gradient norms disabled for %s: it has no "
                "gradient_norms(batch) method (every tfgan_pipeline model has one).",
                type(self.model).__name__)
            self._probe_disabled = True
            return {}
        return self.model.gradient_norms(self._batches.next())

    def _write_images(self, step):
        if not self._images_ok:
            return
        try:
            image = samples_to_image(self.sample_fn(self.model),
                                     title=f"step {step}", **self.scatter_kwargs)
        except (NotImplementedError, ValueError, TypeError) as e:
            logger.warning("TensorBoardGAN: sample images disabled: %s: %s (pass a sample_fn "
                           "returning images [N, H, W, C] or points [N, 2]).",
                           type(e).__name__, e)
            self._images_ok = False
            return
        with self._writer.as_default(step=step):
            tf.summary.image("samples", image[None], max_outputs=1)


class SampleGridHistory(keras.callbacks.Callback):
    """Saves ``<out_dir>/step_XXXXXXX.png`` sample grids from a fixed latent batch.

    One grid when training starts from step 0 and then whenever the global step
    crosses a multiple of ``every_n_steps``; the HTML report
    (:func:`tfgan_pipeline.monitoring.report.write_report`) shows them over time.
    For 2-D toy data (``sample_fn`` returning ``[N, 2]``) it saves scatter plots
    of ``num_points`` samples instead.

    Args:
      out_dir: folder of the PNGs (the report expects ``<run_dir>/samples``).
      every_n_steps: cadence in global steps.
      num_images: images per grid (default sampler).
      seed: seed of the fixed latent batch (default sampler).
      columns: grid columns (default: square-ish).
      sample_fn: ``model -> samples``; default :func:`default_sample_fn`.
      num_points: samples per scatter plot for 2-D data (default sampler).
      scatter_kwargs: extra :func:`images.scatter_plot` arguments (``modes=``, ``real=``).
    """

    #: File name pattern; the report parses the step back out of it.
    FILENAME = "step_{:07d}.png"

    def __init__(self, out_dir, every_n_steps=500, num_images=64, seed=0, columns=None,
                 sample_fn=None, num_points=1000, scatter_kwargs=None):
        super().__init__()
        self.out_dir = out_dir
        self.every_n_steps = _check_every(every_n_steps)
        self.columns = columns
        self._sample_fn = sample_fn
        self._images_fn = default_sample_fn(num_images, seed)
        self._points_fn = default_sample_fn(max(num_points, num_images), seed)
        self._points = None  # learned on the first default sample: 2-D data or not
        self.scatter_kwargs = dict(scatter_kwargs or {})
        self._last_step = None
        self.written = []

    def on_train_begin(self, logs=None):
        self._last_step = global_step(self.model)
        if self._last_step == 0:
            self.save(0)

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if crossed_multiple(self._last_step, step, self.every_n_steps):
            self.save(step)
        self._last_step = step

    def _samples(self):
        if self._sample_fn is not None:
            return np.asarray(self._sample_fn(self.model), np.float32)
        if self._points:
            return self._points_fn(self.model)
        samples = self._images_fn(self.model)
        self._points = samples.ndim == 2
        return self._points_fn(self.model) if self._points else samples

    def save(self, step):
        """Writes the grid (or scatter plot) for ``step`` now; returns its path."""
        path = os.path.join(self.out_dir, self.FILENAME.format(int(step)))
        samples = self._samples()
        if samples.ndim == 2:
            images_lib.scatter_plot(samples, path, title=f"step {step}", **self.scatter_kwargs)
        else:
            images_lib.write_png(samples_to_image(samples, columns=self.columns), path)
        self.written.append(path)
        return path


class ProgressLogger(keras.callbacks.Callback):
    """Logs ``step s/T (p%) rate steps/s eta ... metrics`` every ``every_n_steps`` steps.

    Useful inside long ``fit`` calls (``fit_resumable`` prints one line per
    checkpoint chunk). The rate is the mean since this logger first saw a finished
    step (so graph tracing before it does not count), over every ``fit`` call it
    served; the ETA is ``(total_steps - step) / rate``.

    Args:
      total_steps: the step training stops at.
      log: callable taking one line (``print``, ``logging.info``, ...).
      every_n_steps: cadence in global steps.
    """

    def __init__(self, total_steps, log=print, every_n_steps=100):
        super().__init__()
        if int(total_steps) != total_steps or total_steps < 1:
            raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}.")
        self.total_steps = int(total_steps)
        self.log = log
        self.every_n_steps = _check_every(every_n_steps)
        self._start = None  # (step, time) of the first finished step seen
        self._last_step = None

    def on_train_begin(self, logs=None):
        self._last_step = global_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        step, now = global_step(self.model), time.time()
        if self._start is None:
            self._start = (step, now)
        if crossed_multiple(self._last_step, step, self.every_n_steps):
            self.log(self.format_line(step, now, logs))
        self._last_step = step

    def format_line(self, step, now, logs):
        """The progress line for ``step`` at wall time ``now``."""
        start_step, start_time = self._start
        rate = (step - start_step) / (now - start_time) if now > start_time else 0.0
        line = f"step {step}/{self.total_steps} ({100 * step / self.total_steps:.0f}%)"
        if rate > 0:
            eta = format_duration((self.total_steps - step) / rate)
            line += f" {rate:.1f} steps/s eta {eta}"
        else:
            line += " rate n/a"
        metrics = " ".join(f"{k}={v:.4g}" for k, v in sorted(scalar_logs(logs).items()))
        return f"{line} {metrics}".rstrip()


class MetricHistory(keras.callbacks.Callback):
    """Appends metrics with the global step to a JSON-lines file (``history.jsonl``).

    One line per ``fit`` epoch (``"kind": "epoch"``: means over the epoch — one
    checkpoint chunk in the pipeline), and with ``every_n_steps`` also one per
    crossing of that cadence (``"kind": "batch"``: running means since the epoch
    started). Each line is ``{"step": int, "time": unix seconds, "kind": ..., <metric>:
    float, ...}``. The file is only ever appended to and flushed per line, so it
    survives resume; :func:`tfgan_pipeline.monitoring.report.read_history` reads it
    back and drops the records a restart superseded.

    Args:
      path: the JSON-lines file (e.g. ``<run>/history.jsonl``).
      every_n_steps: optional batch-level cadence.
    """

    def __init__(self, path, every_n_steps=None):
        super().__init__()
        self.path = path
        self.every_n_steps = None if every_n_steps is None else _check_every(every_n_steps)
        self._last_step = None

    def on_train_begin(self, logs=None):
        self._last_step = global_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps is None:
            return
        step = global_step(self.model)
        if crossed_multiple(self._last_step, step, self.every_n_steps):
            self.append(step, logs, "batch")
        self._last_step = step

    def on_epoch_end(self, epoch, logs=None):
        self.append(global_step(self.model), logs, "epoch")

    def append(self, step, logs, kind):
        """Appends one record; returns it."""
        record = {"step": int(step), "time": time.time(), "kind": kind, **scalar_logs(logs)}
        for name, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                logger.warning("MetricHistory: %s=%s at step %d", name, value, step)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
            f.flush()
        return record
