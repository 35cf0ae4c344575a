"""The calibration run: checks, the resumable search, intervals, bands and the output folder.

Everything is checked before anything is written. The output folder holds ``calibration.json``
(the settings), ``study.db`` (Optuna's search, SQLite) and ``evaluations.jsonl`` (every
simulated candidate), so a killed run resumes where it stopped; the results are written last,
each file atomically, then ``COMPLETE``. A finished folder rerun with the same settings does no
work; a folder of another calibration is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from marktsim.calibration import fit as f
from marktsim.calibration.data import Data, Survival, read_data
from marktsim.config import ConfigError, compose_config, flatten, plain_raw, validate
from marktsim.experiments import store
from marktsim.model import prepare_engine

SETTINGS = "calibration.json"
EVALUATIONS = "evaluations.jsonl"
MARKER = "COMPLETE"
STUDY = "calibration"


class CalibrationError(Exception):
    """The output folder cannot be used, or the options do not fit the data; the message says why."""


@dataclass
class Calibration:
    """The result: fitted values with 95 % intervals, the fit per period, and where it was written."""

    parameters: pd.DataFrame  # key, estimate, low, high
    fit: pd.DataFrame  # period, observed, fitted, low, high, used_for_fit
    summary: dict[str, Any] = field(default_factory=dict)  # forecast errors, likelihood, evaluations, sBG
    out: Path | None = None

    @property
    def estimate(self) -> dict[str, float]:
        return dict(zip(self.parameters.key, self.parameters.estimate))


@dataclass
class Plan:
    """A calibration checked and ready to run."""

    data: Data
    raw: DictConfig
    params: list[f.Parameter]
    used: int
    period_ticks: int
    settings: dict[str, Any]


@dataclass(frozen=True)
class Search:
    """How hard the calibration searches: `trials` Optuna TPE candidates, `refine` Nelder–Mead
    evaluations after them, `replicates` simulated replicates per candidate (common random
    numbers), `bands` parameter draws for the 95 % band, `seed` the search's seed (the
    scenario's own seed is the config key ``seed``)."""

    trials: int = 40
    refine: int = 60
    replicates: int = 1
    bands: int = 200
    seed: int = 0


