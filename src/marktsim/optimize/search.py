"""The search: an Optuna study over budget and ρ (and optionally targeting, service priority and
campaign timing) that maximises the focal firm's expected NPV, optionally under a churn ceiling.

Every trial runs the same replicates 0…R−1 (common random numbers: two settings are compared
on the same luck). The study lives in SQLite; a rerun of the same command continues it.
Proposals are reproducible: the sampler of the k-th completed trial is seeded from
(seed, k), so a resumed study proposes what an uninterrupted one would have.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from marktsim.config import SCHEMA, ConfigError, one_thread_in_workers, plain, plain_raw, validate

STUDY = "marktsim"
TUNABLE = ("targeting", "priority", "campaign")


@dataclass(frozen=True)
class Space:
    """What the optimiser may change: numeric ranges (low == high: fixed) and extra choices."""

    budget_key: str  # firm.budget_share or firm.budget
    budget: tuple[float, float]
    rho: tuple[float, float]
    tune: tuple[str, ...] = ()
    campaign_max: int = 0  # last possible campaign start (campaign tuning)

    def parameters(self) -> list[str]:
        out = []
        if self.budget[0] < self.budget[1]:
            out.append(self.budget_key)
        if self.rho[0] < self.rho[1]:
            out.append("strategy.retention_share")
        out += [{"targeting": "firm.targeting", "priority": "firm.priority",
                 "campaign": "strategy.campaign_start"}[t] for t in self.tune]
        return out

    def suggest(self, trial) -> dict[str, object]:
        """The config values of one trial."""
        values: dict[str, object] = {}
        for key, (low, high) in ((self.budget_key, self.budget), ("strategy.retention_share", self.rho)):
            values[key] = trial.suggest_float(key, low, high) if low < high else low
        if "targeting" in self.tune:
            values["firm.targeting"] = trial.suggest_categorical("firm.targeting", list(SCHEMA["firm.targeting"].choices))
        if "priority" in self.tune:
            values["firm.priority"] = trial.suggest_categorical("firm.priority", list(SCHEMA["firm.priority"].choices))
        if "campaign" in self.tune:
            start = trial.suggest_int("strategy.campaign_start", 0, self.campaign_max)
            values["strategy.campaign_start"] = None if start == 0 else start  # 0: no campaign
        return values


def parse_range(text: str, name: str, key: str) -> tuple[float, float]:
    """``low:high`` (or one number: fixed), within the schema's range of `key`."""
    parts = text.split(":")
    try:
        low, high = (float(parts[0]), float(parts[-1])) if len(parts) in (1, 2) else (math.nan, math.nan)
    except ValueError:
        low = high = math.nan
    param = SCHEMA[key]
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ConfigError(f"invalid option: {name} = {text!r}; allowed: low:high with low <= high "
                          f"(or one number), within {param.allowed()}")
    for bound in (low, high):
        if (param.low is not None and bound < param.low) or (param.high is not None and bound > param.high):
            raise ConfigError(f"invalid option: {name} = {text!r}: {bound:g} is out of range; allowed: {param.allowed()}")
    return low, high


