"""Sensitivity analysis of NPV and churn, and of the decision (docs/studies.md;
experiments/sensitivity/README.md).

NPV and churn: Morris screening and Sobol indices over 15 parameters (experiment=sensitivity).
The decision: the same Morris sample without ρ, run at ρ = 0.2, 0.5 and 0.8 with the same points
and seeds (experiment=sensitivity_decision); per point the advantage of retention-heavy
Δ = NPV(0.8) − NPV(0.2) (its sign is the decision) and the best ρ of the parabola through the
three NPVs (the vertex if it is a maximum inside [0, 1], else the better end), and Morris
indices of both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from marktsim.analysis import sensitivity as sa
from marktsim.experiments import sensitivity as sample
from marktsim.studies.core import Collector, Findings, Study, StudyError, Sweep, markdown

NAME = "sensitivity"
RHOS = ("0.2", "0.5", "0.8")
DECISION = ("advantage", "best_rho")
SYMBOLS = {"firm.budget_share": "B", "strategy.retention_share": "ρ", "firm.capacity_factor": "capacity",
           "market.acquisition_max": "a_max", "market.acquisition_scale": "a_scale",
           "customers.retention_scale": "r_scale", "customers.bond_gain_max": "β_max",
           "customers.propensity_alpha": "α", "customers.propensity_beta": "β",
           "customers.churn_dissatisfaction": "h_s", "customers.bond_protection": "κ",
           "customers.satisfaction_protection": "λ", "customers.wom_positive": "q_wom",
           "customers.loyalty_growth_max": "g_max", "firm.onboarding_cost": "c_on", "dummy": "dummy"}


def _sens(sweep) -> tuple[DictConfig, int]:
    configs = [OmegaConf.load(j.path / "config.yaml") for j in sweep.complete]
    sens = sa.sensitivity_config([c for c in configs if isinstance(c, DictConfig)])
    if sens is None:
        raise StudyError(f"{NAME}: {sweep.root} is not a sensitivity sweep")
    return sens, int(configs[0].replicates)


def best_rho(npv: np.ndarray) -> np.ndarray:
    """Per row of NPVs at ρ = 0.2, 0.5, 0.8: the maximiser on [0, 1] of the parabola through them."""
    x = np.array([0.2, 0.5, 0.8])
    out = np.empty(len(npv))
    grid = np.linspace(0, 1, 101)
    for i, y in enumerate(npv):
        c = np.polyfit(x, y, 2)
        out[i] = grid[np.argmax(np.polyval(c, grid))]
    return out


def _indices(found: Collector, prefix: str, analysis: sa.Analysis) -> None:
    table = analysis.indices.assign(above=sa.above_noise(analysis))
    key, conf = ("mu_star", "mu_star_conf") if analysis.method == "morris" else ("ST", "ST_conf")
    for r in table.itertuples():
        m, c = getattr(r, key), getattr(r, conf)
        found.add(f"{prefix}.{r.output}.{r.parameter}", m, m - c, m + c, analysis.points)
        found.add(f"{prefix}.{r.output}.{r.parameter}.rank", r.rank, n=analysis.points)
        found.add(f"{prefix}.{r.output}.{r.parameter}.above_noise", float(r.above), n=analysis.points)
        if analysis.method == "sobol":
            found.add(f"{prefix}.{r.output}.{r.parameter}.S1", r.S1, r.S1 - r.S1_conf, r.S1 + r.S1_conf,
                      analysis.points)


def decision_outputs(sweeps: list) -> tuple[DictConfig, pd.DataFrame, int]:
    """Per point of the decision sample: advantage (NPV at ρ 0.8 − 0.2) and best ρ."""
    npv = []
    sens = reps = None
    for sweep in sweeps:
        sens, reps = _sens(sweep)
        npv.append(sa.outputs_per_point(sweep.summary).npv)
    table = pd.concat(npv, axis=1, keys=RHOS).dropna()
    out = pd.DataFrame({"advantage": table["0.8"] - table["0.2"], "best_rho": best_rho(table.to_numpy())},
                       index=table.index)
    assert sens is not None and reps is not None
    return sens, out, reps


def extract(sweeps: list) -> pd.DataFrame:
    found = Collector()
    for prefix, sweep in (("morris", sweeps[0]), ("sobol", sweeps[1])):
        sens, reps = _sens(sweep)
        _indices(found, prefix, sa.analyse(sens, sa.outputs_per_point(sweep.summary), reps))
    sens, per_point, reps = decision_outputs(sweeps[2:])
    _indices(found, "decision", sa.analyse(sens, per_point, reps, outputs=DECISION))
    found.runs("decision.retention_wins", (per_point.advantage > 0).astype(float))
    found.runs("decision.advantage_mean", per_point.advantage)
    found.runs("decision.best_rho_mean", per_point.best_rho)
    design = sample.sample_design(sens).set_index("point").loc[per_point.index]
    for name in sample.problem(sens)["names"]:
        if name == sample.DUMMY:
            continue
        low = design[name] <= design[name].median()
        found.runs(f"decision.retention_wins.{name}.low", (per_point.advantage[low] > 0).astype(float))
        found.runs(f"decision.retention_wins.{name}.high", (per_point.advantage[~low] > 0).astype(float))
    return found.frame()


def _names(f: Findings, prefix: str, output: str) -> list[str]:
    keys = [k for k in f.keys() if k.startswith(f"{prefix}.{output}.") and k.endswith(".rank")]
    names = [k[len(prefix) + len(output) + 2:-len(".rank")] for k in keys]
    return sorted(names, key=lambda n: f[f"{prefix}.{output}.{n}.rank"].mean)


def tables(f: Findings) -> dict[str, str]:
    out = {}
    for output in ("npv", "churn_annual"):
        rows = []
        for name in _names(f, "morris", output):
            s = f"sobol.{output}.{name}"
            rows.append({"parameter": f"{SYMBOLS.get(name, name)} (`{name}`)" if name != "dummy" else "dummy",
                         "Morris rank": int(f[f"morris.{output}.{name}.rank"].mean),
                         "μ*": f.show(f"morris.{output}.{name}", "ci"),
                         "Sobol rank": int(f[f"{s}.rank"].mean),
                         "S1": f.show(f"{s}.S1", "f3_ci"), "ST": f.show(s, "f3_ci"),
                         "above the dummy (Morris / Sobol)":
                             f"{'yes' if f[f'morris.{output}.{name}.above_noise'].mean else 'no'} / "
                             f"{'yes' if f[f'{s}.above_noise'].mean else 'no'}"})
        out[output] = markdown(rows)
    rows = []
    for name in _names(f, "decision", "advantage"):
        row = {"parameter": f"{SYMBOLS.get(name, name)} (`{name}`)" if name != "dummy" else "dummy",
               "rank (Δ)": int(f[f"decision.advantage.{name}.rank"].mean),
               "μ* of Δ = NPV(0.8) − NPV(0.2)": f.show(f"decision.advantage.{name}", "ci"),
               "μ* of the best ρ": f.show(f"decision.best_rho.{name}", "f3_ci")}
        if name != "dummy":
            row["retention-heavy wins: lower half / upper half of the range"] = (
                f"{f.show(f'decision.retention_wins.{name}.low', 'pct0')} / "
                f"{f.show(f'decision.retention_wins.{name}.high', 'pct0')}")
        else:
            row["retention-heavy wins: lower half / upper half of the range"] = ""
        rows.append(row)
    out["decision"] = markdown(rows)
    return out


def figures(sweeps: list, out: Path) -> list[str]:
    """The Morris and Sobol figures of NPV and churn, and decision.png (Morris of the decision)."""
    from marktsim.analysis.labels import labels

    lab = labels("en")
    names = []
    for sweep in sweeps[:2]:
        sens, reps = _sens(sweep)
        names.append(sa.figure(sa.analyse(sens, sa.outputs_per_point(sweep.summary), reps), out, lab))
    sens, per_point, reps = decision_outputs(sweeps[2:])
    analysis = sa.analyse(sens, per_point, reps, outputs=DECISION)
    lab = {**lab, "columns": {**lab["columns"], "advantage": "Δ NPV (ρ 0.8 − 0.2)", "best_rho": "best ρ"}}
    sa.figure(analysis, out, lab, outputs=DECISION, name="sensitivity_decision.png")
    return names + ["sensitivity_decision.png"]


STUDY = Study(
    name=NAME,
    question="Which assumptions drive NPV and churn, and which drive the decision between retention and "
             "acquisition?",
    sweeps=(Sweep(("experiment=sensitivity",)), Sweep(("experiment=sensitivity", "sensitivity.method=sobol")),
            *(Sweep(("experiment=sensitivity_decision", f"strategy.retention_share={rho}")) for rho in RHOS)),
    extract=extract,
    tables=tables,
    figures=figures,
)
