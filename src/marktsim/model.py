"""MarketModel: builds the market and runs the schedule of MODEL.md §2, one tick per step."""

from __future__ import annotations

import functools
import importlib.util
import math
import sys
from typing import Any

import mesa
import numpy as np
from mesa.agent import AgentSet
from omegaconf import DictConfig

from marktsim.agents import Customer, Firm
from marktsim.config import (  # noqa: F401  (re-exported)
    ENGINE_ENV,
    ENGINES,
    engine_setting,
    expected_initial_demand,
    expected_initial_revenue,
    load_config,
    plain,
    threads_setting,
    validate,
)
from marktsim.engine import initial_columns, small_world
from marktsim.engine.account import METRICS, Book, FirmBooks, M, account, book_capex, per_firm
from marktsim.engine.rules import rules_from
from marktsim.engine.serve import PRIORITIES
from marktsim.engine.switch import acquisition_pressure
from marktsim.engine.tick import Engine, FirmTerms, Market, Plan
from marktsim.engine.vectorised import NumpyEngine

TARGETING = ("uniform", "value_weighted", "abc")
# Importing numba and loading the compiled kernels costs a process about 0.5 s; they save about
# 50 ns per customer-tick (benchmarks/RESULTS.md), so 'auto' compiles once a process has at
# least this many customer-ticks to run (a run, or all replicates of a job: see `prepare_engine`)
COMPILE_ABOVE = 20_000_000


def choose_engine(n_customers: int, horizon: int, engine: str | None = None, runs: int = 1) -> str:
    """The kernels a run uses: 'numpy' or 'compiled' (numba; bit-identical results).

    `engine` (default: the environment variable MARKTSIM_ENGINE, else 'auto'): 'auto' uses the
    compiled kernels when they are loaded already, or when `runs` runs of this size make at
    least COMPILE_ABOVE customer-ticks and numba is installed."""
    engine = engine_setting(engine)
    if engine != "auto":
        return engine
    if "marktsim.engine.compiled" in sys.modules:
        return "compiled"
    if n_customers * max(horizon, 1) * runs >= COMPILE_ABOVE and importlib.util.find_spec("numba") is not None:
        return "compiled"
    return "numpy"


def prepare_engine(cfg: DictConfig, runs: int, engine: str | None = None) -> str:
    """Choose the engine for `runs` runs of `cfg` in this process, and load it now."""
    chosen = choose_engine(int(cfg.market.n_customers), int(cfg.horizon), engine, runs)
    if chosen == "compiled":
        from marktsim.engine import compiled  # noqa: F401  (numba, loaded once per process)
    return chosen


def firm_names(n_firms: int) -> list[str]:
    """focal, rival_1, rival_2, …"""
    return ["focal"] + [f"rival_{k}" for k in range(1, n_firms)]