def make_space(raw: DictConfig, budget_share: str | None, budget: str | None, rho: str, tune: str) -> Space:
    """Check the options against the scenario and build the search space."""
    if budget_share is not None and budget is not None:
        raise ConfigError("invalid option: give --budget-share or --budget, not both")
    tuned = tuple(t.strip() for t in tune.split(",") if t.strip()) if tune else ()
    bad = [t for t in tuned if t not in TUNABLE]
    if bad:
        raise ConfigError(f"invalid option: --tune {tune!r}: {bad[0]!r} is not tunable; allowed: a comma-separated "
                          f"subset of {', '.join(TUNABLE)}")
    campaign_max = 0
    valid = validate(raw)
    if "campaign" in tuned:
        length, boost = int(valid.strategy.campaign_length), float(valid.strategy.campaign_boost)
        if length < 1 or boost <= 0:
            raise ConfigError(f"invalid option: --tune campaign with strategy.campaign_length = {length} and "
                              f"strategy.campaign_boost = {boost:g}; allowed: both above 0 (the campaign to time)")
        campaign_max = max(1, int(valid.horizon) - length + 1)
    if budget is not None:
        return Space("firm.budget", parse_range(budget, "--budget", "firm.budget"), parse_range(rho, "--rho", "strategy.retention_share"), tuned, campaign_max)
    if budget_share is None:
        budget_share = "0.02:0.2"
    derived = plain_raw(raw.firm)["budget"]
    if not (isinstance(derived, str) and "derived:budget" in derived):
        raise ConfigError(f"invalid option: --budget-share with firm.budget = {derived!r} set in the scenario; "
                          "allowed: --budget low:high (currency per tick), or leave firm.budget derived")
    return Space("firm.budget_share", parse_range(budget_share, "--budget-share", "firm.budget_share"),
                 parse_range(rho, "--rho", "strategy.retention_share"), tuned, campaign_max)


def point_config(raw: DictConfig, values: dict[str, object]) -> DictConfig:
    """The validated config of the scenario with `values` set."""
    cfg = OmegaConf.create(plain_raw(raw))
    for key, value in values.items():
        OmegaConf.update(cfg, key, value, merge=False)
    return validate(cfg)


# a worker runs replicates of many trials: the engine is chosen for this many runs of a config
WORKER_RUNS = 64


def _replicate(args: tuple[dict, int]) -> tuple[int, float, float, float]:
    """Focal NPV, annual churn and marketing spend per month of one replicate (runs in a
    worker process)."""
    from marktsim.model import prepare_engine
    from marktsim.optimize.answer import spend_per_month
    from marktsim.simulation import run_replicate

    container, r = args
    one_thread_in_workers()
    cfg = OmegaConf.create(container)
    prepare_engine(cfg, runs=WORKER_RUNS)
    summary = run_replicate(cfg, r).summary
    focal = summary[summary.firm == "focal"].iloc[0]
    return r, float(focal.npv), float(focal.churn_annual), spend_per_month(summary, int(cfg.horizon))


class Evaluator:
    """Runs replicates of a config, in `jobs` worker processes (1: in this process)."""

    def __init__(self, jobs: int = 1):
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, cfg: DictConfig, replicates: list[int]) -> pd.DataFrame:
        container = plain(cfg)
        tasks = [(container, r) for r in replicates]
        if self.jobs > 1:
            if self._pool is None:
                import multiprocessing

                self._pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"))
            pool = self._pool
            assert pool is not None
            rows = list(pool.map(_replicate, tasks))
        else:
            rows = [_replicate(t) for t in tasks]
        return pd.DataFrame(rows, columns=["replicate", "npv", "churn_annual", "spend_month"])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


@dataclass
class Settings:
    """Everything that defines a study (a rerun must match it to continue the study)."""

    overrides: list[str]
    config_dir: str | None
    space: dict
    replicates: int
    churn_max: float | None
    seed: int
    config: dict = field(default_factory=dict)  # the scenario, resolved

    def as_dict(self) -> dict:
        return asdict(self)


def _sampler(seed: int, completed: int):
    import optuna

    child = np.random.SeedSequence(seed, spawn_key=(completed,)).generate_state(1)[0]
    return optuna.samplers.TPESampler(seed=int(child), n_startup_trials=10, multivariate=True)


