"""Configurations that reduce the model to closed forms (MODEL.md §7), shared by the
validation report and the tests."""

from __future__ import annotations

import math

from omegaconf import DictConfig

from marktsim.config import expected_initial_revenue, load_config


def budget_for_pressure(p: float, a_max: float, a_scale: float, n: int) -> float:
    """Acquisition spend A with a_max·(1 − exp(−A/(a_scale·N))) = p."""
    return -a_scale * n * math.log(1.0 - p / a_max)


def bass_config(n: int, p: float, q: float, horizon: int, a_max: float = 0.05, a_scale: float = 2.0) -> DictConfig:
    """Unsaturated, one firm, no churn, global mixing, s ≡ 1, constant A: Bass with p = P_0, q = q_wom."""
    return load_config([
        "market=growing", "market.n_competitors=0", "market.adopted_share=0", "market.network=global",
        "customers.churn_base=0", "customers.churn_dissatisfaction=0", "customers.alpha_new=0",
        "customers.alpha_est=0", "customers.satisfaction_init=1", "customers.wom_negative=0",
        f"customers.wom_positive={q}", "strategy.retention_share=0", "firm.capacity=null",
        f"market.n_customers={n}", f"horizon={horizon}", f"market.acquisition_max={a_max}",
        f"market.acquisition_scale={a_scale}", f"firm.budget={budget_for_pressure(p, a_max, a_scale, n)}",
    ])


def markov_config(n: int, h: float, p0: float, p1: float, horizon: int, lam: float = 0.5, s0: float = 0.6,
                  a_max: float = 0.1, a_scale: float = 2.0) -> DictConfig:
    """Saturated, two firms, constant hazards: x_jk = h + (1 − h)·(1 − λ·s_0)·P_k."""
    base = [
        "market.n_competitors=1", "market.network=global", "customers.churn_dissatisfaction=0",
        "customers.bond_protection=0", "customers.wom_positive=0", "customers.wom_negative=0",
        "customers.alpha_new=0", "customers.alpha_est=0", "customers.b2b_share=0", "firm.capacity=null",
        f"customers.churn_base={h}", f"customers.satisfaction_protection={lam}",
        f"customers.satisfaction_init={s0}", f"market.acquisition_max={a_max}",
        f"market.acquisition_scale={a_scale}", f"market.n_customers={n}", f"horizon={horizon}",
        "strategy.retention_share=0", "competitors.retention_share=0",
        f"firm.budget={budget_for_pressure(p0, a_max, a_scale, n)}",
    ]
    revenue = expected_initial_revenue(load_config(base), 1)
    return load_config(base + [f"competitors.budget_share={budget_for_pressure(p1, a_max, a_scale, n) / revenue}"])


def lifetime_config(n: int, hazard: float, horizon: int, annual_discount: float = 0.10, margin: float = 0.3,
                    value: float = 100.0) -> DictConfig:
    """One firm, no acquisition, constant hazard and margin per customer and tick."""
    return load_config([
        "market=growing", "market.adopted_share=1", "market.n_competitors=0", "firm.budget=0",
        "firm.capacity=null", "customers.wom_positive=0", "customers.churn_dissatisfaction=0",
        "customers.bond_protection=0", f"customers.churn_base={hazard}", "customers.loyalty_growth_max=0",
        "customers.value_sigma_log=0", f"customers.value_mean={value}", "customers.b2b_share=0",
        f"firm.margin={margin}", f"market.annual_discount_rate={annual_discount}", f"market.n_customers={n}",
        f"horizon={horizon}",
    ])
