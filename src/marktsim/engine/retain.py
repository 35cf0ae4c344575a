"""Retain (MODEL.md §2.4): retention spend builds bond; bond decays."""

from __future__ import annotations

import numpy as np


def spend_per_weight(total: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """§2.4 R_j / Σ_{i∈j} w per firm, float32, for firm totals `total` (firms + 1 entries, the
    last for prospects, who get nothing); 0 where a firm's total weight is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, np.append(spend, 0.0) / total, 0.0).astype(np.float32)


def retention_allocation(
    provider: np.ndarray,
    weight: np.ndarray | None,
    known: np.ndarray,
    spend: np.ndarray,
    personalisation: float,
) -> np.ndarray:
    """§2.4 r_i = R_j·w_i/Σ_{i∈j} w, times (1 + φ) for customers the firm knows (w None: all 1)."""
    n_firms = spend.shape[0]
    active = provider >= 0
    firm = np.where(active, provider, n_firms).astype(np.intp)
    if weight is None:  # uniform: the total weight is the head count, r_i the firm's spend per head
        total = np.bincount(firm, minlength=n_firms + 1).astype(np.float64)
        total[n_firms] = 0.0  # prospects get nothing
    else:
        w = np.where(active, weight, np.float32(0.0))
        total = np.bincount(firm, weights=w, minlength=n_firms + 1)
    per_weight = spend_per_weight(total, spend)
    r = per_weight.take(firm) if weight is None else w * per_weight.take(firm)
    return np.where(known, r * np.float32(1.0 + personalisation), r)


def retain(bond: np.ndarray, retention: np.ndarray, decay: float, gain_max: float, scale: float) -> np.ndarray:
    """§2.4 b ← b·(1 − δ_b) + (1 − b)·β_max·(1 − exp(−r/r_scale))."""
    gain = np.float32(gain_max) * -np.expm1(-retention / np.float32(scale))
    return bond * np.float32(1.0 - decay) + (np.float32(1.0) - bond) * gain
