"""Customer state stored column-wise (MODEL.md §1), and its initialisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marktsim.engine.rules import draw_propensity, draw_traits

SEGMENT_NAMES = ("A", "B", "C")
KIND_NAMES = ("B2C", "B2B")


@dataclass
class Columns:
    """The state of all N customers, one numpy array per variable (row i = customer i)."""

    provider: np.ndarray  # int8: firm index, or -1 for a prospect
    satisfaction: np.ndarray  # float32 in [0, 1]
    bond: np.ndarray  # float32 in [0, 1]
    tenure: np.ndarray  # int32: ticks with the current provider
    value: np.ndarray  # float32 > 0: revenue per served unit before tenure growth
    b2b: np.ndarray  # bool
    units: np.ndarray  # float32: units demanded per tick (1 or b2b_units)
    segment: np.ndarray  # int8: 0 = A, 1 = B, 2 = C (by expected revenue per tick)
    backlog: np.ndarray  # float32 (N, max_wait): waiting units by age 1..max_wait
    known: np.ndarray  # bool: the provider holds a profile (CRM)
    referred: np.ndarray  # bool: won through word of mouth
    propensity: np.ndarray  # float32 > 0: latent churn propensity z_i, kept for life (1: none)
    deal_prone: np.ndarray  # bool: responds fully to incentives, bonds less (kept for life)
    contract: np.ndarray  # bool: can leave only at the end of a contract term (kept for life)
    won_incentive: np.ndarray  # bool: won by its provider with a price incentive
    left: np.ndarray  # bool: left its provider in the last tick (for its contacts' contagion)

    @property
    def n(self) -> int:
        return int(self.provider.shape[0])

    def backlog_units(self) -> np.ndarray:
        """Units each customer is waiting for."""
        wait = self.backlog.shape[1]
        if wait == 0:
            return np.zeros(self.n, dtype=np.float32)
        if wait >= 8:  # numpy sums rows of 8 or more pairwise
            return self.backlog.sum(axis=1, dtype=np.float32)
        # fewer than 8: numpy adds a row's ages in order, which column by column does faster
        total = self.backlog[:, 0].copy()
        for a in range(1, wait):
            total += self.backlog[:, a]
        return total


def abc_segments(revenue_potential: np.ndarray) -> np.ndarray:
    """A/B/C segments: top 20 %, next 30 %, bottom 50 % of expected revenue (§1)."""
    n = revenue_potential.shape[0]
    order = np.argsort(-revenue_potential, kind="stable")
    segment = np.empty(n, dtype=np.int8)
    n_a = int(round(0.2 * n))
    n_b = int(round(0.5 * n)) - n_a
    segment[order[:n_a]] = 0
    segment[order[n_a : n_a + n_b]] = 1
    segment[order[n_a + n_b :]] = 2
    return segment


def allocate_counts(total: int, shares: np.ndarray) -> np.ndarray:
    """Split `total` into integer counts proportional to `shares` (largest remainder)."""
    raw = np.asarray(shares, dtype=float) * total
    counts = np.floor(raw).astype(np.int64)
    rest = total - int(counts.sum())
    if rest > 0:
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[:rest]] += 1
    return counts


def initial_columns(
    rng: np.random.Generator,
    n: int,
    shares: np.ndarray,
    adopted_share: float,
    customers: dict,
    crm: np.ndarray,
) -> Columns:
    """Draw the initial customers (§1): providers by share, values, kinds, tenures."""
    c = customers
    b2b = rng.random(n) < c["b2b_share"]
    sigma = float(c["value_sigma_log"])
    mu = np.log(c["value_mean"]) - 0.5 * sigma**2
    value = np.exp(mu + sigma * rng.standard_normal(n)).astype(np.float32)
    units = np.where(b2b, np.float32(c["b2b_units"]), np.float32(1.0)).astype(np.float32)
    n_adopted = int(round(adopted_share * n))
    counts = allocate_counts(n_adopted, shares)
    provider = np.full(n, -1, dtype=np.int8)
    provider[:n_adopted] = np.repeat(np.arange(len(shares), dtype=np.int8), counts)
    provider = provider[rng.permutation(n)]
    mean_tenure = float(c["initial_tenure_mean"])
    tenure = (rng.geometric(1.0 / (1.0 + mean_tenure), size=n) - 1).astype(np.int32)
    tenure[provider < 0] = 0
    has = provider >= 0
    known = has & crm[np.maximum(provider, 0)] & (tenure >= c["t_known"])
    propensity = draw_propensity(rng, tenure, c)  # last: without propensities the stream is as before
    deal_prone, contract = draw_traits(rng, b2b, c)  # likewise: traits with share 0 draw nothing
    return Columns(
        provider=provider,
        satisfaction=np.full(n, c["satisfaction_init"], dtype=np.float32),
        bond=np.full(n, c["bond_init"], dtype=np.float32),
        tenure=tenure,
        value=value,
        b2b=b2b,
        units=units,
        segment=abc_segments(value * units),
        backlog=np.zeros((n, int(c["max_wait"])), dtype=np.float32),
        known=known,
        referred=np.zeros(n, dtype=bool),
        propensity=propensity,
        deal_prone=deal_prone,
        contract=contract,
        won_incentive=np.zeros(n, dtype=bool),
        left=np.zeros(n, dtype=bool),
    )
