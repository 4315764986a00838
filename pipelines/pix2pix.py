r"""Command line: pix2pix as a pipeline -- ExampleGen -> Trainer -> Evaluator -> Pusher.

  python -m pipelines.pix2pix --data_dir=../shared/data/maps/train --output_dir=runs/maps \
      --direction=AtoB --train_steps=2000

Without --data_dir a synthetic A|B dataset is generated under the pipeline root.
Flags map once into :class:`tfgan_pipeline.config.Pix2PixConfig`; the pipeline is
:func:`tfgan_pipeline.pipeline.jobs.run_job`. Rerunning skips what is cached and
continues a killed training from its last checkpoint.
"""

from absl import app, flags

from pipelines import common
from tfgan_pipeline import config as config_lib

_D = config_lib.Pix2PixConfig()
common.define_job_flags(_D)

flags.DEFINE_string("data_dir", None, "Folder of pairs; unset: generate synthetic pairs.")
flags.DEFINE_enum("layout", _D.layout, list(config_lib.LAYOUTS),
                  "pix2pix: one A|B image per pair; ab: A/ and B/ folders; auto: detect.")
flags.DEFINE_enum("direction", _D.direction, list(config_lib.DIRECTIONS),
                  "Translation direction.")
flags.DEFINE_integer("image_size", _D.image_size, "Training crop and model size.")
flags.DEFINE_integer("load_size", _D.load_size, "Resize size before the random crop.")
flags.DEFINE_float("val_fraction", _D.val_fraction, "Held-out fraction of a flat folder.")
flags.DEFINE_enum("jpeg_draft", _D.jpeg_draft, list(config_lib.JPEG_DRAFT_MODES),
                  "Splits whose JPEG pairs are decoded at a reduced DCT scale (~2x faster "
                  "ExampleGen; not pixel-identical to the paper's bicubic resize, same "
                  "held-out L1 at equal steps): train (held-out pairs exact), all, off.")
flags.DEFINE_enum("generator", _D.generator, list(config_lib.PIX2PIX_GENERATORS),
                  "U-Net with skips, or the encoder-decoder without them.")
flags.DEFINE_enum("receptive_field", str(_D.receptive_field),
                  [str(r) for r in config_lib.RECEPTIVE_FIELDS],
                  "PatchGAN receptive field (1 = PixelGAN, 286 = ImageGAN).")
flags.DEFINE_integer("base_filters", _D.base_filters, "Network width (paper: 64).")
flags.DEFINE_enum("gan_loss", _D.gan_loss, list(config_lib.PIX2PIX_GAN_LOSSES),
                  "Adversarial loss.")
flags.DEFINE_float("l1_weight", _D.l1_weight, "lambda of the L1 term.")
flags.DEFINE_enum("eval_mode", _D.eval_mode, list(config_lib.PIX2PIX_EVAL_MODES),
                  "Test-time generator: paper (batch stats + dropout), batch_stats, inference.")
flags.DEFINE_integer("eval_batch_size", _D.eval_batch_size, "Images per generator call at eval.")
flags.DEFINE_integer("max_eval_images", None, "Cap on held-out images evaluated.")
flags.DEFINE_integer("synthetic_pairs", _D.synthetic_pairs, "Synthetic pairs without --data_dir.")

FLAGS = flags.FLAGS
_OWN = ("data_dir", "layout", "direction", "image_size", "load_size", "val_fraction",
        "jpeg_draft", "generator", "base_filters", "gan_loss", "l1_weight", "eval_mode",
        "eval_batch_size", "max_eval_images", "synthetic_pairs")


def config_from_flags():
    """Maps the parsed flags onto a frozen Pix2PixConfig (the only place flags are read)."""
    return config_lib.Pix2PixConfig(receptive_field=int(FLAGS.receptive_field),
                                    **common.job_kwargs(FLAGS),
                                    **{n: FLAGS[n].value for n in _OWN})


main = common.main_for(config_from_flags, FLAGS)

if __name__ == "__main__":
    app.run(main)
