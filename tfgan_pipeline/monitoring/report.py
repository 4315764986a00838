"""HTML pieces for the run report: history, metric panels, tables, figures, link check.

:mod:`tfgan_pipeline.pipeline.report` assembles the run's page from these; this
module knows nothing about where a run's files are (the pipeline's layout module
does). The page is self-contained static HTML: inline CSS, no scripts, only
relative links to files that exist, every text escaped with ``html.escape``.
:func:`check_report_links` verifies the links without a browser; the tests also
load the page in headless chromium. Curves are drawn with matplotlib (Agg), one
panel per quantity so that a large loss does not flatten the others.

There is no paper behind this module; the per-run page follows the HTML pages of
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

#: Quantities drawn together in one panel (others get a panel each).
PANEL_GROUPS = (
    ("discriminator_output", "D's mean output on real and generated data",
     ("d_real", "d_fake")),
    ("gradient_norms", "Gradient norms", ("d_grad_norm", "g_grad_norm")),
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
.verdict { font-size: 1.2em; padding: .4em .8em; display: inline-block; }
.blessed { background: #e3f5e1; border: 1px solid #7bbf74; }
.not-blessed { background: #fbe4e4; border: 1px solid #d77; }
td.pass { color: #2a7a22; } td.fail { color: #b22; }
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


def plot_panels(records, out_dir, skip=("steps_per_second",)):
    """Draws one PNG per quantity (``curves_<name>.png``), each on its own axis.

    ``d_real``/``d_fake`` and the two gradient norms share a panel
    (:data:`PANEL_GROUPS`); every other metric gets its own.

    Returns:
      ``[(title, path), ...]`` in a stable order (losses first).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in _metric_names(records) if n not in skip]
    panels = []
    for stem, title, members in PANEL_GROUPS:
        present = [n for n in members if n in names]
        if present:
            panels.append((stem, title, present))
            names = [n for n in names if n not in present]
    panels = [(n, n, [n]) for n in sorted(names, key=lambda n: (not n.endswith("loss"), n))] \
        + panels
    written = []
    for stem, title, members in panels:
        fig, ax = plt.subplots(figsize=(4.2, 2.6), dpi=110)
        for name in members:
            points = [(r["step"], r[name]) for r in records
                      if isinstance(r.get(name), (int, float)) and math.isfinite(r[name])]
            if points:
                steps, values = zip(*points)
                ax.plot(steps, values, marker="." if len(points) < 40 else None, lw=1,
                        label=name)
        ax.set_xlabel("global step", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(members) > 1:
            ax.legend(fontsize=7, loc="best")
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
def escape(text):
    return html.escape(str(text), quote=True)


def href(path, base_dir):
    """URL of ``path`` relative to ``base_dir`` (forward slashes, percent-encoded)."""
    rel = os.path.relpath(path, base_dir).replace(os.sep, "/")
    return urllib.parse.quote(rel)


def table(obj):
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(_fmt(v))}</td></tr>"
                   for k, v in flatten(obj))
    return f"<table>{rows}</table>"


def figure(path, base_dir, caption, wide=False):
    url = escape(href(path, base_dir))
    cls = ' class="wide"' if wide else ""
    return (f'<figure{cls}><a href="{url}"><img src="{url}" alt="{escape(caption)}"></a>'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def write_page(path, title, sections, subtitle=""):
    """Writes one self-contained page atomically.

    Args:
      path: the HTML file.
      title: page title (escaped).
      sections: ``[(anchor, heading, body html), ...]``; the body is trusted HTML
        built with :func:`table` / :func:`figure` / :func:`escape`.
      subtitle: a line under the title (escaped).

    Returns:
      ``path``.
    """
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    nav = " ".join(f'<a href="#{a}">{escape(h)}</a>' for a, h, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{escape(h)}</h2>{b}</section>'
                   for a, h, b in sections)
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1>"
            f"<p class=\"note\">{escape(subtitle)} Written {escape(now)}.</p>"
            f"<nav>{nav}</nav>{body}</body></html>\n")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, path)
    return path


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
