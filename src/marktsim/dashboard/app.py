"""The marktsim dashboard: a Mesa SolaraViz page, in German or English.

Run it with ``marktsim-dashboard`` (or ``solara run marktsim.dashboard.app``). Controls on the
left choose a scenario or set the market yourself; Step, Play and Reset drive the model;
the charts show every firm, the customer view shows every customer.
"""

from __future__ import annotations

import functools
import inspect
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from mesa.visualization import SolaraViz, make_plot_component  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from marktsim.dashboard import mesa_captions  # noqa: E402
from marktsim.dashboard.model import CHARTS, DashboardModel, series_name  # noqa: E402
from marktsim.dashboard.texts import SCENARIOS, texts  # noqa: E402
from marktsim.schema import flat_schema  # noqa: E402

WOM_DEFAULT = float(flat_schema()["customers.wom_positive"].default)  # the calibrated default (docs/model.md §9)

FIRM_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
MAX_FIRMS_SHOWN = 4  # the dashboard's rival sets have 3 rivals


def model_params(lang: str) -> dict:
    """SolaraViz controls with labels in `lang` (values stay the config's option names)."""
    t = texts(lang)
    c = t["choices"]

    def select(key, value, values):
        return {"type": "Select", "value": c[value], "values": [c[v] for v in values], "label": t[key]}

    scenarios = [SCENARIOS[s][lang][0] for s in SCENARIOS]
    return {
        "lang": lang,
        "preset": {"type": "Select", "value": scenarios[0], "values": scenarios, "label": t["scenario"]},
        "market": select("market", "saturated", ["saturated", "growing"]),
        "strategy": select("strategy", "balanced",
                           ["balanced", "retention_heavy", "acquisition_heavy", "capacity_aware", "adaptive"]),
        "retention_share": {"type": "SliderFloat", "value": 0.5, "min": 0.0, "max": 1.0, "step": 0.05,
                            "label": t["retention_share"]},
        "budget_share": {"type": "SliderFloat", "value": 0.08, "min": 0.0, "max": 0.3, "step": 0.01,
                         "label": t["budget_share"]},
        "capacity_factor": {"type": "SliderFloat", "value": 1.1, "min": 0.5, "max": 3.0, "step": 0.05,
                            "label": t["capacity_factor"]},
        "priority": select("priority", "fifo", ["fifo", "existing_first", "new_first"]),
        "communicate_delays": {"type": "Checkbox", "value": False, "label": t["communicate_delays"]},
        "crm": {"type": "Checkbox", "value": True, "label": t["crm"]},
        "targeting": select("targeting", "uniform", ["uniform", "value_weighted", "abc"]),
        "incentive_share": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 0.5, "step": 0.05,
                            "label": t["incentive_share"]},
        "wom_positive": {"type": "SliderFloat", "value": WOM_DEFAULT, "min": 0.0, "max": 0.2, "step": 0.001,
                         "label": t["wom_positive"]},
        "deal_prone_share": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 1.0, "step": 0.05,
                             "label": t["deal_prone_share"]},
        "churn_contagion": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 10.0, "step": 0.5,
                            "label": t["churn_contagion"]},
        "wom_protection": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 1.0, "step": 0.05,
                           "label": t["wom_protection"]},
        "switching_cost": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 1.0, "step": 0.05,
                           "label": t["switching_cost"]},
        "contract_share_b2b": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 1.0, "step": 0.05,
                               "label": t["contract_share_b2b"]},
        "rivals": select("rivals", "symmetric", ["symmetric", "aggressive", "equal_terms"]),
        "n_customers": {"type": "SliderInt", "value": 2000, "min": 100, "max": 10000, "step": 100,
                        "label": t["n_customers"]},
        "seed": {"type": "SliderInt", "value": 0, "min": 0, "max": 99, "step": 1, "label": t["seed"]},
    }


@functools.cache
def model_class(lang: str) -> type:
    """``DashboardModel`` whose defaults are the controls' starting values in `lang`, the language
    included. Mesa's Reset builds a new model from the parameters the controls have changed, and
    after a language switch (which remounts the controls) that is none: every parameter Reset
    does not pass then takes the value the page shows; the language is always the page's (Mesa
    can keep the parameters of the page before the switch: without this, Reset in German built
    an English model, and the German charts found no series)."""
    defaults = {k: (v["value"] if isinstance(v, dict) else v) for k, v in model_params(lang).items()}
    signature = inspect.signature(DashboardModel.__init__)
    accepted = set(signature.parameters) - {"self"}

    def __init__(self, **kwargs):
        given = {k: v for k, v in kwargs.items() if k in accepted}
        DashboardModel.__init__(self, **{**defaults, **given, "lang": lang})  # the page's language, always

    # Mesa reads the signature to decide what Reset passes (Mesa 3.5 adds a `scenario` to any
    # model whose __init__ takes **kwargs): show it DashboardModel's, with these defaults
    __init__.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
        p.replace(default=defaults[name]) if name in defaults else p for name, p in signature.parameters.items()])
    return type(f"DashboardModel_{lang}", (DashboardModel,), {"__init__": __init__, "__doc__": DashboardModel.__doc__})


