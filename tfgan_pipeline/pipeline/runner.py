"""Local orchestration: topological order, caching, resume, metadata, multi-worker roles.

The shape of TFX's ``LocalDagRunner`` (``tfx/orchestration/local``) and its launcher
(driver -> executor -> publisher), on :mod:`tfgan_pipeline.pipeline.metadata`:

* **Order**: components run in dependency order (``graphlib.TopologicalSorter``).
* **Caching** (TFX's ``enable_cache``): a component's cache key covers its name, its
  ``EXECUTOR_VERSION``, the ids of its input artifacts, its parameters and its
  :meth:`~tfgan_pipeline.pipeline.component.Component.fingerprint` (e.g. the raw
  files). A hit is the newest COMPLETE execution with that key whose outputs are
  all LIVE and still on disk; it is recorded as a CACHED execution with the same
  output artifacts, and the log says "ExampleGen: cached, execution 3".
* **Publishing**: outputs are registered PENDING in
  ``<Component>/<output_key>/<execution_id>/`` and become LIVE only when the
  executor returns; a failing executor leaves its execution FAILED and its outputs
  ABANDONED, so no artifact of a failed execution is ever an input. An execution
  left RUNNING by a killed process (its pid is gone) is marked FAILED on the next
  run.
* **Resume**: a component that declares a ``work_key`` (the Trainer) gets a work
  folder keyed by it, not by the execution: a rerun after ``kill -9`` finds the
  checkpoints there and continues; components that completed are cache hits.
* **Contexts**: every execution and artifact is associated / attributed to the
  ``pipeline`` context and to this run's ``pipeline_run`` context.
* **Multi-worker** (``MultiWorkerMirroredStrategy``, the Keras convention): only the
  chief writes metadata, artifacts, exports and reports. Other workers run the
  non-chief-only components (ExampleGen, Trainer) with their outputs in
  ``<pipeline_name>/.worker-<index>/`` and record nothing.
"""

import dataclasses
import graphlib
import hashlib
import json
import os
import shutil
import socket
import time
import uuid

from tfgan_pipeline.pipeline import component as component_lib
from tfgan_pipeline.pipeline.layout import PipelineLayout
from tfgan_pipeline.pipeline.metadata import MetadataStore

PIPELINE_CONTEXT = "pipeline"
RUN_CONTEXT = "pipeline_run"
EXTERNAL_TYPE = "ExternalData"


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """A pipeline: a name, a root and its components (any order; wiring decides).

    Attributes:
      name: folder name under ``root`` and the ``pipeline`` context's name.
      root: the pipeline root (holds ``metadata.sqlite``).
      components: the components.
      enable_cache: reuse a matching earlier execution instead of running again.
      report_fn: ``(RunResult, MetadataStore, PipelineLayout) -> path``, called on
        the chief after a successful run (the run's HTML report).
    """

    name: str
    root: str
    components: tuple
    enable_cache: bool = True
    report_fn: object = None

    @property
    def layout(self):
        return PipelineLayout(self.root, self.name)


@dataclasses.dataclass(frozen=True)
class ComponentRun:
    """What happened to one component in a run."""

    component: str
    execution_id: int | None
    cached: bool
    cached_from: int | None
    outputs: dict          # key -> metadata.Artifact (or OutputArtifact off the chief)
    summary: str
    seconds: float


@dataclasses.dataclass(frozen=True)
class RunResult:
    pipeline_name: str
    run_id: str
    runs: dict             # component name -> ComponentRun, in run order
    report_path: str = ""
    interrupted: str = ""  # why the run stopped early (a time budget), if it did

    def output(self, component, key):
        return self.runs[component].outputs[key]


# --------------------------------------------------------------------- helpers
def _canonical(value):
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def cache_key(comp, input_ids):
    """The hex digest that decides cache hits (see the module docstring)."""
    material = {"component": comp.name, "executor_version": comp.EXECUTOR_VERSION,
                "inputs": input_ids, "parameters": comp.cache_parameters(),
                "fingerprint": comp.fingerprint()}
    return hashlib.sha256(_canonical(material).encode()).hexdigest()


def _work_key(comp, inputs):
    key = comp.work_key(inputs)
    if key is None:
        return None
    return hashlib.sha256(_canonical({"component": comp.name, "key": key}).encode()).hexdigest()[:16]


def _pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ordered(components):
    sorter = graphlib.TopologicalSorter({c: c.upstream() for c in components})
    order = list(sorter.static_order())
    unknown = [c.name for c in order if c not in components]
    if unknown:
        raise ValueError(f"Components {unknown} are inputs of the pipeline but not part of it.")
    names = [c.name for c in order]
    if len(set(names)) != len(names):
        raise ValueError(f"Component names must be unique in a pipeline, got {names}.")
    return order


