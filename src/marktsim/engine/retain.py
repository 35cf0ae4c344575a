"""Retain (docs/model.md §7.4): retention spend builds bond; bond decays."""

from __future__ import annotations

import numpy as np

from marktsim.engine import rules as r
from marktsim.engine.account import summed
from marktsim.engine.rules import ONE, Rules


def retention_allocation(firm: np.ndarray, weight: np.ndarray | None, known: np.ndarray, spend: np.ndarray,
                         rules: Rules) -> np.ndarray:
    """§7.4 r_i = R_j·w_i/Σ_{i∈j} w, times (1 + φ) for customers the firm knows (w None: all
    1). `firm`: each customer's firm index (n_firms for prospects, who get nothing)."""
    n_firms = spend.shape[0]
    w: np.ndarray | np.float32
    if weight is None:  # uniform: the total weight is the head count
        total: np.ndarray = np.bincount(firm, minlength=n_firms + 1).astype(np.float64)
        total[n_firms] = 0.0  # prospects get nothing
        w = ONE
    else:
        w = np.where(firm < n_firms, weight, np.float32(0.0))
        total = summed(firm, n_firms + 1, w)
    per_weight = r.spend_per_weight(total, spend)
    return r.retention_spend(w, per_weight.take(firm), known, rules)


def retain(bond: np.ndarray, spend: np.ndarray, deal_prone: np.ndarray, rules: Rules) -> np.ndarray:
    """§7.4 b ← b·(1 − δ_b) + (1 − b)·β_max·(1 − exp(−r/r_scale)) (deal-prone customers take
    only part of the gain)."""
    return r.bond_update(bond, r.bond_gain(spend, rules), deal_prone, rules)
