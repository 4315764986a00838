"""Frozen, validated job configurations; what each pipeline component receives.

Command lines (``pipelines/*.py``) map their absl flags once into one of these
dataclasses. Every choice is checked against the library's own constants (families,
losses, strategies, layouts, receptive fields, test-time modes, precisions) and
defaults are resolved in ``__post_init__`` — before anything is written — and a bad
value fails with a ``ValueError`` naming the flag and the allowed values. The
library never reads absl flags.

:meth:`JobConfig.component_params` splits a config into the parameters of the
four components (ExampleGen, Trainer, Evaluator, Pusher); the cache key of each
covers only its own, so changing ``--train_steps`` reruns the Trainer and what is
downstream of it, nothing upstream.
"""

import dataclasses
import json
import math
import os
import re


from tfgan_pipeline import distribute, families, losses
from tfgan_pipeline import precision as precision_lib
from tfgan_pipeline.data import schema, toy
from tfgan_pipeline.models import pix2pix as pix2pix_model
from tfgan_pipeline.networks import patchgan
from tfgan_pipeline.preprocess import elements

# The choices each flag is checked against: the library's own constants.
DISTRIBUTION_STRATEGIES = distribute.STRATEGIES
#: Keras dtype policies, and "auto" (the machine's best: tfgan_pipeline.precision).
PRECISIONS = precision_lib.PRECISIONS
LOSSES = tuple(losses.LOSSES)
PIX2PIX_GENERATORS = ("unet", "encoder_decoder")
PIX2PIX_EVAL_MODES = pix2pix_model.TRANSLATE_MODES
PIX2PIX_GAN_LOSSES = tuple(pix2pix_model.GAN_LOSSES)
RECEPTIVE_FIELDS = tuple(patchgan.RECEPTIVE_FIELDS)
LAYOUTS = ("auto",) + elements.LAYOUTS
DIRECTIONS = schema.DIRECTIONS
JPEG_DRAFT_MODES = elements.JPEG_DRAFT_MODES
TOY_DATASETS = tuple(toy.TOY_DATASETS)
LATENT_FAMILIES = families.LATENT_FAMILIES
#: How CycleGAN's two domains are laid out (``preprocess.image_elements.IMAGE_LAYOUTS``).
UNPAIRED_LAYOUTS = ("auto", "domains", "pix2pix_unpaired", "tfds")

_THRESHOLD_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=)\s*([-+0-9.eE]+)\s*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def choice(flag, value, allowed):
    """``value`` if it is one of ``allowed``, else a ``ValueError`` naming the flag."""
    if value not in allowed:
        raise ValueError(f"--{flag}={value!r} is not one of {list(allowed)}.")
    return value


def at_least(flag, value, low=1, optional=False):
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise ValueError(f"--{flag}={value!r} must be a number >= {low}.")
    return value


def parse_thresholds(specs):
    """``("ssim>=0.3", "l1_0_255<=30")`` -> ``{"ssim": ("min", 0.3), ...}``."""
    out = {}
    for spec in specs:
        match = _THRESHOLD_RE.match(spec)
        if not match:
            raise ValueError(
                f"--blessing_thresholds entry {spec!r} must look like METRIC>=VALUE or "
                "METRIC<=VALUE (e.g. ssim>=0.3,l1_0_255<=30).")
        name, op, value = match.groups()
        out[name] = ("min" if op == ">=" else "max", float(value))
    return out


