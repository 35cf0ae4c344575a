"""Studies: a question, the commands that answer it, the numbers they produce, and the pages
that quote those numbers (docs/studies.md).

A study runs one or more ``marktsim`` sweeps, reads them (``marktsim.analysis.report.load_sweep``)
and reduces them to *findings*: named numbers with their 95 % intervals, kept in
``experiments/<study>/findings.csv`` (columns ``key,mean,low,high,n``) next to the study's
figures and ``run.json`` (the commands, the date, the version, the time taken). Pages never
type a finding by hand: they quote it through a marker that ``marktsim-study render`` fills in
and ``marktsim-study check`` compares::

    <!--v retention_vs_acquisition/saturated.alone.retention_heavy.npv m_ci-->4.20 M [4.10, 4.30]<!--/v-->
    <!--t strategy_game/payoffs-->
    | … a table the study builds from its findings … |
    <!--/t-->

so README.md, experiments/*/README.md and docs/*.md always show what the committed findings
say, and the findings are what the committed commands produce (every run is reproducible from
its config and seed: ``marktsim-study run`` on a clean folder writes the same file).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from marktsim.analysis.findings import (
    COLUMNS,
    FINDINGS,
    KEY,
    Collector,
    Findings,
    StudyError,
    Value,
    fmt,
)
from marktsim.analysis.stats import paired_ratio_ci

__all__ = ["COLUMNS", "Collector", "Findings", "StudyError", "Value", "fmt"]

RUN = "run.json"
VALUE_MARK = re.compile(rf"<!--v ({KEY})/({KEY}) (\w+)-->(.*?)<!--/v-->")
# a table marker opens a line (an example of one inside `inline code` does not)
TABLE_MARK = re.compile(rf"^<!--t ({KEY})/({KEY})-->\n(.*?)<!--/t-->", re.S | re.M)


# ----------------------------------------------------------------------------- studies

@dataclass(frozen=True)
class Sweep:
    """One ``marktsim`` command of a study: its overrides (`experiment=…` first)."""

    overrides: tuple[str, ...]

    def command(self) -> str:
        return "marktsim " + " ".join(self.overrides)


@dataclass(frozen=True)
class Study:
    """A study (docs/studies.md): its sweeps, how they reduce to findings, the tables its pages
    quote, and the figures it writes."""

    name: str
    question: str
    sweeps: tuple[Sweep, ...]
    extract: Callable[[list], pd.DataFrame]
    # a study that is not a sweep of ``marktsim`` (e.g. the default market's figures): a function of
    # its results folder (<results>/<study>) that returns the findings and may write figures into the
    # study folder; `sweeps` then only documents the equivalent commands
    compute: Callable[[Path, Path], pd.DataFrame] | None = None
    tables: Callable[[Findings], dict[str, str]] = field(default=lambda findings: {})
    figures: Callable[[list, Path], list[str]] | None = None
    report_figures: tuple[str, ...] = ()  # marktsim-report figures of the first sweep to keep

    def commands(self) -> list[str]:
        if self.compute is not None:
            return [" ".join(s.overrides) for s in self.sweeps]
        return [s.command() + " hydra/launcher=joblib" for s in self.sweeps]


def study_folder(root: Path, name: str) -> Path:
    return root / "experiments" / name


def run_study(study: Study, repo: Path, results: Path, launcher: str = "joblib",
              extra: Sequence[str] = (), out: Path | None = None) -> Path:
    """Run (or resume) the study's sweeps under `results`/<study>/, reduce them to findings and
    write findings.csv, run.json and the figures into `out` (default experiments/<study>).
    Returns `out`. A sweep already complete is not run again."""
    from marktsim.analysis.report import ReportError, load_sweep
    from marktsim.experiments.store import write_json, write_text

    out = out if out is not None else study_folder(repo, study.name)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    if study.compute is not None:
        write_text(out / FINDINGS, study.compute(results / study.name, out).to_csv(index=False, float_format="%.10g"))
        from marktsim import __version__

        write_json(out / RUN, {"study": study.name, "commands": study.commands(), "date": time.strftime("%Y-%m-%d"),
                               "marktsim": __version__, "seconds": round(time.time() - started, 1),
                               "figures": sorted(p.name for p in out.glob("*.png"))})
        return out
    folders = []
    for i, sweep in enumerate(study.sweeps):
        folder = results / study.name / f"sweep-{i}"
        cmd = [sys.executable, "-c", "from marktsim.experiments.cli import main; main()", *sweep.overrides,
               f"hydra/launcher={launcher}", f"hydra.sweep.dir={folder}", "progress=off", *extra]
        # the compiled kernels: a study's jobs are many and small, below the size at which 'auto'
        # compiles; results are bit-identical across engines (docs/model.md §7.10)
        env = {**os.environ, "MARKTSIM_ENGINE": os.environ.get("MARKTSIM_ENGINE", "compiled")}
        done = subprocess.run(cmd, cwd=repo, env=env)
        if done.returncode != 0:
            raise StudyError(f"{study.name}: `{sweep.command()}` failed (exit {done.returncode}); "
                             f"its jobs are in {folder}; rerun to resume")
        folders.append(folder)
    try:
        sweeps = [load_sweep(f) for f in folders]
    except ReportError as exc:
        raise StudyError(f"{study.name}: {exc}") from None
    failed = [j for s in sweeps for j in s.failed + s.skipped]
    if failed:
        raise StudyError(f"{study.name}: {len(failed)} job(s) failed or incomplete, e.g. {failed[0].path}; rerun")
    frame = study.extract(sweeps)
    write_text(out / FINDINGS, frame.to_csv(index=False, float_format="%.10g"))
    figures = list(study.figures(sweeps, out)) if study.figures else []
    if study.report_figures:
        figures += _report_figures(folders[0], out, study.report_figures)
    from marktsim import __version__

    write_json(out / RUN, {"study": study.name, "commands": study.commands(), "extra_overrides": list(extra),
                           "date": time.strftime("%Y-%m-%d"), "marktsim": __version__,
                           "seconds": round(time.time() - started, 1), "figures": sorted(figures),
                           "runs": int(sum(s.summary.run.nunique() for s in sweeps))})
    return out


def _report_figures(folder: Path, out: Path, names: tuple[str, ...]) -> list[str]:
    """Figures of ``marktsim-report`` for `folder`, copied into `out`."""
    import tempfile

    from marktsim.analysis.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        write_report(folder, Path(tmp))
        for name in names:
            shutil.copyfile(Path(tmp) / name, out / name)
    return list(names)


# ----------------------------------------------------------------------------- pages

def pages(repo: Path) -> list[Path]:
    """The pages that may quote findings: README.md, experiments/**/*.md, docs/**/*.md."""
    found = [repo / "README.md"] if (repo / "README.md").is_file() else []
    for folder in ("experiments", "docs"):
        found += sorted((repo / folder).rglob("*.md"))
    return found


class Library:
    """Every study's findings and tables, read on demand from the repository."""

    def __init__(self, repo: Path, studies: dict[str, Study]):
        self.repo, self.studies = repo, studies
        self._findings: dict[str, Findings] = {}
        self._tables: dict[str, dict[str, str]] = {}

    def findings(self, name: str) -> Findings:
        if name not in self.studies:
            raise StudyError(f"study {name!r}: allowed: {', '.join(sorted(self.studies))}")
        if name not in self._findings:
            self._findings[name] = Findings.read(name, study_folder(self.repo, name) / FINDINGS)
        return self._findings[name]

    def table(self, name: str, table: str) -> str:
        if name not in self._tables:
            self._tables[name] = self.studies[name].tables(self.findings(name))
        if table not in self._tables[name]:
            raise StudyError(f"{name}/{table}: no such table; allowed: {', '.join(sorted(self._tables[name]))}")
        return self._tables[name][table].rstrip("\n")


