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


@pytest.fixture(scope="module")
def situations_folder(tmp_path_factory) -> Path:
    """A sweep over the situation (market, rivals) and the strategy, as the studies run it."""
    folder = tmp_path_factory.mktemp("facets") / "sweep"
    proc = subprocess.run([str(BIN / "marktsim"), "-m", "market=saturated,growing", "competitors=symmetric,same_as_focal",
                           "strategy=retention_heavy,acquisition_heavy", "market.n_customers=200", "horizon=6",
                           "progress=off", f"hydra.sweep.dir={folder}"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return folder


def test_figures_have_a_panel_per_situation_and_the_strategy_as_colour(situations_folder, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from marktsim.analysis.labels import labels
    from marktsim.analysis.report import _npv_figure, layout

    sweep = load_sweep(situations_folder)
    lay = layout(sweep, lambda n: [f"C{i}" for i in range(n)])
    assert len(sweep.conditions) == 8
    assert sorted(lay.facets) == sorted(f"market = {m}, competitors = {c}" for m in ("saturated", "growing")
                                        for c in ("symmetric", "same_as_focal"))
    assert set(lay.series.values()) == {"retention_heavy", "acquisition_heavy"} and lay.title == "strategy"
    for condition in sweep.conditions:  # every label says what its condition is
        assert lay.series[condition] in condition and all(
            part.split(" = ")[1] in condition for part in lay.facet[condition].split(", "))
    by_series = {}
    for condition, series in lay.series.items():
        by_series.setdefault(series, set()).add(lay.colour[condition])
    assert all(len(c) == 1 for c in by_series.values()) and len(set().union(*by_series.values())) == 2
    table = grouped_ci(sweep.summary[sweep.summary.firm == "focal"], ["condition"], ["npv"])
    fig = _npv_figure(plt, table, lay, labels("en"))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert sorted(ax.get_title() for ax in visible) == sorted(lay.facets)
    for ax in visible:
        assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["acquisition_heavy", "retention_heavy"]
    plt.close(fig)
    write_report(situations_folder, out=tmp_path / "report")
    assert (tmp_path / "report" / "timeseries.png").stat().st_size > 10_000


def test_without_a_situation_swept_the_figures_keep_one_panel_per_metric(sweep_folder):
    from marktsim.analysis.report import layout

    sweep = load_sweep(sweep_folder)
    lay = layout(sweep, lambda n: [f"C{i}" for i in range(n)])
    assert lay.facets == [""] and lay.series == {c: c for c in sweep.conditions}
    assert len(set(lay.colour.values())) == len(sweep.conditions) == 4


def test_a_run_found_twice_is_counted_once_and_names_do_not_split_conditions(sweep_folder, tmp_path):
    """Copies of a sweep, and a sweep of the same model under other names (`progress=on`, more
    replicates), add only the runs that are new: conditions are identified by their resolved
    config, runs by model, seed and replicate."""
    import shutil

    single = load_sweep(sweep_folder)
    parent = tmp_path / "received"
    for copy in ("a", "b"):
        shutil.copytree(sweep_folder, parent / copy)
    proc = subprocess.run([str(BIN / "marktsim"), "firm.margin=0.3", "firm.capex_per_unit=200", "seed=0",
                           "market.n_customers=200", "horizon=12", "replicates=3", "progress=on",
                           f"hydra.run.dir={parent / 'more' / 'job'}"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    combined = load_sweep(parent)
    assert combined.conditions == single.conditions  # `progress=on` and the single run's other names: no new condition
    runs = lambda sweep: sweep.summary[sweep.summary.firm == "focal"].groupby("condition", observed=True).size()
    expected = runs(single).copy()
    expected[REFERENCE] += 1  # replicate 2 of seed 0 is new; replicates 0 and 1 are the copies' runs
    assert runs(combined).to_dict() == expected.to_dict()
    assert combined.duplicate_runs == len(single.summary[single.summary.firm == "focal"]) + 2  # copy b, and "more"
    # the combined rows of a run are the single sweep's rows
    old = single.summary.set_index(["run", "firm"]).sort_index().npv
    new = combined.summary.set_index(["run", "firm"]).npv
    assert np.array_equal(new.reindex(old.index).to_numpy(), old.to_numpy())


def _damage(job: Path, how: str) -> str:
    """Damage one job's files as a broken disk or copy would; returns what the report must say."""
    from marktsim.experiments.store import DATASET, partition_name

    part = job.parent / DATASET / "summary" / partition_name(job.name) / "part-0.parquet"
    if how == "config":
        (job / "config.yaml").write_text("seed: [unclosed\n")
        return "config.yaml is not YAML"
    if how == "truncated":
        data = part.read_bytes()
        part.unlink()  # the partition is a hard link to the job's file: both are damaged
        (job / "summary.parquet").unlink()
        part.write_bytes(data[: len(data) // 2])
        return f"dataset/summary/{partition_name(job.name)}/part-0.parquet: not a readable Parquet file"
    part.unlink()
    (job / "summary.parquet").unlink()
    return "summary.parquet missing"


@pytest.mark.parametrize("how", ["config", "truncated", "missing"])
def test_a_job_whose_files_cannot_be_read_is_listed_and_skipped(sweep_folder, tmp_path, how):
    import shutil

    folder = tmp_path / "sweep"
    shutil.copytree(sweep_folder, folder)
    broken = sorted(p.parent for p in folder.glob("*/config.yaml"))[0]
    why = _damage(broken, how)
    proc = subprocess.run([str(BIN / "marktsim-report"), str(folder)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"marktsim-report: skipped unreadable job {broken}: {why}" in proc.stderr
    assert "Traceback" not in proc.stderr
    sweep = load_sweep(folder)
    assert [j.path for j, _ in sweep.unreadable] == [broken] and len(sweep.complete) == 7
    assert "unreadable (skipped)" in (folder / "report" / "report.md").read_text()