class _Chief:
    """Driver, executor call and publisher for one run on the chief."""

    def __init__(self, pipeline, log):
        self.pipeline, self.log = pipeline, log
        self.layout = pipeline.layout
        self.store = MetadataStore(self.layout.metadata_path)
        self.run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.contexts = [
            self.store.put_context(PIPELINE_CONTEXT, pipeline.name,
                                   {"pipeline_root": self.layout.pipeline_root}),
            self.store.put_context(RUN_CONTEXT, f"{pipeline.name}.{self.run_id}",
                                   {"pipeline_name": pipeline.name, "run_id": self.run_id})]
        self._fail_abandoned()

    def _fail_abandoned(self):
        """Executions left RUNNING by a process that no longer exists -> FAILED."""
        host = socket.gethostname()
        for execution in self.store.executions(state="RUNNING"):
            props = execution.properties
            if props.get("host") == host and not _pid_alive(props.get("pid", -1)):
                self.store.update_execution(execution.id, "FAILED", {
                    "error": f"the process (pid {props.get('pid')}) ended without finishing "
                             "(killed?); its outputs were never published"})
                for event in self.store.events_of_execution(execution.id):
                    if event.type == "PENDING_OUTPUT":
                        self.store.update_artifact(event.artifact_id, "ABANDONED")

    def _link(self, execution_id, artifact_ids=()):
        for context in self.contexts:
            self.store.associate(context, execution_id)
            for artifact_id in artifact_ids:
                self.store.attribute(context, artifact_id)

    def _outputs_of(self, execution_id):
        return {e.key: self.store.get_artifact(e.artifact_id)
                for e in self.store.events_of_execution(execution_id) if e.type == "OUTPUT"}

    def find_cached(self, comp, key):
        for execution in reversed(self.store.executions(comp.name, "COMPLETE",
                                                        {"cache_key": key})):
            outputs = self._outputs_of(execution.id)
            if set(outputs) == set(comp.OUTPUTS) and all(
                    a.state == "LIVE" and os.path.exists(a.uri) for a in outputs.values()):
                return execution, outputs
        return None, None

    def latest_pushed_model(self, resolver, candidate_id):
        for pushed in reversed(self.store.artifacts_of_type("PushedModel")):
            props = pushed.properties
            if pushed.state != "LIVE" or not props.get("pushed") or \
                    props.get("model_name") != resolver.model_name or \
                    props.get("pipeline_name") != self.pipeline.name:
                continue
            pusher = self.store.producer(pushed.id)
            models = [e.artifact_id for e in self.store.events_of_execution(pusher.id)
                      if e.type == "INPUT" and e.key == "model"]
            if models and models[0] != candidate_id:
                return [self.store.get_artifact(models[0])]
        return []

    def external_artifact(self, artifact_type, uri, properties):
        for artifact in reversed(self.store.artifacts_of_type(artifact_type)):
            if artifact.uri == uri and artifact.properties == properties:
                return artifact.id
        return self.store.put_artifact(artifact_type, uri, "REFERENCE", properties)

    def run_component(self, comp, inputs):
        input_ids = {k: [a.id for a in v] for k, v in inputs.items()}
        key = cache_key(comp, input_ids)
        externals = {k: self.external_artifact(t, uri, props)
                     for k, (t, uri, props) in comp.external_inputs().items()}
        all_inputs = {**input_ids, **{k: [i] for k, i in externals.items()}}
        if self.pipeline.enable_cache:
            hit, outputs = self.find_cached(comp, key)
            if hit is not None:
                execution_id = self.store.put_execution(comp.name, "CACHED", {
                    "cache_key": key, "cached_from": hit.id, "run_id": self.run_id,
                    "pipeline_name": self.pipeline.name, "parameters": comp.params})
                self._record_inputs(execution_id, all_inputs)
                for k, artifact in outputs.items():
                    self.store.put_event(execution_id, artifact.id, "OUTPUT", k)
                self._link(execution_id, [a.id for a in outputs.values()])
                self.log(f"{comp.name}: cached, execution {hit.id}")
                return ComponentRun(comp.name, execution_id, True, hit.id, outputs,
                                    hit.properties.get("summary", ""), 0.0)
        execution_id = self.store.put_execution(comp.name, "RUNNING", {
            "cache_key": key, "executor_version": comp.EXECUTOR_VERSION,
            "parameters": comp.params, "run_id": self.run_id,
            "pipeline_name": self.pipeline.name, "pid": os.getpid(),
            "host": socket.gethostname()})
        self._record_inputs(execution_id, all_inputs)
        self._link(execution_id, [i for ids in all_inputs.values() for i in ids])
        outputs, ids = {}, {}
        for k, artifact_type in comp.OUTPUTS.items():
            uri = self.layout.artifact_dir(comp.name, k, execution_id)
            if os.path.exists(uri):
                shutil.rmtree(uri)
            os.makedirs(uri)
            outputs[k] = component_lib.OutputArtifact(artifact_type, uri)
            ids[k] = self.store.put_artifact(artifact_type, uri, "PENDING")
            self.store.put_event(execution_id, ids[k], "PENDING_OUTPUT", k)
        work = _work_key(comp, inputs)
        work_dir = work and self.layout.work_dir(comp.name, work)
        context = component_lib.ExecutorContext(
            log=self.log, work_dir=work_dir, shared_work_dir=work_dir, is_chief=True,
            execution_id=execution_id, pipeline=self.pipeline)
        self.log(f"{comp.name}: running, execution {execution_id}")
        t0 = time.time()
        try:
            summary = comp.run(inputs, outputs, comp.params, context) or ""
        except BaseException as e:
            state = "CANCELED" if isinstance(e, component_lib.Interrupted) else "FAILED"
            self.store.update_execution(execution_id, state,
                                        {"error": f"{type(e).__name__}: {e}"[:2000]})
            for artifact_id in ids.values():
                self.store.update_artifact(artifact_id, "ABANDONED")
            raise
        seconds = time.time() - t0
        for k, artifact in outputs.items():
            self.store.update_artifact(ids[k], "LIVE", artifact.properties)
            self.store.put_event(execution_id, ids[k], "OUTPUT", k)
        self._link(execution_id, ids.values())
        self.store.update_execution(execution_id, "COMPLETE",
                                    {"summary": summary, "seconds": seconds})
        self.log(f"{comp.name}: done in {seconds:.1f} s, execution {execution_id}"
                 + (f": {summary}" if summary else ""))
        return ComponentRun(comp.name, execution_id, False, None,
                            {k: self.store.get_artifact(i) for k, i in ids.items()},
                            summary, seconds)

    def _record_inputs(self, execution_id, all_inputs):
        for k, artifact_ids in all_inputs.items():
            for artifact_id in artifact_ids:
                self.store.put_event(execution_id, artifact_id, "INPUT", k)


