r"""Equal-steps quality of the faster training paths against the float32 reference.

Trains pix2pix on real aerial -> map pairs (the maps train split, preprocessed by the
library's Beam ExampleGen into a scratch folder) once per variant and seed, for the
same number of steps on the same data stream, and prints the held-out L1 (0-255,
``batch_stats`` mode: batch statistics, no dropout, so the figure is deterministic)
on the hash-split validation pairs. Variants:

* ``float32:unfused:kerasbn:kerasconv`` -- the reference: float32, Keras' own Adam
  update, Keras' own BatchNorm ops and TensorFlow's own convolution ops, weight
  gradients included (the tutorial's arithmetic);
* ``float32:fused:kerasbn:kerasconv`` -- the fused Adam update alone;
* ``float32:fused:kerasconv`` -- plus the fused BatchNorm kernel of
  ``networks.batch_norm``;
* ``float32:fused:nodense`` -- plus the im2col + matmul weight gradients of
  ``networks.conv``;
* ``float32:fused``   -- the default on CPUs without native bf16 (plus the dense
  matmul form of the innermost layers, ``networks.conv``);
* ``mixed_bfloat16:fused`` -- the default where bf16 measures faster (AMX CPUs);
* a ``:bands`` / ``:inputconv`` / ``:tapgrad`` part forces ``networks.conv``'s
  probe-chosen two-band forward / forward-convolution input gradient / tap-by-tap
  weight gradient on wherever their shape guards allow (``float32:fused:tapgrad``;
  the tap form then also replaces the im2col one of the small layers), whatever this
  CPU's probe would pick.

``--model cyclegan`` trains CycleGAN (Zhu et al. 2017: ResNet generators, instance
norm, 70x70 PatchGANs) on the same stream, the pair's two images as its domains A
and B, and scores ``G: A -> B`` by the same held-out L1. Its variants:
``float32:unfused:kerasin:kerasconv`` (reference: Keras' Adam, Keras'
``GroupNormalization`` ops, TensorFlow's convolution ops), ``float32:fused:kerasin:kerasconv``
(fused Adam alone), ``float32:fused`` (the default: fused Adam, the fused
instance-norm kernel of ``networks.instance_norm`` and the PatchGANs' ``networks.conv``
layers) and ``mixed_bfloat16:fused`` (the default where bf16 measures faster).

Every variant trains on pairs preprocessed with ``jpeg_draft="off"`` (the reference's
full-size decode and bicubic resize) unless it has a ``:jpegdraft`` part (any model,
e.g. ``float32:fused:jpegdraft``): then it trains on the library's default
preprocessing, ``jpeg_draft="train"`` (the training JPEGs decoded at a reduced DCT
scale before the resize: the faster, not pixel-identical Beam path). The held-out L1
is taken on the same exact validation pairs for every variant.

A faster path passes when its mean L1 over the seeds is within 2% of the
reference's; the spread between seeds of the reference is printed beside it (the
size of the noise the 2% has to be read against).

  .venv/bin/python benchmarks/quality_check.py [--image_size 64] [--base_filters 32]
      [--steps 400] [--seeds 0 1] [--data_dir ../shared/data/maps/train]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cyclegan_step import keras_instance_norm  # noqa: E402
from pix2pix_step import (keras_batch_norm, keras_conv_grads, no_dense_layers,  # noqa: E402
                          no_matmul_weight_grad, set_probe_paths)
from tfgan_pipeline import models, networks  # noqa: E402
from tfgan_pipeline.data import paired  # noqa: E402
from tfgan_pipeline.preprocess import PreprocessConfig, run_preprocess  # noqa: E402

_DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                             "data", "maps", "train")
VARIANTS = {"pix2pix": ("float32:unfused:kerasbn:kerasconv", "float32:fused:kerasbn:kerasconv",
                        "float32:fused:kerasconv", "float32:fused:nodense", "float32:fused",
                        "mixed_bfloat16:fused"),
            "cyclegan": ("float32:unfused:kerasin:kerasconv", "float32:fused:kerasin:kerasconv",
                         "float32:fused", "mixed_bfloat16:fused")}


def apply_parts(model_name, rest, switches, *nets):
    """Applies each variant part in ``rest`` (a key of ``switches``: a function of the
    networks that makes them take Keras' own ops) to ``nets``."""
    for part in rest:
        if part not in switches:
            raise ValueError(f"unknown {model_name} variant part {part!r} "
                             f"(known: {sorted(switches)})")
        switches[part](*nets)


#: Parts forcing a probe-chosen path on wherever its shape guards allow, so its quality is
#: checked on a CPU whose probe would not take it.
FORCED = {"bands": lambda *nets: set_probe_paths(*nets, band_forward=True),
          "inputconv": lambda *nets: set_probe_paths(*nets, conv_input_grad=True),
          "tapgrad": lambda *nets: (no_matmul_weight_grad(*nets),  # in its place too
                                    set_probe_paths(*nets, tap_weight_grad=True))}


def build_pix2pix(args, rest, fused):
    gen = networks.unet_generator(args.image_size, base_filters=args.base_filters)
    disc = networks.patchgan_discriminator(args.image_size, base_filters=args.base_filters)
    apply_parts("pix2pix", rest, {"kerasbn": keras_batch_norm, "kerasconv": keras_conv_grads,
                                  "nodense": no_dense_layers, **FORCED}, gen, disc)
    model = models.compile_preset(models.Pix2Pix(gen, disc), fused_adam=fused)
    return model, model.translate_fn("batch_stats")


def build_cyclegan(args, rest, fused):
    size, f = args.image_size, args.base_filters
    gens = [networks.resnet_generator(size, 3, base_filters=f, name=n) for n in ("g_ab", "g_ba")]
    discs = [networks.patchgan_discriminator(size, input_channels=0, target_channels=3,
                                             base_filters=f, norm="instance", name=n)
             for n in ("d_a", "d_b")]
    apply_parts("cyclegan", rest, {"kerasin": keras_instance_norm, "kerasconv": keras_conv_grads,
                                   "nodense": no_dense_layers, **FORCED},
                *gens, *discs)
    model = models.CycleGAN(*gens, *discs, image_shape=(size, size, 3))
    return models.compile_preset(model, fused_adam=fused), model.translate


#: model -> (builder returning ``(compiled model, translate function)``, networks).
MODELS = {"pix2pix": (build_pix2pix, "U-Net/PatchGAN"),
          "cyclegan": (build_cyclegan, "ResNet/PatchGAN")}


def held_out_l1(translate, pattern, image_size):
    """Mean |translate(source) - target| on 0-255 over the held-out pairs."""
    total, count = 0.0, 0
    for source, target in paired.paired_eval_dataset(pattern, 1, image_size):
        out = translate(source)
        total += float(tf.reduce_sum(tf.abs(out - target))) * 127.5
        count += int(np.prod(target.shape))
    return total / count


#: The data part: train on the ``jpeg_draft="train"`` preprocessing (held-out pairs exact).
DRAFT_PART = "jpegdraft"


def preprocess(args, draft):
    name = f"pairs_{args.load_size}" + ("_draft" if draft else "")
    return run_preprocess(PreprocessConfig(
        data_dir=args.data_dir, output_dir=os.path.join(args.work_dir, name),
        load_size=args.load_size, jpeg_draft="train" if draft else "off"),
        overwrite=True, verbose=False)


def train(variant, seed, args, results):
    """``results``: ``{draft: PreprocessResult}``; training reads the variant's, the
    held-out L1 always the exact preprocessing's."""
    policy, fused, *rest = variant.split(":")
    draft = DRAFT_PART in rest
    rest = [part for part in rest if part != DRAFT_PART]
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(seed)
    model, translate = MODELS[args.model][0](args, rest, fused == "fused")
    keras.mixed_precision.set_global_policy("float32")
    ds = paired.paired_train_dataset(results[draft].file_pattern("train"), 1, args.image_size,
                                     args.load_size, seed=seed)
    start = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=args.steps, verbose=0)
    seconds = time.perf_counter() - start
    return (held_out_l1(tf.function(translate), results[False].file_pattern("val"),
                        args.image_size), seconds)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data_dir", default=_DEFAULT_DATA)
    p.add_argument("--work_dir", default="/tmp/tfgan_quality_check",
                   help="where the preprocessed pairs go (reused when made from the same "
                        "inputs and config, rebuilt otherwise)")
    p.add_argument("--image_size", type=int, default=64)
    p.add_argument("--load_size", type=int, default=None, help="default: 1.125 x image_size")
    p.add_argument("--base_filters", type=int, default=32)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--model", choices=sorted(MODELS), default="pix2pix")
    p.add_argument("--variants", nargs="+", default=None, help="default: the model's VARIANTS")
    args = p.parse_args()
    args.variants = args.variants or list(VARIANTS[args.model])
    args.load_size = args.load_size or int(round(args.image_size * 1.125))
    results = {False: preprocess(args, False)}
    if any(DRAFT_PART in v.split(":") for v in args.variants):
        results[True] = preprocess(args, True)
    result = results[False]
    nets = MODELS[args.model][1]
    print(f"maps pairs {result.records_per_split}, {args.model} {args.image_size}x"
          f"{args.image_size} (load {args.load_size}), {nets} base {args.base_filters}, batch 1, "
          f"{args.steps} steps per run, seeds {args.seeds}; held-out L1 on 0-255 "
          "(batch_stats mode)", flush=True)
    scores = {}
    for seed in args.seeds:  # seeds outermost: machine-load drift hits every variant
        for variant in args.variants:
            l1, seconds = train(variant, seed, args, results)
            scores.setdefault(variant, []).append(l1)
            print(f"  {variant:34s} seed {seed}: L1 {l1:.3f}  ({seconds / args.steps:.3f} s/step, "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)
    ref = statistics.mean(scores[args.variants[0]])
    spread = max(scores[args.variants[0]]) - min(scores[args.variants[0]])
    print(f"reference {args.variants[0]}: mean L1 {ref:.3f} (seed-to-seed spread {spread:.3f}, "
          f"{100 * spread / ref:.1f}%)")
    for variant in args.variants[1:]:
        mean = statistics.mean(scores[variant])
        rel = 100 * (mean - ref) / ref
        print(f"{variant:34s}: mean L1 {mean:.3f}, {rel:+.2f}% vs reference -> "
              f"{'within' if abs(rel) <= 2 else 'OUTSIDE'} 2%")


if __name__ == "__main__":
    main()
