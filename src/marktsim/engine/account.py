"""Account (docs/model.md §7.7): the per-firm sums of a tick, by name, and the books made from them."""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np

# Columns of the timeseries table after (replicate, tick, firm), in order (MODEL.md §4).
METRICS = (
    "customers", "share", "won", "won_by_wom", "lost", "lost_intrinsic", "lost_poached",
    "churn_rate", "revenue", "gross_margin", "acquisition_spend", "retention_spend",
    "onboarding_cost", "capacity_cost", "capex", "profit", "discounted_profit",
    "demand_units", "served_units", "backlog_units", "lost_units", "utilisation",
    "service_level", "satisfaction_mean", "bond_mean", "promoters", "detractors", "cac",
    # beyond the contract: what the capacity study and the policies need
    "customers_new", "lost_new", "capacity", "retention_share_used",
    # short-term incentives (docs/model.md §7.1, §7.6)
    "incentive_spend", "won_incentive", "customers_incentive", "lost_incentive", "revenue_incentive",
)
M = {name: i for i, name in enumerate(METRICS)}


class Book(IntEnum):
    """Rows of a tick's per-firm sums (``TickResult.books``, shape (len(Book), firms)): what
    both engines add up over the customers, by the provider at the start of the tick (the
    first group), at its end (the second) and over the movers (the third)."""

    CUSTOMERS_START = 0  # customers at the start of the tick
    BACKLOG_IN = 1  # units waiting at the start
    CUSTOMERS_NEW = 2  # customers new at the start (tenure < t_new)
    REVENUE = 3
    DEMAND = 4  # units demanded this tick
    SERVED = 5
    EXPIRED = 6  # units lost after waiting max_wait ticks
    CUSTOMERS = 7  # at the end of the tick
    BACKLOG = 8  # units waiting at the end
    SATISFACTION = 9  # sum over the customers at the end
    BOND = 10  # sum over the customers at the end
    PROMOTERS = 11
    DETRACTORS = 12
    WON = 13
    WON_BY_WOM = 14
    LOST_INTRINSIC = 15
    LOST_POACHED = 16
    LOST_NEW = 17  # of the lost, those who were new
    DROPPED_UNITS = 18  # the movers' waiting units, dropped when they leave
    WON_INCENTIVE = 19  # won through the incentive part of the choice
    CUSTOMERS_INCENTIVE = 20  # at the end of the tick: customers won with an incentive
    LOST_INCENTIVE = 21  # of the lost, those won with an incentive
    REVENUE_INCENTIVE = 22  # revenue of customers won with an incentive (start-of-tick provider)


class Cell(IntEnum):
    """Rows of a tick's figures by firm × cell (segment·2 + B2B), shape (len(Cell), firms, 6):
    the ``segments`` table's metrics, in its order."""

    CUSTOMERS = 0  # at the end of the tick
    LOST = 1
    REVENUE = 2


N_CELLS = 6  # A/B/C × B2C/B2B


class FirmBooks(NamedTuple):
    """What the books need of each firm besides the sums: its terms and this tick's plan."""

    margin: np.ndarray
    onboarding_cost: np.ndarray
    capacity_cost: np.ndarray
    acquisition_spend: np.ndarray
    incentive_spend: np.ndarray
    retention_spend: np.ndarray  # planned; a firm without customers spends none of it
    retention_share: np.ndarray  # ρ after the strategy policy
    capacity: np.ndarray


BLOCK = 1 << 16  # entries per block of a float sum (§3): customers, or movers


