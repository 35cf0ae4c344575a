"""The books of §7.7 and the summary of §11, recomputed from the definitions in docs/model.md.

Each identity is checked on a run where every term is non-zero (finite capacity that
expands and costs capex, onboarding, a campaign, churn), with tolerances of float64
rounding; each test first asserts that its terms really are non-zero.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest

from marktsim.config import load_config
from marktsim.model import MarketModel
from marktsim.results import summary_table, timeseries_table

from conftest import ENGINES

ACCOUNT = importlib.import_module("marktsim.engine.account")  # the module (the package exports a function so named)

CFG = ["market.n_customers=3000", "horizon=36", "firm.capacity_factor=0.9", "firm.capacity_policy=expand",
       "firm.onboarding_cost=40", "strategy.campaign_start=4", "strategy.campaign_length=4",
       "strategy.campaign_boost=1.5", "market.annual_discount_rate=0.25", "competitors.capacity_factor=1.0",
       "strategy.incentive_share=0.2", "customers.deal_prone_share=0.3"]


@pytest.fixture(params=ENGINES)
def run(request):
    """One run per engine (numpy kernels, compiled passes) for each test: not shared by the
    module's tests, because mutmut runs a mutant only against the tests that called the mutated
    function, and a shared run would be called by the first test alone."""
    if request.param == "compiled":
        pytest.importorskip("numba")
    cfg = load_config(CFG)
    model = MarketModel(cfg, engine=request.param).run()
    assert model.engine == request.param
    records = model.records()
    ts = timeseries_table(records, 0, model.firm_names)
    summary = summary_table(records, model.initial_customers, model.monthly_discount, 0, model.firm_names)
    return cfg, model, ts, summary


def _focal(ts: pd.DataFrame) -> pd.DataFrame:
    return ts[ts.firm == "focal"].sort_values("tick").reset_index(drop=True)


def test_profit_is_margin_less_every_cost_capex_included(run):
    cfg, _, ts, _ = run
    assert (ts.capex > 0).any() and (ts.onboarding_cost > 0).all() and (ts.capacity_cost[ts.firm == "focal"] > 0).all()
    assert (ts.incentive_spend[ts.firm == "focal"] > 0).all()
    costs = ts.acquisition_spend + ts.retention_spend + ts.onboarding_cost + ts.capacity_cost + ts.capex \
        + ts.incentive_spend
    np.testing.assert_allclose(ts.profit, ts.gross_margin - costs, rtol=1e-12, atol=1e-6)
    margin = np.where(ts.firm == "focal", cfg.firm.margin, cfg.competitors.margin)
    np.testing.assert_allclose(ts.gross_margin, margin * ts.revenue, rtol=1e-12)
    np.testing.assert_allclose(ts.onboarding_cost, np.where(ts.firm == "focal", 40.0, 50.0) * ts.won, rtol=1e-12)
    f = _focal(ts)
    np.testing.assert_allclose(f.capacity_cost, cfg.firm.capacity_cost * f.capacity, rtol=1e-12)
    orders = f[f.capex > 0]
    np.testing.assert_allclose(orders.capex, cfg.firm.capex_per_unit * cfg.firm.expand_step * orders.capacity,
                               rtol=1e-12)


def test_profit_is_discounted_by_the_tick(run):
    cfg, model, ts, _ = run
    monthly = (1 + 0.25) ** (1 / 12) - 1
    assert model.monthly_discount == pytest.approx(monthly, rel=1e-15)
    np.testing.assert_allclose(ts.discounted_profit, ts.profit / (1 + monthly) ** ts.tick, rtol=1e-12)


def test_churn_rate_is_lost_over_customers_at_the_start_of_the_tick(run):
    _, model, ts, _ = run
    for j, name in enumerate(model.firm_names):
        f = ts[ts.firm == name].sort_values("tick")
        start = np.concatenate(([model.initial_customers[j]], f.customers.to_numpy()[:-1]))
        assert (f.lost > 0).any() and (f.customers.to_numpy() != start).any()
        np.testing.assert_allclose(f.churn_rate, f.lost / start, rtol=1e-12)
        np.testing.assert_array_equal(f.customers, start + f.won - f.lost)
    np.testing.assert_array_equal(ts.lost, ts.lost_intrinsic + ts.lost_poached)
    np.testing.assert_allclose(ts.share, ts.customers / 3000, rtol=1e-12)


def test_service_ratios_and_cac(run):
    _, _, ts, _ = run
    f = _focal(ts)
    backlog_in = np.concatenate(([0.0], f.backlog_units.to_numpy()[:-1]))
    assert (f.service_level < 1).any()  # the overload really happens
    np.testing.assert_allclose(f.service_level, f.served_units / (f.demand_units + backlog_in), rtol=1e-12)
    np.testing.assert_allclose(f.utilisation, f.served_units / f.capacity, rtol=1e-12)
    won = ts.won > 0
    np.testing.assert_allclose(ts.cac[won], ts.acquisition_spend[won] / ts.won[won], rtol=1e-12)
    assert ts.cac[~won].isna().all()


def test_summary_follows_its_definitions(run):
    _, model, ts, summary = run
    monthly = model.monthly_discount
    for j, name in enumerate(model.firm_names):
        f = ts[ts.firm == name].sort_values("tick")
        s = summary[summary.firm == name].iloc[0]
        start = np.concatenate(([model.initial_customers[j]], f.customers.to_numpy()[:-1]))
        churn_mean = f.churn_rate.mean()
        r = 1 - churn_mean
        margin_per_month = (f.gross_margin.sum() - f.retention_spend.sum()) / start.sum()
        kept_years = (start - f.lost.to_numpy()).sum() / 12
        cac = f.acquisition_spend.sum() / f.won.sum()
        retention_cost = f.retention_spend.sum() / kept_years
        marketing = f.acquisition_spend.sum() + f.retention_spend.sum() + f.incentive_spend.sum()
        start_inc = np.concatenate(([0], f.customers_incentive.to_numpy()[:-1]))
        churn_inc = f.lost_incentive.sum() / start_inc.sum()
        churn_other = (f.lost.sum() - f.lost_incentive.sum()) / (start.sum() - start_inc.sum())
        margin = f.gross_margin.sum() / f.revenue.sum()
        per_month = f.retention_spend.sum() / start.sum()
        m_inc = margin * f.revenue_incentive.sum() / start_inc.sum() - per_month
        m_other = margin * (f.revenue.sum() - f.revenue_incentive.sum()) / (start.sum() - start_inc.sum()) - per_month
        expected = {
            "revenue": f.revenue.sum(), "gross_margin": f.gross_margin.sum(), "profit": f.profit.sum(),
            "npv": f.discounted_profit.sum(), "final_customers": f.customers.iloc[-1], "final_share": f.share.iloc[-1],
            "churn_mean": churn_mean, "churn_annual": 1 - r**12, "won": f.won.sum(), "lost": f.lost.sum(),
            "won_by_wom": f.won_by_wom.sum(), "acquisition_spend": f.acquisition_spend.sum(),
            "retention_spend": f.retention_spend.sum(), "cac": cac,
            "retention_cost_per_customer_year": retention_cost, "cost_ratio": cac / retention_cost,
            "clv": margin_per_month * r / (1 + monthly - r),
            "romi": (f.gross_margin.sum() - marketing) / marketing,
            "incentive_spend": f.incentive_spend.sum(), "won_incentive": f.won_incentive.sum(),
            "churn_incentive": churn_inc, "churn_other": churn_other,
            "clv_incentive": m_inc * (1 - churn_inc) / (monthly + churn_inc),
            "clv_other": m_other * (1 - churn_other) / (monthly + churn_other),
        }
        assert churn_mean > 0 and f.retention_spend.sum() > 0 and f.won.sum() > 0
        if name == "focal":  # the incentive groups exist (only the focal firm spends on incentives)
            assert f.won_incentive.sum() > 0 and f.lost_incentive.sum() > 0
        for key, value in expected.items():
            assert s[key] == pytest.approx(value, rel=1e-12, nan_ok=True), (name, key)


# --------------------------------------------------------------------------- the bookkeeping functions alone

def test_by_cell_counts_or_sums_per_firm_and_cell_and_drops_the_prospects():
    from marktsim.engine.account import N_CELLS, by_cell

    firm = np.array([0, 0, 1, 2, 1])  # 2 firms; index 2 = prospects
    cells = np.array([0, 5, 5, 3, 5])
    counts = by_cell(firm, cells, 2)
    assert counts.shape == (2, N_CELLS) and counts.dtype == np.float64
    assert counts.tolist() == [[1, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 2]]
    sums = by_cell(firm, cells, 2, np.array([1.5, 2.0, 4.0, 100.0, 0.25]))
    assert sums.tolist() == [[1.5, 0, 0, 0, 0, 2.0], [0, 0, 0, 0, 0, 4.25]]


def test_retention_is_spent_only_by_firms_with_customers_at_the_start():
    from marktsim.engine.account import Book, retention_spent

    books = np.zeros((len(Book), 3))
    books[Book.CUSTOMERS_START] = [0, 1, 40]
    assert retention_spent(books, np.array([10.0, 20.0, 30.0])).tolist() == [0.0, 20.0, 30.0]


def test_capex_is_booked_and_taken_from_profit_and_discounted_profit():
    from marktsim.engine.account import M, METRICS, book_capex

    row = np.zeros((2, len(METRICS)))
    row[1, M["profit"]] = 1000.0
    book_capex(row, 1, 400.0, 12, 0.01)
    assert row[1, M["capex"]] == 400.0 and row[1, M["profit"]] == 600.0
    assert row[1, M["discounted_profit"]] == pytest.approx(600.0 / 1.01 ** 12, rel=1e-12)
    assert not row[0].any()  # the other firm untouched


def test_account_computes_every_ratio_from_hand_made_sums():
    """§7.7 on five firms chosen for the edge cases: no customers and unlimited capacity (firm
    0), one customer who leaves and capacity below one unit (1), capacity 0 with less than one
    unit due (2) and with nothing due (3), and an ordinary firm with every cost (4)."""
    from marktsim.engine.account import Book, FirmBooks, M, account

    inf = np.inf
    b = np.zeros((len(Book), 5))
    b[Book.CUSTOMERS_START] = [0, 1, 10, 5, 4]
    b[Book.CUSTOMERS] = [0, 0, 7, 1, 4]
    b[Book.LOST_INTRINSIC] = [0, 1, 2, 0, 0]
    b[Book.LOST_POACHED] = [0, 0, 1, 4, 0]
    b[Book.DEMAND] = [0, 0.5, 0.5, 0, 10]
    b[Book.SERVED] = [0, 0.4, 0, 0, 8]
    b[Book.SATISFACTION] = [0, 0, 3.5, 0.5, 3.0]
    b[Book.BOND] = [0, 0, 1.4, 0.2, 2.0]
    for i, book in enumerate((Book.WON_INCENTIVE, Book.CUSTOMERS_INCENTIVE, Book.LOST_INCENTIVE,
                              Book.REVENUE_INCENTIVE, Book.WON_BY_WOM, Book.PROMOTERS, Book.DETRACTORS,
                              Book.CUSTOMERS_NEW, Book.LOST_NEW, Book.BACKLOG, Book.EXPIRED, Book.DROPPED_UNITS)):
        b[book] = np.arange(5) + 10.0 * (i + 1)  # distinct values in every copied row
    b[Book.WON] = [0, 0, 0, 0, 2]
    b[Book.REVENUE] = [0, 0, 0, 0, 1000.0]
    firms = FirmBooks(margin=np.full(5, 0.3), onboarding_cost=np.full(5, 10.0), capacity_cost=np.full(5, 2.0),
                      acquisition_spend=np.array([0, 0, 0, 0, 100.0]), incentive_spend=np.array([0, 0, 0, 0, 5.0]),
                      retention_spend=np.array([30.0, 0, 0, 0, 50.0]), retention_share=np.full(5, 0.3),
                      capacity=np.array([inf, 0.5, 0.0, 0.0, 200.0]))
    row = account(2, b, firms, 100, 0.01)

    def col(name):
        return row[:, M[name]]

    assert col("churn_rate").tolist() == [0.0, 1.0, 0.3, 0.8, 0.0]
    assert np.isnan(col("utilisation")[0]) and col("utilisation")[1:].tolist() == [pytest.approx(0.8), 1.0, 0.0, 0.04]
    assert col("service_level").tolist() == [1.0, pytest.approx(0.8), 0.0, 1.0, 0.8]
    assert np.isnan(col("satisfaction_mean")[:2]).all() and col("satisfaction_mean")[2:].tolist() == [0.5, 0.5, 0.75]
    assert np.isnan(col("bond_mean")[:2]).all() and col("bond_mean")[2:].tolist() == [pytest.approx(0.2), 0.2, 0.5]
    assert np.isnan(col("cac")[:4]).all() and col("cac")[4] == 50.0
    assert col("retention_spend").tolist() == [0.0, 0, 0, 0, 50.0]  # firm 0 has no customers to spend on
    assert col("capacity_cost").tolist() == [0.0, 1.0, 0.0, 0.0, 400.0]  # unlimited capacity costs nothing
    assert col("profit")[4] == pytest.approx(300 - 100 - 50 - 20 - 400 - 5)
    assert col("discounted_profit")[4] == pytest.approx(-275 / 1.01 ** 2)
    assert col("share").tolist() == [0.0, 0.0, 0.07, 0.01, 0.04]
    assert np.isnan(col("capacity")[0]) and col("capacity")[4] == 200.0
    copied = {"won_incentive": Book.WON_INCENTIVE, "customers_incentive": Book.CUSTOMERS_INCENTIVE,
              "lost_incentive": Book.LOST_INCENTIVE, "revenue_incentive": Book.REVENUE_INCENTIVE,
              "won_by_wom": Book.WON_BY_WOM, "promoters": Book.PROMOTERS, "detractors": Book.DETRACTORS,
              "customers_new": Book.CUSTOMERS_NEW, "lost_new": Book.LOST_NEW, "backlog_units": Book.BACKLOG}
    for name, book in copied.items():
        assert col(name).tolist() == b[book].tolist(), name
    assert col("lost_units").tolist() == (b[Book.EXPIRED] + b[Book.DROPPED_UNITS]).tolist()
    assert col("lost").tolist() == [0, 1, 3, 4, 0] and col("lost_poached").tolist() == [0, 0, 1, 4, 0]


def test_sums_are_added_block_by_block(monkeypatch):
    """§3 Each block summed from zero in index order, the blocks' sums added in order: here
    that gives 0, where one sum over all four gives 1 (1 + 10¹⁶ rounds to 10¹⁶); by firm and
    by cell alike, counts exact in any order; blocks of `split` times fewer entries for work
    that sums nothing; one sum (a new array) when there is one block."""
    monkeypatch.setattr(ACCOUNT, "BLOCK", 2)
    firm, weights = np.zeros(4, dtype=np.intp), np.array([1.0, 1e16, -1e16, 1.0])
    assert np.bincount(firm, weights=weights)[0] == 1.0
    assert ACCOUNT.summed(firm, 1, weights)[0] == 0.0
    assert ACCOUNT.per_firm(firm, 1, weights)[0] == 0.0
    assert ACCOUNT.per_firm(firm, 1)[0] == 4.0  # counts: any order
    cells = np.array([0, 0, 0, 0])
    assert ACCOUNT.by_cell(firm, cells, 1, weights)[0, 0] == 0.0 and ACCOUNT.by_cell(firm, cells, 1)[0, 0] == 4.0
    assert ACCOUNT.blocks(5) == [(0, 2), (2, 4), (4, 5)] and ACCOUNT.blocks(0) == [(0, 0)]
    assert ACCOUNT.blocks(1) == [(0, 1)] and ACCOUNT.blocks(1, split=2) == [(0, 1)]
    assert ACCOUNT.blocks(5, split=2) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert ACCOUNT.blocks(3, split=4) == [(0, 1), (1, 2), (2, 3)]  # at least one entry a span
    parts = [np.array([1.0, 1e16]), np.array([1e16, -1e16]), np.array([-1e16, 1.0])]
    np.testing.assert_array_equal(ACCOUNT.in_block_order(parts), [1.0 + 1e16 - 1e16, 1e16 - 1e16 + 1.0])
    one = np.array([2.5, -0.0])
    alone = ACCOUNT.in_block_order([one])
    assert alone is not one and alone.tolist() == [2.5, -0.0]


# --------------------------------------------------------------------------- one tick, customer by customer

_TRACKED = ("provider", "tenure", "value", "units", "won_incentive", "satisfaction", "bond", "backlog")


def _columns_now(model: MarketModel) -> dict[str, np.ndarray]:
    return {name: getattr(model.columns, name).copy() for name in _TRACKED}


def _by_firm(provider: np.ndarray, n_firms: int, weights: np.ndarray | None = None) -> np.ndarray:
    """A sum (or count) over each firm's customers, written out customer by customer."""
    sums = np.zeros(n_firms)
    for j in range(n_firms):
        mine = provider == j
        sums[j] = mine.sum() if weights is None else weights[mine].astype(np.float64).sum()
    return sums


