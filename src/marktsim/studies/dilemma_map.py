"""Where does the dilemma break? The 2 × 2 game of retention-heavy (ρ = 0.8) against
acquisition-heavy (ρ = 0.2), every firm with the same finite capacity, at three values of each
parameter that drives it (docs/studies.md; experiments/dilemma_map/README.md).

With R = u(0.8, 0.8), T = u(0.2, 0.8), P = u(0.2, 0.2), S = u(0.8, 0.2) the focal firm's NPV
(u(own ρ, rivals' ρ)), the setting is a prisoner's dilemma when T > R > P > S: acquisition is
the better reply to either rival strategy, yet everyone retention-heavy (R) beats everyone
acquisition-heavy (P). Other orders: retention dominant (R > T and S > P), acquisition
dominant without a dilemma (P ≥ R), and the rest ("mixed"). The share of 1 000 bootstrap
resamples of the replicates with T > R > P > S says how sure the classification is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marktsim.studies.core import Collector, Findings, Study, Sweep, markdown, runs_table, save_figure

NAME = "dilemma_map"
# (key, label, values): the parameters that drive the dilemma, each at three or four values
PARAMETERS = (
    ("market.acquisition_max", "acquisition response a_max", ("0.025", "0.05", "0.1")),
    ("customers.retention_scale", "retention response r_scale (higher: weaker)", ("2.5", "5.0", "10.0")),
    ("firm.onboarding_cost", "onboarding cost c_on", ("25.0", "50.0", "100.0")),
    ("customers.loyalty_growth_max", "loyalty revenue growth g_max", ("0.0", "0.3", "0.6")),
    ("market.n_competitors", "number of rivals K", ("1", "3", "6")),
    ("customers.churn_contagion", "churn contagion c", ("0.0", "4.0", "8.0")),
    ("customers.switching_cost", "switching cost", ("0.0", "0.15", "0.3")),
    ("customers.wom_protection", "protective word of mouth", ("0.0", "0.3", "0.6")),
    ("market", "market", ("saturated", "commoditised", "b2b", "growing")),
)
CELLS = {"R": ("0.8", "0.8"), "T": ("0.2", "0.8"), "P": ("0.2", "0.2"), "S": ("0.8", "0.2")}
RESAMPLES = 1000


def classify(c: dict[str, float]) -> str:
    if c["T"] > c["R"] > c["P"] > c["S"]:
        return "dilemma"
    if c["R"] > c["T"] and c["S"] > c["P"]:
        return "retention dominant"
    if c["P"] >= c["R"] and c["T"] > c["R"]:
        return "acquisition dominant"
    return "mixed"


CLASSES = ("dilemma", "retention dominant", "acquisition dominant", "mixed")


def extract(sweeps: list) -> pd.DataFrame:
    found = Collector()
    rng = np.random.default_rng(0)
    for (key, _, values), sweep in zip(PARAMETERS, sweeps):
        table = runs_table(sweep)
        for value in values:
            at = table[table[key].astype(str) == value]
            cells = {}
            for name, (own, rivals) in CELLS.items():
                cell = at[(at["strategy.retention_share"] == own) & (at["competitors.retention_share"] == rivals)]
                cells[name] = cell.sort_values("replicate").npv.to_numpy()
                found.runs(f"{key}={value}.{name}", cells[name])
            reps = len(cells["R"])
            picks = rng.integers(0, reps, size=(RESAMPLES, reps))
            boot = {k: v[picks].mean(axis=1) for k, v in cells.items()}
            share = float(np.mean([classify({k: boot[k][i] for k in boot}) == "dilemma" for i in range(RESAMPLES)]))
            found.add(f"{key}={value}.dilemma_share", share, n=RESAMPLES)
            means = {k: float(v.mean()) for k, v in cells.items()}
            found.add(f"{key}={value}.class", CLASSES.index(classify(means)), n=reps)
            for name, (a, b) in (("gain", ("R", "P")), ("temptation", ("T", "R"))):
                diff = cells[a] - cells[b]  # paired by replicate: the same random numbers
                found.runs(f"{key}={value}.{name}", diff)
    return found.frame()


def tables(f: Findings) -> dict[str, str]:
    rows = []
    for key, label, values in PARAMETERS:
        for value in values:
            k = f"{key}={value}"
            rows.append({"parameter": label, "value": value,
                         "R (all retention)": f.show(f"{k}.R", "m"), "T (defect)": f.show(f"{k}.T", "m"),
                         "P (all acquisition)": f.show(f"{k}.P", "m"), "S (sucker)": f.show(f"{k}.S", "m"),
                         "R − P": f.show(f"{k}.gain", "m_ci"), "T − R": f.show(f"{k}.temptation", "m_ci"),
                         "order": CLASSES[int(f[f"{k}.class"].mean)],
                         "T>R>P>S in resamples": f.show(f"{k}.dilemma_share", "pct0")})
    return {"map": markdown(rows)}


def figures(sweeps: list, out: Path) -> list[str]:
    """dilemma_map.png: R − P (what all gain by retention) and T − R (the temptation to defect)
    for each parameter value, with 95 % intervals; the dilemma is where both are positive."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = extract(sweeps)
    f = Findings(NAME, frame)
    labels, gain, temptation = [], [], []
    for key, label, values in PARAMETERS:
        for value in values:
            labels.append(f"{label} = {value}")
            gain.append(f[f"{key}={value}.gain"])
            temptation.append(f[f"{key}={value}.temptation"])
    y = np.arange(len(labels))[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(labels) + 1.2))
    for vals, offset, name in ((gain, 0.15, "R − P: all retention-heavy vs all acquisition-heavy"),
                               (temptation, -0.15, "T − R: temptation to defect to acquisition")):
        m = np.array([v.mean for v in vals]) / 1e6
        err = np.array([[v.mean - v.low, v.high - v.mean] for v in vals]).T / 1e6
        ax.errorbar(m, y + offset, xerr=err, fmt="o", ms=3, capsize=2, label=name)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("focal NPV difference (M)")
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, out, "dilemma_map.png")


STUDY = Study(
    name=NAME,
    question="Over which parameter values is retention against acquisition a prisoner's dilemma, and where does "
             "it break?",
    sweeps=tuple(Sweep((f"experiment={NAME}", f"{key}={','.join(values)}")) for key, _, values in PARAMETERS),
    extract=extract,
    tables=tables,
    figures=figures,
)
