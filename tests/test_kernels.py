"""The engine kernels on hand-made arrays, against values computed by hand from MODEL.md §2."""

from __future__ import annotations

import math

import numpy as np
import pytest

from marktsim.engine import experience, retain, retention_allocation, serve, small_world, word_of_mouth
from marktsim.engine import rules as r
from marktsim.engine.rules import served_second
from marktsim.engine.state import abc_segments, allocate_counts
from marktsim.engine.switch import acquisition_pressure, switch

from conftest import rules_for

f32 = np.float32


def _columns(n, provider):
    """Customers with satisfaction and bond 0, no traits, tenure 5."""
    from marktsim.engine.state import Columns

    zeros, flags = np.zeros(n, f32), np.zeros(n, bool)
    return Columns(provider=provider, satisfaction=zeros, bond=zeros.copy(), tenure=np.full(n, 5, np.int32),
                   value=np.ones(n, f32), b2b=flags, units=np.ones(n, f32), segment=np.zeros(n, np.int8),
                   backlog=np.zeros((n, 0), f32), known=flags, referred=flags, propensity=np.ones(n, f32),
                   deal_prone=flags, contract=flags, won_incentive=flags, left=flags)


def _plan(pressure, offer=None):
    from marktsim.engine.tick import Plan

    f = pressure.shape[0]
    return Plan(np.zeros(f), np.zeros(f), np.full(f, np.inf), pressure, np.zeros(f) if offer is None else offer)


def _talk(wom):
    from marktsim.engine.word_of_mouth import Talk

    return Talk(wom, np.zeros(wom.shape[0]), np.zeros(wom.shape[0]), r.ZERO, r.ZERO)


def _serve(priority, capacity, units, backlog, is_new):
    """One firm with the given priority rule (0 existing_first, 1 fifo, 2 new_first)."""
    units = np.asarray(units, f32)
    firm = np.zeros(len(units), np.intp)
    second = served_second(np.full(len(units), priority, np.int8), np.asarray(is_new)) if priority != 1 else None
    return serve(firm, units, np.asarray(backlog, f32), second, np.array([capacity], float))


def test_existing_first_serves_established_customers_before_new_ones():
    # two established and two new customers, one unit each, capacity 3
    served, due, backlog, lost = _serve(0, 3.0, [1, 1, 1, 1], np.zeros((4, 2)), [False, False, True, True])
    np.testing.assert_allclose(served, [1, 1, 0.5, 0.5])
    np.testing.assert_allclose(backlog[:, 0], [0, 0, 0.5, 0.5])
    served, *_ = _serve(2, 3.0, [1, 1, 1, 1], np.zeros((4, 2)), [False, False, True, True])
    np.testing.assert_allclose(served, [0.5, 0.5, 1, 1])


def test_fifo_serves_oldest_units_first_and_rations_proportionally():
    backlog = np.array([[2.0, 0.0], [0.0, 0.0]])  # customer 0 waits for 2 units of age 1
    served, due, new_backlog, lost = _serve(1, 3.0, [1, 4], backlog, [False, True])
    # the 2 old units first, then 1 unit shared 1:4 between the fresh demands
    np.testing.assert_allclose(served, [2 + 0.2, 0.8], rtol=1e-6)
    np.testing.assert_allclose(due, [3, 4])
    np.testing.assert_allclose(new_backlog[:, 0], [0.8, 3.2], rtol=1e-6)  # aged by one tick
    np.testing.assert_allclose(lost, [0, 0])


def test_units_older_than_max_wait_are_lost():
    backlog = np.array([[0.0, 3.0]])  # 3 units have waited max_wait = 2 ticks
    served, due, new_backlog, lost = _serve(1, 0.0, [1], backlog, [False])
    np.testing.assert_allclose(lost, [3.0])
    np.testing.assert_allclose(new_backlog, [[1.0, 0.0]])
    served, due, new_backlog, lost = _serve(1, 0.5, [1], np.zeros((1, 0)), [False])  # max_wait 0
    np.testing.assert_allclose(lost, [0.5])


