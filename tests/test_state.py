"""The initial customers (docs/model.md §1, §5) and the social network (§1, §7.5): their
distributions against the distributions' own moments, with margins of four standard errors,
and their exact parts (counts, rules, types) against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from marktsim.engine.network import Network, small_world
from marktsim.engine.state import Columns, abc_segments, allocate_counts, initial_columns

N = 200_000
CUSTOMERS = {"b2b_share": 0.3, "value_mean": 80.0, "value_sigma_log": 0.6, "b2b_units": 7.0,
             "initial_tenure_mean": 9.0, "t_known": 4, "max_wait": 3, "satisfaction_init": 0.55,
             "bond_init": 0.35, "propensity": "none", "deal_prone_share": 0.0, "contract_share_b2b": 0.0,
             "contract_share_b2c": 0.0}
SHARES = np.array([0.5, 0.3, 0.2])
ADOPTED = 0.8
CRM = np.array([True, False, True])


@pytest.fixture  # per test, not per module: mutmut runs a mutant only against the tests that called it
def initial() -> Columns:
    return initial_columns(np.random.default_rng(11), N, SHARES, ADOPTED, CUSTOMERS, CRM)


def within(observed: float, expected: float, standard_error: float, z: float = 4.0) -> bool:
    return abs(observed - expected) <= z * standard_error


def test_initial_providers_are_exact_counts_in_random_order(initial):
    """§1 round(a·N) adopters split by largest remainder among the firms, the rest prospects
    (-1), placed in random order: the first half holds each firm's share of them (a draw
    without replacement: hypergeometric standard error)."""
    adopted = round(ADOPTED * N)
    assert initial.provider.dtype == np.int8
    counts = np.bincount(initial.provider + 1, minlength=4)
    assert counts.tolist() == [N - adopted, *allocate_counts(adopted, SHARES).tolist()]
    half = initial.provider[: N // 2]
    for firm, share in enumerate([1 - ADOPTED, *(ADOPTED * SHARES)]):
        p = float(share)
        se = math.sqrt((N // 2) * p * (1 - p) * (N - N // 2) / (N - 1))
        assert within(np.count_nonzero(half == firm - 1), N // 2 * p, se), firm


def test_initial_kinds_units_and_values(initial):
    """§1 B2B with probability b2b_share, B2B units b2b_units (else 1); values lognormal with
    mean value_mean: log value ~ Normal(log mean − σ²/2, σ)."""
    sigma, mean = CUSTOMERS["value_sigma_log"], CUSTOMERS["value_mean"]
    p = CUSTOMERS["b2b_share"]
    assert initial.b2b.dtype == bool and initial.units.dtype == np.float32 and initial.value.dtype == np.float32
    assert within(initial.b2b.mean(), p, math.sqrt(p * (1 - p) / N))
    np.testing.assert_array_equal(initial.units, np.where(initial.b2b, CUSTOMERS["b2b_units"], 1.0))
    log_value = np.log(initial.value.astype(np.float64))
    assert within(log_value.mean(), math.log(mean) - sigma**2 / 2, sigma / math.sqrt(N))
    assert within(log_value.std(), sigma, sigma / math.sqrt(2 * N))
    value_sd = mean * math.sqrt(math.expm1(sigma**2))
    assert within(initial.value.astype(np.float64).mean(), mean, value_sd / math.sqrt(N))
    np.testing.assert_array_equal(initial.segment, abc_segments(initial.value * initial.units))


def test_initial_tenures_are_geometric_with_the_mean_and_prospects_have_none(initial):
    """§1 A customer's tenure is Geometric(1/(1 + m)) − 1 on {0, 1, …} (mean m, variance
    m(1 + m), P(0) = 1/(1 + m)) for every firm's customers; prospects have tenure 0."""
    m = CUSTOMERS["initial_tenure_mean"]
    assert initial.tenure.dtype == np.int32
    prospects = initial.provider < 0
    assert prospects.any() and (initial.tenure[prospects] == 0).all()
    for firm in range(3):
        tenure = initial.tenure[initial.provider == firm].astype(np.float64)
        n = tenure.shape[0]
        assert n > 10_000 and tenure.min() == 0
        assert within(tenure.mean(), m, math.sqrt(m * (1 + m) / n)), firm
        p0 = 1 / (1 + m)
        assert within(np.mean(tenure == 0), p0, math.sqrt(p0 * (1 - p0) / n)), firm


