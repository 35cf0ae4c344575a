"""``marktsim-optimize``: the marketing budget and retention share that maximise the focal firm's NPV.

    marktsim-optimize --study results/optimize/myfirm market=b2b firm.margin=0.35
    marktsim-optimize --study results/optimize/myfirm --config-dir myconfigs experiment=myfirm \\
        --budget-share 0.02:0.25 --churn-max 0.15 --tune targeting,priority --trials 80 --jobs 2

The scenario is an ordinary marktsim config (overrides, or your own experiment file with
--config-dir). The study folder holds the Optuna study (study.db, SQLite): rerunning the
same command continues an interrupted study, and a larger --trials extends a finished one.
After the search, the best setting is run again on fresh replicates (its honest NPV and
interval), next to the stock strategies on the same replicates, and a landscape over
(budget, ρ) is drawn. Outputs: trials.csv, best.json, comparison.csv, landscape.csv,
landscape.png and report.md in the study folder.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from marktsim.analysis.stats import fmt_ci, markdown_table, mean_ci
from marktsim.config import CONFIG_DIR, ConfigError, compose_config, engine_setting, plain, threads_setting, validate
from marktsim.experiments import store
from marktsim.extras import require
from marktsim.optimize.answer import Answer, answer
from marktsim.optimize.search import (
    Evaluator,
    Settings,
    Space,
    best_values,
    make_space,
    open_study,
    point_config,
    run_trials,
    trials_table,
)

SETTINGS = "study.json"
RHO = "strategy.retention_share"
AXIS_LABELS = {"firm.budget_share": "marketing budget (share of initial monthly revenue)",
               "firm.budget": "marketing budget (currency per month)"}


class StudyError(Exception):
    """The study folder cannot be used; the message says why."""


def stock_strategies() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "strategy").glob("*.yaml"))


def _prepare(args) -> tuple:
    """Everything checked before anything is written: scenario, space, settings."""
    raw = compose_config(args.overrides, args.config_dir)
    valid = validate(raw)
    if valid.design.file is not None or valid.sensitivity.method is not None:
        raise ConfigError("invalid config: the optimiser runs one scenario; allowed: design.file=null and "
                          "sensitivity.method=null")
    space = make_space(raw, args.budget_share, args.budget, args.rho, args.tune)
    if not space.parameters():
        raise ConfigError("invalid option: nothing to optimise: --budget/--budget-share and --rho are both fixed "
                          "and --tune is empty")
    if args.churn_max is not None and not 0 < args.churn_max <= 1:
        raise ConfigError(f"invalid option: --churn-max = {args.churn_max:g}; allowed: a share in (0, 1]")
    for name, low in (("--trials", 1), ("--replicates", 2), ("--validate", 2), ("--landscape", 0), ("--jobs", 1)):
        value = getattr(args, name[2:].replace("-", "_"))
        if value < low:
            raise ConfigError(f"invalid option: {name} = {value}; allowed: an integer >= {low}")
    settings = Settings(list(args.overrides), str(Path(args.config_dir).resolve()) if args.config_dir else None,
                        {"budget_key": space.budget_key, "budget": list(space.budget), "rho": list(space.rho),
                         "tune": list(space.tune), "campaign_max": space.campaign_max},
                        args.replicates, args.churn_max, args.seed, plain(valid))
    return raw, valid, space, settings


def _claim(folder: Path, settings: Settings):
    """Create or reopen the study folder (store.claim_folder); returns its lock."""
    try:
        return store.claim_folder(folder, settings.as_dict(), SETTINGS, "--study", "marktsim-optimize")
    except store.FolderTaken as exc:
        raise StudyError(str(exc)) from None


def _with_budget(values: dict, space: Space, budget: float) -> dict:
    return {**values, space.budget_key: budget}


def _stock_config(args, name: str, space: Space, budget: float):
    overrides = [o for o in args.overrides if not o.lstrip("+~").startswith("strategy")] + [f"strategy={name}"]
    raw = compose_config(overrides, args.config_dir)
    return point_config(raw, {space.budget_key: budget})


def _landscape(raw, space: Space, best: dict, evaluate: Evaluator, reps: list[int], size: int,
               folder: Path) -> pd.DataFrame:
    """Mean NPV and churn on a grid over (budget, ρ) (a line when one of them is fixed), other
    tuned settings at their best values; cached in landscape.csv."""
    path = folder / "landscape.csv"
    budgets = np.linspace(*space.budget, size) if space.budget[0] < space.budget[1] else np.array([space.budget[0]])
    rhos = np.linspace(*space.rho, size) if space.rho[0] < space.rho[1] else np.array([space.rho[0]])
    grid = [(float(b), float(r)) for b in budgets for r in rhos]
    if path.is_file():
        cached = pd.read_csv(path)
        if len(cached) == len(grid) and np.allclose(cached[[space.budget_key, RHO]].to_numpy(), np.array(grid)):
            return cached
    rows = []
    for b, r in grid:
        runs = evaluate(point_config(raw, {**best, space.budget_key: b, RHO: r}), reps)
        rows.append({space.budget_key: b, RHO: r, "npv": runs.npv.mean(), "churn_annual": runs.churn_annual.mean()})
    table = pd.DataFrame(rows)
    store.atomic_write(path, lambda p: table.to_csv(p, index=False))
    return table


def _comparison(args, raw, valid, space: Space, best: dict, evaluate: Evaluator,
                reps: list[int]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The best setting and every stock strategy (at the scenario's budget and at the best budget) on
    the same fresh replicates; differences to the best are paired. Returns the table and each
    option's runs."""
    scenario_budget = float(valid.firm.budget_share if space.budget_key == "firm.budget_share" else valid.firm.budget)
    configs = {"optimum": point_config(raw, best)}
    budgets = [("scenario budget", scenario_budget)]
    if not math.isclose(best[space.budget_key], scenario_budget):
        budgets.append(("best budget", float(best[space.budget_key])))
    for name in stock_strategies():
        for label, budget in budgets:
            configs[f"{name} ({label})"] = _stock_config(args, name, space, budget)
    runs = {label: evaluate(cfg, reps) for label, cfg in configs.items()}
    rows = []
    base = runs["optimum"].set_index("replicate")
    for label, frame in runs.items():
        frame = frame.set_index("replicate")
        npv, lo, hi, n = mean_ci(frame.npv)
        churn, clo, chi, _ = mean_ci(frame.churn_annual)
        diff, dlo, dhi, _ = mean_ci(base.npv - frame.npv) if label != "optimum" else (0.0, 0.0, 0.0, n)
        rows.append({"setting": label, "npv": npv, "npv_ci_low": lo, "npv_ci_high": hi, "churn_annual": churn,
                     "churn_ci_low": clo, "churn_ci_high": chi, "optimum_minus_this": diff,
                     "diff_ci_low": dlo, "diff_ci_high": dhi, "replicates": n,
                     "spend_month": float(frame.spend_month.mean()),
                     "rho": float(configs[label].strategy.retention_share)})
    return pd.DataFrame(rows), runs


