r"""Command line: pix2pix end to end -- Beam preprocess -> train -> evaluate -> export.

  python -m pipelines.pix2pix --data_dir=../shared/data/maps/train --output_dir=runs/maps \
      --direction=AtoB --train_steps=2000

Without --data_dir a synthetic A|B dataset is generated in the run directory.
Flags map once into :class:`tfgan_pipeline.config.Pix2PixConfig`; the job is
:func:`tfgan_pipeline.pipeline.pix2pix.run_pix2pix`. Rerunning with the same
--output_dir resumes: preprocessing is reused, training continues from the last
checkpoint (optimizer state and step included).
"""

import shlex

from absl import app, flags, logging

from tfgan_pipeline import config as config_lib

_D = config_lib.Pix2PixConfig()

flags.DEFINE_string("data_dir", None, "Folder of pairs; unset: generate synthetic pairs.")
flags.DEFINE_string("output_dir", _D.output_dir, "Run directory (resumed if it exists).")
flags.DEFINE_enum("layout", _D.layout, ["auto", "pix2pix", "ab"],
                  "pix2pix: one A|B image per pair; ab: A/ and B/ folders; auto: detect.")
flags.DEFINE_enum("direction", _D.direction, ["AtoB", "BtoA"], "Translation direction.")
flags.DEFINE_integer("image_size", _D.image_size, "Training crop and model size.")
flags.DEFINE_integer("load_size", _D.load_size, "Resize size before the random crop.")
flags.DEFINE_integer("train_steps", _D.train_steps, "Total generator steps.")
flags.DEFINE_integer("batch_size", _D.batch_size, "Global batch size (paper: 1).")
flags.DEFINE_enum("strategy", _D.strategy, ["default", "mirrored", "multi_worker", "one_device"],
                  "tf.distribute strategy.")
flags.DEFINE_string("model_name", _D.model_name, "Exported model name (TF Serving MODEL_NAME).")
flags.DEFINE_string("beam_pipeline_args", "",
                    "Extra Beam pipeline args, shell-quoted, e.g. '--runner=DataflowRunner "
                    "--project=P --region=R --temp_location=gs://B/tmp'.")
flags.DEFINE_integer("num_workers", _D.num_workers, "DirectRunner worker processes.")
flags.DEFINE_float("val_fraction", _D.val_fraction, "Held-out fraction of a flat folder.")
flags.DEFINE_enum("generator", _D.generator, list(config_lib.PIX2PIX_GENERATORS),
                  "U-Net with skips, or the encoder-decoder without them.")
flags.DEFINE_enum("receptive_field", str(_D.receptive_field), ["1", "16", "70", "286"],
                  "PatchGAN receptive field (1 = PixelGAN, 286 = ImageGAN).")
flags.DEFINE_integer("base_filters", _D.base_filters, "Network width (paper: 64).")
flags.DEFINE_enum("gan_loss", _D.gan_loss, ["vanilla", "least_squares"], "Adversarial loss.")
flags.DEFINE_float("l1_weight", _D.l1_weight, "lambda of the L1 term.")
flags.DEFINE_enum("eval_mode", _D.eval_mode, list(config_lib.PIX2PIX_EVAL_MODES),
                  "Test-time generator: paper (batch stats + dropout), batch_stats, inference.")
flags.DEFINE_integer("eval_batch_size", _D.eval_batch_size, "Images per generator call at eval.")
flags.DEFINE_integer("max_eval_images", None, "Cap on held-out images evaluated.")
flags.DEFINE_integer("checkpoint_every", _D.checkpoint_every, "Steps between checkpoints.")
flags.DEFINE_enum("precision", _D.precision, list(config_lib.PRECISIONS), "Keras dtype policy.")
flags.DEFINE_integer("steps_per_execution", _D.steps_per_execution, "Steps per compiled call.")
flags.DEFINE_integer("synthetic_pairs", _D.synthetic_pairs, "Synthetic pairs without --data_dir.")
flags.DEFINE_integer("seed", _D.seed, "Random seed.")
flags.DEFINE_integer("log_every", None, "Steps between TensorBoard/sample/progress logs.")

FLAGS = flags.FLAGS


def config_from_flags():
    """Maps the parsed flags onto a frozen Pix2PixConfig (the only place flags are read)."""
    names = ("data_dir", "output_dir", "layout", "direction", "image_size", "load_size",
             "train_steps", "batch_size", "strategy", "model_name", "num_workers",
             "val_fraction", "generator", "base_filters", "gan_loss", "l1_weight", "eval_mode",
             "eval_batch_size", "max_eval_images", "checkpoint_every", "precision",
             "steps_per_execution", "synthetic_pairs", "seed", "log_every")
    return config_lib.Pix2PixConfig(
        receptive_field=int(FLAGS.receptive_field),
        beam_pipeline_args=tuple(shlex.split(FLAGS.beam_pipeline_args)),
        **{n: FLAGS[n].value for n in names})


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)
    from tfgan_pipeline.pipeline import pix2pix as pix2pix_job

    pix2pix_job.run_pix2pix(config_from_flags())


if __name__ == "__main__":
    app.run(main)
