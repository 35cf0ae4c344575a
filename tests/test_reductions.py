"""MODEL.md §7: the model reduces exactly to known closed forms when mechanisms are off.

Tolerances come from theory: exact binomial laws of each tick's transitions (z-scores),
binomial stationary distributions, the linear-noise variance of Bass diffusion, and the
exact distribution of a geometric lifetime. Four standard errors throughout (a false alarm
rate below 1e-4 per check).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marktsim.analysis.reductions import bass_config, lifetime_config, markov_config
from marktsim.config import load_config
from marktsim.simulation import simulate

pytestmark = pytest.mark.usefixtures("engine")  # every test here runs on both engines

Z = 4.0


def _bass_curve(p, q, horizon, n):
    """Bass recursion and the linear-noise variance of the adopted share around it."""
    f, var, mean, variance = 0.0, 0.0, [], []
    for _ in range(horizon):
        pi = p + q * f
        slope = 1.0 - pi + q * (1.0 - f)  # d/dF of F + (1 − F)(p + qF)
        var = slope**2 * var + (1.0 - f) * pi * (1.0 - pi) / n
        f = f + (1.0 - f) * pi
        mean.append(f)
        variance.append(var)
    return np.array(mean), np.array(variance)


@pytest.mark.parametrize("p, q, nu", [(0.03 / 12, 0.38 / 12, 1.0), (0.01, 0.1, 1.0), (0.02, 0.0, 1.0),
                                      (0.01, 0.1, 0.25)])
def test_bass_transition_law_is_exact(p, q, nu):
    """Adopters at tick t ~ Binomial(prospects, p + q·F_t): the Bass hazard, tick by tick; with an
    adoption response ν < 1 the same law holds with p = ν·P_0 (the budget gives P_0 = p/ν)."""
    n, horizon, reps = 5000, 60, 4
    res = simulate(bass_config(n, p, q, horizon, adoption_response=nu), replicates=reps)
    ts = res.timeseries.sort_values(["replicate", "tick"])
    z = []
    for _, g in ts.groupby("replicate"):
        before = np.concatenate(([0], g.customers.to_numpy()[:-1]))
        prospects = n - before
        prob = np.minimum(1.0, p + q * before / n)
        sd = np.sqrt(prospects * prob * (1 - prob))
        z.extend((g.won.to_numpy() - prospects * prob) / sd)
        assert (g.lost == 0).all()
    z = np.array(z)
    assert abs(z.mean()) * np.sqrt(len(z)) < Z
    assert abs((z**2).mean() - 1.0) < Z * np.sqrt(2.0 / len(z))


def test_bass_mean_path_follows_the_bass_curve():
    """p = 0.03/12, q = 0.38/12: the mean adopted share tracks F_{t+1} = F_t + (1 − F_t)(p + qF_t)."""
    p, q, n, horizon, reps = 0.03 / 12, 0.38 / 12, 20_000, 120, 5
    res = simulate(bass_config(n, p, q, horizon), replicates=reps)
    share = res.timeseries.groupby("tick").customers.mean().to_numpy() / n
    curve, var = _bass_curve(p, q, horizon, n)
    tolerance = Z * np.sqrt(var / reps) + q * var  # sampling error + mean-field bias bound
    assert np.all(np.abs(share - curve) <= tolerance + 1e-12)


@pytest.mark.parametrize("h, p0, p1", [(0.01, 0.06, 0.02), (0.03, 0.01, 0.05), (0.0, 0.04, 0.04)])
def test_two_state_markov(h, p0, p1):
    """Constant hazards: transitions are Binomial(n_j, x_jk) each tick, and the share of firm 0
    converges to x_10 / (x_01 + x_10), x_jk = h + (1 − h)·σ·P_k."""
    n, horizon, reps, lam, s0 = 4000, 150, 4, 0.5, 0.6
    sigma = 1 - lam * s0
    x01, x10 = h + (1 - h) * sigma * p1, h + (1 - h) * sigma * p0
    res = simulate(markov_config(n, h, p0, p1, horizon, lam, s0), replicates=reps)
    ts = res.timeseries
    z_lost, z_won = [], []
    for _, g in ts.groupby("replicate"):
        f0 = g[g.firm == "focal"].sort_values("tick")
        before0 = np.concatenate(([n // 2], f0.customers.to_numpy()[:-1]))
        z_lost.extend((f0.lost.to_numpy() - before0 * x01) / np.sqrt(before0 * x01 * (1 - x01)))
        before1 = n - before0
        z_won.extend((f0.won.to_numpy() - before1 * x10) / np.sqrt(before1 * x10 * (1 - x10)))
    for z in (np.array(z_lost), np.array(z_won)):
        assert abs(z.mean()) * np.sqrt(len(z)) < Z
    stationary = x10 / (x01 + x10)
    final = ts[(ts.firm == "focal") & (ts.tick == horizon)].share.mean()
    transient = abs(0.5 - stationary) * (1 - x01 - x10) ** horizon
    assert abs(final - stationary) < Z * np.sqrt(stationary * (1 - stationary) / (n * reps)) + transient


def test_lifetime_value_of_the_initial_cohort():
    """Constant hazard h and margin m per customer and tick: the mean discounted margin of the
    initial cohort is m·(1 − (r/(1+d))^T)/(1 + d − r), r = 1 − h (margin earned in every tick
    a customer starts with the firm, discounted by (1+d)^t; Gupta–Lehmann's m·r/(1+d−r)
    counts margin only at the end of each tick survived, i.e. ours divided by r)."""
    n, h, horizon, reps, margin, value, annual = 5000, 0.02, 120, 3, 0.3, 100.0, 0.10
    cfg = lifetime_config(n, h, horizon, annual, margin, value)
    res = simulate(cfg, replicates=reps)
    per_customer = res.summary.npv.to_numpy() / n
    d = (1 + annual) ** (1 / 12) - 1
    r = 1 - h
    m = margin * value
    closed = m * (1 - (r / (1 + d)) ** horizon) / (1 + d - r)
    # exact mean and variance of one customer's discounted margin (lifetime L = ticks served)
    disc = np.cumsum(m / (1 + d) ** np.arange(1, horizon + 1))
    prob = np.array([r ** (k - 1) * (1 - r) for k in range(1, horizon)] + [r ** (horizon - 1)])
    mean = float((prob * disc).sum())
    sd = float(np.sqrt((prob * disc**2).sum() - mean**2))
    assert abs(per_customer.mean() - closed) < Z * sd / np.sqrt(n * reps)
    # the cohort really shrinks by the hazard: lost customers are Binomial each tick
    lost = res.timeseries.groupby("replicate").lost.sum().to_numpy()
    expected = n * (1 - r**horizon)
    assert np.all(np.abs(lost - expected) < Z * np.sqrt(n * r**horizon * (1 - r**horizon)))


def _check_conservation_and_service(res, n, saturated):
    ts = res.timeseries
    for (rep, tick), g in ts.groupby(["replicate", "tick"]):
        total = g.customers.sum()
        assert total == n if saturated else total <= n
    for (rep, firm), g in ts.groupby(["replicate", "firm"], observed=True):
        g = g.sort_values("tick")
        backlog_in = np.concatenate(([0.0], g.backlog_units.to_numpy()[:-1]))
        lhs = g.demand_units.to_numpy() + backlog_in
        rhs = g.served_units.to_numpy() + g.backlog_units.to_numpy() + g.lost_units.to_numpy()
        np.testing.assert_allclose(lhs, rhs, rtol=1e-5, atol=1e-3)
        cap = g.capacity.to_numpy()
        finite = np.isfinite(cap)
        assert np.all(g.served_units.to_numpy()[finite] <= cap[finite] * (1 + 1e-6))
        assert (g[["customers", "won", "lost", "served_units", "backlog_units", "lost_units"]] >= 0).all().all()


@pytest.mark.parametrize("market", ["saturated", "growing"])
@pytest.mark.parametrize("priority", ["fifo", "existing_first", "new_first"])
def test_conservation_and_service_accounting_under_overload(market, priority):
    n = 1500
    res = simulate(load_config([
        f"market={market}", f"market.n_customers={n}", "horizon=40", "firm.capacity_factor=0.9",
        f"firm.priority={priority}", "strategy.campaign_start=5", "strategy.campaign_length=10",
        "strategy.campaign_boost=3", "competitors.capacity_factor=1.0",
    ]), replicates=2)
    assert res.timeseries.lost_units.sum() > 0  # the overload really happened
    _check_conservation_and_service(res, n, market == "saturated")


def test_unsaturated_customers_plus_prospects_is_n():
    from marktsim.model import MarketModel

    model = MarketModel(load_config(["market=growing", "market.n_customers=800", "horizon=30"]))
    for _ in range(30):
        model.step()
        customers = model.records()[-1][:, 0].sum()
        prospects = int((model.columns.provider == -1).sum())
        assert customers + prospects == 800


def test_unlimited_capacity_equals_capacity_above_total_demand():
    common = ["market.n_customers=1000", "horizon=24", "firm.capacity_cost=0", "customers.b2b_share=0.3"]
    a = simulate(load_config(common + ["firm.capacity=null"]), replicates=2).timeseries
    b = simulate(load_config(common + ["firm.capacity=1e12"]), replicates=2).timeseries
    cols = [c for c in a.columns if c not in ("capacity", "utilisation")]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert (b[b.firm == "focal"].capacity == 1e12).all() and a[a.firm == "focal"].capacity.isna().all()


@pytest.mark.parametrize("alpha, beta", [(0.704, 1.182), (2.0, 5.0), (0.5, 0.5)])
def test_beta_propensity_reduces_to_the_shifted_beta_geometric(alpha, beta):
    """θ_i ~ Beta(α, β) per year and nothing else moving the hazard: the share of the cohort
    surviving t years is B(α, β + t)/B(α, β) (Fader & Hardie 2007). Each customer survives t
    periods with that probability, independently, so survivors ~ Binomial(N, S(t)) exactly."""
    from marktsim.analysis.reductions import sbg_config, sbg_survival

    n, periods, reps = 20_000, 8, 2
    res = simulate(sbg_config(n, alpha, beta, periods), replicates=reps)
    expected = sbg_survival(alpha, beta, periods)[1:]
    for _, g in res.timeseries.groupby("replicate"):
        survivors = g.sort_values("tick").customers.to_numpy()[11::12]  # after 1, 2, … years
        assert survivors.shape == (periods,)
        sd = np.sqrt(n * expected * (1 - expected))
        assert np.all(np.abs(survivors - n * expected) < Z * sd), (survivors, n * expected)
        assert (g.lost == g.lost_intrinsic).all() and g.won.sum() == 0  # the precondition: a closed cohort


def test_gamma_propensity_survival_is_the_gamma_mixture_of_geometric_lifetimes():
    """z_i ~ Gamma(k, 1/k), a constant base hazard h per tick: the share surviving t ticks is
    E[(1 − min(1, h·z))^t] over the gamma (computed by quadrature); survivors are Binomial."""
    from scipy import integrate, stats

    from marktsim.analysis.reductions import cohort_overrides

    n, horizon, h, k = 20_000, 48, 0.03, 0.5
    cfg = load_config(cohort_overrides(n, horizon, "gamma", propensity_shape=k, churn_base=h,
                                       churn_dissatisfaction=0, bond_protection=0, b2b_share=0))
    res = simulate(cfg, replicates=2)
    gamma = stats.gamma(k, scale=1 / k)
    for t in (6, 12, 24, 48):
        s = integrate.quad(lambda z: (1 - min(1.0, h * z)) ** t * gamma.pdf(z), 0, np.inf, limit=200)[0]
        geometric = (1 - h) ** t  # the same mean hazard without heterogeneity
        assert s > geometric + (0.05 if t == 48 else 0.0)  # the precondition: heterogeneity matters
        for _, g in res.timeseries.groupby("replicate"):
            survivors = g[g.tick == t].customers.iloc[0]
            assert abs(survivors - n * s) < Z * np.sqrt(n * s * (1 - s))


def test_base_hazard_of_beta_propensities_is_the_mean_per_tick_hazard():
    from marktsim.engine.rules import base_hazard, per_tick_hazard

    c = {"propensity": "beta", "propensity_alpha": 0.704, "propensity_beta": 1.182, "period_ticks": 12,
         "churn_base": 0.005}
    theta = np.random.default_rng(0).beta(0.704, 1.182, 2_000_000)
    draws = per_tick_hazard(theta, 12)
    assert abs(draws.mean() - base_hazard(c)) < Z * draws.std() / np.sqrt(theta.size)
    assert base_hazard({**c, "propensity": "gamma"}) == 0.005 and base_hazard({**c, "propensity": "none"}) == 0.005
