"""Text views of a metadata store: runs, executions, and the lineage of an artifact.

What ``python -m pipelines.inspect`` prints (MLMD's lineage queries, on
:mod:`tfgan_pipeline.pipeline.metadata`): every run of every pipeline under a root
with its executions (component, state, cache hits, time, summary), and the lineage
of a pushed model back to its raw data: PushedModel <- Pusher <- Model + blessing
<- Trainer / Evaluator <- Examples <- ExampleGen <- the raw folder, with the
parameters each execution ran with.
"""

import datetime

from tfgan_pipeline.pipeline import runner


def _time(seconds):
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def _short(value, limit=110):
    text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def runs_text(store, pipeline_name=None):
    """Every run (newest last) with its executions."""
    lines = []
    for context in store.contexts(runner.RUN_CONTEXT):
        name = context.properties.get("pipeline_name")
        if pipeline_name and name != pipeline_name:
            continue
        lines.append(f"run {context.properties.get('run_id')} (pipeline {name}, started "
                     f"{_time(context.create_time)})")
        for execution in store.executions_in_context(context.id):
            props = execution.properties
            state = execution.state
            if state == "CACHED":
                state = f"CACHED from execution {props.get('cached_from')}"
            took = props.get("seconds")
            line = (f"  execution {execution.id:>4} {execution.type:<11} {state}"
                    + (f" in {took:.1f} s" if isinstance(took, float) else ""))
            if props.get("summary"):
                line += f": {_short(props['summary'])}"
            if props.get("error"):
                line += f" -- {_short(props['error'])}"
            lines.append(line)
    return "\n".join(lines) if lines else "no runs recorded"


def latest_pushed_model(store, pipeline_name=None):
    """The newest PushedModel artifact that was actually pushed (``None`` if none)."""
    for artifact in reversed(store.artifacts_of_type("PushedModel")):
        if artifact.properties.get("pushed") and (
                pipeline_name is None or artifact.properties.get("pipeline_name") == pipeline_name):
            return artifact
    return None


def lineage_text(store, artifact_id):
    """The upstream graph of one artifact as an indented tree (an artifact met again
    is printed once more as a one-line reference)."""
    lines = []
    seen = set()

    def visit(node, depth, key):
        artifact, execution = node["artifact"], node["execution"]
        pad = "  " * depth
        head = (f"{pad}{key + ': ' if key else ''}{artifact.type} {artifact.id} "
                f"[{artifact.state}] {artifact.uri}")
        if artifact.id in seen:
            lines.append(head + " (see above)")
            return
        seen.add(artifact.id)
        props = {k: v for k, v in artifact.properties.items() if k != "content_key"}
        lines.append(head)
        if props:
            lines.append(f"{pad}    properties: {_short(props, 160)}")
        if execution is None:
            return
        lines.append(f"{pad}  <- {execution.type} execution {execution.id} "
                     f"({execution.state}, {_time(execution.create_time)})")
        params = execution.properties.get("parameters")
        if params:
            lines.append(f"{pad}     parameters: {_short(params, 300)}")
        for input_key, children in sorted(node["inputs"].items()):
            for child in children:
                visit(child, depth + 2, input_key)

    visit(store.lineage(artifact_id), 0, "")
    return "\n".join(lines)
