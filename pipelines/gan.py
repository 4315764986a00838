r"""Command line: a latent GAN as a pipeline (GAN, DCGAN, WGAN, WGAN-GP, cGAN, ACGAN, InfoGAN).

  python -m pipelines.gan --gan=wgan_gp --dataset=ring8 --train_steps=2000 \
      --output_dir=runs/ring8_wgan_gp

Flags map once into :class:`tfgan_pipeline.config.GANConfig`; the pipeline is
:func:`tfgan_pipeline.pipeline.jobs.run_job`. Rerunning skips what is cached and
continues a killed training from its last checkpoint.
"""

from absl import app, flags

from pipelines import common
from tfgan_pipeline import config as config_lib

_D = config_lib.GANConfig()
common.define_job_flags(_D)

flags.DEFINE_enum("gan", _D.gan, list(config_lib.LATENT_FAMILIES), "GAN family.")
flags.DEFINE_enum("loss", None, list(config_lib.LOSSES),
                  "GAN objective (default: the family's paper loss).")
flags.DEFINE_integer("d_steps", None, "Discriminator steps per generator step (k).")
flags.DEFINE_string("dataset", _D.dataset,
                    "Toy name (ring8, grid25, mixture1d), a folder of MNIST IDX files, or "
                    "tfds:NAME[:SPLIT].")
flags.DEFINE_string("data_dir", None, "tensorflow-datasets data_dir.")
flags.DEFINE_integer("latent_dim", None, "Size of z (default 8 for toys, 64 for images).")
flags.DEFINE_integer("image_size", None, "Resize images to this size (e.g. 32).")
flags.DEFINE_integer("width", None, "Network width (default 128 units for toys, 32 filters).")
flags.DEFINE_float("learning_rate", None, "Override the paper learning rate of both players.")
flags.DEFINE_integer("num_samples", _D.num_samples, "Samples for the final plot and metrics.")
flags.DEFINE_integer("eval_samples", _D.eval_samples, "Images for FD/KID/precision-recall.")
flags.DEFINE_string("feature_model", None,
                    "Keras model or SavedModel giving features for the metrics (default: a "
                    "classifier trained on the real data).")

FLAGS = flags.FLAGS
_OWN = ("gan", "loss", "d_steps", "dataset", "data_dir", "latent_dim", "image_size", "width",
        "learning_rate", "num_samples", "eval_samples", "feature_model")


def config_from_flags():
    """Maps the parsed flags onto a frozen GANConfig (the only place flags are read)."""
    kwargs = common.job_kwargs(FLAGS)
    if FLAGS["pipeline_name"].using_default_value:
        kwargs["pipeline_name"] = FLAGS.gan  # one pipeline (and served model) per family
    return config_lib.GANConfig(**kwargs, **{n: FLAGS[n].value for n in _OWN})


main = common.main_for(config_from_flags, FLAGS)

if __name__ == "__main__":
    app.run(main)
