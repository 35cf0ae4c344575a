"""Strategy and capacity policies (docs/model.md §7.1, §7.8), each rule on hand-made inputs.

Values of ρ are chosen away from the symmetric point 0.5, where a rule and its mirror image
(shift·ρ instead of shift·(1 − ρ), ρ − δ instead of ρ + δ) give the same number.
"""

from __future__ import annotations

import math

import pytest

from marktsim.policies import Adaptive, CapacityAware, CapacityPolicy, FixedSplit, capacity_policy, strategy_policy

STRATEGY = {"retention_share": 0.2, "policy": "fixed", "capacity_threshold": 0.9, "capacity_shift": 0.6,
            "adapt_interval": 3, "adapt_step": 0.1}


def test_fixed_split_keeps_rho_whatever_happens():
    policy = strategy_policy(STRATEGY)
    assert isinstance(policy, FixedSplit)
    for utilisation in (math.nan, 0.5, 1.5):
        assert policy.retention_share(utilisation) == 0.2
        policy.observe(1e6)
    assert policy.retention_share(1.0) == 0.2


def test_capacity_aware_moves_that_share_of_the_acquisition_budget_into_retention():
    policy = strategy_policy({**STRATEGY, "policy": "capacity_aware"})
    assert isinstance(policy, CapacityAware)
    assert policy.retention_share(0.95) == pytest.approx(0.2 + 0.6 * 0.8)  # = 0.68, not 0.2 + 0.6·0.2
    assert policy.retention_share(0.9) == 0.2  # at the threshold: not above it
    assert policy.retention_share(math.nan) == 0.2  # unlimited capacity never triggers
    assert CapacityAware(1.0, 0.5, 0.75).retention_share(2.0) == 1.0


def _feed(policy: Adaptive, profits: list[float]) -> list[float]:
    """The ρ used in each tick while the policy observes the given profits."""
    used = []
    for profit in profits:
        used.append(policy.retention_share(math.nan))
        policy.observe(profit)
    return used


def test_adaptive_tries_up_then_down_and_moves_towards_the_more_profitable_trial():
    up_better = strategy_policy({**STRATEGY, "policy": "adaptive"})
    assert isinstance(up_better, Adaptive)
    used = _feed(up_better, [10, 10, 10, 5, 5, 5])
    assert used == pytest.approx([0.3, 0.3, 0.3, 0.1, 0.1, 0.1])  # M = 3 ticks at ρ + δ, then at ρ − δ
    assert up_better.rho == pytest.approx(0.3)
    down_better = strategy_policy({**STRATEGY, "policy": "adaptive"})
    _feed(down_better, [5, 5, 5, 10, 10, 10])
    assert down_better.rho == pytest.approx(0.1)
    tie = strategy_policy({**STRATEGY, "policy": "adaptive"})
    _feed(tie, [7, 7, 7, 7, 7, 7])
    assert tie.rho == 0.2
    # the next round starts from the new ρ, and trials never leave [0, 1]
    assert _feed(up_better, [1, 1, 1]) == pytest.approx([0.4, 0.4, 0.4])
    edge = Adaptive(0.95, step=0.1, interval=1)
    assert _feed(edge, [10, 5]) == pytest.approx([1.0, 0.85])
    assert edge.rho == 1.0


def test_adaptive_sums_profit_over_the_whole_window():
    """Window sums, not the last tick: up earns 10+0+0 = 10, down 0+0+3 = 3 (the last ticks
    alone, 0 against 3, would point the other way)."""
    policy = Adaptive(0.5, step=0.1, interval=3)
    _feed(policy, [10, 0, 0, 0, 0, 3])
    assert policy.rho == pytest.approx(0.6)


def test_adaptive_starts_every_cycle_with_empty_sums():
    """Each cycle compares only its own profits, by less than 1 in the later ones: up (5 > 1),
    down (0.5 < 0.7), up (0.7 > 0.5). A sum carried over, or started at 1 instead of 0 on
    either side, reverses one of the later moves."""
    policy = Adaptive(0.3, step=0.1, interval=1)
    assert _feed(policy, [5.0, 1.0, 0.5, 0.7, 0.7, 0.5]) == pytest.approx([0.4, 0.2, 0.5, 0.3, 0.4, 0.2])
    assert policy.rho == pytest.approx(0.4)


def _capacity(**kw) -> CapacityPolicy:
    params = {"capacity_policy": "expand", "expand_threshold": 0.95, "expand_patience": 3, "expand_step": 0.2,
              "expand_lead_time": 2, "capex_per_unit": 200.0, "follow_headroom": 0.1, **kw}
    return capacity_policy(params)


