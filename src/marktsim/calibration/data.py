"""Observed targets for ``marktsim-calibrate`` (docs/calibration.md): reading and checking them.

Two kinds of data, told apart by their columns:

- a **cohort survival table**, columns ``period,survivors``: period 0 is the cohort's size (the
  focal firm's customers at tick 0), period t the number of them still with the firm after t
  periods of ``period_ticks`` ticks;
- a **focal time series**, columns ``tick,<column>``: one timeseries column of the focal firm
  (docs/model.md §11, e.g. ``customers``, ``share``, ``churn_rate``) at the ticks given.

Every problem is one line naming the file, the row or column and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from marktsim.engine.account import METRICS


class DataError(ValueError):
    """The data file cannot be used; the message names the file, row or column and the problem."""


@dataclass(frozen=True)
class Survival:
    """A cohort survival table: survivors[t] after t periods (survivors[0]: the cohort)."""

    survivors: np.ndarray  # int64, periods + 1
    source: str

    @property
    def periods(self) -> int:
        return int(self.survivors.shape[0] - 1)

    @property
    def cohort(self) -> int:
        return int(self.survivors[0])


@dataclass(frozen=True)
class Series:
    """A focal-firm time series: `values` of timeseries column `column` at `ticks`."""

    column: str
    ticks: np.ndarray  # int64, ascending, >= 1
    values: np.ndarray  # float64
    source: str

    @property
    def periods(self) -> int:
        return int(self.ticks.shape[0])


Data = Survival | Series


def read_data(path: str | Path) -> Data:
    """Read and check a data file (CSV). Raises DataError with one line on any problem."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise DataError(f"--data {name}: no such file; allowed: a CSV file with columns period,survivors or "
                        "tick,<timeseries column>")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"--data {name}: not a readable CSV file ({first})") from None
    columns = [c.strip() for c in frame.columns]
    frame.columns = columns
    if len(set(columns)) != len(columns):
        raise DataError(f"--data {name}: a column appears twice ({', '.join(columns)})")
    if frame.empty:
        raise DataError(f"--data {name}: no rows; allowed: one row per period or tick")
    if set(columns) == {"period", "survivors"}:
        return _survival(frame, name)
    if len(columns) == 2 and "tick" in columns:
        column = next(c for c in columns if c != "tick")
        if column not in METRICS:
            raise DataError(f"--data {name}: column {column!r} is not a timeseries column; allowed: "
                            + ", ".join(METRICS))
        return _series(frame, column, name)
    raise DataError(f"--data {name}: columns {', '.join(columns) or '(none)'}; allowed: period,survivors (a cohort "
                    "survival table) or tick,<one timeseries column> (a focal-firm time series)")


def _numbers(frame: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """The column as floats; the first bad cell is named by its row (1-based, the header is row 0)."""
    out = np.empty(len(frame))
    for row, text in enumerate(frame[column], start=1):
        try:
            value = float(text)
        except ValueError:
            raise DataError(f"--data {name}, row {row}, column {column}: {text!r} is not a number") from None
        if not np.isfinite(value):
            raise DataError(f"--data {name}, row {row}, column {column}: {text!r} is not a finite number")
        if value < 0:
            raise DataError(f"--data {name}, row {row}, column {column}: {text!r} is negative; allowed: a number >= 0")
        out[row - 1] = value
    return out


def _whole(values: np.ndarray, column: str, name: str) -> np.ndarray:
    for row, value in enumerate(values, start=1):
        if not float(value).is_integer():
            raise DataError(f"--data {name}, row {row}, column {column}: {value:g} is not a whole number")
    return values.astype(np.int64)


def _survival(frame: pd.DataFrame, name: str) -> Survival:
    period = _whole(_numbers(frame, "period", name), "period", name)
    survivors = _whole(_numbers(frame, "survivors", name), "survivors", name)
    order = np.argsort(period, kind="stable")
    period, survivors = period[order], survivors[order]
    if period[0] != 0:
        raise DataError(f"--data {name}, column period: it starts at {period[0]}; allowed: periods 0, 1, 2, … "
                        "(period 0 holds the cohort's size)")
    gaps = np.flatnonzero(np.diff(period) != 1)
    if gaps.size:
        raise DataError(f"--data {name}, column period: {period[gaps[0]]} is followed by {period[gaps[0] + 1]}; "
                        "allowed: consecutive periods 0, 1, 2, …")
    if survivors[0] <= 0:
        raise DataError(f"--data {name}, row 1, column survivors: the cohort at period 0 is {survivors[0]}; "
                        "allowed: at least one customer")
    above = np.flatnonzero(survivors > survivors[0])
    if above.size:
        raise DataError(f"--data {name}, period {period[above[0]]}, column survivors: {survivors[above[0]]} is above "
                        f"the cohort size {survivors[0]}")
    rises = np.flatnonzero(np.diff(survivors) > 0)
    if rises.size:
        t = rises[0] + 1
        raise DataError(f"--data {name}, period {period[t]}, column survivors: {survivors[t]} is more than at period "
                        f"{period[t - 1]} ({survivors[t - 1]}); survivors of a cohort never rise")
    if survivors.shape[0] < 2:
        raise DataError(f"--data {name}: only period 0; allowed: the cohort and at least one later period")
    return Survival(survivors, name)


def _series(frame: pd.DataFrame, column: str, name: str) -> Series:
    ticks = _whole(_numbers(frame, "tick", name), "tick", name)
    values = _numbers(frame, column, name)
    if np.any(ticks < 1):
        row = int(np.flatnonzero(ticks < 1)[0]) + 1
        raise DataError(f"--data {name}, row {row}, column tick: {ticks[row - 1]}; allowed: ticks 1, 2, … "
                        "(tick t: the books of month t)")
    if np.any(np.diff(ticks) <= 0):
        row = int(np.flatnonzero(np.diff(ticks) <= 0)[0]) + 2
        raise DataError(f"--data {name}, row {row}, column tick: {ticks[row - 1]} does not follow "
                        f"{ticks[row - 2]}; allowed: ascending ticks, each once")
    return Series(column, ticks, values, name)
