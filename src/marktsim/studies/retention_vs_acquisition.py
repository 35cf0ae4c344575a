"""Study 1 (seeds 001, 004): retention-heavy against acquisition-heavy, adopted by the focal
firm alone or by the whole market, in saturated, commoditised and growing markets, under three
capacity regimes and without loyalty revenue growth (docs/studies.md; experiments/
retention_vs_acquisition/README.md)."""

from __future__ import annotations

import pandas as pd

from marktsim.studies.core import Collector, Findings, Study, Sweep, markdown, paired_ratio, rivals_mean, runs_table

NAME = "retention_vs_acquisition"
MARKETS = ("saturated", "commoditised", "growing")
WHO = {"symmetric": "alone", "same_as_focal": "whole", "equal_capacity": "alone", "equal_terms": "whole"}
STRATEGIES = ("retention_heavy", "acquisition_heavy")
# the variants: which firms' capacity is finite, and loyalty revenue growth switched off
VARIANTS = {
    "focal_limited": (f"experiment={NAME}",),
    "all_limited": (f"experiment={NAME}", "competitors=equal_capacity,equal_terms"),
    "unlimited": (f"experiment={NAME}", "firm.capacity_factor=null"),
    "no_loyalty_growth": (f"experiment={NAME}", "customers.loyalty_growth_max=0"),
}
METRICS = ("npv", "revenue", "churn_annual", "final_share")


def extract(sweeps: list) -> pd.DataFrame:
    """Findings ``<market>.<who>.<strategy>.<variant>.<metric>`` (mean and t-interval over the
    replicates), the rivals' mean NPV (``….rivals_npv``), and per market, who and variant the
    relative NPV advantage of acquisition-heavy, paired by replicate (``….acquisition_advantage``)."""
    found = Collector()
    for variant, sweep in zip(VARIANTS, sweeps):
        focal = runs_table(sweep)
        rivals = rivals_mean(sweep, "npv")
        for table in (focal, rivals):
            table["who"] = table.competitors.map(WHO) if "competitors" in table else "alone"
        for market in MARKETS:
            for who in ("alone", "whole"):
                cell = focal[(focal.market == market) & (focal.who == who)]
                rcell = rivals[(rivals.market == market) & (rivals.who == who)]
                by = {s: cell[cell.strategy == s].sort_values("replicate") for s in STRATEGIES}
                for s in STRATEGIES:
                    for metric in METRICS:
                        found.runs(f"{market}.{who}.{s}.{variant}.{metric}", by[s][metric])
                    found.runs(f"{market}.{who}.{s}.{variant}.rivals_npv", rcell[rcell.strategy == s].npv)
                ratio = paired_ratio(by["acquisition_heavy"].npv.to_numpy(), by["retention_heavy"].npv.to_numpy())
                found.add(f"{market}.{who}.{variant}.acquisition_advantage", *ratio, n=len(by["retention_heavy"]))
    return found.frame()


def tables(f: Findings) -> dict[str, str]:
    def main(variant: str) -> str:
        rows = []
        for market in MARKETS:
            for who, label in (("alone", "focal alone"), ("whole", "whole market")):
                best = max(STRATEGIES, key=lambda s: f[f"{market}.{who}.{s}.{variant}.npv"].mean)
                for s in STRATEGIES:
                    k = f"{market}.{who}.{s}.{variant}"
                    npv = f.show(f"{k}.npv", "m_ci")
                    rows.append({"market": market, "who adopts": label, "strategy": s.replace("_", "-"),
                                 "NPV (10 years)": f"**{npv}**" if s == best else npv,
                                 "rivals' NPV": f.show(f"{k}.rivals_npv", "m"),
                                 "revenue": f.show(f"{k}.revenue", "m_ci"),
                                 "annual churn": f.show(f"{k}.churn_annual", "pct_ci"),
                                 "final share": f.show(f"{k}.final_share", "f3")})
        return markdown(rows)

    def advantage() -> str:
        rows = []
        for market in MARKETS:
            for who, label in (("alone", "focal alone"), ("whole", "whole market")):
                row = {"market": market, "who adopts": label}
                for variant, head in (("focal_limited", "focal capacity finite (default)"),
                                      ("all_limited", "every firm's capacity finite"),
                                      ("unlimited", "no capacity limit"),
                                      ("no_loyalty_growth", "g_max = 0")):
                    row[head] = f.show(f"{market}.{who}.{variant}.acquisition_advantage", "spct0_ci")
                rows.append(row)
        return markdown(rows)

    return {"main": main("focal_limited"), "all_limited": main("all_limited"), "advantage": advantage()}


STUDY = Study(
    name=NAME,
    question="Which of retention-heavy and acquisition-heavy wins, alone or market-wide, and does it depend on "
             "the market, on capacity and on loyalty revenue growth?",
    sweeps=tuple(Sweep(v) for v in VARIANTS.values()),
    extract=extract,
    tables=tables,
    report_figures=("npv.png", "timeseries.png", "segment_churn.png", "capacity.png"),
)
