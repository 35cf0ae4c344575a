"""The headline as a game (docs/studies.md; experiments/strategy_game/README.md).

The focal firm plays ρ_f, its rivals all play ρ_r, every firm with the same finite, costed
capacity, so u(ρ_f, ρ_r), the focal firm's 10-year NPV, is the payoff of a symmetric game. A
smooth surface (a polynomial of degree 4 in (ρ_f, ρ_r), fitted by least squares to the 81 cell
means) gives the best response BR(ρ_r) = argmax u(·, ρ_r) on [0.1, 0.9], the symmetric
equilibrium ρ* with BR(ρ*) = ρ* and the jointly best ρ_J = argmax u(ρ, ρ); the dilemma is
u(ρ_J, ρ_J) − u(ρ*, ρ*). Intervals: a bootstrap over replicates (each resample keeps a
replicate's 81 cells together: they share their random numbers), 1 000 resamples.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from marktsim.analysis.stats import percentile_interval
from marktsim.studies.core import Collector, Findings, Study, StudyError, Sweep, markdown, runs_table, save_figure

NAME = "strategy_game"
MARKETS = ("saturated", "growing")
GRID = np.round(np.arange(0.1, 0.91, 0.1), 1)
FINE = np.linspace(0.1, 0.9, 161)
DEGREE = 4
RESAMPLES = 1000
# the four cells of the 2 × 2 game of retention-heavy (0.8) against acquisition-heavy (0.2)
CELLS = {"R": (0.8, 0.8), "T": (0.2, 0.8), "P": (0.2, 0.2), "S": (0.8, 0.2)}


def _monomials(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([x**i * y**j for i in range(DEGREE + 1) for j in range(DEGREE + 1 - i)], axis=-1)


def fit_surface(u: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of the payoff surface through the cell means u[i, j] (focal
    GRID[i], rivals GRID[j])."""
    x, y = np.meshgrid(GRID, GRID, indexing="ij")
    coef, *_ = np.linalg.lstsq(_monomials(x.ravel(), y.ravel()), u.ravel(), rcond=None)
    return coef


