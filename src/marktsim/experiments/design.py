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
    """A design file, checked: readable, point and chunk columns of whole numbers >= 0, each
    point once, known keys, and every cell of the type its key has (an integer key takes whole
    numbers only, a boolean key true or false). An error names the file, the line, the column and
    the value. Ranges are checked per point when its config is validated."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"invalid config: design.file = {str(path)!r} does not exist; allowed: a design CSV "
                          "written by marktsim-design")
    try:
        design = pd.read_csv(path, keep_default_na=False, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"invalid config: design.file = {str(path)!r} is not a readable CSV ({first})") from None
    missing = {"point", "chunk"} - set(design.columns)
    if missing:
        raise ConfigError(f"invalid config: design.file = {str(path)!r} lacks column(s) {', '.join(sorted(missing))}")
    unknown = [c for c in design.columns if c not in ("point", "chunk") and c not in SCHEMA]
    if unknown:
        raise ConfigError(f"invalid config: design.file = {str(path)!r} varies unknown key {unknown[0]}")
    typed = {}
    for column in design.columns:
        kind = "index" if column in ("point", "chunk") else SCHEMA[column].kind
        typed[column] = [_cell(path, i, column, kind, raw) for i, raw in enumerate(design[column])]
    out = pd.DataFrame(typed, columns=design.columns)
    twice = out.point[out.point.duplicated()]
    if not twice.empty:
        line = int(twice.index[0]) + 2
        raise ConfigError(f"invalid config: design.file = {str(path)!r} line {line}: point {int(twice.iloc[0])} "
                          "appears twice; allowed: each point number once")
    return out


def _cell(path: Path, row: int, column: str, kind: str, raw: str) -> object:
    """One cell of a design file as its key's type (see ``read_design``)."""
    text = raw.strip()

    def refuse(allowed: str) -> ConfigError:
        return ConfigError(f"invalid config: design.file = {str(path)!r} line {row + 2}, column {column}: "
                           f"{raw!r}; allowed: {allowed}")

    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise refuse("true or false")
        return text.lower() == "true"
    if kind in ("int", "index", "float"):
        try:
            number = float(text)
        except ValueError:
            raise refuse("a number") from None
        if kind == "float":
            return number
        if not math.isfinite(number) or number != int(number) or (kind == "index" and number < 0):
            raise refuse("a whole number" + (" >= 0" if kind == "index" else ""))
        return int(number)
    return text


def point_overrides(row: pd.Series) -> dict[str, object]:
    """The config values of one design point (a row of ``read_design`` or of a sampled design)
    as plain Python values of each key's type (a sampled integer key arrives as a float)."""
    out: dict[str, object] = {}
    for key, value in row.items():
        if key in ("point", "chunk"):
            continue
        value = value.item() if hasattr(value, "item") else value
        kind = SCHEMA[key].kind
        if kind == "int" and isinstance(value, float) and value == int(value):
            value = int(value)
        elif kind == "float" and isinstance(value, int) and not isinstance(value, bool):
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
