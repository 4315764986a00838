"""Every experiment under the smoke budget: its result.json, plots, claims and the tables.

The smoke budget trains for a handful of steps, so verdicts are meaningless here;
these tests check what is written and that it is internally consistent (statistics
from the values, thresholds quoting the module constants, verdicts following them).
"""

import importlib
import json
import math
import os
import re

import numpy as np
import pytest
from PIL import Image

from tfgan_pipeline.experiments import REGISTRY, report

NAMES = [name for _, name, _, _ in REGISTRY]
CLAIM_KEYS = {"statement", "source", "measure", "threshold", "values", "unit", "mean", "std",
              "min", "max", "held", "note"}


def _result(smoke_run, name):
    out, _, _ = smoke_run
    with open(os.path.join(out, name, "result.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("name", NAMES)
def test_result_json_has_the_run_and_its_claims(smoke_run, name):
    result = _result(smoke_run, name)
    number = next(n for n, e, _, _ in REGISTRY if e == name)
    assert result["status"] == "done"
    assert (result["experiment"], result["number"], result["budget"]) == (name, number, "smoke")
    assert result["seeds"] == [0] and result["seeds_requested"] == 1
    assert result["wall_seconds"] > 0
    assert result["title"] and result["source"] and result["what_was_run"]
    assert result["steps"] and all(isinstance(v, (int, dict)) for v in result["steps"].values())
    assert result["budget_settings"]  # the budget's numbers, e.g. steps
    assert result["environment"]["tensorflow"] and result["environment"]["cpu_count"] >= 1
    assert result["figures"]
    assert result["claims"]
    for claim in result["claims"]:
        assert set(claim) == CLAIM_KEYS
        assert isinstance(claim["held"], bool)
        assert claim["values"], claim
    assert result["held"] == all(c["held"] for c in result["claims"])


@pytest.mark.parametrize("name", NAMES)
def test_every_plot_is_a_png_on_disk(smoke_run, name):
    out, _, _ = smoke_run
    result = _result(smoke_run, name)
    assert result["plots"], "every experiment saves at least one plot"
    for plot in result["plots"]:
        path = os.path.join(out, name, plot["file"])
        with Image.open(path) as image:
            assert image.format == "PNG" and min(image.size) >= 20, (path, image.size)
        assert plot["caption"]


@pytest.mark.parametrize("name", NAMES)
def test_claim_statistics_come_from_the_values(smoke_run, name):
    for claim in _result(smoke_run, name)["claims"]:
        values = [v for v in claim["values"] if v is not None and math.isfinite(v)]
        if not values:
            assert claim["mean"] is None
            continue
        assert claim["mean"] == pytest.approx(np.mean(values))
        assert claim["std"] == pytest.approx(np.std(values, ddof=1) if len(values) > 1 else 0.0)
        assert (claim["min"], claim["max"]) == (pytest.approx(min(values)),
                                                pytest.approx(max(values)))


@pytest.mark.parametrize("name", NAMES)
def test_thresholds_quote_module_constants_and_verdicts_follow_them(smoke_run, name):
    module = importlib.import_module(next(m for _, e, m, _ in REGISTRY if e == name))
    for claim in _result(smoke_run, name)["claims"]:
        quoted = re.findall(r"([A-Z][A-Z0-9_]+) = ([-+0-9.e]+)", claim["threshold"])
        assert quoted, f"threshold names no module constant: {claim['threshold']!r}"
        for constant, value in quoted:
            assert getattr(module, constant) == pytest.approx(float(value)), constant
        simple = re.fullmatch(r"mean (<=|>=) ([A-Z][A-Z0-9_]+) = ([-+0-9.e]+)", claim["threshold"])
        if simple and claim["mean"] is not None:
            op, _, value = simple.groups()
            expected = (claim["mean"] <= float(value) if op == "<="
                        else claim["mean"] >= float(value))
            assert claim["held"] == expected, claim


def test_summary_table_has_one_row_per_claim(smoke_run):
    out, results, _ = smoke_run
    text = open(os.path.join(out, "summary.md"), encoding="utf-8").read()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + sum(len(r["claims"]) for r in results.values())
    for result in results.values():
        for claim in result["claims"]:
            assert claim["statement"].replace("|", "\\|") in text
    assert "not run" not in text


def test_index_lists_what_was_not_run(tmp_path, smoke_run):
    out, _, _ = smoke_run
    partial = tmp_path / "partial"
    os.makedirs(partial / "kl_direction")
    with open(os.path.join(out, "kl_direction", "result.json"), encoding="utf-8") as f:
        (partial / "kl_direction" / "result.json").write_text(f.read())
    page = report.index_html(str(partial))
    assert page.count("not run in this folder") == len(NAMES) - 1
    assert "Forward vs reverse KL" in page
    assert report.summary_markdown(str(partial)).count("| not run |") == len(NAMES) - 1


def test_progress_lines_name_each_experiment(smoke_run):
    _, _, lines = smoke_run
    for name in NAMES:
        assert any(line.startswith(f"[{name}] done in") for line in lines), name


def test_tables_have_rows_of_the_column_width(smoke_run):
    for name in NAMES:
        for table in _result(smoke_run, name).get("tables", []):
            assert table["rows"], (name, table["title"])
            assert all(len(row) == len(table["columns"]) for row in table["rows"]), name


def test_mode_collapse_scores_every_toy_and_objective(smoke_run):
    from tfgan_pipeline.experiments import mode_collapse

    curves = _result(smoke_run, "mode_collapse")["figures"]["curves"]
    assert set(curves) == set(mode_collapse.TOYS)
    for toy_curves in curves.values():
        assert set(toy_curves) == set(mode_collapse.OBJECTIVES)
        for by_seed in toy_curves.values():
            point = by_seed["0"][-1]
            assert 0 <= point["modes_covered"] <= point["num_modes"]
            assert point["num_samples"] == mode_collapse.BUDGETS["smoke"].eval_samples


def test_pix2pix_scores_every_variant_on_the_validation_pairs(smoke_run):
    from tfgan_pipeline.experiments import pix2pix_ablations

    figures = _result(smoke_run, "pix2pix_ablations")["figures"]
    assert set(figures["means"]) == set(pix2pix_ablations.VARIANTS)
    n = len(figures["per_image"]["cgan_l1"]["l1"])
    assert 1 <= n <= pix2pix_ablations.BUDGETS["smoke"].max_eval_images
    assert figures["preprocess"]["val"] >= 1
    for means in figures["means"].values():
        assert set(means) == {"l1", "psnr", "ssim", "pixel_accuracy", "sharpness", "hf_energy"}
        assert 0 <= means["pixel_accuracy"] <= 1 and means["l1"] >= 0
