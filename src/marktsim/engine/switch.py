"""Leave or switch (docs/model.md §7.6): intrinsic churn, poaching and adoption."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marktsim.engine import rules as r
from marktsim.engine.rules import ONE, ZERO, Rules
from marktsim.engine.state import Columns
from marktsim.engine.tick import Plan
from marktsim.engine.word_of_mouth import Talk


def acquisition_pressure(spend: np.ndarray, a_max: float, a_scale: float, n_customers: int) -> np.ndarray:
    """§7.6 P_k = a_max·(1 − exp(−A_k/(a_scale·N))): saturating response to advertising (per
    firm); the incentive pressure Q_k is the same response to incentive spend (i_max, i_scale)."""
    return a_max * -np.expm1(-np.asarray(spend, dtype=np.float64) / (a_scale * n_customers))


@dataclass
class Moves:
    """Outcome of one tick's switching decisions."""

    old: np.ndarray  # int8 provider before the decision, per mover
    new: np.ndarray  # int8 provider after (-1: left the category), per mover
    who: np.ndarray  # indices of movers
    intrinsic: np.ndarray  # bool per mover: left for intrinsic reasons (else poached/adopted)
    referred: np.ndarray  # bool per mover: the winning draw came from the word-of-mouth part
    incentive: np.ndarray  # bool per mover: the winning draw came from the incentive part


