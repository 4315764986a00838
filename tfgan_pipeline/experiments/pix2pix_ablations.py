"""Experiment 8: pix2pix ablations on the maps pairs — loss, skip connections, patch size.

Paper: Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017: Sec. 4.2, Fig. 4 and Table 1 ("L1 alone leads to
reasonable but blurry results"; cGAN + L1 is sharper), Sec. 4.3, Fig. 5 and Table 2
(the U-Net's skip connections give much better results than the encoder-decoder),
Sec. 4.4, Fig. 6 and Table 3 (PatchGAN 1x1 / 16x16 / 70x70 / 286x286: small patches
give artefacts, 70x70 is sharp, the full-image 286 is no better).

What runs: the maps pairs (aerial -> map, ``AtoB``) through the library's Beam
preprocessing (:func:`tfgan_pipeline.preprocess.run_preprocess`: resize to 143, a
stable 10% validation split by file name) and
:func:`tfgan_pipeline.data.paired.paired_train_dataset` (random 128x128 crops and
flips, batch 1 as in the paper); :class:`~tfgan_pipeline.models.Pix2Pix` with its
preset (Adam 2e-4, beta1 0.5, halved D loss), :func:`networks.unet_generator` (with
or without skips) and :func:`networks.patchgan_discriminator` at CPU size (base
filters 32 instead of 64), the same number of steps and the same seed for every
variant:

=================  ==========  =========  ======  ==========
variant            generator   PatchGAN   cGAN    L1 weight
=================  ==========  =========  ======  ==========
cgan_l1            U-Net       70         yes     100
l1                 U-Net       70         no      100
cgan               U-Net       70         yes     0
encoder_decoder    enc-dec     70         yes     100
patch_1/16/286     U-Net       1/16/286   yes     100
=================  ==========  =========  ======  ==========

(L1 only is ``Pix2Pix(..., gan_weight=0)``: D still trains, G ignores it. At 128x128
the 286 discriminator sees the whole image: the paper's "ImageGAN".)

Scored on every validation pair, translated one at a time in the paper's test mode
(batch statistics and dropout, ``translate(mode="paper", batch_size=1)``): L1 on 0-255,
PSNR, SSIM (:mod:`tfgan_pipeline.evaluation.image_metrics`), pixel accuracy (share of
pixels whose three channels are all within 5 of the target's, on 0-255) and
sharpness: the high-frequency energy of the output relative to the target's,
``mean(laplacian(gray(out))^2) / mean(laplacian(gray(target))^2)`` (1 = as much
fine detail as the real map; blur lowers it).
"""

import dataclasses
import hashlib
import os

import numpy as np
import scipy.ndimage
import tensorflow as tf

from tfgan_pipeline import models, networks
from tfgan_pipeline.data import paired
from tfgan_pipeline.evaluation import image_metrics
from tfgan_pipeline.experiments import core
from tfgan_pipeline.preprocess import PreprocessConfig, run_preprocess

TITLE = "pix2pix ablations on the maps pairs"
SOURCE = "Isola et al. 2017, Sec. 4.2-4.4, Tables 1-3, Fig. 4-6"

# ---- thresholds, fixed before any run --------------------------------------------
#: "L1 alone is blurrier": per validation image, sharpness(L1) / sharpness(cGAN + L1),
#: mean at most this (a 10% margin over noise).
MAX_L1_SHARPNESS_RATIO = 0.9
#: "Skip connections lower the error": per validation image, L1(U-Net) / L1(enc-dec),
#: mean at most this (a 5% margin).
MAX_UNET_L1_RATIO = 0.95
#: Pixel accuracy counts a pixel when every channel is within this many levels (0-255).
PIXEL_TOLERANCE = 5
#: One seed: the ablation is the budget's largest (seven trainings); spread is over images.
MAX_SEEDS = 1

