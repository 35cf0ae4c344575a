"""Job folders: atomic writes, completion markers, metadata, and reading them back.

A job folder holds ``job.json`` (written first: the job's key and overrides),
``timeseries.parquet``, ``segments.parquet``, ``summary.parquet``, ``config.yaml`` (the
resolved config), ``metadata.json`` and, written last, the completion marker ``COMPLETE``.
Every file is written under a temporary name and renamed into place, so a reader never
sees a half-written file; a folder without ``COMPLETE`` is an incomplete job.

Once complete, a job publishes its tables into the sweep's dataset: one Hive-partitioned
Parquet dataset per table, ``<sweep>/dataset/<table>/job=<key>/part-0.parquet`` (hard links
to the job's files, so no data is stored twice). Only complete jobs appear there, and each
partition appears at once (renamed into place), so pandas, pyarrow and DuckDB can read a
sweep of any size lazily, also while it is running::

    pd.read_parquet("<sweep>/dataset/summary", filters=[("firm", "==", "focal")])
    pyarrow.dataset.dataset("<sweep>/dataset/timeseries", partitioning="hive")
    duckdb.sql("SELECT job, avg(npv) FROM read_parquet('<sweep>/dataset/summary/*/*.parquet', "
               "hive_partitioning=true) GROUP BY job")
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

JOB_FILE = "job.json"
MARKER = "COMPLETE"
FAILED = "FAILED"
METADATA = "metadata.json"
INDEX = "index.jsonl"
TABLES = ("timeseries", "segments", "summary")
DATASET = "dataset"


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Write `path` via a temporary sibling and an atomic rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@cache
def git_commit(cwd: Path | None = None) -> str | None:
    """The current git commit, or None outside a checkout (asked once per process: every job of a
    sweep runs the same code)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions() -> dict[str, str]:
    """Versions of marktsim and the libraries that determine its results."""
    import mesa
    import numpy
    import pandas

    import marktsim

    return {
        "marktsim": marktsim.__version__,
        "mesa": mesa.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "python": platform.python_version(),
    }


