"""Frozen run configurations.

Command lines (``pipelines/*.py``) map their absl flags once into one of these
dataclasses; the library only ever sees the config. Every run writes its resolved
config to ``<output_dir>/config.json``; a rerun in the same directory checks that
the settings which shape the model still match before resuming.
"""

import dataclasses
import json
import os

#: GAN families accepted by ``pipelines/gan.py``.
GAN_FAMILIES = ("gan", "dcgan", "wgan", "wgan_gp", "cgan", "acgan", "infogan")
#: Families whose generator and discriminator see class labels.
CONDITIONAL_FAMILIES = ("cgan", "acgan")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class GANConfig:
    """Settings of one unconditional-GAN run (``pipelines/gan.py``).

    Attributes:
      gan: family: ``gan`` (MLP networks), ``dcgan``, ``wgan``, ``wgan_gp`` (DCGAN
        networks on images; MLPs on 2-D/1-D toy data), ``cgan`` and ``acgan``
        (class-conditional: labelled images, or toy data conditioned on the mode)
        and ``infogan`` (images).
      dataset: a toy name (``ring8``, ``grid25``, ``mixture1d``), a folder of MNIST
        IDX files, or ``tfds:NAME[:SPLIT]``.
      output_dir: run directory (config, checkpoints, samples, metrics).
      loss: GAN objective; ``None`` takes the family's paper default.
      d_steps: discriminator steps per generator step; ``None`` = paper default.
      train_steps: total generator steps (a rerun continues up to this number).
      batch_size: real examples per discriminator step (the dataset is batched
        with ``batch_size * d_steps``; see ``models/gan.py``).
      strategy: ``default``, ``mirrored``, ``multi_worker`` or ``one_device``.
      latent_dim: size of z.
      image_size: resize images to this size (``None`` keeps the dataset's).
      width: base width of the networks (filters or hidden units).
      learning_rate: overrides both optimizers' paper learning rate when set.
      checkpoint_every: generator steps between checkpoints (and log lines).
      num_samples: samples drawn for the final grid / scatter plot and metrics.
      precision: ``float32`` or a Keras mixed-precision policy name.
      steps_per_execution: train steps per compiled call (amortises overhead).
      seed: global seed for weights and data order.
      data_dir: ``data_dir`` for tensorflow-datasets.
      log_every: steps between TensorBoard scalars, sample grids, history lines and
        progress lines (``None``: a fifth of ``checkpoint_every``).
      eval_samples: generated (and real) images for the sample-quality metrics.
      feature_model: Keras model file or SavedModel for the metric features
        (``None``: train a classifier on the real data and save it with the run).
      max_minutes: training-time budget of this invocation; training stops (with a
        checkpoint) once it is spent, even before ``train_steps``.
      model_name: name of the exported generator (``export/<model_name>/<version>``);
        ``None`` uses the family name.
    """

    gan: str = "gan"
    dataset: str = "ring8"
    output_dir: str = "runs/gan"
    loss: str | None = None
    d_steps: int | None = None
    train_steps: int = 2000
    batch_size: int = 256
    strategy: str = "default"
    latent_dim: int | None = None
    image_size: int | None = None
    width: int | None = None
    learning_rate: float | None = None
    checkpoint_every: int = 500
    num_samples: int = 2500
    precision: str = "float32"
    steps_per_execution: int = 1
    seed: int = 0
    data_dir: str | None = None
    log_every: int | None = None
    eval_samples: int = 2000
    feature_model: str | None = None
    max_minutes: float | None = None
    model_name: str | None = None

    #: Fields that may change between a run and its resumption.
    RESUMABLE_CHANGES = ("train_steps", "checkpoint_every", "num_samples", "strategy",
                         "steps_per_execution", "output_dir", "data_dir", "log_every",
                         "eval_samples", "feature_model", "max_minutes", "model_name")

    def __post_init__(self):
        if self.gan not in GAN_FAMILIES:
            raise ValueError(f"gan must be one of {GAN_FAMILIES}, got {self.gan!r}.")
        for name in ("train_steps", "batch_size", "checkpoint_every", "num_samples",
                     "steps_per_execution"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        for name in ("d_steps", "latent_dim", "image_size", "width", "log_every",
                     "eval_samples"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ValueError(f"{name} must be >= 1 when set, got {value}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}.")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be positive when set, got {self.max_minutes}.")
        if not self.dataset:
            raise ValueError("dataset must name a toy, an MNIST IDX folder or tfds:NAME.")


def to_dict(config):
    """Config as a plain dict (JSON-serialisable)."""
    return dataclasses.asdict(config)


def write_json(obj, path):
    """Writes ``obj`` as JSON to ``path`` atomically (temp file + rename); returns ``path``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=float)
        f.write("\n")
    os.replace(tmp, path)
    return path


def write_config(config, path):
    """Writes ``config`` as JSON to ``path`` atomically."""
    return write_json(to_dict(config), path)


def check_resumable(config, path):
    """Raises if a previous run at ``path`` used settings that ``config`` contradicts.

    Args:
      config: the new run's config (a dataclass with ``RESUMABLE_CHANGES``).
      path: the previous run's ``config.json``; nothing is checked if it is absent.

    Raises:
      ValueError: listing each conflicting field with old and new values, and how
        to start afresh instead.
    """
    if not os.path.exists(path):
        return
    with open(path) as f:
        previous = json.load(f)
    current = to_dict(config)
    conflicts = [f"{k}: {previous.get(k)!r} -> {v!r}" for k, v in sorted(current.items())
                 if k not in config.RESUMABLE_CHANGES and k in previous and previous[k] != v]
    if conflicts:
        raise ValueError(
            f"{os.path.dirname(path)} holds a run with different settings ({'; '.join(conflicts)}). "
            "Resuming would mix two experiments: pass the same settings to resume, or a new "
            "--output_dir to start afresh.")


PIX2PIX_GENERATORS = ("unet", "encoder_decoder")
PIX2PIX_EVAL_MODES = ("paper", "batch_stats", "inference")


@dataclasses.dataclass(frozen=True)
class Pix2PixConfig:
    """Settings of one pix2pix run (``pipelines/pix2pix.py``): preprocess -> train -> evaluate -> export.

    Attributes:
      data_dir: folder of pairs (pix2pix A|B files, flat or in train/val/test, or
        ``A/`` + ``B/``); ``None`` generates a synthetic A|B dataset in the run dir.
      output_dir: run directory.
      layout: ``auto``, ``pix2pix`` or ``ab`` (see :mod:`tfgan_pipeline.preprocess`).
      direction: ``AtoB`` or ``BtoA``.
      image_size: training crop / model size (paper: 256).
      load_size: size images are resized to before the random crop (paper: 286).
      train_steps: total generator steps (a rerun continues up to this number).
      batch_size: global batch (paper: 1).
      strategy: ``default``, ``mirrored``, ``multi_worker``, ``one_device``.
      model_name: name of the exported model (TF Serving ``MODEL_NAME``).
      beam_pipeline_args: extra Beam pipeline arguments (e.g. ``--runner=...``).
      num_workers: DirectRunner worker processes for preprocessing.
      val_fraction: held-out fraction when a flat folder is split by file-name hash.
      generator: ``unet`` (skips) or ``encoder_decoder`` (no skips).
      receptive_field: PatchGAN receptive field: 1, 16, 70 or 286.
      base_filters: width of both networks (paper: 64).
      gan_loss: ``vanilla`` or ``least_squares``.
      l1_weight: lambda of the L1 term (paper: 100).
      eval_mode: test-time behaviour of the generator for evaluation and export:
        ``paper`` (batch statistics and dropout, as Isola et al. test), ``batch_stats``
        (batch statistics, no dropout: deterministic) or ``inference`` (moving averages).
      eval_batch_size: images per generator call at evaluation (batch statistics are
        per call in the ``paper``/``batch_stats`` modes; 1 matches the paper).
      max_eval_images: cap on held-out images evaluated (``None``: all).
      checkpoint_every: steps between checkpoints and progress lines.
      precision: ``float32`` or ``mixed_bfloat16``.
      steps_per_execution: train steps per compiled call.
      synthetic_pairs: number of pairs generated when ``data_dir`` is ``None``.
      seed: random seed.
      log_every: steps between TensorBoard scalars/images, sample triplets, history
        and progress lines (``None``: a fifth of ``checkpoint_every``).
    """

    data_dir: str | None = None
    output_dir: str = "runs/pix2pix"
    layout: str = "auto"
    direction: str = "AtoB"
    image_size: int = 256
    load_size: int = 286
    train_steps: int = 2000
    batch_size: int = 1
    strategy: str = "default"
    model_name: str = "pix2pix"
    beam_pipeline_args: tuple = ()
    num_workers: int = 1
    val_fraction: float = 0.1
    generator: str = "unet"
    receptive_field: int = 70
    base_filters: int = 64
    gan_loss: str = "vanilla"
    l1_weight: float = 100.0
    eval_mode: str = "paper"
    eval_batch_size: int = 1
    max_eval_images: int | None = None
    checkpoint_every: int = 500
    precision: str = "float32"
    steps_per_execution: int = 1
    synthetic_pairs: int = 200
    seed: int = 0
    log_every: int | None = None

    RESUMABLE_CHANGES = ("train_steps", "checkpoint_every", "strategy", "steps_per_execution",
                         "output_dir", "beam_pipeline_args", "num_workers", "max_eval_images",
                         "eval_batch_size", "eval_mode", "model_name", "log_every")

    def __post_init__(self):
        object.__setattr__(self, "beam_pipeline_args", tuple(self.beam_pipeline_args))
        for name in ("image_size", "load_size", "train_steps", "batch_size", "num_workers",
                     "base_filters", "checkpoint_every", "steps_per_execution",
                     "synthetic_pairs", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.load_size < self.image_size:
            raise ValueError(f"load_size ({self.load_size}) must be >= image_size "
                             f"({self.image_size}): images are resized to load_size, then "
                             "randomly cropped to image_size.")
        if self.generator not in PIX2PIX_GENERATORS:
            raise ValueError(f"generator must be one of {PIX2PIX_GENERATORS}, got "
                             f"{self.generator!r}.")
        if self.eval_mode not in PIX2PIX_EVAL_MODES:
            raise ValueError(f"eval_mode must be one of {PIX2PIX_EVAL_MODES}, got "
                             f"{self.eval_mode!r}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}.")
        if self.data_dir is not None and not self.data_dir:
            raise ValueError("data_dir must be a folder of pairs, or None for synthetic data.")
