"""marktsim: an agent-based market simulation of customer retention vs. acquisition.

Public API::

    import marktsim
    cfg = marktsim.load_config(["market=growing", "seed=3"])
    res = marktsim.simulate(cfg, replicates=5)
    res.timeseries, res.segments, res.summary

Heavy modules are imported on first use so that the command line starts quickly.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_config": "marktsim.config",
    "validate": "marktsim.config",
    "ConfigError": "marktsim.config",
    "simulate": "marktsim.simulation",
    "Results": "marktsim.results",
    "MarketModel": "marktsim.model",
    "Firm": "marktsim.agents",
    "Customer": "marktsim.agents",
    "calibrate": "marktsim.calibration",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'marktsim' has no attribute {name!r}")
