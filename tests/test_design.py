"""Designs beyond grids: Latin hypercube, Sobol and grid designs, run in chunks per job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marktsim.config import ConfigError, load_config
from marktsim.experiments.design import Factor, chunked, make_design, parse_factor, read_design
from marktsim.simulation import simulate

BIN = Path(sys.executable).parent


def run(tool, *args, cwd, check=True):
    proc = subprocess.run([str(BIN / tool), *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    if check and proc.returncode:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def test_latin_hypercube_hits_every_stratum_once_per_factor():
    n = 40
    design = make_design([Factor("strategy.retention_share", 0.0, 1.0), Factor("firm.budget_share", 0.0, 0.2)],
                         "lhs", n, seed=3)
    for key, (low, high) in {"strategy.retention_share": (0, 1), "firm.budget_share": (0, 0.2)}.items():
        strata = np.floor((design[key] - low) / (high - low) * n).astype(int)
        assert sorted(strata) == list(range(n))


def test_sobol_is_reproducible_from_its_seed_and_needs_a_power_of_two():
    factors = [Factor("customers.churn_base", 0.001, 0.01), Factor("firm.priority", levels=("fifo", "existing_first"))]
    a, b, c = (make_design(factors, "sobol", 32, seed=s) for s in (1, 1, 2))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert set(a["firm.priority"]) == {"fifo", "existing_first"}
    with pytest.raises(ConfigError, match="power of two"):
        make_design(factors, "sobol", 30, seed=1)


def test_grid_is_the_product_of_levels_and_integers_are_rounded():
    design = make_design([Factor("market.n_customers", 100, 300), Factor("market.network", levels=("global", "small_world"))],
                         "grid", 3)
    assert len(design) == 6 and set(design["market.n_customers"]) == {100, 200, 300}
    assert list(chunked(design, 4).chunk) == [0, 0, 0, 0, 1, 1]


@pytest.mark.parametrize("spec, fragment", [
    ("firm.nonsense=0:1", "unknown key firm.nonsense"),
    ("strategy.retention_share=0:2", "out of range"),
    ("strategy.retention_share=0.5:0.1", "low must be below high"),
    ("firm.priority=0:1", "not numeric"),
    ("firm.priority=fifo,fastest", "'fastest' is not an option"),
    ("firm.priority=fifo", "at least two levels"),
    ("no_equals", "expected key=low:high"),
])
def test_bad_factors_are_refused_by_name(spec, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_factor(spec)


def test_design_command_writes_once_and_never_overwrites(tmp_path):
    args = ["--method", "lhs", "--points", "8", "--chunk", "3", "--factor", "strategy.retention_share=0:1",
            "--out", "d.csv"]
    out = run("marktsim-design", *args, cwd=tmp_path)
    assert "8 points in 3 chunk(s)" in out.stdout
    first = (tmp_path / "d.csv").read_bytes()
    again = run("marktsim-design", *args, cwd=tmp_path, check=False)
    assert again.returncode == 2 and "never overwritten" in again.stderr
    assert (tmp_path / "d.csv").read_bytes() == first
    bad = run("marktsim-design", "--factor", "firm.margin=0:3", "--out", "e.csv", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "firm.margin" in bad.stderr and not (tmp_path / "e.csv").exists()


def test_a_design_sweep_runs_each_point_once_reproducibly(tmp_path):
    run("marktsim-design", "--method", "lhs", "--points", "5", "--seed", "2", "--chunk", "2", "--factor",
        "strategy.retention_share=0:1", "--factor", "firm.priority=fifo,existing_first", "--out", "d.csv", cwd=tmp_path)
    run("marktsim", "-m", "design.file=d.csv", "design.chunk=range(0,3)", "market.n_customers=200", "horizon=8",
        "replicates=2", "progress=off", "hydra.sweep.dir=sweep", cwd=tmp_path)
    jobs = sorted(p.parent for p in (tmp_path / "sweep").rglob("COMPLETE"))
    assert len(jobs) == 3
    summary = pd.concat(pd.read_parquet(j / "summary.parquet") for j in jobs)
    assert sorted(summary.point.unique()) == [0, 1, 2, 3, 4]
    assert (summary.groupby("point").replicate.nunique() == 2).all()
    # point 3 equals a direct run of the defaults with its values: reproducible from config and seed
    design = read_design(tmp_path / "d.csv").set_index("point")
    values = design.loc[3]
    direct = simulate(load_config(["market.n_customers=200", "horizon=8",
                                   f"strategy.retention_share={values['strategy.retention_share']}",
                                   f"firm.priority={values['firm.priority']}"]), replicates=2).summary
    mine = summary[summary.point == 3].drop(columns="point").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, direct, check_categorical=False)
    report = run("marktsim-report", "sweep", cwd=tmp_path)
    assert (tmp_path / "sweep" / "report" / "design.png").is_file()
    table = pd.read_csv(tmp_path / "sweep" / "report" / "summary.csv")
    assert set(table.condition) == {f"point={p}" for p in range(5)}
    assert "report.md" in report.stdout


@pytest.mark.parametrize("args, fragment", [
    (["design.file=missing.csv", "design.chunk=0"], "does not exist"),
    (["design.file=d.csv"], "both set"),
    (["design.file=d.csv", "design.chunk=9"], "design.chunk = 9"),
])
def test_bad_design_settings_fail_with_one_line_and_no_job_folder(tmp_path, args, fragment):
    run("marktsim-design", "--points", "4", "--chunk", "2", "--factor", "strategy.retention_share=0:1",
        "--out", "d.csv", cwd=tmp_path)
    proc = run("marktsim", *args, "horizon=2", "market.n_customers=100", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and fragment in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()