def test_serve_respects_each_firms_capacity_separately():
    firm = [0, 0, 1, 2]  # the last customer is a prospect (index n_firms)
    served, due, *_ = serve(np.array(firm, np.intp), np.ones(4, f32), np.zeros((4, 1), f32), None,
                            np.array([1.0, math.inf]))
    np.testing.assert_allclose(served, [0.5, 0.5, 1.0, 0.0])
    np.testing.assert_allclose(due, [1, 1, 1, 0])


def test_experience_first_impression_and_forgiveness():
    s = np.array([0.5, 0.5, 0.5], f32)
    f = np.array([0.5, 0.5, 0.5], f32)
    rules = rules_for(alpha_est=0.2, alpha_new=0.5, delay_forgiveness=0.5)
    out = experience(s, f, np.full(3, 0.8, f32), np.array([False, True, False]), np.array([False, False, True]), rules)
    e_plain, e_told = 0.8 * 0.5, 0.8 * (1 - 0.5 * 0.5)
    np.testing.assert_allclose(out, [0.5 + 0.2 * (e_plain - 0.5), 0.5 + 0.2 * (e_told - 0.5), 0.5 + 0.5 * (e_plain - 0.5)],
                               rtol=1e-6)


def test_retention_allocation_and_bond_update():
    firm = np.array([0, 0, 1, 2], np.intp)  # the last customer is a prospect
    spend = retention_allocation(firm, np.array([1, 3, 1, 1], f32), np.array([False, True, False, False]),
                                 np.array([40.0, 10.0]), rules_for(personalisation=0.5))
    np.testing.assert_allclose(spend, [10, 30 * 1.5, 10, 0])
    equal = retention_allocation(firm, None, np.array([False, True, False, False]), np.array([40.0, 10.0]),
                                 rules_for(personalisation=0.5))
    np.testing.assert_allclose(equal, [20, 20 * 1.5, 10, 0])
    b = retain(np.array([0.5], f32), np.array([5.0], f32), np.array([False]), rules_for(bond_decay=0.02,
                                                                                        bond_gain_max=0.2,
                                                                     retention_scale=5.0))
    np.testing.assert_allclose(b, [0.5 * 0.98 + 0.5 * 0.2 * (1 - math.exp(-1))], rtol=1e-6)


def test_word_of_mouth_counts_promoters_and_detractors_among_contacts():
    # a path 0 - 1 - 2 - 3 as a network; customer 1 promotes firm 0, customer 2 detracts from firm 1
    from marktsim.engine.network import Network

    net = Network(np.array([0, 1, 3, 5, 6]), np.array([1, 0, 2, 1, 3, 2], np.int32), np.array([1, 2, 2, 1], f32))
    firm = np.array([1, 0, 1, 0], np.intp)
    s = np.array([0.5, 0.9, 0.1, 0.5], f32)
    rules = rules_for(wom_positive=0.3, wom_negative=0.1, promoter_threshold=0.8, detractor_threshold=0.4)
    w, pro, det, _, _ = word_of_mouth(firm, s, np.zeros(4, bool), np.zeros(4, bool), 2, net, rules)
    np.testing.assert_allclose(pro, [1, 0])
    np.testing.assert_allclose(det, [0, 1])
    np.testing.assert_allclose(w[0], [0.3, 0, 0.15, 0], rtol=1e-6)  # contacts of customer 1
    np.testing.assert_allclose(w[1], [0, 0, 0, 0])  # detractors only push below zero: floored
    # a waiting promoter promotes nobody
    w, pro, _, _, _ = word_of_mouth(firm, s, np.array([False, True, False, False]), np.zeros(4, bool), 2, net, rules)
    assert pro[0] == 0 and w.sum() == 0


def test_global_word_of_mouth_is_the_share_of_all_customers():
    firm = np.array([0, 0, 1, 2], np.intp)
    s = np.array([0.9, 0.9, 0.2, 0.0], f32)
    rules = rules_for(wom_positive=0.4, wom_negative=0.0, promoter_threshold=0.8, detractor_threshold=0.4)
    w, pro, det, _, _ = word_of_mouth(firm, s, np.zeros(4, bool), np.zeros(4, bool), 2, None, rules)
    np.testing.assert_allclose(w[:, 0], [0.4 * 2 / 4, 0.0])


