"""MarketModel: builds the market and runs the schedule of MODEL.md §2, one tick per step."""

from __future__ import annotations

import functools
import importlib.util
import math
import sys
from types import SimpleNamespace
from typing import Any

import mesa
import numpy as np
from mesa.agent import AgentSet
from omegaconf import DictConfig, OmegaConf

from marktsim.agents import Customer, Firm
from marktsim.config import (  # noqa: F401  (re-exported)
    ENGINE_ENV,
    ENGINES,
    engine_setting,
    expected_initial_demand,
    expected_initial_revenue,
    load_config,
    validate,
)
from marktsim.engine import (
    account,
    acquisition_pressure,
    experience,
    initial_columns,
    retain,
    retention_allocation,
    serve,
    small_world,
    word_of_mouth,
)
from marktsim.engine.account import BOOKS, METRICS, MOVER_BOOKS, M, books, mover_books, per_firm
from marktsim.engine.retain import spend_per_weight
from marktsim.engine.serve import PRIORITIES
from marktsim.engine.switch import Moves, choose, decide, thresholds

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
    ('auto', 'numpy' or 'compiled'; see ``choose_engine``) picks the kernels; results do not
    depend on it.
    """

    def __init__(self, cfg: DictConfig | dict | None = None, *, replicate: int = 0, engine: str | None = None):
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
        self.tick = 0
        self.c = OmegaConf.to_container(c)
        shares = np.full(self.n_firms, 1.0 / self.n_firms) if m.initial_shares is None else np.array(m.initial_shares)
        self.firm_names = firm_names(self.n_firms)

        focal = {**OmegaConf.to_container(cfg.firm), **OmegaConf.to_container(cfg.strategy)}
        rival = OmegaConf.to_container(cfg.competitors)
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

        # per-firm constants, with an extra entry (index n_firms) standing for "no provider"
        def per(key: str, dtype: Any, pad: Any) -> np.ndarray:
            return np.array([f.params[key] for f in firms] + [pad], dtype=dtype)

        self.crm = per("crm", bool, False)
        self.communicates = per("communicate_delays", bool, False)
        self.quality = np.array([f.quality for f in firms] + [0.0], dtype=np.float32)
        self.margin = np.array([f.margin for f in firms], dtype=np.float64)
        self.priority = np.array([PRIORITIES.index(f.params["priority"]) for f in firms], dtype=np.int8)
        self.targeting = np.array([TARGETING.index(f.params["targeting"]) for f in firms] + [0], dtype=np.int8)
        self.abc_weights = np.array([f.params["abc_weights"] for f in firms] + [[0, 0, 0]], dtype=np.float32)
        self.onboarding_cost = np.array([float(f.params["onboarding_cost"]) for f in firms])
        self.capacity_cost = np.array([float(f.params["capacity_cost"]) for f in firms])

        adopted = 1.0 if self.saturated else float(m.adopted_share)
        if self.engine == "compiled":
            self._prepare_compiled()
        self.columns = initial_columns(self.generator, self.n, shares, adopted, self.c, self.crm)
        build = self._compiled.small_world if self.engine == "compiled" else small_world  # the same network
        self.network = (
            build(self.n, int(m.network_degree), float(m.network_rewiring), self.generator)
            if m.network == "small_world"
            else None
        )
        self.monthly_discount = (1.0 + float(m.annual_discount_rate)) ** (1.0 / 12.0) - 1.0
        self.acquisition_max, self.acquisition_scale = float(m.acquisition_max), float(m.acquisition_scale)
        self.initial_customers = per_firm(self._firm_index(), self.n_firms)
        self._records: list[np.ndarray] = []
        self._segments: list[np.ndarray] = []
        self._views: AgentSet | None = None
        self._cell: np.ndarray | None = None
        self._growth_table: np.ndarray | None = None
        self._priority_ext = np.append(self.priority, np.int8(1))
        self.running = True

    # ------------------------------------------------------------------ helpers
    def _firm_index(self) -> np.ndarray:
        p = self.columns.provider
        return np.where(p >= 0, p, self.n_firms).astype(np.intp)

    @functools.cached_property
    def revenue_potential(self) -> np.ndarray:
        """Expected revenue per tick of each customer before tenure growth (value × units)."""
        return self.columns.value * self.columns.units

    @functools.cached_property
    def churn_factor(self) -> np.ndarray:
        """Each customer's churn-hazard factor: b2b_churn_factor for B2B customers, else 1."""
        return np.where(self.columns.b2b, np.float32(self.c["b2b_churn_factor"]), np.float32(1.0)).astype(np.float32)

    @property
    def customers(self) -> AgentSet:
        """All customers as Mesa agents (views on the columns), created on first access."""
        if self._views is None:
            self._views = AgentSet([Customer(self, i) for i in range(self.n)], random=self.random)
        return self._views

    @property
    def focal(self) -> Firm:
        return self.firm_list[0]

    def _retention_weights(self, firm: np.ndarray) -> np.ndarray | None:
        """Each customer's weight in its firm's retention spend (None: all equal)."""
        if not self.targeting.any():
            return None
        code = self.targeting[firm]
        abc = self.abc_weights[firm, self.columns.segment]
        return np.where(code == 0, np.float32(1.0), np.where(code == 1, self.revenue_potential, abc))

    # ------------------------------------------------------------------ schedule
    def step(self) -> None:
        """One tick of MODEL.md §2: plan, serve, experience, retain, word of mouth,
        leave or switch, account, capacity, tenure."""
        self.tick += 1
        t = self.tick

        # 1. plan
        for f in self.firm_list:
            f.plan(t)
        plan = SimpleNamespace(
            acquisition=np.array([f.acquisition_spend for f in self.firm_list]),
            retention=np.array([f.retention_spend for f in self.firm_list]),
            capacity=np.array([f.capacity for f in self.firm_list]),
        )
        plan.pressure = acquisition_pressure(plan.acquisition, self.acquisition_max, self.acquisition_scale, self.n)
        # 2.–6. and 9.: the customers (numpy kernels, or the compiled passes: the same numbers)
        out = self._customers_compiled(plan) if self.engine == "compiled" else self._customers_numpy(plan)

        # 7. account
        book = dict(zip(BOOKS, out.sums))
        moved = dict(zip(MOVER_BOOKS, out.mover_sums))
        row = account(
            tick=t,
            n_customers=self.n,
            customers=book["customers"],
            customers_start=out.customers_start,
            customers_new=book["customers_new"],
            won=moved["won"],
            won_by_wom=moved["won_by_wom"],
            lost_intrinsic=moved["lost_intrinsic"],
            lost_poached=moved["lost_poached"],
            lost_new=moved["lost_new"],
            revenue=book["revenue"],
            margin=self.margin,
            acquisition_spend=plan.acquisition,
            retention_spend=out.retention,
            retention_share=np.array([f.retention_share for f in self.firm_list]),
            onboarding_cost=self.onboarding_cost,
            capacity=plan.capacity,
            capacity_cost=self.capacity_cost,
            demand_units=book["demand_units"],
            backlog_in=out.backlog_in,
            served_units=book["served_units"],
            backlog_units=book["backlog_units"],
            lost_units=book["expired_units"] + moved["lost_units"],
            satisfaction_sum=book["satisfaction_sum"],
            bond_sum=book["bond_sum"],
            promoters=out.promoters,
            detractors=out.detractors,
            monthly_discount=self.monthly_discount,
        )

        # 8. capacity (and the strategy policies learn from the closed books)
        for j, f in enumerate(self.firm_list):
            capex = f.close_books(t, row[j, M["profit"]], row[j, M["utilisation"]])
            if capex:
                row[j, M["capex"]] = capex
                row[j, M["profit"]] -= capex
                row[j, M["discounted_profit"]] = row[j, M["profit"]] / (1.0 + self.monthly_discount) ** t
        self._records.append(row)
        self._segments.append(np.stack((out.segment[0], out.lost_cells, out.segment[1])))
        self.running = self.tick < self.horizon

    def _cells(self) -> np.ndarray:
        """Each customer's segment × kind cell (segment·2 + B2B), 0–5; they never change."""
        if self._cell is None:
            self._cell = (self.columns.segment * 2 + self.columns.b2b).astype(np.int8)
        return self._cell

    def _move(self, moves, waiting_units: np.ndarray) -> SimpleNamespace:
        """§2.6 Apply the moves to the columns; return what the books need of them."""
        F, col, c = self.n_firms, self.columns, self.c
        who, old, new = moves.who, moves.old, moves.new
        was_new = col.tenure[who] < c["t_new"]
        out = SimpleNamespace(moves=moves)
        out.mover_sums, out.lost_cells = mover_books(old, new, moves.referred, moves.intrinsic, was_new,
                                                     waiting_units[who], self._cells()[who], F)
        col.provider[who] = new
        col.tenure[who] = 0
        col.known[who] = False
        col.satisfaction[who] = c["satisfaction_init"]
        col.bond[who] = np.minimum(1.0, c["bond_init"] + c["referral_bonus"] * moves.referred)
        col.referred[who] = moves.referred & (new >= 0)
        col.backlog[who] = 0.0
        return out

    def _customers_numpy(self, plan: SimpleNamespace) -> SimpleNamespace:
        """§2.2–2.6 and §2.9 with the numpy kernels, one call per mechanism over all customers."""
        F, col, c = self.n_firms, self.columns, self.c
        firm = self._firm_index()
        active = firm < F
        customers_start = per_firm(firm, F)
        retention = np.where(customers_start > 0, plan.retention, 0.0)  # nobody to spend it on
        is_new = col.tenure < c["t_new"]
        backlog_in = per_firm(firm, F, col.backlog_units())  # before serving

        # 2. serve
        served, due, col.backlog, expired = serve(col.provider, col.units, col.backlog, is_new, self.priority,
                                                  plan.capacity)
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = np.where(due > 0, served / due, np.float32(1.0)).astype(np.float32)
        growth = np.float32(1.0) + np.float32(c["loyalty_growth_max"]) * -np.expm1(
            -col.tenure.astype(np.float32) / np.float32(c["loyalty_growth_time"])
        )
        revenue = served * col.value * growth

        # 3. experience
        forgiving = self.communicates[firm] & ~is_new
        rate = np.where(is_new, np.float32(c["alpha_new"]), np.float32(c["alpha_est"]))
        felt = experience(col.satisfaction, fraction, self.quality[firm], forgiving, rate, c["delay_forgiveness"])
        col.satisfaction = np.where(active, felt, col.satisfaction).astype(np.float32)

        # 4. retain
        spend = retention_allocation(col.provider, self._retention_weights(firm), col.known, retention,
                                     c["personalisation"])
        bonded = retain(col.bond, spend, c["bond_decay"], c["bond_gain_max"], c["retention_scale"])
        col.bond = np.where(active, bonded, col.bond).astype(np.float32)

        # 5. word of mouth
        waiting_units = col.backlog_units()  # after serving
        wom, promoters, detractors = word_of_mouth(
            col.provider, col.satisfaction, waiting_units > 0, F, self.network,
            c["wom_positive"], c["wom_negative"], c["promoter_threshold"], c["detractor_threshold"],
        )

        # 6. leave or switch
        u = self.generator.random(self.n)
        movers, intrinsic = decide(u, *thresholds(
            col.provider, col.satisfaction, col.bond, self.churn_factor, plan.pressure, wom, self.saturated,
            c["churn_base"], c["churn_dissatisfaction"], c["bond_protection"], c["satisfaction_protection"],
        ))
        pulls = wom[:, np.zeros(movers.shape[0], np.intp) if wom.shape[1] == 1 else movers]
        moves = choose(self.generator, movers, intrinsic, col.provider[movers], plan.pressure, pulls,
                       self.saturated, c["switch_noise"])
        out = self._move(moves, waiting_units)
        waiting_units[moves.who] = 0.0  # movers' backlog is dropped

        # 7. the books, and 9. tenure and CRM knowledge (movers start at tenure 0 with their new provider)
        firm_end = self._firm_index()
        out.sums, out.segment = books(firm, firm_end, is_new, col.units, served, revenue, expired, waiting_units,
                                      col.satisfaction, col.bond, self._cells(), F)
        out.customers_start, out.backlog_in, out.retention = customers_start, backlog_in, retention
        out.promoters, out.detractors = promoters, detractors
        stayed = firm_end < F
        stayed[moves.who] = False
        col.tenure[stayed] += 1
        col.known = (firm_end < F) & self.crm[firm_end] & (col.tenure >= c["t_known"])
        return out

    def _growth(self, largest_tenure: int) -> np.ndarray:
        """Revenue growth with tenure, g(τ) = 1 + g_max·(1 − e^(−τ/τ_g)) (§2.2), for τ = 0 … largest,
        computed by numpy's expm1 as the numpy kernels do."""
        if self._growth_table is None or self._growth_table.shape[0] <= largest_tenure:
            c = self.c
            tenure = np.arange(largest_tenure + 1 + self.horizon, dtype=np.int32)
            self._growth_table = np.float32(1.0) + np.float32(c["loyalty_growth_max"]) * -np.expm1(
                -tenure.astype(np.float32) / np.float32(c["loyalty_growth_time"]))
        return self._growth_table

    def _customers_compiled(self, plan: SimpleNamespace) -> SimpleNamespace:
        """§2.2–2.6 and §2.9 with the compiled engine: passes over blocks of customers, the same
        numbers as ``_customers_numpy`` (see ``marktsim.engine.compiled``)."""
        k, F, n, col, p = self._compiled, self.n_firms, self.n, self.columns, self._params
        blocks = [(lo, min(n, lo + k.BLOCK)) for lo in range(0, n, k.BLOCK)]
        wait = col.backlog.shape[1]
        uniform = not self.targeting.any()
        weights = col.value if uniform else self.revenue_potential  # read only when value-weighted

        # tally: customers, backlog and demand before serving; the rationing ratios
        customers, backlog_in = np.zeros(F), np.zeros(F)
        demand = np.zeros((2, wait + 1, F + 1))
        nonempty = np.zeros(wait + 1, dtype=bool)
        nonempty[0] = True
        weight_total = np.zeros(F + 1)
        flags = np.zeros(2, dtype=np.int64)
        for lo, hi in blocks:
            k.tally(lo, hi, col.provider, col.units, col.backlog, col.tenure, p.t_new, self._priority_ext, uniform,
                    self.targeting, self.abc_weights, col.segment, weights, customers, backlog_in,
                    demand, nonempty, weight_total, flags)
        retention = np.where(customers > 0, plan.retention, 0.0)  # nobody to spend it on
        two_groups = bool(flags[0])
        ratio = k.ratios(demand, nonempty, np.asarray(plan.capacity, dtype=np.float64), two_groups)
        total = np.append(customers, 0.0) if uniform else weight_total  # numpy's retention_allocation
        per_weight = spend_per_weight(total, retention)
        growth = self._growth(int(flags[1]))

        # serve, experience, retain and the word-of-mouth codes, block by block
        sums = np.zeros((len(BOOKS), F))
        segment = np.zeros((2, F, 6))
        codes, cells = self._codes, self._cells()
        signals = np.zeros(2 * F + 1)
        for lo, hi in blocks:
            spend = self._spend[: hi - lo]
            k.serve_and_experience(
                lo, hi, col.provider, col.units, col.backlog, col.tenure, col.value, col.satisfaction, col.known,
                p.t_new, self._priority_ext, two_groups, ratio, nonempty, growth, self.quality, self.communicates,
                p.alpha_new, p.alpha_est, p.kept_share, uniform, self.targeting, self.abc_weights, col.segment,
                weights, per_weight, p.personalisation, cells, sums, segment[1], spend)
            gain = p.gain_max * -np.expm1(-spend / p.retention_scale)  # numpy's retain
            k.retain_and_signal(lo, hi, col.provider, col.satisfaction, col.bond, col.backlog, gain, p.keep,
                                p.promoter_threshold, p.detractor_threshold, codes, signals)
        promoters, detractors = signals[:F].copy(), signals[F: 2 * F].copy()

        # word of mouth and the decisions, block by block with each block's uniforms
        use = ~((promoters == 0) & ((detractors == 0) | (p.negative == 0)))
        subtract = (p.negative > 0) & (detractors > 0)
        if self.network is None:
            global_pull = (np.maximum(p.positive * promoters - p.negative * detractors, 0.0) / n).astype(np.float32)
            indptr, indices = np.zeros(1, np.int64), np.zeros(0, np.int32)
        else:
            global_pull = np.zeros(0, np.float32)
            indptr, indices = self.network.indptr, self.network.indices
        pressure = plan.pressure
        found = np.zeros(1, dtype=np.int64)
        parts = []
        for lo, hi in blocks:
            u = self.generator.random(hi - lo)
            found[0] = 0
            k.word_of_mouth_and_decide(
                lo, hi, col.provider, col.satisfaction, col.bond, col.b2b, p.b2b_churn, pressure, pressure.sum(),
                global_pull, indptr, indices, codes, use, subtract, p.positive32, p.negative32,
                self.saturated and F == 1, p.churn_base, p.churn_dissatisfaction, p.bond_protection,
                p.satisfaction_protection, u, self._who, self._leaving, found)
            parts.append((self._who[: found[0]].copy(), self._leaving[: found[0]].copy()))
        movers = np.concatenate([q[0] for q in parts])
        intrinsic = np.concatenate([q[1] for q in parts])
        m = movers.shape[0]
        if self.network is None:
            pulls = np.repeat(global_pull[:, None], m, axis=1)
        else:
            pulls = k.pull_of(movers, indptr, indices, codes, use, subtract, p.positive32, p.negative32, F)
        old = col.provider[movers]
        new = np.full(m, -1, dtype=np.int8)
        referred = np.zeros(m, dtype=bool)
        choosing = ~intrinsic | self.saturated
        chooser_count = int(np.count_nonzero(choosing))
        if chooser_count:
            k.choose(choosing, intrinsic, old, pressure, pulls, p.switch_noise,
                     self.generator.random(chooser_count), new, referred)
        moves = Moves(old=old, new=new, who=movers, intrinsic=intrinsic, referred=referred)
        left_units, was_new = np.empty(m, np.float32), np.empty(m, dtype=bool)
        k.move(movers, new, referred, col.provider, col.tenure, col.known, col.satisfaction, col.bond, col.referred,
               col.backlog, p.t_new, p.satisfaction_init, p.bond_init, p.referral_bonus, left_units, was_new)
        out = SimpleNamespace(moves=moves)
        out.mover_sums, out.lost_cells = k.mover_books(old, new, referred, intrinsic, was_new, left_units,
                                                       cells[movers], F)

        # the books at the end of the tick, tenure and CRM knowledge
        end = np.zeros((4, F))
        position = 0
        for lo, hi in blocks:
            position = k.close(lo, hi, col.provider, col.satisfaction, col.bond, col.backlog, col.tenure, col.known,
                               self.crm, p.t_known, cells, movers, position, end, segment[0])
        sums[5:] = end
        out.sums, out.segment = sums, segment
        out.customers_start, out.backlog_in, out.retention = customers, backlog_in, retention
        out.promoters, out.detractors = promoters, detractors
        return out

    def _prepare_compiled(self) -> None:
        """Load the compiled engine and the buffers and float32 parameters its passes take."""
        from marktsim.engine import compiled

        c, f32 = self.c, np.float32
        self._compiled = compiled
        self._codes = np.empty(self.n, dtype=np.int8)
        size = min(self.n, compiled.BLOCK)
        self._spend = np.empty(size, dtype=np.float32)
        self._who = np.empty(size, dtype=np.int64)
        self._leaving = np.empty(size, dtype=bool)
        self._params = SimpleNamespace(
            t_new=int(c["t_new"]), t_known=int(c["t_known"]),
            alpha_new=f32(c["alpha_new"]), alpha_est=f32(c["alpha_est"]), kept_share=f32(1.0 - c["delay_forgiveness"]),
            personalisation=f32(1.0 + c["personalisation"]), keep=f32(1.0 - c["bond_decay"]),
            gain_max=f32(c["bond_gain_max"]), retention_scale=f32(c["retention_scale"]),
            promoter_threshold=f32(c["promoter_threshold"]), detractor_threshold=f32(c["detractor_threshold"]),
            positive=float(c["wom_positive"]), negative=float(c["wom_negative"]),
            positive32=f32(c["wom_positive"]), negative32=f32(c["wom_negative"]),
            b2b_churn=f32(c["b2b_churn_factor"]), churn_base=f32(c["churn_base"]),
            churn_dissatisfaction=f32(c["churn_dissatisfaction"]), bond_protection=f32(c["bond_protection"]),
            satisfaction_protection=f32(c["satisfaction_protection"]), switch_noise=float(c["switch_noise"]),
            satisfaction_init=float(c["satisfaction_init"]), bond_init=float(c["bond_init"]),
            referral_bonus=float(c["referral_bonus"]),
        )

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
