"""The compiled engine (numba): the customers' tick as four passes over blocks of customers.

``CompiledEngine.tick`` computes what ``marktsim.engine.vectorised.NumpyEngine.tick``
computes, bit for bit, in fewer passes and without temporaries the size of the market:

- ``tally`` (§7.1–7.2, before serving): customers and backlog per firm, and each firm's
  demand by priority class and age, from which ``ratios`` derives the rationing shares;
- ``serve_and_experience`` (§7.2–7.4): service, satisfaction, revenue and retention spend,
  then (after numpy's expm1 of the spend, as in ``retain``) ``retain_and_signal``: bond, and
  each customer's word-of-mouth code (promoter or detractor of its firm, or silent);
- ``word_of_mouth_and_decide`` (§7.5–7.6): counts each customer's contacts' codes, its pull
  W_ik, and decides with its uniform u_i whether it leaves or is won; ``pull_of`` recounts the
  movers' W_ik for ``choose``, which draws their new firm, and ``move`` applies the moves;
- ``close`` (§7.7, §7.9): the sums at the end of the tick, tenure and CRM knowledge.

Every formula is the one in ``marktsim.engine.rules``, inlined per customer
(``numba.njit(inline="always")``; ``rules.where`` gets a scalar version here). What this
module adds is the order of work: per-firm float64 sums accumulated customer by customer as
``np.bincount`` does within each block of ``account.BLOCK`` customers (or movers), in arrays of
the pass's own and then into the block's sums, each block's sums apart and added in block order
(``account.summed``, the numpy engine's order too), backlog row sums as numpy's pairwise sum,
expm1 left to numpy, and no fast-math. Blocks of customers
keep the temporaries small at any N (10⁷ customers need no array of 10⁷ floats beyond the
state), and a ``Crew`` of threads runs each pass's blocks in parallel with the same bits on any
number of threads (docs/model.md §3; ``config.threads_setting``).

Importing this module imports numba (about 0.2 s) and the first call loads the cached machine
code (about 0.3 s; compiling it takes about 10 s, once per machine and version of this module
and of ``rules``), so the model uses it only for work long enough to repay that
(``marktsim.model.choose_engine``).
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, NamedTuple

import numba
import numpy as np
from llvmlite import binding, ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

from marktsim.engine import rules as r
from marktsim.engine.account import Book, Cell, blocks, in_block_order, retention_spent
from marktsim.engine.network import Network
from marktsim.engine.rules import ONE, ZERO
from marktsim.engine.state import Columns
from marktsim.engine.switch import Moves
from marktsim.engine.tick import Market, Plan, TickResult

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
LEFT = 64  # added to a customer's opinion code (≤ 42) when it left its provider last tick
# above this many customers the contacts' codes no longer sit in the caches: their reads are
# prefetched this many contacts ahead (10⁷ customers: 27 → 10 ns per customer; below, it costs)
PREFETCH_ABOVE, PREFETCH_AHEAD = 1 << 21, 256
_PREFETCH = "llvm.prefetch.p0" if binding.llvm_version_info[0] >= 17 else "llvm.prefetch.p0i8"


@overload(r.where)
def _where(condition, if_true, if_false):  # pragma: no cover - compiled
    """``rules.where`` for one customer: a plain conditional."""
    if isinstance(condition, types.Boolean):
        def choice(condition, if_true, if_false):
            if condition:
                return if_true
            return if_false
        return choice
    return None


def _inline(formula):
    """A formula of ``rules``, compiled to be inlined into the passes that call it."""
    return numba.njit(inline="always", error_model="numpy")(formula)


# the formulas of rules.py as the passes use them (one definition: rules.py)
served_second, ration, served_part, unserved = (_inline(f) for f in (
    r.served_second, r.ration, r.served_part, r.unserved))
served_fraction, revenue, felt_service, forgives = (_inline(f) for f in (
    r.served_fraction, r.revenue, r.felt_service, r.forgives))
learning_rate, learn, is_new, retention_weight = (_inline(f) for f in (
    r.learning_rate, r.learn, r.is_new, r.retention_weight))
retention_spend, bond_update, opinion, pull = (_inline(f) for f in (
    r.retention_spend, r.bond_update, r.opinion, r.pull))
inverse_degree, susceptibility, churn_factor, churn_hazard = (_inline(f) for f in (
    r.inverse_degree, r.susceptibility, r.churn_factor, r.churn_hazard))
rivals_pull, reach, leaves, moving = (_inline(f) for f in (r.rivals_pull, r.reach, r.leaves, r.moving))
prospect_pull, adoption_scale, market_pull, won_by_incentive = (_inline(f) for f in (
    r.prospect_pull, r.adoption_scale, r.market_pull, r.won_by_incentive))
contact_share, churn_surge, discount_ends, bound_by_contract, incentive_response = (_inline(f) for f in (
    r.contact_share, r.churn_surge, r.discount_ends, r.bound_by_contract, r.incentive_response))
choice_weight, referred_draw, starting_bond, knows = (_inline(f) for f in (
    r.choice_weight, r.referred, r.starting_bond, r.knows))


class State(NamedTuple):
    """The customer columns as the passes take them (``Columns`` as a tuple of its arrays)."""

    provider: np.ndarray
    satisfaction: np.ndarray
    bond: np.ndarray
    tenure: np.ndarray
    value: np.ndarray
    b2b: np.ndarray
    units: np.ndarray
    segment: np.ndarray
    backlog: np.ndarray
    known: np.ndarray
    referred: np.ndarray
    propensity: np.ndarray
    deal_prone: np.ndarray
    contract: np.ndarray
    won_incentive: np.ndarray
    left: np.ndarray


class Tallies(NamedTuple):
    """What ``tally`` adds up before serving."""

    books: np.ndarray  # Book.CUSTOMERS_START, Book.BACKLOG_IN
    demand: np.ndarray  # (class, age, firm + 1): units to serve
    nonempty: np.ndarray  # (age,): some customer has units of this age
    weight_total: np.ndarray  # (firm + 1,): Σ retention weights (targeted spend only)
    flags: np.ndarray  # [some customer is in a second class, largest tenure]


class Serving(NamedTuple):
    """This tick's service and retention terms, per (class, age, firm) and per firm."""

    two_groups: bool
    share: np.ndarray  # (class, age, firm + 1) float32: rationing shares
    nonempty: np.ndarray
    growth: np.ndarray  # revenue growth by tenure (rules.loyalty_growth, by numpy)
    uniform: bool  # every firm spreads retention spend equally
    revenue_potential: np.ndarray  # v·units per customer (read only when targeted)
    per_weight: np.ndarray  # (firm + 1,) float32: R_j / Σ w