def test_hazard_susceptibility_and_pressure_formulas():
    s, b = np.array([0.6], f32), np.array([0.5], f32)
    rules = rules_for(churn_base=0.01, churn_dissatisfaction=0.1, bond_protection=0.8, satisfaction_protection=0.7)
    h = r.churn_hazard(s, b, np.array([0.5], f32), r.ONE, rules)
    np.testing.assert_allclose(h, [(0.01 + 0.1 * 0.16) * 0.6 * 0.5], rtol=1e-6)
    np.testing.assert_allclose(r.susceptibility(s, b, r.ZERO, rules), [0.6 * (1 - 0.42)], rtol=1e-6)
    # the tick's surge (contagion 3 at a leaver share of 0.2, a discount that ends: × (1 + 2))
    busy = rules_for(churn_base=0.01, churn_dissatisfaction=0.1, bond_protection=0.8, churn_contagion=3.0,
                     incentive_end_churn=2.0)
    surge = r.churn_surge(np.float32(0.2), True, busy)
    np.testing.assert_allclose(r.churn_hazard(s, b, np.array([0.5], f32), surge, busy),
                               [(0.01 + 0.1 * 0.16) * 0.6 * 0.5 * 1.6 * 3.0], rtol=1e-6)
    # switching costs and promoters of the own provider shield: σ·(1 − χ)·(1 − ω·o)
    shield = rules_for(bond_protection=0.8, satisfaction_protection=0.7, switching_cost=0.25, wom_protection=0.5)
    np.testing.assert_allclose(r.susceptibility(s, b, np.float32(0.4), shield), [0.6 * 0.58 * 0.75 * 0.8], rtol=1e-6)
    np.testing.assert_allclose(acquisition_pressure(np.array([0.0, 2000.0]), 0.05, 2.0, 1000),
                               [0.0, 0.05 * (1 - math.exp(-1))])


def test_b2b_customer_churns_less_than_an_identical_b2c_customer():
    s, b = np.full(2, 0.5, f32), np.full(2, 0.3, f32)
    h = r.churn_hazard(s, b, np.array([1.0, 0.5], f32), r.ONE, rules_for(churn_base=0.005))
    assert h[1] == pytest.approx(0.5 * h[0])