@dataclasses.dataclass(frozen=True)
class JobConfig:
    """Settings every pipeline job shares.

    Attributes:
      output_dir: default pipeline root (``--output_dir`` keeps working).
      pipeline_root: root of artifacts and ``metadata.sqlite``; ``None``: ``output_dir``.
      pipeline_name: the pipeline's name (folder and metadata context).
      serving_dir: where the Pusher pushes (TF Serving model base paths);
        ``None``: ``<pipeline_root>/serving``.
      enable_cache: reuse an earlier execution with the same inputs and parameters.
      distribution_strategy: ``default``, ``mirrored``, ``multi_worker`` (from
        ``TF_CONFIG``) or ``one_device``.
      train_steps: total generator steps (a rerun with more continues training).
      batch_size: real examples per discriminator step.
      checkpoint_every: steps between checkpoints.
      log_every: steps between TensorBoard scalars / history lines (``None``: a
        twentieth of ``checkpoint_every``).
      max_minutes: training-time budget of one invocation (stops with a checkpoint;
        rerun to continue).
      precision: Keras dtype policy, or ``"auto"`` (default): ``mixed_bfloat16`` where
        the CPU runs bf16 natively (AMX / AVX512-BF16) and a short probe measures it
        faster than float32, the GPU's best, else float32 (``precision.py``).
      steps_per_execution: train steps per compiled call.
      seed: random seed.
      model_name: the served model's name (``None``: the job's default).
      num_workers: Beam DirectRunner worker processes.
      beam_pipeline_args: extra Beam flags for every Beam step.
      blessing_thresholds: ``("METRIC>=VALUE", ...)`` the Evaluator checks.
      baseline_tolerance: how much worse (relative) than the pushed model a model
        may be and still be blessed.
      require_beating_baseline: blessing needs the model to beat the trivial baseline
        (turn off only for smoke runs that must push whatever they trained).
    """

    output_dir: str = "runs/job"
    pipeline_root: str | None = None
    pipeline_name: str = "job"
    serving_dir: str | None = None
    enable_cache: bool = True
    distribution_strategy: str = "default"
    train_steps: int = 2000
    batch_size: int = 1
    checkpoint_every: int = 500
    log_every: int | None = None
    max_minutes: float | None = None
    precision: str = "auto"
    steps_per_execution: int = 1
    seed: int = 0
    model_name: str | None = None
    num_workers: int = 1
    beam_pipeline_args: tuple = ()
    blessing_thresholds: tuple = ()
    baseline_tolerance: float = 0.05
    require_beating_baseline: bool = True

    def __post_init__(self):
        object.__setattr__(self, "beam_pipeline_args", tuple(self.beam_pipeline_args))
        object.__setattr__(self, "blessing_thresholds", tuple(self.blessing_thresholds))
        choice("distribution_strategy", self.distribution_strategy, DISTRIBUTION_STRATEGIES)
        choice("precision", self.precision, PRECISIONS)
        for name in ("train_steps", "batch_size", "checkpoint_every", "steps_per_execution",
                     "num_workers"):
            at_least(name, getattr(self, name))
        at_least("log_every", self.log_every, optional=True)
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"--max_minutes={self.max_minutes!r} must be positive when set.")
        if not 0 <= self.baseline_tolerance < 1:
            raise ValueError(f"--baseline_tolerance={self.baseline_tolerance!r} must be in [0, 1).")
        if not self.output_dir and not self.pipeline_root:
            raise ValueError("--output_dir (or --pipeline_root) must name a folder.")
        for flag in ("pipeline_name", "model_name"):
            value = getattr(self, flag)
            if value is not None and not _NAME_RE.match(value):
                raise ValueError(f"--{flag}={value!r} must be letters, digits, '_', '-' or '.' "
                                 "and not start with '.' or '-'.")
        parse_thresholds(self.blessing_thresholds)

    # ----------------------------------------------------------- resolved paths
    @property
    def root(self):
        return os.path.abspath(self.pipeline_root or self.output_dir)

    @property
    def serving(self):
        return os.path.abspath(self.serving_dir or os.path.join(self.root, "serving"))

    @property
    def served_name(self):
        return self.model_name or self.pipeline_name

    def synthetic_pairs_plan(self):
        """``(folder, num_pairs, size, seed)`` of synthetic raw data to generate, or ``None``."""
        return None

    # ------------------------------------------------------- component params
    def _trainer(self, family, hparams):
        return {"family": family, "hparams": {"family": family, "seed": self.seed,
                                              "batch_size": self.batch_size, **hparams},
                "train_steps": self.train_steps, "checkpoint_every": self.checkpoint_every,
                "log_every": self.log_every, "distribution_strategy": self.distribution_strategy,
                "max_minutes": self.max_minutes, "precision": self.precision,
                "steps_per_execution": self.steps_per_execution}

    def _evaluator(self, evaluation):
        return {"evaluation": {"seed": self.seed, **evaluation},
                "thresholds": parse_thresholds(self.blessing_thresholds),
                "baseline_tolerance": self.baseline_tolerance,
                "require_beating_baseline": self.require_beating_baseline}

    def _pusher(self, export):
        return {"model_name": self.served_name, "serving_dir": self.serving, "export": export}

    def _example_gen(self, kind, source):
        return {"kind": kind, "source": source, "num_workers": self.num_workers,
                "beam_pipeline_args": list(self.beam_pipeline_args)}


