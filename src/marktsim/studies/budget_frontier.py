"""Study 4 (seeds 000, 001): profit over budget and split, at three acquisition costs
(experiments/budget_frontier/README.md). The best ρ of each (budget, acquisition cost) is the
maximiser of the parabola through the NPVs of the three grid points around the best one, with
a bootstrap interval over replicates (the cells of a replicate share their random numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from marktsim.analysis.stats import percentile_interval
from marktsim.studies.core import Collector, Findings, Study, Sweep, Value, fmt, markdown, runs_table

NAME = "budget_frontier"
BUDGETS = ("0.04", "0.08", "0.16")
SCALES = ("1.0", "2.0", "4.0")
RHOS = ("0.0", "0.2", "0.4", "0.6", "0.8", "1.0")
RESAMPLES = 1000


def best_rho(npv: np.ndarray) -> float:
    """The maximiser of the parabola through the best grid point and its neighbours (a grid end
    when the best is there or the parabola opens upwards)."""
    rho = np.array([float(r) for r in RHOS])
    i = int(np.argmax(npv))
    if i in (0, len(rho) - 1):
        return float(rho[i])
    a, b, _ = np.polyfit(rho[i - 1:i + 2], npv[i - 1:i + 2], 2)
    return float(np.clip(-b / (2 * a), rho[i - 1], rho[i + 1])) if a < 0 else float(rho[i])


def extract(sweeps: list) -> pd.DataFrame:
    found = Collector()
    table = runs_table(sweeps[0])
    rng = np.random.default_rng(0)
    for budget in BUDGETS:
        for scale in SCALES:
            cell = table[(table["firm.budget_share"] == budget) & (table["market.acquisition_scale"] == scale)]
            grid = np.stack([cell[cell["strategy.retention_share"] == r].sort_values("replicate").npv.to_numpy()
                             for r in RHOS])  # [rho, replicate]
            for r, row in zip(RHOS, grid):
                found.runs(f"{budget}.{scale}.{r}.npv", row)
            reps = grid.shape[1]
            boot = [best_rho(grid[:, rng.integers(0, reps, reps)].mean(axis=1)) for _ in range(RESAMPLES)]
            found.add(f"{budget}.{scale}.best_rho", best_rho(grid.mean(axis=1)), *percentile_interval(boot), reps)
            best = int(np.argmax(grid.mean(axis=1)))
            found.runs(f"{budget}.{scale}.best_npv", grid[best])
    return found.frame()


def tables(f: Findings) -> dict[str, str]:
    rows = []
    for budget in BUDGETS:
        for scale in SCALES:
            k = f"{budget}.{scale}"
            rows.append({"budget": f"{float(budget):.0%}".replace("%", " %"),
                         "acquisition_scale": {"1.0": "1 (cheap)", "2.0": "2", "4.0": "4 (dear)"}[scale],
                         "best ρ [95 % interval]": f.show(f"{k}.best_rho", "f2_ci"),
                         "NPV at the best grid ρ": f.show(f"{k}.best_npv", "m_ci"),
                         "NPV at ρ = 0 / 0.2 / 0.4 / 0.6 / 0.8 / 1 (M)":
                             " / ".join(fmt(Value(f[f"{k}.{r}.npv"].mean / 1e6, np.nan, np.nan, 0), "f2")
                                        for r in RHOS)})
    return {"frontier": markdown(rows)}


STUDY = Study(
    name=NAME,
    question="Where is the best split of the budget between keeping and winning customers, and how does it move "
             "with the budget and the cost of acquisition?",
    sweeps=(Sweep((f"experiment={NAME}",)),),
    extract=extract,
    tables=tables,
    report_figures=("npv_heatmap.png",),
)
