"""Word of mouth (MODEL.md §2.5): promoters pull their contacts to their provider."""

from __future__ import annotations

import numpy as np

from marktsim.engine.network import Network


def word_of_mouth(
    provider: np.ndarray,
    satisfaction: np.ndarray,
    waiting: np.ndarray,
    n_firms: int,
    network: Network | None,
    positive: float,
    negative: float,
    promoter_threshold: float,
    detractor_threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """§2.5 W_ik = max(0, q_wom·(promoters of k among i's contacts) − q_neg·(detractors of k))
    / (contacts of i). Waiting customers promote nobody. Global mixing (network None):
    contacts are all N customers, so W_ik is the same for every i.

    Returns (W of shape (firms, N), or (firms, 1) under global mixing; promoters per firm;
    detractors per firm).
    """
    active = provider >= 0
    promoter = active & (satisfaction >= promoter_threshold) & ~waiting
    detractor = active & (satisfaction <= detractor_threshold)
    firm = np.where(active, provider, n_firms).astype(np.intp)
    # code of each customer: k if it promotes firm k, n_firms + k if it detracts, else silent
    silent = 2 * n_firms
    code = np.where(promoter, firm, np.where(detractor, n_firms + firm, silent)).astype(np.int8)  # ≤ 42 (K ≤ 20)
    tally = np.bincount(code, minlength=silent + 1).astype(np.float64)
    promoters, detractors = tally[:n_firms], tally[n_firms:silent]
    n = provider.shape[0]
    if network is None:
        w = np.maximum(positive * promoters - negative * detractors, 0.0) / n
        return w.astype(np.float32)[:, None], promoters, detractors
    wom = np.zeros((n_firms, n), dtype=np.float32)
    counts = network.count_codes(code, silent)
    inv_degree = network.inverse_degree()
    for k in range(n_firms):
        if promoters[k] == 0 and (detractors[k] == 0 or negative == 0):
            continue
        pull = np.float32(positive) * counts[k]
        if negative > 0 and detractors[k] > 0:
            pull -= np.float32(negative) * counts[n_firms + k]
        wom[k] = np.maximum(pull, np.float32(0.0)) * inv_degree
    return wom, promoters, detractors
