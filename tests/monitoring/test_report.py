"""HTML pieces of the run report: escaping, relative links, panels, link check, history."""

import json
import os

import numpy as np

from tfgan_pipeline.monitoring import images, report


def _png(path, size=8):
    images.write_png(np.full([size, size, 1], 128, np.uint8), str(path))


def _history(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def test_page_escapes_text_and_links_relatively(tmp_path):
    (tmp_path / "my figs").mkdir()
    _png(tmp_path / "my figs" / "a.png")
    index = str(tmp_path / "report" / "index.html")
    body = (report.table({"dataset": "<script>alert(1)</script>", "model": {"latent_dim": 64}})
            + report.figure(str(tmp_path / "my figs" / "a.png"), str(tmp_path / "report"), "a"))
    report.write_page(index, "DCGAN <run>", [("sec", "Section <1>", body)], subtitle="s & t")
    page = open(index, encoding="utf-8").read()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "DCGAN &lt;run&gt;" in page and "Section &lt;1&gt;" in page
    assert "model.latent_dim" in page
    assert 'src="../my%20figs/a.png"' in page  # relative to the page, percent-encoded
    assert report.check_report_links(index) == []


def test_one_panel_per_quantity_with_shared_panels_for_pairs(tmp_path):
    _history(tmp_path / "history.jsonl", [
        {"step": s, "time": 0.0, "kind": "batch", "d_loss": 1.0 / s, "g_loss": 2.0 * s,
         "d_real": 0.5, "d_fake": -0.5, "d_grad_norm": 3.0, "g_grad_norm": 1.0,
         "steps_per_second": 9.0, "real_accuracy": 0.9} for s in range(1, 30)])
    panels = report.plot_panels(report.read_history(str(tmp_path / "history.jsonl")),
                                str(tmp_path))
    names = [os.path.basename(p) for _, p in panels]
    assert names == ["curves_d_loss.png", "curves_g_loss.png", "curves_real_accuracy.png",
                     "curves_discriminator_output.png", "curves_gradient_norms.png"]
    assert all(os.path.getsize(p) > 1000 for _, p in panels)


def test_check_report_links_finds_broken_targets(tmp_path):
    _png(tmp_path / "ok.png")
    (tmp_path / "a b.png").write_bytes(b"")
    page = tmp_path / "index.html"
    page.write_text(
        '<html><body id="top"><img src="ok.png"><img src="a%20b.png"><a href="#top">up</a>'
        '<img src="missing.png"><a href="http://example.com/x.png">x</a>'
        '<img src="/etc/hostname"><a href="#nowhere">n</a>'
        '<img src="data:image/png;base64,AAAA"></body></html>')
    assert report.check_report_links(str(page)) == [
        "missing.png", "http://example.com/x.png", "/etc/hostname", "#nowhere"]


def test_read_history_drops_records_superseded_by_a_restart(tmp_path):
    path = tmp_path / "history.jsonl"
    _history(path, [{"step": 10, "run": 1}, {"step": 20, "run": 1}, {"step": 30, "run": 1}])
    with open(path, "a") as f:
        f.write('{"step": 40, "ru')  # cut by a kill mid-write
        f.write("\n" + json.dumps({"step": 20, "run": 2}) + "\n")
        f.write(json.dumps({"step": 25, "run": 2}) + "\n")
    rows = report.read_history(str(path))
    assert [(r["step"], r["run"]) for r in rows] == [(10, 1), (20, 2), (25, 2)]
    assert report.read_history(str(tmp_path / "absent.jsonl")) == []


def test_sample_grids_are_thinned_evenly_keeping_the_newest(tmp_path):
    for step in range(0, 1000, 100):
        _png(tmp_path / f"step_{step:07d}.png", size=2)
    _png(tmp_path / "step_notanumber.png", size=2)
    steps = [s for s, _ in report.sample_grids(str(tmp_path), max_grids=4)]
    assert steps == [0, 300, 600, 900]
    assert len(report.sample_grids(str(tmp_path))) == 10


def test_flatten_nested_config():
    assert report.flatten({"b": {"y": 1, "x": [1, 2]}, "a": "s"}) == [
        ("a", "s"), ("b.x", [1, 2]), ("b.y", 1)]
