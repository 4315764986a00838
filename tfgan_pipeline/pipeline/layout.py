"""Every path of a pipeline run, in one place.

TFX's layout (``<pipeline_root>/<pipeline_name>/<Component>/<output_key>/<execution_id>/``)
plus the names of the files inside each artifact. Components, the report and
``pipelines.inspect`` ask this module for paths; none of them spells a file name::

    <pipeline_root>/
      metadata.sqlite                                   ML Metadata store (metadata.py)
      <pipeline_name>/
        <Component>/<output_key>/<execution_id>/        one artifact
        <Component>/.work/<work_key>/                   resumable state (checkpoints), kept
                                                        across a killed execution
        runs/<run_id>/report/index.html                 the run's report
      serving/<model_name>/<version>/                   default --serving_dir (TF Serving
                                                        model base path), models.config

Inside artifacts (see :data:`FILES`): ``Examples`` is a preprocessing output folder
(``tfrecords/<split>/``, ``stats.json``, ``rejects.jsonl``) or, for toy mixtures,
``mixture.json``; ``Model`` holds ``checkpoint/`` and ``model.json`` (what to rebuild);
``ModelRun`` holds ``tensorboard/``, ``history.jsonl``, ``samples/`` and ``curves/`` (one
panel per quantity, drawn once when training ends);
``ModelEvaluation`` holds ``metrics.json`` and ``figures/``; ``ModelBlessing`` holds
``BLESSED`` or ``NOT_BLESSED`` and ``blessing.json``; ``PushedModel`` holds
``pushed.json``.
"""

import dataclasses
import os
import re

from tfgan_pipeline.preprocess import beam_pipeline

METADATA_FILE = "metadata.sqlite"
WORK_DIR = ".work"
RUNS_DIR = "runs"
REPORT_DIR = "report"
REPORT_INDEX = "index.html"
DEFAULT_SERVING_DIR = "serving"

#: File and folder names inside artifacts, by artifact type.
FILES = {
    "Examples": {"stats": beam_pipeline.STATS_FILE, "rejects": beam_pipeline.REJECTS_FILE,
                 "mixture": "mixture.json"},
    "Model": {"checkpoint": "checkpoint", "spec": "model.json"},
    "ModelRun": {"tensorboard": "tensorboard", "history": "history.jsonl",
                 "samples": "samples", "curves": "curves", "curves_index": "curves/index.json"},
    "ModelEvaluation": {"metrics": "metrics.json", "figures": "figures"},
    "ModelBlessing": {"blessed": "BLESSED", "not_blessed": "NOT_BLESSED",
                      "details": "blessing.json"},
    "PushedModel": {"record": "pushed.json"},
}

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def artifact_file(uri, artifact_type, name):
    """The path of file ``name`` (a key of :data:`FILES`) inside an artifact folder."""
    return os.path.join(uri, FILES[artifact_type][name])


@dataclasses.dataclass(frozen=True)
class PipelineLayout:
    """Paths of one pipeline under one root.

    Args:
      pipeline_root: the root folder (holds the metadata store).
      pipeline_name: the pipeline's name (a folder name).
    """

    pipeline_root: str
    pipeline_name: str

    def __post_init__(self):
        object.__setattr__(self, "pipeline_root", os.path.abspath(self.pipeline_root))
        if not _NAME_RE.match(self.pipeline_name or ""):
            raise ValueError(
                f"pipeline name {self.pipeline_name!r} must be letters, digits, '_', '-' or "
                "'.' (it is a folder name).")

    @property
    def metadata_path(self):
        return os.path.join(self.pipeline_root, METADATA_FILE)

    @property
    def pipeline_dir(self):
        return os.path.join(self.pipeline_root, self.pipeline_name)

    @property
    def default_serving_dir(self):
        return os.path.join(self.pipeline_root, DEFAULT_SERVING_DIR)

    def artifact_dir(self, component, output_key, execution_id):
        return os.path.join(self.pipeline_dir, component, output_key, str(int(execution_id)))

    def work_dir(self, component, work_key):
        return os.path.join(self.pipeline_dir, component, WORK_DIR, work_key)

    def run_dir(self, run_id):
        return os.path.join(self.pipeline_dir, RUNS_DIR, run_id)

    def report_dir(self, run_id):
        return os.path.join(self.run_dir(run_id), REPORT_DIR)

    def report_index(self, run_id):
        return os.path.join(self.report_dir(run_id), REPORT_INDEX)
