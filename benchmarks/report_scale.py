"""The report of a sweep of 10 000 jobs: write the jobs, then time marktsim-report on them.

    python benchmarks/report_scale.py --jobs 10000 --out /tmp/report-10k

Each job is a real run (N = 100, T = 60, one replicate, its own seed) written the way the
command line writes it (job.json, the three tables, config, metadata, COMPLETE, and its
partition of the sweep's dataset). Jobs are written in this process rather than through
Hydra, whose per-job start-up (about 50 ms) is measured by the sweep rows of run.py; this
benchmark measures the report's reading and aggregation at 10 000 jobs.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

from marktsim.config import load_config
from marktsim.experiments import store
from marktsim.simulation import run_replicate


def write_jobs(sweep: Path, n: int) -> float:
    started = time.time()
    base = OmegaConf.to_container(load_config(["market.n_customers=100", "horizon=60"]))
    for i in range(n):
        key = f"seed={i}"
        folder = sweep / key
        folder.mkdir(parents=True, exist_ok=True)
        store.write_json(folder / store.JOB_FILE, {"key": key, "overrides": [key], "status": "running"})
        cfg = OmegaConf.create({**base, "seed": i})
        results = run_replicate(cfg, 0)
        store.write_job(folder, results, OmegaConf.to_yaml(cfg), {"key": key, "seed": i})
        store.publish(folder, key)
    return time.time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--out", required=True, help="a new folder for the sweep")
    args = parser.parse_args()
    sweep = Path(args.out)
    if sweep.exists():
        raise SystemExit(f"{sweep} exists; choose a new folder")
    written = write_jobs(sweep, args.jobs)
    started = time.time()
    proc = subprocess.run([str(Path(sys.executable).parent / "marktsim-report"), str(sweep)], capture_output=True,
                          text=True)
    report = time.time() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode:
        raise SystemExit(proc.stderr)
    print(f"{args.jobs} jobs written in {written:.1f} s; marktsim-report {report:.1f} s, peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
