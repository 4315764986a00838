"""Runner and metadata on small fake components: order, caching, reruns, failures, lineage."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tfgan_pipeline.pipeline import component as component_lib
from tfgan_pipeline.pipeline import inspect as inspect_lib
from tfgan_pipeline.pipeline import runner
from tfgan_pipeline.pipeline.layout import PipelineLayout
from tfgan_pipeline.pipeline.metadata import MetadataStore

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CALLS = []


class Source(component_lib.Component):
    OUTPUTS = {"data": "Examples"}
    PARAMETERS = ("value", "workers")
    EXECUTION_ONLY = ("workers",)

    def external_inputs(self):
        return {"raw_data": ("ExternalData", "/raw/folder", {"files": 3})}

    def run(self, inputs, outputs, params, context):
        CALLS.append(self.name)
        with open(os.path.join(outputs["data"].uri, "data.json"), "w") as f:
            json.dump({"value": params["value"]}, f)
        outputs["data"].properties["value"] = params["value"]
        return f"value {params['value']}"


class Double(component_lib.Component):
    INPUTS = {"data": ("Examples", False)}
    OUTPUTS = {"model": "Model"}
    PARAMETERS = ("factor", "fail")

    def run(self, inputs, outputs, params, context):
        CALLS.append(self.name)
        if params["fail"]:
            raise RuntimeError("planned failure")
        with open(os.path.join(inputs["data"][0].uri, "data.json")) as f:
            value = json.load(f)["value"]
        outputs["model"].properties["result"] = value * params["factor"]


class Report(component_lib.Component):
    INPUTS = {"model": ("Model", False)}
    OUTPUTS = {"report": "ModelEvaluation"}
    PARAMETERS = ("note",)

    def run(self, inputs, outputs, params, context):
        CALLS.append(self.name)
        outputs["report"].properties["seen"] = inputs["model"][0].properties["result"]


def _pipeline(root, value=1, factor=2, fail=False, note="n", cache=True, workers=1):
    source = Source({"value": value, "workers": workers})
    double = Double({"factor": factor, "fail": fail}, data=source.outputs["data"])
    report = Report({"note": note}, model=double.outputs["model"])
    # Listed out of order on purpose: the wiring decides the order.
    return runner.Pipeline("toy", str(root), (report, double, source), enable_cache=cache)


def _run(pipeline):
    CALLS.clear()
    lines = []
    result = runner.run_pipeline(pipeline, log=lines.append)
    return result, list(CALLS), lines


def test_first_run_then_fully_cached_rerun(tmp_path):
    result, calls, _ = _run(_pipeline(tmp_path))
    assert calls == ["Source", "Double", "Report"]
    assert result.output("Report", "report").properties["seen"] == 2
    layout = PipelineLayout(str(tmp_path), "toy")
    uri = result.output("Double", "model").uri
    assert uri == layout.artifact_dir("Double", "model", result.runs["Double"].execution_id)
    again, calls, lines = _run(_pipeline(tmp_path))
    assert calls == []
    assert [line for line in lines if "cached" in line] == [
        f"Source: cached, execution {result.runs['Source'].execution_id}",
        f"Double: cached, execution {result.runs['Double'].execution_id}",
        f"Report: cached, execution {result.runs['Report'].execution_id}"]
    assert again.output("Double", "model").id == result.output("Double", "model").id
    # An execution-only parameter does not invalidate the cache.
    _, calls, _ = _run(_pipeline(tmp_path, workers=4))
    assert calls == []


def test_a_parameter_change_reruns_that_component_and_downstream_only(tmp_path):
    _run(_pipeline(tmp_path))
    result, calls, _ = _run(_pipeline(tmp_path, factor=5))
    assert calls == ["Double", "Report"]
    assert result.output("Report", "report").properties["seen"] == 5
    _, calls, _ = _run(_pipeline(tmp_path, note="other"))
    assert calls == ["Report"]
    _, calls, _ = _run(_pipeline(tmp_path, factor=5, cache=False))
    assert calls == ["Source", "Double", "Report"]


def test_a_failed_execution_is_recorded_and_its_outputs_never_used(tmp_path):
    with pytest.raises(RuntimeError, match="planned failure"):
        _run(_pipeline(tmp_path, fail=True))
    store = MetadataStore(os.path.join(tmp_path, "metadata.sqlite"))
    failed, = store.executions("Double", "FAILED")
    assert "planned failure" in failed.properties["error"]
    outputs = [store.get_artifact(e.artifact_id) for e in store.events_of_execution(failed.id)
               if e.type == "PENDING_OUTPUT"]
    assert [a.state for a in outputs] == ["ABANDONED"]
    # The fixed rerun reuses Source, runs Double afresh: nothing of the failure is used.
    result, calls, _ = _run(_pipeline(tmp_path))
    assert calls == ["Double", "Report"]
    assert result.output("Double", "model").id != outputs[0].id
    assert result.output("Double", "model").state == "LIVE"


def test_a_killed_execution_is_marked_failed_and_rerun(tmp_path):
    """A process killed mid-execution leaves it RUNNING; the next run marks it FAILED."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r}); sys.path.insert(0, {REPO!r})
        import test_runner as t
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        t.Double.run = die
        t.runner.run_pipeline(t._pipeline({str(tmp_path)!r}), log=lambda s: None)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    store = MetadataStore(os.path.join(tmp_path, "metadata.sqlite"))
    assert [e.state for e in store.executions("Double")] == ["RUNNING"]
    result, calls, _ = _run(_pipeline(tmp_path))
    assert calls == ["Double", "Report"]  # Source's completed execution was not rerun
    states = [e.state for e in MetadataStore(os.path.join(tmp_path, "metadata.sqlite"))
              .executions("Double")]
    assert states == ["FAILED", "COMPLETE"]


