"""Every model family, declared once and read everywhere.

A :class:`Family` names what the pipeline needs to know about one family: the data
kind its ExampleGen writes, how to build its networks and model (and which row of
:data:`tfgan_pipeline.models.presets.PRESETS` compiles it), its training data, the
images monitoring shows, the visuals, the metrics its Evaluator computes with their
trivial baseline, the metric that decides blessing (and its direction), and its
serving signatures with warmup requests. The pipeline components, the export and
the report read a family's entry; no code outside this module tests a family's
name. Adding a family is one model file plus one entry in :data:`FAMILIES`.

This module sits above the rooms it composes (models, networks, export,
evaluation, monitoring) and below ``pipeline/``; none of those rooms imports it.

Papers: each model module cites its own (Goodfellow et al. 2014; Radford et al.
2016; Arjovsky et al. 2017; Gulrajani et al. 2017; Mirza & Osindero 2014; Odena et
al. 2017; Chen et al. 2016; Isola et al. 2017). Baselines: pix2pix is compared
with the constant per-pixel mean of the training targets (the best constant
prediction under L2, a strong floor for L1); latent GANs with a trivial generator
(one Gaussian fitted to the data: mean and covariance for toys, per-pixel mean and
standard deviation for images) and with real-vs-real halves, the best any
generator can do on that metric with that many samples (Metz et al. 2017 for the
toy coverage metrics; Heusel et al. 2017 for FD).
"""

import dataclasses
import os

import numpy as np

from tfgan_pipeline import export as export_lib
from tfgan_pipeline import models, networks
from tfgan_pipeline.evaluation import image_metrics
from tfgan_pipeline.evaluation.mode_coverage import toy_mode_coverage
from tfgan_pipeline.monitoring import images as images_lib
from tfgan_pipeline.monitoring import latent


