"""The sweep report: typed key columns, paired differences, leaders only where the runs can tell
conditions apart, bounded intervals and the language's number formats.

The sweep crosses two keys chosen for what theory says about them: `firm.capex_per_unit`
enters only capacity expansion, which the default fixed-capacity firm never does, so its two
values give identical runs for the same seed (a paired difference of exactly 0); a higher
`firm.margin` leaves every decision unchanged (budgets follow revenue, not margin) and raises
profit in every month, so each paired difference is positive."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marktsim.analysis.report import BOUNDS, _bands, load_sweep, paired_difference, write_report
from marktsim.analysis.stats import clip_ci, fmt_ci, grouped_ci

BIN = Path(sys.executable).parent
REFERENCE = "firm.capex_per_unit=200, firm.margin=0.3"


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report") / "sweep"
    proc = subprocess.run([str(BIN / "marktsim"), "-m", "firm.margin=0.3,0.6", "firm.capex_per_unit=200,400",
                           "seed=range(0,2)", "market.n_customers=200", "horizon=12", "replicates=2", "progress=off",
                           f"hydra.sweep.dir={folder}"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == (
        f"marktsim: sweep {folder}: 8 of 8 jobs complete, 0 failed, 0 incomplete; report: marktsim-report {folder}")
    return folder


def test_every_table_has_a_typed_column_per_swept_key_and_the_seed(sweep_folder):
    sweep = load_sweep(sweep_folder)
    assert set(sweep.keys) == {"firm.margin", "firm.capex_per_unit"}
    for table in (sweep.timeseries, sweep.segments, sweep.summary):
        assert pd.api.types.is_float_dtype(table["firm.margin"])
        assert pd.api.types.is_integer_dtype(table["firm.capex_per_unit"])
        assert sorted(table["firm.margin"].unique()) == [0.3, 0.6]
        assert sorted(table.seed.unique()) == [0, 1]
        # each row's key values are those of its condition label
        for condition, group in table.groupby("condition", observed=True):
            margin = float(re.search(r"firm.margin=([\d.]+)", condition).group(1))
            assert (group["firm.margin"] == margin).all()


def test_paired_differences_are_exact_for_identical_runs_and_positive_for_a_higher_margin(sweep_folder, tmp_path):
    sweep = load_sweep(sweep_folder)
    focal = sweep.summary[sweep.summary.firm == "focal"]
    same = paired_difference(focal, "npv", "firm.capex_per_unit=400, firm.margin=0.3", REFERENCE)
    assert same == (0.0, 0.0, 0.0, 4)  # 2 seeds x 2 replicates, common random numbers
    mean, low, high, pairs = paired_difference(focal, "npv", "firm.capex_per_unit=200, firm.margin=0.6", REFERENCE)
    assert pairs == 4 and 0 < low <= mean <= high
    # the higher margin changes no decision: churn is the same run by run
    assert paired_difference(focal, "churn_annual", "firm.capex_per_unit=200, firm.margin=0.6", REFERENCE) == (
        0.0, 0.0, 0.0, 4)
    report = write_report(sweep_folder, tmp_path / "en")
    paired = pd.read_csv(tmp_path / "en" / "paired_differences.csv")
    assert set(paired.reference) == {REFERENCE} and (paired.pairs == 4).all()
    assert list(paired.columns[:3]) == ["condition", "firm.margin", "firm.capex_per_unit"]
    summary = pd.read_csv(tmp_path / "en" / "summary.csv")
    assert {"firm.margin", "firm.capex_per_unit"} <= set(summary.columns)
    # horizon (12 months): the two margin-0.6 conditions are identical, so neither leads
    horizons = pd.read_csv(tmp_path / "en" / "horizons.csv", keep_default_na=False)
    assert sorted(horizons.condition[horizons.leader == "not separable"]) == [
        "firm.capex_per_unit=200, firm.margin=0.6", "firm.capex_per_unit=400, firm.margin=0.6"]
    assert (horizons.leader != "yes").all()
    text = report.read_text()
    assert "after 12 months" in text and "12, 36" not in text  # the horizon is 12: no later months
    assert "No single leader after 12 months" in text and "◀" not in text.split("## Cumulative")[1].split("◀:")[0]


def test_a_leader_is_marked_where_the_paired_difference_excludes_zero(sweep_folder, tmp_path):
    # without the duplicate margin-0.6 condition, margin 0.6 leads every other condition
    partial = tmp_path / "partial"
    partial.mkdir()
    for folder in sweep_folder.iterdir():
        if folder.is_dir() and folder.name != "dataset" and not (
                "firm.capex_per_unit=400" in folder.name and "firm.margin=0.6" in folder.name):
            subprocess.run(["cp", "-a", str(folder), str(partial / folder.name)], check=True)
    sweep = load_sweep(partial)
    assert "firm.capex_per_unit=400, firm.margin=0.6" not in sweep.conditions and len(sweep.conditions) == 3
    write_report(partial, tmp_path / "out")
    horizons = pd.read_csv(tmp_path / "out" / "horizons.csv", keep_default_na=False)
    assert list(horizons.condition[horizons.leader == "yes"]) == ["firm.capex_per_unit=200, firm.margin=0.6"]
    assert "Leader after 12 months: firm.capex_per_unit=200, firm.margin=0.6." in (
        tmp_path / "out" / "report.md").read_text()


def test_german_report_uses_german_number_formats(sweep_folder, tmp_path):
    text = write_report(sweep_folder, tmp_path / "de", lang="de").read_text()
    assert re.search(r"\d{1,3}(\.\d{3})+ \[\d{1,3}(\.\d{3})+; \d{1,3}(\.\d{3})+\]", text)  # 12.752 [5.161; 20.342]
    assert not re.search(r"\[-?[\d.,]+, -?[\d.,]+\]", text)  # no English interval "[5,161, 20,342]"
    assert fmt_ci(0.7834, 0.71, 0.8, lang="de") == "0,783 [0,71; 0,8]"


def test_an_unknown_reference_is_one_line_and_exit_2(sweep_folder, tmp_path):
    proc = subprocess.run([str(BIN / "marktsim-report"), str(sweep_folder), "--out", str(tmp_path / "r"),
                           "--reference", "strategy=nope"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "--reference 'strategy=nope' is not a condition" in proc.stderr and REFERENCE in proc.stderr
    assert not (tmp_path / "r").exists()


def test_intervals_are_cut_at_natural_bounds():
    # two runs of churn 0 and 0.02: the t-interval (t_1 = 12.7) reaches far below 0
    frame = pd.DataFrame({"condition": ["a", "a"], "tick": [1, 1], "churn_rate": [0.0, 0.02],
                          "profit": [-1.0, 1.0]})
    raw = grouped_ci(frame, ["condition"], ["churn_rate", "profit"])
    assert raw.churn_rate_ci_low[0] < 0 and raw.profit_ci_low[0] < -1
    cut = clip_ci(raw, BOUNDS)
    assert cut.churn_rate_ci_low[0] == 0.0 and cut.churn_rate_ci_high[0] == raw.churn_rate_ci_high[0]
    assert cut.profit_ci_low[0] == raw.profit_ci_low[0]  # profit has no bound
    band = _bands(frame, "churn_rate")
    assert band.low[0] == 0.0 and np.isclose(band.high[0], raw.churn_rate_ci_high[0])


def test_runs_that_cannot_be_paired_give_no_difference():
    """Two runs of one condition with the same seed and replicate (two folders of the same
    condition combined) cannot be paired: no difference is claimed for it, the others still are."""
    from marktsim.analysis.report import _difference, _pairs, leader

    frame = pd.DataFrame({"condition": ["a", "a", "b", "b", "c", "c"], "seed": [0, 0, 0, 0, 0, 0],
                          "replicate": [0, 0, 0, 1, 0, 1], "npv": [1.0, 2.0, 5.0, 6.0, 1.0, 2.0]})
    assert paired_difference(frame, "npv", "a", "b")[3] == 0
    table = _pairs(frame, "npv")
    assert list(table.columns) == ["b", "c"]
    assert _difference(table, "b", "a")[3] == 0
    assert _difference(table, "b", "c")[:3] == (4.0, 4.0, 4.0)  # 5 - 1 and 6 - 2: no spread
    assert leader(frame, "npv") == ("b", ["a"])  # b beats c in both pairs; a cannot be paired
