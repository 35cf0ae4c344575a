"""Validation: closed forms, published results and the source texts' claims.

    python -m marktsim.analysis.validation [--size full|small] [--out docs]

writes ``<out>/validation.md`` and its figures under ``<out>/figures/``. ``make validate``
runs the full size (the numbers in docs/validation.md); the test suite runs ``small``.
Every figure is a mean over replicates with its 95 % t-interval.

Each check is a function of the run size that returns data (a `Check`: one row per case in
numbers, the check's scalar results and what its figure draws); its page section (Markdown
and figures) is made from that data by its renderer (``<check>_page``), and the tests assert
on the data (`run` returns every `Check`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marktsim.analysis.reductions import bass_config, lifetime_config, markov_config
from marktsim.analysis.stats import fmt_ci, markdown_table, mean_ci, paired_ratio_ci, percentile_interval, t_half_width
from marktsim.config import load_config
from marktsim.engine.account import M
from marktsim.engine.rules import loyalty_growth
from marktsim.model import MarketModel
from marktsim.simulation import simulate

CI = tuple[float, float, float]  # mean, lower and upper bound of a 95 % interval


@dataclass
class Size:
    """How large each validation run is."""

    n: int
    reps: int
    horizon: int
    grid: int  # points of the rho grid for marginal costs

    @staticmethod
    def named(name: str) -> Size:
        if name == "full":
            return Size(n=10_000, reps=20, horizon=120, grid=9)
        if name == "small":
            return Size(n=1_000, reps=4, horizon=36, grid=3)
        raise ValueError(f"size = {name!r}: allowed: full, small")


@dataclass
class Check:
    """What one check found: `rows`, one per case, in numbers (intervals as (mean, low, high)
    tuples); `numbers`, the check's scalar results and settings; `curves`, what its figure
    draws. The page section is made from it; the tests assert on it."""

    name: str
    rows: pd.DataFrame
    numbers: dict[str, Any] = field(default_factory=dict)
    curves: dict[Any, Any] = field(default_factory=dict)


@dataclass
class Section:
    """A check's part of validation.md: Markdown, and figures as (figure, file name, caption);
    `files` write figures made elsewhere (called with the figures folder)."""

    text: str
    figures: list[tuple[Any, str, str]] = field(default_factory=list)
    files: list[Callable[[Path], None]] = field(default_factory=list)


@dataclass
class Validation:
    """The written page and every check's data, by name."""

    path: Path
    checks: dict[str, Check]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    return plt


def _band(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95 % t-band over the rows of `matrix` (replicates × ticks)."""
    mean = matrix.mean(axis=0)
    reps = matrix.shape[0]
    half = t_half_width(matrix.std(axis=0, ddof=1), reps) if reps > 1 else 0 * mean
    return mean, mean - half, mean + half


def _ci(values) -> CI:
    mean, low, high, _ = mean_ci(values)
    return mean, low, high


# ----------------------------------------------------------------------------- closed forms

BASS_PAIRS = [(0.03 / 12, 0.38 / 12), (0.01, 0.1), (0.002, 0.08)]


def bass_recursion(p: float, q: float, horizon: int) -> np.ndarray:
    """F_(t+1) = F_t + (1 − F_t)(p + q·F_t) from F_0 = 0, for t = 1 … horizon."""
    f, path = 0.0, []
    for _ in range(horizon):
        f = f + (1 - f) * (p + q * f)
        path.append(f)
    return np.array(path)


def bass(size: Size) -> Check:
    """Bass diffusion for three (p, q) pairs: simulated mean and band against the recursion."""
    horizon = max(size.horizon, 60) if size.n >= 10_000 else size.horizon
    rows, curves = [], {}
    for p, q in BASS_PAIRS:
        ts = simulate(bass_config(size.n, p, q, horizon), replicates=size.reps).timeseries
        mean, lo, hi = _band(ts.pivot(index="replicate", columns="tick", values="share").to_numpy())
        curve = bass_recursion(p, q, horizon)
        inside = float(np.mean((curve >= lo - 1e-12) & (curve <= hi + 1e-12)))
        rows.append({"p": p, "q": q, "bass_final": curve[-1], "simulated_final": (mean[-1], lo[-1], hi[-1]),
                     "max_deviation": float(np.abs(mean - curve).max()), "inside": inside})
        curves[(p, q)] = (curve, mean, lo, hi)
    return Check("bass", pd.DataFrame(rows), {"n": size.n, "reps": size.reps, "horizon": horizon}, curves)


def bass_page(check: Check) -> Section:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for (p, q), (curve, mean, lo, hi) in check.curves.items():
        ticks = np.arange(1, curve.size + 1)
        line = ax.plot(ticks, curve, lw=1, ls="--")[0]
        ax.plot(ticks, mean, color=line.get_color(), lw=1.5, label=f"p={p:.4g}, q={q:.4g}")
        ax.fill_between(ticks, lo, hi, color=line.get_color(), alpha=0.25, lw=0)
    ax.set_xlabel("month")
    ax.set_ylabel("adopted share F")
    ax.legend(fontsize=8)
    fig.tight_layout()
    horizon = check.numbers["horizon"]
    table = pd.DataFrame([{
        "p": f"{r.p:.4g}", "q": f"{r.q:.4g}", f"F({horizon}) Bass": f"{r.bass_final:.4f}",
        f"F({horizon}) simulated": fmt_ci(*r.simulated_final), "max |mean − Bass|": f"{r.max_deviation:.4f}",
        "ticks with Bass inside the band": f"{r.inside:.0%}"} for r in check.rows.itertuples()])
    return Section(f"""
### Bass diffusion

Unsaturated market, one firm, no churn, global mixing, satisfaction fixed at 1, constant
acquisition spend: the adopted share should follow F_(t+1) = F_t + (1 − F_t)(p + q·F_t) with
p = P_0 (acquisition pressure) and q = q_wom. N = {check.numbers['n']:,}, {check.numbers['reps']} replicates; dashed:
the recursion, solid: simulated mean with its 95 % band. (The exact per-tick binomial law is
tested in tests/test_reductions.py; the band here is for the mean path.)

{markdown_table(table)}

The recursion lies inside the simulated band at {", ".join(f"{c:.0%}" for c in check.rows.inside)} of the
months. Where it leaves the band (the steep part of the S-curve, most for small p), the
difference is not an error of the transition law, which is exact (tested tick by tick), but
of the recursion as a description of the *mean*: the random timing of the take-off shifts
individual runs earlier or later, and the mean of shifted S-curves is flatter than the
S-curve of the mean. It shrinks as N grows.
""", [(fig, "bass.png", "Bass diffusion: simulated mean and 95 % band (solid) against the recursion (dashed).")])


MARKOV_CASES = [(0.01, 0.06, 0.02), (0.03, 0.01, 0.05), (0.005, 0.03, 0.01)]


def markov(size: Size) -> Check:
    """Two-state Markov shares for three hazard pairs against s_t = π + (s_0 − π)(1 − x01 − x10)^t."""
    rows, curves = [], {}
    horizon, lam, s0 = size.horizon, 0.5, 0.6
    for h, p0, p1 in MARKOV_CASES:
        ts = simulate(markov_config(size.n, h, p0, p1, horizon, lam, s0), replicates=size.reps).timeseries
        share = ts[ts.firm == "focal"].pivot(index="replicate", columns="tick", values="share").to_numpy()
        sigma = 1 - lam * s0
        x01, x10 = h + (1 - h) * sigma * p1, h + (1 - h) * sigma * p0
        pi = x10 / (x01 + x10)
        curve = pi + (0.5 - pi) * (1 - x01 - x10) ** np.arange(1, horizon + 1)
        mean, lo, hi = _band(share)
        rows.append({"h": h, "P_0": p0, "P_1": p1, "x_01": x01, "x_10": x10, "stationary": pi,
                     "simulated_final": (mean[-1], lo[-1], hi[-1]), "max_deviation": float(np.abs(mean - curve).max())})
        curves[(h, p0, p1)] = (curve, mean, lo, hi)
    return Check("markov", pd.DataFrame(rows), {"n": size.n, "reps": size.reps, "horizon": horizon}, curves)


def markov_page(check: Check) -> Section:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for (h, p0, p1), (curve, mean, lo, hi) in check.curves.items():
        ticks = np.arange(1, curve.size + 1)
        line = ax.plot(ticks, curve, ls="--", lw=1)[0]
        ax.plot(ticks, mean, color=line.get_color(), lw=1.5, label=f"h={h}, P0={p0}, P1={p1}")
        ax.fill_between(ticks, lo, hi, color=line.get_color(), alpha=0.25, lw=0)
    ax.set_xlabel("month")
    ax.set_ylabel("share of firm 0")
    ax.legend(fontsize=8)
    fig.tight_layout()
    horizon = check.numbers["horizon"]
    table = pd.DataFrame([{
        "h": r.h, "P_0": r.P_0, "P_1": r.P_1, "x_01": f"{r.x_01:.4f}", "x_10": f"{r.x_10:.4f}",
        "stationary share": f"{r.stationary:.4f}", f"simulated share at {horizon}": fmt_ci(*r.simulated_final),
        "max |mean − closed form|": f"{r.max_deviation:.4f}"} for r in check.rows.itertuples()])
    return Section(f"""
### Two-state Markov shares

Two firms, constant hazards (h_s = κ = q_wom = q_neg = α = 0, unlimited capacity): the share
of firm 0 follows s_t = π + (s_0 − π)(1 − x_01 − x_10)^t with x_jk = h + (1 − h)·σ·P_k and
π = x_10/(x_01 + x_10); σ = 1 − λ·s_0 = 0.7. N = {check.numbers['n']:,}, {check.numbers['reps']} replicates.

{markdown_table(table)}
""", [(fig, "markov.png",
       "Two-state Markov: simulated share of firm 0 (solid, 95 % band) against the closed form (dashed).")])


def lifetime_value(size: Size) -> Check:
    """Customer lifetime value over a grid of retention and discount rates; Gupta–Lehmann multiples."""
    horizon = 600 if size.n >= 10_000 else 240
    n = max(size.n // 2, 500)
    rows = []
    for annual_d in (0.10, 0.12, 0.14, 0.16):
        d = (1 + annual_d) ** (1 / 12) - 1
        for r_annual in (0.6, 0.7, 0.8, 0.9):
            h = 1 - r_annual ** (1 / 12)
            multiple = simulate(lifetime_config(n, h, horizon, annual_d),
                                replicates=max(3, size.reps // 4)).summary.npv.to_numpy() / n / 30.0
            r = 1 - h
            gl = r / (1 + d - r)  # Gupta–Lehmann margin multiple, margin at the end of each tick survived
            ours = gl / r * (1 - (r / (1 + d)) ** horizon)  # margin in every tick started (model timing)
            mean, lo, hi = _ci(multiple * r)
            rows.append({"annual_discount": annual_d, "annual_retention": r_annual, "simulated": (mean, lo, hi),
                         "gupta_lehmann": gl, "deviation": abs(mean / r - ours) / ours})
    frame = pd.DataFrame(rows)
    return Check("lifetime_value", frame, {"n": n, "horizon": horizon, "max_deviation": float(frame.deviation.max())})


def lifetime_value_page(check: Check) -> Section:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    grid_r = np.linspace(0.5, 0.95, 46)
    table = []
    for annual_d, group in check.rows.groupby("annual_discount", sort=False):
        d = (1 + annual_d) ** (1 / 12) - 1
        monthly_r = grid_r ** (1 / 12)
        line = ax.plot(grid_r, monthly_r / (1 + d - monthly_r), lw=1, ls="--")[0]
        ms, los, his = (np.array(v) for v in zip(*group.simulated))
        ax.errorbar(group.annual_retention.to_numpy(), ms, yerr=[ms - los, his - ms], fmt="o",
                    color=line.get_color(), capsize=3, label=f"d = {annual_d:.0%} a year")
        row = {"annual discount": f"{annual_d:.0%}"}
        for r in group.itertuples():
            row[f"r = {r.annual_retention:.0%}/yr"] = f"{fmt_ci(*r.simulated)} (GL {r.gupta_lehmann:.2f})"
        table.append(row)
    ax.set_xlabel("annual retention rate")
    ax.set_ylabel("margin multiple r/(1+d−r)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Section(f"""
### Customer lifetime value

Constant monthly hazard h = 1 − r_annual^(1/12), constant margin m per customer and month
(m = 0.3 × 100 = 30), no acquisition: the simulated mean discounted margin of the initial
cohort, in multiples of m and converted to Gupta–Lehmann's timing (margin at the end of each
month survived: multiply by r), against their margin multiple r/(1 + d − r) with monthly
rates (in brackets: GL). N = {check.numbers['n']:,}, horizon {check.numbers['horizon']} months (truncation (r/(1+d))^T below
10⁻³ except for r = 90 %/yr at the small size). Largest relative deviation of the simulated
mean from the closed form with the model's timing: {check.numbers['max_deviation']:.2%}.