class SyntheticPairs:
    """Jobs that generate synthetic A|B pairs when there is no ``data_dir``
    (needs the fields ``data_dir``, ``load_size``, ``synthetic_pairs``, ``seed``)."""

    @property
    def synthetic_size(self):
        return max(64, self.load_size // 2)

    @property
    def synthetic_dir(self):
        """Where synthetic pairs are generated when there is no ``data_dir``."""
        return os.path.join(self.root, self.pipeline_name, "synthetic_data",
                            f"pairs-{self.synthetic_pairs}-{self.synthetic_size}px-seed{self.seed}")

    def synthetic_pairs_plan(self):
        if self.data_dir is not None:
            return None
        return self.synthetic_dir, self.synthetic_pairs, self.synthetic_size, self.seed


@dataclasses.dataclass(frozen=True)
class Pix2PixConfig(SyntheticPairs, JobConfig):
    """pix2pix (``pipelines/pix2pix.py``); Isola et al. 2017's settings by default.

    Attributes (besides :class:`JobConfig`'s):
      data_dir: folder of pairs (A|B files, flat or train/val/test, or ``A/`` + ``B/``);
        ``None`` generates synthetic pairs under the pipeline root.
      layout, direction, load_size, val_fraction: preprocessing (see
        :mod:`tfgan_pipeline.preprocess`).
      jpeg_draft: the splits whose JPEG pairs are decoded at a reduced DCT scale that
        still covers ``load_size`` (about 2x faster preprocessing, not pixel-identical
        to the paper's full-size bicubic resize; same held-out L1 at equal steps; see
        ``preprocess/elements.py``): ``train`` (default; held-out pairs exact),
        ``all`` or ``off``.
      image_size: training crop and model size (paper: 256).
      generator: ``unet`` (skips) or ``encoder_decoder``.
      receptive_field: PatchGAN receptive field: 1, 16, 70 or 286.
      base_filters: width of both networks (paper: 64).
      gan_loss: ``vanilla`` or ``least_squares``.
      l1_weight: lambda of the L1 term (paper: 100).
      eval_mode: test-time generator for evaluation and export: ``paper``,
        ``batch_stats`` or ``inference`` (see ``models/pix2pix.py``).
      eval_batch_size: images per generator call at evaluation.
      max_eval_images: cap on held-out images evaluated.
      synthetic_pairs: pairs generated without ``data_dir``.
    """

    output_dir: str = "runs/pix2pix"
    pipeline_name: str = "pix2pix"
    data_dir: str | None = None
    layout: str = "auto"
    direction: str = "AtoB"
    image_size: int = 256
    load_size: int = 286
    val_fraction: float = 0.1
    jpeg_draft: str = "train"
    generator: str = "unet"
    receptive_field: int = 70
    base_filters: int = 64
    gan_loss: str = "vanilla"
    l1_weight: float = 100.0
    eval_mode: str = "paper"
    eval_batch_size: int = 1
    max_eval_images: int | None = None
    synthetic_pairs: int = 200

    def __post_init__(self):
        super().__post_init__()
        choice("layout", self.layout, LAYOUTS)
        choice("direction", self.direction, DIRECTIONS)
        choice("generator", self.generator, PIX2PIX_GENERATORS)
        choice("receptive_field", self.receptive_field, RECEPTIVE_FIELDS)
        choice("gan_loss", self.gan_loss, PIX2PIX_GAN_LOSSES)
        choice("eval_mode", self.eval_mode, PIX2PIX_EVAL_MODES)
        for name in ("image_size", "load_size", "base_filters", "eval_batch_size",
                     "synthetic_pairs"):
            at_least(name, getattr(self, name))
        at_least("max_eval_images", self.max_eval_images, optional=True)
        if self.image_size < 16 or self.image_size & (self.image_size - 1):
            raise ValueError(f"--image_size={self.image_size} must be a power of two >= 16 "
                             "(the U-Net halves it down to 1x1).")
        if self.load_size < self.image_size:
            raise ValueError(f"--load_size={self.load_size} must be >= --image_size="
                             f"{self.image_size}: images are resized to load_size, then "
                             "randomly cropped to image_size.")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"--val_fraction={self.val_fraction!r} must be in [0, 1).")
        try:
            object.__setattr__(self, "jpeg_draft", elements.check_jpeg_draft(self.jpeg_draft))
        except ValueError:
            raise ValueError(f"--jpeg_draft={self.jpeg_draft!r} must be one of "
                             f"{JPEG_DRAFT_MODES}.") from None
        at_least("l1_weight", self.l1_weight, low=0)
        if self.data_dir is not None and not os.path.isdir(self.data_dir):
            raise ValueError(f"--data_dir={self.data_dir!r} is not a folder of image pairs.")

    def component_params(self):
        source = {"data_dir": self.data_dir or self.synthetic_dir, "layout": self.layout,
                  "direction": self.direction, "load_size": self.load_size,
                  "val_fraction": self.val_fraction, "jpeg_draft": self.jpeg_draft}
        hparams = {"image_size": self.image_size, "load_size": self.load_size,
                   "generator": self.generator, "receptive_field": self.receptive_field,
                   "base_filters": self.base_filters, "gan_loss": self.gan_loss,
                   "l1_weight": self.l1_weight}
        return {"ExampleGen": self._example_gen("pairs", source),
                "Trainer": self._trainer("pix2pix", hparams),
                "Evaluator": self._evaluator({"eval_mode": self.eval_mode,
                                              "eval_batch_size": self.eval_batch_size,
                                              "max_eval_images": self.max_eval_images}),
                "Pusher": self._pusher({"eval_mode": self.eval_mode})}


