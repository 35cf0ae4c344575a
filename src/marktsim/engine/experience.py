"""Experience (docs/model.md §7.3): satisfaction learns from the share of demand served."""

from __future__ import annotations

import numpy as np

from marktsim.engine import rules as r
from marktsim.engine.rules import Rules


def experience(satisfaction: np.ndarray, fraction: np.ndarray, quality: np.ndarray, forgiving: np.ndarray,
               is_new: np.ndarray, rules: Rules) -> np.ndarray:
    """§7.3 s ← s + α(e − s) with e = q·f (forgiving customers: q·(1 − (1 − f)(1 − γ))) and
    α = α_new for new customers, α_est for established ones."""
    felt = r.felt_service(fraction, quality, forgiving, rules)
    return r.learn(satisfaction, felt, r.learning_rate(is_new, rules))
