"""The run's report: the page a user reads after ``pipelines.pix2pix`` / ``pipelines.gan``.

``<pipeline_root>/<pipeline_name>/runs/<run_id>/report/index.html``, written by the
runner after a successful run, from the run's artifacts (paths from
:mod:`tfgan_pipeline.pipeline.layout`) and its metadata:

1. the blessing verdict and every check behind it;
2. the model's metrics beside the trivial baseline, the currently pushed model and,
   where defined, real data against itself (the floor);
3. the pushed version and where it is (or why nothing was pushed);
4. training curves, one panel per quantity, from the ``ModelRun``'s history;
5. samples over training and the evaluation figures (triplets, sample grids, latent
   visuals);
6. the lineage: which data (raw folder, records, rejects) and which parameters each
   component ran with, and which executions were cache hits.
"""

import glob
import json
import os

from tfgan_pipeline.monitoring import report as html_lib
from tfgan_pipeline.pipeline import layout as layout_lib

_e = html_lib.escape


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.5g}"
    return "" if value is None else str(value)


def _link(path, base, text=None):
    return f'<a href="{_e(html_lib.href(path, base))}">{_e(text or os.path.basename(path))}</a>'


def _verdict(blessing, base):
    if blessing is None:
        return '<p class="note">No evaluation in this run.</p>'
    details = _read(layout_lib.artifact_file(blessing.uri, "ModelBlessing", "details")) or {}
    blessed = bool(details.get("blessed"))
    head = (f'<p class="verdict {"blessed" if blessed else "not-blessed"}">'
            f'{"BLESSED" if blessed else "NOT BLESSED"}</p>')
    rows = "".join(
        f'<tr><td class="{"pass" if c["passed"] else "fail"}">'
        f'{"pass" if c["passed"] else "FAIL"}</td><td>{_e(c["check"])}</td>'
        f'<td>{_e(c["detail"])}</td></tr>' for c in details.get("checks", []))
    return head + f"<table><tr><th></th><th>check</th><th>measured</th></tr>{rows}</table>"


def _metrics_table(metrics):
    names = sorted(k for k, v in metrics.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)
                   and not k.startswith(("baseline_", "pushed_", "floor_"))
                   and k not in ("steps", "blessing_higher_is_better"))
    columns = [("model", ""), ("trivial baseline", "baseline_"), ("pushed model", "pushed_"),
               ("real vs real (floor)", "floor_")]
    columns = [c for c in columns if c[1] == "" or any(f"{c[1]}{n}" in metrics for n in names)]
    head = "".join(f"<th>{_e(c)}</th>" for c, _ in columns)
    rows = ""
    for name in names:
        mark = " (blessing metric)" if name == metrics.get("blessing_metric") else ""
        cells = "".join(f"<td>{_e(_fmt(metrics.get(prefix + name)))}</td>"
                        for _, prefix in columns)
        rows += f"<tr><th>{_e(name + mark)}</th>{cells}</tr>"
    extra = {k: v for k, v in metrics.items() if isinstance(v, str) or isinstance(v, bool)}
    return (f"<table><tr><th>metric</th>{head}</tr>{rows}</table>"
            + (html_lib.table(extra) if extra else ""))


def _pushed(pushed, base):
    if pushed is None:
        return '<p class="note">No Pusher in this run.</p>'
    record = _read(layout_lib.artifact_file(pushed.uri, "PushedModel", "record")) or {}
    if not record.get("pushed"):
        reasons = "".join(f"<li>{_e(r)}</li>" for r in record.get("reason", []))
        return f"<p>Not pushed: the model is not blessed.</p><ul>{reasons}</ul>"
    serving_dir = os.path.dirname(record["base_path"])
    return (f"<p>Pushed <b>{_e(record['model_name'])}</b> version "
            f"<b>{_e(record['version'])}</b> to <code>{_e(record['path'])}</code> "
            f"(TF Serving model base path <code>{_e(record['base_path'])}</code>).</p>"
            f"<p>Try it: <code>python -m pipelines.serve --serving_dir={_e(serving_dir)}</code>"
            " and open http://127.0.0.1:8501/ .</p>")