@dataclasses.dataclass(frozen=True)
class Blessing:
    """The metric that decides blessing and whether higher is better."""

    metric: str
    higher_is_better: bool

    def better(self, a, b):
        """True when value ``a`` is strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b


@dataclasses.dataclass(frozen=True)
class Family:
    """One family's declaration (see the module docstring).

    Attributes:
      name: the ``--gan`` / job name.
      paper: where it comes from.
      data_kinds: the Examples kinds it trains on (``pairs``, ``toy``, ``images``).
      preset: its row of the preset table.
      build: ``(hparams, DataInfo) -> model``, uncompiled, networks included.
      compile_options: ``hparams -> dict`` of ``compile_preset`` overrides.
      train_dataset: ``(data, hparams) -> tf.data.Dataset`` of training batches.
      sample_fn: ``(data, hparams) -> (model -> samples)`` for monitoring grids.
      evaluate: ``(model, data, hparams, figures_dir, log) -> metrics`` including
        ``baseline_<metric>`` (the trivial baseline) and, where defined,
        ``floor_<metric>`` (real against real).
      blessing: ``{data kind: Blessing}``.
      export: ``(model, hparams, DataInfo) -> (signatures, warmup requests, owner)``.
      visuals: ``(model, folder, seed) -> [paths]``; ``None`` for none.
      learning_rate: ``hparams -> learning rate or Keras schedule`` overriding the
        preset's (CycleGAN's linear decay over the run); ``None`` for none.
    """

    name: str
    paper: str
    data_kinds: tuple
    preset: str
    build: object
    compile_options: object
    train_dataset: object
    sample_fn: object
    evaluate: object
    blessing: dict
    export: object
    visuals: object = None
    learning_rate: object = None  # hparams -> learning rate or schedule (None: the preset's)

    def blessing_for(self, kind):
        return self.blessing[kind]


# ===================================================================== pix2pix
def _pix2pix_build(hp, info):
    gen = networks.unet_generator(image_size=hp["image_size"], base_filters=hp["base_filters"],
                                  skip_connections=(hp["generator"] == "unet"))
    disc = networks.patchgan_discriminator(image_size=hp["image_size"],
                                           receptive_field=hp["receptive_field"],
                                           base_filters=hp["base_filters"])
    return models.Pix2Pix(gen, disc, l1_weight=hp["l1_weight"])


def _pix2pix_train_dataset(data, hp):
    return data.train_dataset(hp["batch_size"], hp["image_size"], hp["load_size"], hp["seed"])


def _pix2pix_sample_fn(data, hp):
    """Rows of input | output | target on a fixed held-out batch."""
    _, ds = data.eval_dataset(4, hp["image_size"])
    source, target = next(iter(ds))

    def sample(model):
        output = model.translate(source, mode=hp.get("eval_mode", "paper"), batch_size=1)
        return np.concatenate([source.numpy(), np.asarray(output), target.numpy()], axis=2)

    return sample


def mean_target_image(data, image_size):
    total, count = None, 0
    for _, target in data.train_eval_dataset(32, image_size):
        batch = target.numpy().astype(np.float64)
        total = batch.sum(axis=0) if total is None else total + batch.sum(axis=0)
        count += batch.shape[0]
    return (total / count).astype(np.float32)


def _pix2pix_evaluate(model, data, hp, figures_dir, log):
    """L1 / PSNR / SSIM on the held-out split, beside the mean-target baseline."""
    split, ds = data.eval_dataset(16, hp["image_size"])
    mean_image = mean_target_image(data, hp["image_size"])
    limit = hp.get("max_eval_images")
    examples, model_pairs, base_pairs, seen = [], [], [], 0
    for source, target in ds:
        if limit is not None and seen >= limit:
            break
        output = model.translate(source, mode=hp["eval_mode"],
                                 batch_size=hp["eval_batch_size"]).numpy()
        seen += int(source.shape[0])
        model_pairs.append((target, output))
        base_pairs.append((target, np.broadcast_to(mean_image, target.shape)))
        if len(examples) < 8:
            examples += list(zip(source.numpy(), target.numpy(), output))[:8 - len(examples)]
    scores = image_metrics.paired_metrics_over(model_pairs, max_images=limit)
    baseline = image_metrics.paired_metrics_over(base_pairs, max_images=limit)
    rows = np.stack([img for triplet in examples for img in triplet])
    images_lib.write_png(images_lib.image_grid(rows, columns=3),
                         os.path.join(figures_dir, "triplets.png"))
    images_lib.write_png(images_lib.image_grid(mean_image[None], columns=1),
                         os.path.join(figures_dir, "baseline_mean_target.png"))
    metrics = {"split": split, "held_out": split != "train", "eval_mode": hp["eval_mode"],
               "num_images": scores.num_images}
    for name, value, base in (("l1", scores.l1, baseline.l1), ("psnr", scores.psnr, baseline.psnr),
                              ("ssim", scores.ssim, baseline.ssim)):
        metrics[name], metrics[f"baseline_{name}"] = value, base
    metrics["l1_0_255"], metrics["baseline_l1_0_255"] = scores.l1 * 127.5, baseline.l1 * 127.5
    return metrics


def _pix2pix_export(model, hp, info):
    translate_fn = models.make_translate_fn(model.generator, hp["eval_mode"])
    return (export_lib.pix2pix_signatures(model.generator, hp["image_size"],
                                          translate_fn=translate_fn),
            export_lib.pix2pix_warmup_requests(hp["image_size"]), model.generator)


PIX2PIX = Family(
    name="pix2pix", paper="Isola et al., CVPR 2017", data_kinds=("pairs",), preset="pix2pix",
    build=_pix2pix_build,
    compile_options=lambda hp: {"gan_loss": hp["gan_loss"],
                                "eval_mode": hp.get("eval_mode", "paper")},
    train_dataset=_pix2pix_train_dataset, sample_fn=_pix2pix_sample_fn,
    evaluate=_pix2pix_evaluate, blessing={"pairs": Blessing("l1", higher_is_better=False)},
    export=_pix2pix_export)


# ==================================================================== CycleGAN
def _cyclegan_build(hp, info):
    size, channels = hp["image_size"], info.sample_shape[-1]

    def generator(name):
        return networks.resnet_generator(size, channels, base_filters=hp["base_filters"],
                                         num_blocks=hp["num_blocks"], name=name)

    def discriminator(name):
        return networks.patchgan_discriminator(size, input_channels=0, target_channels=channels,
                                               receptive_field=70, base_filters=hp["base_filters"],
                                               norm="instance", name=name)

    return models.CycleGAN(generator("generator_ab"), generator("generator_ba"),
                           discriminator("discriminator_a"), discriminator("discriminator_b"),
                           cycle_weight=hp["cycle_weight"], identity_weight=hp["identity_weight"],
                           pool_size=hp["pool_size"], image_shape=(size, size, channels))


def _cyclegan_train_dataset(data, hp):
    return data.train_dataset(hp["batch_size"], hp["image_size"], hp["load_size"], hp["seed"])


def _cyclegan_sample_fn(data, hp):
    """Rows of a | G(a) | F(G(a)) and b | F(b) | G(F(b)) on fixed test images."""
    a = data.test_images("A", hp["image_size"], limit=2)
    b = data.test_images("B", hp["image_size"], limit=2)

    def sample(model):
        fake_b, fake_a = model.translate(a, "a_to_b"), model.translate(b, "b_to_a")
        rows = [np.concatenate([x, y.numpy(), z.numpy()], axis=2) for x, y, z in (
            (a, fake_b, model.translate(fake_b, "b_to_a")),
            (b, fake_a, model.translate(fake_a, "a_to_b")))]
        return np.concatenate(rows)

    return sample


def _cyclegan_evaluate(model, data, hp, figures_dir, log):
    """Cycle-reconstruction L1 both ways; on paired test data also L1 / PSNR / SSIM of
    each translation against the true partner, beside the constant mean image."""
    size, limit = hp["image_size"], hp.get("max_eval_images")
    metrics = {"paired_test": data.paired_test}
    examples = []
    for domain, there, back in (("a", "a_to_b", "b_to_a"), ("b", "b_to_a", "a_to_b")):
        images = data.test_images(domain.upper(), size, limit)
        translated = model.translate(images, there, batch_size=1).numpy()
        recovered = model.translate(translated, back, batch_size=1).numpy()
        metrics[f"cycle_l1_{domain}"] = float(np.mean(image_metrics.l1(images, recovered)))
        mean_own = data.mean_train_image(domain.upper(), size)
        metrics[f"baseline_cycle_l1_{domain}"] = float(np.mean(image_metrics.l1(
            images, np.broadcast_to(mean_own, images.shape))))
        examples += [np.concatenate([x, y, z], axis=1) for x, y, z in
                     zip(images[:4], translated[:4], recovered[:4])]
    if data.paired_test:
        a, b = data.paired_test_images(size, limit)
        for name, source, target, there, other in (("ab", a, b, "a_to_b", "B"),
                                                  ("ba", b, a, "b_to_a", "A")):
            output = model.translate(source, there, batch_size=1).numpy()
            mean_image = np.broadcast_to(data.mean_train_image(other, size), target.shape)
            scores = image_metrics.paired_metrics(target, output)
            base = image_metrics.paired_metrics(target, mean_image)
            for key in ("l1", "psnr", "ssim"):
                metrics[f"{key}_{name}"] = getattr(scores, key)
                metrics[f"baseline_{key}_{name}"] = getattr(base, key)
        metrics["num_images"] = int(len(a))
    # The blessing metric: A->B against the true partner when there is one, else the
    # A->B->A round trip.
    source = "l1_ab" if data.paired_test else "cycle_l1_a"
    metrics["l1"], metrics["baseline_l1"] = metrics[source], metrics[f"baseline_{source}"]
    metrics["l1_is"] = source
    images_lib.write_png(images_lib.image_grid(np.stack(examples), columns=2),
                         os.path.join(figures_dir, "cycles.png"))
    return metrics


def _cyclegan_export(model, hp, info):
    size = hp["image_size"]
    ab = export_lib.pix2pix_signatures(model.generator_ab, size)
    ba = export_lib.pix2pix_signatures(model.generator_ba, size)
    signatures = {"serving_default": ab["serving_default"], "a_to_b": ab["serving_default"],
                  "b_to_a": ba["serving_default"], "a_to_b_float": ab["serving_float"],
                  "b_to_a_float": ba["serving_float"]}
    warmup = [dataclasses.replace(r, signature_name=name)
              for name in ("a_to_b", "b_to_a")
              for r in export_lib.pix2pix_warmup_requests(size)
              if r.signature_name == "serving_default"]
    return signatures, warmup, [model.generator_ab, model.generator_ba]


CYCLEGAN = Family(
    name="cyclegan", paper="Zhu et al., ICCV 2017", data_kinds=("unpaired",), preset="cyclegan",
    build=_cyclegan_build, compile_options=lambda hp: {},
    train_dataset=_cyclegan_train_dataset, sample_fn=_cyclegan_sample_fn,
    evaluate=_cyclegan_evaluate, blessing={"unpaired": Blessing("l1", higher_is_better=False)},
    export=_cyclegan_export,
    # Constant, then linear to 0 over the run (Sec. 4); a rebuild for inference
    # (no train_steps) needs no schedule.
    learning_rate=lambda hp: hp.get("train_steps") and models.LinearDecayToZero(
        models.get_preset("cyclegan").g_optimizer.learning_rate, hp["train_steps"]))


# ================================================================ latent GANs
def latent_defaults(hp, info, noise_dim_default=64):
    """``(latent_dim, width)`` for unset sizes: toys are small MLPs."""
    is_toy = info.kind == "toy"
    return (hp.get("latent_dim") or (8 if is_toy else noise_dim_default),
            hp.get("width") or (128 if is_toy else 32))


def _mlp_nets(hp, info, conditional=False):
    latent_dim, width = latent_defaults(hp, info)
    shape = info.sample_shape
    flat = len(shape) == 1
    hidden = (width,) * 2 if flat else (4 * width, 4 * width)
    out_act = None if flat else "tanh"
    if conditional:
        return (networks.conditional_mlp_generator(latent_dim, info.num_classes, shape, hidden,
                                                   output_activation=out_act),
                networks.conditional_mlp_discriminator(shape, info.num_classes, hidden))
    return (networks.mlp_generator(latent_dim, shape, hidden, output_activation=out_act),
            networks.mlp_discriminator(shape, hidden))


def _image_common(hp, info):
    return dict(image_size=info.sample_shape[0], channels=info.sample_shape[-1],
                width=latent_defaults(hp, info)[1])


def _gan_build(normalization):
    """Unconditional families: MLPs for toys, DCGAN networks for images."""
    def build(hp, info):
        latent_dim, _ = latent_defaults(hp, info)
        if info.kind == "toy":
            gen, disc = _mlp_nets(hp, info)
        else:
            common = _image_common(hp, info)
            gen = networks.dcgan_generator(latent_dim, **common)
            disc = networks.dcgan_discriminator(normalization=normalization, **common)
        return models.GAN(gen, disc, latent_dim=latent_dim)
    return build


def _vanilla_build(hp, info):
    """Goodfellow et al.'s GAN: MLPs on toys and on (flattened) images."""
    latent_dim, _ = latent_defaults(hp, info)
    return models.GAN(*_mlp_nets(hp, info), latent_dim=latent_dim)