class MarketModel(mesa.Model):
    """The market: one focal firm and K rivals (Firm agents) and N customers (column state).

    ``MarketModel(cfg, replicate=r)`` draws everything from the r-th child of
    ``SeedSequence(cfg.seed)``; ``step()`` runs one tick (one month) of §2. ``engine``
    ('auto', 'numpy' or 'compiled'; see ``choose_engine``) picks the kernels and ``threads``
    (default: MARKTSIM_THREADS, else the usable cores; ``config.threads_setting``) how many
    threads the compiled kernels use; results depend on neither.
    """

    def __init__(self, cfg: DictConfig | dict | None = None, *, replicate: int = 0, engine: str | None = None,
                 threads: int | str | None = None):
        cfg = load_config() if cfg is None else validate(cfg)
        seq = np.random.SeedSequence(int(cfg.seed), spawn_key=(int(replicate),))
        engine_seq, mesa_seq = seq.spawn(2)
        # Mesa's own generators get a separate child: results never depend on how a Mesa
        # version consumes its rng; all model randomness comes from self.generator.
        super().__init__(rng=int(mesa_seq.generate_state(1, dtype=np.uint32)[0]))
        self.cfg = cfg
        self.replicate = int(replicate)
        self.generator = np.random.default_rng(engine_seq)
        m, c = cfg.market, cfg.customers
        self.n = int(m.n_customers)
        self.n_firms = int(m.n_competitors) + 1
        self.saturated = bool(m.saturated)
        self.horizon = int(cfg.horizon)
        self.engine = choose_engine(self.n, self.horizon, engine)
        self.threads = threads_setting(threads)  # the compiled kernels' (the numpy engine runs on one)
        self.tick = 0
        self.c = plain(c)
        shares = np.full(self.n_firms, 1.0 / self.n_firms) if m.initial_shares is None else np.array(m.initial_shares)
        self.firm_names = firm_names(self.n_firms)

        focal = {**plain(cfg.firm), **plain(cfg.strategy)}
        rival = plain(cfg.competitors)
        firms = []
        for j in range(self.n_firms):
            if j == 0:
                params, budget = focal, float(cfg.firm.budget)
                capacity = math.inf if cfg.firm.capacity is None else float(cfg.firm.capacity)
            else:
                params = rival
                budget = float(rival["budget_share"]) * expected_initial_revenue(cfg, j)
                factor = rival["capacity_factor"]
                capacity = math.inf if factor is None else float(factor) * expected_initial_demand(cfg, j)
            firms.append(Firm(self, j, self.firm_names[j], params, budget, capacity))
        self.firm_list: list[Firm] = firms
        self.firms = AgentSet(firms, random=self.random)

        # per-firm terms, with an extra entry (index n_firms) standing for "no provider"
        def per(key: str, dtype: Any, pad: Any) -> np.ndarray:
            return np.array([f.params[key] for f in firms] + [pad], dtype=dtype)

        terms = FirmTerms(
            quality=np.array([f.quality for f in firms] + [0.0], dtype=np.float32),
            communicates=per("communicate_delays", bool, False),
            crm=per("crm", bool, False),
            priority=np.array([PRIORITIES.index(f.params["priority"]) for f in firms] + [1], dtype=np.int8),
            targeting=np.array([TARGETING.index(f.params["targeting"]) for f in firms] + [0], dtype=np.int8),
            abc_weights=per("abc_weights", np.float32, [0, 0, 0]),
        )
        self.margin = np.array([f.margin for f in firms], dtype=np.float64)
        self.onboarding_cost = np.array([float(f.params["onboarding_cost"]) for f in firms])
        self.capacity_cost = np.array([float(f.params["capacity_cost"]) for f in firms])

        adopted = 1.0 if self.saturated else float(m.adopted_share)
        compiled: Any = None
        if self.engine == "compiled":
            compiled = importlib.import_module("marktsim.engine.compiled")  # numba, loaded once per process
        self.columns = initial_columns(self.generator, self.n, shares, adopted, self.c, terms.crm)
        build = compiled.small_world if compiled is not None else small_world  # the same network
        network = (build(self.n, int(m.network_degree), float(m.network_rewiring), self.generator)
                   if m.network == "small_world" else None)
        col = self.columns
        self.market = Market(self.n, self.n_firms, self.saturated, network,
                             rules_from(self.c, float(m.adoption_response)), terms,
                             (col.segment * 2 + col.b2b).astype(np.int8))
        self.kernels: Engine = (compiled.CompiledEngine(self.market, self.revenue_potential, self.threads)
                                if compiled is not None
                                else NumpyEngine(self.market, self.revenue_potential, col.b2b, col.propensity))
        self.monthly_discount = (1.0 + float(m.annual_discount_rate)) ** (1.0 / 12.0) - 1.0
        self.acquisition_max, self.acquisition_scale = float(m.acquisition_max), float(m.acquisition_scale)
        self.incentive_max, self.incentive_scale = float(m.incentive_max), float(m.incentive_scale)
        self.initial_customers = per_firm(self._firm_index(), self.n_firms)
        self._records: list[np.ndarray] = []
        self._segments: list[np.ndarray] = []
        self._views: AgentSet | None = None
        self.running = True

    # ------------------------------------------------------------------ helpers
    def _firm_index(self) -> np.ndarray:
        p = self.columns.provider
        return np.where(p >= 0, p, self.n_firms).astype(np.intp)

    @functools.cached_property
    def revenue_potential(self) -> np.ndarray:
        """Expected revenue per tick of each customer before tenure growth (value × units)."""
        return self.columns.value * self.columns.units

    @property
    def network(self):
        """The customers' contacts (``Network``), or None under global mixing."""
        return self.market.network

    @property
    def crm(self) -> np.ndarray:
        """Per firm (and a last entry for "no provider"): database marketing on or off."""
        return self.market.firms.crm

    @property
    def targeting(self) -> np.ndarray:
        """Per firm (and a last entry): 0 uniform, 1 value-weighted, 2 abc retention targeting."""
        return self.market.firms.targeting

    @property
    def customers(self) -> AgentSet:
        """All customers as Mesa agents (views on the columns), created on first access."""
        if self._views is None:
            self._views = AgentSet([Customer(self, i) for i in range(self.n)], random=self.random)
        return self._views

    @property
    def focal(self) -> Firm:
        return self.firm_list[0]

    # ------------------------------------------------------------------ schedule
    def step(self) -> None:
        """One tick of §3: plan, serve, experience, retain, word of mouth, leave or switch,
        account, capacity, tenure."""
        self.tick += 1
        t = self.tick

        # 1. plan
        for f in self.firm_list:
            f.plan(t)
        acquisition = np.array([f.acquisition_spend for f in self.firm_list])
        incentive = np.array([f.incentive_spend for f in self.firm_list])
        plan = Plan(acquisition=acquisition, retention=np.array([f.retention_spend for f in self.firm_list]),
                    capacity=np.array([f.capacity for f in self.firm_list]),
                    pressure=acquisition_pressure(acquisition, self.acquisition_max, self.acquisition_scale, self.n),
                    offer=acquisition_pressure(incentive, self.incentive_max, self.incentive_scale, self.n))
        # 2.–6. and 9.: the customers (numpy kernels, or the compiled passes: the same numbers)
        result = self.kernels.tick(self.columns, plan, self.generator)

        # 7. account
        firms = FirmBooks(self.margin, self.onboarding_cost, self.capacity_cost, plan.acquisition, incentive,
                          plan.retention, np.array([f.retention_share for f in self.firm_list]), plan.capacity)
        row = account(t, result.books, firms, self.n, self.monthly_discount)

        # 8. capacity (and the strategy policies learn from the closed books)
        due = result.books[Book.DEMAND] + result.books[Book.BACKLOG_IN]
        for j, f in enumerate(self.firm_list):
            capex = f.close_books(t, row[j, M["profit"]], row[j, M["utilisation"]], float(due[j]))
            if capex:
                book_capex(row, j, capex, t, self.monthly_discount)
        self._records.append(row)
        self._segments.append(result.cells)
        self.running = self.tick < self.horizon

    def run(self, ticks: int | None = None) -> MarketModel:
        """Run `ticks` ticks (default: up to the configured horizon)."""
        for _ in range(self.horizon - self.tick if ticks is None else ticks):
            self.step()
        return self

    # ------------------------------------------------------------------ outputs
    def records(self) -> np.ndarray:
        """Per-tick books as an array (ticks, firms, metrics); metric order: METRICS."""
        if not self._records:
            return np.zeros((0, self.n_firms, len(METRICS)))
        return np.stack(self._records)

    def segment_records(self) -> np.ndarray:
        """Per-tick segment figures as an array (ticks, 3 metrics, firms, 6 cells)."""
        if not self._segments:
            return np.zeros((0, 3, self.n_firms, 6))
        return np.stack(self._segments)