def in_block_order(parts: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """§3 The blocks' sums added in block order, from zero: the one order of every float sum
    over customers (or movers) in both engines, whichever thread summed each block."""
    if len(parts) == 1:  # 0.0 + x is x: a sum from +0.0 is never −0.0
        return np.array(parts[0])
    total = np.zeros_like(parts[0])
    for part in parts:
        total += part
    return total


def blocks(n: int, split: int = 1) -> list[tuple[int, int]]:
    """§3 The blocks [lo, hi) of n entries (one, empty, when n is 0); with `split`, spans of
    BLOCK // split entries (for work that sums nothing)."""
    size = max(1, BLOCK // split)
    return [(lo, min(n, lo + size)) for lo in range(0, max(n, 1), size)]


def summed(index: np.ndarray, size: int, weights: np.ndarray) -> np.ndarray:
    """§3 Sum `weights` by `index` (0 … size − 1) as every engine sums floats: in ``blocks``,
    each block from zero in index order (as ``np.bincount`` adds), the blocks' sums
    ``in_block_order``."""
    return in_block_order([np.bincount(index[lo:hi], weights=weights[lo:hi], minlength=size)
                           for lo, hi in blocks(index.shape[0])])


def per_firm(firm: np.ndarray, n_firms: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum `weights` (or count) by firm index; index n_firms collects prospects and is dropped."""
    if weights is None:  # counts are exact in any order
        return np.bincount(firm, minlength=n_firms + 1)[:n_firms].astype(np.float64)
    return summed(firm, n_firms + 1, weights)[:n_firms]


def by_cell(firm: np.ndarray, cells: np.ndarray, n_firms: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum `weights` (or count) by firm × cell; firm index n_firms (prospects) is dropped."""
    size = (n_firms + 1) * N_CELLS
    key = firm * N_CELLS + cells
    summed_ = np.bincount(key, minlength=size).astype(np.float64) if weights is None else summed(key, size, weights)
    return summed_[: n_firms * N_CELLS].reshape(n_firms, N_CELLS)


def retention_spent(books: np.ndarray, planned: np.ndarray) -> np.ndarray:
    """§7.1 A firm with no customers at the start of a tick spends no retention budget."""
    return np.where(books[Book.CUSTOMERS_START] > 0, planned, 0.0)


def account(tick: int, books: np.ndarray, firms: FirmBooks, n_customers: int, monthly_discount: float) -> np.ndarray:
    """§7.7 Revenue, margin, costs, profit, discounted profit and service figures per firm,
    as rows (firms, METRICS) from the tick's sums (``Book`` rows).

    Profit = gross margin − acquisition − retention − incentives − onboarding − capacity cost
    (capex is added by the capacity review of §7.8). Discounted profit = profit / (1 + d)^tick.
    Ratios whose denominator is zero are NaN only where undefined: cac without customers won,
    utilisation with unlimited capacity, satisfaction and bond means of a firm with no
    customers; churn_rate is 0 without customers and service_level 1 without demand.
    """
    b = books
    n_firms = b.shape[1]
    row = np.zeros((n_firms, len(METRICS)), dtype=np.float64)
    customers, start, won = b[Book.CUSTOMERS], b[Book.CUSTOMERS_START], b[Book.WON]
    lost = b[Book.LOST_INTRINSIC] + b[Book.LOST_POACHED]
    capacity = firms.capacity
    retention = retention_spent(b, firms.retention_spend)
    finite = np.isfinite(capacity)
    gross = firms.margin * b[Book.REVENUE]
    onboarding = firms.onboarding_cost * won
    holding = np.where(finite, firms.capacity_cost * np.where(finite, capacity, 0.0), 0.0)
    profit = gross - firms.acquisition_spend - retention - onboarding - holding - firms.incentive_spend
    demand, served, backlog_in = b[Book.DEMAND], b[Book.SERVED], b[Book.BACKLOG_IN]
    with np.errstate(divide="ignore", invalid="ignore"):
        row[:, M["churn_rate"]] = np.where(start > 0, lost / start, 0.0)
        row[:, M["utilisation"]] = np.where(
            finite, np.where(capacity > 0, served / capacity, (demand + backlog_in > 0) * 1.0), np.nan
        )
        due = demand + backlog_in
        row[:, M["service_level"]] = np.where(due > 0, served / due, 1.0)
        row[:, M["satisfaction_mean"]] = np.where(customers > 0, b[Book.SATISFACTION] / customers, np.nan)
        row[:, M["bond_mean"]] = np.where(customers > 0, b[Book.BOND] / customers, np.nan)
        row[:, M["cac"]] = np.where(won > 0, firms.acquisition_spend / won, np.nan)
    row[:, M["customers"]] = customers
    row[:, M["share"]] = customers / n_customers
    row[:, M["won"]] = won
    row[:, M["won_by_wom"]] = b[Book.WON_BY_WOM]
    row[:, M["lost"]] = lost
    row[:, M["lost_intrinsic"]] = b[Book.LOST_INTRINSIC]
    row[:, M["lost_poached"]] = b[Book.LOST_POACHED]
    row[:, M["revenue"]] = b[Book.REVENUE]
    row[:, M["gross_margin"]] = gross
    row[:, M["acquisition_spend"]] = firms.acquisition_spend
    row[:, M["retention_spend"]] = retention
    row[:, M["onboarding_cost"]] = onboarding
    row[:, M["capacity_cost"]] = holding
    row[:, M["profit"]] = profit
    row[:, M["discounted_profit"]] = discounted(profit, tick, monthly_discount)
    row[:, M["demand_units"]] = demand
    row[:, M["served_units"]] = served
    row[:, M["backlog_units"]] = b[Book.BACKLOG]
    row[:, M["lost_units"]] = b[Book.EXPIRED] + b[Book.DROPPED_UNITS]
    row[:, M["promoters"]] = b[Book.PROMOTERS]
    row[:, M["detractors"]] = b[Book.DETRACTORS]
    row[:, M["customers_new"]] = b[Book.CUSTOMERS_NEW]
    row[:, M["lost_new"]] = b[Book.LOST_NEW]
    row[:, M["capacity"]] = np.where(finite, capacity, np.nan)
    row[:, M["retention_share_used"]] = firms.retention_share
    row[:, M["incentive_spend"]] = firms.incentive_spend
    row[:, M["won_incentive"]] = b[Book.WON_INCENTIVE]
    row[:, M["customers_incentive"]] = b[Book.CUSTOMERS_INCENTIVE]
    row[:, M["lost_incentive"]] = b[Book.LOST_INCENTIVE]
    row[:, M["revenue_incentive"]] = b[Book.REVENUE_INCENTIVE]
    return row


def discounted(profit: np.ndarray | float, tick: int, monthly_discount: float) -> np.ndarray | float:
    """§7.7 Profit of tick t (1-based) discounted to the start: profit / (1 + d_m)^t."""
    return profit / (1.0 + monthly_discount) ** tick


def book_capex(row: np.ndarray, firm: int, capex: float, tick: int, monthly_discount: float) -> None:
    """§7.8 Book a capacity order placed this tick: capex, and profit net of it (discounted too)."""
    row[firm, M["capex"]] = capex
    row[firm, M["profit"]] -= capex
    row[firm, M["discounted_profit"]] = discounted(row[firm, M["profit"]], tick, monthly_discount)