def test_switch_moves_only_to_rivals_and_marks_referrals():
    rng = np.random.default_rng(0)
    n = 20000
    provider = np.zeros(n, np.int8)
    provider[n // 2:] = 1
    wom = np.zeros((3, n), f32)
    wom[2] = 0.2  # firm 2 is recommended to everybody, firm 1 advertises
    rules = rules_for(churn_base=0.0, churn_dissatisfaction=0.0, bond_protection=0.0, satisfaction_protection=0.0,
                      switch_noise=0.0)
    moves = switch(rng, provider.astype(np.intp), _columns(n, provider), np.ones(n, f32),
                   _plan(np.array([0.0, 0.2, 0.0])), _talk(wom), True, rules)
    assert np.all(moves.new != moves.old)
    # customers of firm 0 are pulled by P_1 + W_2 = 0.4: referred with probability 1/2
    from0 = moves.old == 0
    assert abs(from0.sum() - n / 2 * 0.4) < 4 * math.sqrt(n / 2 * 0.4 * 0.6)
    share = moves.referred[from0].mean()
    assert abs(share - 0.5) < 4 * math.sqrt(0.25 / from0.sum())
    assert np.all(moves.referred == (moves.new == 2))


def test_each_mover_chooses_by_its_own_contacts():
    """§7.6 A mover's W_ik are its own: with no advertising and no noise, customers whose
    contacts recommend firm 1 move only to firm 1, those hearing of firm 2 only to firm 2
    (customer 0, whose pulls a wrong column would give everybody, hears of firm 1)."""
    rng = np.random.default_rng(3)
    n = 4000
    provider = np.zeros(n, np.int8)
    wom = np.zeros((3, n), f32)
    hears_two = np.arange(n) % 2 == 1
    wom[1, ~hears_two] = 0.3
    wom[2, hears_two] = 0.3
    rules = rules_for(churn_base=0.0, churn_dissatisfaction=0.0, bond_protection=0.0, satisfaction_protection=0.0,
                      switch_noise=0.0)
    moves = switch(rng, provider.astype(np.intp), _columns(n, provider), np.ones(n, f32), _plan(np.zeros(3)),
                   _talk(wom), True, rules)
    to_two = hears_two[moves.who]
    assert to_two.sum() > 100 and (~to_two).sum() > 100  # both kinds of customer moved (π = 0.3 each)
    assert np.all(moves.new[to_two] == 2)
    assert np.all(moves.new[~to_two] == 1)


class _ZeroDraws:
    """A generator whose uniforms are all exactly 0 (the lowest draw ``random`` can give)."""

    def random(self, size):
        return np.zeros(size)


def test_a_draw_of_zero_never_chooses_a_firm_without_weight():
    """§7.6 The firms' pieces of [0, total) are laid out in firm order; a draw of exactly 0
    falls in the first piece that is not empty: here firm 2's, since the mover's own firm 0
    gets no weight and firm 1 has neither pressure nor pull."""
    from marktsim.engine.switch import choose

    rules = rules_for(switch_noise=0.0)
    moves = choose(_ZeroDraws(), np.array([7]), np.array([False]), np.array([0], np.int8),
                   _plan(np.array([0.3, 0.0, 0.2])), np.zeros((3, 1), f32), np.ones(1), True, rules)
    assert moves.new.tolist() == [2]
    assert not moves.referred[0] and not moves.incentive[0]


def test_small_world_degrees_and_symmetry():
    net = small_world(1000, 10, 0.1, np.random.default_rng(1))
    assert net.degree.sum() == 1000 * 10
    src, dst = net.edges()
    assert not np.any(src == dst)
    pairs = set(zip(src.tolist(), dst.tolist()))
    assert all((b, a) in pairs for a, b in pairs)
    tiny = small_world(1, 10, 0.1, np.random.default_rng(1))
    assert tiny.indices.size == 0


def test_abc_segments_and_share_allocation():
    seg = abc_segments(np.arange(10, dtype=float))
    assert list(seg) == [2, 2, 2, 2, 2, 1, 1, 1, 0, 0]
    assert list(allocate_counts(10, np.array([1 / 3, 1 / 3, 1 / 3]))) == [4, 3, 3]


def test_count_codes_in_blocks_equals_a_direct_count(monkeypatch):
    """The one-table and the blocked count both give the exact counts of a direct loop."""
    import numpy as np

    from marktsim.engine import network as net

    rng = np.random.default_rng(5)
    graph = net.small_world(2_000, 10, 0.3, rng)
    codes = rng.integers(0, 6, size=2_000).astype(np.int16)  # code 5 is not counted
    one_block = graph.count_codes(codes, 5)
    monkeypatch.setattr(net, "_TABLE_LIMIT", 6 * 97)  # blocks of 97 customers
    blocked = net.Network(graph.indptr, graph.indices, graph.degree).count_codes(codes, 5)
    direct = np.zeros((5, 2_000), dtype=np.float32)
    for i in range(2_000):
        for j in graph.indices[graph.indptr[i]:graph.indptr[i + 1]]:
            if codes[j] < 5:
                direct[codes[j], i] += 1
    np.testing.assert_array_equal(one_block, direct)
    np.testing.assert_array_equal(blocked, direct)
    assert one_block.dtype == blocked.dtype == np.float32  # the counts' type on either path


def test_prospects_adopt_and_choose_with_the_adoption_response():
    """Prospects adopt with π = min(1, ν·Σ P_k + Σ W_k) and choose a firm ∝ ν·P_k + W_k: with
    ν = 0.5, P = (0.2, 0), W = (0, 0.1), a prospect adopts with 0.2 and half the adopters are
    referred to firm 1."""
    rng = np.random.default_rng(4)
    n = 40_000
    firm = np.full(n, 2, np.intp)  # everybody is a prospect (index n_firms)
    wom = np.zeros((2, n), f32)
    wom[1] = 0.1
    rules = rules_for(adoption_response=0.5)
    moves = switch(rng, firm, _columns(n, np.full(n, -1, np.int8)), np.ones(n, f32), _plan(np.array([0.2, 0.0])),
                   _talk(wom), False, rules)
    m = moves.who.size
    assert abs(m - 0.2 * n) < 4 * math.sqrt(n * 0.2 * 0.8)
    assert not moves.intrinsic.any() and np.all(moves.old == -1)
    to_one = moves.new == 1
    assert abs(to_one.sum() - m / 2) < 4 * math.sqrt(m / 4)
    assert np.array_equal(moves.referred, to_one)


def _brute_force_talk(contacts, firm, s, waiting, left, n_firms, q_pos, q_neg, pro_at, det_at):
    """What each customer hears, contact by contact (docs/model.md §7.5), in plain Python: W_ik,
    the share of contacts promoting i's own provider and the share of contacts who left."""
    def says(j):
        if firm[j] >= n_firms:
            return None  # prospects are silent
        if s[j] >= pro_at and not waiting[j]:
            return ("pro", firm[j])
        if s[j] <= det_at:
            return ("det", firm[j])
        return None

    n = len(firm)
    wom, own, gone = np.zeros((n_firms, n)), np.zeros(n), np.zeros(n)
    for i in range(n):
        mine = contacts[i]
        if not mine:
            continue
        for k in range(n_firms):
            pro = sum(says(j) == ("pro", k) for j in mine)
            det = sum(says(j) == ("det", k) for j in mine)
            wom[k, i] = max(0.0, q_pos * pro - q_neg * det) / len(mine)
        if firm[i] < n_firms:
            own[i] = sum(says(j) == ("pro", firm[i]) for j in mine) / len(mine)
        gone[i] = sum(bool(left[j]) for j in mine) / len(mine)
    return wom, own, gone


@pytest.mark.parametrize("n_firms", [3, 1])
@pytest.mark.parametrize("mixing", ["network", "global"])
def test_word_of_mouth_equals_a_contact_by_contact_count(mixing, n_firms):
    """Random customers of several firms (and prospects, code n_firms), some waiting, some who
    left last tick, on a random network or under global mixing (every customer a contact of
    every customer, itself included): the pull, the share of contacts promoting the own provider
    (protection on) and the share of contacts who left (contagion on, c < 1) are those counted
    contact by contact; prospects have no own share."""
    from marktsim.engine.network import Network

    rng = np.random.default_rng(7)
    n = 60
    firm = rng.integers(0, n_firms + 1, n).astype(np.intp)  # n_firms: prospects
    assert (firm == n_firms).any() and (firm < n_firms).any()
    s = rng.choice(np.array([0.1, 0.3, 0.6, 0.85, 0.95], f32), n)
    waiting = rng.random(n) < 0.2
    left = rng.random(n) < 0.3
    if mixing == "network":
        pairs = {(int(a), int(b)) for a, b in rng.integers(0, n, (150, 2)) if a != b}
        contacts = [sorted({b for a, b in pairs if a == i} | {a for a, b in pairs if b == i}) for i in range(n)]
        indptr = np.concatenate([[0], np.cumsum([len(c) for c in contacts])]).astype(np.int64)
        network = Network(indptr, np.array([j for c in contacts for j in c], np.int32))
    else:
        contacts, network = [list(range(n))] * n, None
    rules = rules_for(wom_positive=0.3, wom_negative=0.1, promoter_threshold=0.8, detractor_threshold=0.4,
                      wom_protection=0.5, churn_contagion=0.5)
    talk = word_of_mouth(firm, s, waiting, left, n_firms, network, rules)
    wom, own, gone = _brute_force_talk(contacts, firm, s, waiting, left, n_firms, 0.3, 0.1, 0.8, 0.4)
    assert own.max() > 0 and gone.max() > 0 and wom.max() > 0  # the counts are not trivially zero
    np.testing.assert_allclose(np.broadcast_to(talk.wom, (n_firms, n)), wom, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.broadcast_to(talk.own_share, (n,)).astype(float), own, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.broadcast_to(talk.left_share, (n,)).astype(float), gone, rtol=1e-5, atol=1e-7)
    assert (np.broadcast_to(talk.own_share, (n,))[firm == n_firms] == 0).all()
    # the promoters and detractors per firm, over everyone
    codes = [("pro", k) for k in range(n_firms)], [("det", k) for k in range(n_firms)]
    for tally, kinds in zip((talk.promoters, talk.detractors), codes):
        expected = [sum(1 for j in range(n) if firm[j] < n_firms and kind == (
            ("pro", firm[j]) if s[j] >= 0.8 and not waiting[j] else ("det", firm[j]) if s[j] <= 0.4 else None))
            for kind in kinds]
        np.testing.assert_array_equal(tally, expected)


def test_serve_gives_prospects_nothing_and_an_empty_second_class_is_one_class():
    """Prospects (firm index = number of firms) are served nothing, even with units in their
    columns; a second priority class with nobody in it serves as one class does."""
    firm = np.array([0, 0, 1], np.intp)  # one firm; customer 2 is a prospect with a unit in its backlog
    units, backlog, capacity = np.ones(3, f32), np.array([[0.0], [0.0], [1.0]], f32), np.array([5.0])
    one_class = serve(firm, units, backlog, None, capacity)
    np.testing.assert_allclose(one_class[0], [1.0, 1.0, 0.0])
    empty_second = serve(firm, units, backlog, np.zeros(3, bool), capacity)
    for a, b in zip(one_class, empty_second):
        np.testing.assert_array_equal(a, b)


def test_serve_divides_by_no_demand_without_warnings():
    """A firm nobody buys from (capacity over no demand, or no capacity over no demand) is an
    ordinary case: serve neither warns nor raises, even where floating-point errors raise."""
    firm = np.array([2, 2], np.intp)  # both customers buy from firm 2; firms 0 and 1 have no demand
    with np.errstate(all="raise"):
        served, *_ = serve(firm, np.ones(2, f32), np.zeros((2, 1), f32), None, np.array([2.0, 0.0, 1.0]))
    np.testing.assert_allclose(served, [0.5, 0.5])


def test_serve_returns_new_arrays_not_views_of_its_inputs():
    """What serve returns is its own: writing into the backlog passed in afterwards changes none
    of it (the units lost come from the oldest age, which is the input's own column when nothing
    of that age waited)."""
    firm = np.zeros(2, np.intp)
    backlog = np.zeros((2, 1), f32)  # max_wait 1, and nothing of the oldest age waits: its column passes through
    served, due, new_backlog, lost = serve(firm, np.ones(2, f32), backlog, None, np.array([1.0]))
    assert not backlog.any()  # precondition: the oldest age is empty
    before = [a.copy() for a in (served, due, new_backlog, lost)]
    backlog[:] = 7.0
    for a, b in zip(before, (served, due, new_backlog, lost)):
        np.testing.assert_array_equal(a, b)


def _flat(**customers):
    """Rules without dissatisfaction churn or protection (σ = 1), with `customers` changed."""
    return rules_for(churn_dissatisfaction=0.0, bond_protection=0.0, satisfaction_protection=0.0, **customers)


def test_thresholds_of_a_monopolist_deal_prone_customers_and_prospects():
    """§7.6 Exact cases of h and h + (1 − h)·π: a saturated market's monopolist's customers have
    hazard 0 and reach 0 (nowhere to go), an unsaturated one's the churn hazard; a deal-prone
    customer responds to a rival's incentive with r = 1, the others with r_0; a prospect's
    pull Σ_k W_k is summed in float64 (0.5 + 2⁻²⁵ + 2⁻²⁵ in float32 would be 0.5)."""
    from marktsim.engine.switch import thresholds

    n = 8
    one_firm = np.zeros(n, np.intp)
    churn = _flat(churn_base=0.05)
    args = (one_firm, _columns(n, np.zeros(n, np.int8)), np.ones(n, f32), _plan(np.array([0.3])),
            _talk(np.full((1, 1), 0.2, f32)))
    hazard, reach = thresholds(*args, True, churn)
    assert hazard.dtype == np.float32 and not hazard.any() and not reach.any()
    hazard, reach = thresholds(*args, False, churn)
    np.testing.assert_array_equal(hazard, np.full(n, 0.05, f32))
    np.testing.assert_array_equal(reach, hazard)  # no rival: π = 0

    flat = _flat(incentive_response=0.25, churn_base=0.0)
    col = _columns(n, np.zeros(n, np.int8))
    col.deal_prone = np.arange(n) % 2 == 0
    _, reach = thresholds(one_firm, col, np.ones(n, f32), _plan(np.zeros(2), np.array([0.0, 0.2])),
                          _talk(np.zeros((2, 1), f32)), True, flat)
    np.testing.assert_allclose(reach, np.where(col.deal_prone, 0.2, 0.25 * 0.2), rtol=1e-6)

    prospects = np.full(n, 3, np.intp)  # firm index n_firms: no provider
    wom = np.array([[0.5], [2.0**-25], [2.0**-25]], f32)
    hazard, reach = thresholds(prospects, _columns(n, np.full(n, -1, np.int8)), np.ones(n, f32),
                               _plan(np.zeros(3)), _talk(wom), False, flat)
    assert not hazard.any()
    np.testing.assert_array_equal(reach, np.full(n, 0.5 + 2.0**-24))


def test_moves_carry_the_state_types():
    """§1 Providers are int8 (−1: none) before and after a move, movers' indices ascending."""
    rng = np.random.default_rng(2)
    n = 2000
    provider = (np.arange(n) % 3).astype(np.int8)
    rules = _flat(churn_base=0.05)
    for saturated in (True, False):
        moves = switch(rng, provider.astype(np.intp), _columns(n, provider), np.ones(n, f32),
                       _plan(np.array([0.1, 0.1, 0.1])), _talk(np.zeros((3, 1), f32)), saturated, rules)
        assert moves.who.size > 0 and np.all(np.diff(moves.who) > 0)
        assert moves.old.dtype == np.int8 and moves.new.dtype == np.int8
        assert moves.intrinsic.dtype == bool and moves.referred.dtype == bool and moves.incentive.dtype == bool
        assert (moves.new == -1).any() != saturated  # leavers leave the category only when unsaturated


def test_a_mover_with_no_pull_anywhere_goes_to_a_uniformly_drawn_rival():
    """§7.6 A saturated market without switching noise: who leaves for intrinsic reasons while
    no rival pulls goes to a rival drawn uniformly (never back, never as a referral or an
    incentive win); beside them, deal-prone customers pulled by firm 2's incentive alone all go
    there, as incentive wins (binomial standard errors)."""
    rng = np.random.default_rng(9)
    n, h, q = 40_000, 0.2, 0.1
    provider = np.zeros(n, np.int8)
    col = _columns(n, provider)
    col.deal_prone = np.arange(n) % 2 == 1
    rules = _flat(incentive_response=0.0, churn_base=h, switch_noise=0.0)
    moves = switch(rng, provider.astype(np.intp), col, np.ones(n, f32), _plan(np.zeros(3), np.array([0.0, 0.0, q])),
                   _talk(np.zeros((3, 1), f32)), True, rules)
    prone = col.deal_prone[moves.who]
    plain, half = ~prone, n // 2
    assert abs(plain.sum() - half * h) < 4 * math.sqrt(half * h * (1 - h))
    assert moves.intrinsic[plain].all() and np.isin(moves.new[plain], [1, 2]).all()
    assert abs((moves.new[plain] == 1).sum() - plain.sum() / 2) < 4 * math.sqrt(plain.sum() / 4)
    assert not moves.referred.any() and not moves.incentive[plain].any()
    reach = h + (1 - h) * q
    assert abs(prone.sum() - half * reach) < 4 * math.sqrt(half * reach * (1 - reach))
    assert (moves.new[prone] == 2).all() and moves.incentive[prone].all()
    share = h / reach
    assert abs(moves.intrinsic[prone].mean() - share) < 4 * math.sqrt(share * (1 - share) / prone.sum())