def open_study(url: str, seed: int, completed: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # wait up to a minute for a lock held by a reader (e.g. optuna-dashboard on the same file)
    storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    return optuna.create_study(storage=storage, study_name=STUDY, direction="maximize", load_if_exists=True,
                               sampler=_sampler(seed, completed))


def fail_interrupted(study) -> int:
    """Trials left RUNNING by a killed process are marked failed. They are not queued again:
    the next proposal is seeded by the number of completed trials and sees the same history,
    so it is exactly the proposal the killed trial had (which may have been cut off halfway)."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        study.tell(trial.number, state=TrialState.FAIL)
    return len(stale)


def completed_trials(study) -> list:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


REFUSED_IN_A_ROW = 25  # settings refused one after another before the search gives up


def run_trials(url: str, raw: DictConfig, space: Space, settings: Settings, n_trials: int, evaluate: Evaluator,
               on_trial: Callable[[int, dict, float, float], None] | None = None) -> int:
    """Run trials until the study has `n_trials` completed ones; return how many this call ran.
    `on_trial(done, values, npv, churn)` is called after each."""
    from optuna.trial import TrialState

    study = open_study(url, settings.seed, 0)
    fail_interrupted(study)
    ran = refused = 0
    reps = list(range(settings.replicates))
    while True:
        done = len(completed_trials(study))
        if done >= n_trials:
            return ran
        study = open_study(url, settings.seed, done)
        trial = study.ask()
        values = space.suggest(trial)
        try:
            runs = evaluate(point_config(raw, values), reps)
        except ConfigError as exc:  # a setting the model does not allow: recorded, not fatal
            trial.set_user_attr("error", str(exc))
            study.tell(trial, state=TrialState.FAIL)
            refused += 1
            if refused >= REFUSED_IN_A_ROW:
                raise ConfigError(f"{refused} settings in a row were refused, the last with: {exc}; allowed: a "
                                  "search space (optimize.space) whose settings the model accepts") from None
            continue
        except BaseException:
            study.tell(trial, state=TrialState.FAIL)
            raise
        npv = float(runs.npv.mean())
        trial.set_user_attr("npv_se", float(runs.npv.std(ddof=1) / math.sqrt(len(runs))) if len(runs) > 1 else math.nan)
        trial.set_user_attr("churn_annual", float(runs.churn_annual.mean()))
        if settings.churn_max is not None:  # feasible when <= 0: TPE then prefers feasible settings
            trial.set_constraint("churn", float(runs.churn_annual.mean()) - settings.churn_max)
        study.tell(trial, npv)
        ran, refused = ran + 1, 0
        if on_trial is not None:
            on_trial(done + 1, values, npv, float(runs.churn_annual.mean()))


def trials_table(study, churn_max: float | None) -> pd.DataFrame:
    """One row per completed trial: its parameters, mean NPV, its standard error, churn, feasibility."""
    from optuna.trial import TrialState

    frame = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "state"))
    if frame.empty:
        return pd.DataFrame()
    frame = frame[frame.state == TrialState.COMPLETE.name].drop(columns=["state"])
    frame = frame.rename(columns=lambda c: c.removeprefix("params_").removeprefix("user_attrs_"))
    frame = frame.rename(columns={"number": "trial", "value": "npv"})
    params = [c for c in frame.columns if c not in ("trial", "npv", "npv_se", "churn_annual", "error")]
    frame = frame[["trial", *params, "npv", "npv_se", "churn_annual"]].reset_index(drop=True)
    frame["feasible"] = True if churn_max is None else frame.churn_annual <= churn_max
    return frame


def best_values(table: pd.DataFrame, space: Space) -> dict[str, object] | None:
    """The config values of the best feasible trial (None when no trial is feasible)."""
    feasible = table[table.feasible]
    if feasible.empty:
        return None
    row = feasible.loc[feasible.npv.idxmax()]
    values: dict[str, object] = {}
    for key, (low, high) in ((space.budget_key, space.budget), ("strategy.retention_share", space.rho)):
        values[key] = float(row[key]) if low < high else low
    for key in space.parameters():
        if key in values:
            continue
        value = row[key]
        if key == "strategy.campaign_start":
            value = None if int(value) == 0 else int(value)
        values[key] = value
    return values
