"""What a tick of the customers takes and gives (docs/model.md §3), the same for both engines.

The model plans (§7.1), hands a ``Plan`` to its engine — ``NumpyEngine`` (the numpy kernels,
one call per mechanism) or ``CompiledEngine`` (numba passes over blocks of customers) — and
books the ``TickResult`` it gets back (§7.7). Both engines compute every formula from
``marktsim.engine.rules`` and return the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from marktsim.engine.network import Network
from marktsim.engine.rules import Rules
from marktsim.engine.state import Columns


class Plan(NamedTuple):
    """§7.1 The firms' decisions for this tick, one entry per firm."""

    acquisition: np.ndarray  # acquisition spend A_j (campaigns included)
    retention: np.ndarray  # planned retention spend R_j
    capacity: np.ndarray  # units per tick (inf: unlimited)
    pressure: np.ndarray  # acquisition pressure P_j
    offer: np.ndarray  # incentive pressure Q_j (short-term price incentives)


class FirmTerms(NamedTuple):
    """Per-firm terms the customers' formulas read, with a last entry standing for "no
    provider" (prospects), so that ``terms.quality[firm_index]`` works for everybody."""

    quality: np.ndarray  # float32
    communicates: np.ndarray  # bool: announces delays
    crm: np.ndarray  # bool
    priority: np.ndarray  # int8: index into serve.PRIORITIES (prospects: fifo)
    targeting: np.ndarray  # int8: 0 uniform, 1 value-weighted, 2 abc
    abc_weights: np.ndarray  # float32 (firms + 1, 3)


@dataclass(frozen=True)
class Market:
    """The fixed frame of a run's customers: size, firms, network and the formulas' parameters."""

    n: int
    n_firms: int
    saturated: bool
    network: Network | None  # None: global mixing
    rules: Rules
    firms: FirmTerms
    cells: np.ndarray  # int8: segment·2 + B2B of every customer (they never change)


@dataclass
class TickResult:
    """The sums of a tick: ``books`` (len(Book), firms) and ``cells`` (len(Cell), firms, 6)."""

    books: np.ndarray
    cells: np.ndarray


class Engine(Protocol):
    """A way to run the customers' part of a tick (§7.2–7.6, §7.9)."""

    def tick(self, columns: Columns, plan: Plan, generator: np.random.Generator) -> TickResult: ...
