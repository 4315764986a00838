r"""Command line: train a GAN (GAN, DCGAN, WGAN, WGAN-GP, cGAN, ACGAN, InfoGAN).

  python -m pipelines.gan --gan=wgan_gp --dataset=ring8 --train_steps=2000 \
      --output_dir=runs/ring8_wgan_gp

Flags map once into :class:`tfgan_pipeline.config.GANConfig`; the job itself is
:func:`tfgan_pipeline.pipeline.gan.run_gan`. Rerunning with the same --output_dir
resumes from the last checkpoint.
"""

from absl import app, flags, logging

from tfgan_pipeline import config as config_lib

_D = config_lib.GANConfig()

flags.DEFINE_enum("gan", _D.gan, list(config_lib.GAN_FAMILIES), "GAN family.")
flags.DEFINE_enum("loss", None, ["minimax", "non_saturating", "wasserstein", "least_squares",
                                 "hinge"], "GAN objective (default: the family's paper loss).")
flags.DEFINE_integer("d_steps", None, "Discriminator steps per generator step (k).")
flags.DEFINE_string("dataset", _D.dataset,
                    "Toy name (ring8, grid25, mixture1d), a folder of MNIST IDX files, or "
                    "tfds:NAME[:SPLIT].")
flags.DEFINE_integer("train_steps", _D.train_steps, "Total generator steps.")
flags.DEFINE_integer("batch_size", _D.batch_size, "Real examples per discriminator step.")
flags.DEFINE_string("output_dir", _D.output_dir, "Run directory (resumed if it exists).")
flags.DEFINE_enum("strategy", _D.strategy, ["default", "mirrored", "multi_worker",
                                            "one_device"], "tf.distribute strategy.")
flags.DEFINE_integer("latent_dim", None, "Size of z (default 8 for toys, 64 for images).")
flags.DEFINE_integer("image_size", None, "Resize images to this size (e.g. 32).")
flags.DEFINE_integer("width", None, "Network width (default 128 units for toys, 32 filters).")
flags.DEFINE_float("learning_rate", None, "Override the paper learning rate of both players.")
flags.DEFINE_integer("checkpoint_every", _D.checkpoint_every, "Steps between checkpoints.")
flags.DEFINE_integer("num_samples", _D.num_samples, "Samples for the final plot and metrics.")
flags.DEFINE_enum("precision", _D.precision, list(config_lib.PRECISIONS),
                  "Keras dtype policy (mixed_bfloat16 is faster on AMX/AVX-512 CPUs).")
flags.DEFINE_integer("steps_per_execution", _D.steps_per_execution,
                     "Train steps per compiled call.")
flags.DEFINE_integer("seed", _D.seed, "Random seed.")
flags.DEFINE_string("data_dir", None, "tensorflow-datasets data_dir.")
flags.DEFINE_string("model_name", None, "Exported generator name (default: the family).")
flags.DEFINE_float("max_minutes", None,
                   "Training-time budget of this run; stops (with a checkpoint) when spent.")
flags.DEFINE_integer("log_every", None, "Steps between TensorBoard/sample/progress logs.")
flags.DEFINE_integer("eval_samples", _D.eval_samples, "Images for FD/KID/precision-recall.")
flags.DEFINE_integer("cpu_devices", 1,
                     "Split the CPU into this many logical devices (no GPU: lets "
                     "--strategy=mirrored run that many replicas on one machine).")
flags.DEFINE_string("feature_model", None,
                    "Keras model or SavedModel giving features for the metrics (default: a "
                    "classifier trained on the real data and saved with the run).")

FLAGS = flags.FLAGS


def config_from_flags():
    """Maps the parsed flags onto a frozen GANConfig (the only place flags are read)."""
    return config_lib.GANConfig(**{f: FLAGS[f].value for f in (
        "gan", "loss", "d_steps", "dataset", "train_steps", "batch_size", "output_dir",
        "strategy", "latent_dim", "image_size", "width", "learning_rate", "checkpoint_every",
        "num_samples", "precision", "steps_per_execution", "seed", "data_dir", "log_every",
        "eval_samples", "feature_model", "max_minutes", "model_name")})


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)  # keep TF's INFO chatter out of the progress lines
    cfg = config_from_flags()
    from tfgan_pipeline import distribute
    from tfgan_pipeline.pipeline import gan as gan_job

    distribute.configure_cpu_devices(FLAGS.cpu_devices)

    gan_job.run_gan(cfg)


if __name__ == "__main__":
    app.run(main)
