"""``marktsim-report <folder>``: tables, figures and report.md for one run or a whole sweep.

Reads every job folder below <folder>. Complete jobs (with their completion marker) are
combined; incomplete or failed jobs are listed and skipped, never mixed in. Jobs that differ
only in ``seed`` are runs of the same condition; every replicate of every job is one run.
Every table carries one typed column per swept key (and ``seed``); runs of two conditions
with the same seed and replicate share their random numbers, so conditions are compared by
paired differences, and a condition is called the leader only where those exclude zero.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from marktsim.analysis.labels import labels
from marktsim.analysis.stats import clip_ci, fmt_ci, fmt_number, grouped_ci, markdown_table, mean_ci, t_half_width
from marktsim.experiments import store
from marktsim.experiments.store import Job, dataset_paths, find_jobs

SUMMARY_METRICS = ["npv", "profit", "revenue", "churn_annual", "final_share", "cac", "cost_ratio", "clv", "romi"]
HORIZONS = (12, 36, 120)
PAIRED_METRICS = ("npv", "churn_annual")
PAIR = ["seed", "replicate"]  # runs with the same seed and replicate share their random numbers
# natural bounds of the quantities: t-intervals over few runs are cut there
BOUNDS = {name: (0.0, 1.0) for name in ("share", "churn_rate", "utilisation", "final_share", "churn_annual",
                                        "churn_new", "churn_established", "churn")}
BOUNDS.update({name: (0.0, np.inf) for name in ("backlog_units", "revenue", "cac", "customers")})
# overrides that are not conditions: where a job runs, how many replicates, which chunk
NOT_KEYS = ("hydra.", "replicates=", "design.chunk=", "progress=", "results_dir=", "engine=", "seed=")


class ReportError(Exception):
    """The folder cannot be reported on; the message says why."""


@dataclass
class Sweep:
    """The complete jobs of a folder, combined, and the jobs that were skipped."""

    root: Path
    jobs: list[Job]
    timeseries: pd.DataFrame
    segments: pd.DataFrame
    summary: pd.DataFrame
    design: pd.DataFrame | None = None  # parameter values of design points (point, factors...)
    keys: tuple[str, ...] = ()  # the columns of the swept keys (``config.<key>`` where a table has <key>)
    unreadable: tuple[tuple[Job, str], ...] = ()  # complete jobs whose files cannot be read: listed, skipped
    duplicate_runs: int = 0  # runs found more than once (copies of a sweep, the same model twice): counted once

    @property
    def key_columns(self) -> list[str]:
        """The columns `load_sweep` adds to every table: ``seed`` and one per swept key."""
        return ["seed", *self.keys]

    @property
    def skipped(self) -> list[Job]:
        """Incomplete jobs (interrupted or still running), failed ones excluded."""
        return [j for j in self.jobs if not j.complete and not j.failed]

    @property
    def complete(self) -> list[Job]:
        """Complete jobs whose files could be read (the ones reported on)."""
        bad = {j.path for j, _ in self.unreadable}
        return [j for j in self.jobs if j.complete and j.path not in bad]

    @property
    def failed(self) -> list[Job]:
        return [j for j in self.jobs if j.failed]

    @property
    def conditions(self) -> list[str]:
        return list(self.summary.condition.cat.categories)


def _labels_for(jobs: list[Job]) -> dict[str, str]:
    """Short condition labels: the overrides that differ between conditions."""
    sets = {j.condition: {o for o in j.condition.split(",") if not o.lstrip("+~").startswith(NOT_KEYS)} - {"default"}
            for j in jobs}
    common = set.intersection(*sets.values()) if sets else set()
    return {c: ", ".join(sorted(s - common)) or "default" for c, s in sets.items()}


def _swept_keys(jobs: list[Job]) -> pd.DataFrame:
    """One row per job (index: its key) and one typed column per swept key: the override keys
    whose values differ between the jobs (seed, replicates and where a job runs left out),
    typed by Hydra's override grammar (3000 an int, 0.5 a float, acquisition_heavy a string)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    parsed: dict[str, tuple[str, Any]] = {}  # each distinct override parsed once (10 000 jobs repeat them)
    rows = {}
    for job in jobs:
        row = {}
        for text in job.overrides:
            if text.lstrip("+~").startswith(NOT_KEYS):
                continue
            if text not in parsed:
                (override,) = parser.parse_overrides([text])
                value = override.value()
                parsed[text] = (override.key_or_group, value if isinstance(value, (int, float, str, bool)) or value is None
                                else str(value))
            key, value = parsed[text]
            row[key] = value
        rows[job.key] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    swept = [c for c in frame.columns if frame[c].astype(str).nunique() > 1]
    return frame[swept].infer_objects()


def _with_keys(frame: pd.DataFrame, keys: pd.DataFrame, seeds: dict[str, int | None],
               names: dict[str, str]) -> pd.DataFrame:
    """`frame` (with a job column) plus `seed` and one column per swept key, named by `names`."""
    job = pd.Categorical(frame.job)
    categories, codes = job.categories, job.codes
    out = frame  # built by _label_runs for this sweep alone: columns are added in place
    out["seed"] = pd.array([seeds.get(k) for k in categories], dtype="Int64")[codes]
    for key in keys.columns:
        per_job = keys[key].reindex(categories)
        values = per_job.to_numpy()[codes]
        out[names[key]] = pd.Categorical(values) if per_job.dtype == object else values
    return out


# top-level config keys that change no run's numbers: a run is its model (the rest) and its seed
RUN_FREE = ("name", "seed", "replicates", "results_dir", "progress")


