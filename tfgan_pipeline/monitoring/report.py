"""A static HTML report per run: loss curves, sample grids over time, metrics, config.

``write_report(run_dir)`` writes ``<run_dir>/report/index.html`` and the loss-curve
PNGs beside it from whatever the run folder holds so far::

    history.jsonl              metrics by global step (callbacks.MetricHistory)
    samples/step_XXXXXXX.png   sample grids over training (callbacks.SampleGridHistory)
    samples.png                final samples
    visuals/*.png              latent interpolations, walks, class grids, code sweeps
    evaluation/*.png           evaluation figures
    metrics.json, evaluation/metrics.json, config.json   rendered as tables
    tensorboard/               mentioned (not linked) with the command to view it

The page is self-contained static HTML: inline CSS, no scripts, only relative links
to files that exist (a partial run simply has fewer sections), every text escaped
with ``html.escape``. :func:`check_report_links` verifies the "links only files that
exist" property without a browser. Loss curves are drawn with matplotlib (Agg).

There is no paper behind this module; the layout follows the per-run HTML pages of
junyanz/pytorch-CycleGAN-and-pix2pix (``util/html.py``), written without a server.
"""

import datetime
import glob
import html
import html.parser
import json
import logging
import math
import os
import re
import urllib.parse

logger = logging.getLogger("tfgan_pipeline")

#: Record fields of ``history.jsonl`` that are not metrics.
HISTORY_FIELDS = ("step", "time", "kind", "epoch")

#: Loss-curve figures: (file stem, title, which metric names go in it). A metric goes
#: to the first group that claims it.
CURVE_GROUPS = (
    ("losses", "Losses", lambda k: k.endswith("loss")),
    ("discriminator", "Discriminator output, mean raw value on real and generated data",
     lambda k: k in ("d_real", "d_fake")),
    ("gradients", "Gradient norms", lambda k: k.endswith("grad_norm")),
    ("other", "Other metrics", lambda k: True),
)

_STEP_FILE = re.compile(r"^step_(\d+)\.png$")

_CSS = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
td, th { border: 1px solid #ccc; padding: .25em .6em; text-align: left;
         font-family: monospace; vertical-align: top; }
