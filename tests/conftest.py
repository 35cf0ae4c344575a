"""Shared helpers: compose the real config tree with overrides and run it; run model-level
tests on both engines."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import marktsim
from marktsim.config import load_config

# MARKTSIM_TEST_ENGINES=numpy runs the model-level tests on the numpy engine only: the mutation
# run (make mutation) needs it, since mutmut's trampolines cannot be compiled by numba
ENGINES = tuple(os.environ.get("MARKTSIM_TEST_ENGINES", "numpy,compiled").split(","))


def run(overrides=(), replicates=1):
    """Compose the real configs with `overrides`, simulate, return Results."""
    return marktsim.simulate(load_config(list(overrides)), replicates=replicates)


def z_score(observed: float, n: float, p: float) -> float:
    """Standardised deviation of a binomial count from its expectation n·p."""
    sd = np.sqrt(n * p * (1 - p))
    return (observed - n * p) / sd if sd > 0 else (0.0 if observed == n * p else np.inf)


def rules_for(adoption_response=1.0, **customers):
    """The formulas' parameters (``engine.rules.Rules``) of the default customers with some
    keys changed, e.g. ``rules_for(churn_base=0.01)`` (and the market's ν). Without latent
    propensities (propensity none) unless `customers` says otherwise, so that churn_base is the
    base hazard the formulas use."""
    from omegaconf import OmegaConf

    from marktsim.engine.rules import rules_from

    return rules_from({**OmegaConf.to_container(load_config().customers), "propensity": "none", **customers},
                      adoption_response)


SMALL = ["market.n_customers=400", "horizon=12"]


@pytest.fixture
def small():
    return list(SMALL)


@pytest.fixture(params=ENGINES)
def engine(request, monkeypatch):
    """The engine every run of the test uses, set explicitly (MARKTSIM_ENGINE), so that a
    model-level test checks the numpy kernels and the compiled passes each on their own
    instead of whichever 'auto' picks. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("engine")``."""
    if request.param == "compiled" and importlib.util.find_spec("numba") is None:
        pytest.skip("numba is not installed")
    monkeypatch.setenv("MARKTSIM_ENGINE", request.param)
    return request.param


# Order of a run: the formula and bookkeeping unit tests first, the statistical comparison with
# the per-agent reference (about a minute) last, so that a run stopped at its first failure
# (`pytest -x`, as mutation testing runs it) stops early when a quick test already fails.
_FIRST = ("tests/test_rules.py", "tests/test_state.py", "tests/test_kernels.py", "tests/test_books.py", "tests/test_results.py",
          "tests/test_config_messages.py", "tests/test_policies.py")
_LAST = ("tests/test_reference.py",)


# Run on several workers (make test: pytest-xdist, each file on one worker), the files that take
# longest go first, so that no worker is left with a long file at the end (longest first, as a
# scheduler of unequal jobs does); the order measured from pytest's --durations on 2 cores.
_LONGEST = ("tests/test_reference.py", "tests/test_optimize.py", "tests/test_validation.py", "tests/test_calibration.py",
            "tests/test_cli.py", "tests/test_sensitivity.py", "tests/test_ray.py", "tests/test_lesson.py",
            "tests/test_studies.py", "tests/test_hardening.py")


def _order(item) -> tuple[int, int]:
    """The sort key of a test: its file's group, then the file's place in _LONGEST under xdist."""
    path = item.nodeid.split("::", 1)[0]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return (0, _LONGEST.index(path)) if path in _LONGEST else (1, 0)
    return (0 if path in _FIRST else 2 if path in _LAST else 1, 0)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_order)
