"""Study 6 (seed 003): how the strength of word of mouth changes retention-heavy against
acquisition-heavy (experiments/word_of_mouth/README.md)."""

from __future__ import annotations

import pandas as pd

from marktsim.studies.core import Collector, Findings, Study, Sweep, markdown, paired_ratio, runs_table

NAME = "word_of_mouth"
Q = ("0.0", "0.02", "0.043", "0.08")
STRATEGIES = ("retention_heavy", "acquisition_heavy")


def extract(sweeps: list) -> pd.DataFrame:
    found = Collector()
    table = runs_table(sweeps[0])
    for q in Q:
        npv = {}
        for s in STRATEGIES:
            cell = table[(table["customers.wom_positive"] == q) & (table.strategy == s)].sort_values("replicate")
            for metric in ("npv", "churn_annual", "cac", "won_by_wom", "won"):
                found.runs(f"{q}.{s}.{metric}", cell[metric])
            npv[s] = cell.npv.to_numpy()
        found.runs(f"{q}.gap", npv["acquisition_heavy"] - npv["retention_heavy"])
        found.add(f"{q}.acquisition_advantage", *paired_ratio(npv["acquisition_heavy"], npv["retention_heavy"]),
                  n=len(npv["retention_heavy"]))
    return found.frame()


def tables(f: Findings) -> dict[str, str]:
    rows = []
    for q in Q:
        for s in STRATEGIES:
            k = f"{q}.{s}"
            rows.append({"q_wom": q, "strategy": s.replace("_", "-"), "NPV": f.show(f"{k}.npv", "m_ci"),
                         "annual churn": f.show(f"{k}.churn_annual", "pct"), "CAC": f.show(f"{k}.cac", "int"),
                         "won by word of mouth": f"{f[f'{k}.won_by_wom'].mean / f[f'{k}.won'].mean:.0%}"
                         .replace("%", " %"),
                         "gap acquisition − retention": f.show(f"{q}.gap", "m_ci") if s == "acquisition_heavy" else ""})
    return {"main": markdown(rows)}


STUDY = Study(
    name=NAME,
    question="Does stronger word of mouth favour retention-heavy over acquisition-heavy (seed 003)?",
    sweeps=(Sweep((f"experiment={NAME}",)),),
    extract=extract,
    tables=tables,
    report_figures=("npv.png",),
)
