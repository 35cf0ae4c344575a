"""Sensitivity indices of a sensitivity sweep (``experiment=sensitivity``), with SALib.

Outputs are the focal firm's 10-year NPV and annual churn, each averaged over the
replicates of a point. Morris gives μ* (mean absolute elementary effect, with a bootstrap
interval) and σ; Sobol gives first-order S1 and total ST indices with bootstrap intervals.
Parameters are ranked by μ* (Morris) or ST (Sobol); a parameter whose index does not exceed
the dummy's is indistinguishable from noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from marktsim.experiments import sensitivity as sample

OUTPUTS = ("npv", "churn_annual")


class SensitivityIncomplete(Exception):
    """Points of the sample are missing; the message names the chunks to run."""


@dataclass
class Analysis:
    method: str
    indices: pd.DataFrame   # output, parameter, rank and the method's indices with intervals
    points: int
    replicates: int


def sensitivity_config(configs: list[DictConfig]) -> DictConfig | None:
    """The common ``sensitivity`` block of a sweep's jobs, or None when it is no sensitivity sweep.
    Raises ValueError when the jobs disagree (two analyses in one folder)."""
    blocks = {OmegaConf.to_yaml(c.sensitivity) for c in configs if c.get("sensitivity") and c.sensitivity.method}
    if not blocks:
        return None
    if len(blocks) > 1:
        raise ValueError("the folder mixes jobs of different sensitivity analyses; report each sweep folder on its own")
    block = OmegaConf.create(next(iter(blocks)))
    assert isinstance(block, DictConfig)
    return block


def outputs_per_point(summary: pd.DataFrame, firm: str = "focal") -> pd.DataFrame:
    """Mean of each output over the replicates of each point (index: point)."""
    focal = summary[summary.firm == firm]
    return focal.groupby("point")[list(OUTPUTS)].mean().sort_index()


def sobol_seed(seed: int) -> int:
    """The seed handed to SALib's Sobol analysis for the config's `seed`: SALib seeds its
    bootstrap only for a true value (``if seed:``) and otherwise draws from numpy's global
    state, so seed 0 would give intervals that change from process to process. A positive
    number spawned from `seed` (numpy's SeedSequence) instead."""
    return int(np.random.SeedSequence(seed).generate_state(1)[0]) or 1


def analyse(sens: DictConfig, per_point: pd.DataFrame, replicates: int = 1,
            outputs: tuple[str, ...] = OUTPUTS) -> Analysis:
    """Morris or Sobol indices of every output (columns of `per_point`); raises
    SensitivityIncomplete if points are missing."""
    design = sample.sample_design(sens)
    missing = sorted(set(design.point) - set(per_point.index))
    if missing:
        chunks = sorted(set(design.chunk[design.point.isin(missing)]))
        raise SensitivityIncomplete(
            f"{len(missing)} of {len(design)} points of the {sens.method} sample have no complete job "
            f"(design.chunk = {', '.join(map(str, chunks))}): rerun the sweep command to complete them")
    prob = sample.problem(sens)
    x = sample.unit_sample(sens)
    rows = []
    for output in outputs:
        y = per_point.loc[design.point, output].to_numpy(dtype=float)
        if sens.method == "morris":
            from SALib.analyze import morris

            res = morris.analyze(prob, x, y, num_levels=int(sens.levels), num_resamples=1000,
                                 conf_level=0.95, seed=int(sens.seed))
            frame = pd.DataFrame({"parameter": prob["names"], "mu_star": res["mu_star"],
                                  "mu_star_conf": res["mu_star_conf"], "mu": res["mu"], "sigma": res["sigma"]})
            key = "mu_star"
        else:
            from SALib.analyze import sobol

            res = sobol.analyze(prob, y, calc_second_order=False, num_resamples=1000, conf_level=0.95,
                                seed=sobol_seed(int(sens.seed)))
            frame = pd.DataFrame({"parameter": prob["names"], "S1": res["S1"], "S1_conf": res["S1_conf"],
                                  "ST": res["ST"], "ST_conf": res["ST_conf"]})
            key = "ST"
        frame = frame.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)
        frame.insert(0, "rank", np.arange(1, len(frame) + 1))
        frame.insert(0, "output", output)
        rows.append(frame)
    return Analysis(str(sens.method), pd.concat(rows, ignore_index=True), len(design), replicates)


def above_noise(analysis: Analysis) -> pd.Series:
    """Whether each row's index exceeds the dummy's (upper interval bound), per output."""
    table = analysis.indices
    key, conf = ("mu_star", "mu_star_conf") if analysis.method == "morris" else ("ST", "ST_conf")
    out = pd.Series(True, index=table.index)
    for output, g in table.groupby("output"):
        dummy = g[g.parameter == sample.DUMMY]
        if dummy.empty:
            continue
        floor = float(dummy[key].iloc[0] + dummy[conf].iloc[0])
        out[g.index] = (g[key] - g[conf]) > floor
    return out


def figure(analysis: Analysis, out, lab: dict, outputs: tuple[str, ...] = OUTPUTS, name: str | None = None) -> str:
    """A ranked bar chart per output with 95 % intervals; returns the file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    table = analysis.indices
    fig, axes = plt.subplots(1, len(outputs), figsize=(5.2 * len(outputs), 0.32 * table.parameter.nunique() + 1.6))
    colors = sns.color_palette("colorblind", 2)
    for ax, output in zip(axes, outputs):
        g = table[table.output == output].iloc[::-1]
        y = np.arange(len(g))
        if analysis.method == "morris":
            ax.barh(y, g.mu_star, xerr=g.mu_star_conf, color=colors[0], capsize=2, label="μ*")
            ax.set_xlabel(f"μ* ({lab['columns'][output]})")
        else:
            ax.barh(y + 0.2, g.ST, 0.4, xerr=g.ST_conf, color=colors[0], capsize=2, label="ST")
            ax.barh(y - 0.2, g.S1, 0.4, xerr=g.S1_conf, color=colors[1], capsize=2, label="S1")
            ax.set_xlabel(lab["columns"][output])
            ax.legend(fontsize=7, loc="lower right")
        ax.set_yticks(y, g.parameter, fontsize=7)
    fig.tight_layout()
    name = name or f"sensitivity_{analysis.method}.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name
