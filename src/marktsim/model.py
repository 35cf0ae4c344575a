"""MarketModel: builds the market and runs the schedule of MODEL.md §2, one tick per step."""

from __future__ import annotations

import math
from typing import Any

import mesa
from mesa.agent import AgentSet
import numpy as np
from omegaconf import DictConfig, OmegaConf

from marktsim.agents import Customer, Firm
from marktsim.config import expected_initial_demand, expected_initial_revenue, load_config, validate
from marktsim.engine import (
    account,
    acquisition_pressure,
    experience,
    initial_columns,
    retain,
    retention_allocation,
    serve,
    small_world,
    switch,
    word_of_mouth,
)
from marktsim.engine.account import METRICS, M, per_firm
from marktsim.engine.serve import PRIORITIES

TARGETING = ("uniform", "value_weighted", "abc")


def firm_names(n_firms: int) -> list[str]:
    """focal, rival_1, rival_2, …"""
    return ["focal"] + [f"rival_{k}" for k in range(1, n_firms)]


class MarketModel(mesa.Model):
    """The market: one focal firm and K rivals (Firm agents) and N customers (column state).

    ``MarketModel(cfg, replicate=r)`` draws everything from the r-th child of
    ``SeedSequence(cfg.seed)``; ``step()`` runs one tick (one month) of §2.
    """

    def __init__(self, cfg: DictConfig | dict | None = None, *, replicate: int = 0):
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
        self.columns = initial_columns(self.generator, self.n, shares, adopted, self.c, self.crm)
        col = self.columns
        self.revenue_potential = col.value * col.units
        self.churn_factor = np.where(col.b2b, np.float32(c.b2b_churn_factor), np.float32(1.0)).astype(np.float32)
        self.network = (
            small_world(self.n, int(m.network_degree), float(m.network_rewiring), self.generator)
            if m.network == "small_world"
            else None
        )
        self.monthly_discount = (1.0 + float(m.annual_discount_rate)) ** (1.0 / 12.0) - 1.0
        self.initial_customers = per_firm(self._firm_index(), self.n_firms)
        self._records: list[np.ndarray] = []
        self._segments: list[np.ndarray] = []
        self._views: AgentSet | None = None
        self.running = True

    # ------------------------------------------------------------------ helpers
    def _firm_index(self) -> np.ndarray:
        p = self.columns.provider
        return np.where(p >= 0, p, self.n_firms).astype(np.intp)

    @property
    def customers(self) -> AgentSet:
        """All customers as Mesa agents (views on the columns), created on first access."""
        if self._views is None:
            self._views = AgentSet([Customer(self, i) for i in range(self.n)], random=self.random)
        return self._views

    @property
    def focal(self) -> Firm:
        return self.firm_list[0]

    def _retention_weights(self, firm: np.ndarray) -> np.ndarray:
        code = self.targeting[firm]
        if not code.any():
            return np.ones(self.n, dtype=np.float32)
        abc = self.abc_weights[firm, self.columns.segment]
        return np.where(code == 0, np.float32(1.0), np.where(code == 1, self.revenue_potential, abc))

    # ------------------------------------------------------------------ schedule
    def step(self) -> None:
        """One tick of MODEL.md §2: plan, serve, experience, retain, word of mouth,
        leave or switch, account, capacity, tenure."""
        self.tick += 1
        t, F, col, c = self.tick, self.n_firms, self.columns, self.c
        firm = self._firm_index()
        active = firm < F
        customers_start = per_firm(firm, F)

        # 1. plan
        for f in self.firm_list:
            f.plan(t)
        acquisition = np.array([f.acquisition_spend for f in self.firm_list])
        retention = np.array([f.retention_spend for f in self.firm_list])
        retention = np.where(customers_start > 0, retention, 0.0)  # nobody to spend it on
        capacity = np.array([f.capacity for f in self.firm_list])
        is_new = col.tenure < c["t_new"]
        backlog_in = per_firm(firm, F, col.backlog_units())

        # 2. serve
        served, due, col.backlog, expired = serve(col.provider, col.units, col.backlog, is_new, self.priority, capacity)
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
        spend = retention_allocation(col.provider, self._retention_weights(firm), col.known, retention, c["personalisation"])
        bonded = retain(col.bond, spend, c["bond_decay"], c["bond_gain_max"], c["retention_scale"])
        col.bond = np.where(active, bonded, col.bond).astype(np.float32)

        # 5. word of mouth
        waiting = col.backlog_units() > 0
        wom, promoters, detractors = word_of_mouth(
            col.provider, col.satisfaction, waiting, F, self.network,
            c["wom_positive"], c["wom_negative"], c["promoter_threshold"], c["detractor_threshold"],
        )

        # 6. leave or switch
        pressure = acquisition_pressure(acquisition, self.cfg.market.acquisition_max, self.cfg.market.acquisition_scale, self.n)
        moves = switch(
            self.generator, col.provider, col.satisfaction, col.bond, self.churn_factor, pressure, wom,
            self.saturated, c["churn_base"], c["churn_dissatisfaction"], c["bond_protection"],
            c["satisfaction_protection"], c["switch_noise"],
        )
        who, old, new = moves.who, moves.old, moves.new
        left_units = col.backlog[who].sum(axis=1) if col.backlog.shape[1] else np.zeros(who.shape[0], np.float32)
        old_idx = np.where(old >= 0, old, F).astype(np.intp)
        new_idx = np.where(new >= 0, new, F).astype(np.intp)
        col.provider[who] = new
        col.tenure[who] = 0
        col.known[who] = False
        col.satisfaction[who] = c["satisfaction_init"]
        col.bond[who] = np.minimum(1.0, c["bond_init"] + c["referral_bonus"] * moves.referred)
        col.referred[who] = moves.referred & (new >= 0)
        col.backlog[who] = 0.0

        # 7. account
        firm_end = self._firm_index()
        customers = per_firm(firm_end, F)
        lost_units = per_firm(firm, F, expired) + per_firm(old_idx, F, left_units)
        row = account(
            tick=t,
            n_customers=self.n,
            customers=customers,
            customers_start=customers_start,
            customers_new=per_firm(firm[is_new], F),
            won=per_firm(new_idx, F),
            won_by_wom=per_firm(new_idx[moves.referred], F),
            lost_intrinsic=per_firm(old_idx[moves.intrinsic], F),
            lost_poached=per_firm(old_idx[~moves.intrinsic], F),
            lost_new=per_firm(old_idx[is_new[who]], F),
            revenue=per_firm(firm, F, revenue),
            margin=self.margin,
            acquisition_spend=acquisition,
            retention_spend=retention,
            retention_share=np.array([f.retention_share for f in self.firm_list]),
            onboarding_cost=self.onboarding_cost,
            capacity=capacity,
            capacity_cost=self.capacity_cost,
            demand_units=per_firm(firm, F, col.units),
            backlog_in=backlog_in,
            served_units=per_firm(firm, F, served),
            backlog_units=per_firm(firm_end, F, col.backlog_units()),
            lost_units=lost_units,
            satisfaction_sum=per_firm(firm_end, F, col.satisfaction),
            bond_sum=per_firm(firm_end, F, col.bond),
            promoters=promoters,
            detractors=detractors,
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
        self._segments.append(self._segment_row(firm, firm_end, revenue, who, old_idx))

        # 9. tenure and CRM knowledge (movers start at tenure 0 with their new provider)
        stayed = firm_end < F
        stayed[who] = False
        col.tenure[stayed] += 1
        col.known = (firm_end < F) & self.crm[firm_end] & (col.tenure >= c["t_known"])
        self.running = self.tick < self.horizon

    def _segment_row(self, firm, firm_end, revenue, who, old_idx) -> np.ndarray:
        """customers (end of tick), lost and revenue by firm × segment (A/B/C) × kind (B2C/B2B)."""
        F, col = self.n_firms, self.columns
        cell = col.segment.astype(np.intp) * 2 + col.b2b
        size = (F + 1) * 6
        out = np.empty((3, F, 6))
        out[0] = np.bincount(firm_end * 6 + cell, minlength=size)[: F * 6].reshape(F, 6)
        out[1] = np.bincount(old_idx * 6 + cell[who], minlength=size)[: F * 6].reshape(F, 6)
        out[2] = np.bincount(firm * 6 + cell, weights=revenue, minlength=size)[: F * 6].reshape(F, 6)
        return out

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
