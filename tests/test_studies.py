"""The studies' findings and the pages that quote them (marktsim.studies; docs/studies.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marktsim.analysis.findings import Collector, Findings, StudyError, Value, fmt
from marktsim.studies import NAMES, studies
from marktsim.studies.core import Study, Sweep, check, paired_ratio, render, run_study, Library

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_every_page_quotes_the_committed_findings():
    """README.md, experiments/**/*.md and docs/**/*.md: every marker shows what the study's
    committed findings.csv says (marktsim-study check)."""
    assert check(ROOT, studies()) == []


def test_every_study_has_committed_findings_and_its_page_quotes_them():
    known = studies()
    for name in NAMES:
        folder = ROOT / "experiments" / name
        findings = Findings.read(name, folder / "findings.csv")
        assert findings.keys(), name  # the precondition: the study produced findings
        readme = (folder / "README.md").read_text(encoding="utf-8") if (folder / "README.md").is_file() else ""
        quoted = readme.count(f"<!--v {name}/") + readme.count(f"<!--t {name}/")
        elsewhere = sum(p.read_text(encoding="utf-8").count(f"<!--v {name}/") for p in (ROOT / "docs").glob("*.md"))
        assert quoted + elsewhere > 0, f"no page quotes the findings of {name}"
        assert known[name].commands()


def test_a_page_with_a_number_that_is_not_the_findings_is_named(tmp_path):
    (tmp_path / "experiments" / "toy").mkdir(parents=True)
    pd.DataFrame({"key": ["x.npv"], "mean": [4.2e6], "low": [4.1e6], "high": [4.3e6], "n": [20]}).to_csv(
        tmp_path / "experiments" / "toy" / "findings.csv", index=False)
    toy = Study("toy", "?", (Sweep(("experiment=toy",)),), extract=lambda s: pd.DataFrame())
    page = tmp_path / "README.md"
    page.write_text("NPV <!--v toy/x.npv m_ci-->4.20 M [4.10, 4.30]<!--/v--> is right.\n", encoding="utf-8")
    assert check(tmp_path, {"toy": toy}) == []
    page.write_text("NPV <!--v toy/x.npv m_ci-->4.25 M [4.10, 4.30]<!--/v--> is typed by hand.\n", encoding="utf-8")
    problems = check(tmp_path, {"toy": toy})
    assert len(problems) == 1 and "README.md: line 1" in problems[0] and "4.20 M [4.10, 4.30]" in problems[0]
    page.write_text("<!--v toy/x.margin m-->1<!--/v-->\n", encoding="utf-8")
    assert "toy/x.margin: no such finding" in check(tmp_path, {"toy": toy})[0]
    page.write_text("<!--v other/x.npv m-->1<!--/v-->\n", encoding="utf-8")
    assert "study 'other'" in check(tmp_path, {"toy": toy})[0]


def test_formats_show_means_intervals_and_signs():
    v = Value(4.2e6, 4.1e6, 4.3e6, 20)
    assert fmt(v, "m") == "4.20 M" and fmt(v, "m_ci") == "4.20 M [4.10, 4.30]"
    p = Value(-0.137, -0.2, 0.004, 20)
    assert fmt(p, "spct0_ci") == "\u221214 % [\u221220, 0]"
    assert fmt(Value(0.161, 0.159, 0.162, 20), "pct_ci") == "16.1 % [15.9, 16.2]"
    assert fmt(Value(5671.4, np.nan, np.nan, 1), "int") == "5 671"
    assert fmt(Value(np.nan, np.nan, np.nan, 0), "m") == "n/a"
    with pytest.raises(StudyError, match="format 'zz'"):
        fmt(v, "zz")


def test_collector_refuses_a_key_twice_and_bad_keys():
    c = Collector()
    c.runs("a.b", [1.0, 2.0, 3.0])
    row = c.frame().iloc[0]
    half = 2.0 * 1.0 / np.sqrt(3) * 4.302652729911275 / 2.0  # t_{0.975, 2} · s / √n with s = 1
    assert row["mean"] == 2.0 and abs(row["high"] - 2.0 - half) < 1e-9 and row["n"] == 3
    with pytest.raises(StudyError, match="set twice"):
        c.runs("a.b", [1.0, 2.0])
    with pytest.raises(StudyError, match="allowed: letters"):
        c.add("a b", 1.0)


def test_paired_ratio_is_the_ratio_of_means_with_an_interval_that_covers_it():
    rng = np.random.default_rng(1)
    b = rng.normal(100, 10, 40)
    a = 1.2 * b + rng.normal(0, 1, 40)  # 20 % more, nearly deterministic given b: a tight interval
    mean, low, high = paired_ratio(a, b)
    assert abs(mean - (a.mean() / b.mean() - 1)) < 1e-12
    assert low < mean < high and high - low < 0.02 and low < 0.2 < high
    with pytest.raises(StudyError, match="two equal samples"):
        paired_ratio(a, b[:5])


def test_a_study_run_writes_findings_that_a_rerun_reproduces_exactly(tmp_path):
    """The pipeline as a user runs it, on a small study: run_study simulates the sweep, writes
    findings.csv and run.json, and a second run into a fresh folder writes the same findings
    (every run is reproducible from its config and seed); a finished sweep is not run again."""
    from marktsim.studies import word_of_mouth

    extra = ("market.n_customers=300", "horizon=12", "replicates=2", "customers.wom_positive=0.0,0.043")
    study = word_of_mouth.STUDY
    small = Study(study.name, study.question, study.sweeps, extract=_small_extract, tables=study.tables)
    first = run_study(small, ROOT, tmp_path / "a", "basic", extra=extra, out=tmp_path / "out_a")
    second = run_study(small, ROOT, tmp_path / "b", "basic", extra=extra, out=tmp_path / "out_b")
    a, b = (first / "findings.csv").read_text(), (second / "findings.csv").read_text()
    assert a == b and len(a.splitlines()) == 5  # header and 2 q_wom × 2 strategies
    assert (first / "run.json").is_file()
    jobs = sorted((tmp_path / "a" / "word_of_mouth" / "sweep-0").rglob("COMPLETE"))
    stamps = [j.stat().st_mtime_ns for j in jobs]
    run_study(small, ROOT, tmp_path / "a", "basic", extra=extra, out=tmp_path / "out_a")
    assert len(jobs) == 4 and [j.stat().st_mtime_ns for j in jobs] == stamps  # resumed: nothing re-run


def _small_extract(sweeps):
    from marktsim.studies.core import runs_table

    table = runs_table(sweeps[0])
    found = Collector()
    for (q, s), cell in table.groupby(["customers.wom_positive", "strategy"]):
        found.runs(f"{q}.{s}.npv", cell.npv)
    return found.frame()


def test_study_command_names_bad_input_in_one_line(tmp_path):
    def study(*args):
        return subprocess.run([str(BIN / "marktsim-study"), *args], cwd=ROOT, capture_output=True, text=True)

    proc = study("run", "no_such_study")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no_such_study" in proc.stderr
    assert "allowed:" in proc.stderr
    proc = study("--repo", str(tmp_path), "check")
    assert proc.returncode == 2 and "no experiments/ folder" in proc.stderr
    ok = study("check")
    assert ok.returncode == 0, ok.stderr


def test_rendering_fills_in_tables_from_the_study():
    library = Library(ROOT, studies())
    text = "<!--t retention_vs_acquisition/main-->\nstale\n<!--/t-->"
    out = render(text, library)
    assert "stale" not in out and out.count("\n|") >= 13  # header, rule and 12 rows


def test_a_stale_table_whose_cells_hold_inline_code_is_named(tmp_path):
    """Table cells often name keys in `inline code`; such a table is checked like any other (it
    once escaped the check, which set inline code aside before looking for tables), while a
    marker shown as an example in inline code or a fenced block is left alone."""
    (tmp_path / "experiments" / "toy").mkdir(parents=True)
    pd.DataFrame({"key": ["x.npv"], "mean": [4.2e6], "low": [4.1e6], "high": [4.3e6], "n": [20]}).to_csv(
        tmp_path / "experiments" / "toy" / "findings.csv", index=False)
    table = "| key | NPV |\n|---|---|\n| `x.npv` | 4.20 M [4.10, 4.30] |"
    toy = Study("toy", "?", (Sweep(("experiment=toy",)),), extract=lambda s: pd.DataFrame(),
                tables=lambda f: {"main": table})
    page = tmp_path / "README.md"
    example = "Write `<!--t toy/main-->` on a line of its own; e.g.\n```\n<!--t toy/main-->\nold\n<!--/t-->\n```\n"
    page.write_text(example + f"<!--t toy/main-->\n{table}\n<!--/t-->\n", encoding="utf-8")
    assert check(tmp_path, {"toy": toy}) == []
    page.write_text(example + f"<!--t toy/main-->\n{table.replace('4.10', '4.05')}\n<!--/t-->\n", encoding="utf-8")
    problems = check(tmp_path, {"toy": toy})
    assert len(problems) == 1 and "4.05" in problems[0] and "4.10" in problems[0]