def chart(metric: str, lang: str):
    """A line per firm for one metric, titled in `lang`."""
    lines = {series_name(lang, metric, firm): FIRM_COLOURS[j]
             for j, firm in enumerate(["focal"] + [f"rival_{k}" for k in range(1, MAX_FIRMS_SHOWN)])}

    def titled(ax):
        ax.set_title(texts(lang)[metric], fontsize=10)
        ax.legend(fontsize=7)

    return make_plot_component(lines, post_process=titled)


def customer_image(model: DashboardModel) -> Figure:
    """Every customer as a cell of a square grid: hue = provider, pale = dissatisfied, dot = waiting."""
    col = model.columns
    n = model.n
    side = int(np.ceil(np.sqrt(n)))
    rgb = np.ones((side * side, 3))
    base = np.array([matplotlib.colors.to_rgb(FIRM_COLOURS[j % len(FIRM_COLOURS)]) for j in range(model.n_firms)])
    has = col.provider >= 0
    colours = np.full((n, 3), 0.75)
    colours[has] = base[col.provider[has]]
    strength = 0.25 + 0.75 * col.satisfaction[:, None]
    rgb[:n] = 1.0 - strength * (1.0 - colours)
    fig = Figure(figsize=(4.6, 4.6))
    ax = fig.subplots()
    ax.imshow(rgb.reshape(side, side, 3), interpolation="nearest")
    waiting = np.flatnonzero(col.backlog_units() > 0)
    if waiting.size:
        ax.scatter(waiting % side, waiting // side, s=max(1.0, 600.0 / side), c="black", marker=".")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(texts(model.lang)["customers_view"], fontsize=8)
    return fig


@solara.component
def CustomerView(model):
    update_counter.get()
    solara.FigureMatplotlib(customer_image(model), format="png")


def settings_line(model: DashboardModel) -> str:
    """The settings the running market was started with, in the model's language."""
    t, c, cfg = texts(model.lang), texts(model.lang)["choices"], model.cfg
    yes_no = lambda flag: t["yes"] if flag else t["no"]  # noqa: E731
    market = "saturated" if cfg.market.saturated else "growing"
    capacity = "∞" if cfg.firm.capacity is None else f"{cfg.firm.capacity_factor:.2f}"
    parts = [
        f"{t['market']}: {c[market]}",
        f"{t['strategy']}: {c.get(cfg.strategy.name, cfg.strategy.name)} (ρ = {cfg.strategy.retention_share:.2f})",
        f"{t['capacity_factor']}: {capacity}",
        f"{t['priority']}: {c[cfg.firm.priority]}",
        f"{t['communicate_delays']}: {yes_no(cfg.firm.communicate_delays)}",
        f"{t['crm']}: {yes_no(cfg.firm.crm)}",
        f"{t['targeting']}: {c[cfg.firm.targeting]}",
        f"{t['rivals']}: {c.get(cfg.competitors.name, cfg.competitors.name)}",
    ]
    return f"**{t['settings']}:** " + " · ".join(parts)


@solara.component
def Explanation(model):
    update_counter.get()
    t = texts(model.lang)
    title, body = SCENARIOS[model.scenario_key][model.lang]
    firms = ", ".join(f"<span style='color:{FIRM_COLOURS[j]}'>■</span> "
                      f"{series_name(model.lang, 'share', f).split(': ')[1]}" for j, f in enumerate(model.firm_names))
    solara.Markdown(f"### {title}\n\n**{t['explanation']}:** {body}\n\n{firms}\n\n"
                    f"{settings_line(model)}\n\n{t['tick']}: {model.tick}")


def components(lang: str) -> list:
    return [(Explanation, 0), (CustomerView, 0)] + [chart(metric, lang) for metric in CHARTS]


language = solara.reactive(os.environ.get("MARKTSIM_LANG", "en") if os.environ.get("MARKTSIM_LANG") in ("de", "en") else "en")
mesa_captions.install(lambda: language.value)  # Mesa's own captions (Reset, Step, …) follow the switch


@solara.component
def Page():
    """The dashboard page: a language switch above Mesa's SolaraViz."""
    lang = language.value
    model = solara.use_memo(lambda: model_class(lang)(), dependencies=[lang])
    with solara.Column():
        solara.ToggleButtonsSingle(value=language, values=["de", "en"])
        SolaraViz(model, components=components(lang), model_params=model_params(lang),
                  name=texts(lang)["title"], play_interval=150).key(f"viz-{lang}")


page = Page
