"""Experience (MODEL.md §2.3): satisfaction learns from the share of demand served."""

from __future__ import annotations

import numpy as np


def experience(
    satisfaction: np.ndarray,
    served_fraction: np.ndarray,
    quality: np.ndarray,
    forgiving: np.ndarray,
    rate: np.ndarray,
    forgiveness: float,
) -> np.ndarray:
    """§2.3 e = q·f, or q·(1 − (1 − f)(1 − γ)) for forgiving customers; s ← s + α(e − s)."""
    shortfall = np.float32(1.0) - served_fraction
    kept = np.where(forgiving, shortfall * np.float32(1.0 - forgiveness), shortfall)
    experienced = quality * (np.float32(1.0) - kept)
    return satisfaction + rate * (experienced - satisfaction)