def prepare(data: str | Path, fit: Sequence[str] | None = None, holdout: int = 0, period_ticks: int = 12,
            overrides: Sequence[str] = (), config_dir: str | Path | None = None, search: Search = Search()) -> Plan:
    """Read the data and check every option against it and the schema; nothing is written."""
    observed = read_data(data)
    for name, value, low in (("--holdout", holdout, 0), ("--period-ticks", period_ticks, 1),
                             ("--trials", search.trials, 1), ("--refine", search.refine, 0),
                             ("--replicates", search.replicates, 1), ("--bands", search.bands, 0),
                             ("--seed", search.seed, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"invalid option: {name} = {value!r}; allowed: an integer >= {low}")
    used = observed.periods - holdout
    if used < 1:
        raise ConfigError(f"invalid option: --holdout {holdout} leaves nothing to fit ({observed.periods} "
                          f"{'periods after period 0' if isinstance(observed, Survival) else 'points'} in "
                          f"{observed.source}); allowed: at most {observed.periods - 1}")
    extra = []
    base = compose_config(list(overrides), config_dir)
    kind = validate(base).customers.propensity
    if isinstance(observed, Survival) and not fit and kind == "none":
        extra.append("customers.propensity=beta")  # survival data without --fit: the sBG family (docs)
        kind = "beta"
    if isinstance(observed, Survival) and kind == "beta":
        extra.append(f"customers.period_ticks={period_ticks}")  # θ_i is a probability per data period
    need = f.horizon(observed, period_ticks)
    raw = compose_config([*overrides, *extra, f"horizon={need}"], config_dir)
    cfg = validate(raw)
    params = f.parameters(list(fit) if fit else f.default_fit(observed, cfg))
    f.check_used(params, cfg)
    if used < len(params):
        raise ConfigError(f"invalid option: {used} usable {'periods' if isinstance(observed, Survival) else 'points'}"
                          f" in {observed.source} for {len(params)} fitted keys; allowed: at least as many usable "
                          "periods as keys (a smaller --holdout or fewer --fit keys)")
    for param in params:  # every candidate must be a valid config: check both ends of each range
        for bound in (param.low, param.high):
            f.with_values(raw, {param.key: bound})
    digest = hashlib.sha256(Path(data).read_bytes()).hexdigest()
    settings = {"data": str(Path(data).resolve()), "data_sha256": digest, "fit": [f"{p.key}={p.low:g}:{p.high:g}"
                                                                                   for p in params],
                "holdout": holdout, "period_ticks": period_ticks, "overrides": list(overrides),
                "config_dir": str(Path(config_dir).resolve()) if config_dir else None, **asdict(search)}
    return Plan(observed, raw, params, used, period_ticks, settings)


def calibrate(data: str | Path, *, out: str | Path, fit: Sequence[str] | None = None, holdout: int = 0,
              period_ticks: int = 12, overrides: Sequence[str] = (), config_dir: str | Path | None = None,
              search: Search = Search(), progress: bool = False) -> Calibration:
    """Calibrate the model to the data file `data` and write the results to `out`.

    `fit`: ``KEY=LOW:HIGH`` entries (default: docs/calibration.md); `holdout`: the last periods
    (or points) not used for fitting, reported as a forecast test; `period_ticks`: ticks per
    period of a survival table; `overrides`/`config_dir`: the scenario, as for ``marktsim``;
    `search`: how hard to search (`Search`: candidates, refinement, replicates, band draws,
    seed).
    """
    plan = prepare(data, fit, holdout, period_ticks, overrides, config_dir, search)
    folder = Path(out)
    done = _finished(folder, plan.settings)
    if done is not None:
        return done
    lock = _claim(folder, plan.settings)
    try:
        result = _run(plan, folder, progress)
    finally:
        lock.close()
    return result


# --------------------------------------------------------------------------- the folder

def _finished(folder: Path, settings: dict) -> Calibration | None:
    """The saved result when `folder` holds this calibration, complete."""
    if not ((folder / MARKER).is_file() and (folder / SETTINGS).is_file()):
        return None
    if json.loads((folder / SETTINGS).read_text()) != json.loads(json.dumps(settings)):
        return None  # _claim refuses it
    summary = json.loads((folder / "result.json").read_text())
    return Calibration(pd.read_csv(folder / "parameters.csv"), pd.read_csv(folder / "fit.csv"), summary, folder)


def _claim(folder: Path, settings: dict):
    """Create or reopen the output folder (store.claim_folder); returns its lock."""
    try:
        return store.claim_folder(folder, settings, SETTINGS, "--out", "marktsim-calibrate")
    except store.FolderTaken as exc:
        raise CalibrationError(str(exc)) from None


def _load_cache(folder: Path) -> dict:
    cache: dict = {}
    path = folder / EVALUATIONS
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # a line cut off by a kill: simulated again
                continue
            cache[tuple(entry["values"])] = (entry["nll"], entry["curve"])
    return cache


def _recorder(folder: Path):
    def record(key: tuple[float, ...], value: float, curve: list[float]) -> None:
        store.record_line(folder / EVALUATIONS, {"values": list(key), "nll": value, "curve": curve})
    return record


# --------------------------------------------------------------------------- the run

def _run(plan: Plan, folder: Path, progress: bool) -> Calibration:
    import optuna

    s = plan.settings
    reps = list(range(s["replicates"]))
    # every candidate is a full simulation: load the compiled engine once if the whole run repays it
    prepare_engine(validate(plan.raw), (s["trials"] + s["refine"] + s["bands"]) * len(reps))
    objective = f.Objective(plan.raw, plan.data, plan.params, plan.period_ticks, plan.used, reps,
                            _load_cache(folder), _recorder(folder))
    d = len(plan.params)
    bar = _bar(progress, s["trials"] + s["refine"] + 1 + 4 * d + 2 * d * (d - 1) + s["bands"])

    # 1. global search: Optuna TPE, resumable from study.db (proposals seeded by completed trials)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{(folder / 'study.db').resolve()}",
                                         engine_kwargs={"connect_args": {"timeout": 60}})
    study = optuna.create_study(storage=storage, study_name=STUDY, direction="minimize", load_if_exists=True)
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)  # cut off by a kill
    while True:
        done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        _advance(bar, done)
        if done >= s["trials"]:
            break
        child = int(np.random.SeedSequence(s["seed"], spawn_key=(done,)).generate_state(1)[0])
        study.sampler = optuna.samplers.TPESampler(seed=child, n_startup_trials=min(10, s["trials"]))
        trial = study.ask()
        values = [trial.suggest_float(p.key, p.low, p.high, log=p.log) for p in plan.params]
        study.tell(trial, objective(values))
    start = [study.best_trial.params[p.key] for p in plan.params]

    # 2. refinement (Nelder–Mead on the logit scale; its evaluations come from the cache when resumed)
    counter = _Counting(objective, bar, s["trials"])
    estimate = f.refine(counter, start, s["refine"]) if s["refine"] else np.array(start)
    # 3. intervals: Laplace approximation, inflated by the simulation's own sampling error
    data = plan.data
    simulated = int(validate(plan.raw).market.n_customers) * len(reps)
    inflation = 1.0 + (data.cohort / simulated if isinstance(data, Survival) else 0.0)
    approx = f.laplace(counter, estimate, inflation)
    intervals = approx.interval(plan.params)
    # 4. the fit and its band (parameter draws, each on a replicate of its own)
    curve = objective.curve(estimate)
    rng = np.random.default_rng(np.random.SeedSequence(s["seed"], spawn_key=(10**6,)))
    draws = approx.draw(plan.params, rng, s["bands"])
    band = np.empty((0, curve.shape[0]))
    if s["bands"]:
        band = f.predictive_band(objective, draws, rng, 1000 + len(reps), data.cohort if isinstance(data, Survival)
                                 else 0)
        _advance(bar, bar.total if bar else 0)
    if bar is not None:
        bar.close()
    result = _tables(plan, estimate, intervals, curve, band, approx)
    result.summary["evaluations"] = len(objective.cache)
    result.summary["nll"] = objective(list(estimate))
    _write(plan, folder, result)
    return result


