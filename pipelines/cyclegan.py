r"""Command line: CycleGAN as a pipeline -- ExampleGen -> Trainer -> Evaluator -> Pusher.

  # the published layout: trainA/ trainB/ testA/ testB/
  python -m pipelines.cyclegan --data_dir=horse2zebra --output_dir=runs/h2z
  # the pix2pix maps pairs as unpaired data (aerial and map halves from disjoint files)
  python -m pipelines.cyclegan --data_dir=../shared/data/maps/train --layout=pix2pix_unpaired \
      --image_size=128 --load_size=143 --output_dir=runs/maps_cyclegan
  # tensorflow-datasets, prepared in --tfds_data_dir
  python -m pipelines.cyclegan --data_dir=tfds:cycle_gan/horse2zebra --tfds_data_dir=~/tensorflow_datasets

Flags map once into :class:`tfgan_pipeline.config.CycleGANConfig`; the pipeline is
:func:`tfgan_pipeline.pipeline.jobs.run_job`. Rerunning skips what is cached and
continues a killed training from its last checkpoint.
"""

from absl import app, flags

from pipelines import common
from tfgan_pipeline import config as config_lib

_D = config_lib.CycleGANConfig()
common.define_job_flags(_D)

flags.DEFINE_string("data_dir", None,
                    "trainA/ trainB/ testA/ testB/ folders, a pix2pix A|B folder "
                    "(--layout=pix2pix_unpaired) or tfds:cycle_gan/NAME.")
flags.DEFINE_enum("layout", _D.layout, list(config_lib.UNPAIRED_LAYOUTS),
                  "domains: trainA/... folders; pix2pix_unpaired: A|B files split into "
                  "disjoint A and B sets (held-out files stay paired); tfds; auto: detect.")
flags.DEFINE_string("tfds_data_dir", None, "tensorflow-datasets data_dir for tfds: sources.")
flags.DEFINE_integer("image_size", _D.image_size, "Training crop and model size.")
flags.DEFINE_integer("load_size", _D.load_size, "Resize size before the random crop.")
flags.DEFINE_float("unpaired_test_fraction", _D.unpaired_test_fraction,
                   "pix2pix_unpaired: share of files held out, paired, for testing.")
flags.DEFINE_integer("base_filters", _D.base_filters, "Network width (paper: 64).")
flags.DEFINE_integer("num_blocks", None, "Residual blocks (default: 6 below 256 px, 9 from 256).")
flags.DEFINE_float("cycle_weight", _D.cycle_weight, "lambda of the cycle loss (paper: 10).")
flags.DEFINE_float("identity_weight", _D.identity_weight,
                   "Identity loss weight as a fraction of lambda (paper code: 0.5).")
flags.DEFINE_integer("pool_size", _D.pool_size, "History of generated images per D (50).")
flags.DEFINE_integer("max_eval_images", None, "Cap on test images evaluated per direction.")
flags.DEFINE_integer("synthetic_pairs", _D.synthetic_pairs,
                     "Without --data_dir: synthetic A|B pairs, used unpaired.")

FLAGS = flags.FLAGS
_OWN = ("data_dir", "layout", "tfds_data_dir", "image_size", "load_size",
        "unpaired_test_fraction", "base_filters", "num_blocks", "cycle_weight",
        "identity_weight", "pool_size", "max_eval_images", "synthetic_pairs")


def config_from_flags():
    """Maps the parsed flags onto a frozen CycleGANConfig (the only place flags are read)."""
    return config_lib.CycleGANConfig(**common.job_kwargs(FLAGS),
                                     **{n: FLAGS[n].value for n in _OWN})


main = common.main_for(config_from_flags, FLAGS)

if __name__ == "__main__":
    app.run(main)
