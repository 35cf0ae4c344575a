"""Findings: named numbers with their 95 % intervals (``key,mean,low,high,n``), as studies
write them to experiments/<study>/findings.csv and pages quote them (docs/studies.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from marktsim.analysis.stats import fmt_ci, mean_ci

COLUMNS = ("key", "mean", "low", "high", "n")
FINDINGS = "findings.csv"
KEY = r"[A-Za-z0-9_.=+\-]+"
MINUS = "\u2212"


class StudyError(Exception):
    """A study cannot be run, read or rendered; the message names the file, key or study."""


class Value(NamedTuple):
    """One finding: mean, 95 % interval (NaN where there is none) and the runs behind it."""

    mean: float
    low: float
    high: float
    n: int


class Findings:
    """The findings of one study, by key."""

    def __init__(self, study: str, frame: pd.DataFrame):
        self.study = study
        self.frame = frame.set_index("key")

    @classmethod
    def read(cls, study: str, path: Path) -> Findings:
        if not path.is_file():
            raise StudyError(f"{path}: no findings; run `marktsim-study run {study}`")
        frame = pd.read_csv(path)
        if tuple(frame.columns) != COLUMNS:
            raise StudyError(f"{path}: columns {', '.join(frame.columns)}; allowed: exactly {', '.join(COLUMNS)}")
        return cls(study, frame)

    def __getitem__(self, key: str) -> Value:
        if key not in self.frame.index:
            raise StudyError(f"{self.study}/{key}: no such finding in experiments/{self.study}/{FINDINGS}")
        row = self.frame.loc[key]
        return Value(float(row["mean"]), float(row["low"]), float(row["high"]), int(row["n"]))

    def __contains__(self, key: str) -> bool:
        return key in self.frame.index

    def keys(self) -> list[str]:
        return list(self.frame.index)

    def show(self, key: str, style: str) -> str:
        return fmt(self[key], style)


class Collector:
    """Findings as a study's extraction builds them (docs/studies.md, "Findings")."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, float, int]] = []

    def runs(self, key: str, values: Iterable[float]) -> None:
        """The mean of independent runs with its t-interval."""
        mean, low, high, n = mean_ci(list(values))
        self.add(key, mean, low, high, n)

    def add(self, key: str, mean: float, low: float = np.nan, high: float = np.nan, n: int = 0) -> None:
        if not re.fullmatch(KEY, key):
            raise StudyError(f"finding key {key!r}: allowed: letters, digits and _ . = + -")
        if any(k == key for k, *_ in self.rows):
            raise StudyError(f"finding key {key!r} is set twice")
        self.rows.append((key, float(mean), float(low), float(high), int(n)))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(COLUMNS))


def fmt(value: Value, style: str) -> str:
    """A finding as pages show it. Styles: m, m_ci (millions), pct, pct2, pct_ci, pct0, spct0 (signed),
    f1, f2, f3 and their _ci forms, int, int_ci, ci (3 significant digits), num."""
    m, lo, hi = value.mean, value.low, value.high
    if not np.isfinite(m):
        return "n/a"
    base, _, ci = style.partition("_")
    has_ci = ci == "ci" and np.isfinite(lo) and np.isfinite(hi)

    def one(v: float) -> str:
        if base == "m":
            return _signed(f"{v / 1e6:.2f}")
        if base in ("pct", "pct2", "pct0", "spct0"):
            digits = {"pct": 1, "pct2": 2}.get(base, 0)
            text = _signed(f"{100 * v:.{digits}f}")
            return "+" + text if base == "spct0" and v > 0 and text.strip("0.") else text
        if base in ("f1", "f2", "f3"):
            return _signed(f"{v:.{base[1]}f}")
        if base == "int":
            return _signed(f"{v:,.0f}".replace(",", " "))
        raise StudyError(f"format {style!r}: allowed: m, pct, pct2, pct0, spct0, f1, f2, f3, int (+ _ci), ci, num")

    if base == "ci":
        return fmt_ci(m, lo, hi).replace("-", MINUS)
    if base == "num":
        return fmt_ci(m, np.nan, np.nan).replace("-", MINUS)
    unit = {"m": " M", "pct": " %", "pct2": " %", "pct0": " %", "spct0": " %"}.get(base, "")
    text = one(m) + unit
    if has_ci:
        text += f" [{one(lo)}, {one(hi)}]"
    return text


def _signed(text: str) -> str:
    """A typographic minus, and no "−0"."""
    if text.startswith("-"):
        return MINUS + text[1:] if text.strip("-0. ") else text[1:]
    return text