def test_initial_knowledge_satisfaction_bond_and_empty_state(initial):
    """§1 The provider knows a customer when it keeps a CRM and the tenure is t_known or more;
    satisfaction and bond start at their initial values; no backlog (max_wait ages), no
    referral, no incentive win, no one left; no propensities or traits when switched off."""
    t_known = CUSTOMERS["t_known"]
    has = initial.provider >= 0
    expected = has & CRM[np.maximum(initial.provider, 0)] & (initial.tenure >= t_known)
    assert (expected & (initial.tenure == t_known)).any() and (has & ~CRM[np.maximum(initial.provider, 0)]).any()
    np.testing.assert_array_equal(initial.known, expected)
    for name, start in (("satisfaction", "satisfaction_init"), ("bond", "bond_init")):
        column = getattr(initial, name)
        assert column.dtype == np.float32 and (column == np.float32(CUSTOMERS[start])).all(), name
    assert initial.backlog.shape == (N, CUSTOMERS["max_wait"]) and initial.backlog.dtype == np.float32
    assert not initial.backlog.any()
    for name in ("referred", "won_incentive", "left", "deal_prone", "contract"):
        column = getattr(initial, name)
        assert column.dtype == bool and column.shape == (N,) and not column.any(), name
    assert initial.propensity.dtype == np.float32 and (initial.propensity == 1).all()
    assert initial.n == N


@pytest.mark.parametrize("n", [*range(1, 21), 999, 1000])
def test_abc_segments_are_the_top_20_and_next_30_percent(n):
    """§1 A: the round(0.2·n) largest expected revenues, B: the next round(0.5·n) − round(0.2·n),
    C: the rest; equal values in index order."""
    values = np.random.default_rng(n).permutation(n).astype(float)
    segment = abc_segments(values)
    n_a, n_b = round(0.2 * n), round(0.5 * n) - round(0.2 * n)
    assert segment.dtype == np.int8
    assert np.bincount(segment, minlength=3).tolist() == [n_a, n_b, n - n_a - n_b]
    order = np.argsort(-values)
    assert (segment[order] == np.repeat([0, 1, 2], [n_a, n_b, n - n_a - n_b])).all()
    assert abc_segments(np.ones(5)).tolist() == [0, 1, 2, 2, 2]  # round(2.5) = 2: one B


def test_abc_segments_and_allocation_break_ties_in_index_order():
    """§1 Among equal values the lower index comes first, also where numpy's default sort would
    reorder them (several tied values, more than 16 entries)."""
    values = np.tile([1.0, 2.0, 3.0], 40)  # 40 of each: A = 24 of the 3s, B = the other 16 and 20 of the 2s
    segment = abc_segments(values)
    threes, twos = np.flatnonzero(values == 3.0), np.flatnonzero(values == 2.0)
    assert (segment[threes[:24]] == 0).all() and (segment[threes[24:]] == 1).all()
    assert (segment[twos[:20]] == 1).all() and (segment[twos[20:]] == 2).all() and (segment[values == 1.0] == 2).all()
    shares = np.tile([2.0, 1.0, 1.0], 20) / 80  # ×12: 20 remainders of 0.3, 40 of 0.15; 12 units to give
    expected = np.zeros(60, dtype=np.int64)
    expected[np.arange(0, 60, 3)[:12]] = 1  # the first twelve of the larger remainders
    assert allocate_counts(12, shares).tolist() == expected.tolist()