class _Counting:
    """The objective, advancing the progress bar on each call."""

    def __init__(self, objective: f.Objective, bar, start: int):
        self.objective, self.bar, self.calls, self.start = objective, bar, 0, start
        self.params = objective.params

    def __call__(self, values):
        return self.objective(values)

    def of_unit(self, z):
        self.calls += 1
        _advance(self.bar, self.start + self.calls)
        return self.objective.of_unit(z)


def _bar(progress: bool, total: int):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="calibrate", unit="sim", leave=False, file=sys.stderr)


def _advance(bar, n: int) -> None:
    if bar is not None:
        bar.n = min(n, bar.total)
        bar.refresh()


def _tables(plan: Plan, estimate: np.ndarray, intervals: list[tuple[float, float]], curve: np.ndarray,
            band: np.ndarray, approx: f.Laplace) -> Calibration:
    data = plan.data
    parameters = pd.DataFrame({"key": [p.key for p in plan.params], "estimate": estimate,
                               "low": [lo for lo, _ in intervals], "high": [hi for _, hi in intervals]})
    if isinstance(data, Survival):
        period = np.arange(data.periods + 1)
        observed = data.survivors.astype(float)
        fitted = curve * data.cohort
        used = period <= plan.used
    else:
        period = data.ticks
        observed = data.values
        fitted = curve
        used = np.arange(data.periods) < plan.used
    low = np.percentile(band, 2.5, axis=0) if band.shape[0] else np.full(fitted.shape, np.nan)
    high = np.percentile(band, 97.5, axis=0) if band.shape[0] else np.full(fitted.shape, np.nan)
    table = pd.DataFrame({"period": period, "observed": observed, "fitted": fitted, "low": low, "high": high,
                          "used_for_fit": used})
    summary: dict[str, Any] = {"kind": "survival" if isinstance(data, Survival) else "series",
                               "intervals": "laplace" if approx.covariance is not None else "none (flat likelihood)",
                               "at_edge": [p.key for p, v in zip(plan.params, estimate)
                                           if min(v - p.low, p.high - v) < 0.01 * (p.high - p.low)]}
    holdout = ~used
    if isinstance(data, Survival):
        holdout[0] = False
    if holdout.any():
        summary["forecast_mape"] = f.mape(observed[holdout], fitted[holdout])
        summary["fit_mape"] = f.mape(observed[used][1:] if isinstance(data, Survival) else observed[used],
                                     fitted[used][1:] if isinstance(data, Survival) else fitted[used])
    if isinstance(data, Survival):
        a, b = f.sbg_fit(data.survivors, plan.used)
        from marktsim.analysis.reductions import sbg_survival

        sbg = sbg_survival(a, b, data.periods) * data.cohort
        summary["sbg"] = {"alpha": a, "beta": b, "fitted": sbg.tolist()}
        if holdout.any():
            summary["sbg_forecast_mape"] = f.mape(observed[holdout], sbg[holdout])
    return Calibration(parameters, table, summary)


# --------------------------------------------------------------------------- outputs

def calibrated_config(plan: Plan, estimate: dict[str, float]) -> str:
    """calibrated.yaml: an experiment file (``@package _global_``) with every key the scenario
    sets differently from marktsim's defaults and the fitted values."""
    default = flatten(plain_raw(compose_config()))
    mine = flatten(plain_raw(plan.raw))
    values = {k: v for k, v in mine.items() if default.get(k) != v and k not in ("horizon",)}
    values.update({k: float(v) for k, v in estimate.items()})
    nested: dict[str, Any] = {}
    for key, value in sorted(values.items()):
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    header = ("# @package _global_\n# Calibrated by marktsim-calibrate to " + Path(plan.settings["data"]).name +
              " (docs/calibration.md). Use it with\n#   marktsim --config-dir <this folder> experiment=calibrated\n"
              "#   marktsim-optimize --config-dir <this folder> experiment=calibrated --study <folder>\n")
    return header + OmegaConf.to_yaml(OmegaConf.create(nested))


def _write(plan: Plan, folder: Path, result: Calibration) -> None:
    from marktsim.calibration.report import figure, report

    result.out = folder
    store.atomic_write(folder / "parameters.csv", lambda p: result.parameters.to_csv(p, index=False))
    store.atomic_write(folder / "fit.csv", lambda p: result.fit.to_csv(p, index=False))
    text = calibrated_config(plan, result.estimate)
    store.write_text(folder / "calibrated.yaml", text)
    (folder / "experiment").mkdir(exist_ok=True)
    store.write_text(folder / "experiment" / "calibrated.yaml", text)
    figure(plan, result, folder / "fit.png")
    store.write_text(folder / "report.md", report(plan, result))
    store.write_json(folder / "result.json", _json_safe(result.summary))
    store.write_text(folder / MARKER, "complete\n")


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