def _cgan_build(hp, info):
    latent_dim, _ = latent_defaults(hp, info)
    if info.kind == "toy":
        gen, disc = _mlp_nets(hp, info, conditional=True)
    else:
        common = _image_common(hp, info)
        gen = networks.conditional_dcgan_generator(latent_dim, info.num_classes, **common)
        disc = networks.conditional_dcgan_discriminator(info.num_classes, **common)
    return models.ConditionalGAN(gen, disc, latent_dim, info.num_classes)


def _acgan_build(hp, info):
    latent_dim, _ = latent_defaults(hp, info)
    common = _image_common(hp, info)
    return models.ACGAN(
        networks.conditional_dcgan_generator(latent_dim, info.num_classes, **common),
        networks.acgan_discriminator(info.num_classes, **common), latent_dim, info.num_classes)


def _infogan_build(hp, info):
    noise_dim, _ = latent_defaults(hp, info, noise_dim_default=62)
    common = _image_common(hp, info)
    return models.InfoGAN(networks.infogan_generator(noise_dim, **common),
                          networks.infogan_discriminator(**common), noise_dim=noise_dim)


def _gan_compile_options(hp):
    options = {}
    if hp.get("loss"):
        options["loss"] = hp["loss"]
    if hp.get("d_steps"):
        options["d_steps"] = hp["d_steps"]
    return options


