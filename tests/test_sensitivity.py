"""Global sensitivity analysis: the sample and its chunks, the sweep and the report, a parameter
that does not enter the model, and the stability of the Morris ranking."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from marktsim.analysis import sensitivity as sa
from marktsim.config import ConfigError, load_config
from marktsim.experiments import sensitivity as sample
from marktsim.simulation import simulate

BIN = Path(sys.executable).parent
SMALL = ["market.n_customers=300", "horizon=24", "replicates=1", "progress=off"]


def marktsim(*args, cwd, check=True):
    proc = subprocess.run([str(BIN / "marktsim"), *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"marktsim {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def sens_block(**kw):
    base = {"method": "sobol", "factors": ["firm.budget_share=0.02:0.2", "firm.onboarding_cost=0:100"],
            "dummy": True, "trajectories": 4, "levels": 4, "samples": 8, "chunks": 3, "seed": 0}
    return OmegaConf.create({**base, **kw})


def test_sample_is_reproducible_and_chunks_cover_it_once():
    sens = sens_block()
    a, b = sample.sample_design(sens), sample.sample_design(sens)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == sample.size(sens) == 8 * (3 + 2)
    parts = pd.concat([sample.chunk_points(sens, c) for c in range(3)])
    assert sorted(parts.point) == list(range(len(a)))
    assert sample.size(sens_block(method="morris")) == len(sample.sample_design(sens_block(method="morris"))) == 4 * 4
    other = sample.sample_design(sens_block(seed=1))
    assert not other[["firm.budget_share"]].equals(a[["firm.budget_share"]])
    assert "dummy" not in sample.values(a.iloc[0])


def test_held_factors_leave_the_sample_and_keep_the_run_value():
    """sensitivity.hold takes a factor out of the sample: one column and (for Sobol) N points fewer;
    the other factors' points are those of a sample without it (the same seed, the same design)."""
    held = sens_block(hold=["firm.onboarding_cost"])
    design = sample.sample_design(held)
    assert "firm.onboarding_cost" not in design.columns and "firm.budget_share" in design.columns
    assert len(design) == sample.size(held) == 8 * (2 + 2)
    alone = sample.sample_design(sens_block(factors=["firm.budget_share=0.02:0.2"]))
    pd.testing.assert_frame_equal(design, alone)


@pytest.mark.parametrize("overrides, message", [
    (["sensitivity.method=morris"], "sensitivity.factors = [] with sensitivity.method"),
    (["sensitivity.method=morris", "sensitivity.factors=[\"firm.budget_share=0:0.2\"]"], "design.chunk = None"),
    (["sensitivity.method=morris", "sensitivity.factors=[\"firm.budget_share=0:0.2\"]", "design.chunk=16"],
     "allowed: an integer in [0, 15]"),
    (["sensitivity.method=morris", "sensitivity.factors=[\"firm.budget_share=0:0.2\"]", "design.chunk=0",
      "sensitivity.levels=3"], "sensitivity.levels = 3 is odd"),
    (["sensitivity.method=sobol", "sensitivity.factors=[\"firm.budget_share=0:0.2\"]", "design.chunk=0",
      "sensitivity.samples=100"], "sensitivity.samples = 100 is not a power of two"),
    (['sensitivity.factors=["firm.budget=0:x"]'], "sensitivity.factors"),
    (["sensitivity.method=morris", "sensitivity.factors=[\"firm.budget_share=0:0.2\"]", "design.chunk=0",
      "sensitivity.hold=[firm.margin]"], "sensitivity.hold = ['firm.margin'] names 'firm.margin', which is not a factor"),
    (["sensitivity.method=morris", "sensitivity.factors=[\"firm.budget_share=0:0.2\"]", "design.chunk=0",
      "sensitivity.hold=[firm.budget_share]"], "every factor held"),
    (['sensitivity.factors=["firm.margin=0:2"]'], "firm.margin = 2 is out of range"),
    (['sensitivity.factors=["firm.priority=0:1"]'], "is not numeric"),
])
def test_bad_sensitivity_config_is_named(overrides, message):
    with pytest.raises(ConfigError, match="invalid config") as info:
        load_config(overrides)
    assert message in str(info.value)


