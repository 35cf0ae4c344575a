"""The default market against published figures (docs/model.md §9).

    python -m marktsim.analysis.calibration [replicates] [override ...]

prints, with 95 % intervals over replicates: the focal firm's annual churn and the share of
its customers at tick 0 still with it after one, five and ten years (published: Fader & Hardie
2007, Reichheld 1996); the Bass coefficients of the growing market (Sultan, Farley & Lehmann
1990); the cost of winning a customer against keeping one for a year (an identity, §9); and
the A/B/C shares of revenue. ``marktsim-study run default_market`` keeps them as findings.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from marktsim.analysis.findings import Collector
from marktsim.analysis.stats import fmt_ci
from marktsim.config import load_config
from marktsim.model import MarketModel
from marktsim.simulation import simulate

YEARS = (1, 5, 10)
BASS_TICKS = 36


def cohort_survival(overrides=(), replicate: int = 0) -> dict[int, float]:
    """Share of the focal firm's customers at tick 0 who are still its customers, without a
    break, after each of YEARS years."""
    model = MarketModel(load_config(list(overrides)), replicate=replicate)
    col = model.columns
    alive = col.provider == 0
    start = alive.sum()
    out = {}
    for tick in range(1, 12 * max(YEARS) + 1):
        model.step()
        alive &= (col.provider == 0) & (col.tenure > 0)
        if tick % 12 == 0 and tick // 12 in YEARS:
            out[tick // 12] = float(alive.sum() / start)
    return out


def bass_coefficients(overrides=(), replicate: int = 0) -> tuple[float, float]:
    """Monthly innovation and imitation coefficients (p, q) of a growing market: the least-squares
    line of the adoption hazard h_t (prospects who adopt in tick t ÷ prospects before it) on the
    adopted share F_{t−1}, over the first BASS_TICKS ticks: h = p + q·F (Bass 1969)."""
    model = MarketModel(load_config(["market=growing", *overrides]), replicate=replicate)
    col = model.columns
    n = col.provider.shape[0]
    hazard, adopted = [], []
    for _ in range(BASS_TICKS):
        prospect = col.provider < 0
        adopted.append(1 - int(prospect.sum()) / n)
        model.step()
        hazard.append(int((prospect & (col.provider >= 0)).sum()) / max(int(prospect.sum()), 1))
    q, p = np.polyfit(adopted, hazard, 1)
    return float(p), float(q)


def calibration_findings(overrides=(), replicates: int = 10) -> pd.DataFrame:
    """The figures of docs/model.md §9 as findings (key, mean, low, high, n)."""
    found = Collector()
    res = simulate(load_config(list(overrides)), replicates=replicates)
    focal = res.summary[res.summary.firm == "focal"]
    for key in ("churn_annual", "cac", "retention_cost_per_customer_year", "cost_ratio"):
        found.runs(key, focal[key])
    lost_won = focal.lost / focal.won
    found.runs("lost_per_won", lost_won)
    seg = res.segments.groupby(["replicate", "segment"], observed=True).revenue.sum().unstack()
    shares = seg.div(seg.sum(axis=1), axis=0)
    for segment in ("A", "B", "C"):
        found.runs(f"revenue_share_{segment}", shares[segment])
    survival = [cohort_survival(overrides, r) for r in range(replicates)]
    for year in YEARS:
        found.runs(f"survival_{year}y", [s[year] for s in survival])
    bass = np.array([bass_coefficients(overrides, r) for r in range(replicates)])
    found.runs("bass_p_month", bass[:, 0])
    found.runs("bass_q_month", bass[:, 1])
    found.runs("bass_p_year", 12 * bass[:, 0])
    found.runs("bass_q_year", 12 * bass[:, 1])
    return found.frame()


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    replicates = int(argv[0]) if argv and argv[0].isdigit() else 10
    overrides = argv[1:] if argv and argv[0].isdigit() else argv
    table = calibration_findings(overrides, replicates)
    print(f"calibration, {replicates} replicates, overrides: {' '.join(overrides) or '(defaults)'}")
    for row in table.itertuples():
        print(f"  {row.key:35s} {fmt_ci(row.mean, row.low, row.high)}")


if __name__ == "__main__":
    main()
