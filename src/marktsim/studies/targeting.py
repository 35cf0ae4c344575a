"""Study 5 (seed 003): ABC targeting with CRM against uniform and value-weighted retention, in
the default market and in a B2B market (60 % businesses) (experiments/targeting/README.md)."""

from __future__ import annotations

import pandas as pd

from marktsim.studies.core import Collector, Findings, Study, Sweep, markdown, paired_ratio, runs_table

NAME = "targeting"
MARKETS = {"default": (f"experiment={NAME}",), "b2b": (f"experiment={NAME}", "market=b2b")}
TARGETING = ("uniform", "abc", "value_weighted")
CRM = ("true", "false")


def extract(sweeps: list) -> pd.DataFrame:
    found = Collector()
    for market, sweep in zip(MARKETS, sweeps):
        table = runs_table(sweep)
        npv = {}
        for crm in CRM:
            for t in TARGETING:
                cell = table[(table["firm.targeting"] == t) & (table["firm.crm"] == crm)].sort_values("replicate")
                for metric in ("npv", "churn_annual", "final_share"):
                    found.runs(f"{market}.{crm}.{t}.{metric}", cell[metric])
                npv[crm, t] = cell.npv.to_numpy()
        for t in ("abc", "value_weighted"):
            found.add(f"{market}.{t}_vs_uniform", *paired_ratio(npv["true", t], npv["true", "uniform"]),
                      n=len(npv["true", t]))
        found.add(f"{market}.crm_effect_abc", *paired_ratio(npv["true", "abc"], npv["false", "abc"]),
                  n=len(npv["true", "abc"]))
    return found.frame()


def tables(f: Findings) -> dict[str, str]:
    rows = []
    for market in MARKETS:
        for crm in CRM:
            for t in TARGETING:
                k = f"{market}.{crm}.{t}"
                rows.append({"market": "B2B (60 % businesses)" if market == "b2b" else "default", "CRM":
                             "on" if crm == "true" else "off", "targeting": t,
                             "NPV": f.show(f"{k}.npv", "m_ci"), "annual churn": f.show(f"{k}.churn_annual", "pct_ci"),
                             "final share": f.show(f"{k}.final_share", "f3")})
    contrasts = [{"market": m, "ABC vs uniform (CRM on)": f.show(f"{m}.abc_vs_uniform", "spct0_ci"),
                  "value-weighted vs uniform": f.show(f"{m}.value_weighted_vs_uniform", "spct0_ci"),
                  "CRM on vs off (ABC)": f.show(f"{m}.crm_effect_abc", "spct0_ci")} for m in MARKETS]
    return {"main": markdown(rows), "contrasts": markdown(contrasts)}


STUDY = Study(
    name=NAME,
    question="Does ABC targeting with CRM beat uniform retention when customer value is Pareto-like (seed 003)?",
    sweeps=tuple(Sweep(v) for v in MARKETS.values()),
    extract=extract,
    tables=tables,
    report_figures=("npv.png", "segment_churn.png"),
)