class Deciding(NamedTuple):
    """This tick's pull terms for ``word_of_mouth_and_decide`` and ``pull_of``."""

    pressure: np.ndarray  # P_k
    pressure_sum: float  # Σ_k P_k, as numpy sums it
    offer: np.ndarray  # Q_k (incentive pressure)
    offer_sum: float
    global_pull: np.ndarray  # W_k under global mixing (empty: a network)
    indptr: np.ndarray
    indices: np.ndarray
    codes: np.ndarray  # each customer's opinion code (+ LEFT)
    speaks: np.ndarray  # (firm,) someone promotes or (with q_neg > 0) detracts from firm k
    zero_hazard: bool  # a saturated monopoly: nobody leaves
    protect: bool  # ω > 0: count the contacts promoting the own provider
    contagion: bool  # c > 0: count the contacts who left last tick
    own_global: np.ndarray  # global mixing: promoters_k / N as float32 (empty: a network)
    left_global: np.float32  # global mixing: leavers last tick / N


class Found(NamedTuple):
    """Movers found in one block: indices, whether each left intrinsically, and how many."""

    who: np.ndarray
    intrinsic: np.ndarray
    n: np.ndarray  # [how many]


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to fetch array[index] into the caches (LLVM's prefetch: read, keep, data)."""
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, data, [args[1]], wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]), _PREFETCH)
        builder.call(function, [builder.bitcast(pointer, byte_pointer), ir.Constant(i32, 0), ir.Constant(i32, 3),
                                ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _row_sum(backlog, i):  # pragma: no cover - compiled
    """numpy's float32 sum of backlog row i (pairwise_sum: in order below 8 ages, else 8 lanes)."""
    n = backlog.shape[1]
    if n < 8:
        res = ZERO
        for a in range(n):
            res += backlog[i, a]
        return res
    r0, r1, r2, r3 = backlog[i, 0], backlog[i, 1], backlog[i, 2], backlog[i, 3]
    r4, r5, r6, r7 = backlog[i, 4], backlog[i, 5], backlog[i, 6], backlog[i, 7]
    a = 8
    stop = n - (n % 8)
    while a < stop:
        r0 += backlog[i, a]
        r1 += backlog[i, a + 1]
        r2 += backlog[i, a + 2]
        r3 += backlog[i, a + 3]
        r4 += backlog[i, a + 4]
        r5 += backlog[i, a + 5]
        r6 += backlog[i, a + 6]
        r7 += backlog[i, a + 7]
        a += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while a < n:
        res += backlog[i, a]
        a += 1
    return ZERO + res


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _add_rows(out, sums, rows):  # pragma: no cover - compiled
    """Add the rows `rows` of a pass's own sums to its block's sums `out` (the rows no other
    pass writes, zero until then: 0.0 + x is x, so every bit is as if added into `out`)."""
    for row in rows:
        for f in range(out.shape[1]):
            out[row, f] += sums[row, f]


@_jit
def tally(lo, hi, state, terms, rules, uniform, revenue_potential, out):  # pragma: no cover - compiled
    """§7.1–7.2 Customers [lo, hi): per firm the customers and waiting units at the start of
    the tick; demand by (second priority class, age, firm; prospects in firm F), which ages
    hold units, the retention weights' total (targeted spend), the largest tenure. The sums go
    into arrays of this call's own and then into `out` (zero until then): the compiler knows
    that writing them changes no customer column, and keeps them close (36 → 9 ns a customer)."""
    n_firms = out.books.shape[1]
    wait = state.backlog.shape[1]
    books = np.zeros_like(out.books)
    demand = np.zeros_like(out.demand)
    weight_total = np.zeros_like(out.weight_total)
    nonempty = np.zeros_like(out.nonempty)
    second, largest = out.flags[0], out.flags[1]
    for i in range(lo, hi):
        p = state.provider[i]
        active = p >= 0
        f = p if active else n_firms
        if active:
            books[Book.CUSTOMERS_START, f] += 1.0
            books[Book.BACKLOG_IN, f] += np.float64(_row_sum(state.backlog, i))
        if state.tenure[i] > largest:
            largest = state.tenure[i]
        s = 0
        if served_second(terms.priority[f], is_new(state.tenure[i], rules)):
            s = 1
            second = 1
        if active:
            demand[s, 0, f] += np.float64(state.units[i])
        for a in range(wait):
            cell = state.backlog[i, a]
            if cell != 0:
                nonempty[a + 1] = True
            demand[s, a + 1, f] += np.float64(cell)
        if not uniform and active:
            w = retention_weight(terms.targeting[f], revenue_potential[i], terms.abc_weights[f, state.segment[i]])
            weight_total[f] += np.float64(w)
    _add_rows(out.books, books, (Book.CUSTOMERS_START, Book.BACKLOG_IN))
    out_demand, out_weight_total, out_nonempty = out.demand, out.weight_total, out.nonempty
    out_demand += demand
    out_weight_total += weight_total
    out_nonempty |= nonempty
    out.flags[0], out.flags[1] = second, largest


@_jit
def ratios(demand, nonempty, capacity, two_groups):  # pragma: no cover - compiled
    """§7.2 The rationing share of each (class, age, firm): classes in order, ages from the
    oldest, each served in proportion as far as the firm's remaining capacity goes."""
    groups, ages, width = demand.shape
    share = np.ones((groups, ages, width), np.float32)
    remaining = np.zeros(width, np.float64)
    remaining[: capacity.shape[0]] = capacity
    for g in range(2 if two_groups else 1):
        for a in range(ages - 1, -1, -1):
            if not nonempty[a]:
                continue
            for f in range(width):
                share[g, a, f], remaining[f] = ration(demand[g, a, f], remaining[f])
    return share


@_jit
def serve_and_experience(lo, hi, state, terms, rules, serving, cells, books, cell_books,
                         spend):  # pragma: no cover - compiled
    """§7.2–7.4 Customers [lo, hi): serve with the rationing shares (class, age, firm), learn
    satisfaction from the share served, earn revenue, and allocate retention spend (into
    `spend`, for numpy's expm1). The sums go into arrays of this call's own first (as in
    ``tally``)."""
    n_firms = books.shape[1]
    wait = state.backlog.shape[1]
    block_books, block_cells = books, cell_books
    books, cell_books = np.zeros_like(block_books), np.zeros_like(block_cells)
    old = np.empty(wait, np.float32)
    for i in range(lo, hi):
        p = state.provider[i]
        active = p >= 0
        f = p if active else n_firms
        new = is_new(state.tenure[i], rules)
        g = 1 if serving.two_groups and served_second(terms.priority[f], new) else 0
        for a in range(wait):
            old[a] = state.backlog[i, a]
        # serve: cells of age 0 (this tick's units) to wait, oldest rationed first
        cell0 = state.units[i] if active else ZERO
        due = cell0
        for a in range(wait):
            due += old[a]
        served0 = served_part(cell0, serving.share[g, 0, f])
        served = served0
        for a in range(wait):
            if serving.nonempty[a + 1]:
                served += served_part(old[a], serving.share[g, a + 1, f])
        left = unserved(cell0, served0)
        expired = left if wait == 0 else ZERO
        for a in range(wait):
            c = old[a]
            if serving.nonempty[a + 1]:
                c = unserved(c, served_part(c, serving.share[g, a + 1, f]))
            if a == wait - 1:
                expired = c
            else:
                state.backlog[i, a + 1] = c
        if wait > 0:
            state.backlog[i, 0] = left
        earned = revenue(served, state.value[i], serving.growth[state.tenure[i]])
        # experience
        if active:
            felt = felt_service(served_fraction(served, due), terms.quality[f], forgives(terms.communicates[f], new),
                                rules)
            state.satisfaction[i] = learn(state.satisfaction[i], felt, learning_rate(new, rules))
        # retention spend
        weight = ONE
        if not serving.uniform:
            weight = ZERO
            if active:
                weight = retention_weight(terms.targeting[f], serving.revenue_potential[i],
                                          terms.abc_weights[f, state.segment[i]])
        spend[i - lo] = retention_spend(weight, serving.per_weight[f], state.known[i], rules)
        if active:
            if new:
                books[Book.CUSTOMERS_NEW, f] += 1.0
            books[Book.REVENUE, f] += np.float64(earned)
            books[Book.DEMAND, f] += np.float64(state.units[i])
            books[Book.SERVED, f] += np.float64(served)
            books[Book.EXPIRED, f] += np.float64(expired)
            cell_books[Cell.REVENUE, f, cells[i]] += np.float64(earned)
            if state.won_incentive[i]:
                books[Book.REVENUE_INCENTIVE, f] += np.float64(earned)
    _add_rows(block_books, books, (Book.CUSTOMERS_NEW, Book.REVENUE, Book.DEMAND, Book.SERVED, Book.EXPIRED,
                                   Book.REVENUE_INCENTIVE))
    revenue_cells = block_cells[Cell.REVENUE]
    revenue_cells += cell_books[Cell.REVENUE]


@_jit
def retain_and_signal(lo, hi, state, rules, gain, codes, counts):  # pragma: no cover - compiled
    """§7.4–7.5 Customers [lo, hi): the bond update; each customer's opinion code (k: promotes
    firm k; F + k: detracts from it; 2F: silent; waiting customers promote no one), plus LEFT
    when it left its provider last tick (read by its contacts' contagion), and the count of
    each opinion."""
    n_firms = (counts.shape[0] - 1) // 2
    wait = state.backlog.shape[1]
    own = np.zeros_like(counts)  # counted apart first (as in ``tally``)
    for i in range(lo, hi):
        p = state.provider[i]
        active = p >= 0
        if active:
            state.bond[i] = bond_update(state.bond[i], gain[i - lo], state.deal_prone[i], rules)
        waiting = _row_sum(state.backlog, i) > 0 if wait else False
        c = opinion(p, active, state.satisfaction[i], waiting, n_firms, rules)
        codes[i] = c + LEFT if state.left[i] else c
        own[c] += 1.0
    counts += own


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pulls(contact_codes, start, stop, speaks, rules, count, out):  # pragma: no cover - compiled
    """W_ik for every firm k (§7.5) of a customer whose contacts' codes are
    contact_codes[start:stop], into `out`; `count` keeps the count of each opinion. Returns
    (1/degree, the number of contacts who left their provider last tick)."""
    n_firms = out.shape[0]
    inverse = inverse_degree(np.float32(stop - start))
    for c in range(count.shape[0]):
        count[c] = 0
    leavers = 0
    for e in range(start, stop):
        code = contact_codes[e]
        if code >= LEFT:
            code -= LEFT
            leavers += 1
        count[code] += 1
    for k in range(n_firms):
        out[k] = ZERO
        if speaks[k]:
            out[k] = pull(np.float32(count[k]), np.float32(count[n_firms + k]), inverse, rules)
    return inverse, leavers


@_jit
def word_of_mouth_and_decide(lo, hi, state, rules, deciding, u, found):  # pragma: no cover - compiled
    """§7.5–7.6 Customers [lo, hi): W_ik from the contacts' codes (or the global pull), the
    rivals' pull and the churn hazard, and with u_i the decision: movers are appended to
    `found` from position found.n[0]."""
    d = deciding
    n_firms = d.pressure.shape[0]
    count = np.zeros(2 * n_firms + 1, np.int64)
    w = np.empty(n_firms, np.float32)
    network = d.global_pull.shape[0] == 0
    base = d.indptr[lo] if network else 0
    # the contacts' codes first, in one tight loop: its scattered reads overlap in the memory
    # system instead of stalling the counting one by one (10⁷ customers: 4 × faster)
    contact_codes = np.empty(d.indptr[hi] - base if network else 0, np.int8)
    ahead = PREFETCH_AHEAD if d.codes.shape[0] > PREFETCH_ABOVE else 0
    last = contact_codes.shape[0] - ahead
    for e in range(contact_codes.shape[0]):
        if ahead and e < last:
            _prefetch(d.codes, d.indices[base + e + ahead])
        contact_codes[e] = d.codes[d.indices[base + e]]
    for i in range(lo, hi):
        inverse, leavers = ZERO, 0
        if network:
            inverse, leavers = _pulls(contact_codes, d.indptr[i] - base, d.indptr[i + 1] - base, d.speaks, rules,
                                      count, w)
        else:
            for k in range(n_firms):
                w[k] = d.global_pull[k]
        total = np.float64(w[0])
        for k in range(1, n_firms):
            total += np.float64(w[k])
        p = state.provider[i]
        response = incentive_response(state.deal_prone[i], rules)
        hazard = ZERO
        sigma = ONE
        rivals = rivals_pull(prospect_pull(d.pressure_sum, d.offer_sum, response, total, rules), 0.0)
        if p >= 0:
            s, b = state.satisfaction[i], state.bond[i]
            own_share = ZERO
            if d.protect:
                own_share = contact_share(np.float32(count[p]), inverse) if network else d.own_global[p]
            sigma = susceptibility(s, b, own_share, rules)
            rivals = rivals_pull(market_pull(d.pressure_sum, d.offer_sum, response, total),
                                 market_pull(d.pressure[p], d.offer[p], response, np.float64(w[p])))
            if not d.zero_hazard:
                left_share = ZERO
                if d.contagion:
                    left_share = contact_share(np.float32(leavers), inverse) if network else d.left_global
                ending = discount_ends(state.won_incentive[i], state.deal_prone[i], state.tenure[i], rules)
                factor = churn_factor(state.b2b[i], state.propensity[i], rules)
                hazard = churn_hazard(s, b, factor, churn_surge(left_share, ending, rules), rules)
        threshold = reach(hazard, sigma, rivals)
        if p >= 0 and bound_by_contract(state.contract[i], state.tenure[i], rules):
            hazard, threshold = ZERO, 0.0
        draw = u[i - lo]
        if moving(draw, hazard, threshold):
            j = found.n[0]
            found.who[j] = i
            found.intrinsic[j] = leaves(draw, hazard)
            found.n[0] = j + 1


@_jit
def pull_of(movers, deciding, rules, n_firms):  # pragma: no cover - compiled
    """§7.5 W_ik of the given customers, shape (firms, movers)."""
    d = deciding
    out = np.empty((n_firms, movers.shape[0]), np.float32)
    count = np.zeros(2 * n_firms + 1, np.int64)
    w = np.empty(n_firms, np.float32)
    start = np.empty(movers.shape[0] + 1, np.int64)
    start[0] = 0
    for j in range(movers.shape[0]):
        start[j + 1] = start[j] + d.indptr[movers[j] + 1] - d.indptr[movers[j]]
    contact_codes = np.empty(start[-1], np.int8)
    ahead = 8 if d.codes.shape[0] > PREFETCH_ABOVE else 0  # movers: their contact lists lie apart
    for j in range(movers.shape[0]):
        if ahead and j + ahead < movers.shape[0]:
            _prefetch(d.indices, d.indptr[movers[j + ahead]])
        first = d.indptr[movers[j]]
        for e in range(start[j], start[j + 1]):
            contact_codes[e] = d.codes[d.indices[first + e - start[j]]]
    for j in range(movers.shape[0]):
        _pulls(contact_codes, start[j], start[j + 1], d.speaks, rules, count, w)
        for k in range(n_firms):
            out[k, j] = w[k]
    return out


@_jit
def choose(movers, deciding, pulls, rules, draws, new, won):  # pragma: no cover - compiled
    """§7.6 Where the movers go (numpy: ``switch.choose``), for the movers with
    `movers.choosing` set; `draws` are their uniforms. Fills `new` and `won` (referred,
    incentive)."""
    choosing, intrinsic, old, response = movers
    referred, incentive = won
    pressure, offer = deciding.pressure, deciding.offer
    n_firms = pressure.shape[0]
    weight = np.empty(n_firms, np.float64)
    w_part = np.empty(n_firms, np.float64)
    o_part = np.empty(n_firms, np.float64)
    cum = np.empty(n_firms, np.float64)
    j = 0
    for m in range(choosing.shape[0]):
        if not choosing[m]:
            continue
        noise = rules.switch_noise if intrinsic[m] else 0.0
        holder = old[m]
        scale = adoption_scale(holder, rules)
        for k in range(n_firms):
            w_part[k] = np.float64(pulls[k, m])
            o_part[k] = offer[k] * response[m]
            weight[k] = choice_weight(pressure[k] * scale, o_part[k], w_part[k], noise)
        if holder >= 0:
            weight[holder] = 0.0
        total = weight[0]
        for k in range(1, n_firms):
            total += weight[k]
        if total <= 0:  # all weights zero: a uniformly drawn rival
            for k in range(n_firms):
                weight[k] = 0.0 if k == holder else 1.0
                w_part[k] = 0.0
                o_part[k] = 0.0
            total = weight[0]
            for k in range(1, n_firms):
                total += weight[k]
        draw = draws[j] * total
        j += 1
        chosen = 0
        running = 0.0
        for k in range(n_firms):
            running = weight[k] if k == 0 else running + weight[k]
            cum[k] = running
            if running <= draw:
                chosen += 1
        if chosen > n_firms - 1:
            chosen = n_firms - 1
        new[m] = chosen
        start = cum[chosen] - weight[chosen]
        referred[m] = referred_draw(draw, start, weight[chosen], w_part[chosen])
        incentive[m] = won_by_incentive(draw, start, weight[chosen], w_part[chosen], o_part[chosen])


@_jit
def move(who, new, won, state, rules, left_units, was):  # pragma: no cover - compiled
    """§7.6 Apply the moves: new provider, tenure 0, no CRM profile, initial satisfaction,
    initial bond (plus the referral bonus), the incentive flag, backlog dropped, and `left` for
    those who had a provider; records each mover's dropped units, whether it was new and
    whether it had been won with an incentive (`was`)."""
    referred, incentive = won
    was_new, was_incentive = was
    for j in range(who.shape[0]):
        i = who[j]
        left_units[j] = _row_sum(state.backlog, i)
        was_new[j] = is_new(state.tenure[i], rules)
        was_incentive[j] = state.won_incentive[i]
        state.left[i] = state.provider[i] >= 0
        state.won_incentive[i] = incentive[j] and new[j] >= 0
        state.provider[i] = new[j]
        state.tenure[i] = 0
        state.known[i] = False
        state.satisfaction[i] = np.float32(rules.satisfaction_init)
        state.bond[i] = np.float32(starting_bond(referred[j], rules))
        state.referred[i] = referred[j] and new[j] >= 0
        for a in range(state.backlog.shape[1]):
            state.backlog[i, a] = ZERO


@_jit
def mover_books(old, new, won, intrinsic, was, left_units, cells, books, cell_books):  # pragma: no cover
    """§7.7 What the moves do to the books (numpy: ``NumpyEngine.move``): won (by referral, with
    an incentive) for the new firm; lost (intrinsic or poached, new ones, incentive ones),
    dropped units and lost customers by cell for the old one."""
    referred, incentive = won
    was_new, was_incentive = was
    for j in range(old.shape[0]):
        o, w = old[j], new[j]
        if w >= 0:
            books[Book.WON, w] += 1.0
            if referred[j]:
                books[Book.WON_BY_WOM, w] += 1.0
            if incentive[j]:
                books[Book.WON_INCENTIVE, w] += 1.0
        if o >= 0:
            if intrinsic[j]:
                books[Book.LOST_INTRINSIC, o] += 1.0
            else:
                books[Book.LOST_POACHED, o] += 1.0
            if was_new[j]:
                books[Book.LOST_NEW, o] += 1.0
            if was_incentive[j]:
                books[Book.LOST_INCENTIVE, o] += 1.0
            books[Book.DROPPED_UNITS, o] += np.float64(left_units[j])
            cell_books[Cell.LOST, o, cells[j]] += 1.0


@_jit
def close(lo, hi, state, terms, rules, cells, movers, start, books, cell_books):  # pragma: no cover - compiled
    """§7.7, §7.9 Customers [lo, hi), after the moves: the sums at the end of the tick
    (customers, waiting units, satisfaction and bond per firm; customers per firm × cell);
    tenure + 1 for those who stayed, and the CRM profile. `movers` (ascending) is read from
    `start`; returns where the next block goes on reading. The sums go into arrays of this
    call's own first (as in ``tally``)."""
    block_books, block_cells = books, cell_books
    books, cell_books = np.zeros_like(block_books), np.zeros_like(block_cells)
    j = start
    for i in range(lo, hi):
        moved = False
        while j < movers.shape[0] and movers[j] < i:
            j += 1
        if j < movers.shape[0] and movers[j] == i:
            moved = True
        if not moved:
            state.left[i] = False  # last tick's leavers are news no more; this tick's are
        p = state.provider[i]
        if p >= 0:
            books[Book.CUSTOMERS, p] += 1.0
            books[Book.BACKLOG, p] += np.float64(_row_sum(state.backlog, i))
            books[Book.SATISFACTION, p] += np.float64(state.satisfaction[i])
            books[Book.BOND, p] += np.float64(state.bond[i])
            if state.won_incentive[i]:
                books[Book.CUSTOMERS_INCENTIVE, p] += 1.0
            cell_books[Cell.CUSTOMERS, p, cells[i]] += 1.0
            if not moved:
                state.tenure[i] += 1
            state.known[i] = knows(terms.crm[p], state.tenure[i], rules)
        else:
            state.known[i] = False
    _add_rows(block_books, books, (Book.CUSTOMERS, Book.BACKLOG, Book.SATISFACTION, Book.BOND,
                                   Book.CUSTOMERS_INCENTIVE))
    customer_cells = block_cells[Cell.CUSTOMERS]
    customer_cells += cell_books[Cell.CUSTOMERS]
    return j


_POOLS: dict[int, ThreadPoolExecutor] = {}  # one pool per thread count, kept for the process's life
_POOLS_LOCK = threading.Lock()
os.register_at_fork(after_in_child=_POOLS.clear)  # a forked child has none of its parent's threads


def _apart(size: int, shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """Zeros of shape (size, *shape) whose `size` parts lie 128 bytes or more apart: threads
    adding into neighbouring blocks' sums then never write the same cache lines."""
    if size == 1:
        return np.zeros((1, *shape), dtype=dtype)
    itemsize = np.dtype(dtype).itemsize
    width = math.prod(shape)
    stride = -(-(width * itemsize + 128) // 128) * 128 // itemsize
    return np.zeros((size, stride), dtype=dtype)[:, :width].reshape((size, *shape))


class Crew:
    """The threads that run a pass's blocks (docs/model.md §3): the calling thread and
    threads − 1 helpers take the next block in turn until none is left. A block's work writes
    only its own customers and its own block's sums, and the blocks' sums are added in block
    order, so which thread takes which block changes no bit. A block's uniforms (`draw`) are
    drawn as it is taken, under the same lock, so they come in block order."""

    def __init__(self, threads: int):
        self.threads = threads

    def spans(self, n: int) -> list[tuple[int, int]]:
        """Spans [lo, hi) of n entries for work that sums nothing: ``blocks`` on one thread,
        else a quarter of a block each, so that the threads finish a pass together."""
        return blocks(n, 1 if self.threads == 1 else 4)

    def each(self, work: Callable[..., Any], spans: list[tuple[int, int]],
             draw: Callable[[int], np.ndarray] | None = None) -> list[Any]:
        """work(b, lo, hi[, uniforms]) for every block b = [lo, hi); the results in block order.
        An error in any block stops the others taking blocks and is raised here once every
        thread has stopped."""
        def args(b: int) -> tuple:
            lo, hi = spans[b]
            return (b, lo, hi) if draw is None else (b, lo, hi, draw(hi - lo))

        if self.threads == 1 or len(spans) == 1:
            return [work(*args(b)) for b in range(len(spans))]
        results: list[Any] = [None] * len(spans)
        order = iter(range(len(spans)))
        lock = threading.Lock()
        failed: list[BaseException] = []

        def take() -> tuple | None:
            with lock:
                b = None if failed else next(order, None)
                return None if b is None else args(b)

        def run() -> None:
            try:
                while (taken := take()) is not None:
                    results[taken[0]] = work(*taken)
            except BaseException as error:
                failed.append(error)

        pool = _pool(self.threads - 1)
        helpers = [pool.submit(run) for _ in range(self.threads - 1)]
        run()
        wait(helpers)
        if failed:
            raise failed[0]
        return results


def _pool(threads: int) -> ThreadPoolExecutor:
    """The process's pool of `threads` helper threads (made once, kept)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(threads)
        if pool is None:
            pool = _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="marktsim")
        return pool


class CompiledEngine:
    """The customers' tick with the compiled passes (``Engine``); the same bits as ``NumpyEngine``
    on any number of threads (docs/model.md §3)."""

    def __init__(self, market: Market, revenue_potential: np.ndarray, threads: int = 1):
        self.market = market
        self.revenue_potential = revenue_potential
        self.codes = np.empty(market.n, dtype=np.int8)
        self.uniform = not market.firms.targeting.any()
        self._growth_table: np.ndarray | None = None
        self.crew = Crew(threads if len(blocks(market.n)) > 1 else 1)

    def growth(self, largest_tenure: int, horizon: int = 0) -> np.ndarray:
        """Revenue growth with tenure (rules.loyalty_growth, by numpy) for tenures 0 … largest."""
        if self._growth_table is None or self._growth_table.shape[0] <= largest_tenure:
            tenure = np.arange(2 * largest_tenure + 1 + horizon, dtype=np.int32)
            self._growth_table = r.loyalty_growth(tenure.astype(np.float32), self.market.rules)
        return self._growth_table

    def tick(self, columns: Columns, plan: Plan, generator: np.random.Generator) -> TickResult:
        """§7.2–7.6 and §7.9 in passes over blocks of customers, each block's sums apart and
        added in block order (§3); the per-firm sums of the tick."""
        market, rules, terms = self.market, self.market.rules, self.market.firms
        F, customers, crew = market.n_firms, blocks(market.n), self.crew
        state = State(columns.provider, columns.satisfaction, columns.bond, columns.tenure, columns.value,
                      columns.b2b, columns.units, columns.segment, columns.backlog, columns.known, columns.referred,
                      columns.propensity, columns.deal_prone, columns.contract, columns.won_incentive, columns.left)
        size, wait = len(customers), state.backlog.shape[1]
        sums = _apart(size, (len(Book), F))  # each block's per-firm sums
        cell_sums = _apart(size, (len(Cell), F, 6))
        weights = state.value if self.uniform else self.revenue_potential  # read only when targeted

        # tally: customers, backlog and demand before serving; the rationing shares
        tallies = Tallies(sums, _apart(size, (2, wait + 1, F + 1)), _apart(size, (wait + 1,), bool),
                          _apart(size, (F + 1,)), _apart(size, (2,), np.int64))
        tallies.nonempty[:, 0] = True

        def tally_block(b: int, lo: int, hi: int) -> None:
            tally(lo, hi, state, terms, rules, self.uniform, weights, Tallies(*[part[b] for part in tallies]))

        crew.each(tally_block, customers)
        books = in_block_order(sums)
        two_groups = bool(tallies.flags[:, 0].max())
        nonempty = np.asarray(tallies.nonempty.any(axis=0))
        share = ratios(in_block_order(tallies.demand), nonempty, np.asarray(plan.capacity, dtype=np.float64),
                       two_groups)
        retention = retention_spent(books, plan.retention)
        total = (np.append(books[Book.CUSTOMERS_START], 0.0) if self.uniform
                 else in_block_order(tallies.weight_total))
        serving = Serving(two_groups, share, nonempty, self.growth(int(tallies.flags[:, 1].max())),
                          self.uniform, weights, r.spend_per_weight(total, retention))

        # serve, experience, retain and the opinion codes, block by block
        counts = _apart(size, (2 * F + 1,))

        def serve_block(b: int, lo: int, hi: int) -> None:
            spend = np.empty(hi - lo, dtype=np.float32)
            serve_and_experience(lo, hi, state, terms, rules, serving, market.cells, sums[b], cell_sums[b], spend)
            retain_and_signal(lo, hi, state, rules, r.bond_gain(spend, rules), self.codes, counts[b])  # numpy's expm1

        crew.each(serve_block, customers)
        count = in_block_order(counts)
        promoters, detractors = count[:F], count[F: 2 * F]

        # word of mouth and the decisions, block by block with each block's uniforms
        deciding = self.deciding(columns, plan, promoters, detractors)

        def decide_block(b: int, lo: int, hi: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            found = Found(np.empty(hi - lo, dtype=np.int64), np.empty(hi - lo, dtype=bool), np.zeros(1, np.int64))
            word_of_mouth_and_decide(lo, hi, state, rules, deciding, u, found)
            return found.who[: found.n[0]].copy(), found.intrinsic[: found.n[0]].copy()  # not the span's buffers

        parts = crew.each(decide_block, crew.spans(market.n), draw=generator.random)  # no sums: any spans
        moves = self.choose(state, deciding, generator, np.concatenate([q[0] for q in parts]),
                            np.concatenate([q[1] for q in parts]))
        mover_sums, mover_cells = self.apply_moves(state, moves)

        # the sums at the end of the tick, tenure and CRM knowledge
        def close_block(b: int, lo: int, hi: int) -> None:
            start = int(np.searchsorted(moves.who, lo))
            close(lo, hi, state, terms, rules, market.cells, moves.who, start, sums[b], cell_sums[b])

        crew.each(close_block, customers)
        books = in_block_order(sums) + mover_sums  # rows apart: + 0.0 changes nothing
        books[Book.PROMOTERS], books[Book.DETRACTORS] = promoters, detractors
        return TickResult(books, in_block_order(cell_sums) + mover_cells)

    def deciding(self, columns: Columns, plan: Plan, promoters: np.ndarray, detractors: np.ndarray) -> Deciding:
        """§7.5–7.6 This tick's pull terms: the global pull or the network, the rivals' pressure."""
        market, rules = self.market, self.market.rules
        F, network = market.n_firms, market.network
        speaks = ~((promoters == 0) & ((detractors == 0) | (rules.wom_negative == 0)))
        if network is None:
            global_pull = r.global_pull(promoters, detractors, market.n, rules)
            indptr, indices = np.zeros(1, np.int64), np.zeros(0, np.int32)
        else:
            global_pull = np.zeros(0, np.float32)
            indptr, indices = network.indptr, network.indices
        protect, contagion = bool(rules.wom_protection > 0), bool(rules.contagion > 0)
        own_global = (promoters / market.n).astype(np.float32) if network is None else np.zeros(0, np.float32)
        left_global = np.float32(np.count_nonzero(columns.left) / market.n if network is None and contagion else 0.0)
        return Deciding(plan.pressure, float(plan.pressure.sum()), plan.offer, float(plan.offer.sum()), global_pull,
                        indptr, indices, self.codes, speaks, market.saturated and F == 1, protect, contagion,
                        own_global, left_global)

    def apply_moves(self, state: State, moves: Moves) -> tuple[np.ndarray, np.ndarray]:
        """§7.6–7.7 Apply the moves; what they add to the books (rows WON … LOST_INCENTIVE) and
        to the cells' LOST row, summed in blocks of movers (§3)."""
        market, rules, F = self.market, self.market.rules, self.market.n_firms
        m = moves.who.shape[0]
        left_units, was = np.empty(m, np.float32), (np.empty(m, dtype=bool), np.empty(m, dtype=bool))
        won = (moves.referred, moves.incentive)
        move(moves.who, moves.new, won, state, rules, left_units, was)
        cells = market.cells[moves.who]
        chunks = blocks(m)
        sums, cell_sums = np.zeros((len(chunks), len(Book), F)), np.zeros((len(chunks), len(Cell), F, 6))
        for c, (lo, hi) in enumerate(chunks):
            part = slice(lo, hi)
            mover_books(moves.old[part], moves.new[part], (moves.referred[part], moves.incentive[part]),
                        moves.intrinsic[part], (was[0][part], was[1][part]), left_units[part], cells[part],
                        sums[c], cell_sums[c])
        return in_block_order(sums), in_block_order(cell_sums)

    def choose(self, state: State, deciding: Deciding, generator: np.random.Generator, movers: np.ndarray,
               intrinsic: np.ndarray) -> Moves:
        """§7.6 Where the movers go, drawn as ``switch.choose`` draws it."""
        market = self.market
        F, m = market.n_firms, movers.shape[0]
        if market.network is None:
            pulls = np.repeat(deciding.global_pull[:, None], m, axis=1)
        else:
            def pulls_of(b: int, lo: int, hi: int) -> np.ndarray:
                return pull_of(movers[lo:hi], deciding, market.rules, F)

            parts = self.crew.each(pulls_of, self.crew.spans(m))
            pulls = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        old = state.provider[movers]
        new = np.full(m, -1, dtype=np.int8)
        referred, incentive = np.zeros(m, dtype=bool), np.zeros(m, dtype=bool)
        choosing = ~intrinsic | market.saturated
        chooser_count = int(np.count_nonzero(choosing))
        if chooser_count:
            response = np.asarray(r.incentive_response(state.deal_prone[movers], market.rules), np.float64)
            choose((choosing, intrinsic, old, response), deciding, pulls, market.rules,
                   generator.random(chooser_count), new, (referred, incentive))
        return Moves(old=old, new=new, who=movers, intrinsic=intrinsic, referred=referred, incentive=incentive)


@_jit
def _small_world_fill(n, half, rewired, targets, indptr, indices, degree):  # pragma: no cover - compiled
    """The contacts of ``network.small_world`` in CSR form, filled in place: customer a's own
    edges (offsets 1 … half, in order) first, then the edges pointing at it, by edge number.
    `degree` is scratch space (int32 where the entries fit)."""
    degree[:] = half
    t = 0
    for j in range(half):
        for i in range(n):
            e = j * n + i
            if rewired[e >> 3] & (1 << (7 - (e & 7))):
                degree[targets[t]] += 1
                t += 1
            else:
                degree[(i + j + 1) % n] += 1
    indptr[0] = 0
    for a in range(n):
        indptr[a + 1] = indptr[a] + degree[a]
        degree[a] = indptr[a] + half  # from here on: where a's next incoming edge goes
    t = 0
    for j in range(half):
        for i in range(n):
            e = j * n + i
            if rewired[e >> 3] & (1 << (7 - (e & 7))):
                d = targets[t]
                t += 1
            else:
                d = (i + j + 1) % n
            indices[indptr[i] + j] = d
            indices[degree[d]] = i
            degree[d] += 1


def small_world(n: int, degree: int, rewiring: float, rng: np.random.Generator) -> Network:
    """§2 Compiled twin of ``network.small_world``: the same draws and the same network, built
    in place without the edge list (at the peak about 57 bytes per customer, the network's own
    48 included, instead of about 300)."""
    from marktsim.engine.network import small_world as reference

    half = min(degree // 2, max((n - 1) // 2, 0))
    if half == 0:
        return reference(n, degree, rewiring, rng)
    edges = n * half
    rewired = np.zeros((edges + 7) // 8, dtype=np.uint8)  # one bit per edge, as np.packbits
    step = 1 << 20  # a multiple of 8: the bits of a block fill whole bytes
    count = 0
    for lo in range(0, edges, step):
        hi = min(edges, lo + step)
        draw = rng.random(hi - lo) < rewiring
        count += int(np.count_nonzero(draw))
        rewired[lo // 8: (hi + 7) // 8] = np.packbits(draw)
        del draw
    targets = np.zeros(0, dtype=np.int64)
    if count:
        targets = rng.integers(0, n - 1, size=count)
        _skip_self(rewired, targets, n)
    indptr = np.empty(n + 1, dtype=np.int64)
    indices = np.empty(2 * edges, dtype=np.int32)
    scratch = np.empty(n, dtype=np.int32 if 2 * edges < 2**31 else np.int64)
    _small_world_fill(n, half, rewired, targets, indptr, indices, scratch)
    del scratch
    return Network(indptr, indices)


@_jit
def _skip_self(rewired, targets, n):  # pragma: no cover - compiled
    """A rewired edge's new end skips its own customer: target + (target ≥ source)."""
    t = 0
    for byte in range(rewired.shape[0]):
        bits = rewired[byte]
        if bits == 0:
            continue
        for b in range(8):
            if bits & (1 << (7 - b)):
                source = (byte * 8 + b) % n
                if targets[t] >= source:
                    targets[t] += 1
                t += 1


def _clear_stale_cache() -> None:
    """Numba keys the cached machine code of this module by this file's time stamp only, but
    the passes inline the formulas of ``rules.py``: when rules.py (or this file) changes, the
    cache written for the old versions is removed, so the passes are compiled anew."""
    here = Path(__file__)
    stamp = hashlib.sha256(here.read_bytes() + (here.parent / "rules.py").read_bytes()).hexdigest()
    try:
        folder = Path(tally._cache._cache_path)  # type: ignore[attr-defined]  # numba's cache folder (private)
    except AttributeError:  # pragma: no cover - another numba: nothing to clear
        return
    marker = folder / f"{here.stem}.rules-stamp"
    try:
        if marker.is_file() and marker.read_text() == stamp:
            return
        for old in folder.glob(f"{here.stem}.*.nb[ic]"):
            old.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        marker.write_text(stamp)
    except OSError:  # pragma: no cover - a read-only install: numba caches elsewhere
        pass


_clear_stale_cache()
