"""The calibration targets of MODEL.md §3, measured on a configuration.

    python -m marktsim.analysis.calibration [replicates] [override ...]

prints, for the focal firm with 95 % intervals over replicates: annual churn (target 10–25 %),
the cost of winning a customer against keeping one for a year (target about 5), and the
A/B/C shares of revenue (a Pareto pattern: A, the top 20 %, brings most of it).
"""

from __future__ import annotations

import sys

import pandas as pd

from marktsim.analysis.stats import fmt_ci, mean_ci
from marktsim.config import load_config
from marktsim.simulation import simulate


def calibration_figures(overrides=(), replicates: int = 10) -> pd.DataFrame:
    """One row per figure: name, mean, ci_low, ci_high, target."""
    res = simulate(load_config(list(overrides)), replicates=replicates)
    focal = res.summary[res.summary.firm == "focal"]
    rows = []
    for name, col, target in (
        ("annual churn (focal)", "churn_annual", "0.10-0.25"),
        ("CAC (focal)", "cac", ""),
        ("retention cost per customer-year kept (focal)", "retention_cost_per_customer_year", ""),
        ("cost ratio: CAC / retention cost per customer-year", "cost_ratio", "about 5"),
    ):
        rows.append((name, *mean_ci(focal[col])[:3], target))
    seg = res.segments.groupby(["replicate", "segment"], observed=True).revenue.sum().unstack()
    shares = seg.div(seg.sum(axis=1), axis=0)
    for segment, target in (("A", "Pareto: most revenue"), ("B", ""), ("C", "")):
        rows.append((f"revenue share of {segment} customers (all firms)", *mean_ci(shares[segment])[:3], target))
    return pd.DataFrame(rows, columns=["figure", "mean", "ci_low", "ci_high", "target"])


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    replicates = int(argv[0]) if argv and argv[0].isdigit() else 10
    overrides = argv[1:] if argv and argv[0].isdigit() else argv
    table = calibration_figures(overrides, replicates)
    print(f"calibration, {replicates} replicates, overrides: {' '.join(overrides) or '(defaults)'}")
    for row in table.itertuples():
        print(f"  {row.figure:55s} {fmt_ci(row.mean, row.ci_low, row.ci_high)}   target: {row.target}")


if __name__ == "__main__":
    main()
