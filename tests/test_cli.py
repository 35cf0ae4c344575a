"""The command line end to end: experiments, sweeps, launchers, job folders, the report and
bad input, run as a user would, in a temporary folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from marktsim.config import CONFIG_DIR, job_key, load_config

BIN = Path(sys.executable).parent
TINY = ["market.n_customers=200", "horizon=12", "replicates=2"]
EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


def marktsim(*args, cwd, check=True, tool="marktsim", timeout=600):
    proc = subprocess.run([str(BIN / tool), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HYDRA_FULL_ERROR": "0"})
    if check and proc.returncode != 0:
        raise AssertionError(f"{tool} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def job_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("job.json"))


def sweep_size(name: str) -> int:
    spec = OmegaConf.load(CONFIG_DIR / "experiment" / f"{name}.yaml")
    while "hydra" not in spec:  # an experiment that extends another (defaults: - /experiment/<parent>)
        parent = next(d for d in spec.defaults if isinstance(d, str) and d.startswith("/experiment/"))
        spec = OmegaConf.load(CONFIG_DIR / "experiment" / f"{parent.removeprefix('/experiment/')}.yaml")
    params = spec.hydra.sweeper.params
    n = 1
    for value in params.values():
        text = str(value)
        if text.startswith("range("):
            n *= len(range(*(int(x) for x in text[6:-1].split(","))))
        else:
            n *= len(text.split(","))
    return n


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_validates(name):
    cfg = load_config([f"experiment={name}", "design.chunk=0"] if name.startswith("sensitivity") else [f"experiment={name}"])
    assert cfg.name.startswith(name)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_runs_at_tiny_size(name, tmp_path):
    marktsim(f"experiment={name}", *TINY, "progress=off", cwd=tmp_path)
    folder = load_config([f"experiment={name}", "design.chunk=0"] if name.startswith("sensitivity") else
                         [f"experiment={name}"]).name
    jobs = job_dirs(tmp_path / "results" / folder)
    assert len(jobs) == sweep_size(name)
    for job in jobs:
        assert (job / "COMPLETE").is_file()
        summary = pd.read_parquet(job / "summary.parquet")
        assert sorted(summary.replicate.unique()) == [0, 1]
    assert (tmp_path / "results" / folder).is_dir()


def test_a_single_run_writes_a_complete_job_folder(tmp_path):
    proc = marktsim("seed=5", *TINY, cwd=tmp_path)
    (job,) = job_dirs(tmp_path / "results")
    assert job.parent.parent.name == "default"  # results/<experiment>/<timestamp>/<job key>
    assert job.name == "horizon=12,market.n_customers=200,replicates=2,seed=5"
    assert str(job) in proc.stdout
    names = {p.name for p in job.iterdir()}
    assert names == {"job.json", "timeseries.parquet", "segments.parquet", "summary.parquet", "config.yaml",
                     "metadata.json", "COMPLETE"}
    meta = json.loads((job / "metadata.json").read_text())
    assert meta["seed"] == 5 and meta["replicates"] == 2 and meta["wall_time_s"] >= 0
    assert set(meta["versions"]) == {"marktsim", "mesa", "numpy", "pandas", "python"}
    assert "git_commit" in meta
    saved = OmegaConf.load(job / "config.yaml")
    assert saved.seed == 5 and saved.market.n_customers == 200 and isinstance(saved.firm.budget, float)
    ts = pd.read_parquet(job / "timeseries.parquet")
    assert list(ts.columns[:3]) == ["replicate", "tick", "firm"]
    assert "progress" not in proc.stderr.lower() and "tick/s" not in proc.stderr  # no bar without a terminal


def test_saved_config_reproduces_the_job(tmp_path):
    marktsim("seed=9", *TINY, cwd=tmp_path)
    (job,) = job_dirs(tmp_path / "results")
    from marktsim.simulation import simulate

    again = simulate(OmegaConf.load(job / "config.yaml"), replicates=2)
    pd.testing.assert_frame_equal(again.timeseries, pd.read_parquet(job / "timeseries.parquet"),
                                  check_categorical=False)


def _tables(root: Path) -> dict[str, pd.DataFrame]:
    return {job.name: pd.read_parquet(job / "timeseries.parquet") for job in job_dirs(root)}


def _assert_launcher_matches_sequential(tmp_path, sweep, launcher, jobs):
    """Run `sweep` sequentially and with `launcher` overrides: the same jobs, the same tables."""
    marktsim(*sweep, "results_dir=seq", cwd=tmp_path)
    marktsim(*sweep, "results_dir=other", *launcher, cwd=tmp_path)
    seq, other = _tables(tmp_path / "seq"), _tables(tmp_path / "other")
    assert len(seq) == jobs and seq.keys() == other.keys()
    for key in seq:
        pd.testing.assert_frame_equal(seq[key], other[key])


def test_sweep_sequential_and_joblib_give_identical_results(tmp_path):
    sweep = ["-m", "strategy=retention_heavy,acquisition_heavy", "seed=range(0,2)", *TINY, "progress=off"]
    _assert_launcher_matches_sequential(tmp_path, sweep, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], 4)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["market.n_customers=-3"], "market.n_customers = -3"),
        (["customers.bond_decay=abc"], "customers.bond_decay"),
        (["strategy=nonsense"], "strategy/nonsense"),
        (["firm.nonsense=1"], "firm.nonsense"),
        (["-m", "market.n_customers=100,0"], "market.n_customers = 0"),
        (["experiment=nonsense"], "experiment/nonsense"),
        (["market.initial_shares=[0.9,0.9,0.1,0.1]"], "sums to"),
        (["market.initial_shares=[0.5,x]"], "market.initial_shares = [0.5,x] has the wrong type"),
        (["-m", "seed=0,1", "firm.budget=a=b"], "override 'firm.budget=a=b' cannot be read"),
    ],
)
def test_bad_input_fails_with_one_line_and_leaves_no_job_folder(tmp_path, args, fragment):
    proc = marktsim(*args, "horizon=2", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_bad_value_later_in_a_sweep_stops_before_any_job(tmp_path):
    proc = marktsim("-m", "customers.bond_decay=0.1,0.2,7", "horizon=2", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "customers.bond_decay = 7" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_report_on_a_sweep(tmp_path):
    marktsim("-m", "strategy=retention_heavy,acquisition_heavy", "seed=range(0,2)", *TINY, "progress=off",
             "firm.capacity_factor=1.0", cwd=tmp_path)
    (sweep,) = list((tmp_path / "results" / "default").iterdir())
    proc = marktsim(str(sweep), cwd=tmp_path, tool="marktsim-report")
    out = sweep / "report"
    assert str(out / "report.md") in proc.stdout
    for name in ("report.md", "summary.csv", "timeseries.png", "npv.png", "segment_churn.png", "capacity.png",
                 "churn_new_vs_established.csv"):
        assert (out / name).is_file(), name
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.condition) == {"strategy=retention_heavy", "strategy=acquisition_heavy"}
    assert (summary.n == 4).all()  # 2 seeds x 2 replicates per condition
    assert (summary.npv_ci_low <= summary.npv).all() and (summary.npv <= summary.npv_ci_high).all()
    text = (out / "report.md").read_text()
    assert text.count("![") == 4 and "Condition" in text
    marktsim(str(sweep), "--lang", "de", "--out", str(tmp_path / "de"), cwd=tmp_path, tool="marktsim-report")
    assert "Bedingung" in (tmp_path / "de" / "report.md").read_text()


@pytest.mark.parametrize("kind", ["missing", "empty", "foreign", "file"])
def test_report_refuses_folders_without_jobs(tmp_path, kind):
    target = tmp_path / "target"
    if kind == "empty":
        target.mkdir()
    elif kind == "foreign":
        target.mkdir()
        (target / "notes.txt").write_text("hello")
    elif kind == "file":
        target.write_text("x")
    proc = marktsim(str(target), cwd=tmp_path, check=False, tool="marktsim-report")
    assert proc.returncode == 2
    assert proc.stderr.startswith("marktsim-report: ") and len(proc.stderr.strip().splitlines()) == 1
    assert not (target / "report").exists()


def test_killed_job_is_reported_as_incomplete_and_skipped(tmp_path):
    marktsim("seed=1", *TINY, "progress=off", "results_dir=runs/a", cwd=tmp_path)
    proc = subprocess.Popen([str(BIN / "marktsim"), "seed=2", "market.n_customers=20000", "horizon=100000",
                             "progress=off", "results_dir=runs/b"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list((tmp_path / "runs" / "b").rglob("job.json")) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (killed,) = job_dirs(tmp_path / "runs" / "b")
    assert not (killed / "COMPLETE").exists()
    report = marktsim(str(tmp_path / "runs"), cwd=tmp_path, tool="marktsim-report")
    assert "skipped incomplete job" in report.stderr and killed.name in report.stderr
    text = (tmp_path / "runs" / "report" / "report.md").read_text()
    assert "1 complete; 1 incomplete" in text and killed.name in text
    summary = pd.read_csv(tmp_path / "runs" / "report" / "summary.csv")
    assert (summary.n == 2).all()  # only the complete job's two replicates


def test_job_keys_are_readable_stable_and_collision_free():
    assert job_key("") == "default"
    assert job_key("seed=1,strategy=balanced") == "seed=1,strategy=balanced"
    a, b = job_key("x=a/b"), job_key("x=a_b")
    assert a != b and "/" not in a
    long = ",".join(f"k{i}=v{i}" for i in range(60))
    assert len(job_key(long)) <= 200 and job_key(long) != job_key(long + "x") and job_key(long) == job_key(long)


def test_progress_bar_on_request_and_help(tmp_path):
    proc = marktsim("progress=on", "market.n_customers=200", "horizon=5", cwd=tmp_path)
    assert "tick" in proc.stderr and "/5 " in proc.stderr  # the bar counts replicates x ticks
    help_text = marktsim("--help", cwd=tmp_path).stdout
    assert help_text.startswith("marktsim: ") and "experiment=<study>" in help_text


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_sweep_progress_is_one_whole_line_per_job(tmp_path, launcher):
    """With progress on, every job of a sweep ends in one line with its whole key (never cut);
    parallel workers draw no bars (they would overwrite each other), the sequential one does."""
    keys = [f"horizon=5,market.n_customers=200,seed=0,strategy={s}" for s in
            ("acquisition_heavy", "retention_heavy")]
    proc = marktsim("-m", "strategy=acquisition_heavy,retention_heavy", "market.n_customers=200", "seed=0",
                    "horizon=5", "progress=on", f"hydra/launcher={launcher}", "hydra.sweep.dir=sweep", cwd=tmp_path)
    done = [line for line in proc.stderr.replace("\r", "\n").splitlines() if " complete in " in line]
    assert len(done) == 2, proc.stderr
    assert {line.rsplit(": ", 1)[1] for line in done} == set(keys)
    assert all(line.startswith("marktsim: job ") for line in done)
    bars = [line for line in proc.stderr.replace("\r", "\n").splitlines() if "tick/s" in line or "/5 " in line]
    assert (len(bars) > 0) == (launcher == "basic")


def _complete(root: Path) -> int:
    return len(list(root.rglob("COMPLETE")))


@pytest.mark.parametrize("kill_after", [0, 2, 4])
def test_resumed_sweep_after_sigkill_equals_an_uninterrupted_one(tmp_path, kill_after):
    """Kill a sweep with SIGKILL while job `kill_after` runs, rerun the same command into the same
    folder: every job is there once, complete, and equal to the uninterrupted sweep's."""
    sweep = ["-m", "seed=range(0,6)", "market.n_customers=3000", "horizon=40", "progress=off"]
    marktsim(*sweep, "hydra.sweep.dir=whole", cwd=tmp_path)
    cut = tmp_path / "cut"
    proc = subprocess.Popen([str(BIN / "marktsim"), *sweep, f"hydra.sweep.dir={cut}"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        started = len(list(cut.rglob("job.json"))) if cut.exists() else 0
        if _complete(cut) >= kill_after and started > kill_after:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _complete(cut) < 6  # it really was interrupted
    before = {p.parent.name: (p.parent / "timeseries.parquet").stat().st_mtime_ns for p in cut.rglob("COMPLETE")}
    resumed = marktsim(*sweep, f"hydra.sweep.dir={cut}", cwd=tmp_path)
    assert resumed.stderr.count("complete already, skipped") == len(before)
    whole, again = _tables(tmp_path / "whole"), _tables(cut)
    assert whole.keys() == again.keys() and len(again) == 6
    for key in whole:
        pd.testing.assert_frame_equal(whole[key], again[key])
    for name, mtime in before.items():  # complete jobs were not rewritten
        assert (cut / name / "timeseries.parquet").stat().st_mtime_ns == mtime
    assert _complete(cut) == 6


def test_a_complete_job_with_another_config_is_never_overwritten(tmp_path):
    marktsim("seed=1", *TINY, "hydra.run.dir=job", cwd=tmp_path)
    first = (tmp_path / "job" / "timeseries.parquet").read_bytes()
    proc = marktsim("seed=2", *TINY, "hydra.run.dir=job", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "never overwritten" in proc.stderr
    assert (tmp_path / "job" / "timeseries.parquet").read_bytes() == first


def test_a_failing_job_is_recorded_and_the_others_complete(tmp_path, monkeypatch, capsys):
    """Run the sweep in-process with seed 1's simulation made to raise: the other jobs complete,
    the failure is in the job's FAILED file and the sweep index, the command exits non-zero and
    ends with a line that counts the jobs, and the report lists the failed job apart from
    incomplete ones."""
    from marktsim import simulation as engine_runs
    from marktsim.experiments import cli

    real = engine_runs.run_replicate

    def flaky(cfg, replicate, on_tick=None):
        if cfg.seed == 1:
            raise RuntimeError("disk on fire")
        return real(cfg, replicate, on_tick)

    monkeypatch.setattr(engine_runs, "run_replicate", flaky)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["marktsim", "-m", "seed=range(0,3)", *TINY, "progress=off",
                                      "hydra.sweep.dir=sweep"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code not in (0, None)
    sweep = tmp_path / "sweep"
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == (f"marktsim: sweep {sweep.resolve()}: 2 of 3 jobs complete, 1 failed, 0 incomplete; "
                    f"report: marktsim-report {sweep.resolve()}")
    failed = next(p for p in sweep.iterdir() if "seed=1" in p.name)
    assert "disk on fire" in (failed / "FAILED").read_text() and not (failed / "COMPLETE").exists()
    assert json.loads((failed / "job.json").read_text())["status"] == "failed"
    index = [json.loads(line) for line in (sweep / "index.jsonl").read_text().splitlines()]
    assert sorted(e["status"] for e in index) == ["complete", "complete", "failed"]
    assert _complete(sweep) == 2
    proc = marktsim(str(sweep), cwd=tmp_path, tool="marktsim-report")
    assert "skipped failed job" in proc.stderr and "disk on fire" in proc.stderr
    text = (sweep / "report" / "report.md").read_text()
    assert "2 complete; 0 incomplete" in text and "1 failed" in text
    # rerunning the same command resumes: the two complete jobs are skipped, the failed one reruns
    monkeypatch.setattr(engine_runs, "run_replicate", real)
    cli.main()
    assert _complete(sweep) == 3 and not (failed / "FAILED").exists()
    assert "sweep " + str(sweep.resolve()) + ": 3 of 3 jobs complete, 0 failed" in capsys.readouterr().out


def test_submitit_local_gives_the_sequential_results(tmp_path):
    """The SLURM path (submitit) tested locally: hydra/launcher=submitit_local."""
    sweep = ["-m", "strategy=retention_heavy,acquisition_heavy", *TINY, "progress=off"]
    _assert_launcher_matches_sequential(tmp_path, sweep,
                                        ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"], 2)


def test_slurm_launcher_config_has_array_defaults(tmp_path):
    text = marktsim("hydra/launcher=slurm", "--cfg", "hydra", cwd=tmp_path).stdout
    launcher = OmegaConf.create(text).hydra.launcher if text.lstrip().startswith("hydra:") else OmegaConf.create(text).launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.timeout_min == 120 and launcher.mem_gb == 4 and launcher.cpus_per_task == 1
    assert launcher.array_parallelism == 256 and launcher.partition is None


def test_a_job_written_before_new_keys_existed_still_resumes(tmp_path):
    """A complete job whose saved config lacks keys added later (here the sensitivity block) is
    skipped on resume when the new keys hold their defaults, and refused when they do not."""
    marktsim("seed=1", *TINY, "hydra.run.dir=job", cwd=tmp_path)
    saved = OmegaConf.load(tmp_path / "job" / "config.yaml")
    saved.pop("sensitivity")
    (tmp_path / "job" / "config.yaml").write_text(OmegaConf.to_yaml(saved))
    first = (tmp_path / "job" / "timeseries.parquet").stat().st_mtime_ns
    again = marktsim("seed=1", *TINY, "hydra.run.dir=job", cwd=tmp_path)
    assert "complete already, skipped" in again.stderr
    assert (tmp_path / "job" / "timeseries.parquet").stat().st_mtime_ns == first
    other = marktsim("seed=1", *TINY, "sensitivity.seed=3", "hydra.run.dir=job", cwd=tmp_path, check=False)
    assert other.returncode == 2 and "never overwritten" in other.stderr


@pytest.mark.parametrize("master, jobs", [
    ([], [["seed=0"], ["seed=1"], ["seed=2", ], ["seed=3"]]),
    ([], [["market=growing", "seed=0", "strategy.retention_share=0.2"], ["market=growing", "seed=1", "strategy.retention_share=0.8"],
          ["market=saturated", "seed=0", "strategy.retention_share=0.2"], ["market=saturated", "seed=1", "firm.capacity=null"],
          ["market=saturated", "seed=2", "strategy.retention_share=0.5"]]),
    (["experiment=budget_frontier"], [["firm.budget_share=0.02", "strategy.retention_share=0.1", "firm.priority=fifo"],
                                      ["firm.budget_share=0.1", "strategy.retention_share=0.9", "firm.priority=existing_first"],
                                      ["firm.budget_share=0.1", "strategy=acquisition_heavy", "firm.priority=fifo"]]),
    (["hydra/launcher=joblib"], [["competitors=same_as_focal", "strategy=retention_heavy", "name=x"],
                                 ["competitors=same_as_focal", "strategy=retention_heavy", "name=y"],
                                 ["competitors=symmetric", "strategy=retention_heavy", "name=y", "+firm.extra=1"],
                                 ["competitors=symmetric", "strategy=retention_heavy", "name=z", "+firm.extra=2"]]),
])
def test_a_job_composed_from_its_shape_equals_hydras_composition(master, jobs):
    """compose_cache: every job's config (its hydra node included) equals Hydra's own composition
    of its overrides, whether composed afresh (the first of its shape) or from its shape, copied
    (load_sweep_config) or set in the shape's own config (compose_shared)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from marktsim.config import CONFIG_DIR, register_schema
    from marktsim.experiments import compose_cache

    register_schema()
    loader = ConfigLoaderImpl(config_search_path=create_config_search_path(str(CONFIG_DIR)))
    sweep = loader.load_configuration("config", overrides=master, run_mode=RunMode.MULTIRUN)
    compose_cache._SHAPES.clear()
    fast = [compose_cache.load_sweep_config(loader, sweep, job) for job in jobs]  # shapes filled, then reused
    fast += [compose_cache.load_sweep_config(loader, sweep, job) for job in jobs]
    assert len(compose_cache._SHAPES) < len(jobs)  # some jobs really were composed from their shape
    shared = [OmegaConf.to_container(compose_cache.compose_shared(loader, sweep, job)) for job in jobs + jobs]
    for job, cfg, kept in zip(jobs + jobs, fast, shared):
        expected = compose_cache._HYDRA(loader, sweep, job)
        assert OmegaConf.to_container(cfg) == OmegaConf.to_container(expected) == kept, job
        assert cfg.hydra.job.override_dirname == expected.hydra.job.override_dirname


HYDRAS = {"basic": ["hydra.launcher._target_=hydra._internal.core_plugins.basic_launcher.BasicLauncher",
                    "hydra.sweeper._target_=hydra._internal.core_plugins.basic_sweeper.BasicSweeper"],
          "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                     "hydra.launcher._target_=hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
                     "hydra.sweeper._target_=hydra._internal.core_plugins.basic_sweeper.BasicSweeper"]}


def _job_files(root: Path) -> dict[str, dict]:
    """Each job folder (by its path under `root`): config.yaml's text, job.json, the tables."""
    out = {}
    for job in job_dirs(root):
        out[str(job.relative_to(root))] = {
            "config": (job / "config.yaml").read_text(), "job": json.loads((job / "job.json").read_text()),
            **{name: pd.read_parquet(job / f"{name}.parquet") for name in ("timeseries", "segments", "summary")}}
    return out


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_marktsims_launchers_run_the_jobs_hydras_own_launchers_run(tmp_path, launcher):
    """hydra_plugins/marktsim_launchers: the sweeper and launchers Hydra's names now stand for run
    the same jobs as Hydra's own classes (chosen by their _target_): the same folders, each with
    the same config.yaml text, job.json and tables, over config groups, plain values and a key
    that a group option also sets."""
    from marktsim.experiments import cli  # noqa: F401  (the marktsim command: it registers the launchers)
    from marktsim.config import compose_config

    ours = compose_config([f"hydra/launcher={launcher}"], hydra_node=True).hydra
    assert ours.launcher._target_.startswith("hydra_plugins.marktsim_launchers.")
    assert ours.sweeper._target_.startswith("hydra_plugins.marktsim_launchers.")
    sweep = ["-m", "strategy=retention_heavy,acquisition_heavy", "seed=0,1", "firm.budget_share=0.05,0.1",
             "market.n_customers=200", "horizon=6", "progress=off"]
    extra = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"] if launcher == "joblib" else []
    marktsim(*sweep, *extra, "hydra.sweep.dir=ours", cwd=tmp_path)
    marktsim(*sweep, *HYDRAS[launcher], "hydra.sweep.dir=hydras", cwd=tmp_path)
    a, b = _job_files(tmp_path / "ours"), _job_files(tmp_path / "hydras")
    assert len(a) == 8 and a.keys() == b.keys()
    for key in a:
        assert a[key]["config"] == b[key]["config"] and a[key]["job"] == b[key]["job"], key
        for name in ("timeseries", "segments", "summary"):
            pd.testing.assert_frame_equal(a[key][name], b[key][name])


def test_a_job_that_asks_more_of_hydra_is_run_by_hydras_run_job(tmp_path):
    """A sweep that wants Hydra's .hydra folder (hydra.output_subdir) or a change of directory
    (hydra.job.chdir) gets them: such jobs are run by Hydra's own run_job."""
    marktsim("-m", "seed=0,1", "market.n_customers=200", "horizon=3", "progress=off", "hydra.output_subdir=.hydra",
             "hydra.sweep.dir=saved", cwd=tmp_path)
    jobs = job_dirs(tmp_path / "saved")
    assert len(jobs) == 2 and all((job / ".hydra" / "config.yaml").is_file() for job in jobs)
    marktsim("-m", "seed=0,1", "market.n_customers=200", "horizon=3", "progress=off", "hydra.job.chdir=true",
             "hydra.sweep.dir=moved", cwd=tmp_path)
    assert len(job_dirs(tmp_path / "moved")) == 2