def d_steps_of(family, hp):
    """The discriminator steps a run uses: the flag, else the preset's."""
    return hp.get("d_steps") or models.get_preset(family.preset).d_steps


def _latent_train_dataset(labelled):
    def train_dataset(data, hp):
        family = FAMILIES[hp["family"]]
        batch = hp["batch_size"] * d_steps_of(family, hp)
        if data.info.kind == "toy":
            return data.train_dataset(batch, seed=hp["seed"], with_modes=labelled)
        return data.train_dataset(batch, seed=hp["seed"], with_labels=labelled)
    return train_dataset


def _latent_sample_fn(data, hp):
    """Fixed-seed samples: an image grid, or a scatter plot's points for toys."""
    count = 500 if data.info.kind == "toy" else 16

    def sample(model):
        return np.asarray(model.generate(count, seed=hp["seed"]), np.float32)

    return sample


def _toy_evaluate(model, data, hp, figures_dir, log):
    """Mode coverage (Metz et al. 2017) of the model, a fitted Gaussian and real data."""
    mixture = data.mixture
    n = hp["num_samples"]
    samples = model.generate(n, seed=hp["seed"]).numpy()
    real = mixture.sample(n, seed=hp["seed"] + 1)
    fitted = np.random.default_rng(hp["seed"]).multivariate_normal(
        real.mean(axis=0), np.atleast_2d(np.cov(real.T)), n)
    metrics = {}
    for prefix, points in (("", samples), ("baseline_", fitted), ("floor_", real)):
        metrics.update({f"{prefix}{k}": v
                        for k, v in toy_mode_coverage(points, mixture).to_dict().items()})
    coverage = toy_mode_coverage(samples, mixture)
    images_lib.scatter_plot(
        samples, os.path.join(figures_dir, "samples.png"), modes=mixture.centers,
        real=real[:2000],
        title=(f"{hp['family']}: {coverage.modes_covered}/{coverage.num_modes} modes, "
               f"{coverage.high_quality_fraction:.0%} high quality"))
    return metrics


