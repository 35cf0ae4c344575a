"""The formulas of docs/model.md §7, each written once.

Every function here is plain arithmetic on scalars or arrays: the numpy kernels apply it to
whole columns, and the compiled engine (``marktsim.engine.compiled``) inlines it per customer
with ``numba.njit(inline="always")``, so both engines compute each formula from this one
definition. To give the same bits on both paths the functions use only operations whose
numpy and numba results agree exactly: float32 arithmetic with float32 parameters (``Rules``
holds them already cast), ``np.minimum``/``np.maximum``, comparisons, and ``where`` below
(``np.where`` for arrays; the compiled engine registers a scalar version). Exponentials
(``np.expm1``) are left to numpy on both paths (the compiled engine calls numpy for them
between its passes), because numba's ``expm1`` is not numpy's to the last bit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

ONE = np.float32(1.0)
ZERO = np.float32(0.0)

Array = Any  # a numpy array, or a scalar inside a compiled pass


class Rules(NamedTuple):
    """The customer parameters the formulas take, cast once (float32 where the formula
    computes in float32, float64 where in float64); built by ``rules_from``."""

    t_new: int
    t_known: int
    alpha_new: np.float32
    alpha_est: np.float32
    kept_share: np.float32  # 1 − γ: share of an announced delay that is still felt
    personalisation: np.float32  # 1 + φ
    keep: np.float32  # 1 − δ_b
    gain_max: np.float32
    retention_scale: np.float32
    promoter_threshold: np.float32
    detractor_threshold: np.float32
    wom_positive: np.float32
    wom_negative: np.float32
    wom_positive_exact: float  # the same two in float64: the global-mixing pull is a float64 sum
    wom_negative_exact: float
    b2b_churn: np.float32
    churn_base: np.float32
    churn_dissatisfaction: np.float32
    bond_protection: np.float32
    satisfaction_protection: np.float32
    switch_noise: float
    satisfaction_init: float
    bond_init: float
    referral_bonus: float
    growth_max: np.float32
    growth_time: np.float32
    adoption_response: float  # ν, on the float64 pressures
    switch_resist: np.float32  # 1 − χ
    wom_protection: np.float32  # ω
    contagion: np.float32  # c
    contract_length: int
    incentive_response: float  # r_0, on the float64 incentive pressures
    incentive_months: int
    end_surge: np.float32  # 1 + η
    deal_prone_keep: np.float32  # 1 − share of the bond gain a deal-prone customer does not take


def rules_from(customers: Any, adoption_response: float) -> Rules:
    """``Rules`` from the ``customers`` block of a validated config and the market's ν."""
    c, f32 = customers, np.float32
    return Rules(
        t_new=int(c["t_new"]), t_known=int(c["t_known"]),
        alpha_new=f32(c["alpha_new"]), alpha_est=f32(c["alpha_est"]),
        kept_share=f32(1.0 - c["delay_forgiveness"]), personalisation=f32(1.0 + c["personalisation"]),
        keep=f32(1.0 - c["bond_decay"]), gain_max=f32(c["bond_gain_max"]), retention_scale=f32(c["retention_scale"]),
        promoter_threshold=f32(c["promoter_threshold"]), detractor_threshold=f32(c["detractor_threshold"]),
        wom_positive=f32(c["wom_positive"]), wom_negative=f32(c["wom_negative"]),
        wom_positive_exact=float(c["wom_positive"]), wom_negative_exact=float(c["wom_negative"]),
        b2b_churn=f32(c["b2b_churn_factor"]), churn_base=f32(base_hazard(c)),
        churn_dissatisfaction=f32(c["churn_dissatisfaction"]), bond_protection=f32(c["bond_protection"]),
        satisfaction_protection=f32(c["satisfaction_protection"]), switch_noise=float(c["switch_noise"]),
        satisfaction_init=float(c["satisfaction_init"]), bond_init=float(c["bond_init"]),
        referral_bonus=float(c["referral_bonus"]),
        growth_max=f32(c["loyalty_growth_max"]), growth_time=f32(c["loyalty_growth_time"]),
        adoption_response=float(adoption_response),
        switch_resist=f32(1.0 - c["switching_cost"]), wom_protection=f32(c["wom_protection"]),
        contagion=f32(c["churn_contagion"]), contract_length=int(c["contract_length"]),
        incentive_response=float(c["incentive_response"]), incentive_months=int(c["incentive_months"]),
        end_surge=f32(1.0 + c["incentive_end_churn"]), deal_prone_keep=f32(1.0 - c["deal_prone_bonding"]),
    )