def model_identity(job: Job) -> str:
    """What a job's runs are a function of, besides the seed and replicate: its resolved,
    validated config (config.yaml, so `3e3` and `3000` are the same) without the keys that change
    no number (RUN_FREE, the design's chunk, the config groups' names). Raises OSError or
    ValueError when config.yaml cannot be read."""
    import hashlib

    import yaml

    try:
        cfg = yaml.safe_load((job.path / "config.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"config.yaml is not YAML ({type(exc).__name__})") from None
    if not isinstance(cfg, dict):
        raise ValueError("config.yaml holds no config")
    model = {k: v for k, v in cfg.items() if k not in RUN_FREE}
    for key, group in model.items():
        if isinstance(group, dict):
            model[key] = {k: v for k, v in group.items() if k != "name" and not (key == "design" and k == "chunk")}
    return hashlib.sha256(json.dumps(model, sort_keys=True, default=str).encode()).hexdigest()


def _canonical(jobs: list[Job], models: dict[Path, str]) -> tuple[dict[Path, str], dict[str, Job], list[Job]]:
    """Runs are identified by model and seed: every job gets the id of the first job (in path
    order) with its model and seed, so copies of a sweep, or two sweeps that ran the same model
    under other names (`progress=on`, `3e3`), give each run once. Returns job folder -> id,
    id -> a job standing for it (the first job of its model: its overrides name the condition),
    and the first job of each model."""
    first_of_model: dict[str, Job] = {}
    ids: dict[tuple[str, int | None], str] = {}
    of_path: dict[Path, str] = {}
    standing: dict[str, Job] = {}
    for job in jobs:
        model = models[job.path]
        first_of_model.setdefault(model, job)
        if (model, job.seed) not in ids:
            name, n = job.key, 1
            while name in standing:  # another model's job has the same overrides (another config folder)
                n += 1
                name = f"{job.key}~{n}"
            ids[model, job.seed] = name
            standing[name] = replace(first_of_model[model], key=name, seed=job.seed)
        of_path[job.path] = ids[model, job.seed]
    return of_path, standing, list(first_of_model.values())


def _check_design(job: Job) -> None:
    """A design job's design.csv must be a table with a `point` column (ValueError otherwise)."""
    path = job.path / "design.csv"
    if not path.exists():
        return
    try:
        header = pd.read_csv(path, nrows=0).columns
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"design.csv cannot be read ({type(exc).__name__})") from None
    if "point" not in header:
        raise ValueError("design.csv has no column 'point'")


def _partition(job: Job, name: str) -> Path:
    """The file of a job's table `name` in its sweep's dataset, or, where the job is not there
    (a job folder reported on alone: nothing is written above it), the job's own file."""
    part = job.path.parent / store.DATASET / name / store.partition_name(job.key) / "part-0.parquet"
    return part if part.is_file() else job.path / f"{name}.parquet"


def _unreadable_parquet(jobs: list[Job]) -> dict[Path, str]:
    """The jobs (folder -> why) whose dataset files cannot be read as Parquet (truncated, empty,
    not Parquet), each naming its first such file."""
    import pyarrow.parquet as pq

    bad = {}
    for job in jobs:
        for name in store.TABLES:
            path = _partition(job, name)
            try:
                pq.read_metadata(path)
            except (OSError, ValueError):
                bad[job.path] = f"{path.relative_to(job.path.parent)}: not a readable Parquet file"
                break
    return bad


def _read(jobs: list[Job], ids: dict[Path, str], name: str,
          firms: tuple[str, ...] | None = None) -> tuple[pd.DataFrame, int]:
    """One table of the jobs' sweep datasets, optionally only some firms, with each job's rows
    under its run id (`_canonical`); a run found in more than one sweep is kept from the first.
    Returns the table and how many runs were dropped as duplicates."""
    import pyarrow.dataset as ds

    by_sweep: dict[Path, dict[str, str]] = {}
    files: dict[Path, list[str]] = {}
    for job in jobs:
        file = _partition(job, name)
        # a dataset's partitions are read together (the job in their path); a job's own file alone
        where = job.path.parent / store.DATASET if file.parent.name.startswith("job=") else job.path
        by_sweep.setdefault(where, {})[job.key] = ids[job.path]
        files.setdefault(where, []).append(str(file))
    flt = ds.field("firm").isin(list(firms)) if firms else None
    frames = []
    for source, (path, keys) in enumerate(sorted(by_sweep.items())):
        if path.name == store.DATASET:
            data = ds.dataset(files[path], format="parquet", partitioning="hive", partition_base_dir=str(path / name))
            frame = data.to_table(filter=flt).to_pandas()
        else:
            frame = ds.dataset(files[path], format="parquet").to_table(filter=flt).to_pandas()
            frame.insert(0, "job", next(iter(keys)))
        frame["job"] = frame.job.astype(str).map(keys)
        frames.append(frame.assign(source=source))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    run = ["job", *(["point"] if "point" in frame.columns else []), "replicate"]
    first = frame.groupby(run, sort=False).source.transform("min")
    copies = frame.source != first
    dropped = len(frame.loc[copies, [*run, "source"]].drop_duplicates()) if copies.any() else 0
    return frame[~copies.to_numpy()].drop(columns="source").reset_index(drop=True), dropped


def _label_runs(frame: pd.DataFrame, label: dict[str, str]) -> pd.DataFrame:
    """Add run, condition and job columns (categorical: a 10 000-job sweep has millions of rows
    but only as many distinct labels as runs). A run is job#replicate, or job#point#replicate
    for design jobs, whose points are conditions of their own."""
    frame = frame[frame.job.isin(list(label))]
    job = frame.pop("job").astype(str).astype("category")
    design = "point" in frame.columns
    keys = pd.DataFrame({"job": job, "replicate": frame.replicate})
    if design:
        keys.insert(1, "point", frame.point)
    grouped = keys.groupby(list(keys.columns), sort=False, observed=True)
    runs = grouped.size().index.to_frame(index=False)
    base = runs.job.astype(str).map(label)
    if design:
        run_names = runs.job.astype(str) + "#" + runs.point.astype(str) + "#" + runs.replicate.astype(str)
        conditions = (base + ", ").where(base != "default", "") + "point=" + runs.point.astype(str)
    else:
        run_names = runs.job.astype(str) + "#" + runs.replicate.astype(str)
        conditions = base
    codes = grouped.ngroup().to_numpy()
    order = sorted(set(conditions), key=_natural)
    out = frame.reset_index(drop=True)
    out.insert(0, "job", job.to_numpy())
    out.insert(0, "condition", pd.Categorical(conditions.to_numpy()[codes], categories=order))
    out.insert(0, "run", pd.Categorical.from_codes(codes, categories=pd.Index(run_names)))
    return out


def load_sweep(root: Path | str, firms: tuple[str, ...] | None = None) -> Sweep:
    """Read the complete jobs below `root` from their sweep's Parquet dataset; raise ReportError if
    there is nothing to read. `firms` limits the time series and segments to those firms (the
    summary always holds every firm)."""
    root = Path(root)
    if not root.exists():
        raise ReportError(f"no such folder: {root}")
    if not root.is_dir():
        raise ReportError(f"not a folder: {root}")
    jobs = find_jobs(root)
    if not jobs:
        raise ReportError(f"{root} holds no marktsim jobs (no job.json below it)")
    complete = [j for j in jobs if j.complete]
    if not complete:
        raise ReportError(f"{root} holds {len(jobs)} job(s), none complete: " + ", ".join(j.key for j in jobs))
    models: dict[Path, str] = {}
    unreadable: list[tuple[Job, str]] = []
    for job in complete:
        try:
            models[job.path] = model_identity(job)
            _check_design(job)
        except (OSError, ValueError) as exc:
            unreadable.append((job, str(exc) if isinstance(exc, ValueError) else f"config.yaml: {exc.strerror}"))
    complete = [j for j in complete if j.path in models]
    if not complete:
        raise ReportError(f"{root} holds no complete job whose files can be read: "
                          + "; ".join(f"{j.key}: {why}" for j, why in unreadable))
    for job in complete:  # a table neither in the job folder nor in the dataset: the job cannot be read
        missing = [n for n in store.TABLES if not _partition(job, n).is_file()]
        if missing:
            unreadable.append((job, f"{missing[0]}.parquet missing"))
    complete = [j for j in complete if j.path not in {u.path for u, _ in unreadable}]
    try:  # publish jobs missing from their sweep's dataset, but only into datasets inside `root`
        top = root.resolve()
        dataset_paths([j for j in complete if j.path.parent.resolve().is_relative_to(top)])
    except store.LinkRefused as exc:
        raise ReportError(str(exc)) from None
    while True:
        if not complete:
            raise ReportError(f"{root} holds no complete job whose files can be read: "
                              + "; ".join(f"{j.key}: {why}" for j, why in unreadable))
        ids, standing, firsts = _canonical(complete, models)
        runs = list(standing.values())
        names = _labels_for(firsts)
        label = {j.key: names[j.condition] for j in runs}
        try:
            tables, duplicates = {}, 0
            for name in ("timeseries", "segments", "summary"):
                frame, dropped = _read(complete, ids, name, None if name == "summary" else firms)
                tables[name] = _label_runs(frame, label)
                duplicates = dropped if name == "summary" else duplicates
            break
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError: a damaged Parquet file
            bad = _unreadable_parquet(complete)
            if not bad:
                raise ReportError(f"the tables below {root} cannot be read: {exc}") from None
            unreadable += [(j, bad[j.path]) for j in complete if j.path in bad]
            complete = [j for j in complete if j.path not in bad]
    keys = _swept_keys(runs)
    seeds = {j.key: j.seed for j in runs}
    taken = set().union(*(t.columns for t in tables.values()))
    names = {k: k if k not in taken else f"config.{k}" for k in keys.columns}
    tables = {name: _with_keys(table, keys, seeds, names) for name, table in tables.items()}
    designs = [pd.read_csv(j.path / "design.csv", keep_default_na=False) for j in complete
               if (j.path / "design.csv").is_file()]
    design = pd.concat(designs, ignore_index=True).drop_duplicates("point") if designs else None
    names_swept = list(names.values())
    if design is not None:  # a design's factors vary by point: typed columns from design.csv
        factors = design.set_index("point")
        new = [f for f in factors.columns if f not in taken and f not in names_swept]
        for table in tables.values():
            for factor in new:
                table[factor] = table.point.map(factors[factor]).to_numpy()
        names_swept += new
    return Sweep(root, jobs, tables["timeseries"], tables["segments"], tables["summary"], design,
                 tuple(names_swept), tuple(unreadable), duplicates)


def _natural(label: str) -> tuple:
    """Sort 'point=10' after 'point=9'."""
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", label))


def condition_keys(sweep: Sweep) -> pd.DataFrame:
    """The swept keys' values of each condition (a column per key, typed; seed left out: it
    varies within a condition)."""
    return sweep.summary.groupby("condition", observed=True)[list(sweep.keys)].first().reset_index()


def _keyed(table: pd.DataFrame, sweep: Sweep) -> pd.DataFrame:
    """`table` (one row per condition, or per condition and something else) with the swept
    keys' columns after `condition`."""
    keys = condition_keys(sweep)
    if len(keys.columns) == 1:
        return table
    merged = table.merge(keys, on="condition", how="left")
    front = ["condition", *keys.columns[1:]]
    return merged[front + [c for c in merged.columns if c not in front]]


def summary_by_condition(sweep: Sweep) -> pd.DataFrame:
    """Mean and 95 % interval of the summary metrics per condition and firm (intervals cut at
    the metrics' natural bounds), with the swept keys' columns."""
    table = clip_ci(grouped_ci(sweep.summary, ["condition", "firm"], SUMMARY_METRICS), BOUNDS)
    return _keyed(table, sweep)


def paired_difference(frame: pd.DataFrame, value: str, a: str, b: str) -> tuple[float, float, float, int]:
    """Mean and 95 % t-interval of `value` of condition `a` minus that of `b` over runs paired by
    seed and replicate (common random numbers), and the number of pairs; no pairs (NaN, 0) where
    the runs cannot be paired (no shared seeds, or two runs of one condition with the same seed
    and replicate)."""
    return _difference(_pairs(frame[frame.condition.isin([a, b])], value), a, b)


def _pairs(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """`value` of every run, one column per condition and one row per (seed, replicate); the
    conditions whose runs cannot be paired (two runs with the same seed and replicate) left
    out. One table for all comparisons: a sweep of thousands of conditions is paired at once."""
    runs = frame.assign(condition=frame.condition.astype(str))
    twice = runs.duplicated(["condition", *PAIR], keep=False)
    runs = runs[~runs.condition.isin(set(runs.condition[twice]))]
    return runs.pivot(index=PAIR, columns="condition", values=value)


def _difference(table: pd.DataFrame, a: str, b: str) -> tuple[float, float, float, int]:
    """``paired_difference`` read from a `_pairs` table."""
    if a not in table.columns or b not in table.columns:
        return np.nan, np.nan, np.nan, 0
    return mean_ci((table[a] - table[b]).dropna())


def paired_differences(sweep: Sweep, reference: str, metrics=PAIRED_METRICS, firm: str = "focal") -> pd.DataFrame:
    """Every other condition minus `reference` (``paired_difference``), one row per condition."""
    summary = sweep.summary[sweep.summary.firm == firm]
    tables = {metric: _pairs(summary, metric) for metric in metrics}
    rows = []
    for condition in sweep.conditions:
        if condition == reference:
            continue
        row: dict[str, Any] = {"condition": condition}
        for metric in metrics:
            mean, low, high, n = _difference(tables[metric], condition, reference)
            row.update({metric: mean, f"{metric}_ci_low": low, f"{metric}_ci_high": high})
        row["pairs"] = n
        rows.append(row)
    return pd.DataFrame(rows)


def leader(frame: pd.DataFrame, value: str) -> tuple[str, list[str]]:
    """The condition with the highest mean `value`, and the conditions it is not separated from:
    those whose paired difference to it has an interval that does not exclude zero (or that
    cannot be paired). The first is a leader only where the list is empty."""
    means = frame.groupby("condition", observed=True)[value].mean()
    best = str(means.idxmax())
    table = _pairs(frame, value)
    ties = []
    for other in means.index:
        if other == best:
            continue
        _, low, _, n = _difference(table, best, str(other))
        if n < 2 or not low > 0:
            ties.append(str(other))
    return best, ties


def horizon_table(sweep: Sweep, firm: str = "focal") -> pd.DataFrame:
    """Cumulative discounted profit after 12, 36, 120 months per condition (mean, interval), and
    per month whether a condition leads (``leader``): the highest mean, ahead of every other
    condition by a paired difference whose interval excludes zero ("yes"), or within noise of
    the highest ("not separable")."""
    ts = sweep.timeseries[sweep.timeseries.firm == firm].sort_values(["run", "tick"])
    ts = ts.assign(cum_npv=ts.groupby("run", observed=True).discounted_profit.cumsum())
    rows = []
    last = int(ts.tick.max())
    for h in [h for h in HORIZONS if h <= last]:
        at = ts[ts.tick == h]
        table = grouped_ci(at, ["condition"], ["cum_npv"])
        best, ties = leader(at, "cum_npv")
        table["leader"] = np.where(table.condition == best, "yes" if not ties else "not separable",
                                   np.where(table.condition.isin(ties), "not separable", ""))
        table.insert(0, "month", h)
        rows.append(table)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def churn_split_per_run(sweep: Sweep, firm: str = "focal") -> pd.DataFrame:
    """Per run (columns condition, run, job, replicate): monthly churn of new and of established
    customers, Σ lost_new / Σ customers_new and Σ (lost − lost_new) / Σ (customers at start −
    customers_new) over the ticks (tick 1, which has no recorded start count, left out)."""
    ts = sweep.timeseries[sweep.timeseries.firm == firm].sort_values(["run", "tick"])
    ts = ts.assign(start=ts.groupby("run", observed=True).customers.shift(1))
    ts = ts[ts.start.notna()]
    per_run = ts.groupby(["condition", "run", "job", "replicate"], observed=True).agg(
        lost_new=("lost_new", "sum"), new=("customers_new", "sum"), lost=("lost", "sum"), start=("start", "sum"))
    per_run["churn_new"] = per_run.lost_new / per_run.new.replace(0, np.nan)
    per_run["churn_established"] = (per_run.lost - per_run.lost_new) / (per_run.start - per_run.new).replace(0, np.nan)
    return per_run.reset_index()


def new_vs_established(sweep: Sweep, firm: str = "focal") -> pd.DataFrame:
    """Monthly churn of new and of established customers per condition (mean, interval over runs;
    ``churn_split_per_run``)."""
    return clip_ci(grouped_ci(churn_split_per_run(sweep, firm), ["condition"], ["churn_new", "churn_established"]),
                   BOUNDS)


def _numeric_design(conditions: list[str]) -> pd.DataFrame | None:
    """Conditions as a table of numeric swept keys, if at least two keys have 3+ levels."""
    rows = []
    for cond in conditions:
        row: dict[str, Any] = {}
        for item in cond.split(", "):
            if "=" not in item:
                return None
            key, value = item.split("=", 1)
            try:
                row[key] = float(value)
            except ValueError:
                row[key] = value
        rows.append(row)
    design = pd.DataFrame(rows, index=conditions)
    numeric = [c for c in design.columns if design[c].map(lambda v: isinstance(v, float)).all() and design[c].nunique() >= 3]
    return design if len(numeric) >= 2 else None


def _bands(ts: pd.DataFrame, column: str) -> pd.DataFrame:
    g = ts.groupby(["condition", "tick"], observed=True)[column]
    out = g.agg(["mean", "std", "count"]).reset_index()
    half = np.nan_to_num(t_half_width(out["std"], out["count"]), nan=0.0)
    low, high = BOUNDS.get(column, (-np.inf, np.inf))
    out["low"], out["high"] = (out["mean"] - half).clip(low, high), (out["mean"] + half).clip(low, high)
    return out


def _plot_bands(ax, ts: pd.DataFrame, column: str, layout: Layout, lab: dict) -> pd.DataFrame:
    """Mean and 95 % band of `column` over time, one line per condition (coloured and named by
    its series in `layout`); returns the bands."""
    band = _bands(ts, column)
    for cond, g in band.groupby("condition", observed=True):
        colour = layout.colour[cond]
        ax.plot(g.tick, g["mean"], color=colour, label=layout.series[cond], lw=1.4)
        ax.fill_between(g.tick, g.low, g.high, color=colour, alpha=0.2, lw=0)
    ax.set_title(lab[column])
    ax.set_xlabel(lab["tick"])
    return band


FACET_KEYS = ("market", "competitors")  # the figures' panels: the situation; the rest (the strategy) is the colour
MAX_FACETS = 9


@dataclass
class Layout:
    """How the figures show the conditions: a panel (facet) per situation (the swept values of
    `market` and `competitors`), within it a colour per series (the other swept keys, the
    strategy above all), named in words."""

    facets: list[str]  # panel titles in order; [""] when the figures have one panel per metric
    facet: dict[str, str]  # condition -> its panel's title
    series: dict[str, str]  # condition -> its legend entry
    colour: dict[str, Any]  # condition -> its series' colour (the same series, the same colour, in every panel)
    title: str  # the legend's title: the keys that make a series


def _words(key: str, value: Any) -> str:
    return f"{key} = {value:g}" if isinstance(value, float) else f"{key} = {value}"


def layout(sweep: Sweep, colours) -> Layout:
    """The conditions' facets, series and colours; `colours(n)` gives n colours."""
    keys = condition_keys(sweep).set_index("condition").reindex(sweep.conditions)
    facet_keys = [k for k in FACET_KEYS if k in keys.columns]
    others = [k for k in keys.columns if k not in facet_keys]
    faceted = bool(facet_keys) and keys[facet_keys].drop_duplicates().shape[0] <= MAX_FACETS
    if not faceted:
        facet_keys, others = [], list(keys.columns)

    def named(row: pd.Series, columns: list[str], fallback: str) -> str:
        if len(columns) == 1 and columns[0] == "strategy":
            return str(row["strategy"])  # the legend's title says it is the strategy
        return ", ".join(_words(k, row[k]) for k in columns) or fallback

    facet = {c: named(keys.loc[c], facet_keys, "") for c in sweep.conditions}
    # within a panel a series is named by the keys left; without panels, by its condition
    series = {c: named(keys.loc[c], others, c) if faceted and others else c for c in sweep.conditions}
    names = list(dict.fromkeys(series[c] for c in sweep.conditions))
    palette = dict(zip(names, colours(len(names))))
    title = "strategy" if others == ["strategy"] and faceted else ""
    return Layout(list(dict.fromkeys(facet.values())), facet, series, {c: palette[series[c]] for c in facet}, title)


def _metric_grid(plt, ts: pd.DataFrame, metrics: tuple[str, ...], lay: Layout, lab: dict):
    """A panel per facet (row) and metric (column), each with a band per condition of the facet;
    returns the figure and every band drawn (with its condition)."""
    rows = len(lay.facets)
    fig, axes = plt.subplots(rows, len(metrics), figsize=(3.3 * len(metrics) + 0.5, 2.6 * rows + 1.0),
                             sharex=True, sharey="col", squeeze=False, layout="constrained")
    bands = []
    for r, title in enumerate(lay.facets):
        part = ts[ts.condition.map(lay.facet).astype(str) == title] if title else ts
        for c, column in enumerate(metrics):
            ax = axes[r][c]
            bands.append(_plot_bands(ax, part, column, lay, lab).assign(metric=column))
            if title:
                ax.set_title(f"{lab[column]}\n{title}", fontsize=8)
            if r < rows - 1:
                ax.set_xlabel("")
    _legend_below(fig, axes, lay.title)
    return fig, pd.concat(bands, ignore_index=True)


MAX_CONDITIONS_PER_FIGURE = 60


def _design_figure(sweep: Sweep, summary: pd.DataFrame, out: Path, lab: dict, plt, sns) -> list[tuple[str, str]]:
    """Focal NPV (mean over replicates) of every design point against each factor."""
    assert sweep.design is not None
    factors = [c for c in sweep.design.columns if c != "point"]
    per_point = summary.groupby("point").npv.mean().rename("npv").reset_index().merge(sweep.design, on="point")
    fig, axes = plt.subplots(1, len(factors), figsize=(3.6 * len(factors) + 0.5, 3.4), squeeze=False)
    sentences = []
    for ax, factor in zip(axes[0], factors):
        values = per_point[factor]
        if pd.api.types.is_numeric_dtype(values):
            ax.scatter(values, per_point.npv, s=12, alpha=0.7)
            rho = per_point[[factor, "npv"]].corr(method="spearman").iloc[0, 1]
            sentences.append(f"{factor}: Spearman ρ = {rho:+.2f}")
        else:
            sns.boxplot(per_point, x=factor, y="npv", ax=ax)
            means = per_point.groupby(factor).npv.mean()
            sentences.append(f"{factor}: best level {means.idxmax()}")
        ax.set_xlabel(factor, fontsize=8)
        ax.set_ylabel(lab["npv"], fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "design.png", dpi=110)
    plt.close(fig)
    return [("design.png", lab["fig_design"].format(n=len(per_point)) + " " + "; ".join(sentences) + ".")]


def _legend_below(fig, axes, title: str = "") -> None:
    """One legend below the panels, outside the data: every series drawn in any panel, once
    (up to 12)."""
    entries: dict[str, Any] = {}
    for ax in np.ravel(axes):
        for handle, name in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(name, handle)
    if 0 < len(entries) <= 12:
        fig.legend(list(entries.values()), list(entries), loc="outside lower center", ncol=min(len(entries), 3),
                   fontsize=7, title=title or None, title_fontsize=7)


def _npv_figure(plt, table: pd.DataFrame, lay: Layout, lab: dict):
    """NPV (mean and 95 % interval) per condition: a panel per facet, the series on the y axis in
    their colours, one money axis for all panels."""
    panels = len(lay.facets)
    columns = min(panels, 3)
    rows = -(-panels // columns)
    per_panel = max(table.condition.map(lay.facet).value_counts().max(), 1)
    fig, axes = plt.subplots(rows, columns, figsize=(8 if panels == 1 else 3.6 * columns + 1.0,
                                                     (0.45 * per_panel + 1.2) * rows + 0.6),
                             sharex=True, squeeze=False, layout="constrained")
    for ax, title in zip(axes.flat, lay.facets):
        part = table[table.condition.map(lay.facet).astype(str) == title].reset_index(drop=True)
        y = np.arange(len(part))
        for i, row in part.iterrows():
            ax.errorbar(row.npv, i, xerr=[[row.npv - row.npv_ci_low], [row.npv_ci_high - row.npv]], fmt="o",
                        color=lay.colour[row.condition] if panels > 1 else "black", ecolor="gray", capsize=3)
        ax.set_yticks(y, [lay.series[c] for c in part.condition])
        ax.set_ylim(len(part) - 0.5, -0.5)  # the first series on top, no empty margin
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(lab["npv_axis"] if panels == 1 else "")
    for ax in list(axes.flat)[panels:]:
        ax.set_visible(False)
    fig.suptitle(lab["npv_title"], fontsize=10)
    if panels > 1:
        fig.supxlabel(lab["npv_axis"], fontsize=9)  # one money axis, named once
    return fig


def _figures(sweep: Sweep, out: Path, lab: dict, firm: str = "focal", lang: str = "en") -> list[tuple[str, str]]:
    """Write the figures; return (file name, sentence) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    lay = layout(sweep, lambda n: sns.color_palette("colorblind", n))
    ts = sweep.timeseries[sweep.timeseries.firm == firm]
    summary = sweep.summary[sweep.summary.firm == firm]
    written = []

    if lay.facets == [""]:
        fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True, layout="constrained")
        for ax, column in zip(axes.flat, ("share", "revenue", "churn_rate", "profit")):
            _plot_bands(ax, ts, column, lay, lab)
        _legend_below(fig, axes)
    else:
        fig, _ = _metric_grid(plt, ts, ("share", "revenue", "churn_rate", "profit"), lay, lab)
    fig.savefig(out / "timeseries.png", dpi=110)
    plt.close(fig)
    final = ts[ts.tick == ts.tick.max()].groupby("condition", observed=True).share.mean()
    sentence = lab["fig_timeseries"] + " " + lab["share_end"].format(
        low=fmt_number(final.min(), ".3f", lang), worst=final.idxmin(), high=fmt_number(final.max(), ".3f", lang),
        best=final.idxmax()
    )
    written.append(("timeseries.png", sentence))

    table = grouped_ci(summary, ["condition"], ["npv"])
    if sweep.design is not None:
        written.extend(_design_figure(sweep, summary, out, lab, plt, sns))
    if len(table) > MAX_CONDITIONS_PER_FIGURE:
        return written  # more conditions than a figure can show: the tables (summary.csv) hold them
    fig = _npv_figure(plt, table, lay, lab)
    fig.savefig(out / "npv.png", dpi=110)
    plt.close(fig)
    best, worst = table.npv.idxmax(), table.npv.idxmin()
    sentence = lab["fig_npv"] + " " + lab["best_npv"].format(
        best=table.condition[best],
        value=fmt_ci(table.npv[best], table.npv_ci_low[best], table.npv_ci_high[best], lang=lang),
        worst=table.condition[worst],
        low=fmt_ci(table.npv[worst], table.npv_ci_low[worst], table.npv_ci_high[worst], lang=lang),
    )
    written.append(("npv.png", sentence))

    seg = sweep.segments[sweep.segments.firm == firm]
    per_run = seg.groupby(["condition", "run", "segment"], observed=True)[["lost", "customers"]].sum().reset_index()
    per_run["churn"] = per_run.lost / per_run.customers.replace(0, np.nan)
    bars = clip_ci(grouped_ci(per_run, ["condition", "segment"], ["churn"]), BOUNDS)  # the report's t-intervals
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(sweep.conditions) + 1.8))
    segments = list(dict.fromkeys(bars.segment))
    height = 0.8 / max(len(segments), 1)
    position = {c: i for i, c in enumerate(sweep.conditions)}
    colours = sns.color_palette("colorblind", len(segments))
    for k, (segment, colour) in enumerate(zip(segments, colours)):
        part = bars[bars.segment == segment]
        centre = np.array([position[c] for c in part.condition], dtype=float) - 0.4 + (k + 0.5) * height
        ax.barh(centre, part.churn, height=height, color=colour, label=segment,
                xerr=[part.churn - part.churn_ci_low, part.churn_ci_high - part.churn], capsize=2)
    ax.set_yticks(range(len(sweep.conditions)), sweep.conditions)
    ax.invert_yaxis()
    ax.set_xlabel(lab["segment_churn"])
    ax.set_ylabel("")
    ax.legend(title=lab["segment"], fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "segment_churn.png", dpi=110)
    plt.close(fig)
    means = per_run.groupby("segment", observed=True).churn.mean()
    order = lab["a_lowest"] if means.idxmin() == "A" else lab["a_not_lowest"]
    written.append(("segment_churn.png", lab["fig_segments"] + " " + lab["segment_sentence"].format(
        order=order, **{k.lower(): fmt_number(means.get(k, np.nan), ".4f", lang) for k in "ABC"})))

    design = _numeric_design(sweep.conditions)
    if design is not None:
        numeric = [c for c in design.columns if pd.api.types.is_float_dtype(design[c]) and design[c].nunique() >= 3]
        # the decision variable (rho) on the x axis when it was swept; best x per row is the answer
        ranked = sorted(numeric, key=lambda c: (c.endswith("retention_share"), design[c].nunique()))
        x, y = ranked[-1], ranked[-2]
        rest = [c for c in design.columns if c not in (x, y)]
        npv = grouped_ci(summary, ["condition"], ["npv"]).set_index("condition").npv
        data = design.assign(npv=npv.reindex(design.index).to_numpy())
        facets = list(data.groupby(rest, sort=True)) if rest else [("", data)]
        fig, axes = plt.subplots(1, len(facets), figsize=(4.2 * len(facets) + 1, 3.8), squeeze=False)
        vmin, vmax = data.npv.min(), data.npv.max()
        best_cells = []
        for ax, (key, part) in zip(axes[0], facets):
            grid = part.pivot_table(index=y, columns=x, values="npv")
            sns.heatmap(grid, ax=ax, cmap="viridis", vmin=vmin, vmax=vmax, cbar=ax is axes[0][-1],
                        annot=grid.shape[0] * grid.shape[1] <= 48, fmt=".3g", annot_kws={"size": 6})
            ax.invert_yaxis()
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in zip(rest, key))
            ax.set_title(label, fontsize=8)
            best_x = grid.idxmax(axis=1)
            best_cells.append((f"{label}: " if label else "") + ", ".join(
                f"{y}={row:g} → {x}={best_x[row]:g}" for row in grid.index))
        fig.suptitle(lab["npv"], fontsize=9)
        fig.tight_layout()
        fig.savefig(out / "npv_heatmap.png", dpi=110)
        plt.close(fig)
        written.append(("npv_heatmap.png", lab["fig_heatmap"].format(x=x) + " " + "; ".join(best_cells) + "."))

    if ts.capacity.notna().any():
        if lay.facets == [""]:
            fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True, layout="constrained")
            bands = pd.concat([_plot_bands(ax, ts, column, lay, lab).assign(metric=column)
                               for ax, column in zip(axes, ("utilisation", "backlog_units"))], ignore_index=True)
            _legend_below(fig, axes)
        else:
            fig, bands = _metric_grid(plt, ts, ("utilisation", "backlog_units"), lay, lab)
        peaks = {column: part.loc[part["mean"].idxmax()] for column, part in bands.groupby("metric")}
        fig.savefig(out / "capacity.png", dpi=110)
        plt.close(fig)
        u = peaks["utilisation"]
        written.append(("capacity.png", lab["fig_capacity"] + " " + lab["capacity_sentence"].format(
            peak=fmt_number(u["mean"], ".2f", lang), where=f"{u['condition']}, {lab['tick']} {int(u['tick'])}",
            backlog=fmt_number(peaks["backlog_units"]["mean"], ",.0f", lang))))
    return written


def _sensitivity_section(sweep: Sweep, out: Path, lab: dict, figures: list[tuple[str, str]]) -> list[str]:
    """For a sensitivity sweep: sensitivity_<method>.csv, its figure and a ranked table."""
    from omegaconf import OmegaConf

    from marktsim.analysis import sensitivity as sa

    complete = sweep.complete
    configs = [OmegaConf.load(j.path / "config.yaml") for j in complete]
    first = configs[0]
    if not isinstance(first, DictConfig) or not (first.get("sensitivity") and first.sensitivity.method):
        return []
    try:
        sens = sa.sensitivity_config([c for c in configs if isinstance(c, DictConfig)])
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if sens is None:
        return []
    title = [f"## {lab['sensitivity'].format(method=sens.method)}", ""]
    try:
        analysis = sa.analyse(sens, sa.outputs_per_point(sweep.summary), int(first.replicates))
    except sa.SensitivityIncomplete as exc:
        return title + [lab["sensitivity_missing"].format(reason=exc), ""]
    table = analysis.indices.assign(above_noise=sa.above_noise(analysis))
    table.to_csv(out / f"sensitivity_{sens.method}.csv", index=False)
    key = "μ*" if sens.method == "morris" else "ST"
    lines = title + [lab["sensitivity_intro"].format(points=analysis.points, method=sens.method,
                                                     reps=analysis.replicates, key=key), ""]
    tops = {}
    for output, g in table.groupby("output", sort=False):
        rows = []
        for r in g.itertuples():
            row = {lab["rank"]: r.rank, lab["parameter"]: r.parameter}
            if sens.method == "morris":
                row["μ*"] = f"{r.mu_star:.4g} ± {r.mu_star_conf:.2g}"
                row["σ"] = f"{r.sigma:.4g}"
            else:
                row["S1"] = f"{r.S1:.3f} ± {r.S1_conf:.3f}"
                row["ST"] = f"{r.ST:.3f} ± {r.ST_conf:.3f}"
            row[""] = "" if r.above_noise else lab["noise"]
            rows.append(row)
        tops[output] = ", ".join(g.parameter.head(3))
        lines += [f"### {lab['columns'][output]}", "", markdown_table(pd.DataFrame(rows)), ""]
    name = sa.figure(analysis, out, lab)
    figures.insert(0, (name, lab["fig_sensitivity"].format(npv=tops["npv"], churn=tops["churn_annual"])))
    return lines


def _months(months: list[int], lab: dict) -> str:
    """12, 36 and 120 (in the report's language)."""
    text = [str(m) for m in months]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + f" {lab['and']} " + text[-1]


def write_report(root: Path | str, out: Path | str | None = None, lang: str = "en",
                 reference: str | None = None) -> Path:
    """Build summary.csv, the figures and report.md for `root`; return the report's path.
    `reference`: the condition the others are compared with by paired differences (default:
    the first condition)."""
    lab = labels(lang)
    sweep = load_sweep(root, firms=("focal",))
    if reference is not None and reference not in sweep.conditions:
        shown = ", ".join(f"'{c}'" for c in sweep.conditions[:6]) + (", …" if len(sweep.conditions) > 6 else "")
        raise ReportError(f"--reference '{reference}' is not a condition of {root}; allowed: {shown}")
    reference = reference if reference is not None else sweep.conditions[0]
    if out is None:
        try:
            store.refuse_links(Path(root), "report")
        except store.LinkRefused as exc:
            raise ReportError(str(exc)) from None
    final = Path(out) if out is not None else Path(root) / "report"
    work = _report_folder(final)
    try:
        report = _write_into(work, sweep, root, lab, lang, reference)
        _swap_into_place(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final / report.name


def _report_folder(final: Path) -> Path:
    """A new hidden folder beside `final` to write the report into (then renamed into place),
    after checking that `final` may be (re)written: new, empty, or an earlier report."""
    if final.exists() and not final.is_dir():
        raise ReportError(f"--out {final} is a file; allowed: a folder (new or a report's)")
    if final.is_dir() and any(final.iterdir()) and not (final / "report.md").is_file():
        raise ReportError(f"--out {final} holds other files; allowed: a new folder or a report's (with report.md)")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    except OSError as exc:
        raise ReportError(f"--out {final} cannot be written ({exc.strerror}); allowed: a folder you can write") from None


def _swap_into_place(work: Path, final: Path) -> None:
    """Put the finished report folder `work` at `final`, replacing an earlier report there: a
    reader finds the old report or the new one, never a half-written one."""
    os.chmod(work, 0o777 & ~_umask())  # mkdtemp makes it private; a report folder is an ordinary one
    if not final.exists():
        os.rename(work, final)
        return
    old = final.with_name(f".{final.name}.{os.getpid()}.old")
    os.rename(final, old)
    os.rename(work, final)
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_into(out: Path, sweep: Sweep, root: Path | str, lab: dict, lang: str, reference: str) -> Path:
    """Write the report's tables, figures and report.md into the folder `out`."""
    table = summary_by_condition(sweep)
    table.to_csv(out / "summary.csv", index=False)
    horizons = horizon_table(sweep)
    if not horizons.empty:
        _keyed(horizons, sweep).to_csv(out / "horizons.csv", index=False)
    figures = _figures(sweep, out, lab, lang=lang)
    churn_split = new_vs_established(sweep)
    _keyed(churn_split, sweep).to_csv(out / "churn_new_vs_established.csv", index=False)
    paired = paired_differences(sweep, reference) if len(sweep.conditions) > 1 else pd.DataFrame()
    if not paired.empty:
        _keyed(paired, sweep).assign(reference=reference).to_csv(out / "paired_differences.csv", index=False)

    focal = table[table.firm == "focal"]
    shown = pd.DataFrame({lab["condition"]: focal.condition.astype(str)})
    for metric in SUMMARY_METRICS:
        shown[lab["columns"][metric]] = [
            fmt_ci(r[metric], r[f"{metric}_ci_low"], r[f"{metric}_ci_high"], lang=lang) for _, r in focal.iterrows()
        ]
    shown[lab["runs"]] = focal.n.to_numpy()
    complete = sweep.complete
    lines = [
        f"# {lab['title']}",
        "",
        f"{lab['folder']}: `{Path(root)}`",
        "",
        f"{lab['jobs']}: {len(complete)} {lab['complete']}; {len(sweep.skipped)} {lab['incomplete']}: "
        + (", ".join(f"`{j.key}`" for j in sweep.skipped) or lab["none_incomplete"])
        + f"; {len(sweep.failed)} {lab['failed']}: "
        + (", ".join(f"`{j.key}` ({j.error})" for j in sweep.failed) or lab["none_incomplete"])
        + (f"; {len(sweep.unreadable)} {lab['unreadable']}: " + ", ".join(f"`{j.key}` ({why})"
                                                                          for j, why in sweep.unreadable)
           if sweep.unreadable else ""),
        "",
        *([lab["duplicates"].format(n=sweep.duplicate_runs), ""] if sweep.duplicate_runs else []),
        lab["intervals"],
        "",
    ]
    lines += _sensitivity_section(sweep, out, lab, figures)
    lines += [f"## {lab['summary_table']}", ""]
    if len(shown) > MAX_CONDITIONS_PER_FIGURE:
        lines += [lab["many_conditions"].format(n=len(shown)), ""]
    else:
        lines += [markdown_table(shown), ""]
    few = len(shown) <= MAX_CONDITIONS_PER_FIGURE  # else the CSV files hold the per-condition tables
    if not paired.empty and few:
        lines += [f"## {lab['paired_table'].format(reference=reference)}", "", lab["paired_intro"], ""]
        rows = [{lab["condition"]: r["condition"],
                 **{lab["difference"].format(metric=lab["columns"][m]):
                    fmt_ci(r[m], r[f"{m}_ci_low"], r[f"{m}_ci_high"], lang=lang) for m in PAIRED_METRICS},
                 lab["pairs"]: r["pairs"]} for r in paired.to_dict("records")]
        lines += [markdown_table(pd.DataFrame(rows)), ""]
    if not horizons.empty and few:
        lines += [f"## {lab['horizon_table'].format(months=_months(sorted(set(horizons.month)), lab))}", ""]
        marks = {"yes": "◀", "not separable": "≈", "": ""}
        rows = [{lab["tick"]: r.month, lab["condition"]: r.condition,
                 lab["npv"]: fmt_ci(r.cum_npv, r.cum_npv_ci_low, r.cum_npv_ci_high, lang=lang),
                 lab["leader"]: marks[r.leader]} for r in horizons.itertuples()]
        lines += [markdown_table(pd.DataFrame(rows)), "", lab["leader_key"], ""]
        for month, g in horizons.groupby("month"):
            best = g.loc[g.cum_npv.idxmax()].condition
            ties = list(g.condition[g.leader == "not separable"])
            if len(g) > 1 and not ties:
                lines.append(lab["horizon_sentence"].format(h=month, who=best))
            elif ties:
                lines.append(lab["horizon_tie"].format(h=month, who="; ".join(ties)))
        lines.append("")
    if not churn_split.empty and few:
        lines += [f"## {lab['churn_split']}", ""]
        rows = [{lab["condition"]: r.condition,
                 lab["churn_new"]: fmt_ci(r.churn_new, r.churn_new_ci_low, r.churn_new_ci_high, lang=lang),
                 lab["churn_established"]: fmt_ci(r.churn_established, r.churn_established_ci_low,
                                                  r.churn_established_ci_high, lang=lang)}
                for r in churn_split.itertuples()]
        lines += [markdown_table(pd.DataFrame(rows)), ""]
    for i, (name, sentence) in enumerate(figures, 1):
        lines += [f"![{name}]({name})", "", f"*{i}.* {sentence}", ""]
    report = out / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    skipped = {"incomplete": [str(j.path) for j in sweep.skipped],
               "failed": [{"path": str(j.path), "error": j.error} for j in sweep.failed],
               "unreadable": [{"path": str(j.path), "error": why} for j, why in sweep.unreadable],
               "duplicate_runs": sweep.duplicate_runs}
    (out / "skipped.json").write_text(json.dumps(skipped, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="marktsim-report", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a job folder, a sweep folder, or any folder above them")
    parser.add_argument("--lang", choices=["en", "de"], default="en", help="language of labels and text")
    parser.add_argument("--out", default=None, help="output folder (default: <folder>/report)")
    parser.add_argument("--reference", default=None, metavar="CONDITION",
                        help="the condition the others are compared with by paired differences "
                             "(a label of the summary table; default: the first)")
    args = parser.parse_args(argv)
    try:
        report = write_report(args.folder, args.out, args.lang, args.reference)
    except ReportError as exc:
        print(f"marktsim-report: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    skipped = json.loads((report.parent / "skipped.json").read_text())
    for path in skipped["incomplete"]:
        print(f"marktsim-report: skipped incomplete job {path}", file=sys.stderr)
    for job in skipped["failed"]:
        print(f"marktsim-report: skipped failed job {job['path']}: {job['error']}", file=sys.stderr)
    for job in skipped["unreadable"]:
        print(f"marktsim-report: skipped unreadable job {job['path']}: {job['error']}", file=sys.stderr)
    if skipped["duplicate_runs"]:
        print(f"marktsim-report: {skipped['duplicate_runs']} runs found more than once, counted once", file=sys.stderr)
    print(f"marktsim-report: {report}")


if __name__ == "__main__":
    main()
