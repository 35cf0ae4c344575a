"""DashboardModel: a MarketModel built from the dashboard's controls, with a Mesa DataCollector."""

from __future__ import annotations

import numpy as np
from mesa import DataCollector

from marktsim.config import load_config
from marktsim.dashboard.texts import SCENARIOS, option, texts
from marktsim.engine.account import M
from marktsim.model import MarketModel

CHARTS = ("share", "revenue", "profit", "churn_rate", "backlog_units", "satisfaction_mean")


def overrides_for(scenario: str, market: str, strategy: str, retention_share: float, budget_share: float,
                  capacity_factor: float, priority: str, communicate_delays: bool, crm: bool, targeting: str,
                  wom_positive: float, rivals: str, n_customers: int, seed: int) -> list[str]:
    """Hydra overrides for the controls; a scenario's own overrides come last and win."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario = {scenario!r}: allowed: {', '.join(SCENARIOS)}")
    controls = [
        f"market={market}", f"strategy={strategy}", f"competitors={rivals}",
        f"firm.budget_share={budget_share}", f"firm.capacity_factor={capacity_factor}",
        f"firm.priority={priority}", f"firm.communicate_delays={str(bool(communicate_delays)).lower()}",
        f"firm.crm={str(bool(crm)).lower()}", f"firm.targeting={targeting}",
        f"customers.wom_positive={wom_positive}", f"market.n_customers={n_customers}", f"seed={seed}",
        "horizon=100000",
    ]
    if strategy in ("balanced", "capacity_aware", "adaptive"):
        controls.append(f"strategy.retention_share={retention_share}")
    return controls + SCENARIOS[scenario]["overrides"]


def series_name(lang: str, metric: str, firm: str) -> str:
    """Name of one chart line, e.g. 'Market share: our firm'."""
    t = texts(lang)
    who = t["firms"]["focal"] if firm == "focal" else f"{t['firms']['rival']} {firm.split('_')[1]}"
    return f"{t[metric]}: {who}"


class DashboardModel(MarketModel):
    """The market with keyword parameters (as SolaraViz's controls pass them) and a
    DataCollector with one reporter per chart line (metric × firm)."""

    def __init__(self, preset: str = "custom", lang: str = "en", market: str = "saturated",
                 strategy: str = "balanced", retention_share: float = 0.5, budget_share: float = 0.08,
                 capacity_factor: float = 1.1, priority: str = "fifo", communicate_delays: bool = False,
                 crm: bool = True, targeting: str = "uniform", wom_positive: float = 0.03, rivals: str = "symmetric",
                 n_customers: int = 2000, seed: int = 0):
        # the controls show translated choices; map them back to config options.
        # (The ready scenario is called `preset`: Mesa 3.5 reserves `scenario` for its own Scenario objects.)
        preset, market, strategy, priority, targeting, rivals = (
            option(v) for v in (preset, market, strategy, priority, targeting, rivals))
        cfg = load_config(overrides_for(preset, market, strategy, retention_share, budget_share, capacity_factor,
                                        priority, communicate_delays, crm, targeting, wom_positive, rivals,
                                        int(n_customers), int(seed)))
        super().__init__(cfg)
        self.lang = lang
        self.scenario_key = preset
        reporters = {}
        for metric in CHARTS:
            for j, firm in enumerate(self.firm_names):
                reporters[series_name(lang, metric, firm)] = (lambda m, k=M[metric], j=j: m.latest(k, j))
        self.datacollector = DataCollector(model_reporters=reporters)
        self.datacollector.collect(self)

    def latest(self, metric: int, firm: int) -> float:
        """Last tick's figure of one firm (before the first tick: the initial share, else 0)."""
        if not self._records:
            return float(self.initial_customers[firm] / self.n) if metric == M["share"] else 0.0
        value = float(self._records[-1][firm, metric])
        return value if np.isfinite(value) else 0.0

    def step(self) -> None:
        super().step()
        self.datacollector.collect(self)