# --------------------------------------------------------------------------- §5 initialisation

def per_tick_hazard(theta: np.ndarray, period_ticks: int) -> np.ndarray:
    """§5 The hazard per tick that leaves a customer with probability θ over `period_ticks`
    ticks: 1 − (1 − θ)^(1/P) (numpy only)."""
    with np.errstate(divide="ignore"):  # θ = 1: log1p(−1) = −inf, hazard 1
        return -np.expm1(np.log1p(-np.asarray(theta, dtype=np.float64)) / period_ticks)


def base_hazard(customers: Any) -> float:
    """§7.6 The base hazard h_0 of the churn hazard: ``churn_base``; with beta-distributed
    propensities the mean per-tick hazard of θ ~ Beta(α, β) over periods of P ticks,
    E[1 − (1 − θ)^(1/P)] = 1 − B(α, β + 1/P)/B(α, β) (then h_0·z_i = 1 − (1 − θ_i)^(1/P))."""
    if customers["propensity"] != "beta":
        return float(customers["churn_base"])
    from scipy.special import betaln

    a, b, period = float(customers["propensity_alpha"]), float(customers["propensity_beta"]), customers["period_ticks"]
    return float(-np.expm1(betaln(a, b + 1.0 / period) - betaln(a, b)))


def draw_propensity(rng: np.random.Generator, tenure: np.ndarray, customers: Any) -> np.ndarray:
    """§5 Each customer's churn propensity z_i (float32), drawn once: 1 (none); Gamma with
    shape k and mean 1 (gamma); or (1 − (1 − θ_i)^(1/P)) / h_0 with θ_i ~ Beta(α, β), so
    that h_0·z_i is the per-tick hazard of leaving with probability θ_i per period (beta).
    A customer who has already stayed τ ticks is one of the survivors of its cohort, so its
    propensity is drawn from theirs: θ ~ Beta(α, β + τ/P) (exact for the sBG), z ~ Gamma(k,
    rate k + h_0·τ) (exact for exponential lifetimes); tenure 0 gives the distribution itself.
    Draws nothing (and leaves the random stream as it was) for none."""
    kind = customers["propensity"]
    n = tenure.shape[0]
    if kind == "none":
        return np.ones(n, dtype=np.float32)
    if kind == "gamma":
        k = float(customers["propensity_shape"])
        rate = k + float(customers["churn_base"]) * tenure
        return rng.gamma(k, 1.0 / rate, size=n).astype(np.float32)
    period = int(customers["period_ticks"])
    theta = rng.beta(float(customers["propensity_alpha"]), float(customers["propensity_beta"]) + tenure / period,
                     size=n)
    return (per_tick_hazard(theta, period) / base_hazard(customers)).astype(np.float32)


def draw_traits(rng: np.random.Generator, b2b: np.ndarray, customers: Any) -> tuple[np.ndarray, np.ndarray]:
    """§5 Deal-proneness and contracts, drawn once per customer (B2B and B2C customers each with
    their own contract share); a trait whose share is 0 draws nothing, so the random stream is
    as before the trait existed."""
    n = b2b.shape[0]
    share = float(customers["deal_prone_share"])
    deal_prone = np.asarray(rng.random(n) < share) if share > 0 else np.zeros(n, dtype=bool)
    b2b_share, b2c_share = float(customers["contract_share_b2b"]), float(customers["contract_share_b2c"])
    if b2b_share > 0 or b2c_share > 0:
        contract = rng.random(n) < np.where(b2b, b2b_share, b2c_share)
    else:
        contract = np.zeros(n, dtype=bool)
    return deal_prone, contract


def where(condition: Array, if_true: Array, if_false: Array) -> Array:
    """``np.where``; inside a compiled pass ``if_true if condition else if_false``."""
    return np.where(condition, if_true, if_false)


