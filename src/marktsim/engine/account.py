"""Account (MODEL.md §2.7): the per-firm books of one tick."""

from __future__ import annotations

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
)
M = {name: i for i, name in enumerate(METRICS)}


def per_firm(firm: np.ndarray, n_firms: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum `weights` (or count) by firm index; index n_firms collects prospects and is dropped."""
    return np.bincount(firm, weights=weights, minlength=n_firms + 1)[:n_firms].astype(np.float64)


BOOKS = ("customers_new", "revenue", "demand_units", "served_units", "expired_units",
         "customers", "backlog_units", "satisfaction_sum", "bond_sum")  # rows of books()'s sums


def books(
    firm: np.ndarray,
    firm_end: np.ndarray,
    is_new: np.ndarray,
    units: np.ndarray,
    served: np.ndarray,
    revenue: np.ndarray,
    expired: np.ndarray,
    waiting: np.ndarray,
    satisfaction: np.ndarray,
    bond: np.ndarray,
    cells: np.ndarray,
    n_firms: int,
) -> tuple[np.ndarray, np.ndarray]:
    """§2.7 The per-firm sums of one tick: by the provider at the start of the tick (new
    customers, revenue, demand, served and expired units) and at its end (customers, backlog,
    satisfaction and bond sums); and by firm × cell (segment·2 + B2B): customers at the end
    and revenue. Returns (sums of shape (len(BOOKS), firms), segment of shape (2, firms, 6))."""
    F = n_firms
    sums = np.empty((len(BOOKS), F))
    sums[0] = per_firm(firm[is_new], F)
    sums[1] = per_firm(firm, F, revenue)
    sums[2] = per_firm(firm, F, units)
    sums[3] = per_firm(firm, F, served)
    sums[4] = per_firm(firm, F, expired)
    sums[5] = per_firm(firm_end, F)
    sums[6] = per_firm(firm_end, F, waiting)
    sums[7] = per_firm(firm_end, F, satisfaction)
    sums[8] = per_firm(firm_end, F, bond)
    size = (F + 1) * 6
    segment = np.empty((2, F, 6))
    segment[0] = np.bincount(firm_end * 6 + cells, minlength=size)[: F * 6].reshape(F, 6)
    segment[1] = np.bincount(firm * 6 + cells, weights=revenue, minlength=size)[: F * 6].reshape(F, 6)
    return sums, segment


MOVER_BOOKS = ("won", "won_by_wom", "lost_intrinsic", "lost_poached", "lost_new", "lost_units")  # rows


def mover_books(
    old: np.ndarray,
    new: np.ndarray,
    referred: np.ndarray,
    intrinsic: np.ndarray,
    was_new: np.ndarray,
    left_units: np.ndarray,
    cells: np.ndarray,
    n_firms: int,
) -> tuple[np.ndarray, np.ndarray]:
    """§2.7 What the moves of one tick do to the books: customers won (and by referral) by
    the new firm; customers lost (intrinsically, poached, new ones) and their dropped units by
    the old firm (−1: none); and the lost customers by old firm × cell. Returns (sums of shape
    (len(MOVER_BOOKS), firms), lost by cell of shape (firms, 6))."""
    F = n_firms
    old_idx = np.where(old >= 0, old, F).astype(np.intp)
    new_idx = np.where(new >= 0, new, F).astype(np.intp)
    sums = np.empty((len(MOVER_BOOKS), F))
    sums[0] = per_firm(new_idx, F)
    sums[1] = per_firm(new_idx[referred], F)
    sums[2] = per_firm(old_idx[intrinsic], F)
    sums[3] = per_firm(old_idx[~intrinsic], F)
    sums[4] = per_firm(old_idx[was_new], F)
    sums[5] = per_firm(old_idx, F, left_units)
    lost_cells = np.bincount(old_idx * 6 + cells, minlength=(F + 1) * 6)[: F * 6].reshape(F, 6).astype(np.float64)
    return sums, lost_cells


def account(
    *,
    tick: int,
    n_customers: int,
    customers: np.ndarray,
    customers_start: np.ndarray,
    customers_new: np.ndarray,
    won: np.ndarray,
    won_by_wom: np.ndarray,
    lost_intrinsic: np.ndarray,
    lost_poached: np.ndarray,
    lost_new: np.ndarray,
    revenue: np.ndarray,
    margin: np.ndarray,
    acquisition_spend: np.ndarray,
    retention_spend: np.ndarray,
    retention_share: np.ndarray,
    onboarding_cost: np.ndarray,
    capacity: np.ndarray,
    capacity_cost: np.ndarray,
    demand_units: np.ndarray,
    backlog_in: np.ndarray,
    served_units: np.ndarray,
    backlog_units: np.ndarray,
    lost_units: np.ndarray,
    satisfaction_sum: np.ndarray,
    bond_sum: np.ndarray,
    promoters: np.ndarray,
    detractors: np.ndarray,
    monthly_discount: float,
) -> np.ndarray:
    """§2.7 Revenue, margin, costs, profit, discounted profit and service figures per firm.

    Profit = gross margin − acquisition − retention − onboarding − capacity cost (capex is
    added by the capacity review of §2.8). Discounted profit = profit / (1 + d)^tick.
    Ratios whose denominator is zero are NaN only where undefined: cac without customers won,
    utilisation with unlimited capacity, satisfaction and bond means of a firm with no
    customers; churn_rate is 0 without customers and service_level 1 without demand.
    """
    n_firms = customers.shape[0]
    row = np.zeros((n_firms, len(METRICS)), dtype=np.float64)
    lost = lost_intrinsic + lost_poached
    finite = np.isfinite(capacity)
    gross = margin * revenue
    onboarding = onboarding_cost * won
    holding = np.where(finite, capacity_cost * np.where(finite, capacity, 0.0), 0.0)
    profit = gross - acquisition_spend - retention_spend - onboarding - holding
    with np.errstate(divide="ignore", invalid="ignore"):
        row[:, M["churn_rate"]] = np.where(customers_start > 0, lost / customers_start, 0.0)
        row[:, M["utilisation"]] = np.where(
            finite, np.where(capacity > 0, served_units / capacity, (demand_units + backlog_in > 0) * 1.0), np.nan
        )
        due = demand_units + backlog_in
        row[:, M["service_level"]] = np.where(due > 0, served_units / due, 1.0)
        row[:, M["satisfaction_mean"]] = np.where(customers > 0, satisfaction_sum / customers, np.nan)
        row[:, M["bond_mean"]] = np.where(customers > 0, bond_sum / customers, np.nan)
        row[:, M["cac"]] = np.where(won > 0, acquisition_spend / won, np.nan)
    row[:, M["customers"]] = customers
    row[:, M["share"]] = customers / n_customers
    row[:, M["won"]] = won
    row[:, M["won_by_wom"]] = won_by_wom
    row[:, M["lost"]] = lost
    row[:, M["lost_intrinsic"]] = lost_intrinsic
    row[:, M["lost_poached"]] = lost_poached
    row[:, M["revenue"]] = revenue
    row[:, M["gross_margin"]] = gross
    row[:, M["acquisition_spend"]] = acquisition_spend
    row[:, M["retention_spend"]] = retention_spend
    row[:, M["onboarding_cost"]] = onboarding
    row[:, M["capacity_cost"]] = holding
    row[:, M["profit"]] = profit
    row[:, M["discounted_profit"]] = profit / (1.0 + monthly_discount) ** tick
    row[:, M["demand_units"]] = demand_units
    row[:, M["served_units"]] = served_units
    row[:, M["backlog_units"]] = backlog_units
    row[:, M["lost_units"]] = lost_units
    row[:, M["promoters"]] = promoters
    row[:, M["detractors"]] = detractors
    row[:, M["customers_new"]] = customers_new
    row[:, M["lost_new"]] = lost_new
    row[:, M["capacity"]] = np.where(finite, capacity, np.nan)
    row[:, M["retention_share_used"]] = retention_share
    return row