th { background: #f3f3f3; }
figure { display: inline-block; margin: .4em; text-align: center; vertical-align: top; }
figure img { max-width: 22em; image-rendering: pixelated; border: 1px solid #ddd; }
figure.wide img { max-width: 40em; image-rendering: auto; }
figcaption { font-size: .85em; color: #555; }
nav a { margin-right: 1em; }
.note { color: #777; }
"""


# --------------------------------------------------------------------- history
def read_history(path):
    """Reads ``history.jsonl`` into a list of records in training order.

    A resumed run may repeat steps that were trained but not checkpointed before a
    crash; whenever a record's step is not beyond the previous one, the earlier
    records at or after that step are dropped (the newer run supersedes them).
    Unreadable lines (e.g. cut by a kill mid-write) are skipped with a warning.

    Args:
      path: the JSON-lines file; a missing file gives ``[]``.
    """
    if not os.path.exists(path):
        return []
    records = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                step = int(record["step"])
            except (ValueError, KeyError, TypeError) as e:
                logger.warning("%s line %d is not a history record (%s); skipped.",
                               path, number, e)
                continue
            while records and records[-1]["step"] >= step:
                records.pop()
            record["step"] = step
            records.append(record)
    return records


def _metric_names(records):
    names = set()
    for r in records:
        names.update(k for k, v in r.items()
                     if k not in HISTORY_FIELDS and isinstance(v, (int, float))
                     and not isinstance(v, bool))
    return sorted(names)


def plot_curves(records, out_dir):
    """Draws one PNG per metric group (``curves_<group>.png``) in ``out_dir``.

    Returns:
      ``[(title, path), ...]`` for the figures written (groups without data omitted).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    remaining = _metric_names(records)
    written = []
    for stem, title, claims in CURVE_GROUPS:
        names = [n for n in remaining if claims(n)]
        remaining = [n for n in remaining if n not in names]
        if not names:
            continue
        fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
        for name in names:
            points = [(r["step"], r[name]) for r in records
                      if isinstance(r.get(name), (int, float)) and math.isfinite(r[name])]
            if points:
                steps, values = zip(*points)
                ax.plot(steps, values, marker="." if len(points) < 50 else None, label=name)
        ax.set_xlabel("global step")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        path = os.path.join(out_dir, f"curves_{stem}.png")
        tmp = path + ".tmp.png"
        fig.savefig(tmp, bbox_inches="tight")
        plt.close(fig)
        os.replace(tmp, path)
        written.append((title, path))
    return written


# ---------------------------------------------------------------- run contents
def sample_grids(samples_dir, max_grids=None):
    """``[(step, path), ...]`` of ``step_*.png`` in ``samples_dir``, oldest first.

    With ``max_grids``, keeps that many evenly spaced grids, always the first and
    the newest.
    """
    found = []
    for path in glob.glob(os.path.join(glob.escape(samples_dir), "step_*.png")):
        match = _STEP_FILE.match(os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    found.sort()
    if max_grids and len(found) > max_grids:
        last = len(found) - 1
        keep = sorted({round(i * last / (max_grids - 1)) for i in range(max_grids)})
        found = [found[i] for i in keep]
    return found


def _read_json(path, problems):
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"could not read {path}: {e}")
        return None


def flatten(obj, prefix=""):
    """Nested dicts as ``[(dotted.key, value), ...]``; other values as they are."""
    if isinstance(obj, dict):
        rows = []
        for key in sorted(obj, key=str):
            rows += flatten(obj[key], f"{prefix}{key}.")
        return rows
    return [(prefix[:-1] if prefix else "value", obj)]


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


# ------------------------------------------------------------------------ HTML
def _e(text):
    return html.escape(str(text), quote=True)


def _href(path, base_dir):
    """URL of ``path`` relative to ``base_dir`` (forward slashes, percent-encoded)."""
    rel = os.path.relpath(path, base_dir).replace(os.sep, "/")
    return urllib.parse.quote(rel)


def _table(obj):
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_fmt(v))}</td></tr>" for k, v in flatten(obj))
    return f"<table>{rows}</table>"


def _figure(path, base_dir, caption, wide=False):
    url = _e(_href(path, base_dir))
    cls = ' class="wide"' if wide else ""
    return (f'<figure{cls}><a href="{url}"><img src="{url}" alt="{_e(caption)}"></a>'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def write_report(run_dir, title=None, final_metrics=None, max_sample_grids=24):
    """Writes ``<run_dir>/report/index.html`` (and curve PNGs) from the run folder.

    Works on partial runs: each section appears only when its inputs exist, and
    every link points to a file that exists when the report is written.

    Args:
      run_dir: the run folder (see the module docstring for what is read).
      title: page title; default the run folder's name.
      final_metrics: optional ``dict`` shown first (e.g. the job's returned metrics).
      max_sample_grids: at most this many grids over time (evenly spaced, newest kept).

    Returns:
      The path of ``index.html``.
    """
    run_dir = os.path.abspath(run_dir)
    if not os.path.isdir(run_dir):
        raise ValueError(f"write_report: run folder {run_dir} does not exist.")
    report_dir = os.path.join(run_dir, "report")
    os.makedirs(report_dir, exist_ok=True)
    title = title or os.path.basename(run_dir)
    problems = []
    sections = []  # (anchor, heading, body html)

    records = read_history(os.path.join(run_dir, "history.jsonl"))
    if final_metrics:
        sections.append(("final", "Final metrics", _table(final_metrics)))
    for anchor, heading, rel in (("metrics", "Run metrics (metrics.json)", "metrics.json"),
                                 ("evaluation-metrics", "Evaluation metrics",
                                  os.path.join("evaluation", "metrics.json"))):
        data = _read_json(os.path.join(run_dir, rel), problems)
        if data is not None:
            sections.append((anchor, heading, _table(data)))

    if records:
        last = records[-1]
        body = (f"<p>{len(records)} records up to global step {last['step']}.</p>"
                + _table({k: v for k, v in last.items() if k not in ("time", "kind")}))
        body += "".join(_figure(path, report_dir, t, wide=True)
                        for t, path in plot_curves(records, report_dir))
        sections.append(("curves", "Training curves", body))

    grids = sample_grids(os.path.join(run_dir, "samples"), max_sample_grids)
    if grids:
        body = "".join(_figure(path, report_dir, f"step {step}") for step, path in grids)
        sections.append(("samples-over-time", "Samples over training (fixed noise, newest "
                         "last)", body))

    final_samples = os.path.join(run_dir, "samples.png")
    if os.path.exists(final_samples):
        sections.append(("final-samples", "Final samples",
                         _figure(final_samples, report_dir, "samples.png", wide=True)))
    for anchor, heading, folder in (("visuals", "Latent space and conditional grids", "visuals"),
                                    ("evaluation", "Evaluation figures", "evaluation")):
        pngs = sorted(glob.glob(os.path.join(glob.escape(os.path.join(run_dir, folder)),
                                             "*.png")))
        if pngs:
            sections.append((anchor, heading, "".join(
                _figure(p, report_dir, os.path.basename(p), wide=True) for p in pngs)))

    config = _read_json(os.path.join(run_dir, "config.json"), problems)
    if config is not None:
        sections.append(("config", "Configuration (config.json)", _table(config)))

    tensorboard_dir = os.path.join(run_dir, "tensorboard")
    if os.path.isdir(tensorboard_dir):
        sections.append(("tensorboard", "TensorBoard", (
            f"<p>Event files in <code>tensorboard/</code>; view them with "
            f"<code>tensorboard --logdir {_e(tensorboard_dir)}</code>.</p>")))
    if problems:
        sections.append(("problems", "Problems reading the run folder",
                         "<ul>" + "".join(f"<li>{_e(p)}</li>" for p in problems) + "</ul>"))

    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    nav = " ".join(f'<a href="#{a}">{_e(h)}</a>' for a, h, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{_e(h)}</h2>{b}</section>' for a, h, b in sections)
    if not sections:
        body = '<p class="note">Nothing to show yet: the run folder has no outputs.</p>'
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{_e(title)}</h1><p class=\"note\">Run folder {_e(run_dir)}; report written "
            f"{_e(now)}.</p><nav>{nav}</nav>{body}</body></html>\n")
    index = os.path.join(report_dir, "index.html")
    tmp = index + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, index)
    return index


# ------------------------------------------------------------------ link check
class _LinkCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.links.append(value)
            elif name == "id" and value is not None:
                self.ids.add(value)


def check_report_links(index_html_path):
    """Every ``src``/``href`` of an HTML file that would not render from disk.

    A link is a problem when it is absolute or external (``http:``, ``/x``, ... — the
    report must be self-contained), when the relative file it names does not exist,
    or when a ``#fragment`` names no element id. ``data:`` URIs are accepted.

    Args:
      index_html_path: the HTML file.

    Returns:
      The offending link targets, as written in the file (``[]`` when it is fine).
    """
    with open(index_html_path, encoding="utf-8") as f:
        parser = _LinkCollector()
        parser.feed(f.read())
    base = os.path.dirname(os.path.abspath(index_html_path))
    bad = []
    for link in parser.links:
        parts = urllib.parse.urlsplit(link)
        if parts.scheme == "data":
            continue
        if parts.scheme or parts.netloc or parts.path.startswith("/"):
            bad.append(link)
        elif not parts.path:
            if parts.fragment and parts.fragment not in parser.ids:
                bad.append(link)
        elif not os.path.exists(os.path.join(base, urllib.parse.unquote(parts.path))):
            bad.append(link)
    return bad