def test_allocate_counts_gives_the_rest_to_the_largest_remainders():
    """§1 floor(total·share) each, then one more for the largest remainders (ties: first)."""
    assert allocate_counts(10, np.array([0.12, 0.47, 0.41])).tolist() == [1, 5, 4]
    assert allocate_counts(10, np.array([0.25, 0.25, 0.5])).tolist() == [3, 2, 5]  # 2.5, 2.5: the first
    assert allocate_counts(7, np.array([0.5, 0.5])).tolist() == [4, 3]
    assert allocate_counts(6, np.array([0.5, 0.5])).tolist() == [3, 3]
    assert allocate_counts(0, np.array([0.3, 0.7])).tolist() == [0, 0]
    assert allocate_counts(10, np.array([0.12, 0.47, 0.41])).dtype == np.int64


@pytest.mark.parametrize("wait", range(13))
def test_backlog_units_are_numpys_float32_row_sums(wait):
    """The units waiting per customer, bit for bit numpy's float32 sum of the row (added in
    order below 8 ages, pairwise from 8: values of very different sizes tell the two apart)."""
    rng = np.random.default_rng(wait)
    backlog = (rng.random((4000, wait)) * 10.0 ** rng.integers(-4, 5, (4000, wait))).astype(np.float32)
    columns = Columns(*[np.zeros(4000)] * 8, backlog, *[np.zeros(4000)] * 7)
    total = columns.backlog_units()
    assert total.dtype == np.float32 and total.shape == (4000,)
    np.testing.assert_array_equal(total, backlog.sum(axis=1, dtype=np.float32))
    if wait:
        in_order = backlog[:, 0].copy()
        for a in range(1, wait):
            in_order += backlog[:, a]
        assert (in_order != total).any() == (wait >= 8)  # the orders really differ from 8 ages on


