"""Study (seed 004): does money moved from short-term incentives to retention raise the return
on marketing, and where not? Acquisition keeps 30 % of the budget; the other 70 % is split
between incentives (ι) and retention (0.7 − ι), in saturated and growing markets with 0, 30 and
60 % deal-prone customers (experiments/incentives/README.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from marktsim.studies.core import Collector, Findings, Study, Sweep, markdown, paired_ratio, runs_table

NAME = "incentives"
IOTAS = ("0.0", "0.1", "0.2", "0.3", "0.4")
MARKETS = ("saturated", "growing")
DEAL = ("0.0", "0.3", "0.6")
METRICS = ("npv", "churn_annual", "churn_incentive", "churn_other", "clv_incentive", "clv_other", "won_incentive",
           "won")


def extract(sweeps: list) -> pd.DataFrame:
    found = Collector()
    npv = {}
    for iota, sweep in zip(IOTAS, sweeps):
        table = runs_table(sweep)
        for market in MARKETS:
            for deal in DEAL:
                cell = table[(table.market == market) & (table["customers.deal_prone_share"] == deal)]
                cell = cell.sort_values("replicate")
                for metric in METRICS:
                    found.runs(f"{market}.{deal}.{iota}.{metric}", cell[metric])
                npv[market, deal, iota] = cell.npv.to_numpy()
    for market in MARKETS:
        for deal in DEAL:
            found.add(f"{market}.{deal}.retention_over_incentives",
                      *paired_ratio(npv[market, deal, "0.0"], npv[market, deal, "0.4"]),
                      n=len(npv[market, deal, "0.0"]))
            means = [npv[market, deal, i].mean() for i in IOTAS]
            found.add(f"{market}.{deal}.best_iota", float(IOTAS[int(np.argmax(means))]))
    return found.frame()


def tables(f: Findings) -> dict[str, str]:
    rows = []
    for market in MARKETS:
        for deal in DEAL:
            row = {"market": market, "deal-prone": f"{float(deal):.0%}".replace("%", " %")}
            best = f"{f[f'{market}.{deal}.best_iota'].mean:.1f}"
            for iota in IOTAS:
                text = f.show(f"{market}.{deal}.{iota}.npv", "m")
                row[f"NPV at ι = {iota} (ρ = {0.7 - float(iota):.1f})"] = f"**{text}**" if iota == best else text
            row["ι = 0 vs 0.4"] = f.show(f"{market}.{deal}.retention_over_incentives", "spct0_ci")
            rows.append(row)
    churn = []
    for market in MARKETS:
        for deal in ("0.3", "0.6"):
            for iota in ("0.2", "0.4"):
                k = f"{market}.{deal}.{iota}"
                churn.append({"market": market, "deal-prone": f"{float(deal):.0%}".replace("%", " %"), "ι": iota,
                              "won with an incentive": f.show(f"{k}.won_incentive", "int"),
                              "won otherwise": f"{f[f'{k}.won'].mean - f[f'{k}.won_incentive'].mean:,.0f}"
                              .replace(",", " "),
                              "monthly churn: incentive-won": f.show(f"{k}.churn_incentive", "pct_ci"),
                              "others": f.show(f"{k}.churn_other", "pct_ci"),
                              "CLV: incentive-won": f.show(f"{k}.clv_incentive", "int_ci"),
                              "others ": f.show(f"{k}.clv_other", "int_ci")})
    return {"npv": markdown(rows), "won": markdown(churn)}


STUDY = Study(
    name=NAME,
    question="Does money moved from short-term incentives to retention raise the return on marketing (seed 004), "
             "and where not?",
    sweeps=tuple(Sweep((f"experiment={NAME}", f"strategy.incentive_share={iota}",
                        f"strategy.retention_share={0.7 - float(iota):.1f}")) for iota in IOTAS),
    extract=extract,
    tables=tables,
)
