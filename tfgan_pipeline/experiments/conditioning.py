"""Experiment 7: style and content with class conditioning.

Papers: Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014, Sec. 4.1
and Fig. 2 (MNIST digits generated for each requested label); Odena, Olah, Shlens,
"Conditional Image Synthesis with Auxiliary Classifier GANs", ICML 2017, Sec. 3 and
4 (the class label sets the content; ``z`` varies everything else — with a fixed
``z`` and a changing class, "the global structure ... is preserved").

What runs: the library's :class:`~tfgan_pipeline.models.ConditionalGAN` (projection
discriminator, the library default; preset ``cgan``) and
:class:`~tfgan_pipeline.models.ACGAN` (preset ``acgan``), DCGAN-style conditional
networks (width 32), trained with ``fit`` on the labelled real MNIST digits, one run
per model and seed. Then, with 100 fixed noise vectors ``z`` and every label:

* content — fixed ``z``, changing label: the share of the 1,000 generated digits a
  digit classifier (trained on the real digits) reads as the requested label;
* style — fixed label, changing ``z``: the spread (std over ``z``) of the digits'
  slant and ink (:func:`core.style_measures`), relative to the spread among the
  real digits of that class (1 = as varied as real handwriting); and, as an
  observation, how much a ``z`` keeps its slant across labels (mean Spearman
  correlation, over label pairs, of the slant of ``G(z, y1)`` and ``G(z, y2)``).
"""

import dataclasses
import itertools

import numpy as np

from tfgan_pipeline import models, networks
from tfgan_pipeline.data import mnist
from tfgan_pipeline.evaluation import metrics
from tfgan_pipeline.experiments import core

TITLE = "Style and content with conditioning (cGAN, ACGAN)"
SOURCE = "Mirza & Osindero 2014, Sec. 4.1, Fig. 2; Odena et al. 2017, Sec. 3-4"

# ---- thresholds, fixed before any run --------------------------------------------
#: Content: the classifier reads the requested digit for at least this share.
MIN_LABEL_ACCURACY = 0.9
#: Style: with the label fixed, z spreads the slant at least this much relative to the
#: real digits of the class (mean over classes of std_generated / std_real).
MIN_STYLE_SPREAD = 0.5

MODELS = ("cgan", "acgan")
LATENT_DIM = 64
NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class Budget:
    steps: int
    batch_size: int
    width: int
    num_z: int
    classifier_epochs: int
    run_eagerly: bool


BUDGETS = {
    "full": Budget(steps=1200, batch_size=64, width=32, num_z=100, classifier_epochs=2,
                   run_eagerly=False),
    "smoke": Budget(steps=3, batch_size=8, width=4, num_z=5, classifier_epochs=1,
                    run_eagerly=True),
}


def _build(kind, width):
    generator = networks.conditional_dcgan_generator(LATENT_DIM, NUM_CLASSES, image_size=28,
                                                     channels=1, width=width)
    if kind == "cgan":
        return models.ConditionalGAN(
            generator, networks.conditional_dcgan_discriminator(
                NUM_CLASSES, image_size=28, channels=1, width=width),
            latent_dim=LATENT_DIM, num_classes=NUM_CLASSES)
    return models.ACGAN(generator, networks.acgan_discriminator(
        NUM_CLASSES, image_size=28, channels=1, width=width),
        latent_dim=LATENT_DIM, num_classes=NUM_CLASSES)


def measure(model, extractor, z, real_style):
    """Content and style figures for one trained model and the fixed noise ``z``."""
    num_z = len(z)
    labels = np.repeat(np.arange(NUM_CLASSES), num_z)          # label-major
    noise = np.tile(z, [NUM_CLASSES, 1])
    images = model.generate(len(labels), noise=noise, labels=labels).numpy()
    _, read = core.classify(extractor, images)
    accuracy = metrics.label_accuracy(np.eye(NUM_CLASSES)[read], labels).value
    per_label = [float(np.mean(read[labels == y] == y)) for y in range(NUM_CLASSES)]
    style = core.style_measures(images)
    spread = {}
    for key in ("slant", "ink"):
        values = style[key].reshape(NUM_CLASSES, num_z)
        spread[key] = float(np.mean([values[y].std() / real_style[key][y]
                                     for y in range(NUM_CLASSES)]))
    slant = style["slant"].reshape(NUM_CLASSES, num_z)
    kept = [core.spearman(slant[a], slant[b])
            for a, b in itertools.combinations(range(NUM_CLASSES), 2)]
    return {"label_accuracy": accuracy, "per_label_accuracy": per_label,
            "style_spread": spread, "slant_kept_across_labels": float(np.nanmean(kept)),
            "images": images}


