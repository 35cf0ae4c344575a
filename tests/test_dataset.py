"""A sweep's results as one Parquet dataset per table, partitioned by job key: only complete
jobs, readable lazily by pandas, pyarrow and DuckDB, and what marktsim-report reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest

from marktsim.analysis.report import load_sweep
from marktsim.experiments import store

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("dataset")
    subprocess.run([str(BIN / "marktsim"), "-m", "seed=0,1,2", "strategy.retention_share=0.2,0.8",
                    "market.n_customers=300", "horizon=12", "replicates=2", "progress=off", "hydra.sweep.dir=s"],
                   cwd=cwd, check=True, capture_output=True, timeout=600)
    return cwd / "s"


def test_every_complete_job_is_one_partition(sweep):
    jobs = [j for j in store.find_jobs(sweep) if j.complete]
    assert len(jobs) == 6
    for name in store.TABLES:
        frame = pd.read_parquet(sweep / "dataset" / name)
        assert sorted(frame.job.astype(str).unique()) == sorted(j.key for j in jobs)
        for job in jobs:  # the partition holds exactly the job's own table
            own = pd.read_parquet(job.path / f"{name}.parquet")
            part = frame[frame.job == job.key].drop(columns="job").reset_index(drop=True)
            pd.testing.assert_frame_equal(part, own, check_dtype=False)


def test_pyarrow_and_duckdb_read_it_lazily(sweep):
    duckdb = pytest.importorskip("duckdb")
    data = ds.dataset(sweep / "dataset" / "timeseries", partitioning="hive")
    focal = data.to_table(columns=["job", "tick", "share"], filter=ds.field("firm") == "focal")
    assert focal.num_rows == 6 * 2 * 12
    rows = duckdb.sql(
        f"SELECT job, count(*) AS n, avg(npv) AS npv FROM read_parquet('{sweep}/dataset/summary/*/*.parquet', "
        "hive_partitioning=true) WHERE firm = 'focal' GROUP BY job").df()
    assert len(rows) == 6 and (rows.n == 2).all()
    summary = pd.read_parquet(sweep / "dataset" / "summary", filters=[("firm", "==", "focal")])
    expected = summary.groupby(summary.job.astype(str)).npv.mean()
    assert rows.set_index("job").npv.sort_index().to_numpy() == pytest.approx(expected.sort_index().to_numpy())


def test_an_incomplete_job_is_not_in_the_dataset_and_old_sweeps_are_published(sweep, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sweep, copy)
    shutil.rmtree(copy / "dataset")  # a sweep written before datasets existed
    victim = sorted(p for p in copy.iterdir() if (p / "COMPLETE").is_file())[0]
    (victim / "COMPLETE").unlink()  # as if killed before its marker
    loaded = load_sweep(copy)
    assert victim.name not in set(loaded.summary.job)
    assert loaded.summary.job.nunique() == 5
    assert not (copy / "dataset" / "summary" / store.partition_name(victim.name)).exists()
    with pytest.raises(RuntimeError):
        store.publish(victim, victim.name)


def test_report_reads_only_the_focal_firm_time_series(sweep):
    loaded = load_sweep(sweep, firms=("focal",))
    assert set(loaded.timeseries.firm) == {"focal"} and set(loaded.summary.firm) > {"focal"}
    assert loaded.timeseries.run.nunique() == 12