def _resolve(comp, produced, chief):
    inputs = {}
    for key, channel in comp.inputs.items():
        if isinstance(channel, component_lib.LatestPushedModel):
            candidate = produced[(channel.candidate.producer, channel.candidate.key)]
            inputs[key] = ([] if chief is None
                           else chief.latest_pushed_model(channel, candidate.id))
        else:
            inputs[key] = [produced[(channel.producer, channel.key)]]
    return inputs


def run_pipeline(pipeline, log=print, is_chief=True, worker_index=0):
    """Runs ``pipeline`` once; returns a :class:`RunResult`.

    Args:
      pipeline: a :class:`Pipeline`.
      log: callable taking one line.
      is_chief: ``False`` on the non-chief workers of a multi-worker run (see the
        module docstring); :func:`tfgan_pipeline.distribute.task_info` tells.
      worker_index: this worker's index (names its temporary folder).
    """
    order = _ordered(list(pipeline.components))
    produced, runs = {}, {}
    if is_chief:
        chief = _Chief(pipeline, log)
        run_id = chief.run_id
    else:
        chief = None
        run_id = f"worker-{worker_index}"
        temp_root = os.path.join(pipeline.layout.pipeline_dir, f".worker-{worker_index}")
        shutil.rmtree(temp_root, ignore_errors=True)
    interrupted = ""
    for comp in order:
        if chief is None and comp.CHIEF_ONLY:
            log(f"{comp.name}: skipped on worker {worker_index} (chief only)")
            continue
        inputs = _resolve(comp, produced, chief)
        try:
            if chief is not None:
                run = chief.run_component(comp, inputs)
            else:
                run = _run_on_worker(comp, inputs, temp_root, log, pipeline)
        except component_lib.Interrupted as e:
            interrupted = str(e)
            log(f"{comp.name}: {e}")
            break
        runs[comp.name] = run
        for key, artifact in run.outputs.items():
            produced[(comp, key)] = artifact
    result = RunResult(pipeline.name, run_id, runs, interrupted=interrupted)
    if chief is not None and pipeline.report_fn is not None and not interrupted:
        result = dataclasses.replace(result, report_path=pipeline.report_fn(
            result, chief.store, pipeline.layout))
    if chief is not None:
        chief.store.close()
    return result


def _run_on_worker(comp, inputs, temp_root, log, pipeline):
    """A non-chief worker: the executor with outputs in a temporary folder, no metadata."""
    outputs = {}
    for key, artifact_type in comp.OUTPUTS.items():
        uri = os.path.join(temp_root, comp.name, key)
        os.makedirs(uri)
        outputs[key] = component_lib.OutputArtifact(artifact_type, uri)
    work = _work_key(comp, inputs)
    context = component_lib.ExecutorContext(
        log=log, work_dir=work and os.path.join(temp_root, comp.name, "work"),
        shared_work_dir=work and pipeline.layout.work_dir(comp.name, work), is_chief=False,
        pipeline=pipeline)
    t0 = time.time()
    summary = comp.run(inputs, outputs, comp.params, context) or ""
    return ComponentRun(comp.name, None, False, None, outputs, summary, time.time() - t0)