def _latent_evaluate(model, data, hp, figures_dir, log):
    if data.info.kind == "toy":
        return _toy_evaluate(model, data, hp, figures_dir, log)
    return data.sample_quality(model, hp, figures_dir, log)


def _latent_blessing():
    return {"toy": Blessing("high_quality_fraction", higher_is_better=True),
            "images": Blessing("frechet_distance", higher_is_better=False)}


def _gan_export(model, hp, info):
    return (export_lib.gan_generator_signatures(model.generator, model.latent_dim),
            export_lib.gan_warmup_requests(model.latent_dim), model.generator)


def _conditional_export(model, hp, info):
    return (export_lib.conditional_generator_signatures(model.generator, model.latent_dim,
                                                        model.num_classes),
            export_lib.conditional_warmup_requests(model.latent_dim), model.generator)


def _infogan_export(model, hp, info):
    # z is [noise, one-hot categorical codes, continuous codes]; a "sample" signature
    # would draw the codes from the wrong prior, so only serving_default is exported.
    signatures = export_lib.gan_generator_signatures(model.generator)
    return ({"serving_default": signatures["serving_default"]},
            export_lib.gan_warmup_requests(model.input_dim)[:1], model.generator)


def _latent_visuals(model, folder, seed):
    """Latent interpolations and walks (White 2016; Radford et al. 2016, Sec. 6.1)."""
    paths = [os.path.join(folder, name) for name in
             ("interpolation_slerp.png", "interpolation_lerp.png", "latent_walk.png")]
    latent.interpolation_grid(model, 8, 10, "slerp", seed, path=paths[0])
    latent.interpolation_grid(model, 8, 10, "lerp", seed, path=paths[1])
    latent.latent_walk_grid(model, range(min(8, model.latent_dim)), np.linspace(-3, 3, 9),
                            seed, path=paths[2])
    return paths


