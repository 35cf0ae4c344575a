"""Strategy policies (how a firm splits its budget) and capacity policies (MODEL.md §1, §2.1, §2.8)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class FixedSplit:
    """`fixed`: spend the share ρ of the budget on retention, every tick."""

    rho: float

    def retention_share(self, utilisation: float) -> float:
        return self.rho

    def observe(self, profit: float) -> None:
        """A fixed split learns nothing."""


@dataclass
class CapacityAware(FixedSplit):
    """`capacity_aware`: while last tick's utilisation exceeds u_cap, move the share
    `shift` of the acquisition budget into retention (do not advertise into overload)."""

    threshold: float = 0.95
    shift: float = 0.75

    def retention_share(self, utilisation: float) -> float:
        if not math.isnan(utilisation) and utilisation > self.threshold:
            return self.rho + self.shift * (1.0 - self.rho)
        return self.rho


@dataclass
class Adaptive(FixedSplit):
    """`adaptive`: try ρ + δ for M ticks, then ρ − δ for M ticks, and move ρ by δ towards the
    trial with the higher realised profit (ρ kept in [0, 1]); repeat."""

    step: float = 0.1
    interval: int = 6
    _phase: int = 0
    _ticks: int = 0
    _sums: list[float] = field(default_factory=lambda: [0.0, 0.0])

    def retention_share(self, utilisation: float) -> float:
        trial = self.rho + (self.step if self._phase == 0 else -self.step)
        return min(1.0, max(0.0, trial))

    def observe(self, profit: float) -> None:
        self._sums[self._phase] += profit
        self._ticks += 1
        if self._ticks < self.interval:
            return
        self._ticks = 0
        if self._phase == 0:
            self._phase = 1
            return
        up, down = self._sums
        if up != down:
            self.rho = min(1.0, max(0.0, self.rho + (self.step if up > down else -self.step)))
        self._phase, self._sums = 0, [0.0, 0.0]


def strategy_policy(params: dict) -> FixedSplit:
    """Build a firm's strategy policy from its strategy keys."""
    rho = float(params["retention_share"])
    kind = params["policy"]
    if kind == "capacity_aware":
        return CapacityAware(rho, float(params["capacity_threshold"]), float(params["capacity_shift"]))
    if kind == "adaptive":
        return Adaptive(rho, float(params["adapt_step"]), int(params["adapt_interval"]))
    return FixedSplit(rho)


@dataclass
class CapacityPolicy:
    """`fixed` keeps capacity; `expand` orders Δ·C after L consecutive ticks of utilisation
    above u_high (one order at a time); `follow` orders, every tick, whatever capacity (with
    its ordered but not yet arrived units) falls short of (1 + headroom) × the units due this
    tick. Orders arrive after the lead time and cost capex when placed."""

    kind: str  # fixed | expand | follow
    threshold: float
    patience: int
    step: float
    lead_time: int
    capex_per_unit: float
    headroom: float = 0.1
    _streak: int = 0
    _orders: list[tuple[int, float]] = field(default_factory=list)

    @property
    def expand(self) -> bool:
        return self.kind == "expand"

    def arrivals(self, tick: int) -> float:
        """Capacity that arrives at the start of `tick`."""
        due = sum(size for at, size in self._orders if at <= tick)
        self._orders = [(at, size) for at, size in self._orders if at > tick]
        return due

    def review(self, tick: int, capacity: float, utilisation: float, due: float) -> float:
        """§7.8 Review after the books are closed (`due`: units demanded plus backlog this tick);
        return the capex of any order placed."""
        if self.kind == "fixed" or not math.isfinite(capacity):
            return 0.0
        if self.kind == "follow":
            short = (1.0 + self.headroom) * due - capacity - sum(size for _, size in self._orders)
            if short <= 0:
                return 0.0
            self._orders.append((tick + 1 + self.lead_time, short))
            return self.capex_per_unit * short
        self._streak = self._streak + 1 if utilisation > self.threshold else 0
        if self._streak < self.patience or self._orders:
            return 0.0
        size = self.step * capacity
        self._orders.append((tick + 1 + self.lead_time, size))
        self._streak = 0
        return self.capex_per_unit * size


def capacity_policy(params: dict) -> CapacityPolicy:
    """Build a firm's capacity policy from its firm keys."""
    return CapacityPolicy(
        kind=str(params["capacity_policy"]),
        threshold=float(params["expand_threshold"]),
        patience=int(params["expand_patience"]),
        step=float(params["expand_step"]),
        lead_time=int(params["expand_lead_time"]),
        capex_per_unit=float(params["capex_per_unit"]),
        headroom=float(params["follow_headroom"]),
    )
