"""The unconditional GAN job: data -> GAN.fit (resumable) -> samples and metrics.

``run_gan(GANConfig) -> GANRunResult``. Output layout under ``config.output_dir``::

    config.json         resolved configuration (checked on resume)
    checkpoints/        tf.train checkpoints: networks, optimizers, step
    samples.png         image grid, or a scatter plot / histogram for toy data
    metrics.json        final losses, steps, time; mode coverage for toy mixtures

Papers: see :mod:`tfgan_pipeline.models.gan` (GAN, DCGAN, WGAN, WGAN-GP) and
Metz et al. 2017 for the toy-mixture mode-coverage metrics.
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_pipeline import config as config_lib
from tfgan_pipeline import distribute, models, networks
from tfgan_pipeline.data import mnist, tfds_source, toy
from tfgan_pipeline.evaluation.mode_coverage import toy_mode_coverage
from tfgan_pipeline.monitoring import images as images_lib
from tfgan_pipeline.pipeline import training


@dataclasses.dataclass(frozen=True)
class GANRunResult:
    """Paths and figures of a finished run."""

    output_dir: str
    steps: int
    seconds: float
    samples_path: str
    metrics_path: str
    metrics: dict


@dataclasses.dataclass(frozen=True)
class _Data:
    dataset: tf.data.Dataset
    sample_shape: tuple
    mixture: object = None  # GaussianMixture for toys


def _load_data(cfg, batch):
    """Resolves ``cfg.dataset`` to a batched, infinite dataset."""
    if cfg.dataset in toy.TOY_DATASETS:
        mixture = toy.get_toy(cfg.dataset)
        return _Data(mixture.dataset(batch, seed=cfg.seed), (mixture.dim,), mixture)
    if tfds_source.is_tfds_spec(cfg.dataset):
        ds = tfds_source.tfds_dataset_from_spec(cfg.dataset, batch, image_size=cfg.image_size,
                                                data_dir=cfg.data_dir, seed=cfg.seed)
    elif os.path.isdir(cfg.dataset):
        ds = mnist.mnist_dataset(cfg.dataset, batch, image_size=cfg.image_size or 28,
                                 seed=cfg.seed)
    else:
        raise ValueError(
            f"--dataset={cfg.dataset!r} is neither a toy ({sorted(toy.TOY_DATASETS)}), an "
            "existing folder of MNIST IDX files, nor tfds:NAME.")
    return _Data(ds, tuple(ds.element_spec.shape[1:]))


def _defaults(cfg, data):
    """Family- and data-dependent defaults for unset sizes."""
    is_toy = data.mixture is not None
    latent_dim = cfg.latent_dim or (8 if is_toy else 64)
    width = cfg.width or (128 if is_toy else 32)
    # The papers' learning rates are for images; small MLPs on 2-D mixtures need a
    # larger one (measured: lr 2e-4 covered 0/8 ring modes after 3k steps, 1e-3 all 8).
    learning_rate = cfg.learning_rate or (1e-3 if is_toy else None)
    return latent_dim, width, learning_rate


def build_gan(cfg, sample_shape, latent_dim, width, learning_rate=None):
    """Builds networks and the compiled :class:`GAN` for ``cfg`` (call inside a strategy scope)."""
    flat = len(sample_shape) == 1
    if flat or cfg.gan == "gan":
        gen = networks.mlp_generator(latent_dim, sample_shape, hidden_units=(width,) * 2 if flat
                                     else (4 * width, 4 * width),
                                     output_activation=None if flat else "tanh")
        disc = networks.mlp_discriminator(sample_shape, hidden_units=(width,) * 2 if flat
                                          else (4 * width, 4 * width))
    else:
        size, channels = sample_shape[0], sample_shape[-1]
        # WGAN-GP: no BatchNorm in the critic (Gulrajani et al. Sec. 4); layer norm instead.
        d_norm = "layer" if cfg.gan == "wgan_gp" else "batch"
        gen = networks.dcgan_generator(latent_dim, image_size=size, channels=channels, width=width)
        disc = networks.dcgan_discriminator(image_size=size, channels=channels, width=width,
                                            normalization=d_norm)
    gan = models.GAN(gen, disc, latent_dim=latent_dim)
    overrides = {"steps_per_execution": cfg.steps_per_execution}
    if cfg.loss:
        overrides["loss"] = cfg.loss
    if cfg.d_steps:
        overrides["d_steps"] = cfg.d_steps
    models.compile_preset(gan, cfg.gan, **overrides)
    if learning_rate:
        gan.d_optimizer.learning_rate.assign(learning_rate)
        gan.g_optimizer.learning_rate.assign(learning_rate)
    return gan


def run_gan(cfg, log=print):
    """Runs (or resumes) one GAN job. See the module docstring for the outputs."""
    out = os.path.abspath(cfg.output_dir)
    os.makedirs(out, exist_ok=True)
    config_path = os.path.join(out, "config.json")
    config_lib.check_resumable(cfg, config_path)
    config_lib.write_config(cfg, config_path)
    keras.utils.set_random_seed(cfg.seed)
    keras.mixed_precision.set_global_policy(cfg.precision)

    d_steps = cfg.d_steps or models.PRESETS[cfg.gan]["d_steps"]
    data = _load_data(cfg, cfg.batch_size * d_steps)
    latent_dim, width, learning_rate = _defaults(cfg, data)
    strategy = distribute.get_strategy(cfg.strategy)
    with strategy.scope():
        gan = build_gan(cfg, data.sample_shape, latent_dim, width, learning_rate)
    log(f"{cfg.gan} ({gan.loss_name}, d_steps={gan.d_steps}) on {cfg.dataset}: samples "
        f"{data.sample_shape}, z={latent_dim}, {strategy.num_replicas_in_sync} replica(s), "
        f"generator {gan.generator.count_params():,} / discriminator "
        f"{gan.discriminator.count_params():,} parameters")
    fit = training.fit_resumable(gan, data.dataset, os.path.join(out, "checkpoints"),
                                 cfg.train_steps, cfg.checkpoint_every, log=log)

    samples = gan.generate(cfg.num_samples, seed=cfg.seed).numpy()
    metrics = {"steps": fit.steps_done, "train_seconds_this_run": fit.seconds,
               "resumed_from": fit.resumed_from,
               **{k: v[-1] for k, v in fit.history.items()}}
    samples_path = os.path.join(out, "samples.png")
    if data.mixture is not None:
        coverage = toy_mode_coverage(samples, data.mixture)
        metrics.update(coverage.to_dict())
        images_lib.scatter_plot(
            samples, samples_path, modes=data.mixture.centers,
            real=data.mixture.sample(min(cfg.num_samples, 2000), seed=cfg.seed),
            title=(f"{cfg.gan} step {fit.steps_done}: {coverage.modes_covered}/"
                   f"{coverage.num_modes} modes, {coverage.high_quality_fraction:.0%} high quality"))
    else:
        images_lib.write_png(images_lib.image_grid(samples[:64], columns=8), samples_path)
    metrics_path = training.write_json(metrics, os.path.join(out, "metrics.json"))
    log(f"Wrote {samples_path} and {metrics_path}: "
        + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in sorted(metrics.items())))
    return GANRunResult(out, fit.steps_done, fit.seconds, samples_path, metrics_path, metrics)
