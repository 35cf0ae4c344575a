"""The compiled engine (numba) computes exactly what the numpy kernels compute.

Every comparison here is exact: the same bits in every table and every customer column, for
configurations that reach each branch of the kernels (priority classes, delay communication,
targeting, campaigns, adaptive and expanding firms, global mixing, a growing market, B2B,
backlogs of 0 to 9 ticks, a monopolist, no word of mouth), with blocks of customers small
enough that each run crosses many block boundaries, on one, two and three threads.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from marktsim.config import ConfigError, load_config
from marktsim.engine.network import small_world
from marktsim.model import COMPILE_ABOVE, ENGINE_ENV, MarketModel, choose_engine
from marktsim.simulation import simulate

compiled = pytest.importorskip("marktsim.engine.compiled")
ACCOUNT = importlib.import_module("marktsim.engine.account")  # the module (the package exports a function so named)

from engine_cases import CASES, OVERLOADED  # noqa: E402


def _state(model: MarketModel) -> dict[str, np.ndarray]:
    out = {"records": model.records(), "segments": model.segment_records()}
    out.update({f"column.{name}": column for name, column in vars(model.columns).items()})
    return out


def _assert_same_bits(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        x, y = np.ascontiguousarray(a[name]), np.ascontiguousarray(b[name])
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), f"{name} differs between the engines"


def _assert_branch_reached(case: str, model: MarketModel) -> None:
    """The precondition of a case: the branch it is there for really runs."""
    from marktsim.engine.account import M

    books = model.records()
    focal = books[:, 0, :]
    if case in OVERLOADED:
        assert focal[:, M["service_level"]].min() < 1.0, f"{case}: the focal firm is never overloaded"
        assert focal[:, M["customers_new"]].max() > 0, f"{case}: no new customers to rank"
    else:
        assert focal[:, M["service_level"]].min() == 1.0, f"{case}: unexpectedly overloaded"
    checks = {
        "capacity_aware": lambda: len(set(focal[:, M["retention_share_used"]])) == 2,
        "expanding": lambda: focal[:, M["capex"]].max() > 0,
        "adaptive": lambda: len(set(np.round(books[:, :, M["retention_share_used"]].ravel(), 9))) > 3,
        "campaign": lambda: focal[:, M["acquisition_spend"]].max() > focal[0, M["acquisition_spend"]],
        "monopolist": lambda: books.shape[1] == 1,
        "global_mixing": lambda: model.network is None and books[:, :, M["won_by_wom"]].sum() > 0,
        "growing": lambda: (model.columns.provider < 0).any(),
        "b2b_value_weighted": lambda: model.columns.b2b.mean() > 0.5,
        "no_word_of_mouth": lambda: books[:, :, M["won_by_wom"]].sum() == 0,
        # nine ages (numpy's pairwise row sums), more units waiting than one tick of demand (ages ≥ 2 in use)
        "long_backlog": lambda: model.columns.backlog.shape[1] == 9
        and (focal[:, M["backlog_units"]] > focal[:, M["demand_units"]]).any(),
        "no_backlog": lambda: model.columns.backlog.shape[1] == 0 and focal[:, M["lost_units"]].max() > 0,
        "retention_heavy_abc": lambda: not model.crm[0] and model.targeting[0] == 2,
        "default": lambda: books[:, :, M["won_by_wom"]].sum() > 0 and books[:, :, M["detractors"]].sum() >= 0,
        "incentives_deal_prone": lambda: books[:, :, M["won_incentive"]].sum() > 0
        and books[:, :, M["lost_incentive"]].sum() > 0 and model.columns.deal_prone.any()
        and np.unique(model.columns.propensity).size > 100,
        "contagion_protection_switching": lambda: model.columns.left.any() and model.market.rules.contagion > 0,
        "contracts_global": lambda: model.network is None and model.columns.contract.any()
        and not model.columns.contract.all(),
        "growing_incentives_beta": lambda: books[:, :, M["won_incentive"]].sum() > 0
        and (model.columns.provider < 0).any() and np.unique(model.columns.propensity).size > 100,
    }
    if case in checks:
        assert checks[case](), f"{case}: its branch is not reached"


@pytest.mark.parametrize("case", sorted(CASES))
def test_engines_agree_bit_for_bit(case, monkeypatch):
    """On one thread and on two (replicate 1 on three), with blocks of 1 024 customers."""
    cfg = load_config(["market.n_customers=3000", "horizon=30", *CASES[case]])
    monkeypatch.setattr(ACCOUNT, "BLOCK", 1024)  # three blocks and a short one: sums in blocks
    for replicate, threads in ((0, 2), (1, 3)):
        reference = MarketModel(cfg, replicate=replicate, engine="numpy").run()
        _assert_branch_reached(case, reference)
        for crew in (1, threads):
            fast = MarketModel(cfg, replicate=replicate, engine="compiled", threads=crew).run()
            assert reference.engine == "numpy" and fast.engine == "compiled"
            assert fast.kernels.crew.threads == crew  # several blocks: the threads really run
            _assert_same_bits(_state(reference), _state(fast))


def test_a_crew_returns_in_block_order_draws_in_block_order_and_stops_on_an_error():
    import threading
    import time

    spans = [(lo, lo + 10) for lo in range(0, 80, 10)]
    stream = iter(range(1000))  # the "uniforms": consecutive numbers, in the order drawn

    def work(b, lo, hi, u):
        time.sleep(0.002 * (8 - b))  # the first blocks finish last
        return b, lo, hi, list(u), threading.get_ident()

    results = compiled.Crew(3).each(work, spans, draw=lambda k: [next(stream) for _ in range(k)])
    assert [r[:3] for r in results] == [(b, lo, hi) for b, (lo, hi) in enumerate(spans)]
    assert all(r[3] == list(range(r[1], r[2])) for r in results)  # block b got draws lo … hi − 1
    assert len({r[4] for r in results}) > 1  # several threads took blocks

    seen = []

    def failing(b, lo, hi):
        if b == 1:
            raise ValueError("block 1")
        time.sleep(0.01)
        seen.append(b)

    with pytest.raises(ValueError, match="block 1"):
        compiled.Crew(2).each(failing, spans)
    finished = sorted(seen)
    time.sleep(0.05)
    assert sorted(seen) == finished  # no block still ran after each() raised
    assert 0 in finished and 1 not in finished and len(finished) < len(spans) - 1  # the rest not taken


def test_engines_agree_on_the_tables(monkeypatch):
    """One block (the default size) and the tidy tables of simulate(), exactly."""
    import pandas as pd

    cfg = load_config(["market.n_customers=2000", "horizon=24"])
    results = {}
    for engine in ("numpy", "compiled"):
        monkeypatch.setenv(ENGINE_ENV, engine)
        results[engine] = simulate(cfg, replicates=2)
    for table in ("timeseries", "segments", "summary"):
        pd.testing.assert_frame_equal(getattr(results["numpy"], table), getattr(results["compiled"], table),
                                      check_exact=True)


@pytest.mark.parametrize("n,degree,rewiring", [
    (10, 4, 0.3), (1000, 10, 0.1), (1001, 6, 0.5), (5, 10, 0.2), (3, 2, 1.0), (2, 10, 0.5), (1, 4, 0.1),
    (20_000, 10, 0.1), (777, 20, 0.0), (500, 8, 1.0), (64, 0, 0.1),
])
def test_compiled_network_is_the_reference_network(n, degree, rewiring):
    reference = small_world(n, degree, rewiring, np.random.default_rng(7))
    fast = compiled.small_world(n, degree, rewiring, np.random.default_rng(7))
    assert np.array_equal(reference.indptr, fast.indptr)
    assert np.array_equal(reference.indices, fast.indices)
    assert reference.inverse_degree().tobytes() == fast.inverse_degree().tobytes()
    # and the generator is left in the same state: the model's later draws do not shift
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    small_world(n, degree, rewiring, a), compiled.small_world(n, degree, rewiring, b)
    assert a.random() == b.random()


def test_engine_choice(monkeypatch):
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    assert choose_engine(10, 10, "numpy") == "numpy"
    assert choose_engine(10, 10, "compiled") == "compiled"
    # auto: compiled once loaded (this module imported it), or for work that repays loading it
    assert choose_engine(10, 10) == "compiled"
    monkeypatch.setenv(ENGINE_ENV, "numpy")
    assert choose_engine(10**7, 120) == "numpy"
    monkeypatch.setenv(ENGINE_ENV, "fast")
    with pytest.raises(ConfigError, match="MARKTSIM_ENGINE = 'fast'; allowed: auto, numpy, compiled"):
        choose_engine(10, 10)
    assert COMPILE_ABOVE > 10**6


def test_auto_engine_without_compiled_loaded(tmp_path):
    """In a fresh process 'auto' leaves a small run on numpy (no numba import) and compiles a
    long job."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from marktsim.config import load_config\n"
        "from marktsim.model import MarketModel, choose_engine\n"
        "m = MarketModel(load_config(['market.n_customers=500', 'horizon=3'])).run()\n"
        "print(m.engine, 'numba' in sys.modules, choose_engine(10_000, 120, runs=20))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != ENGINE_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["numpy", "False", "compiled"]


