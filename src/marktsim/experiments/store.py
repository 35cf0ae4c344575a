"""Job folders: atomic writes, completion markers, metadata, and reading them back.

A job folder holds ``job.json`` (written first: the job's key and overrides),
``timeseries.parquet``, ``segments.parquet``, ``summary.parquet``, ``config.yaml`` (the
resolved config), ``metadata.json`` and, written last, the completion marker ``COMPLETE``.
Every file is written under a temporary name and renamed into place, so a reader never
sees a half-written file; a folder without ``COMPLETE`` is an incomplete job.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JOB_FILE = "job.json"
MARKER = "COMPLETE"
FAILED = "FAILED"
INDEX = "index.jsonl"
TABLES = ("timeseries", "segments", "summary")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
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


def git_commit(cwd: Path | None = None) -> str | None:
    """The current git commit, or None outside a checkout."""
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


def record_index(sweep: Path, entry: dict) -> None:
    """Append one line to the sweep's index (``index.jsonl``): a job started, completed,
    was skipped or failed. One short O_APPEND write per line, so parallel jobs do not mix."""
    line = (json.dumps({**entry, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, sort_keys=True) + "\n").encode()
    fd = os.open(sweep / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


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
        atomic_write(folder / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p, index=False))
    write_text(folder / "config.yaml", config_yaml)
    write_json(folder / "metadata.json", meta)
    write_text(folder / MARKER, "complete\n")


@dataclass
class Job:
    """A job folder found on disk."""

    path: Path
    key: str
    overrides: list[str]
    complete: bool

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


def find_jobs(root: Path) -> list[Job]:
    """All job folders below `root` (or `root` itself), sorted by path."""
    jobs = []
    for job_file in sorted(root.rglob(JOB_FILE)):
        folder = job_file.parent
        try:
            info = json.loads(job_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {"key": folder.name, "overrides": []}
        jobs.append(Job(folder, info.get("key", folder.name), list(info.get("overrides", [])), (folder / MARKER).is_file()))
    return jobs