# --------------------------------------------------------------------------- §7.2 serve

def served_second(priority: Array, is_new: Array) -> Array:
    """§7.2 Whether a customer's units are ranked in the class served second: new customers
    under existing_first (priority code 0), established ones under new_first (2); fifo (1)
    has one class."""
    return where(priority == 0, is_new, np.logical_and(priority == 2, np.logical_not(is_new)))


def ration(demand: Array, remaining: Array) -> tuple[Array, Array]:
    """§7.2 One rank of units against a firm's remaining capacity: the share of the rank that
    is served (1 when capacity covers it, or when nothing is demanded) and the capacity left."""
    share = where(demand > remaining, remaining / demand, 1.0)
    share = where(np.isnan(share), 1.0, share)
    return np.float32(share), np.maximum(remaining - demand, 0.0)


def served_part(units: Array, share: Array) -> Array:
    """§7.2 Units of one rank served: the same share of every unit of the rank."""
    return units * share


def unserved(units: Array, served: Array) -> Array:
    """§7.2 What is left of a customer's units of one age after serving (never below 0)."""
    return np.maximum(units - served, ZERO)


def served_fraction(served: Array, due: Array) -> Array:
    """§7.2 f = served / due; 1 when nothing was due."""
    return where(due > 0, served / due, ONE)


def loyalty_growth(tenure: Array, rules: Rules) -> Array:
    """§7.2 Revenue growth with tenure, 1 + g_max·(1 − exp(−tenure/τ)) (numpy only: expm1)."""
    return ONE + rules.growth_max * -np.expm1(-tenure / rules.growth_time)


def revenue(served: Array, value: Array, growth: Array) -> Array:
    """§7.2 Revenue of a customer's served units: served · v · g(tenure)."""
    return served * value * growth


# --------------------------------------------------------------------------- §7.3 experience

def felt_service(fraction: Array, quality: Array, forgiving: Array, rules: Rules) -> Array:
    """§7.3 e = q·f, or q·(1 − (1 − f)(1 − γ)) for a customer who forgives an announced delay."""
    shortfall = ONE - fraction
    return quality * (ONE - where(forgiving, shortfall * rules.kept_share, shortfall))


def forgives(communicates: Array, is_new: Array) -> Array:
    """§7.3 Established customers of a firm that announces delays forgive part of them."""
    return np.logical_and(communicates, np.logical_not(is_new))


def learning_rate(is_new: Array, rules: Rules) -> Array:
    """§7.3 α_new while the customer is new (first impressions count more), else α_est."""
    return where(is_new, rules.alpha_new, rules.alpha_est)


def learn(satisfaction: Array, felt: Array, rate: Array) -> Array:
    """§7.3 s ← s + α(e − s)."""
    return satisfaction + rate * (felt - satisfaction)


def is_new(tenure: Array, rules: Rules) -> Array:
    """§2 A customer is new while its tenure is below t_new."""
    return tenure < rules.t_new


# --------------------------------------------------------------------------- §7.4 retain

def retention_weight(targeting: Array, revenue_potential: Array, abc_weight: Array) -> Array:
    """§7.4 w_i: 1 (uniform, code 0), v_i·units_i (value-weighted, 1), or the firm's A:B:C
    weight of the customer's segment (abc, 2)."""
    return where(targeting == 0, ONE, where(targeting == 1, revenue_potential, abc_weight))


