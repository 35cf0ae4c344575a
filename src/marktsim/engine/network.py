"""The social network over customers (MODEL.md §1: Watts–Strogatz small world)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Network:
    """Undirected contacts in compressed sparse row form: the contacts of customer i are
    ``indices[indptr[i]:indptr[i + 1]]`` (every edge is stored in both directions)."""

    indptr: np.ndarray  # int64, N + 1
    indices: np.ndarray  # int32, 2 * edges
    degree: np.ndarray  # float32, N

    def count(self, flags: np.ndarray) -> np.ndarray:
        """For each customer, how many of its contacts have ``flags`` set (exact integers)."""
        hits = np.cumsum(flags[self.indices], dtype=np.int32)
        hits = np.concatenate((np.zeros(1, dtype=np.int32), hits))
        return (hits[self.indptr[1:]] - hits[self.indptr[:-1]]).astype(np.float32)

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """(source, target) pairs, each undirected edge once per direction."""
        src = np.repeat(np.arange(self.degree.shape[0], dtype=np.int32), np.diff(self.indptr))
        return src, self.indices


def small_world(n: int, degree: int, rewiring: float, rng: np.random.Generator) -> Network:
    """Watts–Strogatz graph: a ring where everyone knows `degree`/2 neighbours on each side,
    each edge rewired to a uniformly drawn other customer with probability `rewiring`.

    The degree is capped at the largest even number below n. Rewiring may create the odd
    duplicate edge (as in the original algorithm without rejection); self-loops are avoided.
    """
    half = min(degree // 2, max((n - 1) // 2, 0))
    if half == 0:
        return Network(np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(n, dtype=np.float32))
    base = np.arange(n, dtype=np.int64)
    src = np.tile(base, half)
    dst = (src + np.repeat(np.arange(1, half + 1, dtype=np.int64), n)) % n
    rewire = rng.random(src.shape[0]) < rewiring
    k = int(rewire.sum())
    if k:
        new = rng.integers(0, n - 1, size=k)
        new = new + (new >= src[rewire])  # skip the customer itself
        dst[rewire] = new
    both_src = np.concatenate((src, dst))
    both_dst = np.concatenate((dst, src)).astype(np.int32)
    del src, dst
    order = np.argsort(both_src, kind="stable")
    indices = both_dst[order]
    counts = np.bincount(both_src, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return Network(indptr, indices, counts.astype(np.float32))
