"""The social network over customers (MODEL.md §1: Watts–Strogatz small world)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# largest (customers × codes) table counted in one bincount (int64 entries: 8 bytes each)
_TABLE_LIMIT = 1 << 24


@dataclass
class Network:
    """Undirected contacts in compressed sparse row form: the contacts of customer i are
    ``indices[indptr[i]:indptr[i + 1]]`` (every edge is stored in both directions)."""

    indptr: np.ndarray  # int64, N + 1
    indices: np.ndarray  # int32, 2 * edges
    degree: np.ndarray  # float32, N
    _rows: np.ndarray | None = None  # owner of each entry of `indices` × table width, on demand
    _rows_width: int = 0

    def count_codes(self, codes: np.ndarray, n_codes: int) -> np.ndarray:
        """For each customer and each code c < n_codes, how many of its contacts carry code c
        (exact integers, shape (n_codes, N)); codes ≥ n_codes are not counted.

        One bincount over (customer, code) pairs while N·n_codes is small enough to hold as a
        table; otherwise one cumulative-sum pass per code (same counts, less memory)."""
        n = self.degree.shape[0]
        if n * (n_codes + 1) <= _TABLE_LIMIT:
            if self._rows is None or self._rows_width != n_codes + 1:
                owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.indptr))
                self._rows, self._rows_width = owner * (n_codes + 1), n_codes + 1
            key = self._rows + codes[self.indices]
            table = np.bincount(key, minlength=n * (n_codes + 1)).reshape(n, n_codes + 1)
            return table[:, :n_codes].T.astype(np.float32)
        out = np.zeros((n_codes, n), dtype=np.float32)
        for c in np.unique(codes):
            if c < n_codes:
                out[c] = self.count(codes == c)
        return out

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