@dataclasses.dataclass(frozen=True)
class GANConfig(JobConfig):
    """A latent-variable GAN (``pipelines/gan.py``).

    Attributes (besides :class:`JobConfig`'s):
      gan: family (see :data:`LATENT_FAMILIES`).
      dataset: a toy (``ring8``, ``grid25``, ``mixture1d``), a folder of MNIST IDX
        files, or ``tfds:NAME[:SPLIT]``.
      data_dir: tensorflow-datasets ``data_dir``.
      loss: objective (``None``: the family's paper default).
      d_steps: discriminator steps per generator step (``None``: the paper's).
      latent_dim, width: sizes (``None``: 8 / 128 for toys, 64 (InfoGAN 62) / 32 for
        images).
      learning_rate: both players' learning rate (``None``: the paper's; 1e-3 for toys).
      image_size: resize images to this size (``None``: the dataset's).
      num_samples: generated samples for the final plot and toy metrics.
      eval_samples: generated (and real) images for FD / KID / precision-recall.
      feature_model: Keras model or SavedModel giving features for the metrics.
    """

    output_dir: str = "runs/gan"
    pipeline_name: str = "gan"
    batch_size: int = 256
    gan: str = "gan"
    dataset: str = "ring8"
    data_dir: str | None = None
    loss: str | None = None
    d_steps: int | None = None
    latent_dim: int | None = None
    width: int | None = None
    learning_rate: float | None = None
    image_size: int | None = None
    num_samples: int = 2500
    eval_samples: int = 2000
    feature_model: str | None = None

    def __post_init__(self):
        super().__post_init__()
        choice("gan", self.gan, LATENT_FAMILIES)
        if self.loss is not None:
            choice("loss", self.loss, LOSSES)
        for name in ("d_steps", "latent_dim", "width", "image_size"):
            at_least(name, getattr(self, name), optional=True)
        for name in ("num_samples", "eval_samples"):
            at_least(name, getattr(self, name))
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(f"--learning_rate={self.learning_rate!r} must be positive.")
        if not self.dataset:
            raise ValueError("--dataset must name a toy, an MNIST IDX folder or tfds:NAME.")
        if self.is_toy and "toy" not in families.FAMILIES[self.gan].data_kinds:
            raise ValueError(f"--gan={self.gan} needs image data (an MNIST folder or "
                             f"tfds:NAME); --dataset={self.dataset} is a toy. Use --gan=cgan "
                             "to condition on the modes.")
        if not self.is_toy and not self.dataset.startswith("tfds:") and \
                not os.path.isdir(self.dataset):
            raise ValueError(f"--dataset={self.dataset!r} is neither a toy "
                             f"({list(TOY_DATASETS)}), an existing folder of MNIST IDX files, "
                             "nor tfds:NAME.")

    @property
    def is_toy(self):
        return self.dataset in TOY_DATASETS

    def component_params(self):
        if self.is_toy:
            example_gen = self._example_gen("toy", {"dataset": self.dataset})
        else:
            example_gen = self._example_gen("images", {
                "source": self.dataset if self.dataset.startswith("tfds:")
                else os.path.abspath(self.dataset),
                "data_dir": self.data_dir, "image_size": self.image_size})
        hparams = {"loss": self.loss, "d_steps": self.d_steps, "latent_dim": self.latent_dim,
                   "width": self.width, "learning_rate": self.learning_rate}
        return {"ExampleGen": example_gen,
                "Trainer": self._trainer(self.gan, hparams),
                "Evaluator": self._evaluator({"num_samples": self.num_samples,
                                              "eval_samples": self.eval_samples,
                                              "feature_model": self.feature_model}),
                "Pusher": self._pusher({})}


