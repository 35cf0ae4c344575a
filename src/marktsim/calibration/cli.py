"""``marktsim-calibrate``: fit config keys to observed retention or time-series data.

    marktsim-calibrate --data cohort.csv --holdout 5 --out results/calibrate/cohort \\
        market=growing market.adopted_share=1 market.n_competitors=0 ...
    marktsim-calibrate --data cohort.csv --fit customers.propensity_alpha=0.05:20 \\
        --fit customers.propensity_beta=0.05:50 --out results/calibrate/cohort

--data: a CSV with columns period,survivors (a cohort survival table; period 0 is the cohort)
or tick,<timeseries column> (a focal-firm time series). Without --fit, the keys of
docs/calibration.md are fitted. Outputs in --out: calibrated.yaml (and experiment/calibrated.yaml,
for --config-dir), fit.csv, parameters.csv, fit.png, report.md (English and German). A killed
run resumes when rerun; a finished one rerun with the same arguments does no work.
"""

from __future__ import annotations

import argparse
import sys

from marktsim.calibration.data import DataError
from marktsim.calibration.run import CalibrationError, Search, calibrate
from marktsim.config import ConfigError, engine_setting, threads_setting
from marktsim.extras import require


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="marktsim-calibrate", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("overrides", nargs="*", help="marktsim config overrides describing the scenario")
    parser.add_argument("--data", required=True, help="observed targets (CSV): period,survivors or tick,<column>")
    parser.add_argument("--fit", action="append", default=[], metavar="KEY=LOW:HIGH",
                        help="a numeric config key and the range to search (repeat; default: docs/calibration.md)")
    parser.add_argument("--holdout", type=int, default=0, help="last periods (or points) kept out of the fit")
    parser.add_argument("--period-ticks", type=int, default=12, help="ticks per period of a survival table (12)")
    parser.add_argument("--out", required=True, help="output folder (created; rerun to resume)")
    parser.add_argument("--config-dir", default=None, help="folder with your own config files (experiment/<name>.yaml)")
    parser.add_argument("--trials", type=int, default=40, help="Optuna TPE candidates (default 40)")
    parser.add_argument("--refine", type=int, default=60, help="Nelder–Mead evaluations after them (default 60)")
    parser.add_argument("--replicates", type=int, default=1, help="simulated replicates per candidate (default 1)")
    parser.add_argument("--bands", type=int, default=200, help="parameter draws for the 95 %% band (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search (the scenario's own seed is `seed=`)")
    parser.add_argument("--progress", choices=("auto", "on", "off"), default="auto")
    args = parser.parse_intermixed_args(argv)  # overrides may come before, between and after the options
    progress = args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty())
    try:
        require("optimize", "marktsim-calibrate")
        engine_setting()
        threads_setting()
        search = Search(trials=args.trials, refine=args.refine, replicates=args.replicates, bands=args.bands,
                        seed=args.seed)
        result = calibrate(args.data, out=args.out, fit=args.fit, holdout=args.holdout, period_ticks=args.period_ticks,
                           overrides=args.overrides, config_dir=args.config_dir, search=search, progress=progress)
    except (ConfigError, DataError, CalibrationError) as exc:
        print(f"marktsim-calibrate: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print(f"marktsim-calibrate: interrupted; rerun the same command to resume ({args.out})", file=sys.stderr)
        raise SystemExit(130) from None
    values = ", ".join(f"{r.key}={r.estimate:.4g} [{r.low:.4g}, {r.high:.4g}]" for r in result.parameters.itertuples())
    extra = ""
    if "forecast_mape" in result.summary:
        extra = f"; forecast error {result.summary['forecast_mape']:.2f} %"
        if "sbg_forecast_mape" in result.summary:
            extra += f" (sBG {result.summary['sbg_forecast_mape']:.2f} %)"
    print(f"marktsim-calibrate: {values}{extra}; report {result.out / 'report.md' if result.out else args.out}")


if __name__ == "__main__":
    main()
