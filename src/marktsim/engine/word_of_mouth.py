"""Word of mouth (docs/model.md §7.5): promoters pull their contacts to their provider."""

from __future__ import annotations

import numpy as np

from marktsim.engine import rules as r
from marktsim.engine.network import Network
from marktsim.engine.rules import Rules


def word_of_mouth(firm: np.ndarray, satisfaction: np.ndarray, waiting: np.ndarray, n_firms: int,
                  network: Network | None, rules: Rules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """§7.5 W_ik = max(0, q_wom·(promoters of k among i's contacts) − q_neg·(detractors of k))
    / (contacts of i). `firm`: each customer's firm index (n_firms for prospects). Waiting
    customers promote nobody. Global mixing (network None): contacts are all N customers, so
    W_ik is the same for every i.

    Returns (W of shape (firms, N), or (firms, 1) under global mixing; promoters per firm;
    detractors per firm).
    """
    silent = 2 * n_firms
    code = r.opinion(firm, firm < n_firms, satisfaction, waiting, n_firms, rules).astype(np.int8)  # ≤ 42 (K ≤ 20)
    tally = np.bincount(code, minlength=silent + 1).astype(np.float64)
    promoters, detractors = tally[:n_firms], tally[n_firms:silent]
    n = firm.shape[0]
    if network is None:
        return r.global_pull(promoters, detractors, n, rules)[:, None], promoters, detractors
    wom = np.zeros((n_firms, n), dtype=np.float32)
    counts = network.count_codes(code, silent)
    inverse_degree = network.inverse_degree()
    for k in range(n_firms):
        if promoters[k] == 0 and (detractors[k] == 0 or rules.wom_negative == 0):
            continue  # nobody speaks of firm k: W_ik = 0 (the formula gives 0 too)
        wom[k] = r.pull(counts[k], counts[n_firms + k], inverse_degree, rules)
    return wom, promoters, detractors
