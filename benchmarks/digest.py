"""Fingerprints of a fixed set of runs, to show that a speed change leaves results bit-identical.

    python benchmarks/digest.py --save before.json     # on the old code
    python benchmarks/digest.py --check before.json    # on the new code: exit 1 on any change

Every run's books (timeseries), segment figures and final customer columns are hashed
(SHA-256 of the raw bytes). The runs are those of tests/test_compiled.py (every branch of the
kernels: priorities, targeting, delay communication, campaigns, adaptive and capacity-aware
policies, global mixing, a growing market, B2B, long and zero backlogs, one firm) plus one
large enough for the blocked paths. The engine is the environment's (MARKTSIM_ENGINE).
Floating-point results may differ between CPUs and numpy builds, so compare digests made on
one machine with one environment; this is a benchmark-side check, not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from marktsim.config import load_config
from marktsim.model import MarketModel

# the configurations of tests/test_compiled.py (each branch of the kernels), and one large
# enough for the blocked paths (numpy's blocked contact count, the compiled engine's blocks)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from engine_cases import CASES  # noqa: E402

RUNS = {**CASES, "large_blocked": ["market.n_customers=300000", "horizon=6"]}
# customer columns and timeseries metrics added after digests were first made, with the value
# that changes nothing: left out of the hash while they hold it, so that digests made before
# they existed still compare (``left``, last tick's leavers, is derived state and never hashed)
NEUTRAL_COLUMNS = {"propensity": 1.0, "deal_prone": False, "contract": False, "won_incentive": False}
DERIVED_COLUMNS = {"left"}
FIRST_METRICS = 32  # the metrics of the first digests; the later ones are hashed only when non-zero


def digest(overrides: list[str], horizon: int = 60, n: int = 5000) -> str:
    base = [f"horizon={horizon}", f"market.n_customers={n}"]
    cfg = load_config(base + overrides)
    h = hashlib.sha256()
    for replicate in range(2):
        model = MarketModel(cfg, replicate=replicate).run()
        records = model.records()
        if not records[:, :, FIRST_METRICS:].any():
            records = records[:, :, :FIRST_METRICS]
        h.update(np.ascontiguousarray(records).tobytes())
        h.update(np.ascontiguousarray(model.segment_records()).tobytes())
        for name, column in vars(model.columns).items():
            if name in DERIVED_COLUMNS or (name in NEUTRAL_COLUMNS and np.all(column == NEUTRAL_COLUMNS[name])):
                continue
            h.update(name.encode())
            h.update(np.ascontiguousarray(column).tobytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", metavar="FILE")
    group.add_argument("--check", metavar="FILE")
    args = parser.parse_args(argv)
    digests = {name: digest(overrides) for name, overrides in RUNS.items()}
    if args.save:
        with open(args.save, "w") as f:
            json.dump(digests, f, indent=1)
        print(f"saved {len(digests)} digests to {args.save}")
        return 0
    with open(args.check) as f:
        before = json.load(f)
    changed = [name for name in RUNS if before.get(name) != digests[name]]
    for name in RUNS:
        print(f"{name:24s} {'CHANGED' if name in changed else 'same'}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
