"""MarketModel's wiring (docs/model.md §2–§4): which engine 'auto' picks, the firms' budgets,
capacities and terms as the configuration sets them, the initial market, the schedule's
counters and the shapes of its outputs."""

from __future__ import annotations

import importlib.util
import math
import sys

import numpy as np
import pytest

import marktsim.engine
from marktsim import model as model_module
from marktsim.config import expected_initial_demand, expected_initial_revenue, load_config
from marktsim.engine.account import METRICS
from marktsim.engine.serve import PRIORITIES
from marktsim.model import COMPILE_ABOVE, TARGETING, MarketModel, choose_engine, firm_names, prepare_engine

SMALL = ["market.n_customers=600", "horizon=5"]


@pytest.fixture
def numba_state(monkeypatch):
    """'auto' as in a process without the compiled kernels loaded; `numba_state(True)` says
    numba is installed, `numba_state(False)` that it is not."""
    monkeypatch.delenv("MARKTSIM_ENGINE", raising=False)
    # set, then delete: monkeypatch then restores the state before the test (loaded or not)
    # whatever a test loads meanwhile
    monkeypatch.setitem(sys.modules, "marktsim.engine.compiled", None)
    monkeypatch.delitem(sys.modules, "marktsim.engine.compiled")
    monkeypatch.setattr(marktsim.engine, "compiled", None, raising=False)
    monkeypatch.delattr(marktsim.engine, "compiled")
    real = importlib.util.find_spec

    def installed(flag: bool) -> None:
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: (real("numpy") if flag else None) if name == "numba" else real(name, *a))
    return installed