@pytest.mark.parametrize("command", ["marktsim", "marktsim-optimize", "marktsim-calibrate"])
@pytest.mark.parametrize("setting", ["engine", "threads"])
def test_a_bad_engine_setting_is_one_line_exit_2_nothing_written(tmp_path, command, setting):
    import os
    import subprocess
    import sys
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data" / "fader_hardie_2007_regular.csv"  # read only
    assert data.is_file()
    args = {"marktsim": ["horizon=1", "market.n_customers=100", f"results_dir={tmp_path / 'results'}"],
            "marktsim-optimize": ["--study", str(tmp_path / "study"), "market.n_customers=100"],
            "marktsim-calibrate": ["--data", str(data), "--out", str(tmp_path / "fit"), "market.n_customers=100"],
            }[command]
    variable, value, allowed = {"engine": (ENGINE_ENV, "fast", "auto, numpy, compiled"),
                                "threads": ("MARKTSIM_THREADS", "0", "auto or a whole number >= 1")}[setting]
    proc = subprocess.run([str(Path(sys.executable).parent / command), *args], capture_output=True, text=True,
                          env={**os.environ, variable: value}, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    expected = f"{command}: invalid setting: {variable} = {value!r}; allowed: {allowed}"
    assert proc.stderr.strip() == expected
    assert list(tmp_path.iterdir()) == []


def r_opinion_codes(firm, col, waiting, n_firms, rules):
    """The compiled engine's codes: each customer's opinion, plus LEFT when it left last tick."""
    from marktsim.engine import rules as r

    opinion = r.opinion(firm, firm < n_firms, col.satisfaction, waiting, n_firms, rules)
    return (opinion + np.where(col.left, compiled.LEFT, 0)).astype(np.int8)


@pytest.mark.parametrize("growing", [False, True])
def test_decisions_agree_exactly_at_the_thresholds(growing):
    """Outcomes hide most rounding differences (a uniform rarely falls within an ulp of a
    threshold), so here it always does: with u_i at each customer's hazard and reach as numpy
    computes them, and one ulp below, the compiled decisions must be numpy's — with every term
    of the hazard and the pull in play (propensities, contagion, discount ends, protection by
    promoters, switching costs, incentives, contracts)."""
    from marktsim.engine.state import Columns
    from marktsim.engine.switch import acquisition_pressure, decide, thresholds
    from marktsim.engine.tick import Plan
    from marktsim.engine.word_of_mouth import word_of_mouth

    from conftest import rules_for

    rng = np.random.default_rng(11)
    n, F = 4000, 4
    provider = rng.integers(-1 if growing else 0, F, n).astype(np.int8)
    firm = np.where(provider >= 0, provider, F)
    col = Columns(provider=provider, satisfaction=rng.random(n).astype(np.float32),
                  bond=rng.random(n).astype(np.float32), tenure=rng.integers(0, 30, n).astype(np.int32),
                  value=np.ones(n, np.float32), b2b=rng.random(n) < 0.2, units=np.ones(n, np.float32),
                  segment=np.zeros(n, np.int8), backlog=np.zeros((n, 0), np.float32), known=np.zeros(n, bool),
                  referred=np.zeros(n, bool), propensity=rng.gamma(0.7, 1 / 0.7, n).astype(np.float32),
                  deal_prone=rng.random(n) < 0.4, contract=rng.random(n) < 0.2, won_incentive=rng.random(n) < 0.3,
                  left=rng.random(n) < 0.05)
    waiting = rng.random(n) < 0.1
    net = small_world(n, 10, 0.1, rng)
    rules = rules_for(wom_positive=0.03, wom_negative=0.02, promoter_threshold=0.8, detractor_threshold=0.4,
                      churn_base=0.005, churn_dissatisfaction=0.1, bond_protection=0.8, satisfaction_protection=0.7,
                      b2b_churn_factor=0.5, churn_contagion=6.0, wom_protection=0.5, switching_cost=0.2,
                      contract_length=4, incentive_months=3, incentive_end_churn=2.0, adoption_response=0.4)
    talk = word_of_mouth(firm, col.satisfaction, waiting, col.left, F, net, rules)
    codes = r_opinion_codes(firm, col, waiting, F, rules)
    speaks = ~((talk.promoters == 0) & ((talk.detractors == 0) | (rules.wom_negative == 0)))
    pressure = acquisition_pressure(np.array([3e4, 1e4, 2e4, 5e3]), 0.05, 2.0, n)
    offer = acquisition_pressure(np.array([1e4, 0.0, 3e4, 5e3]), 0.05, 2.0, n)
    plan = Plan(np.zeros(F), np.zeros(F), np.full(F, np.inf), pressure, offer)
    factor = (np.where(col.b2b, np.float32(0.5), np.float32(1.0)) * col.propensity).astype(np.float32)
    hazard, reach = thresholds(firm, col, factor, plan, talk, not growing, rules)
    state = compiled.State(col.provider, col.satisfaction, col.bond, col.tenure, col.value, col.b2b, col.units,
                           col.segment, col.backlog, col.known, col.referred, col.propensity, col.deal_prone,
                           col.contract, col.won_incentive, col.left)
    deciding = compiled.Deciding(pressure, float(pressure.sum()), offer, float(offer.sum()), np.zeros(0, np.float32),
                                 net.indptr, net.indices, codes, speaks, False, True, True, np.zeros(0, np.float32),
                                 np.float32(0.0))
    assert (hazard[provider >= 0] > 0).any() and (reach[col.contract & (provider >= 0)] == 0).any()
    below = lambda x: np.nextafter(x, -np.inf)  # noqa: E731
    at_hazard = hazard.astype(np.float64)
    for u, movers_at_least in ((reach, 0), (below(reach), n // 2), (at_hazard, n // 2), (below(at_hazard), n // 2)):
        u = np.ascontiguousarray(u, dtype=np.float64)
        expected, expected_intrinsic = decide(u, hazard, reach)
        found = compiled.Found(np.empty(n, np.int64), np.empty(n, bool), np.zeros(1, np.int64))
        compiled.word_of_mouth_and_decide(0, n, state, rules, deciding, u, found)
        who, intrinsic = found.who, found.intrinsic
        found = found.n
        assert expected.shape[0] >= movers_at_least
        assert np.array_equal(who[: found[0]], expected)
        assert np.array_equal(intrinsic[: found[0]], expected_intrinsic)
