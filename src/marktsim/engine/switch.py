"""Leave or switch (MODEL.md §2.6): intrinsic churn, poaching and adoption."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def acquisition_pressure(spend: np.ndarray, a_max: float, a_scale: float, n_customers: int) -> np.ndarray:
    """§2.6 P_k = a_max·(1 − exp(−A_k/(a_scale·N))): saturating response to advertising."""
    return a_max * -np.expm1(-np.asarray(spend, dtype=np.float64) / (a_scale * n_customers))


def churn_hazard(
    satisfaction: np.ndarray, bond: np.ndarray, churn_factor: np.ndarray,
    churn_base: float, churn_dissatisfaction: float, bond_protection: float,
) -> np.ndarray:
    """§2.6 h = min(1, (h_0 + h_s·(1 − s)²)·(1 − κ·b)·g): intrinsic churn hazard."""
    dissatisfaction = (np.float32(1.0) - satisfaction) ** 2
    protect = np.float32(1.0) - np.float32(bond_protection) * bond
    hazard = (np.float32(churn_base) + np.float32(churn_dissatisfaction) * dissatisfaction) * protect * churn_factor
    return np.minimum(hazard, np.float32(1.0))


def susceptibility(satisfaction: np.ndarray, bond: np.ndarray, bond_protection: float, satisfaction_protection: float) -> np.ndarray:
    """§2.6 σ = (1 − κ·b)·(1 − λ·s) for customers (prospects: 1)."""
    return (np.float32(1.0) - np.float32(bond_protection) * bond) * (
        np.float32(1.0) - np.float32(satisfaction_protection) * satisfaction
    )


@dataclass
class Moves:
    """Outcome of one tick's switching decisions."""

    old: np.ndarray  # int8 provider before the decision, per mover
    new: np.ndarray  # int8 provider after (-1: left the category), per mover
    who: np.ndarray  # indices of movers
    intrinsic: np.ndarray  # bool per mover: left for intrinsic reasons (else poached/adopted)
    referred: np.ndarray  # bool per mover: the winning draw came from the word-of-mouth term


def thresholds(
    provider: np.ndarray,
    satisfaction: np.ndarray,
    bond: np.ndarray,
    churn_factor: np.ndarray,
    pressure: np.ndarray,
    wom: np.ndarray,
    saturated: bool,
    churn_base: float,
    churn_dissatisfaction: float,
    bond_protection: float,
    satisfaction_protection: float,
) -> tuple[np.ndarray, np.ndarray]:
    """§2.6 Each customer's churn hazard h (float32) and h + (1 − h)·π, the reach of its
    uniform below which it moves (π = min(1, σ·Σ_{k≠j} (P_k + W_ik)); prospects: σ = 1, h = 0)."""
    n = provider.shape[0]
    n_firms = pressure.shape[0]
    active = provider >= 0
    own = np.maximum(provider, 0).astype(np.intp)
    sigma = np.where(active, susceptibility(satisfaction, bond, bond_protection, satisfaction_protection), 1.0)
    global_mixing = wom.shape[1] == 1
    wom_total = wom.sum(axis=0, dtype=np.float64)
    if global_mixing:
        own_pull = pressure[own] + wom[own, 0]
    else:
        own_pull = pressure[own] + wom.reshape(-1)[own * n + np.arange(n)]
    rivals_pull = pressure.sum() + wom_total - np.where(active, own_pull, 0.0)
    if n_firms == 1:
        rivals_pull = np.where(active, 0.0, rivals_pull)
    pull = np.minimum(1.0, sigma * np.maximum(rivals_pull, 0.0))
    hazard = churn_hazard(satisfaction, bond, churn_factor, churn_base, churn_dissatisfaction, bond_protection)
    hazard = np.where(active, hazard, 0.0)
    if saturated and n_firms == 1:
        hazard[:] = 0.0  # a monopolist's customers have nowhere to go
    return hazard, hazard + (1.0 - hazard) * pull


def decide(u: np.ndarray, hazard: np.ndarray, reach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """§2.6 Who moves, given one uniform u_i per customer and its ``thresholds``: u < h leaves;
    else u below the reach h + (1 − h)·π is won by a rival.

    Returns (movers' indices, ascending; whether each left for intrinsic reasons)."""
    leave = u < hazard
    won = ~leave & (u < reach)
    movers = np.flatnonzero(leave | won)
    return movers, leave[movers]


def choose(
    rng: np.random.Generator,
    movers: np.ndarray,
    intrinsic: np.ndarray,
    old: np.ndarray,
    pressure: np.ndarray,
    pulls: np.ndarray,
    saturated: bool,
    switch_noise: float,
) -> Moves:
    """§2.6 Where the movers go: a rival drawn ∝ P_k + W_ik (+ ε for those who left intrinsically
    in a saturated market), or out of the category; the draw is a referral when it falls in
    the word-of-mouth part of the winner's weight. `pulls`: the movers' W_ik, (firms, movers)."""
    n_firms = pressure.shape[0]
    new = np.full(movers.shape[0], -1, dtype=np.int8)
    referred = np.zeros(movers.shape[0], dtype=bool)
    choose = ~intrinsic | saturated
    if choose.any():
        idx = movers[choose]
        w_part = pulls[:, choose].astype(np.float64)
        noise = np.where(intrinsic[choose], switch_noise, 0.0)
        weight = pressure[:, None] + w_part + noise[None, :]
        holder = old[choose]
        m = idx.shape[0]
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
            total = weight.sum(axis=0)
        draw = rng.random(m) * total
        cum = np.cumsum(weight, axis=0)
        chosen = np.minimum((cum <= draw[None, :]).sum(axis=0), n_firms - 1)
        cols = np.arange(m)
        start = cum[chosen, cols] - weight[chosen, cols]
        w_start = start + weight[chosen, cols] - w_part[chosen, cols]
        new[choose] = chosen.astype(np.int8)
        referred[choose] = (draw >= w_start) & (w_part[chosen, cols] > 0)
    return Moves(old=old, new=new, who=movers, intrinsic=intrinsic, referred=referred)


def switch(
    rng: np.random.Generator,
    provider: np.ndarray,
    satisfaction: np.ndarray,
    bond: np.ndarray,
    churn_factor: np.ndarray,
    pressure: np.ndarray,
    wom: np.ndarray,
    saturated: bool,
    churn_base: float,
    churn_dissatisfaction: float,
    bond_protection: float,
    satisfaction_protection: float,
    switch_noise: float,
) -> Moves:
    """§2.6 One uniform u_i per customer: u < h leaves (to a rival ∝ ε + P_k + W_ik when
    saturated, out of the category otherwise); else u < h + (1 − h)·π is won by a rival
    ∝ P_k + W_ik. Prospects (provider −1) adopt with π = min(1, Σ_k P_k + W_ik)."""
    u = rng.random(provider.shape[0])
    movers, intrinsic = decide(u, *thresholds(provider, satisfaction, bond, churn_factor, pressure, wom, saturated,
                                              churn_base, churn_dissatisfaction, bond_protection,
                                              satisfaction_protection))
    pulls = wom[:, np.zeros(movers.shape[0], np.intp) if wom.shape[1] == 1 else movers]
    return choose(rng, movers, intrinsic, provider[movers], pressure, pulls, saturated, switch_noise)
