"""The ``marktsim`` command: a Hydra app that runs one job per (multi)run configuration.

    marktsim                                   # the defaults
    marktsim experiment=retention_vs_acquisition
    marktsim -m strategy=retention_heavy,acquisition_heavy 'seed=range(0,5)'
    marktsim replicates=30 hydra/launcher=joblib ...

Each job validates its config, runs ``replicates`` spawned replicates and writes its folder
(see ``marktsim.experiments.store``). An invalid config prints one line naming the key, the
value and what is allowed, exits with status 2 and leaves no job folder behind.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from marktsim.config import (
    CONFIG_DIR,
    SCHEMA,
    ConfigError,
    compose_config,
    composer,
    config_yaml,
    engine_setting,
    flatten,
    job_key,
    plain,
    plain_raw,
    register_schema,
    threads_setting,
    unreadable_override,
    validate,
)
from marktsim.experiments import compose_cache, store
from marktsim.extras import require_launcher
from hydra_plugins.marktsim_launchers import launchers

compose_cache.install()  # a sweep's job configs composed once per shape (compose_cache.py)


class JobFailed(Exception):
    """A job could not start; the message is meant for the user."""


class JobError(RuntimeError):
    """A job raised while running; it is recorded in its folder and in the sweep's index."""


CWD_ENV = "MARKTSIM_CWD"  # the directory the command was started in (for jobs run elsewhere)

# keys that do not change results: a resumed job may differ in them
_COSMETIC = ("progress", "results_dir")


def _same_config(saved: DictConfig, new: DictConfig) -> bool:
    """Whether a saved job's config is the new one. Keys the saved config lacks (it was written
    by an older marktsim) count as equal when the new value is the key's default: keys are added
    with defaults that keep the earlier behaviour."""
    from marktsim.config import flatten

    a, b = flatten(OmegaConf.to_container(saved)), flatten(OmegaConf.to_container(new))
    for key in _COSMETIC:
        a.pop(key, None)
        b.pop(key, None)
    if a == b:
        return True
    added = set(b) - set(a)
    if set(a) - set(b) or any(a[k] != b[k] for k in a):
        return False
    from marktsim.config import load_config

    defaults = flatten(OmegaConf.to_container(load_config()))
    return all(key in defaults and b[key] == defaults[key] for key in added)


def _resume_state(folder: Path, valid: DictConfig) -> str:
    """'fresh' (nothing usable there), 'done' (complete with this config) — or raise JobFailed
    if a complete job with another config is in the way (it is never overwritten)."""
    if not (folder / store.MARKER).is_file():
        return "fresh"
    try:
        saved = OmegaConf.load(folder / "config.yaml")
    except (OSError, ValueError) as exc:
        raise JobFailed(f"{folder} is marked complete but its config.yaml cannot be read ({exc}); "
                        "move it away to rerun the job") from None
    if isinstance(saved, DictConfig) and _same_config(saved, valid):
        return "done"
    raise JobFailed(f"{folder} holds a complete job with a different config; it is never overwritten: "
                    "run into another folder (hydra.sweep.dir=... / hydra.run.dir=...)")


def _remove_empty_job(folder: Path, root: Path) -> None:
    """Remove a job folder this process created and wrote nothing final to, and any parents
    that became empty, up to (not including) the results root."""
    if folder.is_dir() and not (folder / store.MARKER).exists():
        shutil.rmtree(folder, ignore_errors=True)
    parent = folder.parent
    root = root.resolve()
    while parent.resolve() != root and root in parent.resolve().parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


SWEEP_PID = "MARKTSIM_SWEEP_PID"


def _sweep_watch(hc) -> Callable[[], None] | None:
    """For a job in one of joblib's worker processes: a check, made every tick and just before
    the job writes, that the sweep's process (the worker's parent, which holds the sweep
    folder's lock; its id is in the environment the workers inherit) still runs. A worker whose
    parent was killed (SIGKILL leaves joblib's workers running for minutes, and they go on to
    jobs already handed to them) has been adopted by another process: it stops at once, exit
    code 3, writing nothing, so it cannot race a rerun of the sweep. None for other launchers
    (a single run, the sequential launcher, Ray or SLURM, whose jobs are not children)."""
    if "JoblibLauncher" not in str(hc.launcher.get("_target_", "")):
        return None
    parent = int(os.environ.get(SWEEP_PID, os.getppid()))

    def check() -> None:
        if os.getppid() != parent:
            os._exit(3)

    return check