FENCED = re.compile(r"(```.*?```)", re.S)
INLINE = re.compile(r"(`[^`\n]*`)")


def render(text: str, library: Library) -> str:
    """`text` with every marker filled in from the findings (markers inside code -- fenced
    blocks and `inline code` -- are examples, left as they are). Tables are filled in before
    inline code is set aside: a table's cells may hold `inline code` themselves."""
    parts = FENCED.split(text)
    return "".join(part if i % 2 else _render(part, library) for i, part in enumerate(parts))


def _render(text: str, library: Library) -> str:
    text = TABLE_MARK.sub(lambda m: f"<!--t {m[1]}/{m[2]}-->\n{library.table(m[1], m[2])}\n<!--/t-->", text)
    pieces = INLINE.split(text)
    return "".join(piece if i % 2 else VALUE_MARK.sub(lambda m: f"<!--v {m[1]}/{m[2]} {m[3]}-->"
                                                      f"{fmt(library.findings(m[1])[m[2]], m[3])}<!--/v-->", piece)
                   for i, piece in enumerate(pieces))


def check(repo: Path, studies: dict[str, Study]) -> list[str]:
    """One line per page whose quoted findings differ from the committed ones (or whose
    markers name no finding); empty when every page is consistent."""
    library = Library(repo, studies)
    problems = []
    for page in pages(repo):
        text = page.read_text(encoding="utf-8")
        try:
            rendered = render(text, library)
        except StudyError as exc:
            problems.append(f"{page.relative_to(repo)}: {exc}")
            continue
        if rendered != text:
            problems.append(f"{page.relative_to(repo)}: {_first_difference(text, rendered)}")
    return problems