def record_line(path: Path, entry: dict) -> None:
    """Append `entry` as one JSON line to `path`: one short O_APPEND write, so that parallel
    writers do not mix and a kill leaves at most the last line cut off."""
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def record_index(sweep: Path, entry: dict) -> None:
    """Append one line to the sweep's index (``index.jsonl``): a job started, completed,
    was skipped or failed."""
    record_line(sweep / INDEX, {**entry, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def record_failure(folder: Path, error: BaseException) -> str:
    """Write the job's error and traceback to its ``FAILED`` file; return a one-line summary."""
    import traceback

    summary = f"{type(error).__name__}: {error}".splitlines()[0]
    text = summary + "\n\n" + "".join(traceback.format_exception(error))
    write_text(folder / FAILED, text)
    return summary


def clear_partial(folder: Path) -> None:
    """Remove what an interrupted run of this job left behind (never a complete job)."""
    if (folder / MARKER).exists():
        raise RuntimeError(f"refusing to clear the complete job {folder}")
    for path in folder.glob("*"):
        if path.is_file() and (path.name.startswith(".") or path.name == FAILED
                               or path.suffix in (".parquet", ".json", ".yaml")):
            path.unlink()


def write_job(folder: Path, results: Any, config_yaml: str, meta: dict) -> None:
    """Write one finished job's tables, config and metadata, then its completion marker."""
    for name in TABLES:
        frame = getattr(results, name)
        atomic_write(folder / f"{name}.parquet", partial(frame.to_parquet, index=False))
    write_text(folder / "config.yaml", config_yaml)
    write_json(folder / METADATA, meta)
    write_text(folder / MARKER, "complete\n")


@dataclass
class Job:
    """A job folder found on disk."""

    path: Path
    key: str
    overrides: list[str]
    complete: bool
    seed: int | None = None  # the run seed (job.json of a complete job); replicates spawn from it

    @property
    def failed(self) -> bool:
        """The job raised; its FAILED file holds the error."""
        return not self.complete and (self.path / FAILED).is_file()

    @property
    def error(self) -> str:
        return (self.path / FAILED).read_text(encoding="utf-8").splitlines()[0] if self.failed else ""

    @property
    def condition(self) -> str:
        """The job's overrides without the seed: jobs that differ only in seed are replicates."""
        rest = [o for o in self.overrides
                if not o.lstrip("+~").startswith(("seed=", "replicates=", "design.chunk="))]
        return ",".join(sorted(rest)) or "default"


def _seed(folder: Path) -> int | None:
    """The run seed of a complete job (its metadata.json), None where it cannot be read."""
    try:
        seed = json.loads((folder / METADATA).read_text(encoding="utf-8")).get("seed")
    except (OSError, ValueError, AttributeError):
        return None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def find_jobs(root: Path) -> list[Job]:
    """All job folders below `root` (or `root` itself), sorted by path."""
    jobs = []
    found = []
    for here, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != DATASET]  # the sweep's dataset holds no jobs
        if JOB_FILE in files:
            found.append(Path(here) / JOB_FILE)
    for job_file in sorted(found):
        folder = job_file.parent
        try:
            info = json.loads(job_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {"key": folder.name, "overrides": []}
        complete = (folder / MARKER).is_file()
        jobs.append(Job(folder, info.get("key", folder.name), list(info.get("overrides", [])), complete,
                        _seed(folder) if complete else None))
    return jobs


def partition_name(key: str) -> str:
    """The Hive partition folder of a job key (URI-encoded, as pyarrow and DuckDB decode it)."""
    from urllib.parse import quote

    return "job=" + quote(key, safe="")


def publish(folder: Path, key: str) -> None:
    """Add a complete job's tables to its sweep's dataset (idempotent). Each file appears at once:
    a hard link is created atomically (a copy, where links are impossible, is renamed into place);
    nothing is ever removed, so a reader walking the folder never meets a vanishing entry."""
    import shutil

    if not (folder / MARKER).is_file():
        raise RuntimeError(f"refusing to publish the incomplete job {folder}")
    part = partition_name(key)
    refuse_links(folder.parent, DATASET)
    for name in TABLES:
        target = folder.parent / DATASET / name / part
        target.mkdir(parents=True, exist_ok=True)
        final = target / "part-0.parquet"
        if final.exists():
            continue
        source = folder / f"{name}.parquet"
        try:
            os.link(source, final)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: copy under a hidden name, then rename
            atomic_write(final, partial(shutil.copyfile, source))


def take_lock(path: Path):
    """An exclusive lock on the file `path` for this process, held until the returned file is
    closed or the process ends; the file then names this process's id. Returns (file, None),
    or (None, the holder's process id as written, or "unknown") when another process holds it."""
    import fcntl

    lock = open(path, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        return None, holder
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock, None


class LinkRefused(OSError):
    """A folder marktsim would write into is a symbolic link (it could point anywhere)."""


def refuse_links(root: Path, *parts: str) -> None:
    """Refuse to write below `root` through a symbolic link: `root`/`parts[0]`, then
    `root`/`parts[0]`/`parts[1]`, ... must each be missing or a real folder. A received sweep
    folder with a ``dataset`` or ``report`` link would otherwise have marktsim write wherever it points."""
    path = Path(root)
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise LinkRefused(f"{path} is a symbolic link; marktsim writes only into real folders below the one "
                              "you named (remove the link)")


def dataset_paths(jobs: list[Job]) -> list[Path]:
    """The dataset folders of the sweeps these jobs belong to, after publishing any complete job
    missing there (sweeps written before datasets existed)."""
    roots = set()
    for job in jobs:
        if job.complete:
            if not all((job.path.parent / DATASET / name / partition_name(job.key)).is_dir() for name in TABLES):
                publish(job.path, job.key)
            roots.add(job.path.parent / DATASET)
    return sorted(roots)



class FolderTaken(Exception):
    """A results folder cannot be used; the message names the option, the folder and why."""


def claim_folder(folder: Path, settings: dict, settings_file: str, option: str, program: str):
    """Create or reopen a folder that holds one piece of work (a study, a calibration) described by
    `settings`, saved as `settings_file`: refuse a file, a folder of other files, a folder whose
    saved settings differ (it is never overwritten), or one another process holds. Returns the
    open lock file (held until closed)."""
    if folder.exists() and not folder.is_dir():
        raise FolderTaken(f"{option} {folder} is a file; allowed: a new folder or the folder of this work")
    saved = folder / settings_file
    if folder.is_dir() and any(folder.iterdir()) and not saved.is_file():
        raise FolderTaken(f"{option} {folder} holds other files and no {settings_file}; allowed: a new folder or "
                          "the folder of this work")
    if saved.is_file():
        before = json.loads(saved.read_text())
        now = json.loads(json.dumps(settings, default=str))
        if before != now:
            changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
            raise FolderTaken(f"{option} {folder} was started with other settings ({', '.join(changed)} differ); "
                              f"it is never overwritten or mixed: use another {option} folder")
    folder.mkdir(parents=True, exist_ok=True)
    lock, _ = take_lock(folder / ".lock")
    if lock is None:
        raise FolderTaken(f"{option} {folder} is in use by another {program} process")
    if not saved.is_file():
        write_json(saved, settings)
    return lock