{markdown_table(pd.DataFrame(table))}
""", [(fig, "lifetime_value.png",
       "Margin multiple: simulated mean and 95 % interval (points) against Gupta–Lehmann r/(1+d−r) (dashed).")])


# ----------------------------------------------------------------------------- published results

def reichheld_sasser(size: Size) -> Check:
    """Profit effect of cutting annual defections by 5 points, for a new cohort with loyalty growth."""
    horizon = 360 if size.n >= 10_000 else 180
    n = max(size.n // 2, 500)
    rows = []
    for before in (0.20, 0.15, 0.10):
        values = []
        for defection in (before, before - 0.05):
            h = 1 - (1 - defection) ** (1 / 12)
            cfg = load_config([
                "market=growing", "market.adopted_share=1", "market.n_competitors=0", "firm.budget=0",
                "firm.capacity=null", "customers.wom_positive=0", "customers.churn_dissatisfaction=0",
                "customers.bond_protection=0", "customers.propensity=none", f"customers.churn_base={h}",
                "customers.initial_tenure_mean=0",
                "customers.b2b_share=0", f"market.n_customers={n}", f"horizon={horizon}",
            ])
            res = simulate(cfg, replicates=max(4, size.reps // 2))
            # profit per customer won: discounted margin less the onboarding cost of winning it
            values.append(res.summary.npv.to_numpy() / n - cfg.firm.onboarding_cost)
        mean, lo, hi = _ci(values[1] / values[0].mean() - 1)
        rows.append({"defection_before": before, "defection_after": before - 0.05, "profit_before": values[0].mean(),
                     "profit_after": values[1].mean(), "gain_percent": (100 * mean, 100 * lo, 100 * hi)})
    frame = pd.DataFrame(rows)
    gains = [g[0] for g in frame.gain_percent]
    return Check("reichheld_sasser", frame, {"horizon": horizon, "verdict": _rs_verdict(gains)})


def reichheld_sasser_page(check: Check) -> Section:
    table = pd.DataFrame([{
        "annual defection": f"{r.defection_before:.0%} → {r.defection_after:.0%}",
        "profit per customer before": f"{r.profit_before:,.0f}", "after": f"{r.profit_after:,.0f}",
        "profit increase": fmt_ci(*r.gain_percent) + " %"} for r in check.rows.itertuples()])
    return Section(f"""
### Reichheld & Sasser (1990): cutting defections by 5 points

Reichheld & Sasser report that cutting annual defections by 5 percentage points raises
profits by about 85 % (bank branches), 50 % (insurance brokerage) and 30 % (auto service).
The model's counterpart: the discounted profit per customer of a new cohort (margin 30 % with
revenue growing with tenure, g_max = 0.3, τ = 24 months; less an onboarding cost of 50),
with constant defection, before and after a 5-point cut; monthly discounting at 10 % a
year; {check.numbers['horizon']} months.

{markdown_table(table)}

