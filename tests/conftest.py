"""Shared helpers: compose the real config tree with overrides and run it."""

from __future__ import annotations

import numpy as np
import pytest

import marktsim
from marktsim.config import load_config


def run(overrides=(), replicates=1):
    """Compose the real configs with `overrides`, simulate, return Results."""
    return marktsim.simulate(load_config(list(overrides)), replicates=replicates)


def z_score(observed: float, n: float, p: float) -> float:
    """Standardised deviation of a binomial count from its expectation n·p."""
    sd = np.sqrt(n * p * (1 - p))
    return (observed - n * p) / sd if sd > 0 else (0.0 if observed == n * p else np.inf)


SMALL = ["market.n_customers=400", "horizon=12"]


@pytest.fixture
def small():
    return list(SMALL)
