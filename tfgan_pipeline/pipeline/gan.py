"""The GAN job: data -> GAN.fit (resumable, monitored) -> samples, metrics, report.

``run_gan(GANConfig) -> GANRunResult`` for every latent-variable family: GAN,
DCGAN, WGAN, WGAN-GP, conditional GAN, ACGAN and InfoGAN. Output layout under
``config.output_dir``::

    config.json         resolved configuration (checked on resume)
    checkpoints/        tf.train checkpoints: networks, optimizers, step
    tensorboard/        losses, D outputs on real/fake, gradient norms, image grids
    history.jsonl       metrics by step (appended across resumes)
    samples/            sample grids (scatter plots for toys) over training
    samples.png         final grid, or a scatter plot / histogram for toy data
    visuals/            latent interpolations and walks, class grids, InfoGAN sweeps
    classifier/         the feature classifier trained on the real data (images)
    metrics.json        final losses, steps, time; mode coverage (toys) or FD, KID,
                        precision/recall, label / code accuracy (images)
    export/<model_name>/<version>/   the generator as a SavedModel for TF Serving
    report/index.html   static report of all of the above

Papers: see :mod:`tfgan_pipeline.models` (one per family) and Metz et al. 2017
for the toy-mixture mode-coverage metrics.
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_pipeline import config as config_lib
from tfgan_pipeline import distribute, models, networks
from tfgan_pipeline import export as export_lib
from tfgan_pipeline.data import mnist, tfds_source, toy
from tfgan_pipeline.evaluation.mode_coverage import toy_mode_coverage
from tfgan_pipeline.monitoring import callbacks as monitoring
from tfgan_pipeline.monitoring import images as images_lib
from tfgan_pipeline.monitoring import latent, report
from tfgan_pipeline.pipeline import gan_eval, training


@dataclasses.dataclass(frozen=True)
class GANRunResult:
    """Paths and figures of a finished run."""

    output_dir: str
    steps: int
    seconds: float
    samples_path: str
    metrics_path: str
    metrics: dict
    report_path: str = ""
    export_path: str = ""
    export_version: int = 0
    model: object = None  # the trained (compiled) GAN


@dataclasses.dataclass(frozen=True)
class _Data:
    dataset: tf.data.Dataset
    sample_shape: tuple
    mixture: object = None  # GaussianMixture for toys
    num_classes: int | None = None
    num_examples: int | None = None  # size of one pass, when known


def _load_data(cfg, batch):
    """Resolves ``cfg.dataset`` to a batched, infinite dataset (with labels if conditional)."""
    conditional = cfg.gan in config_lib.CONDITIONAL_FAMILIES
    if cfg.dataset in toy.TOY_DATASETS:
        if cfg.gan in ("acgan", "infogan"):
            raise ValueError(f"--gan={cfg.gan} needs image data (an MNIST folder or tfds:NAME); "
                             f"{cfg.dataset} is a 2-D toy. Use --gan=cgan to condition on modes.")
        mixture = toy.get_toy(cfg.dataset)
        return _Data(mixture.dataset(batch, seed=cfg.seed, with_modes=conditional),
                     (mixture.dim,), mixture, mixture.num_modes if conditional else None)
    num_examples = None
    if tfds_source.is_tfds_spec(cfg.dataset):
        ds = tfds_source.tfds_dataset_from_spec(cfg.dataset, batch, image_size=cfg.image_size,
                                                data_dir=cfg.data_dir, seed=cfg.seed,
                                                with_labels=conditional)
    elif os.path.isdir(cfg.dataset):
        # Labels always come along: the feature classifier for the metrics needs them.
        ds = mnist.mnist_dataset(cfg.dataset, batch, image_size=cfg.image_size or 28,
                                 seed=cfg.seed, with_labels=True)
        num_examples = len(mnist.load_mnist_idx(cfg.dataset)[1])
    else:
        raise ValueError(
            f"--dataset={cfg.dataset!r} is neither a toy ({sorted(toy.TOY_DATASETS)}), an "
            "existing folder of MNIST IDX files, nor tfds:NAME.")
    spec = ds.element_spec[0] if isinstance(ds.element_spec, tuple) else ds.element_spec
    return _Data(ds, tuple(spec.shape[1:]), num_classes=10 if conditional else None,
                 num_examples=num_examples)


def _defaults(cfg, data):
    """Family- and data-dependent defaults for unset sizes."""
    is_toy = data.mixture is not None
    latent_dim = cfg.latent_dim or (8 if is_toy else 62 if cfg.gan == "infogan" else 64)
    width = cfg.width or (128 if is_toy else 32)
    # The papers' learning rates are for images; small MLPs on 2-D mixtures need a
    # larger one (measured: lr 2e-4 covered 0/8 ring modes after 3k steps, 1e-3 all 8).
    learning_rate = cfg.learning_rate or (1e-3 if is_toy else None)
    return latent_dim, width, learning_rate


def _networks(cfg, data, latent_dim, width):
    shape = data.sample_shape
    flat = len(shape) == 1
    if flat or cfg.gan == "gan":
        hidden = (width,) * 2 if flat else (4 * width, 4 * width)
        out_act = None if flat else "tanh"
        if cfg.gan == "cgan":
            return (networks.conditional_mlp_generator(latent_dim, data.num_classes, shape,
                                                       hidden, output_activation=out_act),
                    networks.conditional_mlp_discriminator(shape, data.num_classes, hidden))
        return (networks.mlp_generator(latent_dim, shape, hidden, output_activation=out_act),
                networks.mlp_discriminator(shape, hidden))
    size, channels = shape[0], shape[-1]
    common = dict(image_size=size, channels=channels, width=width)
    if cfg.gan == "cgan":
        return (networks.conditional_dcgan_generator(latent_dim, data.num_classes, **common),
                networks.conditional_dcgan_discriminator(data.num_classes, **common))
    if cfg.gan == "acgan":
        return (networks.conditional_dcgan_generator(latent_dim, data.num_classes, **common),
                networks.acgan_discriminator(data.num_classes, **common))
    if cfg.gan == "infogan":
        return (networks.infogan_generator(latent_dim, **common),
                networks.infogan_discriminator(**common))
    # WGAN-GP: no BatchNorm in the critic (Gulrajani et al. Sec. 4); layer norm instead.
    d_norm = "layer" if cfg.gan == "wgan_gp" else "batch"
    return (networks.dcgan_generator(latent_dim, **common),
            networks.dcgan_discriminator(normalization=d_norm, **common))


def build_gan(cfg, data, latent_dim, width, learning_rate=None):
    """Builds networks and the compiled model for ``cfg`` (call inside a strategy scope)."""
    gen, disc = _networks(cfg, data, latent_dim, width)
    if cfg.gan == "cgan":
        gan = models.ConditionalGAN(gen, disc, latent_dim, data.num_classes)
    elif cfg.gan == "acgan":
        gan = models.ACGAN(gen, disc, latent_dim, data.num_classes)
    elif cfg.gan == "infogan":
        gan = models.InfoGAN(gen, disc, noise_dim=latent_dim)
    else:
        gan = models.GAN(gen, disc, latent_dim=latent_dim)
    overrides = {"steps_per_execution": cfg.steps_per_execution}
    if cfg.loss:
        overrides["loss"] = cfg.loss
    if cfg.d_steps:
        overrides["d_steps"] = cfg.d_steps
    return models.compile_preset(gan, cfg.gan, learning_rate=learning_rate, **overrides)


def _visuals(gan, out, seed):
    """Latent interpolations/walks, class grids and InfoGAN sweeps for image models."""
    def vis(name):
        return os.path.join(out, "visuals", name)
    latent.interpolation_grid(gan, 8, 10, "slerp", seed, path=vis("interpolation_slerp.png"))
    latent.interpolation_grid(gan, 8, 10, "lerp", seed, path=vis("interpolation_lerp.png"))
    latent.latent_walk_grid(gan, range(min(8, gan.latent_dim)), np.linspace(-3, 3, 9), seed,
                            path=vis("latent_walk.png"))
    if hasattr(gan, "categorical_dims"):
        latent.infogan_code_sweep(gan, "categorical", seed=seed,
                                  path=vis("infogan_categorical.png"))
        for j in range(gan.continuous_dim):
            latent.infogan_code_sweep(gan, j, seed=seed, path=vis(f"infogan_continuous_{j}.png"))
    elif getattr(gan, "num_classes", None):
        latent.class_conditional_grid(gan, 10, seed, path=vis("class_grid.png"))


def export_generator(gan, cfg, out, steps, log=print):
    """Exports the generator for TF Serving (a new version only for new weights)."""
    if hasattr(gan, "categorical_dims"):
        # InfoGAN: z is [noise, one-hot categorical codes, continuous codes]; its
        # "sample" signature would draw the codes from the wrong prior, so only
        # serving_default is exported.
        signatures = {"serving_default":
                      export_lib.gan_generator_signatures(gan.generator)["serving_default"]}
        warmup = export_lib.gan_warmup_requests(gan.input_dim)[:1]
    elif getattr(gan, "num_classes", None):
        signatures = export_lib.conditional_generator_signatures(gan.generator, gan.latent_dim,
                                                                 gan.num_classes)
        warmup = export_lib.conditional_warmup_requests(gan.latent_dim)
    else:
        signatures = export_lib.gan_generator_signatures(gan.generator, gan.latent_dim)
        warmup = export_lib.gan_warmup_requests(gan.latent_dim)
    name = cfg.model_name or cfg.gan

    def export_fn():
        return export_lib.export_saved_model(
            out, name, signatures, gan.generator, warmup_requests=warmup,
            assets_extra={"config.json": os.path.join(out, "config.json")})
    return training.export_once(out, name, steps, "generator", export_fn, log=log)


def run_gan(cfg, log=print):
    """Runs (or resumes) one GAN job. See the module docstring for the outputs."""
    out = os.path.abspath(cfg.output_dir)
    os.makedirs(out, exist_ok=True)
    config_path = os.path.join(out, "config.json")
    config_lib.check_resumable(cfg, config_path)
    # Each critic update sees --batch_size real examples: the dataset batch holds
    # d_steps of them (the template splits it; see models/base.py).
    d_steps = cfg.d_steps or models.get_preset(cfg.gan).d_steps
    strategy = distribute.get_strategy(cfg.strategy)
    replicas = strategy.num_replicas_in_sync
    if (cfg.batch_size * d_steps) % replicas:
        raise ValueError(
            f"--batch_size={cfg.batch_size} x d_steps={d_steps} = {cfg.batch_size * d_steps} "
            f"examples per step do not split evenly over {replicas} replicas (Keras needs "
            "equal shares); choose a batch size that makes the product a multiple of "
            f"{replicas}.")
    data = _load_data(cfg, cfg.batch_size * d_steps)
    config_lib.write_config(cfg, config_path)  # only once every input is known good
    keras.utils.set_random_seed(cfg.seed)
    keras.mixed_precision.set_global_policy(cfg.precision)

    latent_dim, width, learning_rate = _defaults(cfg, data)
    with strategy.scope():
        gan = build_gan(cfg, data, latent_dim, width, learning_rate)
    log(f"{cfg.gan} ({gan.loss_name}, d_steps={gan.d_steps}) on {cfg.dataset}: samples "
        f"{data.sample_shape}, z={latent_dim}, {strategy.num_replicas_in_sync} replica(s), "
        f"generator {gan.generator.count_params():,} / discriminator "
        f"{gan.discriminator.count_params():,} parameters")

    every = cfg.log_every or max(1, cfg.checkpoint_every // 5)
    scatter = {"modes": data.mixture.centers} if data.mixture is not None else {}
    tensorboard = monitoring.TensorBoardGAN(
        os.path.join(out, "tensorboard"), every_n_steps=every,
        num_images=500 if scatter else 16, seed=cfg.seed, probe_data=data.dataset,
        scatter_kwargs=scatter)
    callbacks = [tensorboard,
                 monitoring.SampleGridHistory(os.path.join(out, "samples"), every_n_steps=every,
                                              seed=cfg.seed, scatter_kwargs=scatter),
                 monitoring.MetricHistory(os.path.join(out, "history.jsonl"), every_n_steps=every)]
    if every < cfg.checkpoint_every:
        callbacks.append(monitoring.ProgressLogger(cfg.train_steps, log=log, every_n_steps=every))
    try:
        fit = training.fit_resumable(gan, data.dataset, os.path.join(out, "checkpoints"),
                                     cfg.train_steps, cfg.checkpoint_every, log=log,
                                     callbacks=callbacks,
                                     progress=every >= cfg.checkpoint_every,
                                     max_seconds=cfg.max_minutes and 60 * cfg.max_minutes)
    finally:
        tensorboard.close()

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
        wanted = max(cfg.eval_samples, gan_eval.CLASSIFIER_EXAMPLES)
        real_images, real_labels = gan_eval.collect_real(
            data.dataset, min(wanted, data.num_examples or wanted))
        try:
            feature_fn = gan_eval.feature_extractor(out, real_images, real_labels,
                                                    cfg.feature_model, log=log)
        except ValueError as e:  # unlabelled data and no feature model: say so, keep going
            log(f"Skipping sample-quality metrics: {e}")
        else:
            metrics.update(gan_eval.sample_quality(gan, real_images, feature_fn,
                                                   cfg.eval_samples, seed=cfg.seed))
        _visuals(gan, out, cfg.seed)
    metrics_path = config_lib.write_json(metrics, os.path.join(out, "metrics.json"))
    export_path, export_version = export_generator(gan, cfg, out, fit.steps_done, log=log)
    report_path = report.write_report(out, title=f"{cfg.gan} on {cfg.dataset}",
                                      final_metrics=metrics)
    log(f"Wrote {samples_path}, {metrics_path} and {report_path}: "
        + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in sorted(metrics.items())))
    return GANRunResult(out, fit.steps_done, fit.seconds, samples_path, metrics_path, metrics,
                        report_path, export_path, export_version, gan)