#: variant -> (skip connections, receptive field, gan_weight, l1_weight)
VARIANTS = {
    "cgan_l1": (True, 70, 1.0, 100.0),
    "l1": (True, 70, 0.0, 100.0),
    "cgan": (True, 70, 1.0, 0.0),
    "encoder_decoder": (False, 70, 1.0, 100.0),
    "patch_1": (True, 1, 1.0, 100.0),
    "patch_16": (True, 16, 1.0, 100.0),
    "patch_286": (True, 286, 1.0, 100.0),
}
IMAGE_SIZE = 128
LOAD_SIZE = 143  # 286 / 2: the paper's jitter (resize 286, crop 256) at half size
VAL_FRACTION = 0.1


@dataclasses.dataclass(frozen=True)
class Budget:
    steps: int
    base_filters: int
    max_eval_images: int
    examples: int          # validation images shown as triplets
    run_eagerly: bool


BUDGETS = {
    "full": Budget(steps=400, base_filters=32, max_eval_images=200, examples=3,
                   run_eagerly=False),
    "smoke": Budget(steps=1, base_filters=2, max_eval_images=3, examples=2, run_eagerly=True),
}


def preprocess(ctx):
    """The maps pairs as TFRecords at LOAD_SIZE (Beam; cached by the library's cache key)."""
    tag = hashlib.sha1(os.path.abspath(ctx.maps_dir).encode()).hexdigest()[:10]
    return run_preprocess(PreprocessConfig(
        data_dir=ctx.maps_dir, output_dir=os.path.join(ctx.cache_dir, f"pairs_{tag}_l{LOAD_SIZE}"),
        direction="AtoB", load_size=LOAD_SIZE, val_fraction=VAL_FRACTION, num_shards=2),
        verbose=False)


def high_frequency_energy(images):
    """Per image: ``mean(laplacian(gray)^2)`` of ``[-1, 1]`` RGB images on the 0-255 scale."""
    gray = (np.asarray(images, np.float64) + 1.0) * 127.5 @ np.array([0.299, 0.587, 0.114])
    lap = np.stack([scipy.ndimage.laplace(g) for g in gray])
    return np.mean(lap[:, 1:-1, 1:-1] ** 2, axis=(1, 2))


def sharpness(images, targets):
    """Per image: its high-frequency energy relative to the targets' mean energy.

    The reference is the mean over all ``targets`` (not each image's own target: a
    flat map tile, all water or all park, has almost none, and a per-image ratio
    would explode there), so the mean over images is the set's ratio
    ``mean HF(outputs) / mean HF(targets)``: 1 = as much fine detail as the real maps.
    """
    return high_frequency_energy(images) / max(float(np.mean(high_frequency_energy(targets))),
                                               1e-12)


def pixel_accuracy(images, targets, tolerance=PIXEL_TOLERANCE):
    """Per image: share of pixels whose every channel is within ``tolerance`` levels."""
    diff = np.abs(np.asarray(images, np.float64) - np.asarray(targets, np.float64)) * 127.5
    return np.mean(np.all(diff <= tolerance + 1e-4, axis=-1), axis=(1, 2))  # float32 slack


def score(outputs, targets):
    """Per-image L1 (0-255), PSNR, SSIM, pixel accuracy and sharpness."""
    return {"l1": image_metrics.l1(outputs, targets) * 127.5,
            "psnr": image_metrics.psnr(outputs, targets),
            "ssim": image_metrics.ssim(outputs, targets),
            "pixel_accuracy": pixel_accuracy(outputs, targets),
            "sharpness": sharpness(outputs, targets),
            "hf_energy": high_frequency_energy(outputs)}


def translate(model, inputs, seed):
    """The paper's test protocol: one image at a time, batch statistics and dropout on.

    ``Pix2Pix.translate_fn("paper")`` called eagerly per image (no tracing per
    variant); the dropout draws are seeded, so a rerun reproduces the outputs.
    """
    tf.random.set_seed(seed)
    fn = model.translate_fn("paper")
    return np.concatenate([fn(inputs[i:i + 1]).numpy() for i in range(len(inputs))])