def _class_visuals(model, folder, seed):
    paths = _latent_visuals(model, folder, seed)
    path = os.path.join(folder, "class_grid.png")
    latent.class_conditional_grid(model, 10, seed, path=path)
    return paths + [path]


def _infogan_visuals(model, folder, seed):
    paths = _latent_visuals(model, folder, seed)
    path = os.path.join(folder, "infogan_categorical.png")
    latent.infogan_code_sweep(model, "categorical", seed=seed, path=path)
    paths.append(path)
    for j in range(model.continuous_dim):
        path = os.path.join(folder, f"infogan_continuous_{j}.png")
        latent.infogan_code_sweep(model, j, seed=seed, path=path)
        paths.append(path)
    return paths


def _latent_family(name, paper, build, kinds=("toy", "images"), labelled=False,
                   export=_gan_export, visuals=_latent_visuals):
    return Family(name=name, paper=paper, data_kinds=kinds, preset=name, build=build,
                  compile_options=_gan_compile_options,
                  train_dataset=_latent_train_dataset(labelled), sample_fn=_latent_sample_fn,
                  evaluate=_latent_evaluate, blessing=_latent_blessing(), export=export,
                  visuals=visuals)


#: name -> :class:`Family`.
FAMILIES = {f.name: f for f in (
    _latent_family("gan", "Goodfellow et al., NeurIPS 2014", _vanilla_build),
    _latent_family("dcgan", "Radford et al., ICLR 2016", _gan_build("batch")),
    _latent_family("wgan", "Arjovsky et al., ICML 2017", _gan_build("none")),
    # WGAN-GP: no BatchNorm in the critic (Gulrajani et al. Sec. 4); layer norm instead.
    _latent_family("wgan_gp", "Gulrajani et al., NeurIPS 2017", _gan_build("layer")),
    _latent_family("cgan", "Mirza & Osindero, 2014", _cgan_build, labelled=True,
                   export=_conditional_export, visuals=_class_visuals),
    _latent_family("acgan", "Odena et al., ICML 2017", _acgan_build, kinds=("images",),
                   labelled=True, export=_conditional_export, visuals=_class_visuals),
    _latent_family("infogan", "Chen et al., NeurIPS 2016", _infogan_build, kinds=("images",),
                   export=_infogan_export, visuals=_infogan_visuals),
    PIX2PIX,
    CYCLEGAN,
)}

#: The latent-variable families (``pipelines.gan --gan``).
LATENT_FAMILIES = tuple(n for n, f in FAMILIES.items()
                        if not {"pairs", "unpaired"} & set(f.data_kinds))


#: Learning rate of both players on toy mixtures when none is given.
TOY_LEARNING_RATE = 1e-3


def get_family(name):
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"Unknown family {name!r}; choose one of {sorted(FAMILIES)}.") from None


def build_model(family, hp, info):
    """Builds and compiles ``family``'s model (call inside the strategy scope)."""
    if info.kind not in family.data_kinds:
        raise ValueError(
            f"{family.name} trains on {' or '.join(family.data_kinds)} data, not {info.kind}.")
    model = family.build(hp, info)
    # The papers' learning rates are for images; small MLPs on 2-D mixtures need a
    # larger one (measured: lr 2e-4 covered 0/8 ring modes after 3k steps, 1e-3 all 8).
    learning_rate = hp.get("learning_rate") or (TOY_LEARNING_RATE if info.kind == "toy" else None)
    if learning_rate is None and family.learning_rate is not None:
        learning_rate = family.learning_rate(hp)
    return models.compile_preset(model, family.preset, learning_rate=learning_rate,
                                 steps_per_execution=hp.get("steps_per_execution", 1),
                                 **family.compile_options(hp))