def thresholds(firm: np.ndarray, col: Columns, factor: np.ndarray, plan: Plan, talk: Talk, saturated: bool,
               rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """§7.6 Each customer's churn hazard h (float32) and h + (1 − h)·π, the reach of its
    uniform below which it moves (π = min(1, σ·Σ_{k≠j} (P_k + r_i·Q_k + W_ik)); prospects:
    π = min(1, ν·ΣP + r_i·ΣQ + ΣW), h = 0; contract customers between renewals: neither).
    `firm`: each customer's firm index (n_firms for prospects); `factor`: g_i·z_i."""
    wom, pressure, offer = talk.wom, plan.pressure, plan.offer
    n = firm.shape[0]
    n_firms = pressure.shape[0]
    active = firm < n_firms
    own = np.where(active, firm, 0).astype(np.intp)
    sigma = np.where(active, r.susceptibility(col.satisfaction, col.bond, talk.own_share, rules), ONE)
    own_wom = wom[own, 0] if wom.shape[1] == 1 else wom.reshape(-1)[own * n + np.arange(n)]
    pressure_sum, offer_sum, wom_total = pressure.sum(), offer.sum(), wom.sum(axis=0, dtype=np.float64)
    response = r.incentive_response(col.deal_prone, rules)
    rivals = np.where(active, r.rivals_pull(r.market_pull(pressure_sum, offer_sum, response, wom_total),
                                            r.market_pull(pressure[own], offer[own], response, own_wom)),
                      r.rivals_pull(r.prospect_pull(pressure_sum, offer_sum, response, wom_total, rules), 0.0))
    ending = r.discount_ends(col.won_incentive, col.deal_prone, col.tenure, rules)
    surge = r.churn_surge(talk.left_share, ending, rules)
    hazard = np.where(active, r.churn_hazard(col.satisfaction, col.bond, factor, surge, rules), ZERO)
    if saturated and n_firms == 1:
        hazard[:] = 0.0  # a monopolist's customers have nowhere to go
    reach = r.reach(hazard, sigma, rivals)
    if col.contract.any():
        bound = np.logical_and(active, r.bound_by_contract(col.contract, col.tenure, rules))
        hazard, reach = np.where(bound, ZERO, hazard), np.where(bound, 0.0, reach)
    return hazard, reach


def decide(u: np.ndarray, hazard: np.ndarray, reach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """§7.6 Who moves, given one uniform u_i per customer and its ``thresholds``.

    Returns (movers' indices, ascending; whether each left for intrinsic reasons)."""
    movers = np.flatnonzero(r.moving(u, hazard, reach))
    return movers, r.leaves(u[movers], hazard[movers])


def choose(rng: np.random.Generator, movers: np.ndarray, intrinsic: np.ndarray, old: np.ndarray, plan: Plan,
           pulls: np.ndarray, response: np.ndarray, saturated: bool, rules: Rules) -> Moves:
    """§7.6 Where the movers go: a rival drawn ∝ P_k + r_i·Q_k + W_ik (+ ε for those who left
    intrinsically in a saturated market; ν·P_k for a prospect), or out of the category; the
    draw is a referral (an incentive win) when it falls in the word-of-mouth (incentive) part of
    the winner's weight. `pulls`: the movers' W_ik, (firms, movers); `response`: their r_i."""
    pressure, offer = plan.pressure, plan.offer
    n_firms = pressure.shape[0]
    new = np.full(movers.shape[0], -1, dtype=np.int8)
    referred = np.zeros(movers.shape[0], dtype=bool)
    incentive = np.zeros(movers.shape[0], dtype=bool)
    choosing = ~intrinsic | saturated
    if choosing.any():
        w_part = pulls[:, choosing].astype(np.float64)
        noise = np.where(intrinsic[choosing], rules.switch_noise, 0.0)
        holder = old[choosing]
        o_part = offer[:, None] * response[choosing][None, :]
        weight = r.choice_weight(pressure[:, None] * r.adoption_scale(holder, rules)[None, :], o_part, w_part,
                                 noise[None, :])
        m = holder.shape[0]
        has = holder >= 0
        weight[np.maximum(holder, 0)[has], np.flatnonzero(has)] = 0.0
        total = weight.sum(axis=0)
        empty = total <= 0
        if empty.any():  # all weights zero: a uniformly drawn rival
            uniform = np.ones((n_firms, int(empty.sum())))
            cols = np.flatnonzero(empty)
            hold = holder[cols]
            keep = hold >= 0
            uniform[np.maximum(hold, 0)[keep], np.flatnonzero(keep)] = 0.0
            weight[:, cols] = uniform
            w_part[:, cols] = 0.0
            o_part[:, cols] = 0.0
            total = weight.sum(axis=0)
        draw = rng.random(m) * total
        cum = np.cumsum(weight, axis=0)
        chosen = np.minimum((cum <= draw[None, :]).sum(axis=0), n_firms - 1)
        cols = np.arange(m)
        start = cum[chosen, cols] - weight[chosen, cols]
        new[choosing] = chosen.astype(np.int8)
        referred[choosing] = r.referred(draw, start, weight[chosen, cols], w_part[chosen, cols])
        incentive[choosing] = r.won_by_incentive(draw, start, weight[chosen, cols], w_part[chosen, cols],
                                                 o_part[chosen, cols])
    return Moves(old=old, new=new, who=movers, intrinsic=intrinsic, referred=referred, incentive=incentive)


def switch(rng: np.random.Generator, firm: np.ndarray, col: Columns, factor: np.ndarray, plan: Plan, talk: Talk,
           saturated: bool, rules: Rules) -> Moves:
    """§7.6 One uniform u_i per customer: u < h leaves (to a rival ∝ ε + P_k + r_i·Q_k + W_ik
    when saturated, out of the category otherwise); else u < h + (1 − h)·π is won by a rival
    ∝ P_k + r_i·Q_k + W_ik. Prospects (firm index n_firms) adopt likewise, with ν·P_k."""
    u = np.asarray(rng.random(firm.shape[0]))
    movers, intrinsic = decide(u, *thresholds(firm, col, factor, plan, talk, saturated, rules))
    wom = talk.wom
    pulls = wom[:, np.zeros(movers.shape[0], np.intp) if wom.shape[1] == 1 else movers]
    n_firms = plan.pressure.shape[0]
    old = np.where(firm[movers] < n_firms, firm[movers], -1).astype(np.int8)
    response = np.broadcast_to(r.incentive_response(col.deal_prone, rules), firm.shape)[movers]
    return choose(rng, movers, intrinsic, old, plan, pulls, response, saturated, rules)