def run(ctx, budget):
    images, labels = core.load_mnist(ctx.mnist_dir)
    extractor, classifier_info = core.mnist_classifier(ctx, budget.classifier_epochs)
    real = core.style_measures(images)
    real_style = {k: [float(real[k][labels == y].std()) for y in range(NUM_CLASSES)]
                  for k in ("slant", "ink")}
    results = {kind: {} for kind in MODELS}
    for kind in MODELS:
        for seed in ctx.seeds:
            core.fresh_session(seed)
            model = _build(kind, budget.width)
            models.compile_preset(model, steps_per_execution=min(50, budget.steps),
                                  run_eagerly=budget.run_eagerly)
            data = mnist.mnist_dataset(ctx.mnist_dir, budget.batch_size, with_labels=True,
                                       seed=seed)
            model.fit(data, steps_per_epoch=budget.steps, epochs=1, verbose=0)
            z = np.random.default_rng(1000 + seed).standard_normal(
                [budget.num_z, LATENT_DIM]).astype(np.float32)
            m = measure(model, extractor, z, real_style)
            if seed == ctx.seeds[0]:
                grid = m["images"].reshape(NUM_CLASSES, budget.num_z, 28, 28, 1)[:, :10]
                ctx.save_image_grid(f"grid_{kind}.png", grid.reshape(-1, 28, 28, 1),
                                    nrows=NUM_CLASSES,
                                    caption=f"{kind}, seed {seed}: one row per requested label "
                                            "0-9, one column per fixed z (the same z down a "
                                            "column).")
            del m["images"]
            results[kind][seed] = m
            ctx.log(f"{kind} seed {seed}: label accuracy {m['label_accuracy']:.3f}, style "
                    f"spread slant {m['style_spread']['slant']:.2f} ink "
                    f"{m['style_spread']['ink']:.2f}, slant kept across labels "
                    f"{m['slant_kept_across_labels']:.2f}")
    claims, rows = [], []
    for kind in MODELS:
        acc = [results[kind][s]["label_accuracy"] for s in ctx.seeds]
        spread = [results[kind][s]["style_spread"]["slant"] for s in ctx.seeds]
        held_acc = core.mean_std(acc)[0] >= MIN_LABEL_ACCURACY
        held_spread = core.mean_std(spread)[0] >= MIN_STYLE_SPREAD
        worst = [int(np.argmin(results[kind][s]["per_label_accuracy"])) for s in ctx.seeds]
        claims.append(core.Claim(
            statement=f"{kind}: with z fixed and the label changed, the classifier reads the "
                      "requested digit.",
            source=SOURCE, measure=f"label accuracy of {kind} digits (fixed z, all labels)",
            threshold=f"mean >= MIN_LABEL_ACCURACY = {MIN_LABEL_ACCURACY}",
            values=tuple(acc), held=bool(held_acc),
            note="" if held_acc else f"per seed {[round(a, 3) for a in acc]}; worst label per "
                                     f"seed {worst}"))
        claims.append(core.Claim(
            statement=f"{kind}: with the label fixed, z changes the style (slant) as much as "
                      "real handwriting varies, at least half.",
            source=SOURCE, measure="std of slant over z / std over real digits of the class",
            threshold=f"mean >= MIN_STYLE_SPREAD = {MIN_STYLE_SPREAD}",
            values=tuple(spread), held=bool(held_spread),
            note="" if held_spread else f"per seed {[round(v, 3) for v in spread]}"))
        rows.append([kind, core.pm(acc),
                     core.pm([results[kind][s]["style_spread"]["slant"] for s in ctx.seeds]),
                     core.pm([results[kind][s]["style_spread"]["ink"] for s in ctx.seeds]),
                     core.pm([results[kind][s]["slant_kept_across_labels"] for s in ctx.seeds])])
    what = (f"Real labelled MNIST ({len(labels)} digits); ConditionalGAN (projection D) and ACGAN "
            f"with conditional DCGAN networks (width {budget.width}), presets cgan / acgan, "
            f"batch {budget.batch_size}, {budget.steps} G updates per model and seed; "
            f"{budget.num_z} fixed z x {NUM_CLASSES} labels scored.")
    notes = (f"Digit classifier trained {classifier_info['epochs']} epoch(s) on the real digits "
             f"(train accuracy {classifier_info['train_accuracy']:.3f}; the same digits the GANs "
             "trained on).",
             "Style measures: slant = -mu11/mu02 of the ink (moment deskewing), ink = mean "
             "intensity; real spreads are per class over all real digits.")
    table = {"title": "Content and style (mean ± std over seeds)",
             "columns": ["model", "label accuracy (fixed z)", "slant spread (gen/real)",
                         "ink spread (gen/real)", "slant kept across labels (Spearman)"],
             "rows": rows}
    return core.Outcome(what_was_run=what, claims=tuple(claims),
                        figures={"results": {k: {str(s): r for s, r in v.items()}
                                             for k, v in results.items()},
                                 "real_style_std": real_style, "classifier": classifier_info},
                        steps={"g_updates": budget.steps}, notes=notes, tables=(table,))
