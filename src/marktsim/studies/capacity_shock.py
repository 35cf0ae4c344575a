"""Study 3 (seed 002): a campaign that brings more customers than the firm can serve
(experiments/capacity_shock/README.md). All 16 conditions of the campaign, priority, delay
communication and strategy; then, under the campaign, building capacity first
(capacity_policy=expand) and a B2B-heavy customer base (60 % businesses)."""

from __future__ import annotations

import pandas as pd

from marktsim.analysis.report import churn_split_per_run
from marktsim.studies.core import Collector, Findings, Study, Sweep, markdown, paired_ratio, runs_table, with_settings

NAME = "capacity_shock"
DEFAULTS = {"strategy.campaign_boost": "0.0", "firm.priority": "fifo", "firm.communicate_delays": "false",
            "strategy": "balanced", "firm.capacity_policy": "fixed", "customers.b2b_share": "0.0"}
FACTORS = tuple(DEFAULTS)


def _key(row) -> str:
    return ".".join(str(row.get(k, DEFAULTS[k]) if pd.notna(row.get(k, None)) else DEFAULTS[k]) for k in FACTORS)


def extract(sweeps: list) -> pd.DataFrame:
    found = Collector()
    seen = set()
    for sweep in sweeps:
        npv = runs_table(sweep)
        churn = with_settings(churn_split_per_run(sweep), sweep)
        for table in (npv, churn):
            table["cell"] = [_key(r) for r in table.to_dict("records")]
        for cell, group in npv.groupby("cell"):
            if cell in seen:
                continue
            seen.add(cell)
            found.runs(f"{cell}.npv", group.sort_values("replicate").npv)
            c = churn[churn.cell == cell]
            found.runs(f"{cell}.churn_established", c.churn_established)
            found.runs(f"{cell}.churn_new", c.churn_new)
        if sweep is sweeps[0]:
            base = npv[npv.cell == "0.0.fifo.false.balanced.fixed.0.0"].sort_values("replicate").npv.to_numpy()
            shock = npv[npv.cell == "4.0.fifo.false.balanced.fixed.0.0"].sort_values("replicate").npv.to_numpy()
            found.add("campaign_npv_change", *paired_ratio(shock, base), n=len(base))
    return found.frame()


def tables(f: Findings) -> dict[str, str]:
    def rows(cells: list[tuple[str, dict]]) -> str:
        out = []
        for cell, label in cells:
            out.append({**label, "established churn / month": f.show(f"{cell}.churn_established", "pct2_ci"),
                        "new churn / month": f.show(f"{cell}.churn_new", "pct2_ci"),
                        "NPV (5 years)": f.show(f"{cell}.npv", "m_ci")})
        return markdown(out)

    main = []
    for boost in ("0.0", "4.0"):
        for strategy in ("balanced", "capacity_aware"):
            for priority in ("fifo", "existing_first"):
                for delays in ("false", "true"):
                    main.append((f"{boost}.{priority}.{delays}.{strategy}.fixed.0.0",
                                 {"campaign": "yes" if boost == "4.0" else "no", "strategy": strategy,
                                  "priority": priority, "delays told": "yes" if delays == "true" else "no"}))
    extra = []
    for b2b in ("0.0", "0.6"):
        for policy in ("fixed", "expand"):
            for priority in ("fifo", "existing_first"):
                extra.append((f"4.0.{priority}.false.balanced.{policy}.{b2b}",
                              {"B2B share": b2b, "capacity policy": policy, "priority": priority}))
    return {"main": rows(main), "expand_b2b": rows(extra)}


STUDY = Study(
    name=NAME,
    question="Does a campaign that overloads capacity drive away existing customers too, and what reduces it: "
             "priority, telling customers about delays, a capacity-aware strategy, building capacity first?",
    sweeps=(Sweep((f"experiment={NAME}",)),
            Sweep((f"experiment={NAME}", "strategy.campaign_boost=4.0", "firm.communicate_delays=false",
                   "strategy=balanced", "firm.capacity_policy=fixed,expand", "customers.b2b_share=0.0,0.6"))),
    extract=extract,
    tables=tables,
    report_figures=("capacity.png", "timeseries.png", "npv.png"),
)
