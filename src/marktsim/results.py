"""The output contract (MODEL.md §4): tidy timeseries, segments and summary tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from marktsim.engine.account import METRICS, M
from marktsim.engine.state import KIND_NAMES, SEGMENT_NAMES

TIMESERIES_KEYS = ("replicate", "tick", "firm")
SEGMENT_METRICS = ("customers", "lost", "revenue")
SUMMARY_COLUMNS = (
    "revenue", "gross_margin", "profit", "npv", "final_customers", "final_share",
    "churn_mean", "churn_annual", "won", "won_by_wom", "lost", "acquisition_spend",
    "retention_spend", "cac", "retention_cost_per_customer_year", "cost_ratio", "clv", "romi",
    "incentive_spend", "won_incentive", "churn_incentive", "churn_other", "clv_incentive", "clv_other",
)


@dataclass
class Results:
    """The three tables of one simulate() call, one row set per replicate."""

    timeseries: pd.DataFrame
    segments: pd.DataFrame
    summary: pd.DataFrame
    config: dict = field(default_factory=dict)

    @staticmethod
    def concat(parts: Sequence[Results], config: dict | None = None) -> Results:
        """Join the results of several replicates (or runs) into one."""
        return Results(
            pd.concat([p.timeseries for p in parts], ignore_index=True),
            pd.concat([p.segments for p in parts], ignore_index=True),
            pd.concat([p.summary for p in parts], ignore_index=True),
            config or (parts[0].config if parts else {}),
        )


COUNT_METRICS = frozenset(("customers", "won", "won_by_wom", "lost", "lost_intrinsic", "lost_poached",
                           "promoters", "detractors", "customers_new", "lost_new", "won_incentive",
                           "customers_incentive", "lost_incentive"))  # stored as integers


def timeseries_table(records: np.ndarray, replicate: int, firms: Sequence[str]) -> pd.DataFrame:
    """(ticks, firms, metrics) array → one row per (replicate, tick, firm)."""
    ticks, n_firms, _ = records.shape
    rows = ticks * n_firms
    flat = records.reshape(rows, len(METRICS))
    data: dict[str, object] = {
        "replicate": np.full(rows, replicate, dtype=np.int64),
        "tick": np.repeat(np.arange(1, ticks + 1, dtype=np.int64), n_firms),
        "firm": pd.Categorical.from_codes(np.tile(np.arange(n_firms, dtype=np.int8), ticks), categories=list(firms)),
    }
    for j, name in enumerate(METRICS):
        data[name] = flat[:, j].round().astype(np.int64) if name in COUNT_METRICS else flat[:, j].copy()
    return pd.DataFrame(data)


def segments_table(seg: np.ndarray, replicate: int, firms: Sequence[str]) -> pd.DataFrame:
    """(ticks, 3, firms, 6) array → one row per (replicate, tick, firm, segment, kind)."""
    ticks, _, n_firms, _ = seg.shape
    rows = ticks * n_firms * 6
    data = {name: seg[:, i].reshape(rows) for i, name in enumerate(SEGMENT_METRICS)}
    codes = lambda values, repeat, tile: np.tile(np.repeat(np.arange(values, dtype=np.int8), repeat), tile)  # noqa: E731
    return pd.DataFrame(
        {
            "replicate": np.full(rows, replicate, dtype=np.int64),
            "tick": np.repeat(np.arange(1, ticks + 1, dtype=np.int64), n_firms * 6),
            "firm": pd.Categorical.from_codes(codes(n_firms, 6, ticks), categories=list(firms)),
            "segment": pd.Categorical.from_codes(codes(3, 2, ticks * n_firms), categories=list(SEGMENT_NAMES)),
            "kind": pd.Categorical.from_codes(codes(2, 1, ticks * n_firms * 3), categories=list(KIND_NAMES)),
            "customers": data["customers"].round().astype(np.int64),
            "lost": data["lost"].round().astype(np.int64),
            "revenue": data["revenue"].copy(),
        }
    )


def summary_table(
    records: np.ndarray, initial_customers: np.ndarray, monthly_discount: float, replicate: int, firms: Sequence[str]
) -> pd.DataFrame:
    """Totals and means over the horizon per (replicate, firm) (MODEL.md §4).

    cac = acquisition spend / customers won; retention cost per customer-year kept =
    retention spend / (Σ_t (customers at start of t − lost in t) / 12); cost_ratio = their
    quotient (seed 001's "five times"); clv = m·r/(1 + d − r) (Gupta–Lehmann) with m the
    observed gross margin net of retention spend per customer-month, r = 1 − mean monthly
    churn and d the monthly discount rate; romi = (gross margin − marketing spend) /
    marketing spend, marketing spend = acquisition + retention + incentives. For customers won
    with an incentive and the others: churn_incentive, churn_other (pooled monthly churn: lost /
    customers at the start of the tick, over all ticks) and clv_incentive, clv_other (the clv
    formula with each group's gross margin per customer-month, less the retention spend per
    customer-month of all, and the group's churn as 1 − r).
    """
    col = lambda name: records[:, :, M[name]]  # noqa: E731
    ticks = records.shape[0]
    start = np.vstack([initial_customers[None, :], col("customers")[:-1]]) if ticks else np.zeros((0, len(firms)))
    total = lambda name: col(name).sum(axis=0)  # noqa: E731
    kept_years = (start - col("lost")).sum(axis=0) / 12.0
    churn_mean = col("churn_rate").mean(axis=0) if ticks else np.zeros(len(firms))
    marketing = total("acquisition_spend") + total("retention_spend") + total("incentive_spend")
    customer_months = start.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cac = np.where(total("won") > 0, total("acquisition_spend") / total("won"), np.nan)
        retention_cost = np.where(kept_years > 0, total("retention_spend") / kept_years, np.nan)
        cost_ratio = cac / retention_cost
        margin_per_month = np.where(
            customer_months > 0, (total("gross_margin") - total("retention_spend")) / customer_months, np.nan
        )
        r = 1.0 - churn_mean
        clv = margin_per_month * r / (1.0 + monthly_discount - r)
        romi = np.where(marketing > 0, (total("gross_margin") - marketing) / marketing, np.nan)
        # customers won with an incentive against the others
        start_inc = (np.vstack([np.zeros((1, len(firms))), col("customers_incentive")[:-1]]) if ticks
                     else np.zeros((0, len(firms))))
        months_inc, months_other = start_inc.sum(axis=0), customer_months - start_inc.sum(axis=0)
        lost_inc = total("lost_incentive")
        churn_inc = np.where(months_inc > 0, lost_inc / months_inc, np.nan)
        churn_other = np.where(months_other > 0, (total("lost") - lost_inc) / months_other, np.nan)
        margin_rate = np.where(total("revenue") > 0, total("gross_margin") / total("revenue"), np.nan)
        retention_per_month = np.where(customer_months > 0, total("retention_spend") / customer_months, np.nan)
        m_inc = margin_rate * total("revenue_incentive") / months_inc - retention_per_month
        m_other = margin_rate * (total("revenue") - total("revenue_incentive")) / months_other - retention_per_month
        clv_inc = m_inc * (1 - churn_inc) / (monthly_discount + churn_inc)
        clv_other = m_other * (1 - churn_other) / (monthly_discount + churn_other)
    final = records[-1] if ticks else np.zeros((len(firms), len(METRICS)))
    data = {
        "revenue": total("revenue"),
        "gross_margin": total("gross_margin"),
        "profit": total("profit"),
        "npv": total("discounted_profit"),
        "final_customers": final[:, M["customers"]].round().astype(np.int64),
        "final_share": final[:, M["share"]],
        "churn_mean": churn_mean,
        "churn_annual": 1.0 - (1.0 - churn_mean) ** 12,
        "won": total("won").round().astype(np.int64),
        "won_by_wom": total("won_by_wom").round().astype(np.int64),
        "lost": total("lost").round().astype(np.int64),
        "acquisition_spend": total("acquisition_spend"),
        "retention_spend": total("retention_spend"),
        "cac": cac,
        "retention_cost_per_customer_year": retention_cost,
        "cost_ratio": cost_ratio,
        "clv": clv,
        "romi": romi,
        "incentive_spend": total("incentive_spend"),
        "won_incentive": total("won_incentive").round().astype(np.int64),
        "churn_incentive": churn_inc,
        "churn_other": churn_other,
        "clv_incentive": clv_inc,
        "clv_other": clv_other,
    }
    frame = pd.DataFrame(data)
    frame.insert(0, "firm", pd.Categorical(list(firms), categories=list(firms)))
    frame.insert(0, "replicate", np.int64(replicate))
    return frame


def replicate_ids(replicates: int | Iterable[int]) -> list[int]:
    """`n` → [0, …, n − 1]; a sequence of indices is taken as given."""
    if isinstance(replicates, (int, np.integer)):
        if replicates < 1:
            raise ValueError(f"replicates = {replicates}: allowed: an integer >= 1 or a list of replicate indices")
        return list(range(int(replicates)))
    ids = [int(r) for r in replicates]
    if not ids or min(ids) < 0:
        raise ValueError(f"replicates = {ids}: allowed: a non-empty list of indices >= 0")
    return ids
