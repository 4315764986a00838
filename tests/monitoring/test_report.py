"""Static HTML report: contents, escaping, partial runs, link checking, history reading."""

import json
import os

import numpy as np
import pytest

from tfgan_pipeline.monitoring import images, report


def _png(path, size=8):
    images.write_png(np.full([size, size, 1], 128, np.uint8), str(path))


def _history(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


@pytest.fixture
def full_run(tmp_path):
    run = tmp_path / "my run"  # a space: links must be percent-encoded
    (run / "samples").mkdir(parents=True)
    for step in (0, 100, 200):
        _png(run / "samples" / f"step_{step:07d}.png")
    _png(run / "samples.png")
    (run / "evaluation").mkdir()
    _png(run / "evaluation" / "precision_recall.png")
    (run / "evaluation" / "metrics.json").write_text(json.dumps({"fd": 12.5, "blessed": True}))
    (run / "visuals").mkdir()
    _png(run / "visuals" / "interpolation_slerp.png")
    (run / "tensorboard").mkdir()
    (run / "config.json").write_text(json.dumps(
        {"dataset": "<script>alert(1)</script>", "model": {"latent_dim": 64, "gan": "dcgan"}}))
    (run / "metrics.json").write_text(json.dumps({"steps": 200, "d_loss": 1.25}))
    _history(run / "history.jsonl", [
        {"step": s, "time": 0.0, "kind": "epoch", "d_loss": 1.0 / s, "g_loss": 2.0,
         "d_real": 0.5, "d_fake": -0.5, "d_grad_norm": 3.0, "real_accuracy": 0.9}
        for s in (100, 200)])
    return str(run)


def test_full_report_renders_with_only_existing_links(full_run):
    index = report.write_report(full_run, title="DCGAN <run>", final_metrics={"fd": 12.5})
    assert index == os.path.join(full_run, "report", "index.html")
    assert report.check_report_links(index) == []
    page = open(index, encoding="utf-8").read()
    for needle in ("step 0<", "step 200<", "samples.png", "precision_recall.png",
                   "interpolation_slerp.png", "model.latent_dim", "blessed",
                   "tensorboard --logdir"):
        assert needle in page, needle
    assert page.index("step 0<") < page.index("step 100<") < page.index("step 200<")
    assert 'src="../samples/step_0000000.png"' in page  # relative to report/
    for stem in ("losses", "discriminator", "gradients", "other"):
        assert os.path.exists(os.path.join(full_run, "report", f"curves_{stem}.png")), stem


def test_text_is_escaped(full_run):
    page = open(report.write_report(full_run, title="DCGAN <run>"), encoding="utf-8").read()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "DCGAN &lt;run&gt;" in page


def test_empty_run_folder_renders(tmp_path):
    index = report.write_report(str(tmp_path))
    assert report.check_report_links(index) == []
    assert "Nothing to show yet" in open(index).read()


def test_partial_run_shows_only_what_exists(tmp_path):
    _history(tmp_path / "history.jsonl", [{"step": 5, "kind": "epoch", "g_loss": 1.0}])
    (tmp_path / "metrics.json").write_text("{not json")
    index = report.write_report(str(tmp_path))
    assert report.check_report_links(index) == []
    page = open(index).read()
    assert "curves_losses.png" in page
    assert "Samples over training" not in page and "Configuration" not in page
    assert "could not read" in page  # the broken metrics.json is reported, not hidden
    assert not os.path.exists(tmp_path / "report" / "curves_discriminator.png")


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


def test_missing_run_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        report.write_report(str(tmp_path / "nope"))
