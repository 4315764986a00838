"""Flags every job's command line shares, and their mapping onto the job config.

Only ``pipelines/`` defines or reads absl flags; the library receives the frozen
config built by ``job_kwargs()`` + the job's own fields.
"""

import shlex
import sys

from absl import flags

from tfgan_pipeline import config as config_lib


def define_job_flags(defaults):
    """Defines the shared flags with the job config's defaults (``defaults``: an instance)."""
    flags.DEFINE_string("output_dir", defaults.output_dir,
                        "Default pipeline root (where artifacts and metadata go).")
    flags.DEFINE_string("pipeline_root", None, "Pipeline root; default --output_dir.")
    flags.DEFINE_string("pipeline_name", defaults.pipeline_name, "Pipeline name.")
    flags.DEFINE_string("serving_dir", None,
                        "Where the Pusher pushes (TF Serving model base paths); default "
                        "<pipeline_root>/serving.")
    flags.DEFINE_boolean("enable_cache", defaults.enable_cache,
                         "Reuse earlier executions with the same inputs and parameters.")
    flags.DEFINE_enum("distribution_strategy", defaults.distribution_strategy,
                      list(config_lib.DISTRIBUTION_STRATEGIES),
                      "tf.distribute strategy (multi_worker reads TF_CONFIG).")
    flags.DEFINE_alias("strategy", "distribution_strategy")
    flags.DEFINE_integer("cpu_devices", 1,
                         "Split the CPU into this many logical devices (no GPU: lets "
                         "--distribution_strategy=mirrored run that many replicas).")
    flags.DEFINE_integer("intra_op_threads", 0,
                         "TensorFlow threads per op (0: its default, one per core).")
    flags.DEFINE_integer("inter_op_threads", 0,
                         "Ops TensorFlow runs at once (0: its default). 1 intra-op + 2 "
                         "inter-op threads made the bf16 pix2pix step 1-19% (mostly 4-8%) "
                         "faster on a 2-core AVX512-BF16 EPYC; measure your CPU (BUILD.md).")
    flags.DEFINE_integer("train_steps", defaults.train_steps, "Total generator steps.")
    flags.DEFINE_integer("batch_size", defaults.batch_size,
                         "Real examples per discriminator step.")
    flags.DEFINE_integer("checkpoint_every", defaults.checkpoint_every,
                         "Steps between checkpoints.")
    flags.DEFINE_integer("log_every", None, "Steps between TensorBoard/history records.")
    flags.DEFINE_float("max_minutes", None,
                       "Training-time budget of this run (stops with a checkpoint; rerun to "
                       "continue).")
    flags.DEFINE_enum("precision", defaults.precision, list(config_lib.PRECISIONS),
                      "Keras dtype policy; auto: bf16 only where this machine runs it "
                      "faster (measured), else float32.")
    flags.DEFINE_integer("steps_per_execution", defaults.steps_per_execution,
                         "Train steps per compiled call.")
    flags.DEFINE_integer("seed", defaults.seed, "Random seed.")
    flags.DEFINE_string("model_name", None, "Served model name (default: the pipeline name).")
    flags.DEFINE_integer("num_workers", defaults.num_workers, "Beam DirectRunner workers.")
    flags.DEFINE_string("beam_pipeline_args", "",
                        "Extra Beam pipeline args for every Beam step, shell-quoted, e.g. "
                        "'--runner=DataflowRunner --project=P --region=R "
                        "--temp_location=gs://B/tmp'.")
    flags.DEFINE_list("blessing_thresholds", [],
                      "Checks the Evaluator adds to blessing, e.g. ssim>=0.3,l1_0_255<=30.")
    flags.DEFINE_float("baseline_tolerance", defaults.baseline_tolerance,
                       "How much worse (relative) than the pushed model is still blessed.")
    flags.DEFINE_boolean("require_beating_baseline", defaults.require_beating_baseline,
                         "Blessing needs the model to beat the trivial baseline.")


_SHARED = ("output_dir", "pipeline_root", "pipeline_name", "serving_dir", "enable_cache",
           "distribution_strategy", "train_steps", "batch_size", "checkpoint_every",
           "log_every", "max_minutes", "precision", "steps_per_execution", "seed",
           "model_name", "num_workers", "baseline_tolerance", "require_beating_baseline")


def job_kwargs(flag_values):
    """The shared fields of a job config from parsed flags."""
    return {**{name: flag_values[name].value for name in _SHARED},
            "beam_pipeline_args": tuple(shlex.split(flag_values.beam_pipeline_args)),
            "blessing_thresholds": tuple(flag_values.blessing_thresholds)}


def main_for(make_config, flag_values):
    """An absl ``main`` that runs the job configured by ``make_config()``."""
    from absl import app

    def main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
        run(make_config, flag_values)

    return main


def run(make_config, flag_values):
    """Builds the config (failing before anything is written), then runs the job."""
    from absl import logging

    logging.set_verbosity(logging.WARNING)  # keep TF's INFO chatter out of the progress lines
    try:
        cfg = make_config()
    except ValueError as e:  # a bad flag value: say which, write nothing
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    from tfgan_pipeline import distribute
    from tfgan_pipeline.pipeline import jobs

    try:
        threads = distribute.configure_threads(flag_values.intra_op_threads,
                                               flag_values.inter_op_threads)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if threads:
        print(f"TensorFlow threads: intra-op {threads[0]}, inter-op {threads[1]}", flush=True)
    distribute.configure_cpu_devices(flag_values.cpu_devices)
    return jobs.run_job(cfg)