def _one_process(hc) -> bool:
    """Whether this job's bar is the only one on the terminal: a single run, or a sweep whose
    jobs run one after another in this process (Hydra's basic launcher). Jobs of a parallel
    launcher (joblib, Ray, SLURM) share the terminal: a bar each would overwrite the others'."""
    return hc.mode.name != "MULTIRUN" or "BasicLauncher" in str(hc.launcher.get("_target_", ""))


def _progress_enabled(setting: str) -> bool:
    if setting == "on":
        return True
    if setting == "off":
        return False
    return sys.stderr.isatty()


def run_job(cfg: DictConfig) -> Path:
    """Validate, simulate and write one job; return its folder."""
    hc = HydraConfig.get()
    folder = Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    results_root = Path(str(cfg.get("results_dir", "results")))
    try:
        valid = validate(cfg)
        points = _design_points(cfg, valid)
    except ConfigError:
        _remove_empty_job(folder, results_root)
        raise
    key = job_key(hc.job.override_dirname)
    if _resume_state(folder, valid) == "done":
        store.publish(folder, key)  # in case the earlier run stopped between marker and dataset
        print(f"marktsim: {key}: complete already, skipped", file=sys.stderr)
        store.record_index(folder.parent, {"key": key, "status": "skipped"})
        return folder
    store.clear_partial(folder)
    store.write_json(folder / store.JOB_FILE, {"key": key, "overrides": overrides, "status": "running"})
    try:
        return _simulate_job(valid, hc, folder, key, overrides, points)
    except Exception as exc:  # recorded, then re-raised so that Hydra reports it after the other jobs
        summary = store.record_failure(folder, exc)
        store.write_json(folder / store.JOB_FILE, {"key": key, "overrides": overrides, "status": "failed",
                                                  "error": summary})
        store.record_index(folder.parent, {"key": key, "status": "failed", "error": summary})
        raise JobError(f"job {key} failed: {summary} (details: {folder / store.FAILED})") from exc


def _design_points(cfg: DictConfig, valid: DictConfig, check_only: bool = False) -> list[tuple[int, DictConfig, dict]] | None:
    """For a design or sensitivity job: (point, validated config, values) of every point of its chunk.

    With `check_only` (the pre-check of a whole sweep) a sensitivity chunk is checked by its
    first and last point: its values lie within the schema's ranges by construction."""
    if valid.sensitivity.method is not None:
        from marktsim.experiments import sensitivity

        rows = sensitivity.chunk_points(valid.sensitivity, int(valid.design.chunk))
        if check_only:
            rows = rows.iloc[[0, -1]]
        to_values, source = sensitivity.values, f"the {valid.sensitivity.method} sample"
    elif valid.design.file is not None:
        from marktsim.experiments.design import point_overrides, read_design

        path = Path(str(valid.design.file)).expanduser()
        if not path.is_absolute() and os.environ.get(CWD_ENV):
            path = Path(os.environ[CWD_ENV]) / path  # a job on another worker (Ray): the command's directory
        design = read_design(path)
        rows = design[design.chunk == valid.design.chunk]
        if rows.empty:
            raise ConfigError(f"invalid config: design.chunk = {valid.design.chunk}; allowed: 0 to "
                              f"{int(design.chunk.max())} for {valid.design.file}")
        to_values, source = point_overrides, str(valid.design.file)
    else:
        return None
    points = []
    for _, row in rows.iterrows():
        values = to_values(row)
        point_cfg = OmegaConf.create({k: v for k, v in plain_raw(cfg).items() if k != "hydra"})
        for name, value in values.items():
            OmegaConf.update(point_cfg, name, value, merge=False)
        try:
            points.append((int(row.point), validate(point_cfg), values))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (design point {int(row.point)} of {source})") from None
    return points


