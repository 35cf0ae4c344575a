"""Bad input and faults the way a careful user or a hostile file meets them (issue 18): every
value of a sweep checked before the first job, Hydra's flags no way around the check, one
process per sweep folder, Ctrl-C as one line with the sweep resumable, and a search that
gives up on a space the model refuses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marktsim.experiments.cli import hold_sweep, precheck

BIN = Path(sys.executable).parent


def marktsim(*args, cwd, timeout=600):
    return subprocess.run([str(BIN / "marktsim"), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HYDRA_FULL_ERROR": "0"})


def one_line(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def job_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("job.json"))


def test_a_bad_value_in_the_middle_of_a_long_sweep_stops_it_before_any_job(tmp_path):
    values = [f"{0.01 * i:.2f}" for i in range(1, 21)] + ["7"] + [f"{0.01 * i:.2f}" for i in range(21, 41)]
    assert len(values) > 20  # longer than the sweeps that are composed value by value
    proc = marktsim("-m", f"customers.bond_decay={','.join(values)}", "horizon=2", cwd=tmp_path)
    assert proc.returncode == 2
    assert "customers.bond_decay = 7" in one_line(proc)
    assert not (tmp_path / "results").exists()


def test_checks_across_keys_reach_every_value_of_a_long_sweep():
    degrees = [str(2 * i) for i in range(1, 16)] + ["7"] + [str(2 * i) for i in range(16, 31)]
    problem = precheck(["-m", "market.network=small_world", f"market.network_degree={','.join(degrees)}"])
    assert problem is not None and "market.network_degree = 7 is odd" in problem
    assert precheck(["-m", "market.network=small_world",
                     f"market.network_degree={','.join(d for d in degrees if d != '7')}"]) is None


def test_config_dir_flag_does_not_skip_the_check(tmp_path):
    own = tmp_path / "conf"
    (own / "experiment").mkdir(parents=True)
    for args, fragment in [(("--config-dir", str(own), "horizon=0"), "horizon = 0"),
                           ((f"--config-dir={own}", "-m", "horizon=3,0"), "horizon = 0"),
                           (("-cd", str(tmp_path / "missing"), "horizon=3"), "is not a folder")]:
        proc = marktsim(*args, cwd=tmp_path)
        assert proc.returncode == 2 and fragment in one_line(proc)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("weights", ["[1e308,1e308,1e308]", "[1e7,1,1]"])
def test_weights_that_would_overflow_are_refused(tmp_path, weights):
    proc = marktsim(f"firm.abc_weights={weights}", "horizon=2", cwd=tmp_path)
    assert proc.returncode == 2 and "firm.abc_weights" in one_line(proc) and "1e6" in one_line(proc)
    assert not (tmp_path / "results").exists()


def test_a_second_process_cannot_write_into_a_held_sweep_folder(tmp_path):
    folder = tmp_path / "sweep"
    args = ["-m", "seed=0,1", "market.n_customers=200", "horizon=3", f"hydra.sweep.dir={folder}"]
    lock = hold_sweep(args)
    assert lock is not None
    try:
        proc = marktsim(*args, cwd=tmp_path)
        assert proc.returncode == 2
        assert f"in use by another marktsim process (pid {os.getpid()})" in one_line(proc)
        assert job_dirs(folder) == []
    finally:
        lock.close()
    proc = marktsim(*args, cwd=tmp_path)  # released: the sweep runs
    assert proc.returncode == 0, proc.stderr
    assert len(job_dirs(folder)) == 2


def test_ctrl_c_ends_a_sweep_with_one_line_and_it_resumes(tmp_path):
    folder = tmp_path / "sweep"
    args = ["-m", "seed=0,1,2,3", "market.n_customers=60000", "horizon=120", f"hydra.sweep.dir={folder}",
            "progress=off"]
    # SIGINT as a terminal sends it, also when this test runs in a background job (which
    # ignores SIGINT, and a child would inherit that)
    proc = subprocess.Popen([str(BIN / "marktsim"), *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not job_dirs(folder):
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    assert 1 <= len(job_dirs(folder)) < 4  # interrupted in the middle
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == ["marktsim: interrupted; finished jobs are kept: rerun the same command to resume"], err
    done = marktsim(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(job_dirs(folder)) == 4


def test_a_search_gives_up_on_settings_the_model_refuses_every_time(tmp_path):
    from marktsim.config import ConfigError, load_config
    from marktsim.optimize.search import REFUSED_IN_A_ROW, Settings, Space, run_trials

    calls = []

    def refuse(cfg, reps):
        calls.append(cfg)
        raise ConfigError("invalid config: refused for the test")

    space = Space(budget_key="firm.budget_share", budget=(0.02, 0.2), rho=(0.0, 1.0))
    settings = Settings(overrides=[], config_dir=None, space={}, replicates=1, churn_max=None, seed=0)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    with pytest.raises(ConfigError, match=f"{REFUSED_IN_A_ROW} settings in a row were refused"):
        run_trials(url, load_config(["market.n_customers=200", "horizon=3"]), space, settings, 5, refuse)
    assert len(calls) == REFUSED_IN_A_ROW


@pytest.mark.parametrize("body, fragment", [
    ("point,chunk,market.n_customers\n0,0,300.5\n", "line 2, column market.n_customers: '300.5'; allowed: a whole number"),
    ("point,chunk,firm.crm\n0,0,maybe\n", "line 2, column firm.crm: 'maybe'; allowed: true or false"),
    ("point,chunk,market.n_customers\n0,0,300\n0,0,400\n", "line 3: point 0 appears twice"),
    ("point,chunk,market.n_customers\n0,-1,300\n", "column chunk: '-1'; allowed: a whole number >= 0"),
    ("point,chunk,firm.margin\n0,0,high\n", "column firm.margin: 'high'; allowed: a number"),
    ('point,chunk,market.n_customers\n0,0,300,1\n"\n', "is not a readable CSV"),
    ("market.n_customers\n300\n", "lacks column(s) chunk, point"),
])
def test_a_broken_design_file_is_named_with_its_line_and_column(tmp_path, body, fragment):
    (tmp_path / "d.csv").write_text(body)
    proc = marktsim("-m", "design.file=d.csv", "design.chunk=0", "horizon=2", cwd=tmp_path)
    assert proc.returncode == 2
    line = one_line(proc)
    assert "design.file = 'd.csv'" in line and fragment in line
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("name", ["../../x", "a/b", ".hidden"])
def test_an_experiment_name_cannot_lead_outside_the_results_folder(tmp_path, name):
    proc = marktsim(f"name={name}", "horizon=2", cwd=tmp_path)
    assert proc.returncode == 2 and "is not a plain folder name" in one_line(proc)
    assert not (tmp_path / "results").exists() and not (tmp_path.parent / "x").exists()


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep") / "s"
    proc = marktsim("-m", "seed=0,1", "market.n_customers=200", "horizon=3", f"hydra.sweep.dir={folder}",
                    cwd=folder.parent)
    assert proc.returncode == 0, proc.stderr
    return folder


def report(*args, cwd):
    return subprocess.run([str(BIN / "marktsim-report"), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_report_never_writes_through_a_link_or_into_a_file(small_sweep, tmp_path):
    import shutil

    sweep = tmp_path / "received"
    shutil.copytree(small_sweep, sweep)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (sweep / "report").symlink_to(elsewhere)
    proc = report(str(sweep), cwd=tmp_path)
    assert proc.returncode == 2 and "report is a symbolic link" in one_line(proc)
    assert list(elsewhere.iterdir()) == []

    (sweep / "report").unlink()
    shutil.rmtree(sweep / "dataset")  # partitions missing: the report would publish them
    (sweep / "dataset").symlink_to(elsewhere)
    proc = report(str(sweep), cwd=tmp_path)
    assert proc.returncode == 2 and "dataset is a symbolic link" in one_line(proc)
    assert list(elsewhere.iterdir()) == []

    (sweep / "dataset").unlink()
    (tmp_path / "a_file").write_text("kept")
    proc = report(str(sweep), "--out", str(tmp_path / "a_file"), cwd=tmp_path)
    assert proc.returncode == 2 and "is a file" in one_line(proc)
    assert (tmp_path / "a_file").read_text() == "kept"
    proc = report(str(sweep), cwd=tmp_path)  # without the links: the report is written
    assert proc.returncode == 0, proc.stderr
    assert (sweep / "report" / "report.md").is_file()


def test_a_sweep_hydra_refuses_leaves_no_folder_behind(tmp_path):
    folder = tmp_path / "parent" / "sweep"
    proc = marktsim("-m", "seed=0,1", "horizon=2", f"hydra.sweep.dir={folder}", "hydra.launcher.n_jobs=abc",
                    cwd=tmp_path)
    assert proc.returncode != 0
    assert (tmp_path / "parent").is_dir()  # precondition: the sweep folder was made and locked before Hydra
    assert not folder.exists()  # ... and given back with its lock when Hydra refused


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping is left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_joblib_workers_of_a_killed_sweep_stop_without_writing(tmp_path):
    """SIGKILL of a joblib sweep: its workers, busy with jobs, stop within seconds and never
    finish those jobs (a rerun started at once cannot race them)."""
    folder = tmp_path / "sweep"
    args = ["-m", "seed=range(0,4)", "market.n_customers=300000", "horizon=240", "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={folder}", "progress=off"]
    proc = subprocess.Popen([str(BIN / "marktsim"), *args], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    running: list[Path] = []
    while time.time() < deadline and proc.poll() is None and len(running) < 2:
        running = [d for d in job_dirs(folder) if not (d / "COMPLETE").exists()]
        time.sleep(0.05)
    time.sleep(1.0)  # both jobs under way
    workers = [p for p in _children(proc.pid) if b"LokyProcess" in Path(f"/proc/{p}/cmdline").read_bytes()]
    running = [d for d in job_dirs(folder) if not (d / "COMPLETE").exists()]
    assert proc.poll() is None and len(workers) == 2 and len(running) == 2, "two jobs run in two workers"
    proc.kill()
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "joblib's workers outlived their sweep"
    time.sleep(1.0)
    assert not any((d / "COMPLETE").exists() for d in running)
    assert not any((d / "timeseries.parquet").exists() for d in running)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_report_replaces_an_earlier_one_whole_and_never_a_users_folder(small_sweep, tmp_path):
    import shutil

    sweep = tmp_path / "s"
    shutil.copytree(small_sweep, sweep)
    assert report(str(sweep), cwd=tmp_path).returncode == 0
    (sweep / "report" / "stale.txt").write_text("from an older report")
    assert report(str(sweep), "--lang", "de", cwd=tmp_path).returncode == 0
    written = sorted(p.name for p in (sweep / "report").iterdir())
    assert "stale.txt" not in written and "report.md" in written  # the new report, whole, in place of the old
    assert "Jobs" in (sweep / "report" / "report.md").read_text()
    assert [p.name for p in sweep.iterdir() if p.name.startswith(".report")] == []  # no work folder left

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    proc = report(str(sweep), "--out", str(mine), cwd=tmp_path)
    assert proc.returncode == 2 and "holds other files" in one_line(proc)
    assert _tree(mine) == {"notes.txt": b"keep"}

    proc = report(str(sweep), "--out", "/proc/no/such/report", cwd=tmp_path)
    assert proc.returncode == 2 and "cannot be written" in one_line(proc)


def test_a_job_folder_reported_alone_writes_nothing_above_it(small_sweep, tmp_path):
    import shutil

    sweep = tmp_path / "s"
    shutil.copytree(small_sweep, sweep)
    shutil.rmtree(sweep / "dataset")  # the job's tables are not published yet
    job = sorted(p.parent for p in sweep.glob("*/COMPLETE"))[0]
    before = {p for p in _tree(sweep) if not p.startswith(job.name + "/")}
    proc = report(str(job), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (job / "report" / "report.md").is_file()
    assert {p for p in _tree(sweep) if not p.startswith(job.name + "/")} == before
    assert not (sweep / "dataset").exists()


def test_a_design_job_without_points_is_listed_and_skipped(small_sweep, tmp_path):
    import shutil

    sweep = tmp_path / "s"
    shutil.copytree(small_sweep, sweep)
    job = sorted(p.parent for p in sweep.glob("*/COMPLETE"))[0]
    (job / "design.csv").write_text("factor\n1\n")
    proc = report(str(sweep), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"skipped unreadable job {job}: design.csv has no column 'point'" in proc.stderr
