"""Agents: firms (ordinary Mesa agents) and customers (Mesa agents that are views on columns)."""

from __future__ import annotations

import itertools
import math
import weakref
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from marktsim.engine.state import KIND_NAMES, SEGMENT_NAMES
from marktsim.policies import capacity_policy, strategy_policy

if TYPE_CHECKING:
    from marktsim.model import MarketModel


class _UniqueIds:
    """Mesa 3.3's per-model counters of agent ids (``Agent._ids``), held by weak references.

    Mesa 3.3 keeps them in a class-level ``defaultdict`` keyed by the model itself, so every
    model that ever made an agent stays in memory for the life of the process (mesa issue
    #3179, fixed by mesa pull request #3180, which moved the counter into the model, as in Mesa
    3.5.1): about 1.3 MB per replicate at 10 000 customers, which made joblib's workers exceed
    loky's 300 MB growth limit and be replaced mid-sweep (issue 20). The same counts (1, 2, ...
    per model), forgotten with the model.
    """

    def __init__(self) -> None:
        self._counters: weakref.WeakKeyDictionary[Any, itertools.count] = weakref.WeakKeyDictionary()

    def __getitem__(self, model: Any) -> itertools.count:
        counter = self._counters.get(model)
        if counter is None:
            counter = self._counters[model] = itertools.count(1)
        return counter


if isinstance(mesa.Agent.__dict__.get("_ids"), defaultdict):  # a Mesa with the class-level counters (3.3)
    setattr(mesa.Agent, "_ids", _UniqueIds())  # noqa: B010  (an attribute only such a Mesa has)


class Firm(mesa.Agent):
    """A firm: the focal firm (index 0) or a rival. Same class, different configuration.

    It carries its own behaviour: ``plan`` splits the budget by its strategy policy (§2.1),
    ``close_books`` applies its capacity policy (§2.8) and lets the strategy policy learn
    from realised profit.
    """

    def __init__(self, model: MarketModel, index: int, name: str, params: dict, budget: float, capacity: float):
        super().__init__(model)
        self.index = index
        self.name = name
        self.params = params
        self.budget = float(budget)
        self.capacity = float(capacity)
        self.quality = float(params["quality"])
        self.margin = float(params["margin"])
        self.strategy = strategy_policy(params)
        self.capacity_rules = capacity_policy(params)
        self.acquisition_spend = 0.0
        self.retention_spend = 0.0
        self.incentive_spend = 0.0
        self.incentive_share = float(params["incentive_share"])
        self.retention_share = self.strategy.rho
        self.utilisation = math.nan

    def plan(self, tick: int) -> None:
        """§7.1 Set this tick's acquisition, retention and incentive spend from the strategy
        policy: R = ρ·B, I = ι·B, A = (1 − ρ − ι)·B (ρ at most 1 − ι)."""
        self.capacity += self.capacity_rules.arrivals(tick)
        rho = min(self.strategy.retention_share(self.utilisation), 1.0 - self.incentive_share)
        self.retention_share = rho
        self.acquisition_spend = (1.0 - rho - self.incentive_share) * self.budget
        self.retention_spend = rho * self.budget
        self.incentive_spend = self.incentive_share * self.budget
        start = self.params["campaign_start"]
        if start is not None and start <= tick < start + int(self.params["campaign_length"]):
            self.acquisition_spend += float(self.params["campaign_boost"]) * self.budget

    def close_books(self, tick: int, profit: float, utilisation: float, due: float) -> float:
        """§7.8 Remember this tick's utilisation, let the capacity policy order capacity (`due`:
        units demanded plus backlog this tick), and let the strategy policy learn from the
        profit net of that capex; return the capex."""
        self.utilisation = utilisation
        capex = self.capacity_rules.review(tick, self.capacity, utilisation, due)
        self.strategy.observe(profit - capex)
        return capex

    @property
    def customers(self) -> int:
        """Number of customers served by this firm now."""
        return int(np.count_nonzero(self.model.columns.provider == self.index))


class _Column:
    """Descriptor: a Customer attribute that reads and writes row `index` of a model column."""

    def __init__(self, column: str, cast: Any):
        self.column, self.cast = column, cast

    def __get__(self, obj: Customer | None, owner: type) -> Any:
        if obj is None:
            return self
        return self.cast(getattr(obj.model.columns, self.column)[obj.index])

    def __set__(self, obj: Customer, value: Any) -> None:
        getattr(obj.model.columns, self.column)[obj.index] = value


class Customer(mesa.Agent):
    """One customer, as a view on row ``index`` of the model's columns (§1).

    Views are created only when asked for (``model.customers``); the simulation itself works
    on the columns. Reading an attribute reads the column, writing it writes the column, so
    the next tick sees the change.
    """

    provider = _Column("provider", int)
    satisfaction = _Column("satisfaction", float)
    bond = _Column("bond", float)
    tenure = _Column("tenure", int)
    value = _Column("value", float)
    known = _Column("known", bool)
    referred = _Column("referred", bool)
    propensity = _Column("propensity", float)  # latent churn propensity z_i (docs/model.md §5)

    def __init__(self, model: MarketModel, index: int):
        super().__init__(model)
        self.index = index

    @property
    def kind(self) -> str:
        """B2B or B2C."""
        return KIND_NAMES[int(self.model.columns.b2b[self.index])]

    @property
    def segment(self) -> str:
        """A, B or C (customer controlling by expected revenue)."""
        return SEGMENT_NAMES[int(self.model.columns.segment[self.index])]

    @property
    def backlog(self) -> float:
        """Units this customer is waiting for."""
        row = self.model.columns.backlog[self.index]
        return float(row.sum()) if row.size else 0.0

    @property
    def waiting(self) -> bool:
        """True while the customer waits for units."""
        return self.backlog > 0

    @property
    def firm(self) -> str | None:
        """Name of the provider, or None for a prospect."""
        p = self.provider
        return None if p < 0 else self.model.firm_names[p]

    def step(self) -> None:
        """Customers act through the model's column kernels, not one by one."""