def test_metadata_records_contexts_events_and_lineage(tmp_path):
    first, _, _ = _run(_pipeline(tmp_path))
    second, _, _ = _run(_pipeline(tmp_path))
    store = MetadataStore(os.path.join(tmp_path, "metadata.sqlite"))
    runs = store.contexts(runner.RUN_CONTEXT)
    assert [c.properties["run_id"] for c in runs] == [first.run_id, second.run_id]
    assert [e.type for e in store.executions_in_context(runs[1].id)] == [
        "Source", "Double", "Report"]
    assert {e.state for e in store.executions_in_context(runs[1].id)} == {"CACHED"}
    pipeline_context, = store.contexts(runner.PIPELINE_CONTEXT)
    assert len(store.executions_in_context(pipeline_context.id)) == 6
    report_artifact = first.output("Report", "report")
    tree = store.lineage(report_artifact.id)
    assert tree["execution"].type == "Report"
    model_node, = tree["inputs"]["model"]
    data_node, = model_node["inputs"]["data"]
    raw_node, = data_node["inputs"]["raw_data"]
    assert raw_node["artifact"].uri == "/raw/folder" and raw_node["artifact"].state == "REFERENCE"
    text = inspect_lib.lineage_text(store, report_artifact.id)
    assert "ExternalData" in text and "'factor': 2" in text
    listing = inspect_lib.runs_text(store)
    assert f"CACHED from execution {first.runs['Double'].execution_id}" in listing


def test_wiring_and_parameters_are_validated():
    with pytest.raises(ValueError, match=r"parameters \['value'\] are missing"):
        Source({"workers": 1})
    with pytest.raises(ValueError, match="needs its input 'data'"):
        Double({"factor": 1, "fail": False})
    source = Source({"value": 1, "workers": 1})
    with pytest.raises(TypeError, match="takes Model artifacts, got Examples"):
        Report({"note": ""}, model=source.outputs["data"])
    double = Double({"factor": 1, "fail": False}, data=source.outputs["data"])
    with pytest.raises(ValueError, match=r"Components \['Source'\] are inputs"):
        runner.run_pipeline(runner.Pipeline("p", "/tmp/unused", (double,)), log=lambda s: None)


def test_inspect_command_line(tmp_path):
    result, _, _ = _run(_pipeline(tmp_path))
    model = result.output("Double", "model")
    examples = result.output("Source", "data")
    proc = subprocess.run([sys.executable, "-m", "pipelines.inspect",
                           f"--pipeline_root={tmp_path}", f"--artifact={model.id}"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[0].startswith(f"run {result.run_id} (pipeline toy")
    assert f"Model {model.id} [LIVE]" in proc.stdout
    assert f"data: Examples {examples.id} [LIVE]" in proc.stdout
    missing = subprocess.run([sys.executable, "-m", "pipelines.inspect",
                              f"--pipeline_root={tmp_path / 'nope'}"], cwd=REPO,
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "No metadata store" in missing.stderr