def test_auto_compiles_from_the_threshold_on_when_numba_is_installed(numba_state):
    numba_state(True)
    n, horizon = 20_000, COMPILE_ABOVE // 20_000
    assert n * horizon == COMPILE_ABOVE  # n × horizon hits the threshold exactly
    assert choose_engine(n, horizon) == "compiled"
    assert choose_engine(n, horizon - 1) == "numpy"
    assert choose_engine(n, horizon // 4, runs=4) == "compiled"  # the runs of a job count together
    assert choose_engine(n, horizon // 4, runs=3) == "numpy"
    assert choose_engine(COMPILE_ABOVE, 0) == "compiled"  # a horizon of 0 counts as one tick
    assert choose_engine(COMPILE_ABOVE - 1, 0) == "numpy"
    numba_state(False)
    assert choose_engine(n, horizon, runs=10) == "numpy"  # no numba: never compiled


def test_auto_uses_loaded_kernels_and_a_setting_wins(numba_state, monkeypatch):
    numba_state(False)
    assert choose_engine(10, 10) == "numpy"
    assert choose_engine(10, 10, "compiled") == "compiled"  # asked for explicitly
    monkeypatch.setitem(sys.modules, "marktsim.engine.compiled", sys.modules["marktsim.engine"])
    assert choose_engine(10, 10) == "compiled"  # loaded already: no cost left to save
    assert choose_engine(10**9, 10**3, "numpy") == "numpy"
    monkeypatch.setenv("MARKTSIM_ENGINE", "numpy")
    assert choose_engine(10, 10) == "numpy"


def test_prepare_engine_asks_for_the_runs_of_the_config(numba_state, monkeypatch):
    numba_state(False)
    asked = []
    monkeypatch.setattr(model_module, "choose_engine", lambda *args: asked.append(args) or "numpy")
    cfg = load_config(["market.n_customers=1234", "horizon=56"])
    assert prepare_engine(cfg, 7) == "numpy" and prepare_engine(cfg, 2, "numpy") == "numpy"
    assert asked == [(1234, 56, None, 7), (1234, 56, "numpy", 2)]
    assert all(type(a) is int for a in asked[0][:2])
    assert "marktsim.engine.compiled" not in sys.modules  # the numpy engine loads no numba


def test_prepare_engine_loads_the_compiled_kernels_it_chooses(numba_state, monkeypatch):
    """Choosing the compiled engine loads its kernels there and then (once per process, before
    the runs), not at the first model; the loading is recorded by a finder that stands in for
    the module."""
    import importlib.abc
    import importlib.machinery
    import types

    loaded = []

    class Standin(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            return importlib.machinery.ModuleSpec(name, self) if name == "marktsim.engine.compiled" else None

        def create_module(self, spec):
            loaded.append(spec.name)
            return types.ModuleType(spec.name)

        def exec_module(self, module):
            pass

    monkeypatch.setattr(sys, "meta_path", [Standin(), *sys.meta_path])
    cfg = load_config(["market.n_customers=100", "horizon=2"])
    assert prepare_engine(cfg, 1, "numpy") == "numpy" and loaded == []
    assert prepare_engine(cfg, 1, "compiled") == "compiled"
    assert loaded == ["marktsim.engine.compiled"]


def test_firm_names():
    assert firm_names(1) == ["focal"]
    assert firm_names(4) == ["focal", "rival_1", "rival_2", "rival_3"]


@pytest.mark.parametrize("focal, rivals", [("value_weighted", "uniform"), ("abc", "value_weighted"),
                                            ("uniform", "abc")])
def test_each_firm_weighs_its_customers_by_its_own_targeting(focal, rivals):
    """§7.4 w_i follows the rule of the customer's own firm when firms differ: 1 (uniform),
    value × units (value_weighted), or the firm's weight of the customer's segment (abc)."""
    from marktsim.engine.vectorised import NumpyEngine

    cfg = load_config([*SMALL, "market.n_competitors=2", f"firm.targeting={focal}", f"competitors.targeting={rivals}",
                       "firm.abc_weights=[5,2,1]"])
    model = MarketModel(cfg, engine="numpy")
    col = model.columns
    kernels = NumpyEngine(model.market, model.revenue_potential, col.b2b, col.propensity)
    firm = kernels.firm_index(col)
    weights = kernels.retention_weights(firm, col.segment)
    rival_abc = np.array(cfg.competitors.abc_weights)
    for j, (rule, abc) in enumerate([(focal, np.array([5.0, 2.0, 1.0])), (rivals, rival_abc), (rivals, rival_abc)]):
        mine = firm == j
        assert mine.any() and len(set(col.segment[mine])) == 3
        expected = {"uniform": np.ones(mine.sum()), "value_weighted": model.revenue_potential[mine],
                    "abc": abc[col.segment[mine]]}[rule]
        np.testing.assert_allclose(weights[mine], expected, rtol=1e-6)


def test_the_numpy_engine_keeps_each_customers_churn_factor_in_float32():
    """§7.6 g_i·z_i is worked out once, from the customer's kind and propensity, and kept in
    float32 as every per-customer term of the hazard is (the compiled engine's arithmetic)."""
    from marktsim.engine import rules as r
    from marktsim.engine.vectorised import NumpyEngine

    model = MarketModel(load_config([*SMALL, "market=b2b", "customers.propensity=beta"]), engine="numpy")
    col = model.columns
    assert col.b2b.any() and (~col.b2b).any() and len(set(col.propensity)) > 2
    factor = NumpyEngine(model.market, model.revenue_potential, col.b2b, col.propensity).factor
    assert factor.dtype == np.float32
    np.testing.assert_array_equal(factor, r.churn_factor(col.b2b, col.propensity, model.market.rules))


def test_firms_get_their_budgets_capacities_and_terms_from_the_config(engine):
    cfg = load_config([*SMALL, "market.n_competitors=2", "firm.capacity=77", "firm.budget=1234",
                       "competitors.capacity_factor=1.3", "competitors.budget_share=0.07", "firm.crm=true",
                       "competitors.crm=false", "firm.communicate_delays=true", "competitors.communicate_delays=false",
                       "firm.priority=existing_first", "firm.targeting=abc", "competitors.targeting=value_weighted",
                       "firm.quality=0.9", "competitors.quality=0.6", "firm.margin=0.4", "competitors.margin=0.25",
                       "firm.onboarding_cost=11", "competitors.onboarding_cost=13", "firm.capacity_cost=3",
                       "competitors.capacity_cost=5"])
    model = MarketModel(cfg)
    assert model.cfg is cfg  # validated once: the same read-only config
    assert [f.name for f in model.firm_list] == ["focal", "rival_1", "rival_2"] and model.focal is model.firm_list[0]
    assert [f.index for f in model.firm_list] == [0, 1, 2] and len(model.firms) == 3
    assert model.firms.random is model.random  # a shuffle of the firms is reproducible from the seed
    assert model.focal.budget == 1234 and model.focal.capacity == 77
    for j in (1, 2):
        rival = model.firm_list[j]
        assert rival.budget == pytest.approx(0.07 * expected_initial_revenue(cfg, j), rel=1e-12)
        assert rival.capacity == pytest.approx(1.3 * expected_initial_demand(cfg, j), rel=1e-12)
    terms = model.market.firms
    np.testing.assert_array_equal(terms.crm, [True, False, False, False])  # last: "no provider"
    np.testing.assert_array_equal(model.crm, terms.crm)
    np.testing.assert_array_equal(terms.communicates, [True, False, False, False])
    np.testing.assert_array_equal(terms.priority, [PRIORITIES.index("existing_first")] + [PRIORITIES.index(
        cfg.competitors.priority)] * 2 + [1])
    assert PRIORITIES[1] == "fifo"  # prospects are served first come, first served
    np.testing.assert_array_equal(model.targeting, [TARGETING.index("abc"), 1, 1, 0])
    np.testing.assert_allclose(terms.quality, [0.9, 0.6, 0.6, 0.0], rtol=1e-7)
    assert terms.quality.dtype == np.float32 and terms.priority.dtype == np.int8 and terms.targeting.dtype == np.int8
    assert terms.abc_weights.dtype == np.float32 and terms.abc_weights.shape == (4, 3)
    np.testing.assert_allclose(terms.abc_weights[0], cfg.firm.abc_weights, rtol=1e-7)
    assert (terms.abc_weights[3] == 0).all()
    np.testing.assert_array_equal(model.margin, [0.4, 0.25, 0.25])
    np.testing.assert_array_equal(model.onboarding_cost, [11, 13, 13])
    np.testing.assert_array_equal(model.capacity_cost, [3, 5, 5])


def test_unlimited_capacity_is_infinite(engine):
    model = MarketModel(load_config([*SMALL, "firm.capacity=null", "competitors.capacity_factor=null"]))
    assert all(f.capacity == math.inf for f in model.firm_list)


def test_the_initial_market_follows_the_config(engine):
    n = 4000
    cfg = load_config([f"market.n_customers={n}", "horizon=3", "market=growing", "market.adopted_share=0.35",
                       "market.n_competitors=1", "market.initial_shares=[0.3,0.7]", "market.network=global",
                       "market.acquisition_max=0.07", "market.acquisition_scale=3", "market.incentive_max=0.04",
                       "market.incentive_scale=5"])
    model = MarketModel(cfg)
    assert (model.acquisition_max, model.acquisition_scale, model.incentive_max, model.incentive_scale) == (0.07, 3, 0.04, 5)
    assert not model.saturated and model.network is None and model.n == n and model.n_firms == 2
    np.testing.assert_array_equal(model.initial_customers, [round(0.35 * n * 0.3), round(0.35 * n * 0.7)])
    np.testing.assert_array_equal(model.initial_customers,
                                  [(model.columns.provider == j).sum() for j in range(2)])
    np.testing.assert_array_equal(model.revenue_potential, model.columns.value * model.columns.units)
    np.testing.assert_array_equal(model.market.cells, model.columns.segment * 2 + model.columns.b2b)
    assert model.market.cells.dtype == np.int8
    assert model.monthly_discount == pytest.approx(1.10 ** (1 / 12) - 1, rel=1e-14)
    saturated = MarketModel(load_config(SMALL))
    assert saturated.saturated and saturated.network is not None and saturated.running
    assert saturated.initial_customers.tolist() == [150] * 4  # equal shares by default
    assert np.diff(saturated.network.indptr).mean() == pytest.approx(10, abs=0.5)  # network_degree
    assert (saturated.columns.provider >= 0).all() and saturated.initial_customers.sum() == 600


def test_the_schedule_counts_ticks_and_stops_at_the_horizon(engine):
    model = MarketModel(load_config(SMALL))
    assert model.records().shape == (0, 4, len(METRICS)) and model.segment_records().shape == (0, 3, 4, 6)
    model.run(2)
    assert model.tick == 2 and model.running
    assert model.records().shape == (2, 4, len(METRICS)) and model.segment_records().shape == (2, 3, 4, 6)
    model.run()
    assert model.tick == 5 and not model.running and model.records().shape[0] == 5
    np.testing.assert_array_equal(model.records()[:, 0, METRICS.index("customers")],
                                  model.segment_records()[:, 0, 0].sum(axis=1))


def test_replicates_differ_and_each_is_reproducible(engine):
    cfg = load_config(SMALL)
    first, again, other = (MarketModel(cfg, replicate=r).run() for r in (1, 1, 2))
    default = MarketModel(cfg).run()
    assert default.replicate == 0
    np.testing.assert_array_equal(default.records(), MarketModel(cfg, replicate=0).run().records())
    np.testing.assert_array_equal(first.records(), again.records())
    assert first.replicate == 1 and not np.array_equal(first.records(), other.records())
    assert first.random.random() == again.random.random()  # Mesa's own generator too


def test_the_expected_initial_market_is_the_mean_of_the_drawn_one(engine):
    """Section 1's expected demand and revenue per firm (the rivals' budgets and capacities, the
    focal firm's derived ones) against their definitions, and against the market drawn."""
    n, adopted, shares, b2b = 20_000, 0.4, (0.5, 0.3, 0.2), 0.25
    cfg = load_config([f"market.n_customers={n}", "horizon=1", "market=growing", f"market.adopted_share={adopted}",
                       "market.n_competitors=2", f"market.initial_shares=[{','.join(map(str, shares))}]",
                       f"customers.b2b_share={b2b}", "competitors.capacity_factor=1.2"])
    c = cfg.customers
    p = 1 / (1 + c.initial_tenure_mean)  # geometric initial tenure: P(T0 = k) = p (1 − p)^k
    k = np.arange(20_000)
    e_decay = float(np.sum(p * (1 - p) ** k * np.exp(-k / c.loyalty_growth_time)))
    growth = 1 + c.loyalty_growth_max * (1 - e_decay)
    assert 1 < growth < 1 + c.loyalty_growth_max  # both terms matter
    model = MarketModel(cfg)
    col = model.columns
    for j, share in enumerate(shares):
        units = n * adopted * share * (1 + b2b * (c.b2b_units - 1))
        revenue = units * c.value_mean * growth
        assert expected_initial_demand(cfg, j) == pytest.approx(units, rel=1e-12)
        assert expected_initial_revenue(cfg, j) == pytest.approx(revenue, rel=1e-9)
        mine = col.provider == j
        assert mine.sum() == round(n * adopted * share)
        # B2B customers are drawn one by one: units within 4 binomial standard errors
        se_units = (c.b2b_units - 1) * np.sqrt(mine.sum() * b2b * (1 - b2b))
        assert abs(col.units[mine].sum() - units) < 4 * se_units
        drawn = (col.value * col.units * (1 + c.loyalty_growth_max * -np.expm1(-col.tenure / c.loyalty_growth_time)))[mine]
        assert abs(drawn.sum() - revenue) < 4 * drawn.std() * np.sqrt(mine.sum())
    assert cfg.firm.budget == pytest.approx(cfg.firm.budget_share * expected_initial_revenue(cfg, 0), rel=1e-12)
    assert cfg.firm.capacity == pytest.approx(cfg.firm.capacity_factor * expected_initial_demand(cfg, 0), rel=1e-12)
    assert model.focal.budget == cfg.firm.budget and model.focal.capacity == cfg.firm.capacity
    assert load_config(["firm.capacity_factor=null"]).firm.capacity is None
    saturated = load_config(["market.n_customers=1000", "market.n_competitors=1"])
    assert expected_initial_demand(saturated, 1) == pytest.approx(1000 * 0.5 * (1 + 0.1 * 4), rel=1e-12)


def test_the_follow_policy_orders_for_the_units_due_backlog_included(engine):
    """§7.8 `follow` at the close of tick t orders (1 + h)·(units demanded + backlog carried
    in) − capacity − units on order, at capex c per unit; the order arrives after the lead time."""
    h, lead, c = 0.15, 2, 30.0
    cfg = load_config(["market.n_customers=2000", "horizon=5", "firm.capacity_factor=0.6", "firm.capacity_policy=follow",
                       f"firm.follow_headroom={h}", f"firm.expand_lead_time={lead}", f"firm.capex_per_unit={c}",
                       "customers.max_wait=2"])
    model = MarketModel(cfg).run()
    f = model.records()[:, 0]
    col = {name: f[:, METRICS.index(name)] for name in ("demand_units", "backlog_units", "capacity", "capex")}
    backlog_in = np.concatenate(([0.0], col["backlog_units"][:-1]))
    assert backlog_in[1] > 0  # the overload leaves a backlog that the second order must cover
    on_order = 0.0
    for t in range(3):  # before the first order arrives (tick 1 + 1 + lead)
        short = (1 + h) * (col["demand_units"][t] + backlog_in[t]) - col["capacity"][t] - on_order
        assert short > 0
        assert col["capex"][t] == pytest.approx(c * short, rel=1e-9)
        on_order += short
    first = col["capex"][0] / c
    assert col["capacity"][3] == pytest.approx(col["capacity"][0] + first, rel=1e-12)  # arrived at tick 4
    assert col["capacity"][2] == col["capacity"][0]


def test_a_model_without_a_config_uses_the_default_one(engine):
    default, explicit = MarketModel(), MarketModel(load_config())
    assert default.n == 10_000 and default.horizon == 120
    np.testing.assert_array_equal(default.columns.value, explicit.columns.value)
    np.testing.assert_array_equal(default.columns.provider, explicit.columns.provider)


def test_a_model_runs_the_engine_asked_for_else_what_auto_picks(numba_state, monkeypatch):
    numba_state(False)
    cfg = load_config(SMALL)
    assert MarketModel(cfg).engine == "numpy"  # auto, small, no numba
    monkeypatch.setenv("MARKTSIM_ENGINE", "compiled")
    assert MarketModel(cfg, engine="numpy").engine == "numpy"  # the argument wins over the environment
    assert MarketModel(cfg, engine="numpy", threads=3).threads == 3
    monkeypatch.setenv("MARKTSIM_THREADS", "2")
    assert MarketModel(cfg, engine="numpy").threads == 2
