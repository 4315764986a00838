r"""Command line: the GAN literature's claims, measured (issue 12).

  python -m pipelines.experiments --experiment=all --output_dir=runs/experiments \
      [--seeds=3] [--budget=full|smoke] [--mnist_dir=../shared/data/mnist] \
      [--maps_dir=../shared/data/maps/train]

Each experiment writes ``<output_dir>/<name>/result.json`` (figures, seeds, steps,
wall time, and a verdict per claim with its threshold) and PNG plots; every run
rewrites ``<output_dir>/index.html`` and ``summary.md`` over all experiments found in
``output_dir``. Run the ``full`` budget one experiment per process (e.g.
``--experiment=mode_collapse``), one at a time. Experiments: optimal_discriminator,
diminished_gradient, kl_direction, mode_collapse, wasserstein_quality, infogan_codes,
conditioning, pix2pix_ablations (see docs/EXPERIMENTS.md).

Flags map once into :class:`tfgan_pipeline.experiments.ExperimentsConfig`; a bad
value stops here, naming the flag and the allowed values, before anything is written.
"""

import os

from absl import app, flags, logging

from tfgan_pipeline.experiments import runner

_D = runner.ExperimentsConfig.__dataclass_fields__

flags.DEFINE_string("experiment", _D["experiment"].default,
                    f"'all', or one or more (comma-separated) of: {', '.join(runner.NAMES)}.")
flags.DEFINE_string("output_dir", _D["output_dir"].default,
                    "Folder for every experiment's result.json and plots, index.html, summary.md.")
flags.DEFINE_integer("seeds", _D["seeds"].default,
                     f"Seeds per setting (0 .. seeds-1), 1 to {runner.MAX_SEEDS}.")
flags.DEFINE_string("budget", _D["budget"].default,
                    f"One of {', '.join(runner.BUDGETS)}: 'full' is what docs/EXPERIMENTS.md "
                    "reports, 'smoke' runs everything in seconds.")
flags.DEFINE_string("mnist_dir", _D["mnist_dir"].default,
                    "Folder of MNIST IDX files (experiments wasserstein_quality, infogan_codes, "
                    "conditioning).")
flags.DEFINE_string("maps_dir", _D["maps_dir"].default,
                    "Folder of pix2pix A|B pairs (experiment pix2pix_ablations).")

FLAGS = flags.FLAGS


def config_from_flags():
    """Maps the parsed flags onto the frozen, validated config (the only place flags are read)."""
    try:
        return runner.ExperimentsConfig(**{name: FLAGS[name].value for name in (
            "experiment", "output_dir", "seeds", "budget", "mnist_dir", "maps_dir")})
    except runner.ConfigError as e:
        raise app.UsageError(str(e)) from None


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    config = config_from_flags()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.set_verbosity(logging.WARNING)
    runner.run_experiments(config, log=lambda line: print(line, flush=True))
    print(f"report: {os.path.join(config.output_dir, 'index.html')}", flush=True)


if __name__ == "__main__":
    app.run(main)