def test_a_ticks_books_are_the_sums_over_its_customers(engine):
    """§7.2 and §7.7, customer by customer, in a growing market without overload (every due unit
    served): the revenue a firm books in a tick is Σ units·value·growth(tenure) over the customers
    it had at the tick's start — the incentive revenue over those who were won with an incentive
    *at the start*, although some of them move in the tick —, demand and served units are their
    units, new customers those with tenure < t_new at the start; customers, incentive customers,
    mean satisfaction and bond are taken at the end; a customer who joins a firm is a win, flagged
    as won with an incentive only when it was. Prospects who stay prospects keep their
    satisfaction and bond (they have no provider to experience or be retained by) and a tenure
    of 0; customers who stay with their firm are a tick older. The tick raises no
    floating-point warning (prospects are due nothing: 0/0 is handled), and the columns keep
    the types they were drawn with (§1: float32 satisfaction and bond)."""
    from marktsim.engine import rules as r
    from marktsim.engine.account import M

    cfg = load_config(["market=growing", "market.adopted_share=0.6", "market.n_customers=6000", "horizon=12",
                       "firm.capacity=null", "competitors.capacity_factor=100", "strategy.incentive_share=0.2",
                       "customers.deal_prone_share=0.3"])
    model = MarketModel(cfg)
    types = {name: column.dtype for name, column in _columns_now(model).items()}  # as drawn (§1)
    model.run(4)
    rules, n_firms = model.market.rules, model.n_firms
    incentive_movers, wins_by_kind = 0, np.zeros(2)
    for _ in range(4):
        start = _columns_now(model)
        assert not start["backlog"].any()  # no overload: served = units
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.step()
        end = _columns_now(model)
        assert {name: column.dtype for name, column in end.items()} == types
        row = model.records()[-1]
        earned = r.revenue(start["units"], start["value"], r.loyalty_growth(start["tenure"].astype(np.float32), rules))
        was = start["provider"]
        np.testing.assert_allclose(row[:, M["revenue"]], _by_firm(was, n_firms, earned), rtol=1e-9)
        np.testing.assert_allclose(row[:, M["revenue_incentive"]],
                                   _by_firm(np.where(start["won_incentive"], was, -1), n_firms, earned), rtol=1e-9)
        for metric in ("demand_units", "served_units"):
            np.testing.assert_allclose(row[:, M[metric]], _by_firm(was, n_firms, start["units"]), rtol=1e-9)
        new = np.where(r.is_new(start["tenure"], rules), was, -1)
        np.testing.assert_array_equal(row[:, M["customers_new"]], _by_firm(new, n_firms))
        now = end["provider"]
        customers = _by_firm(now, n_firms)
        np.testing.assert_array_equal(row[:, M["customers"]], customers)
        np.testing.assert_array_equal(row[:, M["customers_incentive"]],
                                      _by_firm(np.where(end["won_incentive"], now, -1), n_firms))
        for metric, name in (("satisfaction_mean", "satisfaction"), ("bond_mean", "bond")):
            mean = _by_firm(now, n_firms, end[name]) / customers
            np.testing.assert_allclose(row[:, M[metric]], mean, rtol=1e-9)
        prospects = (was < 0) & (now < 0)
        assert prospects.any()
        for name in ("satisfaction", "bond"):
            np.testing.assert_array_equal(end[name][prospects], start[name][prospects])
        assert not end["tenure"][prospects].any()  # tenure counts ticks with a provider
        kept = (was >= 0) & (now == was)
        np.testing.assert_array_equal(end["tenure"][kept], start["tenure"][kept] + 1)
        incentive_movers += int((start["won_incentive"] & (was >= 0) & (now != was)).sum())
        joined = (now >= 0) & (now != was)
        np.testing.assert_array_equal(row[:, M["won"]], _by_firm(np.where(joined, now, -1), n_firms))
        np.testing.assert_array_equal(row[:, M["won_incentive"]],
                                      _by_firm(np.where(joined & end["won_incentive"], now, -1), n_firms))
        wins_by_kind += [row[:, M["won_incentive"]].sum(), (row[:, M["won"]] - row[:, M["won_incentive"]]).sum()]
    assert incentive_movers > 0  # the start-of-tick flag differs from the end's for someone with revenue
    assert wins_by_kind.all()  # wins with and without an incentive: the flag tells them apart
