"""Study 2 (seed 004): who leads after 12, 36 and 120 months -- retention-heavy, balanced,
acquisition-heavy or incentive-heavy -- in a saturated and a growing market, under three
capacity regimes (experiments/horizon/README.md)."""

from __future__ import annotations

import pandas as pd

from marktsim.studies.core import Collector, Findings, Study, Sweep, markdown, with_settings

NAME = "horizon"
MARKETS = ("saturated", "growing")
STRATEGIES = ("retention_heavy", "balanced", "acquisition_heavy", "incentive_heavy")
MONTHS = (12, 36, 120)
REGIMES = {"focal_limited": (f"experiment={NAME}",),
           "all_limited": (f"experiment={NAME}", "competitors=equal_capacity"),
           "unlimited": (f"experiment={NAME}", "firm.capacity_factor=null")}
REGIME_LABELS = {"focal_limited": "focal capacity finite (default)", "all_limited": "every firm's capacity finite",
                 "unlimited": "no capacity limit"}


def cumulative_npv(sweep) -> pd.DataFrame:
    """Per run: cumulative discounted profit of the focal firm after each of MONTHS."""
    ts = sweep.timeseries[sweep.timeseries.firm == "focal"].sort_values(["run", "tick"])
    ts = ts.assign(cum=ts.groupby("run", observed=True).discounted_profit.cumsum())
    at = ts[ts.tick.isin(MONTHS)].pivot_table(index=["run", "job", "replicate"], columns="tick", values="cum",
                                              observed=True).reset_index()
    return with_settings(at, sweep)


def extract(sweeps: list) -> pd.DataFrame:
    found = Collector()
    for regime, sweep in zip(REGIMES, sweeps):
        table = cumulative_npv(sweep)
        for market in MARKETS:
            leaders = []
            for month in MONTHS:
                runs = {}
                for s in STRATEGIES:
                    cell = table[(table.market == market) & (table.strategy == s)].sort_values("replicate")[month]
                    found.runs(f"{market}.{regime}.{month}.{s}", cell)
                    runs[s] = cell.to_numpy()
                leader, second = sorted(STRATEGIES, key=lambda s: runs[s].mean(), reverse=True)[:2]
                leaders.append(leader)
                found.add(f"{market}.{regime}.{month}.leader", STRATEGIES.index(leader))
                # the leader's lead over the runner-up, paired by replicate (shared random numbers)
                found.runs(f"{market}.{regime}.{month}.lead", runs[leader] - runs[second])
            found.add(f"{market}.{regime}.lead_changes", float(len(set(leaders)) > 1))
    return found.frame()


def tables(f: Findings) -> dict[str, str]:
    out = {}
    for regime in REGIMES:
        rows = []
        for market in MARKETS:
            for month in MONTHS:
                k = f"{market}.{regime}.{month}"
                row = {"market": market, "month": month}
                leader = STRATEGIES[int(f[f"{k}.leader"].mean)]
                for s in STRATEGIES:
                    text = f.show(f"{k}.{s}", "m_ci")
                    row[s.replace("_", "-")] = f"**{text}**" if s == leader else text
                rows.append(row)
        out[regime] = markdown(rows)
    def leader_of(m: str, r: str, h: int) -> str:
        name = STRATEGIES[int(f[f"{m}.{r}.{h}.leader"].mean)].replace("_", "-")
        return name if f[f"{m}.{r}.{h}.lead"].low > 0 else f"({name})"

    out["leaders"] = markdown([
        {"market": m, **{REGIME_LABELS[r]: " → ".join(leader_of(m, r, h) for h in MONTHS) for r in REGIMES}}
        for m in MARKETS])
    return out


STUDY = Study(
    name=NAME,
    question="Do short-term incentives and acquisition lead early and loyalty late (seed 004), and does the "
             "answer depend on who has finite capacity?",
    sweeps=tuple(Sweep(v) for v in REGIMES.values()),
    extract=extract,
    tables=tables,
    report_figures=("npv.png", "timeseries.png"),
)
