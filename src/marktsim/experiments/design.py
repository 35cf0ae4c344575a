"""Designs beyond grids: Latin hypercube, Sobol and grid designs over named parameter ranges.

    marktsim-design --method lhs --points 200 --seed 1 --chunk 50 \\
        --factor strategy.retention_share=0:1 --factor firm.budget_share=0.02:0.16 \\
        --factor firm.priority=fifo,existing_first --out designs/frontier.csv
    marktsim -m design.file=designs/frontier.csv 'design.chunk=range(0,4)' replicates=10

A design is a CSV file of parameter points (one row each, with its ``point`` number and the
``chunk`` it belongs to). Each job of the sweep runs every point of one chunk, so ten
thousand points cost a few hundred jobs, not ten thousand: Hydra builds one config per job.
Numeric factors ``key=low:high`` are scaled from the unit cube (integers are rounded);
categorical factors ``key=a,b,c`` take level ⌊u·levels⌋. A design is reproducible from its
method, size, factors and seed.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any
from pathlib import Path

import numpy as np
import pandas as pd

from marktsim.config import SCHEMA, ConfigError, Factor, parse_factor  # noqa: F401 (re-exported)

METHODS = ("lhs", "sobol", "grid")


def unit_sample(method: str, points: int, dims: int, seed: int) -> np.ndarray:
    """`points` × `dims` samples of the unit cube."""
    from scipy.stats import qmc

    if method == "lhs":
        return qmc.LatinHypercube(d=dims, seed=seed).random(points)
    if method == "sobol":
        if points & (points - 1):
            raise ConfigError(f"invalid design: --points {points} for sobol; allowed: a power of two (e.g. 64, 128)")
        return qmc.Sobol(d=dims, scramble=True, seed=seed).random_base2(int(math.log2(points)))
    raise ConfigError(f"invalid design: method {method!r}; allowed: {', '.join(METHODS)}")


def make_design(factors: list[Factor], method: str, points: int, seed: int = 0) -> pd.DataFrame:
    """The design as a table: one row per point, one column per factor."""
    if not factors:
        raise ConfigError("invalid design: give at least one --factor")
    if len({f.key for f in factors}) != len(factors):
        raise ConfigError("invalid design: a key is given twice")
    columns: dict[str, Any] = {}
    if method == "grid":
        axes = []
        for f in factors:
            axes.append(list(f.levels) if f.levels else list(np.linspace(*f.bounds, points)))
        grid = np.array(np.meshgrid(*[np.arange(len(a)) for a in axes], indexing="ij")).reshape(len(factors), -1).T
        columns = {f.key: [axes[i][j] for j in grid[:, i]] for i, f in enumerate(factors)}
    else:
        if points < 1:
            raise ConfigError(f"invalid design: --points {points}; allowed: an integer >= 1")
        unit = unit_sample(method, points, len(factors), seed)
        for i, f in enumerate(factors):
            u = unit[:, i]
            if f.levels:
                columns[f.key] = [f.levels[min(int(x * len(f.levels)), len(f.levels) - 1)] for x in u]
            else:
                low, high = f.bounds
                columns[f.key] = low + u * (high - low)
    frame = pd.DataFrame(columns)
    for f in factors:
        if not f.levels and f.integer:
            frame[f.key] = frame[f.key].round().astype(int)
    frame.insert(0, "point", np.arange(len(frame)))
    return frame


def chunked(design: pd.DataFrame, chunk: int) -> pd.DataFrame:
    """Number the chunks of `chunk` points each (the unit of one job)."""
    if chunk < 1:
        raise ConfigError(f"invalid design: --chunk {chunk}; allowed: an integer >= 1")
    out = design.copy()
    out.insert(1, "chunk", out.point // chunk)
    return out


def read_design(path: str | Path) -> pd.DataFrame:
    """A design file, checked: point and chunk columns, known keys."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"invalid config: design.file = {str(path)!r} does not exist; allowed: a design CSV "
                          "written by marktsim-design")
    design = pd.read_csv(path, keep_default_na=False)
    missing = {"point", "chunk"} - set(design.columns)
    if missing:
        raise ConfigError(f"invalid config: design.file = {str(path)!r} lacks column(s) {', '.join(sorted(missing))}")
    unknown = [c for c in design.columns if c not in ("point", "chunk") and c not in SCHEMA]
    if unknown:
        raise ConfigError(f"invalid config: design.file = {str(path)!r} varies unknown key {unknown[0]}")
    return design


def point_overrides(row: pd.Series) -> dict[str, object]:
    """The config values of one design point."""
    out = {}
    for key, value in row.items():
        if key in ("point", "chunk"):
            continue
        kind = SCHEMA[key].kind
        if kind == "bool":
            value = str(value).lower() == "true"
        elif kind == "int":
            value = int(value)
        elif kind == "float":
            value = float(value)
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="marktsim-design", description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=METHODS, default="lhs")
    parser.add_argument("--points", type=int, default=64, help="points (lhs, sobol) or levels per numeric factor (grid)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (lhs, sobol)")
    parser.add_argument("--chunk", type=int, default=50, help="points per job")
    parser.add_argument("--factor", action="append", default=[], help="key=low:high or key=a,b,c (repeat)")
    parser.add_argument("--out", required=True, help="CSV file to write (never overwritten)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        if out.exists():
            raise ConfigError(f"{out} exists; a design is never overwritten (jobs may refer to it): choose another name")
        design = chunked(make_design([parse_factor(s) for s in args.factor], args.method, args.points, args.seed),
                         args.chunk)
    except ConfigError as exc:
        print(f"marktsim-design: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    design.to_csv(tmp, index=False)
    tmp.replace(out)
    chunks = int(design.chunk.max()) + 1
    print(f"marktsim-design: {len(design)} points in {chunks} chunk(s) -> {out}")
    print(f"run it with: marktsim -m design.file={out} 'design.chunk=range(0,{chunks})'")


if __name__ == "__main__":
    main()