def _ring_distance(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    d = np.abs(src.astype(np.int64) - dst.astype(np.int64)) % n
    return np.minimum(d, n - d)


def test_small_world_without_rewiring_is_the_ring_lattice():
    """§1 Rewiring 0: each customer knows exactly the degree/2 nearest on each side."""
    n, degree = 50, 6
    net = small_world(n, degree, 0.0, np.random.default_rng(0))
    assert net.indptr.dtype == np.int64 and net.indices.dtype == np.int32 and net.degree.dtype == np.float32
    for i in range(n):  # a row: its own edges by offset, then the edges pointing at it by edge number
        contacts = net.indices[net.indptr[i]:net.indptr[i + 1]].tolist()
        assert contacts == [(i + k) % n for k in (1, 2, 3, -1, -2, -3)], i
    np.testing.assert_array_equal(net.degree, np.full(n, degree))
    src, dst = net.edges()
    assert src.dtype == dst.dtype == np.int32  # customer indices of one type
    np.testing.assert_array_equal(src, np.repeat(np.arange(n), degree))


@pytest.mark.parametrize("n,degree,half", [(5, 10, 2), (4, 10, 1), (3, 10, 1), (2, 10, 0), (1, 4, 0), (9, 5, 2)])
def test_small_world_degree_is_capped_below_n_and_even(n, degree, half):
    """§1 The degree is the largest even number ≤ min(degree, n − 1): a ring of `half` on each side."""
    net = small_world(n, degree, 0.0, np.random.default_rng(0))
    assert net.indptr.shape == (n + 1,) and net.indices.shape == (2 * n * half,)
    assert net.indptr.dtype == np.int64 and net.indices.dtype == np.int32 and net.degree.dtype == np.float32
    np.testing.assert_array_equal(net.degree, np.full(n, 2 * half, dtype=np.float32))
    np.testing.assert_array_equal(np.diff(net.indptr), np.full(n, 2 * half))


def test_small_world_rewires_each_edge_with_its_probability():
    """§1 Each of the n·degree/2 edges is rewired with probability p to a uniformly drawn other
    customer; one lands on a ring neighbour again with probability degree/(n − 1), so the
    share of edges off the ring is p·(1 − degree/(n − 1)) (binomial standard error)."""
    n, degree, p = 20_000, 10, 0.1
    net = small_world(n, degree, p, np.random.default_rng(3))
    src, dst = net.edges()
    edges = n * degree // 2
    assert src.shape[0] == 2 * edges and net.degree.sum() == 2 * edges
    off_ring = np.count_nonzero(_ring_distance(src, dst, n) > degree // 2) / 2  # each edge twice
    q = p * (1 - degree / (n - 1))
    assert within(off_ring / edges, q, math.sqrt(q * (1 - q) / edges))


def test_fully_rewired_degrees_spread_like_independent_targets():
    """§1 Rewiring 1: a customer keeps its degree/2 own edges and receives each of the other
    n·degree/2 edges with probability 1/(n − 1), each target drawn on its own: its degree is
    degree/2 + Binomial(n·degree/2 − degree/2, 1/(n − 1)), variance ≈ degree/2 (standard error
    of a sample variance: √((λ + 2λ²)/n) for Poisson(λ) counts)."""
    n, degree = 20_000, 10
    half = degree // 2
    counts = small_world(n, degree, 1.0, np.random.default_rng(8)).degree.astype(np.float64)
    assert counts.mean() == degree and counts.min() >= half
    trials, p = n * half - half, 1 / (n - 1)
    variance = trials * p * (1 - p)
    assert within(counts.var(), variance, math.sqrt((variance + 2 * variance**2) / n))


def test_rewired_contacts_are_uniform_over_the_others_never_oneself():
    """§1 With rewiring 1 every edge points at one of the n − 1 others with equal probability:
    over many small graphs each offset (target − source mod n) 1 … n − 1 is drawn with
    probability 1/(n − 1) (binomial standard error), offset 0 (oneself) never."""
    n, degree, graphs = 5, 4, 2000
    offsets = []
    for seed in range(graphs):
        net = small_world(n, degree, 1.0, np.random.default_rng(seed))
        src, dst = net.edges()
        offsets.append((dst.astype(np.int64) - src) % n)
    counts = np.bincount(np.concatenate(offsets), minlength=n)
    draws = graphs * n * degree  # both directions of n·degree/2 edges; each direction is uniform
    assert counts[0] == 0 and counts.sum() == draws
    for offset in range(1, n):
        assert within(counts[offset], draws / (n - 1), math.sqrt(draws * (1 / (n - 1)) * (1 - 1 / (n - 1)) * 2))


def test_inverse_degree_and_a_count_after_another_width():
    """§7.5 1/degree (0 without contacts) from the stored degrees or from the rows; the counts of
    codes are right when asked with another number of codes after the first."""
    net = Network(np.array([0, 2, 2, 5, 6]), np.array([1, 3, 0, 1, 3, 2], dtype=np.int32))
    with np.errstate(all="raise"):  # customer 1 has no contacts: no division by zero may reach numpy
        np.testing.assert_array_equal(net.inverse_degree(), np.array([0.5, 0.0, 1 / 3, 1.0], dtype=np.float32))
    assert net.inverse_degree().dtype == np.float32
    stored = Network(net.indptr, net.indices, np.array([4.0, 0.0, 2.0, 1.0], dtype=np.float32))
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(stored.inverse_degree(), np.array([0.25, 0.0, 0.5, 1.0], dtype=np.float32))
    codes = np.array([0, 1, 2, 1], dtype=np.int8)
    three = net.count_codes(codes, 3)
    np.testing.assert_array_equal(three, [[0, 0, 1, 0], [2, 0, 2, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(net.count_codes(codes, 2), three[:2])
    np.testing.assert_array_equal(net.count_codes(codes, 3), three)
    assert three.dtype == np.float32
