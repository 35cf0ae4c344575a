"""Configurations that reduce the model to closed forms (MODEL.md §7), shared by the
validation report and the tests."""

from __future__ import annotations

import math

import numpy as np
from omegaconf import DictConfig

from marktsim.config import expected_initial_revenue, load_config


def budget_for_pressure(p: float, a_max: float, a_scale: float, n: int) -> float:
    """Acquisition spend A with a_max·(1 − exp(−A/(a_scale·N))) = p."""
    return -a_scale * n * math.log(1.0 - p / a_max)


def bass_config(n: int, p: float, q: float, horizon: int, a_max: float = 0.05, a_scale: float = 2.0,
                adoption_response: float = 1.0) -> DictConfig:
    """Unsaturated, one firm, no churn, global mixing, s ≡ 1, constant A: Bass with p = ν·P_0,
    q = q_wom (the budget is set so that ν·P_0 = p)."""
    return load_config([
        "market=growing", "market.n_competitors=0", "market.adopted_share=0", "market.network=global",
        "customers.propensity=none", "customers.churn_base=0", "customers.churn_dissatisfaction=0",
        "customers.alpha_new=0", "customers.alpha_est=0", "customers.satisfaction_init=1", "customers.wom_negative=0",
        f"customers.wom_positive={q}", "strategy.retention_share=0", "firm.capacity=null",
        f"market.n_customers={n}", f"horizon={horizon}", f"market.acquisition_max={a_max}",
        f"market.acquisition_scale={a_scale}", f"market.adoption_response={adoption_response}",
        f"firm.budget={budget_for_pressure(p / adoption_response, a_max, a_scale, n)}",
    ])


def markov_config(n: int, h: float, p0: float, p1: float, horizon: int, lam: float = 0.5, s0: float = 0.6,
                  a_max: float = 0.1, a_scale: float = 2.0) -> DictConfig:
    """Saturated, two firms, constant hazards: x_jk = h + (1 − h)·(1 − λ·s_0)·P_k."""
    base = [
        "market.n_competitors=1", "market.network=global", "customers.churn_dissatisfaction=0",
        "customers.bond_protection=0", "customers.wom_positive=0", "customers.wom_negative=0",
        "customers.alpha_new=0", "customers.alpha_est=0", "customers.b2b_share=0", "firm.capacity=null",
        "customers.propensity=none", f"customers.churn_base={h}", f"customers.satisfaction_protection={lam}",
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
        "customers.bond_protection=0", "customers.propensity=none", f"customers.churn_base={hazard}",
        "customers.loyalty_growth_max=0",
        "customers.value_sigma_log=0", f"customers.value_mean={value}", "customers.b2b_share=0",
        f"firm.margin={margin}", f"market.annual_discount_rate={annual_discount}", f"market.n_customers={n}",
        f"horizon={horizon}",
    ])


def cohort_overrides(n: int, horizon: int, propensity: str = "none", **customers: object) -> list[str]:
    """A single cohort: one firm, an unsaturated market (leavers become prospects), every
    customer adopted at tick 0 with tenure 0, nobody won afterwards (no acquisition, no word
    of mouth). With the default behaviour otherwise (satisfaction, bond and their effects on
    churn stay on); ``customers`` sets further customer keys (e.g. churn_dissatisfaction=0)."""
    return [
        "market=growing", "market.adopted_share=1", "market.n_competitors=0", "firm.budget=0",
        "firm.capacity=null", "market.acquisition_max=0", "customers.wom_positive=0",
        "customers.initial_tenure_mean=0", f"customers.propensity={propensity}", f"market.n_customers={n}",
        f"horizon={horizon}", *(f"customers.{key}={value}" for key, value in customers.items()),
    ]


def sbg_config(n: int, alpha: float, beta: float, periods: int, period_ticks: int = 12) -> DictConfig:
    """The cohort of `cohort_overrides` reduced to the shifted-beta-geometric model (Fader &
    Hardie 2007): θ_i ~ Beta(α, β) per period, nothing else moves the hazard (no
    dissatisfaction or bond effect, no B2B factor). The share surviving t periods is
    B(α, β + t)/B(α, β)."""
    return load_config(cohort_overrides(
        n, periods * period_ticks, "beta", propensity_alpha=alpha, propensity_beta=beta, period_ticks=period_ticks,
        churn_dissatisfaction=0, bond_protection=0, b2b_share=0))


