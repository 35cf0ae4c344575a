"""hydra/launcher=ray: a sweep on a local Ray cluster started by the test gives the same results
as the sequential run."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("hydra_plugins.hydra_ray_launcher")

BIN = Path(sys.executable).parent
SWEEP = ["-m", "seed=range(0,4)", "strategy=retention_heavy,acquisition_heavy", "market.n_customers=400", "horizon=18",
         "replicates=2", "progress=off"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """A one-node Ray cluster on 127.0.0.1 with two CPUs, stopped afterwards."""
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    port = free_port()
    ray = str(BIN / "ray")
    start = subprocess.run([ray, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                            "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                           capture_output=True, text=True, timeout=180)
    assert start.returncode == 0, start.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def tables(sweep: Path) -> dict[str, pd.DataFrame]:
    return {p.parent.name: pd.read_parquet(p) for p in sorted(sweep.glob("*/timeseries.parquet"))}


def test_ray_sweep_equals_the_sequential_sweep(tmp_path, ray_cluster):
    run = lambda *a: subprocess.run([str(BIN / "marktsim"), *SWEEP, *a], cwd=tmp_path, capture_output=True,  # noqa: E731
                                    text=True, timeout=600)
    sequential = run("hydra.sweep.dir=sequential")
    assert sequential.returncode == 0, sequential.stderr
    on_ray = run("hydra/launcher=ray", f"hydra.launcher.ray.init.address={ray_cluster}", "hydra.sweep.dir=ray")
    assert on_ray.returncode == 0, on_ray.stderr
    assert "ConfigStore schema" not in on_ray.stderr
    a, b = tables(tmp_path / "sequential"), tables(tmp_path / "ray")
    assert a.keys() == b.keys() and len(a) == 8
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key])
    assert all((tmp_path / "ray" / key / "COMPLETE").is_file() for key in b)
    summary = pd.read_parquet(tmp_path / "ray" / "dataset" / "summary")
    assert summary.job.nunique() == 8
