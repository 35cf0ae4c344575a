"""Intervals: means with Student-t 95 % confidence intervals over independent runs, and the
percentile bootstrap for ratios and other statistics of paired runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def t_half_width(std, count, level: float = 0.95):
    """Half-width of the Student-t interval of a mean over `count` independent runs with
    sample standard deviation `std`: t_{n−1, (1+level)/2} · s / √n (arrays or numbers; NaN
    where fewer than two runs). The one interval formula of the project."""
    n = np.asarray(count, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + level / 2, np.where(n > 1, n - 1, np.nan)) * np.asarray(std) / np.sqrt(n)
    return np.where(n > 1, half, np.nan)


def percentile_interval(samples) -> tuple[float, float]:
    """The 95 % percentile interval of bootstrap samples (their 2.5th and 97.5th percentiles):
    the one bootstrap interval of the project."""
    low, high = np.quantile(np.asarray(samples, dtype=float), [0.025, 0.975])
    return float(low), float(high)


def paired_ratio_ci(num, den, resamples: int = 2000, seed: int = 0, shift: float = 0.0) -> tuple[float, float, float]:
    """mean(num)/mean(den) − shift for runs paired by replicate (common random numbers), with
    the 95 % percentile bootstrap interval over the pairs (fixed seed: reproducible)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, num.size, size=(resamples, num.size))
    low, high = percentile_interval(num[idx].mean(axis=1) / den[idx].mean(axis=1) - shift)
    return float(num.mean() / den.mean() - shift), low, high


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean, lower and upper bound of the t-interval, and the number of finite values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, np.nan, np.nan, 1
    half = float(t_half_width(x.std(ddof=1), n, level))
    return mean, mean - half, mean + half, n


def grouped_ci(frame: pd.DataFrame, by: list[str], columns: list[str], level: float = 0.95) -> pd.DataFrame:
    """One row per group: for each column its mean, ci_low, ci_high; plus n (runs)."""
    rows = []
    for key, group in frame.groupby(by, observed=True, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        for col in columns:
            mean, lo, hi, n = mean_ci(group[col], level)
            row[col] = mean
            row[f"{col}_ci_low"] = lo
            row[f"{col}_ci_high"] = hi
        row["n"] = len(group)
        rows.append(row)
    return pd.DataFrame(rows)


def localise(number: str, lang: str = "en") -> str:
    """A number formatted the English way (1,775,551.5) written for `lang`: German swaps the
    thousands and decimal marks (1.775.551,5)."""
    return number.translate(str.maketrans(",.", ".,")) if lang == "de" else number


def fmt_number(value: float, spec: str, lang: str = "en") -> str:
    """`value` in the format `spec` (as in f"{value:spec}"), with the marks of `lang`."""
    return localise(format(value, spec), lang)


def fmt_ci(mean: float, lo: float, hi: float, digits: int = 3, lang: str = "en") -> str:
    """'mean [lo, hi]' in one format: thousands separators from 1 000 on, else `digits`
    significant digits; in German with German marks and '[lo; hi]'."""
    if not np.isfinite(mean):
        return "n/a"
    values = [v for v in (mean, lo, hi) if np.isfinite(v)]
    big = max(abs(v) for v in values) >= 1000
    spec = ",.0f" if big else f".{digits}g"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return fmt_number(mean, spec, lang)
    between = "; " if lang == "de" else ", "
    return f"{fmt_number(mean, spec, lang)} [{fmt_number(lo, spec, lang)}{between}{fmt_number(hi, spec, lang)}]"


def clip_ci(table: pd.DataFrame, bounds: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """The interval columns (``<col>_ci_low``, ``<col>_ci_high``) of `table` cut at each
    column's natural bounds (a share between 0 and 1, a count not below 0): a t-interval over
    few runs can reach values the quantity cannot take."""
    out = table.copy()
    for col, (low, high) in bounds.items():
        for side in ("_ci_low", "_ci_high"):
            if col + side in out.columns:
                out[col + side] = out[col + side].clip(low, high)
    return out


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (values as they print)."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)
