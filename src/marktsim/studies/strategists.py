"""The worked example of docs/strategists.md: calibrate a firm's market to its cohort data,
then optimise its budget and split on the calibrated market (docs/strategists.md, "Example
result"). The cohort is the "regular" cohort of Fader & Hardie (2007), standing in for a
firm's own data; the firm is docs/examples/experiment/myfirm.yaml."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from marktsim.studies.core import Collector, Findings, Study, StudyError, Sweep, markdown

NAME = "strategists"
CALIBRATE = ["--data", "data/fader_hardie_2007_regular.csv", "--holdout", "0", "--replicates", "4",
             "--fit", "customers.propensity_alpha=0.05:20", "--fit", "customers.propensity_beta=0.05:50",
             "--fit", "market.acquisition_max=0.001:0.2", "--progress", "off",
             "--config-dir", "docs/examples", "experiment=myfirm", "customers.initial_tenure_mean=0"]
OPTIMIZE = ["experiment=calibrated", "customers.initial_tenure_mean=36", "--churn-max", "0.25", "--jobs", "2",
            "--progress", "off"]


def _run(program: str, args: list[str], repo: Path) -> None:
    env = {**os.environ, "MARKTSIM_ENGINE": os.environ.get("MARKTSIM_ENGINE", "compiled")}
    code = f"from marktsim.{program} import main; main()"
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=repo, env=env)
    if done.returncode != 0:
        raise StudyError(f"{NAME}: {program} {' '.join(args)} failed (exit {done.returncode}); rerun to resume")


def compute(results: Path, out: Path) -> pd.DataFrame:
    repo = out.parents[1]
    calibration = results / "calibration"
    _run("calibration.cli", [*CALIBRATE, "--out", str(calibration)], repo)
    optimum = results / "optimize"
    _run("optimize.cli", ["--config-dir", str(calibration), *OPTIMIZE, "--study", str(optimum)], repo)
    found = Collector()
    params = pd.read_csv(calibration / "parameters.csv")
    for row in params.itertuples():
        found.add(f"calibration.{row.key}", row.estimate, row.low, row.high, 1)
    fit = pd.read_csv(calibration / "fit.csv")
    for row in fit.itertuples():
        found.add(f"fit.{row.period}", row.fitted, row.low, row.high, 1)
        found.add(f"observed.{row.period}", row.observed)
    best = json.loads((optimum / "best.json").read_text())
    for key, value in best["values"].items():
        if isinstance(value, (int, float)):
            found.add(f"best.{key}", float(value))
    comparison = pd.read_csv(optimum / "comparison.csv")
    for row in comparison.itertuples():
        key = row.setting.replace(" ", "_").replace("(", "").replace(")", "")
        found.add(f"{key}.npv", row.npv, row.npv_ci_low, row.npv_ci_high, row.replicates)
        found.add(f"{key}.churn_annual", row.churn_annual, row.churn_ci_low, row.churn_ci_high, row.replicates)
        if row.setting != "optimum":
            found.add(f"{key}.gap", row.optimum_minus_this, row.diff_ci_low, row.diff_ci_high, row.replicates)
    for name in ("landscape.png",):
        if (optimum / name).is_file():
            shutil.copyfile(optimum / name, out / name)
    shutil.copyfile(calibration / "fit.png", out / "calibration_fit.png") if (calibration / "fit.png").is_file() else None
    return found.frame()


def tables(f: Findings) -> dict[str, str]:
    settings = sorted({k.rsplit(".", 1)[0] for k in f.keys() if k.endswith(".npv")},
                      key=lambda s: (s != "optimum", s))
    rows = []
    for s in settings:
        rows.append({"setting": s.replace("_", " ").replace("scenario budget", "(scenario budget)")
                     .replace("best budget", "(best budget)"),
                     "NPV (95 % CI)": f.show(f"{s}.npv", "m_ci"),
                     "annual churn": f.show(f"{s}.churn_annual", "pct_ci"),
                     "optimum − this (paired)": f.show(f"{s}.gap", "m_ci") if f"{s}.gap" in f else "",
                     "churn ≤ 25 %": "yes" if f[f"{s}.churn_annual"].mean <= 0.25 else "no"})
    periods = sorted(int(k.split(".")[1]) for k in f.keys() if k.startswith("fit."))
    fit = [{"year": p, "observed": f.show(f"observed.{p}", "int"), "fitted [95 % band]": f.show(f"fit.{p}", "int_ci")}
           for p in periods]
    return {"comparison": markdown(rows), "fit": markdown(fit)}


STUDY = Study(
    name=NAME,
    question="A strategist's worked example: calibrate to your cohort, then optimise the budget on the "
             "calibrated market.",
    sweeps=(Sweep(("marktsim-calibrate", *CALIBRATE, "--out", "<results>/strategists/calibration")),
            Sweep(("marktsim-optimize --config-dir <results>/strategists/calibration", *OPTIMIZE,
                   "--study", "<results>/strategists/optimize"))),
    extract=lambda sweeps: pd.DataFrame(),
    compute=compute,
    tables=tables,
)