def test_expansion_orders_after_patience_and_delivers_after_the_lead_time():
    policy = _capacity()
    assert [policy.review(t, 1000.0, 0.99, 0.0) for t in (1, 2)] == [0.0, 0.0]
    assert policy.review(3, 1000.0, 0.99, 0.0) == pytest.approx(200.0 * 0.2 * 1000)  # the third overloaded tick
    assert policy.review(4, 1000.0, 0.99, 0.0) == 0.0  # one order at a time
    arrivals = {t: policy.arrivals(t) for t in range(4, 8)}
    assert arrivals == {4: 0.0, 5: 0.0, 6: pytest.approx(200.0), 7: 0.0}  # tick 3 + 1 + lead time 2


def test_expansion_needs_consecutive_overloaded_ticks():
    policy = _capacity()
    assert [policy.review(t, 1000.0, u, 0.0) for t, u in enumerate((0.99, 0.99, 0.95, 0.99, 0.99), 1)] == [0.0] * 5
    assert policy.review(6, 1000.0, 0.99, 0.0) > 0


def test_fixed_capacity_and_unlimited_capacity_never_order():
    assert _capacity(capacity_policy="fixed").review(1, 1000.0, 2.0, 0.0) == 0.0
    unlimited = _capacity(expand_patience=1)
    assert unlimited.review(1, math.inf, 2.0, 0.0) == 0.0
    assert unlimited.review(2, 100.0, 2.0, 0.0) > 0


def test_follow_orders_what_demand_needs_counting_orders_on_the_way():
    policy = _capacity(capacity_policy="follow", follow_headroom=0.25, expand_lead_time=2)
    assert policy.review(1, 1000.0, 0.5, due=700.0) == 0.0  # 1.25·700 = 875 ≤ 1000: nothing
    assert policy.review(2, 1000.0, 1.0, due=1000.0) == pytest.approx(200.0 * 250.0)  # orders 1250 − 1000
    assert policy.review(3, 1000.0, 1.0, due=1000.0) == 0.0  # the 250 on the way count
    assert policy.review(4, 1000.0, 1.0, due=1200.0) == pytest.approx(200.0 * 250.0)  # 1500 − 1000 − 250
    assert [policy.arrivals(t) for t in (4, 5, 6, 7)] == [0.0, pytest.approx(250.0), 0.0, pytest.approx(250.0)]
    assert _capacity(capacity_policy="follow").review(1, math.inf, 1.0, due=1e9) == 0.0


def test_expansion_counts_a_new_streak_from_zero_after_each_order():
    """Overloaded every tick, patience 3, lead time 0: an order at ticks 3, 6 and 9 (each
    arrives the next tick, and the streak starts again from 0 after an order)."""
    policy = _capacity(expand_lead_time=0)
    capacity, ordered = 1000.0, []
    for t in range(1, 11):
        capacity += policy.arrivals(t)
        if policy.review(t, capacity, 0.99, 0.0) > 0:
            ordered.append(t)
    assert ordered == [3, 6, 9]
    assert capacity == pytest.approx(1000.0 * 1.2 ** 3)


def test_follow_orders_a_shortfall_of_less_than_one_unit():
    policy = _capacity(capacity_policy="follow", follow_headroom=0.0, expand_lead_time=0)
    assert policy.review(1, 100.0, 1.0, due=100.4) == pytest.approx(200.0 * 0.4)
    assert policy.arrivals(2) == pytest.approx(0.4)


def _focal(*overrides: str):
    """The focal firm of a small default market with the given overrides."""
    from marktsim.config import load_config
    from marktsim.model import MarketModel

    return MarketModel(load_config(["market.n_customers=200", "horizon=2", *overrides]), engine="numpy").focal


def test_a_firm_never_spends_more_than_its_budget_when_incentives_and_retention_overlap():
    """§7.1 ρ is at most 1 − ι: with ρ = 0.9 and ι = 0.3 the firm keeps 0.7 for retention,
    0.3 for incentives and nothing (not −0.2) for acquisition."""
    firm = _focal("strategy.retention_share=0.9", "strategy.incentive_share=0.3")
    firm.plan(1)
    budget = firm.budget
    assert budget > 0
    assert firm.retention_share == pytest.approx(0.7)
    assert firm.retention_spend == pytest.approx(0.7 * budget)
    assert firm.incentive_spend == pytest.approx(0.3 * budget)
    assert firm.acquisition_spend == pytest.approx(0.0, abs=1e-9 * budget)


def test_the_strategy_learns_from_profit_net_of_the_capacity_it_ordered():
    """§7.8 close_books: the capacity policy's capex is taken off the tick's profit before the
    strategy policy observes it (an adaptive firm that expands judges the expansion's cost)."""
    firm = _focal("strategy.policy=adaptive")
    seen: list[float] = []
    firm.strategy.observe = seen.append  # type: ignore[method-assign]
    firm.capacity_rules.review = lambda tick, capacity, utilisation, due: 30.0  # type: ignore[method-assign]
    capex = firm.close_books(1, profit=100.0, utilisation=1.2, due=500.0)
    assert capex == 30.0
    assert seen == [70.0]
    assert firm.utilisation == 1.2
