"""marktsim-calibrate and marktsim.calibrate: bad data refused by name, estimates that agree with
the closed-form maximum likelihood where the model reduces to the sBG, a killed run that resumes
to the same answer, and a calibrated config that the command line and the optimiser accept."""

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

import marktsim
from marktsim.analysis.reductions import sbg_survival
from marktsim.calibration import fit as f
from marktsim.calibration.data import DataError, read_data
from marktsim.calibration.run import Search

BIN = Path(sys.executable).parent
COHORT = ["market=growing", "market.adopted_share=1", "market.n_competitors=0", "firm.budget=0", "firm.capacity=null",
          "market.acquisition_max=0", "customers.wom_positive=0", "customers.initial_tenure_mean=0",
          "customers.b2b_share=0"]
SBG = COHORT + ["customers.churn_dissatisfaction=0", "customers.bond_protection=0"]  # the sBG reduction
FAST = {"search": Search(trials=12, refine=25, bands=20)}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _cohort_csv(path: Path, survivors) -> Path:
    return _write(path, "period,survivors\n" + "".join(f"{t},{int(s)}\n" for t, s in enumerate(survivors)))


@pytest.mark.parametrize("text, fragment", [
    ("period,customers\n0,10\n1,5\n", "columns period, customers; allowed: period,survivors"),
    ("period\n0\n1\n", "columns period; allowed"),
    ("tick,profitt\n1,3\n", "column 'profitt' is not a timeseries column"),
    ("period,survivors\n0,100\n1,abc\n", "row 2, column survivors: 'abc' is not a number"),
    ("period,survivors\n0,100\n1,-3\n", "row 2, column survivors: '-3' is negative"),
    ("period,survivors\n0,100\n1,nan\n", "row 2, column survivors: 'nan' is not a finite number"),
    ("period,survivors\n0,100\n1,60\n2,70\n", "period 2, column survivors: 70 is more than at period 1"),
    ("period,survivors\n0,100\n1,120\n", "period 1, column survivors: 120 is above the cohort size 100"),
    ("period,survivors\n0,100\n1,60\n3,50\n", "column period: 1 is followed by 3; allowed: consecutive"),
    ("period,survivors\n1,100\n2,60\n", "column period: it starts at 1"),
    ("period,survivors\n0,100\n1,60.5\n", "row 2, column survivors: 60.5 is not a whole number"),
    ("period,survivors\n", "no rows"),
    ("", "not a readable CSV file"),
    ("tick,share\n2,0.1\n1,0.2\n", "row 2, column tick: 1 does not follow 2"),
])
def test_bad_data_names_the_file_row_or_column(tmp_path, text, fragment):
    path = _write(tmp_path / "data.csv", text)
    with pytest.raises(DataError) as err:
        read_data(path)
    assert str(path) in str(err.value) and fragment in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("args, fragment", [
    (["--holdout", "3"], "--holdout 3 leaves nothing to fit"),
    (["--holdout", "2"], "1 usable periods"),
    (["--fit", "firm.priority=0:1"], "firm.priority is not numeric"),
    (["--fit", "customers.churn_base=0:2"], "customers.churn_base = 2 is out of range"),
    (["--fit", "customers.max_wait=0:5"], "customers.max_wait is an integer key"),
    (["--fit", "customers.nonsense=0:1"], "unknown key customers.nonsense"),
    (["--period-ticks", "0"], "--period-ticks = 0"),
    (["--trials", "0"], "--trials = 0; allowed: an integer >= 1"),
    (["--seed", "-1"], "--seed = -1; allowed: an integer >= 0"),
    (["market.n_customers=-5"], "market.n_customers = -5"),
])
def test_bad_options_are_one_line_exit_2_and_nothing_written(tmp_path, args, fragment):
    data = _cohort_csv(tmp_path / "cohort.csv", [100, 60, 40, 30])
    out = tmp_path / "out"
    proc = subprocess.run([str(BIN / "marktsim-calibrate"), "--data", str(data), "--out", str(out), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and fragment in proc.stderr, proc.stderr
    assert not out.exists()


def test_a_missing_data_file_and_an_out_that_is_a_file(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([str(BIN / "marktsim-calibrate"), "--data", str(tmp_path / "none.csv"), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "none.csv: no such file" in proc.stderr and not out.exists()
    data = _cohort_csv(tmp_path / "cohort.csv", [100, 60, 40, 30])
    blocker = _write(tmp_path / "taken", "mine\n")
    proc = subprocess.run([str(BIN / "marktsim-calibrate"), "--data", str(data), "--out", str(blocker)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "is a file" in proc.stderr and blocker.read_text() == "mine\n"


def _sbg_fisher_se(survivors: np.ndarray, used: int, a: float, b: float) -> np.ndarray:
    """Standard errors of (log α, log β) of the sBG maximum likelihood from the observed
    information (numerical Hessian of the closed-form log-likelihood)."""
    from scipy.special import betaln

    s = survivors[: used + 1].astype(float)
    leavers = s[:-1] - s[1:]
    t = np.arange(1, used + 1)

    def nll(x):
        a_, b_ = np.exp(x)
        p = np.exp(betaln(a_ + 1, b_ + t - 1) - betaln(a_, b_))
        return -(leavers * np.log(p)).sum() - s[-1] * (betaln(a_, b_ + used) - betaln(a_, b_))

    x0, h = np.log([a, b]), 1e-3
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hess[i, j] = (nll(x0 + ei + ej) - nll(x0 + ei - ej) - nll(x0 - ei + ej) + nll(x0 - ei - ej)) / (4 * h * h)
    return np.sqrt(np.diag(np.linalg.inv(hess)))


def test_in_the_sbg_reduction_the_estimate_is_the_closed_form_maximum_likelihood(tmp_path):
    """Fader & Hardie's regular cohort, years 1–7, in the reduction where marktsim is the sBG:
    the simulated-likelihood estimate lies within 2 standard errors (observed information of
    the closed-form likelihood) of the closed-form MLE (α = 0.704, β = 1.182 in the paper),
    and the reported interval is about as wide as the closed form's (within a factor 1.5)."""
    data = Path(__file__).resolve().parents[1] / "data" / "fader_hardie_2007_regular.csv"
    result = marktsim.calibrate(data, out=tmp_path / "out", holdout=5, overrides=SBG + ["market.n_customers=20000"],
                                **FAST)
    survivors = read_data(data).survivors
    a, b = f.sbg_fit(survivors, 7)
    assert a == pytest.approx(0.704, abs=0.001) and b == pytest.approx(1.182, abs=0.001)  # the paper's numbers
    se = _sbg_fisher_se(survivors, 7, a, b)
    est = result.estimate
    z = (np.log([est["customers.propensity_alpha"], est["customers.propensity_beta"]]) - np.log([a, b])) / se
    assert np.all(np.abs(z) < 2), z
    p = result.parameters.set_index("key")
    for key, mle, s in (("customers.propensity_alpha", a, se[0]), ("customers.propensity_beta", b, se[1])):
        width = np.log(p.loc[key, "high"]) - np.log(p.loc[key, "low"])
        assert 2 * 1.96 * s / 1.5 < width < 2 * 1.96 * s * 1.5, (key, width, s)
    fit = result.fit
    assert list(fit.columns) == ["period", "observed", "fitted", "low", "high", "used_for_fit"]
    assert fit.used_for_fit.tolist() == [True] * 8 + [False] * 5
    assert {"forecast_mape", "sbg_forecast_mape"} <= set(result.summary)
    for name in ("calibrated.yaml", "fit.csv", "parameters.csv", "fit.png", "report.md", "COMPLETE"):
        assert (tmp_path / "out" / name).is_file(), name
    report = (tmp_path / "out" / "report.md").read_text()
    assert "# Calibration (English)" in report and "# Kalibrierung (Deutsch)" in report


def test_the_calibrated_config_runs_with_marktsim_and_the_optimiser(tmp_path):
    rng = np.random.default_rng(3)
    truth = sbg_survival(1.5, 3.0, 5)
    survivors = [2000]
    for t in range(1, 6):
        survivors.append(rng.binomial(survivors[-1], truth[t] / truth[t - 1]))
    data = _cohort_csv(tmp_path / "cohort.csv", survivors)
    out = tmp_path / "out"
    result = marktsim.calibrate(data, out=out, overrides=COHORT + ["market.n_customers=4000"], **FAST)
    cfg = marktsim.load_config(["experiment=calibrated"], config_dir=out)
    for key, value in result.estimate.items():
        section, name = key.split(".")
        assert cfg[section][name] == pytest.approx(value)
    assert cfg.market.n_competitors == 0 and cfg.customers.propensity == "beta"
    proc = subprocess.run([str(BIN / "marktsim"), "--config-dir", str(out), "experiment=calibrated", "horizon=3",
                           "market.n_customers=300", f"results_dir={tmp_path / 'results'}"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([str(BIN / "marktsim-optimize"), "--config-dir", str(out), "experiment=calibrated",
                           "--study", str(tmp_path / "study"), "horizon=6", "market.n_customers=300", "--trials", "2",
                           "--replicates", "2", "--validate", "2", "--landscape", "0", "--budget", "0:1000",
                           "--rho", "0:1", "--progress", "off"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_a_killed_calibration_resumes_to_the_uninterrupted_answer_and_a_finished_one_does_no_work(tmp_path):
    data = _cohort_csv(tmp_path / "cohort.csv", [3000, 2100, 1650, 1400, 1230, 1100])
    common = ["--data", str(data), "--trials", "10", "--refine", "15", "--bands", "10", "--progress", "off",
              *COHORT, "market.n_customers=3000"]
    whole = tmp_path / "whole"
    subprocess.run([str(BIN / "marktsim-calibrate"), "--out", str(whole), *common], check=True, timeout=600,
                   capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([str(BIN / "marktsim-calibrate"), "--out", str(killed), *common],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = killed / "evaluations.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not log.is_file() or len(log.read_text().splitlines()) < 6):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "COMPLETE").exists()  # the precondition: it was killed midway
    subprocess.run([str(BIN / "marktsim-calibrate"), "--out", str(killed), *common], check=True, timeout=600,
                   capture_output=True)
    for name in ("parameters.csv", "fit.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(whole / name), pd.read_csv(killed / name))
    before = (whole / "evaluations.jsonl").read_text()
    stamp = (whole / "COMPLETE").stat().st_mtime_ns
    proc = subprocess.run([str(BIN / "marktsim-calibrate"), "--out", str(whole), *common], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0
    assert (whole / "evaluations.jsonl").read_text() == before and (whole / "COMPLETE").stat().st_mtime_ns == stamp
    other = subprocess.run([str(BIN / "marktsim-calibrate"), "--out", str(whole), *common, "--holdout", "1"],
                           capture_output=True, text=True, timeout=300)
    assert other.returncode == 2 and "other settings (holdout differ)" in other.stderr
    assert json.loads((whole / "calibration.json").read_text())["holdout"] == 0


def test_a_time_series_of_adoption_recovers_the_diffusion_coefficients(tmp_path):
    """A monopolist's growing market (global mixing, no churn): adopters follow Bass with
    p = P (acquisition pressure) and q = q_wom; the series simulated at known values is fitted
    back within its intervals' reach (truth inside a 3-fold widened 95 % interval)."""
    from marktsim.analysis.reductions import bass_config

    p, q, n = 0.01, 0.08, 20_000
    truth = marktsim.simulate(bass_config(n, p, q, 36)).timeseries
    data = _write(tmp_path / "adoption.csv", "tick,share\n" + "".join(
        f"{r.tick},{r.share}\n" for r in truth.itertuples() if r.tick % 3 == 0))
    overrides = ["market=growing", "market.n_competitors=0", "market.adopted_share=0", "market.network=global",
                 "customers.propensity=none", "customers.churn_base=0", "customers.churn_dissatisfaction=0",
                 "customers.alpha_new=0",
                 "customers.alpha_est=0", "customers.satisfaction_init=1", "customers.wom_negative=0",
                 "strategy.retention_share=0", "firm.capacity=null", f"market.n_customers={n}", "firm.budget=2000",
                 "market.acquisition_scale=2.0", "market.adoption_response=1.0"]  # as bass_config
    budget_pressure = 0.05 * -np.expm1(-2000 / (2.0 * n))  # P at a_max = 0.05
    result = marktsim.calibrate(data, out=tmp_path / "out", overrides=overrides,
                                fit=["market.acquisition_max=0.005:0.5", "customers.wom_positive=0:0.3"],
                                search=Search(trials=12, refine=25, bands=20, seed=1))
    est = result.parameters.set_index("key")
    a_true = p / (budget_pressure / 0.05)  # the a_max that gives pressure p at this budget
    for key, value in (("market.acquisition_max", a_true), ("customers.wom_positive", q)):
        lo, hi, mid = est.loc[key, "low"], est.loc[key, "high"], est.loc[key, "estimate"]
        assert mid - 3 * (mid - lo) < value < mid + 3 * (hi - mid), (key, value, lo, mid, hi)
