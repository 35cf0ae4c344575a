"""The engine against an independent per-agent Mesa implementation (benchmarks/mesa_reference.py).

Both run small configurations with 30 seeds each (the default path, an overloaded one, and
the mechanisms of issue 14 with latent propensities); the means of focal share, churn rate and
revenue at tick 60, and of the focal churn rate averaged over ticks 31–60 (a less noisy
figure), must agree within their joint interval |m_engine − m_reference| ≤ z·sqrt(s_e²/30 +
s_r²/30). The 16 comparisons per engine (4 cases × 4 figures) are held to a family-wise false
alarm rate of 1 % (Bonferroni: z = Φ⁻¹(1 − 0.01/32) = 3.42); with 2.576 for each comparison
alone, one of them fails by chance about one time in seven.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from marktsim.config import load_config
from marktsim.simulation import simulate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from mesa_reference import run_reference  # noqa: E402

pytestmark = pytest.mark.usefixtures("engine")  # every test here runs on both engines

SEEDS, TICKS, COMPARISONS = 30, 60, 16
Z = 3.42  # two-sided, 1 % family-wise over COMPARISONS: scipy.stats.norm.ppf(1 - 0.01 / (2 * 16))


@pytest.mark.parametrize(
    "overrides",
    [
        ["market.n_customers=600"],
        ["market.n_customers=600", "firm.capacity_factor=0.9", "firm.priority=existing_first",
         "firm.communicate_delays=true", "firm.targeting=abc", "market.network=global"],
        ["market.n_customers=600", "customers.propensity=gamma", "customers.propensity_shape=0.7",
         "strategy.incentive_share=0.3", "competitors.incentive_share=0.1", "customers.deal_prone_share=0.4",
         "customers.churn_contagion=6", "customers.wom_protection=0.5", "customers.switching_cost=0.2",
         "customers.contract_share_b2b=0.8", "customers.contract_share_b2c=0.2", "customers.contract_length=6",
         "customers.wom_positive=0.06"],
        ["market.n_customers=600", "customers.propensity=beta", "customers.propensity_alpha=0.7",
         "customers.propensity_beta=1.2", "market.network=global", "customers.churn_contagion=6",
         "customers.wom_protection=0.5"],
    ],
    ids=["defaults", "overload-abc-global", "mechanisms-network", "beta-global"],
)
def test_engine_agrees_with_the_mesa_reference(overrides):
    cfg = load_config(overrides + [f"horizon={TICKS}"])
    ts = simulate(cfg, replicates=SEEDS).timeseries
    ts = ts[ts.firm == "focal"]
    engine = {key: ts[ts.tick == TICKS][key].to_numpy() for key in ("share", "churn_rate", "revenue")}
    engine["late_churn"] = ts[ts.tick > TICKS // 2].groupby("replicate").churn_rate.mean().to_numpy()
    reference = {key: [] for key in engine}
    for seed in range(SEEDS):
        focal = [r for r in run_reference(cfg, seed, TICKS) if r["firm"] == 0]
        for key in ("share", "churn_rate", "revenue"):
            reference[key].append(focal[-1][key])
        reference["late_churn"].append(np.mean([r["churn_rate"] for r in focal[TICKS // 2:]]))
    for key, values in reference.items():
        e, r = engine[key], np.array(values)
        se = np.sqrt(e.var(ddof=1) / SEEDS + r.var(ddof=1) / SEEDS)
        assert abs(e.mean() - r.mean()) <= Z * se, (key, e.mean(), r.mean(), se)