def _figure(landscape: pd.DataFrame, trials: pd.DataFrame, space: Space, best: dict, churn_max: float | None,
            folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    bkey = space.budget_key
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    if landscape[bkey].nunique() > 1 and landscape[RHO].nunique() > 1:
        grid = landscape.pivot_table(index=bkey, columns=RHO, values="npv")
        mesh = ax.contourf(grid.columns, grid.index, grid.to_numpy(), levels=14, cmap="viridis")
        fig.colorbar(mesh, ax=ax, label="NPV")
        if churn_max is not None:
            churn = landscape.pivot_table(index=bkey, columns=RHO, values="churn_annual")
            lines = ax.contour(churn.columns, churn.index, churn.to_numpy(), levels=[churn_max], colors="white",
                               linestyles="--")
            ax.clabel(lines, fmt={churn_max: f"churn ≤ {churn_max:.0%}"}, fontsize=7)
            # the side not allowed (churn above the ceiling), hatched
            if float(np.nanmax(churn.to_numpy())) > churn_max:
                ax.contourf(churn.columns, churn.index, churn.to_numpy(), levels=[churn_max, np.inf], colors="none",
                            hatches=["//"])
        if {bkey, RHO} <= set(trials.columns):
            ax.scatter(trials[RHO], trials[bkey], s=10, c="white", edgecolors="black", linewidths=0.4, label="trials")
        ax.scatter([best[RHO]], [best[bkey]], marker="*", s=220, c="red", edgecolors="black", label="best")
        ax.set_xlabel("ρ (share of the marketing budget spent on retention)")
        ax.set_ylabel(AXIS_LABELS[bkey])
    else:
        x = RHO if landscape[RHO].nunique() > 1 else bkey
        ax.plot(landscape[x], landscape.npv, marker="o", label="landscape (search replicates)")
        if x in trials.columns:
            ax.scatter(trials[x], trials.npv, s=10, c="gray", label="trials")
        ax.axvline(best[x], color="red", ls="--", label="best")
        ax.set_xlabel(AXIS_LABELS.get(x, "ρ (share of the marketing budget spent on retention)"))
        ax.set_ylabel("NPV")
    ax.legend(fontsize=7, loc="best")
    ax.set_title("Profit landscape of the focal firm (mean NPV over search replicates)"
                 + ("\nhatched: churn above the ceiling" if churn_max is not None else ""), fontsize=9)
    fig.tight_layout()
    store.atomic_write(folder / "landscape.png", lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


def _report(folder: Path, settings: Settings, space: Space, trials: pd.DataFrame, best: dict,
            comparison: pd.DataFrame, args, told: Answer) -> None:
    opt = comparison.iloc[0]
    shown = pd.DataFrame({
        "setting": comparison.setting,
        "NPV (95 % CI)": [fmt_ci(r.npv, r.npv_ci_low, r.npv_ci_high) for r in comparison.itertuples()],
        "annual churn": [fmt_ci(r.churn_annual, r.churn_ci_low, r.churn_ci_high) for r in comparison.itertuples()],
        "optimum − this (paired)": ["" if r.setting == "optimum" else fmt_ci(r.optimum_minus_this, r.diff_ci_low,
                                                                             r.diff_ci_high)
                                    for r in comparison.itertuples()],
    })
    if settings.churn_max is not None:
        shown[f"churn ≤ {settings.churn_max:g}"] = ["yes" if c <= settings.churn_max else "no"
                                                   for c in comparison.churn_annual]
    best_lines = [f"- `{k}` = {v:.4g}" if isinstance(v, float) else f"- `{k}` = {v}" for k, v in best.items()]
    objective = "expected NPV" + (f" with mean annual churn ≤ {settings.churn_max:g}" if settings.churn_max else "")
    lines = [
        "# marktsim-optimize", "",
        f"Scenario: `{' '.join(settings.overrides) or 'defaults'}`" + (f" (config dir `{settings.config_dir}`)"
                                                                      if settings.config_dir else ""), "",
        f"Objective: {objective}. Searched: {', '.join(space.parameters())}; {len(trials)} completed trials, "
        f"each the mean of {settings.replicates} replicates (common random numbers), Optuna TPE, seed {settings.seed}.",
        "", "## Recommendation", "", f"**{told.sentence}**", "", *[f"- ⚠ {w}" for w in told.warnings],
        "" if told.warnings else "", "## Best setting of the search", "", *best_lines, "",
        f"On {int(opt.replicates)} fresh replicates (not used in the search): NPV "
        f"{fmt_ci(opt.npv, opt.npv_ci_low, opt.npv_ci_high)}, annual churn "
        f"{fmt_ci(opt.churn_annual, opt.churn_ci_low, opt.churn_ci_high)} (mean and 95 % interval).", "",
        "## Against the stock strategies", "",
        "Same fresh replicates; 'optimum − this' is the paired difference (positive: the optimum earns more)"
        + ("; a stock strategy that breaks the churn ceiling is no alternative however much it earns."
           if settings.churn_max is not None else "."), "",
        markdown_table(shown), "",
        "![landscape](landscape.png)", "",
        "*Mean NPV over the search replicates on a grid over budget and ρ (other settings at their best), with "
        "the trials (dots) and the best setting (star)" + (", and the churn ceiling (dashed)" if settings.churn_max
                                                          else "") + ".*", "",
    ]
    store.write_text(folder / "report.md", "\n".join(lines))


def run(args) -> Path:
    raw, valid, space, settings = _prepare(args)
    folder = Path(args.study)
    lock = _claim(folder, settings)
    url = f"sqlite:///{(folder / 'study.db').resolve()}"
    evaluate = Evaluator(args.jobs)
    warnings.filterwarnings("ignore", message=".*experimental.*")
    try:
        bar = None
        if args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty()):
            from tqdm import tqdm

            bar = tqdm(total=args.trials, desc="trials", unit="trial", leave=False)

        best_so_far = [-math.inf]

        def progress(done, values, npv, churn):
            """The bar shows the best feasible trial of this run so far, not the last one."""
            if settings.churn_max is None or churn <= settings.churn_max:
                best_so_far[0] = max(best_so_far[0], npv)
            if bar is not None:
                bar.n = done
                shown = f"{best_so_far[0]:,.0f}" if math.isfinite(best_so_far[0]) else "none feasible yet"
                bar.set_postfix_str(f"best feasible NPV {shown}")
                bar.refresh()

        ran = run_trials(url, raw, space, settings, args.trials, evaluate, progress)
        if bar is not None:
            bar.close()
        study = open_study(url, settings.seed, 0)
        trials = trials_table(study, settings.churn_max)
        store.atomic_write(folder / "trials.csv", lambda p: trials.to_csv(p, index=False))
        best = best_values(trials, space)
        if best is None:
            raise StudyError(f"no trial meets --churn-max {settings.churn_max:g} (lowest mean churn "
                             f"{trials.churn_annual.min():.3f}); trials are kept in {folder / 'trials.csv'}: "
                             "raise the ceiling or widen the ranges")
        search_reps = list(range(settings.replicates))
        fresh = list(range(settings.replicates, settings.replicates + args.validate))
        comparison, runs = _comparison(args, raw, valid, space, best, evaluate, fresh)
        ranges = {space.budget_key: space.budget, RHO: space.rho}
        told = answer(comparison, runs, settings.churn_max, ranges, best, len(trials), args.lang)
        store.atomic_write(folder / "comparison.csv", lambda p: comparison.to_csv(p, index=False))
        if args.landscape:
            landscape = _landscape(raw, space, best, evaluate, search_reps, args.landscape, folder)
            _figure(landscape, trials, space, best, settings.churn_max, folder)
        opt = comparison.iloc[0]
        store.write_json(folder / "best.json", {
            "values": best, "npv": opt.npv, "npv_ci": [opt.npv_ci_low, opt.npv_ci_high],
            "churn_annual": opt.churn_annual, "validation_replicates": fresh, "trials": len(trials),
            "trials_run_now": ran, "recommended": told.choice, "answer": told.sentence, "warnings": told.warnings})
        _report(folder, settings, space, trials, best, comparison, args, told)
    finally:
        evaluate.close()
        lock.close()
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="marktsim-optimize", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("overrides", nargs="*", help="marktsim config overrides describing the scenario")
    parser.add_argument("--study", required=True, help="study folder (created; rerun to resume)")
    parser.add_argument("--config-dir", default=None, help="folder with your own config files (experiment/<name>.yaml)")
    parser.add_argument("--budget-share", default=None,
                        help="budget range as a share of initial monthly revenue, low:high (default 0.02:0.2)")
    parser.add_argument("--budget", default=None, help="budget range in currency per tick, low:high (instead)")
    parser.add_argument("--rho", default="0:1", help="range of the retention share ρ, low:high (default 0:1)")
    parser.add_argument("--tune", default="", help="also tune: targeting, priority, campaign (comma-separated)")
    parser.add_argument("--churn-max", type=float, default=None, help="ceiling on mean annual churn (a share)")
    parser.add_argument("--trials", type=int, default=60, help="completed trials in the study (default 60)")
    parser.add_argument("--replicates", type=int, default=8, help="replicates per trial (default 8)")
    parser.add_argument("--validate", type=int, default=30, help="fresh replicates for the best and stock strategies")
    parser.add_argument("--landscape", type=int, default=7, help="grid points per axis of the landscape (0: none)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for replicates")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search (the scenario's own seed is `seed=`)")
    parser.add_argument("--progress", choices=("auto", "on", "off"), default="auto")
    parser.add_argument("--lang", choices=("en", "de"), default="en", help="language of the recommendation")
    args = parser.parse_intermixed_args(argv)  # overrides may come before, between and after the options
    try:
        require("optimize", "marktsim-optimize")
        engine_setting()
        threads_setting()
        folder = run(args)
    except (ConfigError, StudyError) as exc:
        print(f"marktsim-optimize: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    best = json.loads((folder / "best.json").read_text())
    print(best["answer"])
    for warning in best["warnings"]:
        print(f"⚠ {warning}")
    print(f"marktsim-optimize: report {folder / 'report.md'}")


if __name__ == "__main__":
    main()