def sbg_survival(alpha: float, beta: float, periods: int) -> np.ndarray:
    """Shifted-beta-geometric survival S(t) = B(α, β + t)/B(α, β), t = 0 … periods."""
    from scipy.special import betaln

    t = np.arange(periods + 1)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def split_config(n: int, horizon: int, budget: float, rho: float = 0.5) -> DictConfig:
    """A reduction whose best retention share follows from a deterministic recursion
    (`split_npv`): saturated, focal firm and one rival that spends nothing, global mixing, no
    word of mouth, satisfaction irrelevant (h_s = λ = 0), equal values, unlimited capacity,
    no tenure growth, no onboarding cost, bonds starting at 0."""
    return load_config(split_overrides(n, horizon, budget, rho))


def split_overrides(n: int, horizon: int, budget: float, rho: float = 0.5) -> list[str]:
    """The overrides of `split_config` (h_0 = 0.03, κ = 0.9, β_max = 0.5, r_scale = 5,
    δ_b = 0.2, a_max = 0.1, a_scale = 2, margin 0.3, value 100)."""
    return ([
        "market.n_competitors=1", "market.network=global", f"market.n_customers={n}", f"horizon={horizon}",
        "customers.wom_positive=0", "customers.wom_negative=0", "customers.churn_dissatisfaction=0",
        "customers.satisfaction_protection=0", "customers.b2b_share=0", "customers.value_sigma_log=0",
        "customers.value_mean=100.0", "customers.loyalty_growth_max=0", "customers.bond_init=0",
        "customers.referral_bonus=0", "customers.personalisation=0", "firm.crm=false", "firm.capacity=null",
        "firm.onboarding_cost=0", "firm.margin=0.3", f"firm.budget={budget}",
        f"strategy.retention_share={rho}", "competitors.budget_share=0", "customers.propensity=none",
        "customers.churn_base=0.03", "customers.bond_protection=0.9", "customers.bond_gain_max=0.5",
        "customers.retention_scale=5.0", "customers.bond_decay=0.2",
        "market.acquisition_max=0.1", "market.acquisition_scale=2.0",
    ])


def split_npv(cfg: DictConfig, rho: float) -> float:
    """Expected focal NPV of `split_config` at retention share `rho`, in the large-N limit.

    Focal customers are followed in cohorts by the tick they joined (their bonds differ):
    each tick every cohort's bond moves by §2.4 with r = ρ·B / (focal customers), a cohort
    keeps 1 − h_0·(1 − κ·b) of its customers (§2.6; the idle rival exerts no pull), and the
    rival's customers join the focal firm at rate h_0 + (1 − h_0)·P with
    P = a_max·(1 − exp(−(1 − ρ)·B / (a_scale·N))) (their bonds stay 0: the rival spends nothing).
    """
    c, m = cfg.customers, cfg.market
    n, budget = float(m.n_customers), float(cfg.firm.budget)
    discount = (1.0 + float(m.annual_discount_rate)) ** (1.0 / 12.0) - 1.0
    acquisition, retention = (1.0 - rho) * budget, rho * budget
    pressure = float(m.acquisition_max) * -math.expm1(-acquisition / (float(m.acquisition_scale) * n))
    counts, bonds = [n / 2.0], [float(c.bond_init)]
    rival = n / 2.0
    npv = 0.0
    for tick in range(1, int(cfg.horizon) + 1):
        focal = sum(counts)
        spend = retention if focal > 0 else 0.0
        gain = float(c.bond_gain_max) * -math.expm1(-spend / max(focal, 1e-300) / float(c.retention_scale))
        bonds = [b * (1.0 - float(c.bond_decay)) + (1.0 - b) * gain for b in bonds]
        kept = [k * (1.0 - min(1.0, float(c.churn_base) * (1.0 - float(c.bond_protection) * b)))
                for k, b in zip(counts, bonds)]
        joined = rival * (float(c.churn_base) + (1.0 - float(c.churn_base)) * pressure)
        rival += focal - sum(kept) - joined
        counts, bonds = kept + [joined], bonds + [float(c.bond_init)]
        profit = float(cfg.firm.margin) * float(c.value_mean) * focal - acquisition - spend
        npv += profit / (1.0 + discount) ** tick
    return npv
