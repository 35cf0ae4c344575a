"""The compiled engine (numba): one tick of §2 as four passes over blocks of customers.

The numpy kernels of this package (serve, experience, retain, word_of_mouth, switch, books)
are the reference; this module computes exactly what they compute, bit for bit, in fewer
passes and without temporaries the size of the market:

- ``tally`` (§2.1–2.2, before serving): customers and backlog per firm, and each firm's
  demand by priority class and age, from which Python derives the rationing ratios;
- ``serve_and_experience`` (§2.2–2.4): service, satisfaction, revenue and retention spend,
  then (after numpy's expm1 of the spend, as in ``retain``) ``retain_and_signal``: bond, and
  each customer's word-of-mouth code (promoter or detractor of its firm, or silent);
- ``word_of_mouth_and_decide`` (§2.5–2.6): counts each customer's contacts' codes, its pull
  W_ik, and decides with its uniform u_i whether it leaves or is won; ``pull_of`` recounts the
  movers' W_ik for the choice of their new firm (numpy: ``switch.choose``);
- ``close`` (§2.7, §2.9): the books at the end of the tick, tenure and CRM knowledge.

To stay bit-identical every floating-point operation is the numpy kernel's, in the same order
and precision: float32 where numpy computes in float32 (parameters are passed as float32, as
numpy casts a Python float next to a float32 array), float64 sums accumulated customer by
customer as ``np.bincount`` does (carried across blocks, so blocking changes nothing), row sums
of the backlog as numpy's pairwise sum, expm1 left to numpy, and no fast-math. Blocks of
customers keep the temporaries small at any N (10⁷ customers need no array of 10⁷ floats
beyond the state). ``tests/test_compiled.py`` checks the results of both engines for equality.

Importing this module imports numba (about 0.2 s) and the first call loads the cached machine
code (about 0.3 s; compiling it takes about 7 s, once per machine), so the model uses it
only for work long enough to repay that (``marktsim.model.choose_engine``).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import binding, ir
from numba.core import cgutils, types
from numba.extending import intrinsic

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
ONE = np.float32(1.0)
ZERO = np.float32(0.0)
BLOCK = 1 << 16  # customers per block: the block's temporaries stay in the caches
# above this many customers the contacts' codes no longer sit in the caches: their reads are
# prefetched this many contacts ahead (10⁷ customers: 27 → 10 ns per customer; below, it costs)
PREFETCH_ABOVE, PREFETCH_AHEAD = 1 << 21, 256
_PREFETCH = "llvm.prefetch.p0" if binding.llvm_version_info[0] >= 17 else "llvm.prefetch.p0i8"


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


@_jit
def tally(lo, hi, provider, units, backlog, tenure, t_new, priority, uniform, weight_code, abc_weights, segment,
          revenue_potential, customers, backlog_in, demand, nonempty, weight_total, flags):  # pragma: no cover
    """§2.1–2.2 Customers [lo, hi): per firm the customers and waiting units at the start of the
    tick; demand by (second priority class, age, firm; prospects in firm F), which ages hold
    units, and the retention weights' total (weight_code 0 equal, 1 value-weighted, 2 ABC).
    flags: [any customer in a second class, largest tenure]."""
    n_firms = customers.shape[0]
    wait = backlog.shape[1]
    for i in range(lo, hi):
        p = provider[i]
        f = p if p >= 0 else n_firms
        active = p >= 0
        if active:
            customers[f] += 1.0
            backlog_in[f] += np.float64(_row_sum(backlog, i))
        if tenure[i] > flags[1]:
            flags[1] = tenure[i]
        is_new = tenure[i] < t_new
        code = priority[f] if active else 1
        second = (code == 0 and is_new) or (code == 2 and not is_new)
        s = 0
        if second:
            s = 1
            flags[0] = 1
        if active:
            demand[s, 0, f] += np.float64(units[i])
        for a in range(wait):
            cell = backlog[i, a]
            if cell != 0:
                nonempty[a + 1] = True
            demand[s, a + 1, f] += np.float64(cell)
        if not uniform and active:
            kind = weight_code[f]
            if kind == 0:
                w = ONE
            elif kind == 1:
                w = revenue_potential[i]
            else:
                w = abc_weights[f, segment[i]]
            weight_total[f] += np.float64(w)


@_jit
def serve_and_experience(lo, hi, provider, units, backlog, tenure, value, satisfaction, known, t_new, priority,
                         two_groups, ratio, nonempty, growth, quality, communicates, alpha_new, alpha_est,
                         kept_share, uniform, weight_code, abc_weights, segment, revenue_potential, per_weight,
                         personalisation, cells, books, seg_revenue, spend):  # pragma: no cover - compiled
    """§2.2–2.4 Customers [lo, hi): serve with the rationing ratios (class, age, firm), learn
    satisfaction from the share served, earn revenue, and allocate retention spend (into
    `spend`, for numpy's expm1). books rows: new customers, revenue, demand, served, expired."""
    n_firms = books.shape[1]
    wait = backlog.shape[1]
    old = np.empty(wait, np.float32)
    for i in range(lo, hi):
        p = provider[i]
        active = p >= 0
        f = p if active else n_firms
        is_new = tenure[i] < t_new
        g = 0
        if two_groups:
            code = priority[f] if active else 1
            g = 1 if ((code == 0 and is_new) or (code == 2 and not is_new)) else 0
        for a in range(wait):
            old[a] = backlog[i, a]
        # serve: cells of age 0 (this tick's units) to wait, oldest rationed first
        cell0 = units[i] if active else ZERO
        due = cell0
        for a in range(wait):
            due += old[a]
        served0 = cell0 * ratio[g, 0, f]
        served = served0
        for a in range(wait):
            if nonempty[a + 1]:
                served += old[a] * ratio[g, a + 1, f]
        left = cell0 - served0
        if not (left >= ZERO or np.isnan(left)):
            left = ZERO
        expired = left if wait == 0 else ZERO
        for a in range(wait):
            c = old[a]
            if nonempty[a + 1]:
                c = c - c * ratio[g, a + 1, f]
                if not (c >= ZERO or np.isnan(c)):
                    c = ZERO
            if a == wait - 1:
                expired = c
            else:
                backlog[i, a + 1] = c
        if wait > 0:
            backlog[i, 0] = left
        fraction = served / due if due > 0 else ONE
        revenue = served * value[i] * growth[tenure[i]]
        # experience
        if active:
            shortfall = ONE - fraction
            kept = shortfall * kept_share if (communicates[f] and not is_new) else shortfall
            experienced = quality[f] * (ONE - kept)
            rate = alpha_new if is_new else alpha_est
            s = satisfaction[i]
            satisfaction[i] = s + rate * (experienced - s)
        # retention spend
        if uniform:
            r = per_weight[f]
        else:
            w = ZERO
            if active:
                kind = weight_code[f]
                w = ONE if kind == 0 else (revenue_potential[i] if kind == 1 else abc_weights[f, segment[i]])
            r = w * per_weight[f]
        spend[i - lo] = r * personalisation if known[i] else r
        if active:
            if is_new:
                books[0, f] += 1.0
            books[1, f] += np.float64(revenue)
            books[2, f] += np.float64(units[i])
            books[3, f] += np.float64(served)
            books[4, f] += np.float64(expired)
            seg_revenue[f, cells[i]] += np.float64(revenue)


@_jit
def retain_and_signal(lo, hi, provider, satisfaction, bond, backlog, gain, keep, promoter_threshold,
                      detractor_threshold, codes, signals):  # pragma: no cover - compiled
    """§2.4–2.5 Customers [lo, hi): bond ← bond·(1 − δ) + (1 − bond)·gain; each customer's code
    (k: promotes firm k; F + k: detracts from it; 2F: silent; waiting customers promote no one)
    and the count of each code."""
    n_firms = (signals.shape[0] - 1) // 2
    silent = 2 * n_firms
    for i in range(lo, hi):
        p = provider[i]
        c = silent
        if p >= 0:
            b = bond[i]
            bond[i] = b * keep + (ONE - b) * gain[i - lo]
            s = satisfaction[i]
            waiting = _row_sum(backlog, i) > 0 if backlog.shape[1] else False
            if s >= promoter_threshold and not waiting:
                c = p
            elif s <= detractor_threshold:
                c = n_firms + p
        codes[i] = c
        signals[c] += 1.0


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pull(i, contact_codes, start, stop, use, subtract, positive, negative, count, out):  # pragma: no cover
    """W_ik of customer i for every firm k (§2.5), into `out`; its contacts' codes are
    contact_codes[start:stop] (1/degree in float32, as ``Network.inverse_degree``)."""
    n_firms = out.shape[0]
    inverse = ONE / np.float32(stop - start) if stop > start else ZERO
    for c in range(count.shape[0]):
        count[c] = 0
    for e in range(start, stop):
        count[contact_codes[e]] += 1
    for k in range(n_firms):
        w = ZERO
        if use[k]:
            pull = positive * np.float32(count[k])
            if subtract[k]:
                pull -= negative * np.float32(count[n_firms + k])
            if not (pull >= ZERO or np.isnan(pull)):
                pull = ZERO
            w = pull * inverse
        out[k] = w


@_jit
def word_of_mouth_and_decide(lo, hi, provider, satisfaction, bond, b2b, b2b_churn, pressure, pressure_sum,
                             global_pull, indptr, indices, codes, use, subtract, positive, negative, zero_hazard,
                             churn_base, churn_dissatisfaction, bond_protection, satisfaction_protection, u, who,
                             intrinsic, found):  # pragma: no cover
    """§2.5–2.6 Customers [lo, hi): W_ik from the contacts' codes (or the global pull), the
    rivals' pull and the churn hazard, and with u_i the decision: movers are appended to
    `who`/`intrinsic` from position found[0]."""
    n_firms = pressure.shape[0]
    count = np.zeros(2 * n_firms + 1, np.int64)
    w = np.empty(n_firms, np.float32)
    network = global_pull.shape[0] == 0
    base = indptr[lo] if network else 0
    # the contacts' codes first, in one tight loop: its scattered reads overlap in the memory
    # system instead of stalling the counting one by one (10⁷ customers: 4 × faster)
    contact_codes = np.empty(indptr[hi] - base if network else 0, np.int8)
    ahead = PREFETCH_AHEAD if codes.shape[0] > PREFETCH_ABOVE else 0
    last = contact_codes.shape[0] - ahead
    for e in range(contact_codes.shape[0]):
        if ahead and e < last:
            _prefetch(codes, indices[base + e + ahead])
        contact_codes[e] = codes[indices[base + e]]
    for i in range(lo, hi):
        if network:
            _pull(i, contact_codes, indptr[i] - base, indptr[i + 1] - base, use, subtract, positive, negative,
                  count, w)
        else:
            for k in range(n_firms):
                w[k] = global_pull[k]
        total = np.float64(w[0])
        for k in range(1, n_firms):
            total += np.float64(w[k])
        rivals = pressure_sum + total
        p = provider[i]
        hazard = ZERO
        if p >= 0:
            s, b = satisfaction[i], bond[i]
            sigma = (ONE - bond_protection * b) * (ONE - satisfaction_protection * s)
            rivals = rivals - (pressure[p] + np.float64(w[p]))
            if n_firms == 1:
                rivals = 0.0
            if not zero_hazard:
                d = ONE - s
                factor = b2b_churn if b2b[i] else ONE
                hazard = (churn_base + churn_dissatisfaction * (d * d)) * (ONE - bond_protection * b) * factor
                if not (hazard <= ONE or np.isnan(hazard)):
                    hazard = ONE
        else:
            sigma = ONE
        if not (rivals >= 0.0 or np.isnan(rivals)):
            rivals = 0.0
        x = np.float64(sigma) * rivals
        pull = 1.0 if 1.0 <= x else x
        draw = u[i - lo]
        leave = draw < np.float64(hazard)
        if leave or draw < np.float64(hazard) + np.float64(ONE - hazard) * pull:
            j = found[0]
            who[j] = i
            intrinsic[j] = leave
            found[0] = j + 1


@_jit
def pull_of(movers, indptr, indices, codes, use, subtract, positive, negative, n_firms):  # pragma: no cover
    """§2.5 W_ik of the given customers, shape (firms, movers)."""
    out = np.empty((n_firms, movers.shape[0]), np.float32)
    count = np.zeros(2 * n_firms + 1, np.int64)
    w = np.empty(n_firms, np.float32)
    start = np.empty(movers.shape[0] + 1, np.int64)
    start[0] = 0
    for j in range(movers.shape[0]):
        start[j + 1] = start[j] + indptr[movers[j] + 1] - indptr[movers[j]]
    contact_codes = np.empty(start[-1], np.int8)
    ahead = 8 if codes.shape[0] > PREFETCH_ABOVE else 0  # movers: their contact lists lie apart
    for j in range(movers.shape[0]):
        if ahead and j + ahead < movers.shape[0]:
            _prefetch(indices, indptr[movers[j + ahead]])
        first = indptr[movers[j]]
        for e in range(start[j], start[j + 1]):
            contact_codes[e] = codes[indices[first + e - start[j]]]
    for j in range(movers.shape[0]):
        _pull(movers[j], contact_codes, start[j], start[j + 1], use, subtract, positive, negative, count, w)
        for k in range(n_firms):
            out[k, j] = w[k]
    return out


@_jit
def close(lo, hi, provider, satisfaction, bond, backlog, tenure, known, crm, t_known, cells, movers, start,
          books, seg_customers):  # pragma: no cover - compiled
    """§2.7, §2.9 Customers [lo, hi), after the moves: books at the end of the tick (customers,
    waiting units, satisfaction and bond sums per firm; customers per firm × cell); tenure + 1
    for those who stayed, and the CRM profile. `movers` (ascending) is read from `start`."""
    j = start
    for i in range(lo, hi):
        moved = False
        while j < movers.shape[0] and movers[j] < i:
            j += 1
        if j < movers.shape[0] and movers[j] == i:
            moved = True
        p = provider[i]
        if p >= 0:
            books[0, p] += 1.0
            books[1, p] += np.float64(_row_sum(backlog, i))
            books[2, p] += np.float64(satisfaction[i])
            books[3, p] += np.float64(bond[i])
            seg_customers[p, cells[i]] += 1.0
            if not moved:
                tenure[i] += 1
            known[i] = crm[p] and tenure[i] >= t_known
        else:
            known[i] = False
    return j


@_jit
def ratios(demand, nonempty, capacity, two_groups):  # pragma: no cover - compiled
    """§2.2 The rationing ratio of each (class, age, firm): classes in order, ages from the
    oldest, each served in proportion as far as the firm's remaining capacity goes."""
    groups, ages, width = demand.shape
    ratio = np.ones((groups, ages, width), np.float32)
    remaining = np.zeros(width, np.float64)
    remaining[: capacity.shape[0]] = capacity
    for g in range(2 if two_groups else 1):
        for a in range(ages - 1, -1, -1):
            if not nonempty[a]:
                continue
            for f in range(width):
                d, r = demand[g, a, f], remaining[f]
                value = r / d if d > r else 1.0
                if np.isnan(value):
                    value = 1.0
                ratio[g, a, f] = np.float32(value)
                left = r - d
                remaining[f] = left if (left >= 0.0 or np.isnan(left)) else 0.0
    return ratio


@_jit
def choose(choosing, intrinsic, old, pressure, pulls, switch_noise, draws, new, referred):  # pragma: no cover
    """§2.6 Where the movers go (numpy: ``switch.choose``), for the movers with `choosing`
    set; `draws` are their uniforms. Fills `new` and `referred`."""
    n_firms = pressure.shape[0]
    weight = np.empty(n_firms, np.float64)
    w_part = np.empty(n_firms, np.float64)
    cum = np.empty(n_firms, np.float64)
    j = 0
    for m in range(choosing.shape[0]):
        if not choosing[m]:
            continue
        noise = switch_noise if intrinsic[m] else 0.0
        holder = old[m]
        for k in range(n_firms):
            w_part[k] = np.float64(pulls[k, m])
            weight[k] = pressure[k] + w_part[k] + noise
        if holder >= 0:
            weight[holder] = 0.0
        total = weight[0]
        for k in range(1, n_firms):
            total += weight[k]
        if total <= 0:  # all weights zero: a uniformly drawn rival
            for k in range(n_firms):
                weight[k] = 0.0 if k == holder else 1.0
                w_part[k] = 0.0
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
        start = cum[chosen] - weight[chosen]
        w_start = start + weight[chosen] - w_part[chosen]
        new[m] = chosen
        referred[m] = draw >= w_start and w_part[chosen] > 0


@_jit
def move(who, new, referred, provider, tenure, known, satisfaction, bond, referred_column, backlog, t_new,
         satisfaction_init, bond_init, referral_bonus, left_units, movers_new):  # pragma: no cover - compiled
    """§2.6 Apply the moves: new provider, tenure 0, no CRM profile, initial satisfaction, initial
    bond (plus the referral bonus), backlog dropped; records each mover's dropped units and
    whether it was new."""
    for j in range(who.shape[0]):
        i = who[j]
        left_units[j] = _row_sum(backlog, i)
        movers_new[j] = tenure[i] < t_new
        provider[i] = new[j]
        tenure[i] = 0
        known[i] = False
        satisfaction[i] = np.float32(satisfaction_init)
        value = bond_init + referral_bonus * (1.0 if referred[j] else 0.0)
        bond[i] = np.float32(1.0 if 1.0 <= value else value)
        referred_column[i] = referred[j] and new[j] >= 0
        for a in range(backlog.shape[1]):
            backlog[i, a] = ZERO


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


def small_world(n: int, degree: int, rewiring: float, rng: np.random.Generator):
    """§1 Compiled twin of ``network.small_world``: the same draws and the same network, built
    in place without the edge list (at the peak about 57 bytes per customer, the network's own
    48 included, instead of about 300)."""
    from marktsim.engine.network import Network
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


@_jit
def mover_books(old, new, referred, intrinsic, was_new, left_units, cells, n_firms):  # pragma: no cover - compiled
    """§2.7 Compiled twin of ``account.mover_books``."""
    sums = np.zeros((6, n_firms), np.float64)
    lost_cells = np.zeros((n_firms, 6), np.float64)
    for j in range(old.shape[0]):
        o, w = old[j], new[j]
        if w >= 0:
            sums[0, w] += 1.0
            if referred[j]:
                sums[1, w] += 1.0
        if o >= 0:
            sums[2 if intrinsic[j] else 3, o] += 1.0
            if was_new[j]:
                sums[4, o] += 1.0
            sums[5, o] += np.float64(left_units[j])
            lost_cells[o, cells[j]] += 1.0
    return sums, lost_cells
