"""marktsim-optimize: the known optimum of a reduction, the churn ceiling, resuming a killed
study, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marktsim.analysis.reductions import split_config, split_npv, split_overrides

BIN = Path(sys.executable).parent


def optimize(*args, check=True, timeout=600):
    proc = subprocess.run([str(BIN / "marktsim-optimize"), *args, "--progress", "off"], capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"marktsim-optimize failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_split_recursion_matches_the_simulation():
    """The recursion behind the known optimum is the model's expectation: the simulated mean NPV
    of 20 replicates lies within 3 standard errors of it, at three splits."""
    from marktsim.simulation import simulate

    for rho in (0.0, 0.4, 0.8):
        cfg = split_config(2000, 60, 10_000, rho=rho)
        npv = simulate(cfg, 20).summary.query("firm == 'focal'").npv
        se = npv.std(ddof=1) / np.sqrt(len(npv))
        assert abs(npv.mean() - split_npv(cfg, rho)) < 3 * se


def test_optimiser_finds_the_known_best_split(tmp_path):
    """Budget fixed, ρ searched on the reduction whose expected NPV is `split_npv`.

    The optimiser picks the trial with the highest mean over R replicates; its true value can
    fall short of the best true value by at most the spread of the trials' errors, which for
    20 trials stays below 5.6 standard errors in 99 % of cases (range of 20 normal errors), so
    the chosen ρ must lie where the recursion's NPV is within 5.6 SE of its maximum."""
    n, horizon, budget = 5000, 60, 25_000.0
    overrides = split_overrides(n, horizon, budget)
    optimize("--study", str(tmp_path / "s"), *overrides, "--budget", str(budget), "--trials", "20",
             "--replicates", "4", "--validate", "4", "--landscape", "0")
    trials = pd.read_csv(tmp_path / "s" / "trials.csv")
    best = json.loads((tmp_path / "s" / "best.json").read_text())
    rho_hat = best["values"]["strategy.retention_share"]
    se = float(trials.loc[trials.npv.idxmax(), "npv_se"])
    cfg = split_config(n, horizon, budget)
    grid = np.linspace(0, 1, 201)
    curve = np.array([split_npv(cfg, r) for r in grid])
    good = grid[curve >= curve.max() - 5.6 * se]
    assert good.min() <= rho_hat <= good.max(), (rho_hat, grid[curve.argmax()], good.min(), good.max())
    assert 0.0 < good.min() and good.max() < 1.0  # the test can fail: the corners are clearly worse


def test_churn_ceiling_report_and_comparison(tmp_path):
    folder = tmp_path / "ceiling"
    optimize("--study", str(folder), "market.n_customers=600", "horizon=24", "--trials", "8", "--replicates", "2",
             "--validate", "3", "--landscape", "3", "--churn-max", "0.3", "--tune", "targeting,priority")
    trials = pd.read_csv(folder / "trials.csv")
    best = json.loads((folder / "best.json").read_text())
    chosen = trials[trials.feasible].npv.idxmax()
    assert trials.loc[chosen, "churn_annual"] <= 0.3
    assert best["values"]["firm.targeting"] == trials.loc[chosen, "firm.targeting"]
    comparison = pd.read_csv(folder / "comparison.csv")
    assert comparison.setting.iloc[0] == "optimum" and len(comparison) >= 6
    assert (comparison.replicates == 3).all()
    assert (folder / "landscape.png").stat().st_size > 0 and (folder / "report.md").is_file()
    assert len(pd.read_csv(folder / "landscape.csv")) == 9
    # the answer: the option recommended is within the ceiling on the fresh runs and the best such;
    # 8 trials for 4 searched parameters is too few, and the command says so
    feasible = comparison[comparison.churn_annual <= 0.3]
    assert best["recommended"] == feasible.loc[feasible.npv.idxmax(), "setting"]
    assert best["answer"].startswith("Spend about ") and "% of it on retention" in best["answer"]
    assert any("Only 8 trials for 4 searched parameter(s)" in w for w in best["warnings"])
    text = (folder / "report.md").read_text()
    assert "## Recommendation" in text and best["answer"] in text


