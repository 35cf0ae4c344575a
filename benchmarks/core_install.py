"""The core install, measured (benchmarks/RESULTS.md, "Core install"): a fresh virtual environment
with `pip install <project>` and no extras; its size on disk, the time of `marktsim --help`
(median of 10, after one warm-up), one small run, and the one-line answers of the commands whose
extra is missing.

    python benchmarks/core_install.py --venv /tmp/marktsim-core     (the folder must not exist)

Needs network access to PyPI (or a pip cache) and about a minute; not part of `make bench`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# commands of features that need an extra, and the extra their one line must name
NEEDS_EXTRA = [
    (["marktsim-dashboard"], "dashboard"),
    (["marktsim-optimize", "--study", "{tmp}/study"], "optimize"),
    (["marktsim", "-m", "experiment=sensitivity", "hydra.sweep.dir={tmp}/sens"], "optimize"),
    (["marktsim", "-m", "hydra/launcher=slurm", "seed=1,2", "hydra.sweep.dir={tmp}/slurm"], "slurm"),
]


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", required=True, help="folder for the new environment (must not exist)")
    venv = Path(parser.parse_args().venv)
    if venv.exists():
        print(f"core_install: --venv {venv}: exists; allowed: a folder that does not exist yet", file=sys.stderr)
        return 2
    bin_ = venv / "bin"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([bin_ / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([bin_ / "python", "-m", "pip", "install", "--quiet", str(ROOT)], check=True)
    install_s = time.perf_counter() - start
    packages = subprocess.run([bin_ / "python", "-m", "pip", "list", "--format=freeze"], capture_output=True,
                              text=True, check=True).stdout.split()
    site = next((venv / "lib").glob("python3*/site-packages"))
    subprocess.run([bin_ / "marktsim", "--help"], capture_output=True, check=True)  # warm-up (bytecode, disk cache)
    times = []
    for _ in range(10):
        t = time.perf_counter()
        subprocess.run([bin_ / "marktsim", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([bin_ / "marktsim", "market.n_customers=200", "horizon=3", "replicates=2",
                              f"hydra.run.dir={tmp}/run/job"], capture_output=True, text=True)
        ran = run.returncode == 0 and (Path(tmp) / "run" / "job" / "COMPLETE").exists()
        answers = []
        for command, extra in NEEDS_EXTRA:
            proc = subprocess.run([bin_ / command[0], *(a.format(tmp=tmp) for a in command[1:])],
                                  capture_output=True, text=True)
            line = proc.stderr.strip()
            ok = proc.returncode == 2 and "\n" not in line and f"marktsim[{extra}]" in line
            answers.append((" ".join(command[:2]), ok, line))
    print(f"- Python {sys.version.split()[0]}, `pip install .` with no extras: {len(packages)} packages, "
          f"{size_mb(venv):.0f} MB for the whole environment ({size_mb(site):.0f} MB in site-packages), "
          f"{install_s:.0f} s to install (pip cache warm or cold as it was)")
    print(f"- `marktsim --help`: median {statistics.median(times):.2f} s over 10 runs "
          f"(min {min(times):.2f}, max {max(times):.2f})")
    print(f"- a run of 200 customers × 3 ticks × 2 replicates: {'complete' if ran else 'FAILED: ' + run.stderr[-300:]}")
    for command, ok, line in answers:
        print(f"- `{command} …` without its extra: {'one line, exit 2' if ok else 'NOT one line'}: {line}")
    return 0 if ran and all(ok for _, ok, _ in answers) else 1


if __name__ == "__main__":
    sys.exit(main())
