"""DashboardModel: a MarketModel built from the dashboard's controls, with a Mesa DataCollector."""

from __future__ import annotations

import numpy as np
from mesa import DataCollector

from marktsim.config import load_config
from marktsim.dashboard.texts import SCENARIOS, option, texts
from marktsim.engine.account import M
from marktsim.model import MarketModel
from marktsim.schema import flat_schema

# the word-of-mouth control starts at the calibrated default (docs/model.md §9)
WOM_DEFAULT = float(flat_schema()["customers.wom_positive"].default)
CHARTS = ("share", "revenue", "profit", "churn_rate", "backlog_units", "satisfaction_mean")


# each control (a keyword of DashboardModel) and the config key it sets; the groups come first
GROUPS = {"market": "market", "strategy": "strategy", "rivals": "competitors"}
KEYS = {
    "budget_share": "firm.budget_share", "capacity_factor": "firm.capacity_factor", "priority": "firm.priority",
    "communicate_delays": "firm.communicate_delays", "crm": "firm.crm", "targeting": "firm.targeting",
    "incentive_share": "strategy.incentive_share", "wom_positive": "customers.wom_positive",
    "deal_prone_share": "customers.deal_prone_share", "churn_contagion": "customers.churn_contagion",
    "wom_protection": "customers.wom_protection", "switching_cost": "customers.switching_cost",
    "contract_share_b2b": "customers.contract_share_b2b", "n_customers": "market.n_customers", "seed": "seed",
}


def scenario_controls(scenario: str) -> dict[str, object]:
    """The controls' values (config options, not translated) a scenario starts with: the
    defaults of DashboardModel's keywords (the "custom" scenario), changed where the scenario
    says."""
    import inspect

    if scenario not in SCENARIOS:
        raise ValueError(f"scenario = {scenario!r}: allowed: {', '.join(SCENARIOS)}")
    base = {name: p.default for name, p in inspect.signature(DashboardModel.__init__).parameters.items()
            if name not in ("self", "preset", "lang")}
    return {**base, **SCENARIOS[scenario]["controls"]}


def _value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def overrides_for(scenario: str, controls: dict) -> list[str]:
    """Hydra overrides for a scenario and the controls (keywords of DashboardModel): the
    scenario's settings that have no control (a campaign, A/B/C weights) and every control's
    value, which the scenario set to start with (`scenario_controls`) and the user may change."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario = {scenario!r}: allowed: {', '.join(SCENARIOS)}")
    out = [f"{group}={controls[name]}" for name, group in GROUPS.items()]
    out += [f"{key}={_value(controls[name])}" for name, key in KEYS.items()]
    out.append("horizon=100000")
    if controls["strategy"] in ("balanced", "capacity_aware", "adaptive"):
        out.append(f"strategy.retention_share={controls['retention_share']}")
    return out + SCENARIOS[scenario]["overrides"]  # keys without a control: no conflict


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
                 crm: bool = True, targeting: str = "uniform", incentive_share: float = 0.0,
                 wom_positive: float = WOM_DEFAULT, deal_prone_share: float = 0.0, churn_contagion: float = 0.0,
                 wom_protection: float = 0.0, switching_cost: float = 0.0, contract_share_b2b: float = 0.0,
                 rivals: str = "symmetric", n_customers: int = 2000, seed: int = 0):
        # the controls show translated choices; map them back to config options.
        # (The ready scenario is called `preset`: Mesa 3.5 reserves `scenario` for its own Scenario objects.)
        controls = {k: v for k, v in locals().items() if k not in ("self", "preset", "lang", "__class__")}
        for name in ("market", "strategy", "priority", "targeting", "rivals"):
            controls[name] = option(controls[name])
        controls["n_customers"], controls["seed"] = int(n_customers), int(seed)
        controls["incentive_share"] = min(float(incentive_share), 1.0 - float(retention_share))
        cfg = load_config(overrides_for(option(preset), controls))
        preset = option(preset)
        super().__init__(cfg)
        self.lang = lang
        self.scenario_key = preset
        self.controls = controls  # the values in force (config options, not translated)
        reporters = {}
        for metric in CHARTS:
            for j, firm in enumerate(self.firm_names):
                reporters[series_name(lang, metric, firm)] = (lambda m, k=M[metric], j=j: m.latest(k, j))
        self.datacollector = DataCollector(model_reporters=reporters)
        self.datacollector.collect(self)

    def set_language(self, lang: str) -> None:
        """Show the running market in `lang`: its chart series are renamed, their history kept."""
        texts(lang)  # an unknown language is refused before anything changes
        renamed = {series_name(self.lang, metric, firm): series_name(lang, metric, firm)
                   for metric in CHARTS for firm in self.firm_names}
        collector = self.datacollector
        collector.model_reporters = {renamed.get(k, k): v for k, v in collector.model_reporters.items()}
        collector.model_vars = {renamed.get(k, k): v for k, v in collector.model_vars.items()}
        self.lang = lang

    def latest(self, metric: int, firm: int) -> float:
        """Last tick's figure of one firm (before the first tick: the initial share, else 0)."""
        if not self._records:
            return float(self.initial_customers[firm] / self.n) if metric == M["share"] else 0.0
        value = float(self._records[-1][firm, metric])
        return value if np.isfinite(value) else 0.0

    def step(self) -> None:
        super().step()
        self.datacollector.collect(self)
