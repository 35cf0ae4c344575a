"""Every run is reproducible from (config, seed); replicates come from spawned seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marktsim.config import load_config
from marktsim.simulation import simulate

pytestmark = pytest.mark.usefixtures("engine")  # every test here runs on both engines

CFG = ["market.n_customers=600", "horizon=15", "market=growing"]


def test_same_config_and_seed_give_identical_tables():
    a = simulate(load_config(CFG + ["seed=7"]), replicates=2)
    b = simulate(load_config(CFG + ["seed=7"]), replicates=2)
    for name in ("timeseries", "segments", "summary"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_replicate_alone_equals_replicate_in_a_batch_of_five():
    batch = simulate(load_config(CFG + ["seed=3"]), replicates=5)
    alone = simulate(load_config(CFG + ["seed=3"]), replicates=[3])
    part = batch.timeseries[batch.timeseries.replicate == 3].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, alone.timeseries)
    # and the replicates of a batch differ from each other
    r0 = batch.timeseries[batch.timeseries.replicate == 0].customers.to_numpy()
    r1 = batch.timeseries[batch.timeseries.replicate == 1].customers.to_numpy()
    assert not np.array_equal(r0, r1)


def test_another_seed_differs():
    a = simulate(load_config(CFG + ["seed=1"])).timeseries
    b = simulate(load_config(CFG + ["seed=2"])).timeseries
    assert not a.customers.equals(b.customers)


def test_replicate_seed_is_the_spawned_child():
    """Replicate r draws from the r-th child of SeedSequence(seed) (its first child drives the
    engine): the first draw of initialisation, the B2B flags, can be recomputed from it."""
    from marktsim.model import MarketModel

    model = MarketModel(load_config(CFG + ["seed=11"]), replicate=2)
    child = np.random.SeedSequence(11).spawn(3)[2]
    engine = np.random.default_rng(child.spawn(1)[0])
    assert np.array_equal(model.columns.b2b, engine.random(600) < 0.1)
    other = MarketModel(load_config(CFG + ["seed=11"]), replicate=1)
    assert not np.array_equal(model.columns.value, other.columns.value)


@pytest.mark.parametrize("replicates", [0, [], [-1]])
def test_bad_replicate_requests_name_the_value(replicates):
    with pytest.raises(ValueError, match=r"replicates = .*allowed"):
        simulate(load_config(CFG), replicates=replicates)


def test_simulate_reads_the_defaults_prepares_the_engine_for_its_runs_and_reports_ticks(monkeypatch):
    """simulate(): without a config it runs load_config()'s; the engine is prepared for the
    number of runs it makes (the compiled kernels are loaded only when enough runs repay it);
    on_tick is called once per tick of every replicate; the results carry the resolved config."""
    from marktsim import simulation
    from marktsim.config import plain

    small = load_config(CFG + ["seed=5"])
    monkeypatch.setattr(simulation, "load_config", lambda: small)
    default, explicit = simulate(replicates=2), simulate(small, replicates=2)
    pd.testing.assert_frame_equal(default.timeseries, explicit.timeseries)
    assert default.config == explicit.config == plain(small)
    prepared, ticks, prepare = [], [], simulation.prepare_engine
    monkeypatch.setattr(simulation, "prepare_engine", lambda cfg, runs: prepared.append(runs) or prepare(cfg, runs))
    simulate(small, replicates=3, on_tick=lambda: ticks.append(1))
    assert prepared == [3] and len(ticks) == 3 * int(small.horizon)
