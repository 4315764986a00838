r"""Command line: what ran under a pipeline root, and where a pushed model came from.

  python -m pipelines.inspect --pipeline_root=runs/demo
  python -m pipelines.inspect --pipeline_root=runs/demo --artifact=12   # any artifact's lineage

Lists every run and its executions (cache hits included), then prints the lineage
of the newest pushed model (or of ``--artifact``) back to its raw data. Reads the
store only; changes nothing.
"""

import os
import sys

from absl import app, flags

flags.DEFINE_string("pipeline_root", None, "The pipeline root (holds metadata.sqlite).")
flags.DEFINE_string("output_dir", None, "Alias of --pipeline_root (the jobs' default root).")
flags.DEFINE_string("pipeline_name", None, "Only this pipeline's runs and models.")
flags.DEFINE_integer("artifact", None, "Print this artifact's lineage instead.")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    root = FLAGS.pipeline_root or FLAGS.output_dir
    if not root:
        raise app.UsageError("--pipeline_root is required.")
    from tfgan_pipeline.pipeline import inspect as inspect_lib
    from tfgan_pipeline.pipeline.layout import METADATA_FILE
    from tfgan_pipeline.pipeline.metadata import MetadataStore

    try:
        store = MetadataStore(os.path.join(root, METADATA_FILE), read_only=True)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(inspect_lib.runs_text(store, FLAGS.pipeline_name))
    if FLAGS.artifact is not None:
        artifact_id = FLAGS.artifact
    else:
        pushed = inspect_lib.latest_pushed_model(store, FLAGS.pipeline_name)
        if pushed is None:
            print("\nno model has been pushed yet")
            return
        artifact_id = pushed.id
        print(f"\nlineage of the newest pushed model ({pushed.properties.get('model_name')} "
              f"version {pushed.properties.get('version')}):")
    try:
        print(inspect_lib.lineage_text(store, artifact_id))
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app.run(main)