def render_pages(repo: Path, studies: dict[str, Study]) -> list[Path]:
    """Fill in every page's markers; return the pages that changed."""
    from marktsim.experiments.store import write_text

    library = Library(repo, studies)
    changed = []
    for page in pages(repo):
        text = page.read_text(encoding="utf-8")
        rendered = render(text, library)
        if rendered != text:
            write_text(page, rendered)
            changed.append(page)
    return changed


def _first_difference(text: str, rendered: str) -> str:
    for i, (a, b) in enumerate(zip(text.splitlines(), rendered.splitlines()), 1):
        if a != b:
            return f"line {i} says {a.strip()[:120]!r}; the findings say {b.strip()[:120]!r}"
    return "the table lengths differ from the findings"


def save_figure(fig, out: Path, name: str) -> list[str]:
    """Lay out, write (100 dpi) and close a study's figure; the list of files written."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(out / name, dpi=100)
    plt.close(fig)
    return [name]


def markdown(rows: list[dict], columns: Sequence[str] | None = None) -> str:
    """Rows as a Markdown table."""
    columns = list(columns or (rows[0].keys() if rows else []))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def read_run(folder: Path) -> dict:
    path = folder / RUN
    return json.loads(path.read_text()) if path.is_file() else {}


# ----------------------------------------------------------------------------- reading sweeps

IGNORED = ("experiment", "results_dir", "progress", "seed", "replicates", "hydra", "design.chunk")


def settings(job_overrides: Sequence[str]) -> dict[str, str]:
    """The `key=value` overrides of a job that describe its condition."""
    out = {}
    for item in job_overrides:
        key, _, value = item.lstrip("+~").partition("=")
        if not key.startswith(IGNORED):
            out[key] = value.lower() if value in ("True", "False") else value  # Hydra's sweeper writes True
    return out


def with_settings(frame: pd.DataFrame, sweep) -> pd.DataFrame:
    """`frame` (one row per run or per run and firm, with a ``job`` column) with one column per
    override that describes its job's condition (e.g. ``market``, ``strategy.retention_share``)."""
    rows = pd.DataFrame([{"job": j.key, **settings(j.overrides)} for j in sweep.jobs if j.complete])
    frame = frame.assign(job=frame.job.astype(str)).drop(columns=["condition", "run", *sweep.key_columns],
                                                        errors="ignore")
    return frame.merge(rows, on="job", how="left").drop(columns=["job"])


def runs_table(sweep, firm: str | None = "focal") -> pd.DataFrame:
    """The sweep's summary (one row per run and firm, or only `firm`'s) ``with_settings``."""
    return with_settings(sweep.summary if firm is None else sweep.summary[sweep.summary.firm == firm], sweep)


def rivals_mean(sweep, column: str) -> pd.DataFrame:
    """Per run: the rivals' mean of `column` (same columns as ``runs_table``)."""
    table = runs_table(sweep, None)
    rivals = table[table.firm != "focal"]
    own = set(sweep.summary.columns) - set(sweep.key_columns)  # the summary's columns before load_sweep's keys
    keys = [c for c in rivals.columns if c not in own - {"replicate"}]
    return rivals.groupby(keys, dropna=False)[column].mean().reset_index()


def paired_ratio(a: np.ndarray, b: np.ndarray, resamples: int = 4000, seed: int = 0) -> tuple[float, float, float]:
    """mean(a)/mean(b) − 1 for runs paired by replicate (common random numbers), with a 95 %
    percentile bootstrap interval over the pairs (fixed seed: reproducible)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.size < 2:
        raise StudyError(f"paired ratio needs two equal samples of ≥ 2 runs, got {a.size} and {b.size}")
    return paired_ratio_ci(a, b, resamples, seed, shift=1.0)
