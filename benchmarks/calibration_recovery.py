"""Do marktsim-calibrate's intervals cover the truth at their nominal rate? A recovery study.

    python benchmarks/calibration_recovery.py --datasets 30 --jobs 2 --out benchmarks/calibration_recovery.json

Each synthetic data set is a cohort of 1 000 customers simulated by marktsim itself at known
parameter values (beta propensities with α, β near those calibrated to Fader & Hardie's regular
cohort; the default customer behaviour otherwise: satisfaction, bond, B2B), observed for seven
years, each with a seed of its own. Each is calibrated with marktsim-calibrate's defaults (the
heterogeneity parameters, N = 20 000 simulated customers, 40 + 60 candidates, no band), and the
study counts how often the reported 95 % interval holds the true value, per parameter and
jointly, with the binomial standard error of that share. The result is a table in
docs/validation.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TRUTH = {"customers.propensity_alpha": 0.65, "customers.propensity_beta": 0.9}
COHORT = ["market=growing", "market.adopted_share=1", "market.n_competitors=0", "firm.budget=0", "firm.capacity=null",
          "market.acquisition_max=0", "customers.wom_positive=0", "customers.initial_tenure_mean=0",
          "customers.propensity=beta"]
DATA_SIZE, SIM_SIZE, YEARS = 1000, 20_000, 7


def synthetic(index: int, folder: Path) -> Path:
    """A cohort of DATA_SIZE simulated at TRUTH with seed 1000 + index: survivors per year."""
    from marktsim.calibration.fit import simulate
    from marktsim.calibration.data import Survival
    from marktsim.config import load_config

    cfg = load_config(COHORT + [f"market.n_customers={DATA_SIZE}", f"horizon={12 * YEARS}", f"seed={1000 + index}",
                                *(f"{k}={v}" for k, v in TRUTH.items())])
    shares = simulate(cfg, Survival(np.zeros(YEARS + 1, dtype=np.int64), "synthetic"), 12, [0])[0]
    path = folder / f"cohort_{index}.csv"
    path.write_text("period,survivors\n" + "".join(f"{t},{round(s * DATA_SIZE)}\n" for t, s in enumerate(shares)))
    return path


def one(index: int, folder: str) -> dict:
    import marktsim
    from marktsim.calibration import Search

    started = time.time()
    data = synthetic(index, Path(folder))
    result = marktsim.calibrate(data, out=Path(folder) / f"out_{index}", search=Search(bands=0),
                                overrides=COHORT + [f"market.n_customers={SIM_SIZE}"])
    rows = result.parameters.set_index("key")
    covered = {k: bool(rows.loc[k, "low"] <= v <= rows.loc[k, "high"]) for k, v in TRUTH.items()}
    return {"index": index, "seconds": time.time() - started, "covered": covered,
            "estimate": rows.estimate.to_dict(), "low": rows.low.to_dict(), "high": rows.high.to_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/calibration_recovery.json")
    args = parser.parse_args(argv)
    from joblib import Parallel, delayed

    started = time.time()
    with tempfile.TemporaryDirectory() as folder:
        runs = Parallel(n_jobs=args.jobs)(delayed(one)(i, folder) for i in range(args.datasets))
    n = len(runs)
    summary = {}
    for key in [*TRUTH, "joint"]:
        hits = sum(all(r["covered"].values()) if key == "joint" else r["covered"][key] for r in runs)
        share = hits / n
        summary[key] = {"covered": hits, "datasets": n, "share": share, "se": float(np.sqrt(0.95 * 0.05 / n))}
    out = {"truth": TRUTH, "data_size": DATA_SIZE, "simulated": SIM_SIZE, "years": YEARS, "summary": summary,
           "wall_seconds": time.time() - started, "jobs": args.jobs, "runs": runs}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    for key, s in summary.items():
        print(f"{key:32s} {s['covered']}/{s['datasets']} = {s['share']:.2f} (nominal 0.95 ± {s['se']:.3f})")
    print(f"wall time {out['wall_seconds']:.0f} s on {args.jobs} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