def _train_variant(budget, name, seed, train_pattern):
    skip, field, gan_weight, l1_weight = VARIANTS[name]
    core.fresh_session(seed)
    model = models.Pix2Pix(
        networks.unet_generator(IMAGE_SIZE, base_filters=budget.base_filters,
                                skip_connections=skip),
        networks.patchgan_discriminator(IMAGE_SIZE, receptive_field=field,
                                        base_filters=budget.base_filters),
        l1_weight=l1_weight, gan_weight=gan_weight)
    models.compile_preset(model, steps_per_execution=min(20, budget.steps),
                          run_eagerly=budget.run_eagerly)
    data = paired.paired_train_dataset(train_pattern, batch_size=1, image_size=IMAGE_SIZE,
                                       load_size=LOAD_SIZE, seed=seed)
    history = model.fit(data, steps_per_epoch=budget.steps, epochs=1, verbose=0)
    return model, {k: float(v[-1]) for k, v in history.history.items()}


def run(ctx, budget):
    prep = preprocess(ctx)
    ctx.log(f"pairs: {prep.records_per_split} ({'reused' if prep.reused else 'preprocessed'})")
    val = list(paired.paired_eval_dataset(prep.file_pattern("val"), batch_size=1,
                                          image_size=IMAGE_SIZE).take(budget.max_eval_images))
    inputs = np.concatenate([v[0].numpy() for v in val])
    targets = np.concatenate([v[1].numpy() for v in val])
    seed = ctx.seeds[0]
    scores, train_metrics, examples = {}, {}, {}
    for name in VARIANTS:
        model, train_metrics[name] = _train_variant(budget, name, seed, prep.file_pattern("train"))
        outputs = translate(model, inputs, seed)
        scores[name] = score(outputs, targets)
        examples[name] = outputs[:budget.examples]
        ctx.log(f"{name}: L1 {scores[name]['l1'].mean():.2f}, PSNR "
                f"{scores[name]['psnr'].mean():.2f}"
                f", SSIM {scores[name]['ssim'].mean():.3f}, pixel acc "
                f"{scores[name]['pixel_accuracy'].mean():.3f}, sharpness "
                f"{scores[name]['sharpness'].mean():.3f}")
    ratio_sharp = (scores["l1"]["hf_energy"]
                   / np.maximum(scores["cgan_l1"]["hf_energy"], 1e-12))
    ratio_l1 = scores["cgan_l1"]["l1"] / np.maximum(scores["encoder_decoder"]["l1"], 1e-12)
    held_a = float(np.mean(ratio_sharp)) <= MAX_L1_SHARPNESS_RATIO
    held_b = float(np.mean(ratio_l1)) <= MAX_UNET_L1_RATIO
    n = len(targets)

    def means(name):
        return {k: float(np.mean(v)) for k, v in scores[name].items()}

    claims = (
        core.Claim(
            statement="L1 alone gives blurrier results than cGAN + L1 (less high-frequency "
                      "detail).", source="Isola et al. 2017, Sec. 4.2, Fig. 4, Table 1",
            measure="HF energy of the L1-only output / of the cGAN + L1 output, per "
                    "validation image",
            threshold=f"mean <= MAX_L1_SHARPNESS_RATIO = {MAX_L1_SHARPNESS_RATIO}",
            values=tuple(float(v) for v in ratio_sharp), held=bool(held_a), unit="val image",
            note="" if held_a else (f"mean sharpness: L1 only {means('l1')['sharpness']:.3f}, "
                                    f"cGAN + L1 {means('cgan_l1')['sharpness']:.3f} (1 = the "
                                    "target's)")),
        core.Claim(
            statement="Skip connections (U-Net) lower the error against the encoder-decoder.",
            source="Isola et al. 2017, Sec. 4.3, Fig. 5, Table 2",
            measure="L1(U-Net) / L1(encoder-decoder), cGAN + L1, per validation image",
            threshold=f"mean <= MAX_UNET_L1_RATIO = {MAX_UNET_L1_RATIO}",
            values=tuple(float(v) for v in ratio_l1), held=bool(held_b), unit="val image",
            note="" if held_b else (f"mean L1: U-Net {means('cgan_l1')['l1']:.2f}, "
                                    f"encoder-decoder {means('encoder_decoder')['l1']:.2f}")),
    )
    rows = [[name, "U-Net" if VARIANTS[name][0] else "enc-dec", VARIANTS[name][1],
             "yes" if VARIANTS[name][2] else "no", VARIANTS[name][3]]
            + [core.pm(scores[name][k], 4 if k == "ssim" else 3)
               for k in ("l1", "psnr", "ssim", "pixel_accuracy", "sharpness")]
            for name in VARIANTS]
    _triplets(ctx, inputs[:budget.examples], targets[:budget.examples], examples)
    _bars(ctx, scores)
    what = (f"maps AtoB, Beam-preprocessed to {LOAD_SIZE}, {prep.records_per_split.get('train')} "
            f"train / {prep.records_per_split.get('val')} val pairs; Pix2Pix.fit at "
            f"{IMAGE_SIZE}x{IMAGE_SIZE}, batch 1, base filters {budget.base_filters}, "
            f"{budget.steps} steps per variant ({len(VARIANTS)} variants, seed {seed}); "
            f"scored on {n} validation pairs in the paper's test mode.")
    notes = (f"One seed (MAX_SEEDS = {MAX_SEEDS}): seven trainings already fill the budget; the "
             "spread is over validation images, not over training runs.",
             f"{budget.steps} steps at batch 1 is "
             f"{budget.steps / max(1, prep.records_per_split.get('train', 1)):.2f} "
             "epochs, far shorter than the paper's 200 epochs: these are early-training "
             "comparisons at equal steps.")
    table = {"title": f"All variants on {n} validation pairs (mean ± std over images)",
             "columns": ["variant", "generator", "PatchGAN", "cGAN term", "L1 weight",
                         "L1 (0-255)", "PSNR (dB)", "SSIM",
                         f"pixel acc. (within {PIXEL_TOLERANCE})", "sharpness (target = 1)"],
             "rows": rows}
    return core.Outcome(
        what_was_run=what, claims=claims,
        figures={"means": {name: means(name) for name in VARIANTS},
                 "per_image": {name: {k: v.tolist() for k, v in s.items()}
                               for name, s in scores.items()},
                 "target_hf_energy": high_frequency_energy(targets).tolist(),
                 "train_metrics": train_metrics, "preprocess": prep.records_per_split,
                 "preprocess_reused": prep.reused},
        steps={"steps_per_variant": budget.steps}, notes=notes, tables=(table,))


def _triplets(ctx, inputs, targets, examples):
    columns = [inputs, targets] + [examples[name] for name in VARIANTS]
    tiles = np.stack(columns, axis=1).reshape((-1,) + inputs.shape[1:])
    ctx.save_image_grid("examples.png", tiles, nrows=len(inputs),
                        caption="Validation examples, one per row: input (aerial), target "
                                f"(map), then {', '.join(VARIANTS)}.")


def _bars(ctx, scores):
    keys = ("l1", "psnr", "ssim", "pixel_accuracy", "sharpness")
    with ctx.figure("metrics.png", ncols=len(keys), figsize=(3.2 * len(keys), 3.6),
                    caption="Each variant's mean over validation images (error bars: std over "
                            "images).") as (fig, axes):
        names = list(VARIANTS)
        for ax, key in zip(axes[0], keys):
            means = [np.mean(scores[n][key]) for n in names]
            stds = [np.std(scores[n][key]) for n in names]
            ax.bar(range(len(names)), means, yerr=stds, color="tab:blue", alpha=0.8)
            ax.set_xticks(range(len(names)), names, rotation=70, fontsize=7)
            ax.set_title(key)
