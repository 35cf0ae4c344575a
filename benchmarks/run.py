"""marktsim benchmarks: every figure of issue 4, measured in one run on this machine.

    python benchmarks/run.py [--quick] [--skip-sweep] [--skip-10m]

Prints one line per figure, each with the goal, and ratios against a baseline measured in
the same run (never against stored numbers). Timings are wall-clock, best of several
repetitions where a figure is cheap enough to repeat. Memory is the peak resident set size
of a fresh process, less that of the same process at N = 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENGINES = ("numpy", "compiled")
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))

# every mechanism of issue 14 switched on (docs/model.md §7.1, 7.6, 7.8): price incentives for
# the focal firm and its rivals, deal-prone customers, churn contagion, protective word of
# mouth, switching costs, contracts for B2B and B2C customers, rivals on equal terms (finite,
# costed capacity); the calibrated beta churn propensities are on by default
MECHANISMS = ["competitors=equal_terms", "strategy.incentive_share=0.2", "customers.deal_prone_share=0.3",
              "customers.churn_contagion=5", "customers.wom_protection=0.5", "customers.switching_cost=0.2",
              "customers.contract_share_b2b=0.5", "customers.contract_share_b2c=0.2"]


def engine_rate(n: int, ticks: int, repeats: int = 1, engine: str = "compiled",
                extra: tuple[str, ...] = (), threads: int = 1) -> float:
    """Customer-ticks per second of an engine on the default saturated configuration plus the
    overrides `extra`, on `threads` threads (the compiled engine's kernels are loaded before
    timing: loading is start-up, measured apart)."""
    from marktsim.config import load_config
    from marktsim.model import MarketModel

    cfg = load_config([f"market.n_customers={n}", f"horizon={ticks}", *extra])
    if engine == "compiled":
        MarketModel(load_config(["market.n_customers=100", "horizon=1", *extra]), engine=engine).run()
    best = float("inf")
    for _ in range(repeats):
        model = MarketModel(cfg, engine=engine, threads=threads)
        start = time.perf_counter()
        model.run()
        best = min(best, time.perf_counter() - start)
    return n * ticks / best


def thread_speedup(n: int, ticks: int, threads: int, rounds: int = 5) -> tuple[float, float]:
    """One run of the compiled engine on `threads` threads against one thread: the best of
    `rounds` alternating timings of each (this machine's speed drifts by ±25 % within minutes,
    so the two are timed in turns); returns (one-thread rate, speed-up)."""
    one = many = 0.0
    for _ in range(rounds):
        one = max(one, engine_rate(n, ticks, threads=1))
        many = max(many, engine_rate(n, ticks, threads=threads))
    return one, many / one


def same_bits_on_threads(n: int, ticks: int, threads: int) -> bool:
    """Whether a run on `threads` threads gives one thread's tables and customer columns."""
    import numpy as np

    from marktsim.config import load_config
    from marktsim.model import MarketModel

    cfg = load_config([f"market.n_customers={n}", f"horizon={ticks}"])
    runs = [MarketModel(cfg, engine="compiled", threads=t).run() for t in (1, threads)]
    return (all(np.array_equal(a, b, equal_nan=True) for a, b in
                ((runs[0].records(), runs[1].records()), (runs[0].segment_records(), runs[1].segment_records())))
            and all(np.array_equal(a, getattr(runs[1].columns, name)) for name, a in vars(runs[0].columns).items()))


# What each pass of the compiled engine reads and writes per customer (engine/compiled.py; the
# default configuration: uniform retention spend, a network). "contacts" stands for the contact
# list (indptr entry, one int32 index per contact) and the contacts' one-byte opinion codes;
# "uniform" for the float64 drawn and read once per customer. Per-firm sums and the per-block
# temporaries stay in the caches and are not counted.
PASSES = {
    "tally": (["provider", "tenure", "units", "backlog"], []),
    "serve_and_experience": (["provider", "tenure", "backlog", "units", "value", "satisfaction", "known",
                              "won_incentive", "cells"], ["backlog", "satisfaction"]),
    "retain_and_signal": (["provider", "bond", "deal_prone", "backlog", "satisfaction", "left"], ["bond", "codes"]),
    "word_of_mouth_and_decide": (["contacts", "uniform", "provider", "deal_prone", "satisfaction", "bond",
                                  "won_incentive", "tenure", "b2b", "propensity", "contract"], ["uniform"]),
    "close": (["provider", "backlog", "satisfaction", "bond", "won_incentive", "cells", "tenure"],
              ["tenure", "known", "left"]),
}


