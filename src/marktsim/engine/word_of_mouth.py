"""Word of mouth (docs/model.md §7.5): promoters pull their contacts to their provider, protect
their contacts' loyalty to it, and leavers make their contacts leave (contagion)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from marktsim.engine import rules as r
from marktsim.engine.network import Network
from marktsim.engine.rules import ZERO, Rules


class Talk(NamedTuple):
    """What each customer hears from its contacts this tick."""

    wom: np.ndarray  # W_ik, (firms, N); (firms, 1) under global mixing
    promoters: np.ndarray  # per firm
    detractors: np.ndarray  # per firm
    own_share: np.ndarray | np.float32  # share of contacts promoting the customer's own provider (0: not needed)
    left_share: np.ndarray | np.float32  # share of contacts who left their provider last tick (0: not needed)


def word_of_mouth(firm: np.ndarray, satisfaction: np.ndarray, waiting: np.ndarray, left: np.ndarray, n_firms: int,
                  network: Network | None, rules: Rules) -> Talk:
    """§7.5 W_ik = max(0, q_wom·(promoters of k among i's contacts) − q_neg·(detractors of k))
    / (contacts of i). `firm`: each customer's firm index (n_firms for prospects). Waiting
    customers promote nobody. Global mixing (network None): contacts are all N customers, so
    W_ik is the same for every i. The shares of contacts promoting the own provider (ω > 0)
    and of contacts who left last tick (c > 0) are counted only when their mechanism is on.
    """
    silent = 2 * n_firms
    code = r.opinion(firm, firm < n_firms, satisfaction, waiting, n_firms, rules).astype(np.int8)  # ≤ 42 (K ≤ 20)
    tally = np.bincount(code, minlength=silent + 1).astype(np.float64)
    promoters, detractors = tally[:n_firms], tally[n_firms:silent]
    n = firm.shape[0]
    own = np.where(firm < n_firms, firm, 0).astype(np.intp)
    protect, contagion = rules.wom_protection > 0, rules.contagion > 0
    if network is None:
        own_share = np.where(firm < n_firms, (promoters / n).astype(np.float32)[own], ZERO) if protect else ZERO
        left_share = np.float32(np.count_nonzero(left) / n) if contagion else ZERO
        return Talk(r.global_pull(promoters, detractors, n, rules)[:, None], promoters, detractors, own_share,
                    left_share)
    wom = np.zeros((n_firms, n), dtype=np.float32)
    counts = network.count_codes(code, silent)
    inverse_degree = network.inverse_degree()
    for k in range(n_firms):
        if promoters[k] == 0 and (detractors[k] == 0 or rules.wom_negative == 0):
            continue  # nobody speaks of firm k: W_ik = 0 (the formula gives 0 too)
        wom[k] = r.pull(counts[k], counts[n_firms + k], inverse_degree, rules)
    own_share = ZERO
    if protect:
        mine = counts.reshape(-1)[own * n + np.arange(n)]
        own_share = np.where(firm < n_firms, r.contact_share(mine, inverse_degree), ZERO)
    left_share = ZERO
    if contagion:
        leavers = network.count_codes(np.where(left, 0, 1).astype(np.int8), 1)[0]
        left_share = r.contact_share(leavers, inverse_degree)
    return Talk(wom, promoters, detractors, own_share, left_share)