def test_bad_sensitivity_command_exits_2_and_writes_nothing(tmp_path):
    proc = marktsim("experiment=sensitivity", "sensitivity.samples=100", "sensitivity.method=sobol", *SMALL,
                    cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "sensitivity.samples = 100" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_sobol_sweep_report_and_a_parameter_that_does_not_enter(tmp_path):
    """An ordinary (joblib) sweep over the chunks, then marktsim-report. Onboarding cost enters
    profit but not churn, and the dummy enters nothing: with common random numbers every point
    differing only in them has identical churn, so their churn indices are 0 (up to rounding),
    while the budget's total index for NPV is clearly above the noise."""
    factors = '["firm.budget_share=0.02:0.2","firm.onboarding_cost=0:100","customers.propensity_alpha=0.3:1.0"]'
    marktsim("-m", "sensitivity.method=sobol", f"sensitivity.factors={factors}", "sensitivity.samples=16",
             "sensitivity.chunks=4", "design.chunk=range(0,4)", "name=sens", "hydra/launcher=joblib", *SMALL,
             cwd=tmp_path)
    sweeps = list((tmp_path / "results" / "sens").iterdir())
    proc = subprocess.run([str(BIN / "marktsim-report"), str(sweeps[0])], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(sweeps[0] / "report" / "sensitivity_sobol.csv")
    churn = table[table.output == "churn_annual"].set_index("parameter")
    for name in ("firm.onboarding_cost", "dummy"):
        assert abs(churn.loc[name, "S1"]) < 1e-9 and abs(churn.loc[name, "ST"]) < 1e-9
        assert not churn.loc[name, "above_noise"]
    npv = table[table.output == "npv"].set_index("parameter")
    assert npv.loc["firm.budget_share", "ST"] - npv.loc["firm.budget_share", "ST_conf"] > 0.1
    assert npv.loc["dummy", "ST"] < 1e-9
    report = (sweeps[0] / "report" / "report.md").read_text()
    assert "Sensitivity analysis (sobol)" in report and "sensitivity_sobol.png" in report


def test_report_names_missing_chunks(tmp_path):
    factors = '["firm.budget_share=0.02:0.2","customers.propensity_alpha=0.3:1.0"]'
    marktsim("-m", "sensitivity.method=morris", f"sensitivity.factors={factors}", "sensitivity.trajectories=4",
             "sensitivity.chunks=3", "design.chunk=0,2", "name=part", *SMALL, cwd=tmp_path)
    sweep = next((tmp_path / "results" / "part").iterdir())
    subprocess.run([str(BIN / "marktsim-report"), str(sweep)], check=True, capture_output=True, timeout=600)
    report = (sweep / "report" / "report.md").read_text()
    assert "(design.chunk = 1)" in report
    assert not (sweep / "report" / "sensitivity_morris.csv").exists()


def _morris(seed: int) -> pd.DataFrame:
    """Morris μ* of NPV over the study's 14 factors at a small size (index: parameter)."""
    from marktsim.config import compose_config, validate
    from marktsim.experiments.cli import _design_points

    raw = compose_config(["experiment=sensitivity", "design.chunk=0", "market.n_customers=1000", "horizon=60",
                          f"sensitivity.seed={seed}", "sensitivity.trajectories=16", "sensitivity.chunks=1"])
    rows = []
    for point, point_cfg, _ in _design_points(raw, validate(raw)):
        focal = simulate(point_cfg, 1).summary.query("firm == 'focal'").iloc[0]
        rows.append({"point": point, "npv": focal.npv, "churn_annual": focal.churn_annual})
    analysis = sa.analyse(validate(raw).sensitivity, pd.DataFrame(rows).set_index("point"))
    return analysis.indices[analysis.indices.output == "npv"].set_index("parameter")


@pytest.mark.slow
def test_morris_ranking_of_the_top_parameters_is_stable_across_seeds():
    """Two independent Morris samples agree on the two leading parameters, and no pair that one
    sample orders beyond its 95 % intervals is ordered the other way beyond them by the other."""
    a, b = _morris(0), _morris(1)
    assert set(a.index[:2]) == set(b.index[:2])
    low_a, high_a = a.mu_star - a.mu_star_conf, a.mu_star + a.mu_star_conf
    low_b, high_b = b.mu_star - b.mu_star_conf, b.mu_star + b.mu_star_conf
    for i in a.index:
        for j in a.index:
            assert not (low_a[i] > high_a[j] and low_b[j] > high_b[i]), (i, j)


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_the_indices_and_their_intervals_are_a_function_of_the_config_seed(method):
    """SALib's Sobol analysis seeds its bootstrap only for a true seed: with seed 0 its intervals
    came from numpy's global state. Any global state must give the same intervals."""
    import numpy as np

    sens = sens_block(method=method, samples=64)
    design = sample.sample_design(sens)
    x = design["firm.budget_share"].to_numpy()
    per_point = pd.DataFrame({"npv": 3 * x + 0.1 * np.sin(40 * x), "churn_annual": x ** 2},
                             index=design.point)
    results = []
    for state in (1, 2):
        np.random.seed(state)
        results.append(sa.analyse(sens, per_point).indices)
    pd.testing.assert_frame_equal(results[0], results[1])
    assert sa.sobol_seed(0) > 0 and sa.sobol_seed(0) != sa.sobol_seed(1)
