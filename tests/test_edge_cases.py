"""Edge cases: degenerate sizes and budgets keep every identity and produce no NaN or
negative counts (ratio columns are NaN only where their denominator is zero: documented)."""

from __future__ import annotations

import numpy as np
import pytest

from marktsim.config import load_config
from marktsim.simulation import simulate

pytestmark = pytest.mark.usefixtures("engine")  # every test here runs on both engines

COUNTS = ["customers", "won", "won_by_wom", "lost", "lost_intrinsic", "lost_poached", "promoters", "detractors",
          "demand_units", "served_units", "backlog_units", "lost_units", "customers_new", "lost_new"]
MAY_BE_NAN = {"cac", "utilisation", "satisfaction_mean", "bond_mean", "capacity"}


def _check(res, n, saturated=True):
    ts = res.timeseries
    others = [c for c in ts.columns if c not in MAY_BE_NAN and c != "firm"]
    assert np.isfinite(ts[others].to_numpy(dtype=float)).all()
    assert (ts[COUNTS] >= 0).all().all()
    assert ts.cac.isna().eq(ts.won == 0).all()
    assert ts.satisfaction_mean.isna().eq(ts.customers == 0).all()
    totals = ts.groupby(["replicate", "tick"]).customers.sum()
    assert (totals == n).all() if saturated else (totals <= n).all()
    for _, g in ts.groupby(["replicate", "firm"], observed=True):
        backlog_in = np.concatenate(([0.0], g.backlog_units.to_numpy()[:-1]))
        np.testing.assert_allclose(g.demand_units + backlog_in, g.served_units + g.backlog_units + g.lost_units,
                                   rtol=1e-5, atol=1e-3)
    summary = res.summary.drop(columns=["firm", "cac", "retention_cost_per_customer_year", "cost_ratio", "clv", "romi",
                                        "churn_incentive", "churn_other", "clv_incentive", "clv_other"])
    assert np.isfinite(summary.to_numpy(dtype=float)).all()


@pytest.mark.parametrize(
    "overrides",
    [
        ["firm.budget=0"],
        ["firm.capacity=0"],
        ["market.n_competitors=0"],
        ["customers.b2b_share=1"],
        ["strategy.retention_share=0"],
        ["strategy.retention_share=1"],
        ["horizon=1"],
        ["market.n_competitors=20"],
        ["customers.max_wait=0", "firm.capacity_factor=0.5"],
        ["market.network=global"],
        ["market.network_degree=0"],
    ],
)
def test_edge_cases_keep_the_identities(overrides):
    res = simulate(load_config(["market.n_customers=300", "horizon=12"] + overrides), replicates=2)
    _check(res, 300)


@pytest.mark.parametrize("market", ["saturated", "growing"])
def test_a_single_customer(market):
    res = simulate(load_config([f"market={market}", "market.n_customers=1", "horizon=24"]), replicates=3)
    _check(res, 1, market == "saturated")


@pytest.mark.parametrize("max_wait", [0, 1, 2, 5])
def test_zero_capacity_loses_each_unit_after_exactly_max_wait_ticks(max_wait):
    """Nothing is served: a unit demanded at tick t waits max_wait ticks and is lost at
    t + max_wait (§7.2), so losses start at tick max_wait + 1 with the demand of tick 1."""
    res = simulate(load_config(["market.n_customers=300", "horizon=8", "firm.capacity=0",
                                f"customers.max_wait={max_wait}", "market.acquisition_max=0",
                                "customers.wom_positive=0", "customers.propensity=none", "customers.churn_base=0",
                                "customers.churn_dissatisfaction=0"]))
    f = res.timeseries[res.timeseries.firm == "focal"].sort_values("tick")
    assert (f.served_units == 0).all() and (f.utilisation[f.demand_units > 0] == 1).all()
    assert (f.lost == 0).all() and f.demand_units.iloc[0] > 0  # nobody leaves: the same demand each tick
    lost = f.lost_units.to_numpy()
    assert np.all(lost[:max_wait] == 0)
    np.testing.assert_allclose(lost[max_wait:], f.demand_units.to_numpy()[: len(lost) - max_wait], rtol=1e-6)
    np.testing.assert_allclose(f.backlog_units.iloc[-1], max_wait * f.demand_units.iloc[0], rtol=1e-6)


def test_no_competitors_saturated_means_nobody_leaves():
    res = simulate(load_config(["market.n_competitors=0", "market.n_customers=300", "horizon=24"]))
    assert (res.timeseries.lost == 0).all() and (res.timeseries.customers == 300).all()


def test_growing_market_with_nobody_adopted_yet():
    res = simulate(load_config(["market=growing", "market.adopted_share=0", "market.n_customers=500", "horizon=12",
                                "firm.budget=1000"]))
    _check(res, 500, saturated=False)
    assert res.timeseries.won.sum() > 0
