"""The experiments' report: ``index.html`` (one static page) and ``summary.md`` (one table).

Both are rebuilt from the ``result.json`` files under an output folder, so they
cover every experiment run there, in any number of processes. The page uses only
relative links (each experiment's PNGs and ``result.json``) and inline CSS, so the
folder can be copied or served as it is.
"""

import datetime
import html
import json
import math
import os

from tfgan_pipeline.experiments import core

INDEX = "index.html"
SUMMARY = "summary.md"


def load_results(output_dir):
    """``[(number, name, result dict or None)]`` in registry order."""
    rows = []
    for number, name, _, _ in core.REGISTRY:
        path = os.path.join(output_dir, name, "result.json")
        result = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                result = json.load(f)
        rows.append((number, name, result))
    return rows


def fmt(value):
    """A number for people: 4 significant digits, scientific below 1e-3."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def measured(claim):
    """``"mean ± std (n=3; min..max)"``."""
    n = len([v for v in claim["values"] if v is not None])
    text = f"{fmt(claim['mean'])} ± {fmt(claim['std'])}"
    if n > 1:
        text += f" (n={n} {claim['unit']}s; {fmt(claim['min'])}..{fmt(claim['max'])})"
    else:
        text += f" (n={n} {claim['unit']})"
    return text


def verdict_word(held):
    return {True: "held", False: "not held", None: "undecided"}[held]


def duration(seconds):
    if seconds is None:
        return "n/a"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def runtime(result):
    """``"12 min 03 s wall, 20 min 10 s CPU"`` (CPU: user + system time of all threads)."""
    text = f"{duration(result.get('wall_seconds'))} wall"
    if result.get("cpu_seconds") is not None:
        text += f", {duration(result['cpu_seconds'])} CPU"
    return text


# ------------------------------------------------------------------- markdown
def summary_markdown(output_dir):
    """The one table of docs/EXPERIMENTS.md: claim -> run -> measured -> held, with runtimes."""
    lines = ["| # | claim (source) | what was run | measured: mean ± std | threshold | verdict "
             "| runtime |", "|---|---|---|---|---|---|---|"]
    for number, name, result in load_results(output_dir):
        if result is None:
            lines.append(f"| {number} | `{name}` | not run | | | | |")
            continue
        if result.get("status") != "done":
            lines.append(f"| {number} | `{name}` | failed: {result.get('error', '')} | | | | "
                         f"{duration(result.get('wall_seconds'))} |")
            continue
        for i, claim in enumerate(result["claims"]):
            run = (f"{result['what_was_run']} Budget `{result['budget']}`, seeds "
                   f"{result['seeds']}." if i == 0 else "(same run)")
            cells = [f"{number}{'abcdefgh'[i] if len(result['claims']) > 1 else ''}",
                     f"{claim['statement']} ({claim['source']})", run,
                     f"{claim['measure']}: {measured(claim)}", claim["threshold"],
                     f"**{verdict_word(claim['held'])}**"
                     + (f": {claim['note']}" if claim["note"] else ""),
                     runtime(result) if i == 0 else ""]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ")
                                            for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_summary(output_dir):
    path = os.path.join(output_dir, SUMMARY)
    with open(path, "w", encoding="utf-8") as f:
        f.write(summary_markdown(output_dir))
    return path


# ----------------------------------------------------------------------- html
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1180px; color: #222;
       line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.35em 0.5em; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
.held { color: #0a6b16; font-weight: bold; } .not-held { color: #a40e0e; font-weight: bold; }
.undecided, .missing { color: #777; font-weight: bold; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; max-width: 100%; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #444; max-width: 640px; }
.meta { color: #555; font-size: 0.9em; }
"""


def _class(held):
    return {True: "held", False: "not-held", None: "undecided"}[held]