def _lineage(result, store, base):
    rows = ""
    for name, run in result.runs.items():
        execution = store.get_execution(run.execution_id)
        params = execution.properties.get("parameters", {})
        state = (f"cached (execution {run.cached_from})" if run.cached
                 else f"ran (execution {run.execution_id}, {run.seconds:.0f} s)")
        outputs = ", ".join(f"{k}: {_link(a.uri, base, a.uri)}" for k, a in run.outputs.items())
        rows += (f"<tr><th>{_e(name)}</th><td>{_e(state)}<br>{_e(run.summary)}</td>"
                 f"<td>{outputs}</td><td>{html_lib.table(params)}</td></tr>")
    return ("<table><tr><th>component</th><th>execution</th><th>outputs</th>"
            f"<th>parameters</th></tr>{rows}</table>")


def _examples(artifact, store, base):
    parts = []
    raw = [store.get_artifact(e.artifact_id) for e in
           store.events_of_execution(store.producer(artifact.id).id)
           if e.type == "INPUT" and e.key == "raw_data"]
    if raw:
        parts.append(f"<p>Raw data: <code>{_e(raw[0].uri)}</code> "
                     f"({_e(raw[0].properties.get('files', '?'))} files).</p>")
    props = {k: v for k, v in artifact.properties.items() if k != "content_key"}
    parts.append(html_lib.table(props))
    links = [_link(path, base) for name in ("stats", "rejects", "mixture")
             if os.path.exists(path := layout_lib.artifact_file(artifact.uri, "Examples", name))]
    if links:
        parts.append("<p>" + " ".join(links) + "</p>")
    return "".join(parts)


def write_run_report(result, store, layout):
    """Writes the run's report; returns the path of ``index.html``."""
    index = layout.report_index(result.run_id)
    base = os.path.dirname(index)
    os.makedirs(base, exist_ok=True)

    def output(component, key):
        run = result.runs.get(component)
        return run.outputs.get(key) if run else None

    blessing, evaluation = output("Evaluator", "blessing"), output("Evaluator", "evaluation")
    sections = [("verdict", "Blessing", _verdict(blessing, base))]
    if evaluation is not None:
        metrics = _read(layout_lib.artifact_file(evaluation.uri, "ModelEvaluation",
                                                 "metrics")) or {}
        sections.append(("metrics", "Metrics on held-out data", _metrics_table(metrics)))
    sections.append(("pushed", "Served model", _pushed(output("Pusher", "pushed_model"), base)))
    model_run = output("Trainer", "model_run")
    if model_run is not None:
        curves = _read(layout_lib.artifact_file(model_run.uri, "ModelRun", "curves_index"))
        if curves and curves["panels"]:
            folder = layout_lib.artifact_file(model_run.uri, "ModelRun", "curves")
            sections.append(("curves", f"Training curves ({curves['records']} records to step "
                             f"{curves['last_step']})", "".join(
                                 html_lib.figure(os.path.join(folder, name), base, title)
                                 for title, name in curves["panels"])))
        grids = html_lib.sample_grids(
            layout_lib.artifact_file(model_run.uri, "ModelRun", "samples"), 12)
        if grids:
            sections.append(("samples", "Samples over training (fixed inputs, newest last)",
                             "".join(html_lib.figure(p, base, f"step {s}") for s, p in grids)))
        tensorboard = layout_lib.artifact_file(model_run.uri, "ModelRun", "tensorboard")
        if os.path.isdir(tensorboard):
            sections.append(("tensorboard", "TensorBoard",
                             f"<p><code>tensorboard --logdir {_e(tensorboard)}</code></p>"))
    if evaluation is not None:
        figures = layout_lib.artifact_file(evaluation.uri, "ModelEvaluation", "figures")
        pngs = sorted(glob.glob(os.path.join(glob.escape(figures), "*.png")))
        if pngs:
            sections.append(("figures", "Evaluation figures", "".join(
                html_lib.figure(p, base, os.path.basename(p), wide=True) for p in pngs)))
    examples = output("ExampleGen", "examples")
    if examples is not None:
        sections.append(("data", "Data", _examples(examples, store, base)))
    sections.append(("lineage", "Lineage of this run", _lineage(result, store, base)))
    return html_lib.write_page(index, f"{result.pipeline_name}: run {result.run_id}", sections,
                               subtitle=f"Pipeline root {layout.pipeline_root}.")