@dataclasses.dataclass(frozen=True)
class CycleGANConfig(SyntheticPairs, JobConfig):
    """CycleGAN (``pipelines/cyclegan.py``); Zhu et al. 2017's settings by default.

    Attributes (besides :class:`JobConfig`'s):
      data_dir: ``trainA/ trainB/ testA/ testB/`` folders, a pix2pix A|B folder
        (``layout="pix2pix_unpaired"``) or ``tfds:cycle_gan/NAME``; ``None`` generates
        synthetic A|B pairs and uses them unpaired.
      layout: ``auto``, ``domains``, ``pix2pix_unpaired`` or ``tfds``.
      tfds_data_dir: tensorflow-datasets ``data_dir``.
      image_size, load_size: training crop and the size images are stored and
        resized to before the crop (paper: 256 / 286).
      unpaired_test_fraction: pix2pix_unpaired: files held out, paired, for testing.
      base_filters: width of all four networks (64).
      num_blocks: residual blocks (``None``: 6 below 256 px, 9 from 256).
      cycle_weight: lambda (10); identity_weight: fraction of lambda (0.5).
      pool_size: generated-image history per discriminator (50).
      max_eval_images: cap on test images per direction.
      synthetic_pairs: pairs generated without ``data_dir``.
    """

    output_dir: str = "runs/cyclegan"
    pipeline_name: str = "cyclegan"
    data_dir: str | None = None
    layout: str = "auto"
    tfds_data_dir: str | None = None
    image_size: int = 256
    load_size: int = 286
    unpaired_test_fraction: float = 0.1
    base_filters: int = 64
    num_blocks: int | None = None
    cycle_weight: float = 10.0
    identity_weight: float = 0.5
    pool_size: int = 50
    max_eval_images: int | None = None
    synthetic_pairs: int = 200

    def __post_init__(self):
        super().__post_init__()
        choice("layout", self.layout, UNPAIRED_LAYOUTS)
        for name in ("image_size", "load_size", "base_filters", "synthetic_pairs"):
            at_least(name, getattr(self, name))
        for name in ("num_blocks", "max_eval_images"):
            at_least(name, getattr(self, name), optional=True)
        for name in ("cycle_weight", "identity_weight", "pool_size"):
            at_least(name, getattr(self, name), low=0)
        if self.image_size < 24 or self.image_size % 4:
            raise ValueError(f"--image_size={self.image_size} must be a multiple of 4 (the "
                             "ResNet generator downsamples twice) and >= 24 (the 70x70 "
                             "PatchGAN's patch map would be empty).")
        if self.load_size < self.image_size:
            raise ValueError(f"--load_size={self.load_size} must be >= --image_size="
                             f"{self.image_size}.")
        if not 0 < self.unpaired_test_fraction < 1:
            raise ValueError(f"--unpaired_test_fraction={self.unpaired_test_fraction!r} must "
                             "be in (0, 1).")
        if self.data_dir is not None and not self.data_dir.startswith("tfds:") and \
                not os.path.isdir(self.data_dir):
            raise ValueError(f"--data_dir={self.data_dir!r} is not a folder (nor tfds:NAME).")
        if self.data_dir is None and self.layout not in ("auto", "pix2pix_unpaired"):
            raise ValueError(f"--layout={self.layout} needs --data_dir; without it synthetic "
                             "A|B pairs are used as unpaired data (pix2pix_unpaired).")

    def component_params(self):
        layout = "pix2pix_unpaired" if self.data_dir is None else self.layout
        source = {"data_dir": self.data_dir or self.synthetic_dir, "layout": layout,
                  "load_size": self.load_size, "test_fraction": self.unpaired_test_fraction,
                  "tfds_data_dir": self.tfds_data_dir}
        hparams = {"image_size": self.image_size, "load_size": self.load_size,
                   "base_filters": self.base_filters, "num_blocks": self.num_blocks,
                   "cycle_weight": self.cycle_weight, "identity_weight": self.identity_weight,
                   "pool_size": self.pool_size}
        return {"ExampleGen": self._example_gen("unpaired", source),
                "Trainer": self._trainer("cyclegan", hparams),
                "Evaluator": self._evaluator({"max_eval_images": self.max_eval_images}),
                "Pusher": self._pusher({})}


def to_dict(config):
    """Config as a plain dict (JSON-serialisable)."""
    return dataclasses.asdict(config)


def write_json(obj, path):
    """Writes ``obj`` as JSON to ``path`` atomically (temp file + rename); returns ``path``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=_json_default)
        f.write("\n")
    os.replace(tmp, path)
    return path


def _json_default(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