def _simulate_job(valid: DictConfig, hc, folder: Path, key: str, overrides: list[str],
                  points: list[tuple[int, DictConfig, dict]] | None = None) -> Path:
    """Run the replicates of one validated job (each point of its design chunk, if any) and write its folder."""
    from marktsim.model import prepare_engine
    from marktsim.results import Results
    from marktsim.simulation import run_replicate

    reps = int(valid.replicates)
    runs = [(None, valid)] if points is None else [(point, point_cfg) for point, point_cfg, _ in points]
    prepare_engine(valid, reps * len(runs))  # numba is loaded once, if the job is long enough to repay it
    started = time.time()
    bar = None
    show = _progress_enabled(valid.progress)
    label = f"job {hc.job.num}" if hc.mode.name == "MULTIRUN" else "run"
    if show and _one_process(hc):
        from tqdm import tqdm

        total = sum(reps * int(c.horizon) for _, c in runs)
        bar = tqdm(total=total, desc=label, unit="tick", leave=False)
    watch = _sweep_watch(hc)

    def on_tick() -> None:
        if watch is not None:
            watch()
        if bar is not None:
            bar.update()

    parts = []
    try:
        for point, run_cfg in runs:
            for r in range(reps):
                part = run_replicate(run_cfg, r, on_tick if watch is not None or bar is not None else None)
                if point is not None:  # design points: a `point` column after `replicate`
                    for name in ("timeseries", "segments", "summary"):
                        getattr(part, name).insert(1, "point", point)
                parts.append(part)
    finally:
        if bar is not None:
            bar.close()
    results = Results.concat(parts)
    if points is not None:
        import pandas as pd

        table = pd.DataFrame([{"point": p, **values} for p, _, values in points])
        store.atomic_write(folder / "design.csv", lambda path: table.to_csv(path, index=False))
    meta = {
        "key": key,
        "overrides": overrides,
        "seed": int(valid.seed),
        "replicates": reps,
        "horizon": int(valid.horizon),
        "wall_time_s": round(time.time() - started, 3),
        "versions": store.versions(),
        "git_commit": store.git_commit(Path(__file__).resolve().parent),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if watch is not None:
        watch()  # the last moment a worker whose sweep has ended can stop before writing
    store.write_job(folder, results, config_yaml(valid), meta)
    store.publish(folder, key)
    store.record_index(folder.parent, {"key": key, "status": "complete", "wall_time_s": meta["wall_time_s"]})
    if show and hc.mode.name == "MULTIRUN":  # one whole line per job, with its whole key: lines never overwrite
        print(f"marktsim: {label} complete in {meta['wall_time_s']:.1f} s: {key}", file=sys.stderr, flush=True)
    return folder


def _register_ray_launcher() -> None:
    """``hydra/launcher=ray``: hydra-ray-launcher's config, with one workaround and one default.

    The plugin (1.2.2) sets ``ray.init.object_store_memory`` to 75 MB unless the key exists,
    and Ray 2.x refuses any object_store_memory when joining an existing cluster: the key is
    set to null here (Ray's own default). Each job is one task on one core (``num_cpus: 1``).
    ``ray.init.address`` null means RAY_ADDRESS if set, else a new local Ray instance.
    The plugin's ``ray_aws`` launcher is removed (see below).
    """
    try:
        from hydra_plugins.hydra_ray_launcher._config import RayLauncherConf
    except ImportError:  # the optional Ray extra is not installed
        return
    from hydra.core.config_store import ConfigStore

    node = OmegaConf.structured(RayLauncherConf)
    node.ray.init.object_store_memory = None
    node.ray.remote.num_cpus = 1
    store = ConfigStore.instance()
    store.store(group="hydra/launcher", name="ray", node=node, provider="marktsim")
    # The plugin's ray_aws launcher (clusters it creates on AWS) is not offered: Hydra deep-copies
    # every stored config several times per command, and this large one costs ~0.15 s of start-up.
    store.repo.get("hydra", {}).get("launcher", {}).pop("ray_aws.yaml", None)


_register_ray_launcher()
register_schema()  # the structured base config that configs/config.yaml names first
launchers.register()  # Hydra's basic and joblib launchers and basic sweeper, jobs started without copies


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _app(cfg: DictConfig) -> None:
    try:
        folder = run_job(cfg)
    except (ConfigError, JobFailed) as exc:
        print(f"marktsim: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    mode = HydraConfig.get().mode
    if mode is None or mode.name != "MULTIRUN":
        print(f"marktsim: results in {folder}")


_PASSTHROUGH = {"-m", "--multirun"}
_CONFIG_DIR_FLAGS = ("--config-dir", "-cd")


def _plain_args(args: list[str]) -> tuple[list[str], str | None] | None:
    """The arguments without ``--config-dir``/``-cd`` (and its folder), and that folder; None
    when other Hydra flags (``--help``, ``--cfg``, ...) are given: those are left to Hydra."""
    out: list[str] = []
    folder: str | None = None
    rest = iter(args)
    for a in rest:
        if a in _CONFIG_DIR_FLAGS:
            folder = next(rest, "")
        elif a.startswith("--config-dir="):
            folder = a.split("=", 1)[1]
        elif a.startswith("-") and a not in _PASSTHROUGH:
            return None
        else:
            out.append(a)
    return out, folder


def _one_line(exc: BaseException) -> str:
    """Hydra's multi-line composition errors as one line."""
    options = getattr(exc, "options", None)
    text = str(exc) + ("\n" + str(exc.__cause__) if exc.__cause__ else "")
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    skip = ("full_key:", "object_type=", "Config search path", "provider=", "To append", "Available options")
    lines = [ln.rstrip(".") for ln in lines if not ln.startswith(skip) and not (options and ln in options)]
    text = "; ".join(lines[:3]) if lines else type(exc).__name__
    if options:
        text += "; available: " + ", ".join(options)
    return text


_COMPOSED = 4  # a swept plain key with more values composes only its extremes (see precheck)


def _extremes(values: list[str], typed: list) -> list[str]:
    """The values of a long sweep that are composed in full: the first, the last, and for
    numbers the smallest and the largest."""
    keep = {0, len(values) - 1}
    numbers = [i for i, v in enumerate(typed) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers:
        keep |= {min(numbers, key=lambda i: typed[i]), max(numbers, key=lambda i: typed[i])}
    return [values[i] for i in sorted(keep)]


def _check_each(parser, key: str, values: list[str], flat: dict) -> list[str]:
    """Check every value of a long sweep of a plain key against its range and the checks across
    keys (``config.check_change``, microseconds a value); return the values to compose in full."""
    from marktsim.config import check_change

    typed = [parser.parse_overrides([f"{key}={v}"])[0].value() for v in values]
    for value in typed:
        check_change(flat, key, value)
    return _extremes(values, typed)


def precheck(args: list[str]) -> str | None:
    """Compose and validate the configurations a command will run before any job starts.

    Every value of every swept key is checked, with the other keys at their first value,
    including the sweeps an experiment file declares: config groups and short sweeps (up to 4
    values) by composing and validating the whole config for each value; a longer sweep of a
    plain key checks each value against its range and the checks across keys and composes only
    its first, last, smallest and largest values (a 10 000-value sweep in about 3 s). Returns a one-line
    error, or None when everything is valid or the arguments hold Hydra flags other than
    ``-m`` and ``--config-dir`` (``--help``, ``--cfg``, ... are left to Hydra).
    """
    require_launcher(args)
    plain_args = _plain_args(args)
    if plain_args is None:
        return None
    args, config_dir = plain_args
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    overrides = [a for a in args if a not in _PASSTHROUGH]
    task = [o for o in overrides if not o.lstrip("+~").startswith("hydra")]
    parser = OverridesParser.create()
    try:
        parsed = parser.parse_overrides(task)
    except OverrideParseException as exc:
        return str(unreadable_override(task, exc))
    try:
        first = [f"{p.get_key_element()}={next(iter(p.sweep_string_iterator()))}" if p.is_sweep_override() else o
                 for p, o in zip(parsed, task)]
        with composer(config_dir) as compose:
            base = compose(first, hydra_node=True)
            swept: dict[str, list[str]] = {}
            params = base.hydra.sweeper.get("params") or {}
            given = {p.get_key_element() for p in parsed}
            for key, value in params.items():
                if key not in given:
                    for p in parser.parse_overrides([f"{key}={value}"]):
                        swept[p.get_key_element()] = list(p.sweep_string_iterator()) if p.is_sweep_override() else [str(value)]
            for p in parsed:
                if p.is_sweep_override():
                    swept[p.get_key_element()] = list(p.sweep_string_iterator())
            fixed = [o for p, o in zip(parsed, task) if not p.is_sweep_override()]
            firsts = {k: v[0] for k, v in swept.items()}
            combos: list[list[str]] = [[]] if not swept else []
            flat_first: dict | None = None
            for key, values in swept.items():
                if len(values) > _COMPOSED and key in SCHEMA and not key.startswith("design."):
                    if flat_first is None:
                        flat_first = flatten(plain(validate(compose(fixed + [f"{k}={v}" for k, v in firsts.items()]))))
                    values = _check_each(parser, key, values, flat_first)
                for value in values:
                    combos.append([f"{k}={value if k == key else v}" for k, v in firsts.items()])
            for combo in combos:
                if combo:
                    composed = compose(fixed + combo)
                else:  # nothing swept: the config composed above, without its hydra node
                    composed = OmegaConf.create({k: v for k, v in plain_raw(base).items() if k != "hydra"})
                _design_points(composed, validate(composed), check_only=True)
    except ConfigError as exc:
        return str(exc)
    except Exception as exc:  # Hydra's override parser
        return "invalid config: " + _one_line(exc)
    return None


def absolute_paths(args: list[str]) -> list[str]:
    """Make a sweep's folder absolute, resolved here, before any job starts.

    Launchers that run jobs elsewhere (Ray workers, SLURM nodes) have another working
    directory and another clock: a relative ``hydra.sweep.dir``, or the default one with its
    timestamp, would be resolved there. The command's directory is passed on for relative
    design files. Single runs and Hydra's own flags are left alone."""
    plain_args = _plain_args(args)
    if plain_args is None:
        return args
    overrides, config_dir = plain_args
    sweep = any(a in _PASSTHROUGH for a in args) or "hydra.mode=MULTIRUN" in args
    if not sweep and not any(a.startswith("experiment=") for a in args):
        return args
    try:
        composed = _compose_hydra(overrides, config_dir)
    except Exception:  # left to Hydra to report
        return args
    if not sweep and str(composed.hydra.mode) != "RunMode.MULTIRUN":
        return args
    out = [a for a in args if not a.startswith(("hydra.sweep.dir=", f"++hydra.job.env_set.{CWD_ENV}="))]
    folder = str(OmegaConf.select(composed, "hydra.sweep.dir"))
    out.append(f"hydra.sweep.dir={Path(folder).expanduser().resolve()}")
    out.append(f"++hydra.job.env_set.{CWD_ENV}={Path.cwd()}")
    return out


def _compose_hydra(args: list[str], config_dir: str | None = None) -> DictConfig:
    """The composed config with its hydra node, for the first value of every swept key."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    overrides = [a for a in args if a not in _PASSTHROUGH]
    parsed = OverridesParser.create().parse_overrides(overrides)
    first = [f"{p.get_key_element()}={next(iter(p.sweep_string_iterator()))}" if p.is_sweep_override() else o
             for p, o in zip(parsed, overrides)]
    return compose_config(first, config_dir=config_dir, hydra_node=True)


def main() -> None:
    """Console entry point: check the whole command first, then hand it to Hydra."""
    try:
        engine_setting()
        threads_setting()
        problem = precheck(sys.argv[1:])
    except ConfigError as exc:
        problem = str(exc)
    if problem:
        print(f"marktsim: {problem}", file=sys.stderr)
        raise SystemExit(2)
    sys.argv[1:] = absolute_paths(sys.argv[1:])
    try:
        lock = hold_sweep(sys.argv[1:])
    except store.FolderTaken as exc:
        print(f"marktsim: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    os.environ[SWEEP_PID] = str(os.getpid())  # joblib's workers, started by Hydra below, inherit it
    try:
        _app()
    except KeyboardInterrupt:
        print("marktsim: interrupted; finished jobs are kept: rerun the same command to resume", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        if lock is not None:
            release_sweep(lock)
            sweep_summary(Path(lock.name).parent)


def sweep_summary(folder: Path) -> None:
    """The line a sweep ends with (on stdout): its folder, how many of its jobs are complete,
    failed or incomplete, and the command that reports on it. Nothing for a folder that holds no
    job (Hydra refused the command)."""
    if not folder.is_dir():
        return
    jobs = store.find_jobs(folder)
    if not jobs:
        return
    complete = sum(j.complete for j in jobs)
    failed = sum(j.failed for j in jobs)
    rest = len(jobs) - complete - failed
    print(f"marktsim: sweep {folder}: {complete} of {len(jobs)} jobs complete, {failed} failed, {rest} incomplete; "
          f"report: marktsim-report {folder}", flush=True)


SWEEP_LOCK = ".marktsim.lock"


def hold_sweep(args: list[str]):
    """Hold a sweep's folder for this process (an exclusive lock on its ``.marktsim.lock``,
    which names the holder's process id) until the returned file is closed or the process
    ends; a second ``marktsim`` writing into the same folder is refused, so two sweeps never
    mix their jobs' tables. None for a single run (its folder is new and its own)."""
    folders = [a.split("=", 1)[1] for a in args if a.startswith("hydra.sweep.dir=")]
    if not folders:
        return None
    folder = Path(folders[-1])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock, holder = store.take_lock(folder / SWEEP_LOCK)
    except OSError as exc:
        raise store.FolderTaken(f"sweep folder {folder} cannot be written ({exc.strerror}); "
                                "allowed: a folder you can write") from None
    if lock is None:
        raise store.FolderTaken(f"sweep folder {folder} is in use by another marktsim process (pid {holder}); "
                                "allowed: wait for it to end, or use another hydra.sweep.dir")
    return lock


def release_sweep(lock) -> None:
    """Let go of a sweep folder; a folder that holds nothing but the lock (Hydra stopped before
    any job) is removed, so a refused command leaves nothing behind."""
    folder = Path(lock.name).parent
    lock.close()
    try:
        if [p.name for p in folder.iterdir()] == [SWEEP_LOCK]:
            (folder / SWEEP_LOCK).unlink()
            folder.rmdir()
    except OSError:
        pass


if __name__ == "__main__":
    main()