def spend_per_weight(total: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """§7.4 R_j / Σ_{i∈j} w_i per firm, float32, for firm totals `total` (firms + 1 entries,
    the last for prospects, who get nothing); 0 where a firm's total weight is 0 (per firm, numpy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, np.append(spend, 0.0) / total, 0.0).astype(np.float32)


def retention_spend(weight: Array, per_weight: Array, known: Array, rules: Rules) -> Array:
    """§7.4 r_i = w_i·R_j/Σ w, times (1 + φ) when the firm knows the customer (CRM)."""
    spend = weight * per_weight
    return where(known, spend * rules.personalisation, spend)


def bond_gain(spend: Array, rules: Rules) -> Array:
    """§7.4 β_max·(1 − exp(−r/r_scale)) (numpy only: expm1)."""
    return rules.gain_max * -np.expm1(-spend / rules.retention_scale)


def bond_update(bond: Array, gain: Array, deal_prone: Array, rules: Rules) -> Array:
    """§7.4 b ← b·(1 − δ_b) + (1 − b)·gain, a deal-prone customer taking only part of the gain."""
    return bond * rules.keep + (ONE - bond) * (gain * where(deal_prone, rules.deal_prone_keep, ONE))


# --------------------------------------------------------------------------- §7.5 word of mouth

def opinion(firm: Array, active: Array, satisfaction: Array, waiting: Array, n_firms: int, rules: Rules) -> Array:
    """§7.5 What a customer says of its provider, as a code: k (promotes firm k: s ≥ θ_pro and
    not waiting), n_firms + k (detracts: s ≤ θ_det), or 2·n_firms (silent; prospects too)."""
    promotes = np.logical_and(np.logical_and(active, satisfaction >= rules.promoter_threshold),
                              np.logical_not(waiting))
    detracts = np.logical_and(active, satisfaction <= rules.detractor_threshold)
    return where(promotes, firm, where(detracts, n_firms + firm, 2 * n_firms))


def inverse_degree(degree: Array) -> Array:
    """§7.5 1/d_i in float32; 0 for a customer without contacts."""
    return where(degree > 0, ONE / degree, ZERO)


def pull(promoters: Array, detractors: Array, inverse_degree: Array, rules: Rules) -> Array:
    """§7.5 W_ik = max(0, q_wom·promoters − q_neg·detractors) / d_i, counts among i's contacts."""
    return np.maximum(rules.wom_positive * promoters - rules.wom_negative * detractors, ZERO) * inverse_degree


def global_pull(promoters: np.ndarray, detractors: np.ndarray, n: int, rules: Rules) -> np.ndarray:
    """§7.5 Global mixing: every customer's contacts are all N customers,
    W_k = max(0, q_wom·promoters_k − q_neg·detractors_k)/N (float64 per firm, then float32)."""
    return (np.maximum(rules.wom_positive_exact * promoters - rules.wom_negative_exact * detractors, 0.0)
            / n).astype(np.float32)


# --------------------------------------------------------------------------- §7.6 leave or switch

def susceptibility(satisfaction: Array, bond: Array, own_promoters: Array, rules: Rules) -> Array:
    """§7.6 σ = (1 − κ·b)·(1 − λ·s)·(1 − χ)·(1 − ω·o): bond, satisfaction, switching costs and
    the share o of the customer's contacts who promote its own provider protect it."""
    return ((ONE - rules.bond_protection * bond) * (ONE - rules.satisfaction_protection * satisfaction)
            * rules.switch_resist * (ONE - rules.wom_protection * own_promoters))


def contact_share(count: Array, inverse_degree: Array) -> Array:
    """§7.5 A count among a customer's contacts as a share of them (float32)."""
    return count * inverse_degree


def churn_surge(left_share: Array, ending: Array, rules: Rules) -> Array:
    """§7.6 The tick's factor on the churn hazard: (1 + c·share of contacts who left their
    provider last tick)·(1 + η if a deal-prone customer's discount ends this tick)."""
    return (ONE + rules.contagion * left_share) * where(ending, rules.end_surge, ONE)


def discount_ends(won_incentive: Array, deal_prone: Array, tenure: Array, rules: Rules) -> Array:
    """§7.6 A deal-prone customer won with an incentive whose discount ends this tick (tenure L_i)."""
    return np.logical_and(np.logical_and(won_incentive, deal_prone), tenure == rules.incentive_months)


def bound_by_contract(contract: Array, tenure: Array, rules: Rules) -> Array:
    """§7.6 A contract customer can move only in the last tick of each contract term."""
    return np.logical_and(contract, (tenure + 1) % rules.contract_length != 0)


def incentive_response(deal_prone: Array, rules: Rules) -> Array:
    """§7.6 r_i: how strongly a customer responds to incentive pressure (deal-prone: 1)."""
    return where(deal_prone, 1.0, rules.incentive_response)


def churn_factor(b2b: Array, propensity: Array, rules: Rules) -> Array:
    """§7.6 g_i·z_i: the B2B churn factor for business customers (else 1) times the
    customer's latent churn propensity z_i."""
    return where(b2b, rules.b2b_churn, ONE) * propensity


def churn_hazard(satisfaction: Array, bond: Array, factor: Array, surge: Array, rules: Rules) -> Array:
    """§7.6 h = min(1, (h_0 + h_s·(1 − s)²)·(1 − κ·b)·g·z·surge), `factor` = g·z
    (``churn_factor``), `surge` the tick's contagion and discount-end factor (``churn_surge``)."""
    unhappy = ONE - satisfaction
    hazard = (rules.churn_base + rules.churn_dissatisfaction * (unhappy * unhappy)) * (
        ONE - rules.bond_protection * bond) * factor * surge
    return np.minimum(hazard, ONE)


def market_pull(pressure_sum: Array, offer_sum: Array, response: Array, wom_total: Array) -> Array:
    """§7.6 Σ_k (P_k + r_i·Q_k + W_ik): the pull of every firm on a customer (its own included)."""
    return pressure_sum + response * offer_sum + wom_total


def prospect_pull(pressure_sum: Array, offer_sum: Array, response: Array, wom_total: Array, rules: Rules) -> Array:
    """§7.6 What pulls a prospect into the category: ν·Σ_k P_k + r_i·Σ_k Q_k + Σ_k W_ik."""
    return rules.adoption_response * pressure_sum + response * offer_sum + wom_total


def adoption_scale(holder: Array, rules: Rules) -> Array:
    """§7.6 The factor on P_k in a mover's choice: ν for a prospect (no provider, code < 0), else 1."""
    return where(holder < 0, rules.adoption_response, 1.0)


def rivals_pull(market_pull: Array, own_pull: Array) -> Array:
    """§7.6 Σ_{k≠j} (P_k + W_ik): the pull of every firm less the customer's own (never below 0)."""
    return np.maximum(market_pull - own_pull, 0.0)


def reach(hazard: Array, sigma: Array, rivals: Array) -> Array:
    """§7.6 The uniform below which a customer moves: h + (1 − h)·π, π = min(1, σ·Σ_{k≠j}(P_k + W_ik))."""
    return hazard + (ONE - hazard) * np.minimum(1.0, sigma * rivals)


def leaves(u: Array, hazard: Array) -> Array:
    """§7.6 u < h: the customer leaves for intrinsic reasons."""
    return u < hazard


def moving(u: Array, hazard: Array, reach_: Array) -> Array:
    """§7.6 u < h (leaves) or u < h + (1 − h)·π (won by a rival, or a prospect adopts)."""
    return np.logical_or(u < hazard, u < reach_)


def choice_weight(pressure: Array, offer: Array, pull_: Array, noise: Array) -> Array:
    """§7.6 A firm's weight in a mover's choice: P_k + r_i·Q_k + W_ik (+ ε for an intrinsic leaver)."""
    return pressure + offer + pull_ + noise


def referred(draw: Array, start: Array, weight: Array, pull_: Array) -> Array:
    """§7.6 The winning draw fell into the word-of-mouth part of the chosen firm's piece
    [start, start + weight), laid out as [ε | P_k | r_i·Q_k | W_ik]."""
    return np.logical_and(draw >= start + weight - pull_, pull_ > 0)


def won_by_incentive(draw: Array, start: Array, weight: Array, pull_: Array, offer: Array) -> Array:
    """§7.6 The winning draw fell into the incentive part r_i·Q_k of the chosen firm's piece."""
    end = start + weight - pull_
    return np.logical_and(np.logical_and(draw >= end - offer, draw < end), offer > 0)


def starting_bond(referral: Array, rules: Rules) -> Array:
    """§7.6 A mover's bond: b_0, plus Δ_ref when won by referral, at most 1."""
    return np.minimum(1.0, rules.bond_init + rules.referral_bonus * referral)


# --------------------------------------------------------------------------- §7.9 CRM

def knows(crm: Array, tenure: Array, rules: Rules) -> Array:
    """§7.9 The provider holds a profile: CRM and tenure ≥ t_known."""
    return np.logical_and(crm, tenure >= rules.t_known)