{check.numbers['verdict']}
""")


def _rs_verdict(gains: list[float]) -> str:
    low, high = min(gains), max(gains)
    where = ("lie within" if 30 <= low and high <= 85 else "overlap with" if high >= 30 and low <= 85 else "lie outside")
    trend = "rises" if gains[-1] > gains[0] else "does not rise"
    return (f"The model's profit increases ({low:.0f} % to {high:.0f} %) {where} the published range of "
            f"30–85 %; the gain {trend} as the defection rate falls, in line with Reichheld & Sasser's "
            "argument that a customer's profit grows with tenure.")


def leaky_bucket(size: Size) -> Check:
    """Reichheld's leaky bucket: 10 % new customers a year, 95 % vs 90 % kept, after 14 years."""
    n = 300_000 if size.n >= 10_000 else 100_000
    start, years = 0.005, 14
    growth_q = 1.1 ** (1 / 12) - 1  # referrals bring 10 % of the current base a year
    rows = []
    for kept in (0.95, 0.90):
        h = 1 - kept ** (1 / 12)
        cfg = load_config([
            "market=growing", f"market.adopted_share={start}", "market.n_competitors=0", "firm.budget=0",
            "firm.capacity=null", "market.network=global", "customers.churn_dissatisfaction=0",
            "customers.bond_protection=0", "customers.propensity=none", f"customers.churn_base={h}",
            "customers.alpha_new=0",
            "customers.alpha_est=0", "customers.satisfaction_init=1", "customers.wom_negative=0",
            f"customers.wom_positive={growth_q}", f"market.n_customers={n}", f"horizon={12 * years}",
            "customers.b2b_share=0",
        ])
        ts = simulate(cfg, replicates=max(4, size.reps // 2)).timeseries
        factor = ts[ts.tick == 12 * years].customers.to_numpy() / (start * n)
        rows.append({"kept": kept, "factor": _ci(factor),
                     "closed_form": (kept ** (1 / 12) + growth_q * (1 - start)) ** (12 * years)})
    frame = pd.DataFrame(rows)
    factors = dict(zip(frame.kept, (f[0] for f in frame.factor)))
    reproduced = factors[0.95] > 1.6 and 0.7 < factors[0.90] < 1.1
    return Check("leaky_bucket", frame, {"n": n, "start": start, "reproduced": reproduced})


def leaky_bucket_page(check: Check) -> Section:
    table = pd.DataFrame([{
        "kept per year": f"{r.kept:.0%}", "won per year": "10 % of the base",
        "Reichheld": "doubled" if r.kept == 0.95 else "not grown", "model: base after 14 years": fmt_ci(*r.factor) + " ×",
        "closed form (monthly compounding)": f"{r.closed_form:.2f} ×"} for r in check.rows.itertuples()])
    f95, f90 = (check.rows.set_index("kept").factor[k][0] for k in (0.95, 0.90))
    verdict = ("the first nearly doubles, the second does not grow, as Reichheld says." if check.numbers["reproduced"]
               else "the pattern Reichheld describes is not reproduced.")
    return Section(f"""
### Reichheld's leaky bucket

Two firms each win new customers worth 10 % of their current base a year (here through
referrals, q_wom = 1.1^(1/12) − 1 per month, in a market large enough not to saturate:
{check.numbers['start']:.1%} of N = {check.numbers['n']:,} adopted) and keep 95 % or 90 % of their customers a year.

{markdown_table(table)}

Reichheld's arithmetic is yearly net growth (≈ 5 % a year for 14 years: "doubled"; ≈ 0 %:
"not grown"). With monthly winning and losing the closed form gives 1.86 × and 0.88 ×; the
model's bases grow by {f95:.2f} × and {f90:.2f} ×: {verdict}
""")


# ----------------------------------------------------------------------------- marginal costs

def _focal_totals(res) -> pd.DataFrame:
    ts = res.timeseries[res.timeseries.firm == "focal"].sort_values(["replicate", "tick"])
    start = ts.groupby("replicate").customers.shift(1)
    ts = ts.assign(start=start.fillna(ts.customers + ts.lost - ts.won))
    return ts.groupby("replicate").agg(
        won=("won", "sum"), lost=("lost", "sum"), at_risk=("start", "sum"),
        acquisition=("acquisition_spend", "sum"), retention=("retention_spend", "sum"),
        npv=("discounted_profit", "sum"))


def _ratio_boot(spend: np.ndarray, effect: np.ndarray, draws: list[np.ndarray]) -> CI:
    """mean(spend)/mean(effect) with a 95 % percentile bootstrap over `draws` (index vectors);
    an infinite resample where the resampled effect is not positive."""
    boot = [spend[i].mean() / effect[i].mean() if effect[i].mean() > 0 else np.inf for i in draws]
    return (spend.mean() / effect.mean() if effect.mean() > 0 else np.nan, *percentile_interval(boot))


def marginal_costs(size: Size) -> Check:
    """Average and marginal costs of acquisition and retention over rho, with common random
    numbers, central differences and bootstrap intervals; Pfeifer's two conditions."""
    common = [f"market.n_customers={size.n}", f"horizon={size.horizon}"]
    budget = float(load_config(common).firm.budget)
    step = 0.10 * budget  # central difference: one line's spend 10 % of the budget up and down
    reps = 2 * size.reps
    rhos = np.linspace(0.1, 0.9, size.grid)
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []

    def run(total: float, retention: float) -> tuple[pd.DataFrame, pd.DataFrame]:
        res = simulate(load_config(common + [f"firm.budget={total}", f"strategy.retention_share={retention / total}"]),
                       replicates=reps)
        return _focal_totals(res), _focal(res)

    for rho in rhos:
        ret = rho * budget
        base, summary = run(budget, ret)
        a_up, _ = run(budget + step, ret)
        a_down, _ = run(budget - step, ret)
        r_up, _ = run(budget + step, ret + step)
        r_down, _ = run(budget - step, ret - step)
        # customers gained by acquisition spend; customers saved by retention spend, counted as the
        # fall in churn rate times the customers at risk (not as a fall in customers lost)
        won = (a_up.won - a_down.won).to_numpy(float)
        spend_a = (a_up.acquisition - a_down.acquisition).to_numpy(float)
        saved = ((r_down.lost / r_down.at_risk - r_up.lost / r_up.at_risk) * base.at_risk).to_numpy(float)
        spend_r = (r_up.retention - r_down.retention).to_numpy(float)
        kept_years = (base.at_risk - base.lost) / 12
        draws = [rng.integers(0, reps, reps) for _ in range(1000)]
        rows.append({"rho": rho, "npv": _ci(base.npv), "clv": _ci(summary.clv),
                     "cac": _ci(base.acquisition / base.won), "retention_cost": _ci(base.retention / kept_years),
                     "ratio": _ci((base.acquisition / base.won) / (base.retention / kept_years)),
                     "marginal_acquisition": _ratio_boot(spend_a, won, draws),
                     "marginal_retention": _ratio_boot(spend_r, saved, draws)})
    frame = pd.DataFrame(rows)
    best = frame.loc[int(np.argmax([v[0] for v in frame.npv]))]
    grid_step = float(rhos[1] - rhos[0])
    ma, mr, clv = best.marginal_acquisition, best.marginal_retention, best.clv
    return Check("marginal_costs", frame, {
        "n": size.n, "horizon": size.horizon, "reps": reps, "step": step, "best_rho": float(best.rho),
        "crossing": _crossing(frame), "grid_step": grid_step, "blattberg_deighton": _bd_verdict(ma, mr),
        "pfeifer": _pfeifer_verdict(ma, mr, clv)})


def marginal_costs_page(check: Check) -> Section:
    plt = _plt()
    rows, numbers = check.rows, check.numbers
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    x = rows.rho.to_numpy()
    for key, label in (("cac", "average: CAC"), ("retention_cost", "average: retention cost per customer-year"),
                       ("marginal_acquisition", "marginal: acquisition"), ("marginal_retention", "marginal: retention"),
                       ("clv", "customer lifetime value (summary clv)")):
        m, lo, hi = (np.array(v, float) for v in zip(*rows[key]))
        finite = np.isfinite(m) & np.isfinite(lo) & np.isfinite(hi)
        axes[0].errorbar(x[finite], m[finite], yerr=[m[finite] - lo[finite], hi[finite] - m[finite]], label=label,
                         capsize=2, ls="--" if key.startswith("marginal") else "-")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("ρ (retention share of budget)")
    axes[0].set_ylabel("cost or value per customer")
    axes[0].legend(fontsize=7)
    npv = np.array(list(rows.npv), float)
    axes[1].errorbar(x, npv[:, 0], yerr=[npv[:, 0] - npv[:, 1], npv[:, 2] - npv[:, 0]], capsize=2)
    axes[1].axvline(numbers["best_rho"], color="gray", ls=":")
    axes[1].set_xlabel("ρ")
    axes[1].set_ylabel("focal NPV")
    fig.tight_layout()
    table = pd.DataFrame([{
        "ρ": f"{r.rho:.2f}", "NPV": fmt_ci(*r.npv), "CAC": fmt_ci(*r.cac),
        "retention cost / customer-year": fmt_ci(*r.retention_cost), "ratio": fmt_ci(*r.ratio),
        "marginal acquisition cost": _fmt_unbounded(*r.marginal_acquisition),
        "marginal retention cost": _fmt_unbounded(*r.marginal_retention),
        "CLV": fmt_ci(*r.clv),
    } for r in rows.itertuples()])
    best = rows.loc[rows.rho == numbers["best_rho"]].iloc[0]
    return Section(f"""
### Blattberg & Deighton (1996), Pfeifer (2005): marginal costs at the best split

The focal firm's budget split ρ is swept (rivals balanced, default saturated market,
N = {numbers['n']:,}, {numbers['horizon']} months, {numbers['reps']} replicates, common random numbers across the five
runs of each ρ). Marginal costs by central differences: the spend on one line is raised and
lowered by 10 % of the budget ({numbers['step']:,.0f} a month); marginal acquisition cost = Δ acquisition
spend ÷ Δ customers won, marginal retention cost = Δ retention spend ÷ customers saved (fall in
churn rate × customers at risk); ratios of mean changes with 95 % bootstrap intervals over the
paired replicates. CLV is the summary's clv (docs/model.md §11) at each ρ.

{markdown_table(table)}

The profit-maximising split on this grid is ρ = {numbers['best_rho']:.2f}. There the marginal cost of
acquiring one more customer is {_fmt_unbounded(*best.marginal_acquisition)} and that of retaining one more {_fmt_unbounded(*best.marginal_retention)}.
Blattberg & Deighton's condition (equal marginal costs at the optimum): {numbers['blattberg_deighton']}
{_crossing_sentence(numbers['crossing'], numbers['best_rho'], numbers['grid_step'])}
Pfeifer's second condition (both equal the customer's lifetime value, {fmt_ci(*best.clv)}):
{numbers['pfeifer']}
""", [(fig, "marginal_costs.png",
       "Average and marginal costs of winning and keeping a customer over ρ, and CLV (left, log scale); "
       "focal NPV (right).")])


def _fmt_unbounded(mean: float, low: float, high: float) -> str:
    """A cost with its interval; an upper bound of ∞ where a resample's effect was not positive."""
    if np.isfinite(mean) and np.isfinite(low) and not np.isfinite(high):
        return f"{mean:,.0f} [{low:,.0f}, ∞)"
    return fmt_ci(mean, low, high)


def _crossing(rows: pd.DataFrame) -> float:
    """Where the marginal cost curves cross (linear interpolation of the log ratio between grid
    points); NaN where they do not cross on the grid."""
    ratio = [np.log(a[0] / r[0]) if a[0] > 0 and r[0] > 0 else np.nan
             for a, r in zip(rows.marginal_acquisition, rows.marginal_retention)]
    rhos = list(rows.rho)
    for (x0, y0), (x1, y1) in zip(zip(rhos, ratio), zip(rhos[1:], ratio[1:])):
        if np.isfinite(y0) and np.isfinite(y1) and y0 * y1 <= 0 and y0 != y1:
            return float(x0 + (x1 - x0) * y0 / (y0 - y1))
    return float("nan")


def _crossing_sentence(cross: float, best: float, step: float) -> str:
    """The crossing against the profit-maximising split on the grid."""
    if not np.isfinite(cross):
        return "The two marginal cost curves do not cross on this grid: **not reproduced**."
    where = ("within one grid step of the profit-maximising split: **reproduced within the grid's "
             "resolution**" if abs(cross - best) <= step else
             "more than one grid step from the profit-maximising split: **not reproduced**")
    return f"The two marginal cost curves cross at ρ ≈ {cross:.2f}, {where}."


def _overlap(a, b) -> bool:
    return bool(np.isfinite(a[1]) and np.isfinite(b[1]) and a[1] <= b[2] and b[1] <= a[2])


def _bd_verdict(ma, mr) -> str:
    if not (np.isfinite(ma[0]) and np.isfinite(mr[0])):
        return "**not measurable** at this size (a marginal effect was not positive)."
    if _overlap(ma, mr):
        return "**reproduced**: the two intervals overlap."
    return f"**not reproduced**: the intervals do not overlap (ratio {ma[0] / mr[0]:.2f})."


def _pfeifer_verdict(ma, mr, clv) -> str:
    both = [name for name, m in (("acquisition", ma), ("retention", mr)) if _overlap(m, clv)]
    if len(both) == 2:
        return "**reproduced**: both intervals overlap the CLV's."
    if both:
        return f"**reproduced only for {both[0]}**; the other marginal cost's interval misses the CLV's."
    return "**not reproduced**: neither marginal cost's interval overlaps the CLV's."


# ----------------------------------------------------------------------------- published benchmarks (issue 15)

def _focal(res) -> pd.DataFrame:
    return res.summary[res.summary.firm == "focal"].sort_values("replicate").reset_index(drop=True)


def _discounted_marketing(res, rate: float) -> np.ndarray:
    """Per replicate: the focal firm's marketing spend (acquisition, retention, incentives),
    discounted as profit is (docs/model.md §7.10: /(1 + d_m)^t)."""
    ts = res.timeseries[res.timeseries.firm == "focal"]
    monthly = (1 + rate) ** (1 / 12) - 1
    spend = (ts.acquisition_spend + ts.retention_spend + ts.incentive_spend) / (1 + monthly) ** ts.tick
    return spend.groupby(ts.replicate).sum().sort_index().to_numpy()


def _verdict(ci: CI, low: float, high: float) -> str:
    """reproduced when the interval overlaps the published range [low, high]."""
    if ci[2] < low or ci[1] > high:
        return "not reproduced"
    return "reproduced" if low <= ci[0] <= high else "reproduced only at the edge of the interval"


# Gupta, Lehmann & Stuart (2004), Journal of Marketing Research 41(1), 7-18: a 1 % improvement in
# retention, margin and acquisition cost raises customer value by about 5 %, 1 % and 0.1 %
# (their five firms: retention 3.0-7.1 %, margin 1 %, acquisition cost 0.02-0.32 %).
GLS = {"retention": (3.0, 7.1), "margin": (1.0, 1.0), "acquisition cost": (0.02, 0.32)}


def gupta_lehmann_stuart(size: Size) -> Check:
    """Elasticities of the focal firm's value to retention, margin and acquisition cost."""
    common = [f"market.n_customers={size.n}", f"horizon={size.horizon}"]
    base = _focal(simulate(load_config(common), replicates=size.reps))
    margin, onboarding = float(load_config(common).firm.margin), float(load_config(common).firm.onboarding_cost)
    levers = {  # the lever that moves the driver, and the driver per replicate before and after
        "retention": ("firm.quality=0.95", lambda f: 1 - f.churn_annual, lambda f: 1 - f.churn_annual),
        "margin": (f"firm.margin={1.1 * margin:.4g}", lambda f: margin + 0 * f.npv, lambda f: 1.1 * margin + 0 * f.npv),
        # the cost of winning a customer: acquisition spend per customer won plus onboarding
        "acquisition cost": (f"firm.onboarding_cost={0.8 * onboarding:.4g}", lambda f: f.cac + onboarding,
                             lambda f: f.cac + 0.8 * onboarding),
    }
    rows = []
    for name, (lever, before, after) in levers.items():
        moved = _focal(simulate(load_config(common + [lever]), replicates=size.reps))
        dv = (moved.npv - base.npv) / base.npv.mean()
        dx = (after(moved).to_numpy() - before(base).to_numpy()) / before(base).mean()
        if name == "acquisition cost":
            dx = -dx  # an improvement is a fall in cost
        e = paired_ratio_ci(100 * dv.to_numpy(), 100 * dx)
        low, high = GLS[name]
        rows.append({"driver": name, "lever": lever, "driver_change": 100 * dx.mean(), "value_change": 100 * dv.mean(),
                     "elasticity": e, "published": (low, high), "verdict": _verdict(e, low, high)})
    return Check("gupta_lehmann_stuart", pd.DataFrame(rows), {"n": size.n, "reps": size.reps})


def gupta_lehmann_stuart_page(check: Check) -> Section:
    table = pd.DataFrame([{
        "1 % improvement in": r.driver, "lever": f"`{r.lever}`", "driver change": f"{r.driver_change:+.1f} %",
        "value change": f"{r.value_change:+.1f} %", "elasticity (% value per % driver)": fmt_ci(*r.elasticity),
        "Gupta et al. (2004)": f"{r.published[0]:g} %" if r.published[0] == r.published[1] else
        f"{r.published[0]:g}–{r.published[1]:g} %", "verdict": r.verdict} for r in check.rows.itertuples()])
    return Section(f"""
### Gupta, Lehmann & Stuart (2004): what a 1 % improvement is worth

Customer value is the focal firm's 10-year NPV (default saturated market, N = {check.numbers['n']:,},
{check.numbers['reps']} replicates with common random numbers). Each driver is moved by one lever of the
focal firm only -- service quality for retention (the model has no direct retention lever:
quality raises satisfaction, which lowers churn), the gross margin, and the onboarding cost for
acquisition cost -- and the elasticity is the percentage change in value per percentage
improvement of the driver (ratio of mean changes, 95 % bootstrap interval over the paired
replicates). Gupta et al. report, for five firms, about 5 % (3.0–7.1 %) for retention, 1 % for
margin and 0.1 % (0.02–0.32 %) for acquisition cost.

{markdown_table(table)}

The ordering retention ≫ acquisition cost is the one Gupta et al. report or not, as the table
says; margin differs by construction: their customer value is proportional to margin, while
here marketing and capacity costs are subtracted from the gross margin, so a 1 % higher margin
raises the NPV by gross margin ÷ NPV per cent.
""")


# Schmitt, Skiera & Van den Bulte (2011), Journal of Marketing 75(1), 46-62: referred customers of
# a German bank were at least 16 % more valuable than other customers (contribution margin and
# retention), the difference persisting over about six years.
SCHMITT = 0.16


def referral_benchmark(size: Size) -> Check:
    """Value of customers won by word of mouth against others, over their first 24 months."""
    cfg = load_config([f"market.n_customers={size.n}", f"horizon={size.horizon}"])
    window = min(24, size.horizon // 2)
    rows = []
    for rep in range(size.reps):
        model = MarketModel(cfg, replicate=rep)
        col = model.columns
        sums = {True: [0.0, 0], False: [0.0, 0]}
        cohorts = []
        for _ in range(size.horizon):
            model.step()
            fresh = np.flatnonzero((col.tenure == 0) & (col.provider >= 0))
            cohorts.append((fresh, col.provider[fresh].copy(), col.referred[fresh].copy(), np.zeros(fresh.size)))
            for who, firm, referred, earned in cohorts[-window:]:
                stays = col.provider[who] == firm
                g = loyalty_growth(col.tenure[who].astype(np.float32), model.market.rules)
                earned += stays * col.value[who] * col.units[who] * g
            if len(cohorts) > window:
                who, firm, referred, earned = cohorts.pop(0)
                for flag in (True, False):
                    sums[flag][0] += earned[referred == flag].sum()
                    sums[flag][1] += int((referred == flag).sum())
        rows.append({"replicate": rep, "referred": sums[True][0] / max(sums[True][1], 1),
                     "other": sums[False][0] / max(sums[False][1], 1)})
    frame = pd.DataFrame(rows)
    ratio = paired_ratio_ci(frame.referred.to_numpy(), frame.other.to_numpy())
    extra = (ratio[0] - 1, ratio[1] - 1, ratio[2] - 1)
    verdict = "reproduced" if extra[1] >= SCHMITT else ("reproduced only at the edge of the interval"
                                                          if extra[2] >= SCHMITT else "not reproduced")
    return Check("referral_benchmark", frame, {"n": size.n, "reps": size.reps, "window": window, "extra": extra,
                                               "verdict": verdict})


def referral_benchmark_page(check: Check) -> Section:
    extra, numbers = check.numbers["extra"], check.numbers
    return Section(f"""
### Schmitt, Skiera & Van den Bulte (2011): referred customers are worth more

Every customer won in a month (default saturated market, N = {numbers['n']:,}, {numbers['reps']}
replicates) is followed for {numbers['window']} months; its value is the revenue it brings its new
provider while it stays. Referred customers (won by word of mouth) brought
**{100 * extra[0]:+.0f} %** [{100 * extra[1]:+.0f}, {100 * extra[2]:+.0f}] more than the others
(ratio of means over replicates, 95 % bootstrap interval). Schmitt et al. found referred bank
customers at least 16 % more valuable: **{numbers['verdict']}**. This is an assumption as much as a
finding: referred customers start with a bond higher by Δ_ref (`customers.referral_bonus`),
which the model writes in; with Δ_ref = 0 the difference comes only from who is referred.
""")


# Rust, Lemon & Zeithaml (2004), Journal of Marketing 68(1), 109-127: return on marketing as the
# change in customer equity per unit of marketing spent, net of that spend.
def rust_lemon_zeithaml(size: Size) -> Check:
    """Marginal return on marketing of the focal firm at three splits."""
    common = [f"market.n_customers={size.n}", f"horizon={size.horizon}"]
    cfg = load_config(common)
    budget = float(cfg.firm.budget_share)
    rate = float(cfg.market.annual_discount_rate)
    rows = []
    for rho in (0.2, 0.5, 0.8):
        at = common + [f"strategy.retention_share={rho}"]
        res0 = simulate(load_config(at), replicates=size.reps)
        res1 = simulate(load_config(at + [f"firm.budget_share={budget * 1.1:.6g}"]), replicates=size.reps)
        f0, f1 = _focal(res0), _focal(res1)
        d_npv = (f1.npv - f0.npv).to_numpy()
        d_spend = _discounted_marketing(res1, rate) - _discounted_marketing(res0, rate)
        rows.append({"rho": rho, "average_romi": _ci(f0.romi), "marginal_rom": paired_ratio_ci(d_npv, d_spend)})
    return Check("rust_lemon_zeithaml", pd.DataFrame(rows), {"reps": size.reps})


def rust_lemon_zeithaml_page(check: Check) -> Section:
    table = pd.DataFrame([{
        "ρ": r.rho, "average ROMI (summary column `romi`)": fmt_ci(*r.average_romi),
        "marginal ROM = ΔNPV / Δ discounted spend": fmt_ci(*r.marginal_rom),
        "an extra unit of marketing": "pays" if r.marginal_rom[1] > 0 else
        ("loses" if r.marginal_rom[2] < 0 else "breaks even")} for r in check.rows.itertuples()])
    return Section(f"""
### Rust, Lemon & Zeithaml (2004): marginal return on marketing

Rust et al. define the return on a marketing expenditure as the change in customer equity it
causes, net of the expenditure, per unit spent. With customer equity as the focal firm's
10-year NPV (which already subtracts the spend), the marginal return is ΔNPV ÷ Δ(discounted
marketing spend) when the budget rises by 10 % ({check.numbers['reps']} replicates with common random
numbers, ratio of mean changes, 95 % bootstrap interval). The summary's `romi` is an average
ratio ((gross margin − marketing spend) ÷ marketing spend), not this marginal one:

{markdown_table(table)}

A marginal return below zero means the budget is past its optimum at that split (see the
budget frontier study); the average ROMI stays large there, which is why Rust et al. ask for the
marginal one.
""")


# Nitzan & Libai (2011), Journal of Marketing 75(6), 24-38: exposure to a defecting neighbour
# raised a cellular customer's defection hazard by about 80 %.
NITZAN_LIBAI = 1.8
CONTAGION_GRID = (0.0, 8.0, 16.0, 32.0)


def nitzan_libai(size: Size) -> Check:
    """Hazard ratio of leaving after a contact left, with and without churn contagion."""
    rows = []
    for c in CONTAGION_GRID:
        cfg = load_config([f"market.n_customers={size.n}", f"horizon={min(size.horizon, 60)}",
                           f"customers.churn_contagion={c}"])
        exposed_n = exposed_left = other_n = other_left = 0
        for rep in range(size.reps):
            model = MarketModel(cfg, replicate=rep)
            col = model.columns
            indptr, indices = model.network.indptr, model.network.indices
            assert (np.diff(indptr) > 0).all()  # every customer has contacts (reduceat needs it)
            prev_exposed = np.zeros(col.provider.shape[0], dtype=bool)
            for _ in range(int(cfg.horizon)):
                before = col.provider.copy()
                model.step()
                left = (col.provider != before) & (before >= 0)
                # exposure: a contact left in the previous tick (the contagion of §7.6 acts then)
                at_risk = before >= 0
                exposed_n += int((at_risk & prev_exposed).sum())
                exposed_left += int((left & prev_exposed).sum())
                other_n += int((at_risk & ~prev_exposed).sum())
                other_left += int((left & ~prev_exposed).sum())
                prev_exposed = np.add.reduceat(left[indices].astype(np.int32), indptr[:-1]) > 0
        ratio = (exposed_left / exposed_n) / (other_left / other_n)
        se = np.sqrt(1 / exposed_left - 1 / exposed_n + 1 / other_left - 1 / other_n)  # log hazard ratio
        ci = (ratio, ratio * np.exp(-1.96 * se), ratio * np.exp(1.96 * se))
        rows.append({"contagion": c, "churn_exposed": exposed_left / exposed_n, "churn_other": other_left / other_n,
                     "hazard_ratio": ci, "verdict": _verdict(ci, 1.6, 2.0)})
    return Check("nitzan_libai", pd.DataFrame(rows), {"n": size.n, "reps": size.reps})


def nitzan_libai_page(check: Check) -> Section:
    table = pd.DataFrame([{
        "churn contagion c": r.contagion, "monthly churn after a contact left": f"{r.churn_exposed:.2%}",
        "otherwise": f"{r.churn_other:.2%}", "hazard ratio": fmt_ci(*r.hazard_ratio),
        "Nitzan & Libai (2011): about 1.8": r.verdict} for r in check.rows.itertuples()])
    return Section(f"""
### Nitzan & Libai (2011): churn is contagious

Monthly churn of customers one of whose contacts left their provider in the previous month,
against all others (default saturated market, N = {check.numbers['n']:,}, {check.numbers['reps']} replicates; the
interval is that of the log ratio of two binomial rates). Nitzan & Libai found exposure to a
defecting neighbour raised the defection hazard by about 80 %. "Reproduced" here means the
interval overlaps 1.6–2.0.

{markdown_table(table)}

c = 8 makes one defecting contact of ten raise the *intrinsic* hazard by 80 % (docs/model.md
§7.6); the ratio on *total* churn is smaller, because the rivals' pull is not contagious. The
published ratio is reproduced where the table says so: {_contagion_region(check.rows)}
""")


def _contagion_region(rows: pd.DataFrame) -> str:
    hits = list(rows.contagion[rows.verdict != "not reproduced"])
    if not hits:
        return "at none of the values tried; the default (c = 0) has no contagion."
    return (f"at c = {', '.join(f'{c:g}' for c in hits)}; the default (c = 0) has no contagion, so "
            "studies that need it must set it.")


def published_data(size: Size) -> Check:
    """Calibration to published retention curves and an adoption series, and the recovery study."""
    from marktsim.analysis import published

    scale = (published.Size() if size.n >= 10_000 else
             published.Size(simulated=3_000, trials=8, refine=12, bands=20))
    fits = published.retention_curves(scale)
    rows = pd.DataFrame([{"series": f.series, "variant": f.variant, "fit_mape": f.fit_mape,
                          "forecast_mape": f.forecast_mape, "sbg_forecast_mape": f.sbg_forecast_mape,
                          "reproduced": f.reproduced} for f in fits])
    return Check("published_data", rows, {"adoption": published.adoption(scale), "recovery": published.recovery()},
                 {"fits": fits})


def published_data_page(check: Check) -> Section:
    from marktsim.analysis import published

    fits = check.curves["fits"]
    text = "### Calibration to published data\n\n" + published.markdown(fits, check.numbers["adoption"],
                                                                         check.numbers["recovery"])
    return Section(text, files=[lambda folder: published.figure_retention(fits, folder / "retention_curves.png")])


# ----------------------------------------------------------------------------- the texts' claims

HORIZON_GRID = [
    [],
    ["customers.loyalty_growth_max=1.0"],
    ["customers.loyalty_growth_max=1.0", "customers.bond_gain_max=0.05"],
    ["competitors=same_as_focal"],
    ["competitors=same_as_focal", "customers.loyalty_growth_max=1.0", "customers.bond_gain_max=0.05"],
    ["market=growing", "competitors=same_as_focal"],
]


def _setting(extra: list[str]) -> str:
    return ", ".join(f"`{e}`" for e in extra) or "defaults"


def horizon_region(size: Size) -> Check:
    """Claim 3: search settings where acquisition-heavy leads early and retention-heavy late."""
    n, reps = (3_000, 10) if size.n >= 10_000 else (600, 3)
    horizons = [h for h in (12, 36, 120) if h <= size.horizon] or [size.horizon]
    rows = []
    for extra in HORIZON_GRID:
        cum = {}
        for strategy in ("retention_heavy", "acquisition_heavy"):
            cfg = load_config([f"market.n_customers={n}", f"horizon={max(horizons)}", f"strategy={strategy}"] + extra)
            ts = simulate(cfg, replicates=reps).timeseries.query("firm == 'focal'").sort_values(["replicate", "tick"])
            ts = ts.assign(cum=ts.groupby("replicate").discounted_profit.cumsum())
            cum[strategy] = {h: ts[ts.tick == h].cum.to_numpy() for h in horizons}
        diffs = {h: _ci(cum["retention_heavy"][h] - cum["acquisition_heavy"][h]) for h in horizons}
        early, late = diffs[horizons[0]], diffs[horizons[-1]]
        rows.append({"setting": extra, **{f"after_{h}": diffs[h] for h in horizons},
                     "changes_hands": bool(early[2] < 0 and late[1] > 0)})
    return Check("horizon_region", pd.DataFrame(rows), {"n": n, "reps": reps, "horizons": horizons})


def horizon_region_page(check: Check) -> Section:
    horizons = check.numbers["horizons"]
    table = pd.DataFrame([{"setting (besides the defaults)": _setting(r["setting"]),
                           **{f"retention − acquisition after {h} months": fmt_ci(*r[f"after_{h}"]) for h in horizons}}
                          for r in check.rows.to_dict("records")])
    found = [", ".join(r.setting) or "defaults" for r in check.rows.itertuples() if r.changes_hands]
    conclusion = (f"Acquisition leads early and retention late in: {'; '.join(found)}." if found else
                  "In none of these settings does the lead change hands: when a lone firm goes retention-heavy it "
                  "trails from the first year on, and when the whole market does it leads from the first year on. "
                  "In the model, retention does not pay *later* than acquisition; it pays or does not from the start.")
    return Section(f"""
#### Claim 3: is there a region where acquisition leads early and loyalty late?

Cumulative discounted profit of a retention-heavy minus an acquisition-heavy focal firm
(paired by seed; N = {check.numbers['n']:,}, {check.numbers['reps']} replicates), in settings chosen to make loyalty pay late:
stronger growth of spend with tenure (`loyalty_growth_max`), slower bond building
(`bond_gain_max`), the whole market adopting the strategy, a growing market.

{markdown_table(table)}

{conclusion}
""")


def abc_region(size: Size) -> Check:
    """Claim 5: abc with CRM vs uniform, at the default budget and where retention money is scarce."""
    rows = []
    for share, label in ((0.08, "default budget (8 %)"), (0.02, "scarce budget (2 %)")):
        npv = {}
        for targeting in ("uniform", "abc"):
            cfg = load_config([f"market.n_customers={size.n}", f"horizon={size.horizon}", "strategy=retention_heavy",
                               f"firm.budget_share={share}", f"firm.targeting={targeting}", "firm.abc_weights=[5,1,0.2]"])
            npv[targeting] = simulate(cfg, replicates=size.reps).summary.query("firm == 'focal'").npv.to_numpy()
        rows.append({"budget_share": share, "setting": label, "uniform": _ci(npv["uniform"]), "abc": _ci(npv["abc"]),
                     "difference": _ci(npv["abc"] - npv["uniform"])})  # common random numbers: same seeds
    return Check("abc_region", pd.DataFrame(rows), {"n": size.n, "reps": size.reps, "horizon": size.horizon})


def abc_region_page(check: Check) -> Section:
    table = pd.DataFrame([{"setting": r.setting, "uniform": fmt_ci(*r.uniform), "abc (5 : 1 : 0.2), CRM": fmt_ci(*r.abc),
                           "abc − uniform": fmt_ci(*r.difference)} for r in check.rows.itertuples()])
    return Section(f"""
#### Claim 5: ABC targeting with CRM beats uniform retention (seed 003)

Retention-heavy focal firm (ρ = 0.8) with CRM, value lognormal (A customers bring 58 % of
revenue); NPV over {check.numbers['horizon']} months, N = {check.numbers['n']:,}, {check.numbers['reps']} replicates; the difference is
paired by seed.

{markdown_table(table)}

At the default budget, retention spend per customer is already 2.6 × r_scale and bonds are
near their ceiling whoever receives the money, so targeting changes little (see
experiments/targeting). Where retention money is scarce, concentrating it on A customers is
where the claim could hold. {' '.join(_abc_sentence(r.setting, r.difference) for r in check.rows.itertuples())}
""")


def _abc_sentence(label: str, ci: CI) -> str:
    mean, lo, hi = ci
    if lo > 0:
        return f"With the {label}, ABC beats uniform (paired difference {fmt_ci(mean, lo, hi)})."
    if hi < 0:
        return f"With the {label}, ABC loses to uniform (paired difference {fmt_ci(mean, lo, hi)})."
    return f"With the {label}, the difference is within noise ({fmt_ci(mean, lo, hi)})."


LONE_FIRM_GRID = [
    [],
    ["market.acquisition_scale=8"],
    ["customers.retention_scale=20"],
    ["customers.retention_scale=20", "market.acquisition_scale=8"],
    ["customers.retention_scale=60", "market.acquisition_scale=8"],
    ["customers.bond_decay=0.1", "customers.bond_gain_max=0.4", "customers.retention_scale=20",
     "market.acquisition_scale=8"],
    ["firm.onboarding_cost=400", "market.acquisition_scale=8"],
    ["firm.onboarding_cost=200", "customers.retention_scale=20", "market.acquisition_scale=8"],
]


def lone_firm_region(size: Size) -> Check:
    """Claim 2 for a lone firm: search settings where retention-heavy beats acquisition-heavy."""
    n, reps = (4_000, 10) if size.n >= 10_000 else (600, 3)
    rows = []
    for extra in LONE_FIRM_GRID:
        npv = {}
        for strategy in ("retention_heavy", "acquisition_heavy"):
            cfg = load_config([f"market.n_customers={n}", f"horizon={size.horizon}", f"strategy={strategy}"] + extra)
            npv[strategy] = simulate(cfg, replicates=reps).summary.query("firm == 'focal'").npv.to_numpy()
        mean, lo, hi = _ci(npv["retention_heavy"] - npv["acquisition_heavy"])
        verdict = "retention-heavy wins" if lo > 0 else "acquisition-heavy wins" if hi < 0 else "tie"
        rows.append({"setting": extra, "difference": (mean, lo, hi), "verdict": verdict})
    return Check("lone_firm_region", pd.DataFrame(rows), {"n": n, "reps": reps, "horizon": size.horizon})


def lone_firm_region_page(check: Check) -> Section:
    table = pd.DataFrame([{"setting (besides the defaults)": _setting(r.setting),
                           "NPV retention-heavy − acquisition-heavy": fmt_ci(*r.difference), "verdict": r.verdict}
                          for r in check.rows.itertuples()])
    found = [", ".join(r.setting) for r in check.rows.itertuples() if r.verdict == "retention-heavy wins"]
    conclusion = (f"Retention-heavy wins for a lone firm in: {'; '.join(found)}." if found else
                  "In none of these settings does retention-heavy beat acquisition-heavy for a lone firm; "
                  "the closest are ties where acquisition is dear and retention spend far from saturation. "
                  "Acquisition pressure reaches every non-customer of the firm (three quarters of the market), "
                  "retention spend only its own customers: a lone firm gains more from the first.")
    return Section(f"""
#### Claim 2 for a lone firm: is there a region where retention-heavy wins?

Saturated market, rivals balanced; paired by seed; N = {check.numbers['n']:,}, {check.numbers['reps']} replicates,
{check.numbers['horizon']} months. Settings chosen to favour retention: dearer acquisition
(`market.acquisition_scale`), retention spend further from saturation
(`customers.retention_scale`), faster bond decay, dearer onboarding.

{markdown_table(table)}

{conclusion}
""")


def face_validity(size: Size) -> Check:
    """A few customers' satisfaction, bond and provider through an overload episode."""
    cfg = load_config(["market=growing", f"market.n_customers={max(size.n, 2000)}", "horizon=48",
                       "firm.capacity_factor=1.5", "strategy.campaign_start=6", "strategy.campaign_length=6",
                       "strategy.campaign_boost=4"])
    model = MarketModel(cfg, replicate=0)
    col = model.columns
    rng = np.random.default_rng(5)
    focal = np.flatnonzero(col.provider == 0)
    chosen = np.concatenate([rng.choice(focal[col.tenure[focal] >= 12], 3, replace=False),
                             rng.choice(focal[col.tenure[focal] < 3], 2, replace=False)])
    views = [model.customers[int(i)] for i in chosen]
    rows = []
    for tick in range(1, 49):
        model.step()
        utilisation = float(model.records()[-1][0, M["utilisation"]])
        for i, v in enumerate(views):
            rows.append({"tick": tick, "customer": v.index, "group": "established" if i < 3 else "new",
                         "kind": v.kind, "satisfaction": v.satisfaction, "bond": v.bond, "provider": v.provider,
                         "waiting": bool(v.waiting), "utilisation": utilisation})
    return Check("face_validity", pd.DataFrame(rows))


def face_validity_page(check: Check) -> Section:
    plt = _plt()
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    rows = check.rows
    for i, (customer, path) in enumerate(rows.groupby("customer", sort=False)):
        label = f"customer {customer} ({path.group.iloc[0]}, {path.kind.iloc[0]})"
        ticks = path.tick.to_numpy()
        line = axes[0].plot(ticks, path.satisfaction, label=label)[0]
        axes[1].plot(ticks, path.bond, color=line.get_color())
        axes[2].step(ticks, path.provider.to_numpy() + 0.06 * i, where="mid", color=line.get_color())
        waiting = path.waiting.to_numpy()
        axes[0].scatter(ticks[waiting], path.satisfaction.to_numpy()[waiting], color=line.get_color(), s=8, marker="x")
    ax2 = axes[0].twinx()
    market = rows.drop_duplicates("tick")
    ax2.plot(market.tick, market.utilisation, color="black", lw=0.8, ls=":")
    ax2.set_ylabel("focal utilisation (dotted)")
    for ax in axes:
        ax.axvspan(6, 12, color="orange", alpha=0.12)
    axes[0].set_ylabel("satisfaction (x: waiting)")
    axes[1].set_ylabel("bond")
    axes[2].set_ylabel("provider (−1: none)")
    axes[2].set_xlabel("month (shaded: campaign)")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return Section("""
### Face validity: individual customers through an overload

Growing market, focal capacity 1.5 × initial demand, a campaign in months 6–11 (shaded).
Three established and two new customers of the focal firm, read through the `Customer`
agent views each month: satisfaction drops while they wait (x) as utilisation (dotted) hits
1; new customers' satisfaction moves faster (α_new = 0.5) than established ones'
(α_est = 0.2); bonds keep growing while retention spend reaches them; customers who leave
restart at s_0 and b_0 with their new provider (or become prospects, −1).
""", [(fig, "face_validity.png", "Satisfaction, bond and provider of five customers through an overload episode.")])


# ----------------------------------------------------------------------------- assembly

CLAIMS = """
Each claim is tested by a study with replicates and 95 % intervals; the studies' pages hold
the tables and figures, and the numbers below are filled in from the studies' committed
findings (`marktsim-study render`; docs/studies.md):

| # | claim (seed) | study | finding |
|---|---|---|---|
| 1 | winning a customer costs about five times keeping one for a year (001) | [default_market](../experiments/default_market), docs/model.md §9 | CAC / retention cost per customer-year = <!--v default_market/cost_ratio f2_ci--><!--/v-->, but **an identity, not evidence**: the ratio is ((1 − ρ)/ρ) × mean lifetime × lost/won; the marginal costs, which are evidence, are in section 2 |
| 2 | in a saturated market retention-heavy beats acquisition-heavy on 10-year NPV and churn; in a growing market the ranking flips or narrows (001, 004) | [retention_vs_acquisition](../experiments/retention_vs_acquisition), [strategy_game](../experiments/strategy_game) | **holds when the whole market adopts the strategy** (acquisition-heavy <!--v retention_vs_acquisition/saturated.whole.focal_limited.acquisition_advantage spct0_ci--><!--/v-->), **not for a lone firm** (acquisition-heavy <!--v retention_vs_acquisition/saturated.alone.focal_limited.acquisition_advantage spct0_ci--><!--/v-->): a prisoner's dilemma (strategy game). Churn is lower under retention-heavy everywhere. In the growing market the ranking depends on capacity: acquisition-heavy wins alone without capacity limits (<!--v retention_vs_acquisition/growing.alone.unlimited.acquisition_advantage spct0_ci--><!--/v-->), retention-heavy when capacity binds |
| 3 | short-term incentives lead early, loyalty late (004) | [horizon](../experiments/horizon), [incentives](../experiments/incentives), table below | **not reproduced**: the ranking hardly changes between 12, 36 and 120 months in any market or capacity regime; where incentives lead (a growing market without capacity limits) they lead at every horizon. Moving money from incentives to retention pays only where capacity binds (growing market: <!--v incentives/growing.0.3.retention_over_incentives spct0_ci--><!--/v-->) |
| 4 | a campaign that overloads capacity raises churn among existing customers too; existing_first, delay communication and capacity_aware each reduce it (002) | [capacity_shock](../experiments/capacity_shock) | **holds** for the campaign (established churn <!--v capacity_shock/0.0.fifo.false.balanced.fixed.0.0.churn_established pct2--><!--/v--> → <!--v capacity_shock/4.0.fifo.false.balanced.fixed.0.0.churn_established pct2--><!--/v--> a month, NPV <!--v capacity_shock/campaign_npv_change spct0_ci--><!--/v-->), for delay communication (→ <!--v capacity_shock/4.0.fifo.true.balanced.fixed.0.0.churn_established pct2--><!--/v-->) and capacity_aware (→ <!--v capacity_shock/4.0.fifo.false.capacity_aware.fixed.0.0.churn_established pct2--><!--/v-->); **not** for existing_first (<!--v capacity_shock/4.0.existing_first.false.balanced.fixed.0.0.churn_established pct2--><!--/v-->): the established customers alone exceed capacity |
| 5 | ABC targeting with CRM beats uniform retention when value is Pareto-like (003) | [targeting](../experiments/targeting), table below | **not reproduced**: ABC against uniform <!--v targeting/default.abc_vs_uniform spct0_ci--><!--/v--> (B2B market: <!--v targeting/b2b.abc_vs_uniform spct0_ci--><!--/v-->), value-weighted worse; nor in the settings searched below |
| 6 | customers won by word of mouth are worth more than customers won by advertising (003) | Schmitt, Skiera & Van den Bulte, section 2 | as section 2 says; the referral bond bonus Δ_ref writes part of it in |
| 7 | "don't rely mainly on acquisition" (001, closing advice) | [budget_frontier](../experiments/budget_frontier), [strategy_game](../experiments/strategy_game) | **contradicted for a single firm**: its best split leans to acquisition (<!--v budget_frontier/0.08.2.0.best_rho f2_ci--><!--/v--> at the defaults; equilibrium ρ* = <!--v strategy_game/saturated.rho_star f2_ci--><!--/v-->), **right for the market as a whole** (joint optimum ρ_J = <!--v strategy_game/saturated.rho_joint f2_ci--><!--/v-->) |

Claims 2 (for a lone firm), 3 and 5 are examined further here, over settings the studies did
not run:
"""

# the page in order: headings and fixed text, and each check with the renderer of its section
PAGE: list[str | tuple[Callable[[Size], Check], Callable[[Check], Section]]] = [
    "## 1. Verification against closed forms",
    (bass, bass_page), (markov, markov_page), (lifetime_value, lifetime_value_page),
    "## 2. Published results",
    (reichheld_sasser, reichheld_sasser_page), (leaky_bucket, leaky_bucket_page),
    (marginal_costs, marginal_costs_page), (gupta_lehmann_stuart, gupta_lehmann_stuart_page),
    (rust_lemon_zeithaml, rust_lemon_zeithaml_page), (referral_benchmark, referral_benchmark_page),
    (nitzan_libai, nitzan_libai_page), (published_data, published_data_page),
    "## 3. The source texts' claims", CLAIMS,
    (lone_firm_region, lone_firm_region_page), (horizon_region, horizon_region_page), (abc_region, abc_region_page),
    "## 4. Micro-level face validity",
    (face_validity, face_validity_page),
]


def _write(section: Section, out: Path) -> str:
    """Write the section's figures under `out`/figures and return its Markdown."""
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    parts = [section.text.strip() + "\n"]
    for write in section.files:
        write(folder)
    for fig, name, caption in section.figures:
        fig.savefig(folder / name, dpi=100)
        import matplotlib.pyplot as plt

        plt.close(fig)
        parts.append(f"![{caption}](figures/{name})\n\n*{caption}*\n")
    return "\n".join(parts)


def run(size_name: str = "full", out: Path | str = "docs") -> Validation:
    """Run every check and write `<out>/validation.md` and `<out>/figures/*.png`; returns the
    page's path and every check's data."""
    size = Size.named(size_name)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    parts, checks = [], {}
    for item in PAGE:
        if isinstance(item, str):
            parts.append(item.strip() + "\n")
            continue
        compute, render = item
        check = compute(size)
        checks[check.name] = check
        parts.append(_write(render(check), out))
    head = f"""# Validation of marktsim

Generated by `make validate` (`python -m marktsim.analysis.validation --size {size_name}`) on
{time.strftime('%Y-%m-%d')} in {time.time() - started:.0f} s. Every number below is a mean over
independent replicates with its 95 % t-interval unless stated otherwise; rerun the command to
regenerate this page and its figures. The exact statistical tests of the same reductions
(binomial z-scores, stationary distributions) are in `tests/test_reductions.py`.
"""
    path = out / "validation.md"
    path.write_text(head + "\n" + "\n".join(parts), encoding="utf-8")
    return Validation(path, checks)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["full", "small"], default="full")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args(argv)
    print(f"validation: {run(args.size, args.out).path}")


if __name__ == "__main__":
    main()
