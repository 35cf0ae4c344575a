"""The social network over customers (MODEL.md §1: Watts–Strogatz small world)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# largest (customers × codes) table counted in one bincount (int64 entries: 8 MiB), so that a
# block's table stays near the caches; larger networks are counted block by block
_TABLE_LIMIT = 1 << 20


@dataclass
class Network:
    """Undirected contacts in compressed sparse row form: the contacts of customer i are
    ``indices[indptr[i]:indptr[i + 1]]`` (every edge is stored in both directions)."""

    indptr: np.ndarray  # int64, N + 1
    indices: np.ndarray  # int32, 2 * edges
    degree: np.ndarray | None = None  # float32, N (None: not stored, see inverse_degree)
    _rows: np.ndarray | None = None  # owner of each entry of `indices` × table width, on demand
    _rows_width: int = 0
    _targets: np.ndarray | None = None  # `indices` as intp (a gather's own index type), on demand
    _inverse_degree: np.ndarray | None = None

    def count_codes(self, codes: np.ndarray, n_codes: int) -> np.ndarray:
        """For each customer and each code c < n_codes, how many of its contacts carry code c
        (exact integers, shape (n_codes, N)); every code lies in 0 … n_codes, and code n_codes
        (silent) is not counted.

        One bincount over (customer, code) pairs per block of customers, each block's table
        (customers × (n_codes + 1)) at most 2²⁰ entries: the work is one pass over the
        contacts whatever N, and the temporaries stay the size of one block."""
        n = self.indptr.shape[0] - 1
        width = n_codes + 1
        block = max(1, _TABLE_LIMIT // width)
        if n <= block:  # one block: its row keys and gather indices are kept between ticks
            if self._rows is None or self._rows_width != width:
                owner = np.repeat(np.arange(n, dtype=np.intp), np.diff(self.indptr))
                self._rows, self._rows_width = owner * width, width
                self._targets = self.indices.astype(np.intp)
            assert self._targets is not None and self._rows is not None
            key = codes.astype(np.intp, copy=False).take(self._targets)
            key += self._rows
            table = np.bincount(key, minlength=n * width).reshape(n, width)
            return table[:, :n_codes].T.astype(np.float32)
        out = np.empty((n_codes, n), dtype=np.float32)
        for start in range(0, n, block):
            stop = min(n, start + block)
            lo, hi = self.indptr[start], self.indptr[stop]
            owner = np.repeat(np.arange(0, (stop - start) * width, width, dtype=np.int32),
                              np.diff(self.indptr[start:stop + 1]))
            key = owner + codes[self.indices[lo:hi]]
            table = np.bincount(key, minlength=(stop - start) * width).reshape(stop - start, width)
            out[:, start:stop] = table[:, :n_codes].T
        return out

    def inverse_degree(self) -> np.ndarray:
        """1 / degree as float32 (0 for a customer without contacts), kept between ticks."""
        if self._inverse_degree is None:
            from marktsim.engine.rules import inverse_degree

            degree = np.diff(self.indptr).astype(np.float32) if self.degree is None else self.degree
            with np.errstate(divide="ignore"):  # 1/0 for a customer without contacts, not taken
                self._inverse_degree = inverse_degree(degree).astype(np.float32)
        return self._inverse_degree

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """(source, target) pairs, each undirected edge once per direction."""
        src = np.repeat(np.arange(self.indptr.shape[0] - 1, dtype=np.int32), np.diff(self.indptr))
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
    k = int(np.count_nonzero(rewire))
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