def state_bytes_per_customer_tick(n: int = 10_000) -> int:
    """Bytes of customer state the compiled engine reads and writes per customer and tick
    (``PASSES``), from the columns' real dtypes and widths in the default configuration."""
    from marktsim.config import load_config
    from marktsim.model import MarketModel

    model = MarketModel(load_config([f"market.n_customers={n}", "horizon=1"]), engine="numpy")
    columns = vars(model.columns)
    network = model.market.network
    degree = network.indices.shape[0] / n if network is not None else 0.0
    size = {name: column.itemsize * (column.shape[1] if column.ndim > 1 else 1) for name, column in columns.items()}
    size.update(cells=1, codes=1, uniform=8,
                contacts=(network.indptr.itemsize + degree * (network.indices.itemsize + 1)) if network else 0)
    return round(sum(size[c] for read, written in PASSES.values() for c in read + written))


def copy_bandwidth(threads: int = 1, megabytes: int = 256) -> float:
    """Bytes per second read plus written by numpy copying arrays far larger than the caches,
    on `threads` threads at once (each its own pair of arrays), best of 5."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    pairs = [(np.ones(megabytes << 17), np.empty(megabytes << 17)) for _ in range(threads)]
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(5):
            start = time.perf_counter()
            list(pool.map(lambda pair: np.copyto(pair[1], pair[0]), pairs))
            best = min(best, time.perf_counter() - start)
    return 2 * threads * (megabytes << 20) / best


def contact_count_cost(n: int) -> float:
    """ns per customer of counting promoters and detractors per contact (§2.5, 4 firms)."""
    import numpy as np

    from marktsim.engine import network

    rng = np.random.default_rng(0)
    graph = network.small_world(n, 10, 0.1, rng)
    codes = rng.integers(0, 9, size=n).astype(np.int8)
    graph.count_codes(codes, 8)  # warm up (row keys of a one-block network are kept)
    start = time.perf_counter()
    for _ in range(3):
        graph.count_codes(codes, 8)
    return (time.perf_counter() - start) / 3 / n * 1e9


def reference_rate(n: int, ticks: int, extra: tuple[str, ...] = ()) -> float:
    """Customer-ticks per second of the per-agent Mesa reference (benchmarks/mesa_reference.py)
    on the default configuration plus the overrides `extra`."""
    from mesa_reference import ReferenceModel

    from marktsim.config import load_config

    model = ReferenceModel(load_config([f"market.n_customers={n}", *extra]), seed=0)
    start = time.perf_counter()
    for _ in range(ticks):
        model.step()
    return n * ticks / (time.perf_counter() - start)


def peak_memory_per_customer(n: int, engine: str = "compiled", extra: tuple[str, ...] = ()) -> float:
    """Peak RSS (bytes) of building the model and running 2 ticks, less the same at N = 1, per
    customer; both with the same engine (the compiled one brings numba's ~100 MB, which is not a
    cost per customer) and the same overrides `extra`."""
    code = (
        "import sys\n"
        "from marktsim.config import load_config\n"
        "from marktsim.model import MarketModel\n"
        "m = MarketModel(load_config([f'market.n_customers={sys.argv[1]}', 'horizon=2', *sys.argv[3:]]),"
        " engine=sys.argv[2])\n"
        "m.run()\n"
        "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))\n"
    )
    # VmHWM (this process's peak resident set, in KiB) rather than ru_maxrss, which Linux carries
    # over from the parent across fork and exec: after a large run in this process it reads high

    def rss(size: int) -> int:
        out = subprocess.run([sys.executable, "-c", code, str(size), engine, *extra], capture_output=True, text=True,
                             check=True)
        return int(out.stdout.strip()) * 1024

    base = rss(1)
    for _ in range(2):  # a zero or negative difference is a failed reading: measure again
        per_customer = (rss(n) - base) / n
        if per_customer > 0:
            return per_customer
    raise RuntimeError(f"peak RSS at N={n} was not above that at N=1")


def command_time(args: list[str], cwd: Path, repeats: int = 3, env: dict | None = None) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, cwd=cwd, capture_output=True, check=True, env={**os.environ, **(env or {})})
        best = min(best, time.perf_counter() - start)
    return best


def sweep_time(cwd: Path, conditions: int = 50, replicates: int = 20, env: dict | None = None) -> float:
    """Wall time of the documented parallel sweep: `conditions` values of rho × `replicates`."""
    values = ",".join(f"{i / (conditions - 1):.4f}" for i in range(conditions))
    args = [str(BIN / "marktsim"), "-m", f"strategy.retention_share={values}", f"replicates={replicates}",
            "market.n_customers=10000", "horizon=120", "hydra/launcher=joblib", "progress=off",
            f"results_dir={cwd / 'sweep'}"]
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, capture_output=True, check=True, env={**os.environ, **(env or {})})
    return time.perf_counter() - start


def sweep_ideal(conditions: int = 50, replicates: int = 20) -> float:
    """Issue 20's ideal for the documented sweep: its customer-ticks divided by (cores × the
    one-process compiled engine rate at N = 10,000, T = 120, measured now)."""
    rate = engine_rate(10_000, 120, repeats=3, engine="compiled")
    return conditions * replicates * 10_000 * 120 / ((os.cpu_count() or 1) * rate)


def design_sweep_time(cwd: Path, conditions: int = 50, replicates: int = 20) -> float:
    """The documented sweep's runs as design points: a 50-level grid over rho in one chunk per
    core, each job running its points in one process (joblib), design written first."""
    cores = os.cpu_count() or 1
    design = cwd / "rho_grid.csv"
    start = time.perf_counter()
    subprocess.run([str(BIN / "marktsim-design"), "--method", "grid", "--points", str(conditions),
                    "--chunk", str(-(-conditions // cores)), "--factor", "strategy.retention_share=0:1",
                    "--out", str(design)], cwd=cwd, capture_output=True, check=True)
    subprocess.run([str(BIN / "marktsim"), "-m", f"design.file={design}", f"design.chunk=range(0,{cores})",
                    f"replicates={replicates}", "market.n_customers=10000", "horizon=120", "hydra/launcher=joblib",
                    "progress=off", f"hydra.sweep.dir={cwd / 'design_sweep'}"], cwd=cwd, capture_output=True, check=True)
    return time.perf_counter() - start


def per_job_overhead(cwd: Path, jobs: int, launcher: str) -> tuple[float, float]:
    """Start-up cost per job (issue 18): a sweep of `jobs` tiny jobs (200 customers, 3 ticks,
    whose simulation is about a millisecond) with `launcher`. Returns (wall seconds of the
    sweep, seconds per job beyond the command's own start, measured by a 1-job sweep)."""
    def sweep(n: int, name: str) -> float:
        args = [str(BIN / "marktsim"), "-m", f"seed=range(0,{n})", "market.n_customers=200", "horizon=3",
                f"hydra/launcher={launcher}", "progress=off", f"hydra.sweep.dir={cwd / name}"]
        start = time.perf_counter()
        subprocess.run(args, cwd=cwd, capture_output=True, check=True)
        return time.perf_counter() - start

    one = sweep(1, f"one_{launcher}")
    wall = sweep(jobs, f"many_{launcher}")
    return wall, (wall - one) / (jobs - 1)


def ten_thousand_runs(cwd: Path) -> tuple[float, float]:
    """10 000 runs (N = 2 000, T = 60) end to end: a 1 000-point Latin hypercube over ρ and
    the budget, 10 replicates per point, 50 points per job (20 jobs), joblib on the local
    cores. Returns (wall seconds for the design + sweep, seconds for the report)."""
    start = time.perf_counter()
    subprocess.run([str(BIN / "marktsim-design"), "--method", "lhs", "--points", "1000", "--chunk", "50",
                    "--factor", "strategy.retention_share=0:1", "--factor", "firm.budget_share=0.02:0.16",
                    "--out", str(cwd / "design.csv")], cwd=cwd, capture_output=True, check=True)
    subprocess.run([str(BIN / "marktsim"), "-m", f"design.file={cwd / 'design.csv'}", "design.chunk=range(0,20)",
                    "replicates=10", "market.n_customers=2000", "horizon=60", "hydra/launcher=joblib",
                    "progress=off", f"hydra.sweep.dir={cwd / 'ten_k'}"], cwd=cwd, capture_output=True, check=True)
    sweep = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([str(BIN / "marktsim-report"), str(cwd / "ten_k")], cwd=cwd, capture_output=True, check=True)
    return sweep, time.perf_counter() - start


def dashboard_step_ms(n: int = 2_000, months: int = 60) -> float:
    """Milliseconds per step of the dashboard at N = `n` (issue 19: at most 150), drawing
    included: the model's step and the charts and customer view rendered to PNG as the server
    does (`marktsim.dashboard.app.step_and_draw`), median over `months` steps after 12."""
    import statistics
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    from marktsim.dashboard.app import model_class, step_and_draw

    model = model_class("en")(n_customers=n)
    for _ in range(12):
        step_and_draw(model)
    times = []
    for _ in range(months):
        start = time.perf_counter()
        step_and_draw(model)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import mesa
    import numpy

    return (f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, numpy {numpy.__version__}, "
            f"mesa {mesa.__version__}; {time.strftime('%Y-%m-%d')}")


def mechanisms(n_ref: int, top: int, mem_n: int) -> None:
    """Issue 14's speed goals with every mechanism on (MECHANISMS), the reference running the
    same mechanisms: compiled engine >= 300x the reference at N = 100,000, cost per customer-tick
    at the top size within 1.5x of 100,000, <= 100 bytes per customer."""
    extra = tuple(MECHANISMS)
    ref = reference_rate(n_ref, 2, extra)
    print(f"every mechanism on: reference N={n_ref:,}: {ref:,.0f} customer-ticks/s")
    rates = {}
    for n in sorted({n_ref, 100_000, top}):
        ticks = max(3, min(120, 2_000_000 // n * 3))
        rates[n] = engine_rate(n, ticks, repeats=3 if n <= 100_000 else 1, engine="compiled", extra=extra)
        print(f"every mechanism on: compiled N={n:>10,}: {rates[n]:14,.0f} customer-ticks/s ({ticks} ticks)")
    print(f"every mechanism on: compiled / reference at N={n_ref:,}: {rates[n_ref] / ref:.1f}x   (goal >= 300x)")
    print(f"every mechanism on: compiled cost per customer-tick at N={top:,} / at N=100,000: "
          f"{rates[100_000] / rates[top]:.2f}x   (goal <= 1.5x)")
    print(f"every mechanism on: compiled peak memory per customer at N={mem_n:,}: "
          f"{peak_memory_per_customer(mem_n, 'compiled', extra):.0f} bytes   (goal <= 100)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--skip-sweep", action="store_true", help="leave out the 1 000-run sweep")
    parser.add_argument("--skip-10m", action="store_true", help="leave out N = 10^7")
    parser.add_argument("--ten-k", action="store_true", help="also run 10 000 runs end to end (about 5 minutes)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    n_ref = 2_000 if args.quick else 100_000
    ref = reference_rate(n_ref, 2)
    print(f"reference N={n_ref:>10,}: {ref:14,.0f} customer-ticks/s (per-agent Mesa, 2 ticks)")
    for engine in ENGINES:
        eng = engine_rate(n_ref, 20 if args.quick else 60, repeats=2, engine=engine)
        print(f"{engine:8s}  N={n_ref:>10,}: {eng:14,.0f} customer-ticks/s; / reference: {eng / ref:8.1f}x"
              "   (goal >= 100x at N=100,000)")
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000] + ([] if args.skip_10m else [10_000_000])
    top = max(sizes)
    for engine in ENGINES:
        rates = {}
        for n in sizes:
            ticks = max(3, min(120, 2_000_000 // n * 3))
            rates[n] = engine_rate(n, ticks, repeats=3 if n <= 100_000 else 1, engine=engine)
            print(f"{engine:8s}  N={n:>10,}: {rates[n]:14,.0f} customer-ticks/s ({ticks} ticks)")
        print(f"{engine:8s}  cost per customer-tick at N={top:,} / at N=100,000: {rates[100_000] / rates[top]:.2f}x"
              "   (goal <= 1.5x)")
    counts = {n: contact_count_cost(n) for n in (100_000, top)}
    print("numpy word-of-mouth contact count: "
          + ", ".join(f"N={n:,} {ns:.1f} ns/customer" for n, ns in counts.items()))
    mem_n = 100_000 if args.quick else (1_000_000 if args.skip_10m else 10_000_000)
    for engine in ENGINES:
        print(f"{engine:8s}  peak memory per customer at N={mem_n:,}: "
              f"{peak_memory_per_customer(mem_n, engine):.0f} bytes   (goal <= 100)")
    mechanisms(n_ref, top, mem_n)
    cores = len(os.sched_getaffinity(0))
    for n in [n for n in (1_000_000, 10_000_000) if n <= top]:
        ticks = 20 if n <= 1_000_000 else 3
        one, speedup = thread_speedup(n, ticks, cores)
        same = "bit-identical" if same_bits_on_threads(n, 3, cores) else "RESULTS DIFFER"
        print(f"one run on {cores} threads, N={n:,} ({ticks} ticks): {speedup:.2f}x one thread's {one:,.0f} "
              f"customer-ticks/s; {same} (3 ticks, every table and column)   (goal >= 1.7x on 2 cores)")
        if n == 1_000_000:
            traffic = state_bytes_per_customer_tick()
            for t, rate in ((1, one), (cores, one * speedup)):
                bandwidth = copy_bandwidth(t)
                print(f"roofline, {t} thread(s) at N={n:,}: {traffic} bytes of customer state per customer-tick x "
                      f"{rate / 1e6:.2f} M/s = {traffic * rate / 1e9:.2f} GB/s, {100 * traffic * rate / bandwidth:.0f} % "
                      f"of numpy's copy bandwidth on {t} thread(s), {bandwidth / 1e9:.1f} GB/s")
    print(f"dashboard step at N=2,000, drawing included (median of 60 months): {dashboard_step_ms():.0f} ms"
          "   (goal <= 150 ms)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        help_s = command_time([str(BIN / "marktsim"), "--help"], tmp)
        first = command_time([str(BIN / "marktsim"), "horizon=1", "market.n_customers=1000", "progress=off",
                              f"results_dir={tmp / 'r'}"], tmp)
        print(f"marktsim --help: {help_s:.2f} s; command line to first tick and written job (N=1,000, 1 tick): "
              f"{first:.2f} s   (goal <= 1.5 s)")
        compiled_first = command_time([str(BIN / "marktsim"), "horizon=1", "market.n_customers=1000", "progress=off",
                                       f"results_dir={tmp / 'r'}"], tmp, env={"MARKTSIM_ENGINE": "compiled"})
        print(f"the same with the compiled engine forced (numba import and cached kernels): {compiled_first:.2f} s")
        for launcher in ("basic", "joblib"):
            jobs = 20 if args.quick else 1_000
            wall, per_job = per_job_overhead(tmp, jobs, launcher)
            print(f"{jobs:,} tiny jobs (N=200, T=3), launcher {launcher}: {wall:.1f} s wall   (goal for 1,000: < 60 s); "
                  f"{per_job * 1000:.0f} ms per job beyond the command's start   (goal <= 50 ms)")
        if not args.skip_sweep and not args.quick:
            wall = sweep_time(tmp)
            ideal = sweep_ideal()
            print(f"1,000-run sweep (50 conditions x 20 replicates, N=10,000, T=120, joblib on "
                  f"{os.cpu_count()} cores): {wall:.1f} s wall   (goal <= 60 s); ideal {ideal:.1f} s, "
                  f"{100 * ideal / wall:.0f} % of it   (goal >= 90 %)")
            wall = design_sweep_time(tmp)
            print(f"the same 1,000 runs as design chunks ({os.cpu_count()} jobs of 50/{os.cpu_count()} points, joblib): "
                  f"{wall:.1f} s wall, {100 * ideal / wall:.0f} % of the ideal   (goal >= 90 %)")
            shutil.rmtree(tmp / "sweep", ignore_errors=True)
            wall = sweep_time(tmp, env={"MARKTSIM_ENGINE": "numpy"})
            print(f"the same sweep with the numpy engine only (MARKTSIM_ENGINE=numpy): {wall:.1f} s wall")
        if args.ten_k:
            sweep, report = ten_thousand_runs(tmp)
            print(f"10,000 runs (1,000-point LHS design x 10 replicates, N=2,000, T=60, 20 jobs, joblib): "
                  f"{sweep:.1f} s wall; report on all of them: {report:.1f} s")
        shutil.rmtree(tmp / "r", ignore_errors=True)


if __name__ == "__main__":
    main()