def _complete(db: Path) -> list[tuple[int, dict, float]]:
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="marktsim", storage=f"sqlite:///{db}")
    return [(t.number, t.params, t.value) for t in study.get_trials(states=(TrialState.COMPLETE,))]


def _finished(db: Path) -> int:
    """Completed trials, read through a read-only connection (the watched process keeps writing)."""
    import sqlite3

    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.Error:  # the schema is still being created
        return 0


def test_killed_optimisation_resumes_from_its_study(tmp_path):
    args = ["market.n_customers=500", "horizon=24", "--trials", "10", "--replicates", "2", "--validate", "2",
            "--landscape", "0"]
    optimize("--study", str(tmp_path / "whole"), *args)
    whole = _complete(tmp_path / "whole" / "study.db")

    folder = tmp_path / "killed"
    log = tmp_path / "killed.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([str(BIN / "marktsim-optimize"), "--study", str(folder), *args, "--progress", "off"],
                                stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if _finished(folder / "study.db") >= 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the study ended before it could be killed:\n{log.read_text()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _complete(folder / "study.db")
    assert 4 <= len(before) < 10

    optimize("--study", str(folder), *args)
    after = _complete(folder / "study.db")
    assert len(after) == 10
    assert after[:len(before)] == before  # nothing finished before the kill was lost or rerun
    # proposals are seeded by the number of completed trials: the resumed study equals the whole one
    assert [(p, v) for _, p, v in after] == [(p, v) for _, p, v in whole]
    assert json.loads((folder / "best.json").read_text())["values"] == \
        json.loads((tmp_path / "whole" / "best.json").read_text())["values"]


@pytest.mark.parametrize("args, message", [
    (["--churn-max", "2"], "--churn-max = 2; allowed: a share in (0, 1]"),
    (["--rho", "0.2:1.5"], "--rho = '0.2:1.5': 1.5 is out of range"),
    (["--tune", "price"], "'price' is not tunable"),
    (["--budget", "100:200", "--budget-share", "0.1:0.2"], "not both"),
    (["firm.margin=2"], "firm.margin = 2"),
    (["--tune", "campaign"], "--tune campaign with strategy.campaign_length"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, args, message):
    folder = tmp_path / "study"
    proc = optimize("--study", str(folder), *args, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not folder.exists()


def test_a_study_is_never_mixed(tmp_path):
    folder = tmp_path / "study"
    args = ["market.n_customers=300", "horizon=12", "--trials", "2", "--replicates", "2", "--validate", "2",
            "--landscape", "0"]
    optimize("--study", str(folder), *args)
    files = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    proc = optimize("--study", str(folder), "firm.margin=0.4", *args, check=False)
    assert proc.returncode == 2 and "other settings" in proc.stderr
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == files
    # more trials extend the same study
    more = list(args)
    more[more.index("--trials") + 1] = "3"
    optimize("--study", str(folder), *more)
    assert len(pd.read_csv(folder / "trials.csv")) == 3


def test_study_folder_refusals_leave_everything_as_it_was(tmp_path):
    """--study naming a file, a folder of other files, or a study another process holds: one
    line, exit 2, and nothing written or changed."""
    import fcntl

    args = ["market.n_customers=300", "horizon=12", "--trials", "2", "--replicates", "2", "--validate", "2",
            "--landscape", "0"]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    proc = optimize("--study", str(a_file), *args, check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "is a file" in proc.stderr and a_file.read_text() == "mine"

    other = tmp_path / "other"
    other.mkdir()
    (other / "data.csv").write_text("x\n1\n")
    proc = optimize("--study", str(other), *args, check=False)
    assert proc.returncode == 2 and "holds other files" in proc.stderr
    assert [p.name for p in other.iterdir()] == ["data.csv"]

    study = tmp_path / "study"
    optimize("--study", str(study), *args)
    files = {p.name: p.stat().st_mtime_ns for p in study.iterdir()}
    with open(study / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running marktsim-optimize holds it
        proc = optimize("--study", str(study), *args, check=False)
    assert proc.returncode == 2 and "in use by another marktsim-optimize process" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert {p.name: p.stat().st_mtime_ns for p in study.iterdir() if p.name != ".lock"} == \
        {k: v for k, v in files.items() if k != ".lock"}


def _options(npv: dict[str, list[float]], churn: dict[str, float]):
    """A comparison table and the fresh runs behind it, from per-replicate NPVs."""
    from marktsim.analysis.stats import mean_ci

    runs, rows = {}, []
    for label, values in npv.items():
        runs[label] = pd.DataFrame({"replicate": range(len(values)), "npv": values})
        mean, low, high, _ = mean_ci(values)
        rows.append({"setting": label, "npv": mean, "npv_ci_low": low, "npv_ci_high": high,
                     "churn_annual": churn[label], "churn_ci_low": churn[label] - 0.01,
                     "churn_ci_high": churn[label] + 0.01, "spend_month": 2345.6, "rho": 0.4})
    return pd.DataFrame(rows), runs


def test_the_answer_recommends_the_best_validated_option_with_its_warnings():
    from marktsim.optimize.answer import answer, rounded

    ranges = {"firm.budget_share": (0.02, 0.2), "strategy.retention_share": (0.0, 1.0)}
    best = {"firm.budget_share": 0.08, "strategy.retention_share": 0.4}
    # the optimum ahead of balanced in every pair: "more than", no warning (20 trials for 2 parameters)
    base = [100_000.0, 120_000.0, 90_000.0, 110_000.0]
    table, runs = _options({"optimum": [v + 5_000 + i for i, v in enumerate(base)], "balanced (scenario budget)": base},
                           {"optimum": 0.2, "balanced (scenario budget)": 0.25})
    told = answer(table, runs, None, ranges, best, 20)
    assert told.choice == "optimum" and told.warnings == []
    assert told.sentence.startswith("Spend about 2,300 a month, 40 % of it on retention: NPV ")
    assert "more than balanced (scenario budget)" in told.sentence
    # the same in German: German marks, and the runner-up named
    de = answer(table, runs, None, ranges, best, 20, "de")
    assert de.sentence.startswith("Geben Sie etwa 2.300 im Monat aus, davon 40 % für Kundenbindung")
    # a churn ceiling the optimum breaks on the fresh runs: the stock strategy is recommended, and said so
    strict = table.assign(churn_annual=[0.3, 0.2])
    told = answer(strict, runs, 0.22, ranges, best, 20)
    assert told.choice == "balanced (scenario budget)" and "(the stock strategy balanced (scenario budget))" in \
        told.sentence and any("did not do better than the stock strategy" in w for w in told.warnings)
    # nothing within the ceiling: the best all the same, with the warning
    told = answer(table, runs, 0.1, ranges, best, 20)
    assert told.choice == "optimum" and any("No option keeps mean annual churn at or below 10 %" in w
                                            for w in told.warnings)
    # a tie in the pairs: "not distinguishable", and a best value at the edge of its range, and too few trials
    noisy = [v + (20_000 if i % 2 else -19_000) for i, v in enumerate(base)]
    table, runs = _options({"optimum": noisy, "balanced (scenario budget)": base},
                           {"optimum": 0.2, "balanced (scenario budget)": 0.25})
    told = answer(table, runs, None, ranges, {**best, "strategy.retention_share": 0.99}, 12)
    assert "not distinguishable from balanced (scenario budget)" in told.sentence
    assert any("strategy.retention_share = 0.99 lies at the edge" in w for w in told.warnings)
    assert any("Only 12 trials for 2 searched parameter(s)" in w for w in told.warnings)
    # rounding to what the interval supports: ± 3 400 gives thousands, ± 0.012 hundredths
    assert rounded(1_234_567.0, 1_231_167.0, 1_237_967.0) == ("1,235,000", "1,231,000", "1,238,000")
    assert rounded(0.1934, 0.1814, 0.2054) == ("0.19", "0.18", "0.21")
    assert rounded(1_234_567.0, 1_231_167.0, 1_237_967.0, "de") == ("1.235.000", "1.231.000", "1.238.000")
