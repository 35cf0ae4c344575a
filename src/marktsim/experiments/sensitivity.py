"""The sample of a global sensitivity analysis (SALib), split into the chunks that sweep jobs run.

    marktsim experiment=sensitivity                          # Morris screening (elementary effects)
    marktsim experiment=sensitivity sensitivity.method=sobol # Sobol first-order and total indices

The sample is a pure function of the ``sensitivity`` config block (method, factors, sizes,
seed), so every job regenerates it and runs the points of its own chunk
(``design.chunk``); ``marktsim-report`` regenerates it again to compute the indices. All
points share the job seed: common random numbers, so that differences between points are
differences of parameters, not of luck. The optional dummy factor is sampled but enters
nothing; its indices are the analysis's own noise floor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from marktsim.config import SCHEMA, ConfigError, parse_factor
from marktsim.extras import require

DUMMY = "dummy"


def varied(sens: DictConfig) -> list[str]:
    """The factor specs that are sampled: `factors` without the keys in `hold`."""
    held = set(sens.get("hold") or [])
    return [spec for spec in sens.factors if spec.split("=", 1)[0].strip() not in held]


def problem(sens: DictConfig) -> dict:
    """SALib's problem dictionary: factor names (config keys, then the dummy) and bounds."""
    factors = [parse_factor(spec) for spec in varied(sens)]
    names = [f.key for f in factors]
    bounds = [list(f.bounds) for f in factors]
    if sens.dummy:
        names.append(DUMMY)
        bounds.append([0.0, 1.0])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def unit_sample(sens: DictConfig) -> np.ndarray:
    """The raw SALib sample (rows = points, columns = problem names), reproducible from its seed."""
    require("optimize", f"a {sens.method} sensitivity design (SALib)")
    prob = problem(sens)
    if sens.method == "morris":
        from SALib.sample import morris

        return morris.sample(prob, N=int(sens.trajectories), num_levels=int(sens.levels), seed=int(sens.seed))
    if sens.method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(prob, int(sens.samples), calc_second_order=False, seed=int(sens.seed))
    raise ConfigError(f"invalid config: sensitivity.method = {sens.method!r}; allowed: morris, sobol")


def size(sens: DictConfig) -> int:
    """Number of points of the sample."""
    k = len(varied(sens)) + (1 if sens.dummy else 0)
    return int(sens.trajectories) * (k + 1) if sens.method == "morris" else int(sens.samples) * (k + 2)


def sample_design(sens: DictConfig) -> pd.DataFrame:
    """The sample as a design table: point, chunk, one column per factor (integers rounded)."""
    prob = problem(sens)
    x = unit_sample(sens)
    frame = pd.DataFrame(x, columns=prob["names"])
    for name in prob["names"]:
        if name != DUMMY and SCHEMA[name].kind == "int":
            frame[name] = frame[name].round().astype(int)
    n = len(frame)
    frame.insert(0, "point", np.arange(n))
    frame.insert(1, "chunk", np.arange(n) * int(sens.chunks) // n)
    return frame


def chunk_points(sens: DictConfig, chunk: int) -> pd.DataFrame:
    """The points of one chunk; raises ConfigError when the chunk is empty."""
    design = sample_design(sens)
    rows = design[design.chunk == chunk]
    if rows.empty:
        raise ConfigError(
            f"invalid config: design.chunk = {chunk} holds no points: the {sens.method} sample has {len(design)} "
            f"points; allowed: sensitivity.chunks <= {len(design)}")
    return rows


def values(row: pd.Series) -> dict[str, object]:
    """The config values of one point (the dummy enters nothing)."""
    from marktsim.experiments.design import point_overrides

    return point_overrides(row.drop(DUMMY, errors="ignore"))
