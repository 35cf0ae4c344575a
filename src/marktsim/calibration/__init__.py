"""Calibration to observed data: ``marktsim.calibrate(...)`` and ``marktsim-calibrate``.

    import marktsim
    from marktsim.calibration import Search

    result = marktsim.calibrate("cohort.csv", holdout=5, out="results/calibrate/cohort",
                                overrides=["customers.propensity=beta", ...],
                                search=Search(trials=40, seed=0))  # how hard to search
    result.parameters        # key, estimate, low, high
    result.fit               # period, observed, fitted, low, high, used_for_fit

The method, the default keys fitted for each kind of data and the outputs are described in
docs/calibration.md; ``marktsim.calibration.fit`` holds the estimation itself.
"""

from __future__ import annotations

from marktsim.calibration.data import DataError, Series, Survival, read_data
from marktsim.calibration.run import Calibration, CalibrationError, Search, calibrate

__all__ = ["Calibration", "CalibrationError", "DataError", "Search", "Series", "Survival", "calibrate", "read_data"]