def evaluate(coef: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _monomials(x, y) @ coef


class Solution(NamedTuple):
    """Best responses on FINE, the symmetric equilibrium, the joint optimum and their payoffs."""

    br: np.ndarray
    rho_star: float
    rho_joint: float
    u_star: float
    u_joint: float
    crossings: int


def solve(coef: np.ndarray) -> Solution:
    """Best responses on FINE, the symmetric equilibrium (the crossing of BR with the diagonal
    of highest payoff; an end of the grid when BR stays on one side) and the joint optimum."""
    x, y = np.meshgrid(FINE, FINE, indexing="ij")
    u = evaluate(coef, x, y)
    br = FINE[np.argmax(u, axis=0)]
    gap = br - FINE
    crossings = [i for i in range(len(FINE) - 1) if gap[i] == 0 or gap[i] * gap[i + 1] < 0]
    if gap[-1] == 0:
        crossings.append(len(FINE) - 1)
    diagonal = np.diag(u)
    if crossings:
        star = max(crossings, key=lambda i: diagonal[i])
        rho_star = FINE[star] if gap[star] == 0 else FINE[star] + (FINE[star + 1] - FINE[star]) * gap[star] / (
            gap[star] - gap[star + 1])
    else:
        rho_star = FINE[0] if gap[0] < 0 else FINE[-1]
    joint = int(np.argmax(diagonal))
    u_star = float(evaluate(coef, np.array([rho_star]), np.array([rho_star]))[0])
    return Solution(br, float(rho_star), float(FINE[joint]), u_star, float(diagonal[joint]), len(crossings))


def cube(table: pd.DataFrame, column: str) -> np.ndarray:
    """table → array [focal ρ, rivals ρ, replicate] of `column`."""
    reps = sorted(table.replicate.unique())
    out = np.full((len(GRID), len(GRID), len(reps)), np.nan)
    for (x, y), cell in table.groupby(["strategy.retention_share", "competitors.retention_share"]):
        i, j = int(np.argmin(abs(GRID - float(x)))), int(np.argmin(abs(GRID - float(y))))
        out[i, j, cell.replicate.map({r: k for k, r in enumerate(reps)}).to_numpy()] = cell[column].to_numpy()
    if np.isnan(out).any():
        raise StudyError(f"{NAME}: the grid is incomplete ({int(np.isnan(out).sum())} runs missing)")
    return out


def extract(sweeps: list) -> pd.DataFrame:
    found = Collector()
    table = runs_table(sweeps[0])
    rng = np.random.default_rng(0)
    for market in MARKETS:
        part = table[table.market == market]
        npv, churn = cube(part, "npv"), cube(part, "churn_annual")
        reps = npv.shape[2]
        for i, x in enumerate(GRID):
            for j, y in enumerate(GRID):
                found.runs(f"{market}.u.{x:.1f}.{y:.1f}", npv[i, j])
        for name, (x, y) in CELLS.items():
            i, j = int(np.argmin(abs(GRID - x))), int(np.argmin(abs(GRID - y)))
            found.runs(f"{market}.{name}", npv[i, j])
            found.runs(f"{market}.{name}.churn", churn[i, j])
        mean = npv.mean(axis=2)
        coef = fit_surface(mean)
        fitted = evaluate(coef, *[a.ravel() for a in np.meshgrid(GRID, GRID, indexing="ij")]).reshape(mean.shape)
        r2 = 1 - ((mean - fitted) ** 2).sum() / ((mean - mean.mean()) ** 2).sum()
        point = solve(coef)
        churn_coef = fit_surface(churn.mean(axis=2))
        boot = []
        for _ in range(RESAMPLES):
            pick = rng.integers(0, reps, reps)
            c = fit_surface(npv[:, :, pick].mean(axis=2))
            s = solve(c)
            cc = fit_surface(churn[:, :, pick].mean(axis=2))
            cells = {k: npv[int(np.argmin(abs(GRID - x))), int(np.argmin(abs(GRID - y))), pick].mean()
                     for k, (x, y) in CELLS.items()}
            boot.append({**s._asdict(), "churn_star": _churn(cc, s.rho_star), "churn_joint": _churn(cc, s.rho_joint),
                         "pd": float(cells["T"] > cells["R"] > cells["P"] > cells["S"])})
        b = pd.DataFrame(boot)
        for key in ("rho_star", "rho_joint", "u_star", "u_joint"):
            found.add(f"{market}.{key}", getattr(point, key), *percentile_interval(b[key]), n=reps)
        found.add(f"{market}.dilemma", point.u_joint - point.u_star, *percentile_interval(b.u_joint - b.u_star), n=reps)
        found.add(f"{market}.dilemma_rel", point.u_joint / point.u_star - 1,
                  *percentile_interval(b.u_joint / b.u_star - 1), n=reps)
        for key, rho in (("churn_star", point.rho_star), ("churn_joint", point.rho_joint)):
            found.add(f"{market}.{key}", _churn(churn_coef, rho), *percentile_interval(b[key]), n=reps)
        found.add(f"{market}.crossings", point.crossings, n=reps)
        found.add(f"{market}.pd_share", b.pd.mean(), n=RESAMPLES)
        found.add(f"{market}.fit_r2", r2, n=len(GRID) ** 2)
        brs = np.stack(b.br.to_numpy())
        for j, y in enumerate(GRID):
            k = int(np.argmin(abs(FINE - y)))
            found.add(f"{market}.br.{y:.1f}", point.br[k], *percentile_interval(brs[:, k]), n=reps)
    return found.frame()


def _churn(coef: np.ndarray, rho: float) -> float:
    return float(evaluate(coef, np.array([rho]), np.array([rho]))[0])


def tables(f: Findings) -> dict[str, str]:
    out = {}
    for market in MARKETS:
        rows = []
        for x in GRID:
            row = {"focal ρ \\ rivals' ρ": f"{x:.1f}"}
            for y in GRID:
                row[f"{y:.1f}"] = f"{f[f'{market}.u.{x:.1f}.{y:.1f}'].mean / 1e6:.2f}"
            rows.append(row)
        rows.append({"focal ρ \\ rivals' ρ": "**BR**", **{f"{y:.1f}": f.show(f"{market}.br.{y:.1f}", "f2")
                                                           for y in GRID}})
        out[f"{market}.payoffs"] = markdown(rows)
        out[f"{market}.cells"] = markdown([
            {"cell": label, "focal ρ": f"{CELLS[k][0]}", "rivals' ρ": f"{CELLS[k][1]}",
             "focal NPV": f.show(f"{market}.{k}", "m_ci"), "focal annual churn": f.show(f"{market}.{k}.churn", "pct_ci")}
            for k, label in (("T", "temptation T"), ("R", "reward R"), ("P", "punishment P"), ("S", "sucker S"))])
    out["summary"] = markdown([
        {"market": m, "equilibrium ρ*": f.show(f"{m}.rho_star", "f2_ci"), "joint optimum ρ_J": f.show(f"{m}.rho_joint", "f2_ci"),
         "NPV at ρ*": f.show(f"{m}.u_star", "m_ci"), "NPV at ρ_J": f.show(f"{m}.u_joint", "m_ci"),
         "dilemma u(ρ_J) − u(ρ*)": f.show(f"{m}.dilemma", "m_ci"), "relative": f.show(f"{m}.dilemma_rel", "spct0_ci"),
         "churn at ρ* / ρ_J": f"{f.show(f'{m}.churn_star', 'pct')} / {f.show(f'{m}.churn_joint', 'pct')}",
         "T > R > P > S (share of resamples)": f.show(f"{m}.pd_share", "pct0")}
        for m in MARKETS])
    return out


def figures(sweeps: list, out: Path) -> list[str]:
    """payoffs.png: the focal firm's NPV over (ρ_f, ρ_r) with the best-response curve, the
    diagonal, the equilibrium and the joint optimum, per market."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = runs_table(sweeps[0])
    fig, axes = plt.subplots(1, len(MARKETS), figsize=(5.2 * len(MARKETS), 4.4))
    for ax, market in zip(np.atleast_1d(axes), MARKETS):
        mean = cube(table[table.market == market], "npv").mean(axis=2)
        coef = fit_surface(mean)
        s = solve(coef)
        image = ax.imshow(mean.T / 1e6, origin="lower", extent=(0.05, 0.95, 0.05, 0.95), cmap="viridis", aspect="auto")
        fig.colorbar(image, ax=ax, label="focal NPV (M)")
        ax.plot(s.br, FINE, color="white", lw=2, label="best response BR(ρ_r)")
        ax.plot(FINE, FINE, color="white", ls=":", lw=1, label="ρ_f = ρ_r")
        ax.plot([s.rho_star], [s.rho_star], "o", color="red", label=f"equilibrium ρ* = {s.rho_star:.2f}")
        ax.plot([s.rho_joint], [s.rho_joint], "*", ms=12, color="orange", label=f"joint optimum ρ_J = {s.rho_joint:.2f}")
        ax.set_xlabel("focal firm's ρ (retention share)")
        ax.set_ylabel("rivals' ρ")
        ax.set_title(market)
        ax.legend(fontsize=7, loc="upper left")
    return save_figure(fig, out, "payoffs.png")


STUDY = Study(
    name=NAME,
    question="Is retention against acquisition a prisoner's dilemma? Best responses, the symmetric equilibrium and "
             "the jointly best split, with rivals on equal terms.",
    sweeps=(Sweep((f"experiment={NAME}",)),),
    extract=extract,
    tables=tables,
    figures=figures,
)
