"""The numpy engine: one kernel call per mechanism over all customers (docs/model.md §3).

It is the readable form of the tick: each step of §7.2–7.6 and §7.9 is one function over
whole columns, applying the formulas of ``marktsim.engine.rules``. The compiled engine
(``marktsim.engine.compiled``) computes the same tick in a few fused passes; the two are
compared bit for bit by ``tests/test_compiled.py``.
"""

from __future__ import annotations

import numpy as np

from marktsim.engine import rules as r
from marktsim.engine.account import Book, Cell, by_cell, per_firm, retention_spent
from marktsim.engine.experience import experience
from marktsim.engine.retain import retain, retention_allocation
from marktsim.engine.serve import serve
from marktsim.engine.state import Columns
from marktsim.engine.switch import Moves, switch
from marktsim.engine.tick import Market, Plan, TickResult
from marktsim.engine.word_of_mouth import word_of_mouth


class NumpyEngine:
    """The customers' tick with the numpy kernels."""

    def __init__(self, market: Market, revenue_potential: np.ndarray, b2b: np.ndarray, propensity: np.ndarray):
        self.market = market
        self.revenue_potential = revenue_potential
        self.factor = r.churn_factor(b2b, propensity, market.rules).astype(np.float32)  # g_i·z_i: never changes

    def firm_index(self, columns: Columns) -> np.ndarray:
        """Each customer's firm, with n_firms standing for "no provider"."""
        p = columns.provider
        return np.where(p >= 0, p, self.market.n_firms).astype(np.intp)

    def retention_weights(self, firm: np.ndarray, segment: np.ndarray) -> np.ndarray | None:
        """§7.4 Each customer's weight in its firm's retention spend (None: all equal)."""
        terms = self.market.firms
        if not terms.targeting.any():
            return None
        return r.retention_weight(terms.targeting[firm], self.revenue_potential, terms.abc_weights[firm, segment])

    def tick(self, columns: Columns, plan: Plan, generator: np.random.Generator) -> TickResult:
        """§7.2–7.6 and §7.9 over all customers; the per-firm sums of the tick."""
        market, rules, col = self.market, self.market.rules, columns
        F, terms = market.n_firms, market.firms
        books = np.zeros((len(Book), F))
        cells = np.zeros((len(Cell), F, 6))
        firm = self.firm_index(col)
        active = firm < F
        books[Book.CUSTOMERS_START] = per_firm(firm, F)
        books[Book.BACKLOG_IN] = per_firm(firm, F, col.backlog_units())  # before serving
        new = r.is_new(col.tenure, rules)
        was_won_incentive = col.won_incentive.copy()  # at the start of the tick (revenue of incentive customers)

        # §7.2 serve
        second = r.served_second(terms.priority[firm], new) if (terms.priority[:F] != 1).any() else None
        served, due, col.backlog, expired = serve(firm, col.units, col.backlog, second, plan.capacity)
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = r.served_fraction(served, due).astype(np.float32)
        earned = r.revenue(served, col.value, r.loyalty_growth(col.tenure.astype(np.float32), rules))

        # §7.3 experience
        forgiving = r.forgives(terms.communicates[firm], new)
        felt = experience(col.satisfaction, fraction, terms.quality[firm], forgiving, new, rules)
        col.satisfaction = np.where(active, felt, col.satisfaction).astype(np.float32)

        # §7.4 retain
        spend = retention_allocation(firm, self.retention_weights(firm, col.segment), col.known,
                                     retention_spent(books, plan.retention), rules)
        col.bond = np.where(active, retain(col.bond, spend, col.deal_prone, rules), col.bond).astype(np.float32)

        # §7.5 word of mouth, §7.6 leave or switch
        waiting = col.backlog_units()  # after serving
        talk = word_of_mouth(firm, col.satisfaction, waiting > 0, col.left, F, market.network, rules)
        books[Book.PROMOTERS], books[Book.DETRACTORS] = talk.promoters, talk.detractors
        moves = switch(generator, firm, col, self.factor, plan, talk, market.saturated, rules)
        self.move(col, moves, waiting, books, cells)

        # §7.7 the sums, §7.9 tenure and CRM knowledge (movers start at tenure 0)
        firm_end = self.firm_index(col)
        for row, values in ((Book.CUSTOMERS_NEW, None), (Book.REVENUE, earned), (Book.DEMAND, col.units),
                            (Book.SERVED, served), (Book.EXPIRED, expired)):
            books[row] = per_firm(firm[new] if values is None else firm, F, values)
        books[Book.REVENUE_INCENTIVE] = per_firm(firm, F, np.where(was_won_incentive, earned, np.float32(0.0)))
        for row, values in ((Book.CUSTOMERS, None), (Book.BACKLOG, waiting), (Book.SATISFACTION, col.satisfaction),
                            (Book.BOND, col.bond)):
            books[row] = per_firm(firm_end, F, values)
        books[Book.CUSTOMERS_INCENTIVE] = per_firm(firm_end[col.won_incentive], F)
        cells[Cell.CUSTOMERS] = by_cell(firm_end, market.cells, F)
        cells[Cell.REVENUE] = by_cell(firm, market.cells, F, earned)
        stayed = firm_end < F
        stayed[moves.who] = False
        col.tenure[stayed] += 1
        col.known = (firm_end < F) & r.knows(terms.crm[firm_end], col.tenure, rules)
        return TickResult(books, cells)

    def move(self, col: Columns, moves: Moves, waiting: np.ndarray, books: np.ndarray, cells: np.ndarray) -> None:
        """§7.6 Apply the moves to the columns and book them: won (and by referral) for the new
        firm; lost (intrinsically, poached, new ones), their dropped units and cells for the old."""
        market, rules, F = self.market, self.market.rules, self.market.n_firms
        who, old, new = moves.who, moves.old, moves.new
        old_idx = np.where(old >= 0, old, F).astype(np.intp)
        new_idx = np.where(new >= 0, new, F).astype(np.intp)
        books[Book.WON] = per_firm(new_idx, F)
        books[Book.WON_BY_WOM] = per_firm(new_idx[moves.referred], F)
        books[Book.LOST_INTRINSIC] = per_firm(old_idx[moves.intrinsic], F)
        books[Book.LOST_POACHED] = per_firm(old_idx[~moves.intrinsic], F)
        books[Book.LOST_NEW] = per_firm(old_idx[r.is_new(col.tenure[who], rules)], F)
        books[Book.DROPPED_UNITS] = per_firm(old_idx, F, waiting[who])
        books[Book.WON_INCENTIVE] = per_firm(new_idx[moves.incentive], F)
        books[Book.LOST_INCENTIVE] = per_firm(old_idx[col.won_incentive[who]], F)
        cells[Cell.LOST] = by_cell(old_idx, market.cells[who], F)
        col.provider[who] = new
        col.tenure[who] = 0
        col.known[who] = False
        col.satisfaction[who] = rules.satisfaction_init
        col.bond[who] = r.starting_bond(moves.referred, rules)
        col.referred[who] = moves.referred & (new >= 0)
        col.won_incentive[who] = moves.incentive & (new >= 0)
        col.backlog[who] = 0.0
        col.left[:] = False  # last tick's leavers are news no more; this tick's are
        col.left[who[old >= 0]] = True
        waiting[who] = 0.0  # movers' backlog is dropped