def _claims_table(result, with_links=False):
    rows = []
    for i, claim in enumerate(result["claims"]):
        label = f"{result['number']}{'abcdefgh'[i] if len(result['claims']) > 1 else ''}"
        if with_links:
            label = f'<a href="#{html.escape(result["experiment"])}">{label}</a>'
        note = (f"<br><span class='meta'>{html.escape(claim['note'])}</span>"
                if claim["note"] else "")
        rows.append(
            f"<tr><td>{label}</td><td>{html.escape(claim['statement'])}<br><span class='meta'>"
            f"{html.escape(claim['source'])}</span></td>"
            f"<td>{html.escape(claim['measure'])}: {html.escape(measured(claim))}</td>"
            f"<td>{html.escape(claim['threshold'])}</td>"
            f"<td class='{_class(claim['held'])}'>{verdict_word(claim['held'])}{note}</td>"
            + (f"<td>{runtime(result) if i == 0 else ''}</td>" if with_links else "") + "</tr>")
    return "".join(rows)


def _extra_table(table):
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table["columns"])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in table["rows"])
    return f"<h3>{html.escape(table['title'])}</h3><table><tr>{head}</tr>{body}</table>"


def index_html(output_dir):
    """The report page over every experiment in ``output_dir``."""
    results = load_results(output_dir)
    summary_rows, sections = [], []
    for number, name, result in results:
        anchor = html.escape(name)
        if result is None:
            summary_rows.append(f"<tr><td>{number}</td><td colspan='5' class='missing'>"
                                f"{anchor}: not run in this folder</td></tr>")
            continue
        if result.get("status") != "done":
            summary_rows.append(
                f"<tr><td><a href='#{anchor}'>{number}</a></td><td colspan='4' class='not-held'>"
                f"{anchor}: failed ({html.escape(result.get('error', ''))})</td>"
                f"<td>{duration(result.get('wall_seconds'))}</td></tr>")
        else:
            summary_rows.append(_claims_table(result, with_links=True))
        plots = "".join(
            f"<figure><a href='{html.escape(name)}/{html.escape(p['file'])}'><img "
            f"src='{html.escape(name)}/{html.escape(p['file'])}' alt='{html.escape(p['file'])}'>"
            f"</a><figcaption>{html.escape(p['caption'])}</figcaption></figure>"
            for p in result.get("plots", []))
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.get("notes", []))
        tables = "".join(_extra_table(t) for t in result.get("tables", []))
        claims = (f"<table><tr><th>#</th><th>claim</th><th>measured (mean ± std)</th>"
                  f"<th>threshold (stated up front)</th><th>verdict</th></tr>"
                  f"{_claims_table(result)}</table>" if result.get("claims") else
                  f"<p class='not-held'>{html.escape(result.get('error', 'no claims'))}</p>")
        env = result.get("environment", {})
        sections.append(
            f"<h2 id='{anchor}'>{number}. {html.escape(result['title'])}</h2>"
            f"<p class='meta'>{html.escape(result['source'])} &middot; budget "
            f"<b>{html.escape(result['budget'])}</b> &middot; seeds {result['seeds']} &middot; "
            f"{runtime(result)} &middot; started "
            f"{html.escape(result.get('started', ''))} &middot; TF "
            f"{html.escape(str(env.get('tensorflow')))}"
            f", {env.get('cpu_count')} CPUs &middot; <a href='{anchor}/result.json'>result.json</a>"
            f"</p><p>{html.escape(result.get('what_was_run', ''))}</p>{claims}"
            + (f"<ul>{notes}</ul>" if notes else "") + tables + plots)
    generated = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>GAN claims, measured</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>The GAN lecture notes' claims, measured on this machine</h1>"
        f"<p class='meta'>Generated {generated} by <code>python -m pipelines.experiments</code> "
        f"from the result.json files in this folder. Thresholds are module constants in "
        "<code>tfgan_pipeline/experiments/</code>, fixed before the runs. Spread is the sample "
        "standard deviation over seeds (or the unit named).</p>"
        "<table><tr><th>#</th><th>claim</th><th>measured (mean ± std)</th><th>threshold</th>"
        f"<th>verdict</th><th>runtime</th></tr>{''.join(summary_rows)}</table>"
        f"{''.join(sections)}</body></html>\n")


def write_index(output_dir):
    path = os.path.join(output_dir, INDEX)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(index_html(output_dir))
    os.replace(tmp, path)
    return path
