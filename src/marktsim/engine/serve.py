"""Serve (docs/model.md §7.2): capacity-limited service with priority classes and a backlog."""

from __future__ import annotations

import numpy as np

from marktsim.engine import rules as r
from marktsim.engine.account import summed

PRIORITIES = ("existing_first", "fifo", "new_first")


def serve(
    firm: np.ndarray,
    units: np.ndarray,
    backlog: np.ndarray,
    second: np.ndarray | None,
    capacity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """§7.2 Serve this tick's demand plus backlog up to each firm's capacity.

    `firm`: each customer's firm index (n_firms for prospects, who demand nothing); `second`:
    the customers served in the second class (None: one class). Units are ranked by class and,
    within a class, oldest first; each rank is rationed proportionally when capacity does not
    cover it (``rules.ration``). Units that have waited ``max_wait`` ticks and are still
    unserved are lost.

    Returns (served units, units due, new backlog, lost units), per customer.
    """
    n_firms = capacity.shape[0]
    wait = backlog.shape[1]
    active = firm < n_firms
    # cells[a]: units of age a (0 = demanded this tick)
    cells = [np.where(active, units, np.float32(0.0))] + [backlog[:, a] for a in range(wait)]
    due = cells[0].copy()
    for a in range(1, wait + 1):
        due += cells[a]
    groups = (False, True) if second is not None and second.any() else (None,)
    remaining = np.append(np.asarray(capacity, dtype=np.float64), 0.0)
    ages = [a for a in range(wait, -1, -1) if a == 0 or cells[a].any()]  # empty ages change nothing
    served_cells: list[np.ndarray | None] = [None] * (wait + 1)
    for group in groups:
        mask = None if group is None else (second == group)
        for a in ages:
            cell = cells[a] if mask is None else np.where(mask, cells[a], np.float32(0.0))
            demand = summed(firm, n_firms + 1, cell)
            with np.errstate(divide="ignore", invalid="ignore"):
                share, remaining = r.ration(demand, remaining)
            part = r.served_part(cell, share.take(firm))
            served_cells[a] = part if served_cells[a] is None else served_cells[a] + part
    first = served_cells[0]
    assert first is not None  # age 0 is always served
    served = first.copy()
    for a in range(1, wait + 1):
        part = served_cells[a]
        if part is not None:  # an empty age adds nothing
            served += part
    # what is left of each age (an empty age stays as it is: all zeros)
    left = [c if s is None else r.unserved(c, s) for c, s in zip(cells, served_cells)]
    new_backlog = np.empty_like(backlog)
    for a in range(wait):
        new_backlog[:, a] = left[a]  # age a -> a + 1
    lost = left[wait] if wait == 0 or served_cells[wait] is not None else left[wait].copy()
    return served, due, new_backlog, lost
