"""Customers are Mesa agents that are views on the model's columns."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from marktsim.agents import Customer, Firm
from marktsim.config import load_config
from marktsim.model import MarketModel

pytestmark = pytest.mark.usefixtures("engine")  # every test here runs on both engines

CFG = ["market.n_customers=200", "horizon=10"]


def test_model_is_a_mesa_model_with_firm_agents():
    model = MarketModel(load_config(CFG))
    assert isinstance(model, mesa.Model)
    assert len(model.firms) == 4 and all(isinstance(f, Firm) for f in model.firms)
    assert [f.name for f in model.firm_list] == ["focal", "rival_1", "rival_2", "rival_3"]


def test_customer_views_are_created_on_first_access_only():
    model = MarketModel(load_config(CFG))
    assert Customer not in model.agents_by_type
    model.step()
    assert Customer not in model.agents_by_type
    views = model.customers
    assert len(views) == 200 and all(isinstance(c, Customer) for c in views)
    assert model.customers is views
    c = views[5]
    assert c.provider == int(model.columns.provider[5])
    assert c.satisfaction == float(model.columns.satisfaction[5])
    assert c.kind in ("B2C", "B2B") and c.segment in ("A", "B", "C")


def test_writing_a_view_changes_the_column_and_the_next_tick_sees_it():
    # 2 000 customers: with about 0.5 % won per tick, the focal firm wins some in one tick
    model = MarketModel(load_config(["market.n_customers=2000", "horizon=10", "customers.bond_decay=0.1"]))
    focal_customers = [c for c in model.customers if c.provider == 0]
    for c in focal_customers:
        c.provider = 1
    assert (model.columns.provider == 0).sum() == 0
    model.step()
    row = model.records()[-1]
    assert row[0, 2] > 0 and row[0, 0] == row[0, 2]  # focal customers = focal won: it started empty


def test_a_bond_written_through_a_view_decays_in_the_next_tick():
    """Nobody moves (no churn, no pull): the customer's bond 1.0 decays by δ_b = 0.1 and
    gains nothing beyond 1: b ← 1·(1 − 0.1) + (1 − 1)·gain."""
    still = ["customers.propensity=none", "customers.churn_base=0", "customers.churn_dissatisfaction=0",
             "market.acquisition_max=0",
             "customers.wom_positive=0", "customers.bond_decay=0.1"]
    model = MarketModel(load_config(CFG + still))
    c = model.customers[0]
    c.bond = 1.0
    assert model.columns.bond[0] == 1.0
    model.step()
    assert c.tenure > 0
    assert c.bond == pytest.approx(0.9, abs=1e-6)


def test_agentset_operations_work_on_views():
    model = MarketModel(load_config(CFG))
    unhappy = model.customers.select(lambda c: c.satisfaction < 0.8)
    assert len(unhappy) == 200  # everyone starts at s_0 = 0.75
    assert np.isclose(np.mean(model.customers.get("satisfaction")), 0.75)


def test_a_finished_model_is_freed_and_ids_still_count_per_model():
    """A model nobody refers to any more is freed with its firms, views and columns (Mesa 3.3
    kept every model in ``Agent._ids`` for the life of the process, mesa issue #3179; sweeps ran
    many replicates per process and grew by about 1.3 MB per replicate at 10 000 customers),
    and agents are still numbered 1, 2, ... within each model, as Mesa numbers them."""
    import gc
    import weakref

    first = MarketModel(load_config(CFG))
    first.step()
    assert len(first.customers) == 200  # views made: the model made agents beyond its firms
    second = MarketModel(load_config(CFG))
    for model in (first, second):
        ids = sorted(a.unique_id for a in model.agents)
        assert ids == list(range(1, len(ids) + 1))
    refs = [weakref.ref(first), weakref.ref(second)]
    del first, second, model
    gc.collect()
    assert [ref() for ref in refs] == [None, None]


def test_mesa_33s_id_counters_count_per_model_and_forget_a_freed_model():
    """``agents._UniqueIds`` (what Mesa 3.3's ``Agent._ids`` becomes, built afresh here: the
    one Mesa uses was built when marktsim.agents was imported): ids 1, 2, ... per model, and a
    model's counter goes with the model."""
    import gc

    from marktsim.agents import _UniqueIds

    class Owner:  # anything a weak reference can point at, as a model
        pass

    ids, a, b = _UniqueIds(), Owner(), Owner()
    assert [next(ids[a]), next(ids[a]), next(ids[b]), next(ids[a])] == [1, 2, 1, 3]
    del a
    gc.collect()
    assert list(ids._counters.keys()) == [b]


def test_a_column_attribute_reads_its_row_cast_and_writes_it_back():
    """``agents._Column`` (built afresh here, as the class attributes of Customer were built at
    import): reading gives the row's value in the attribute's type, writing sets that row only."""
    from marktsim.agents import _Column

    class View:
        bond = _Column("bond", float)

        def __init__(self, model, index):
            self.model, self.index = model, index

    model = MarketModel(load_config(CFG))
    view = View(model, 3)
    before = model.columns.bond.copy()
    assert isinstance(view.bond, float) and view.bond == float(before[3])
    view.bond = 0.125
    assert model.columns.bond[3] == np.float32(0.125)
    changed = np.flatnonzero(model.columns.bond != before)
    assert changed.tolist() == ([3] if before[3] != np.float32(0.125) else [])
    assert isinstance(View.__dict__["bond"], _Column) and View.bond is View.__dict__["bond"]


def test_before_its_first_tick_a_firm_has_spent_nothing_and_shows_its_configured_split():
    """What a Mesa data collector reading the firms at tick 0 sees: no spend yet, the strategy's
    own ρ (not yet capped or shifted by a policy), no utilisation measured."""
    import math

    model = MarketModel(load_config([*CFG, "strategy.retention_share=0.3", "competitors.retention_share=0.6"]))
    assert [f.retention_share for f in model.firm_list] == [0.3, 0.6, 0.6, 0.6]
    for firm in model.firm_list:
        assert (firm.acquisition_spend, firm.retention_spend, firm.incentive_spend) == (0.0, 0.0, 0.0)
        assert math.isnan(firm.utilisation)
