"""The marktsim dashboard: a Mesa SolaraViz page, in German or English.

Run it with ``marktsim-dashboard`` (or ``solara run marktsim.dashboard.app``). Above the page
a language and a scenario are chosen; a scenario sets the controls it names, which then show
its values. Controls on the left set the market; Step, Play and Reset drive the model; the
charts show every firm from month 1, the customer view shows every customer.
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from marktsim.analysis.stats import fmt_number  # noqa: E402
from marktsim.dashboard import mesa_captions  # noqa: E402
from marktsim.dashboard.model import CHARTS, DashboardModel, scenario_controls, series_name  # noqa: E402
from marktsim.engine.account import M  # noqa: E402
from marktsim.dashboard.texts import SCENARIOS, texts  # noqa: E402

FIRM_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
MAX_FIRMS_SHOWN = 4  # the dashboard's rival sets have 3 rivals
# how the charts become images: 72 dpi, and the fastest zlib level (the page is served locally; the
# default level costs a fifth of a chart's drawing time)
PNG: dict[str, Any] = {"dpi": 72, "pil_kwargs": {"compress_level": 1}}


def model_params(lang: str, scenario: str = "custom", values: dict | None = None) -> dict:
    """SolaraViz controls with labels in `lang`, starting at the values of `scenario`, or at
    `values` (a running market's controls) where given (choices are shown translated and mapped
    back to the config's option names by the model)."""
    t = texts(lang)
    c = t["choices"]
    start = {**scenario_controls(scenario), **(values or {})}

    def select(key, values):
        return {"type": "Select", "value": c[start[key]], "values": [c[v] for v in values], "label": t[key]}

    def slider(key, low, high, step, kind="SliderFloat"):
        return {"type": kind, "value": start[key], "min": low, "max": high, "step": step, "label": t[key]}

    def checkbox(key):
        return {"type": "Checkbox", "value": start[key], "label": t[key]}

    return {
        "lang": lang,
        "preset": scenario,
        "market": select("market", ["saturated", "growing"]),
        "strategy": select("strategy", ["balanced", "retention_heavy", "acquisition_heavy", "capacity_aware", "adaptive"]),
        "retention_share": slider("retention_share", 0.0, 1.0, 0.05),
        "budget_share": slider("budget_share", 0.0, 0.3, 0.01),
        "capacity_factor": slider("capacity_factor", 0.5, 3.0, 0.05),
        "priority": select("priority", ["fifo", "existing_first", "new_first"]),
        "communicate_delays": checkbox("communicate_delays"),
        "crm": checkbox("crm"),
        "targeting": select("targeting", ["uniform", "value_weighted", "abc"]),
        "incentive_share": slider("incentive_share", 0.0, 0.5, 0.05),
        "wom_positive": slider("wom_positive", 0.0, 0.2, 0.001),
        "deal_prone_share": slider("deal_prone_share", 0.0, 1.0, 0.05),
        "churn_contagion": slider("churn_contagion", 0.0, 10.0, 0.5),
        "wom_protection": slider("wom_protection", 0.0, 1.0, 0.05),
        "switching_cost": slider("switching_cost", 0.0, 1.0, 0.05),
        "contract_share_b2b": slider("contract_share_b2b", 0.0, 1.0, 0.05),
        "rivals": select("rivals", ["symmetric", "aggressive", "equal_terms"]),
        "n_customers": slider("n_customers", 100, 10000, 100, "SliderInt"),
        "seed": slider("seed", 0, 99, 1, "SliderInt"),
    }


@functools.cache
def model_class(lang: str, scenario: str = "custom", values: tuple = ()) -> type:
    """``DashboardModel`` whose defaults are the controls' starting values in `lang` for
    `scenario` (or `values`, a running market's controls as sorted pairs), the language and the
    scenario included. Mesa's Reset builds a new model from the parameters the controls have
    changed, and after a language or scenario switch (which remounts the controls) that is none:
    every parameter Reset does not pass then takes the value the page shows; the language and
    the scenario are always the page's (Mesa can keep the parameters of the page before the
    switch: without this, Reset in German built an English model, and the German charts found
    no series)."""
    defaults = {k: (v["value"] if isinstance(v, dict) else v)
                for k, v in model_params(lang, scenario, dict(values)).items()}
    signature = inspect.signature(DashboardModel.__init__)
    accepted = set(signature.parameters) - {"self"}

    def __init__(self, **kwargs):
        given = {k: v for k, v in kwargs.items() if k in accepted}
        DashboardModel.__init__(self, **{**defaults, **given, "lang": lang, "preset": scenario})  # the page's

    # Mesa reads the signature to decide what Reset passes (Mesa 3.5 adds a `scenario` to any
    # model whose __init__ takes **kwargs): show it DashboardModel's, with these defaults
    __init__.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
        p.replace(default=defaults[name]) if name in defaults else p for name, p in signature.parameters.items()])
    return type(f"DashboardModel_{lang}_{scenario}", (DashboardModel,),
                {"__init__": __init__, "__doc__": DashboardModel.__doc__})


def relabel(model: DashboardModel, lang: str) -> None:
    """Switch a running market to `lang` and keep it: the same customers, month and history,
    charts and texts drawn anew in `lang`, and Reset (which builds ``model.__class__``) starting
    a market in `lang` at the values in force."""
    if model.lang == lang:
        return
    model.set_language(lang)
    model.__dict__.pop("_dashboard_figures", None)  # titles and legends are drawn in the new language
    model.__class__ = model_class(lang, model.scenario_key, tuple(sorted(model.controls.items())))


def _figures(model: DashboardModel) -> dict:
    """The model's figures, kept between steps: a step updates their data and redraws them
    instead of building them anew (a third of the drawing time)."""
    return model.__dict__.setdefault("_dashboard_figures", {})


def chart_figure(model: DashboardModel, metric: str) -> Figure:
    """One chart: a line per firm for `metric`, from month 1 (month t is the tick that has just
    run; before it every figure but the share was a placeholder), months on the x axis, titled
    in the model's language; the legend on the market-share chart only."""
    records = np.asarray(model._records) if model._records else np.zeros((0, model.n_firms, len(M)))
    months = np.arange(1, records.shape[0] + 1)
    figures = _figures(model)
    if metric not in figures:
        t = texts(model.lang)
        fig = Figure(figsize=(5.2, 3.6))  # a fixed layout: a constrained or tight one doubles the drawing time
        ax = fig.subplots()
        fig.subplots_adjust(left=0.14, right=0.97, top=0.9, bottom=0.15)
        for j in range(min(model.n_firms, MAX_FIRMS_SHOWN)):
            ax.plot([], [], color=FIRM_COLOURS[j], lw=1.4,
                    label=series_name(model.lang, metric, model.firm_names[j]).split(": ")[1])
        ax.set_title(t[metric], fontsize=10, y=1.0)  # a fixed position: placing it automatically is slow
        ax.set_xlabel(t["tick"], fontsize=9)
        ax.tick_params(labelsize=8)
        ax.locator_params(nbins=4)  # few ticks: tick labels are most of the drawing time (160 → 116 ms a step)
        if metric == CHARTS[0]:
            ax.legend(fontsize=7, loc="upper left")
        figures[metric] = fig
    fig = figures[metric]
    ax = fig.axes[0]
    for j, line in enumerate(ax.lines):
        line.set_data(months, records[:, j, M[metric]])
    ax.relim()
    ax.autoscale_view()
    ax.set_xlim(1, max(12, records.shape[0]))
    return fig


def chart(metric: str):
    """The page component of one chart."""

    @solara.component
    def Chart(model):
        counter = update_counter.get()
        # the figure object is kept between steps: the dependencies say when to draw it again
        solara.FigureMatplotlib(chart_figure(model, metric), dependencies=[id(model), model.tick, counter],
                                format="png", **PNG)

    return Chart


def step_and_draw(model: DashboardModel) -> list[bytes]:
    """One step of the page as the server does it: the model's step, then the six charts (72 dpi)
    and the customer view drawn to PNG (benchmarks/run.py times it; the browser's part is not
    in it)."""
    import io

    model.step()
    images = []
    for fig, dpi in [(chart_figure(model, metric), PNG["dpi"]) for metric in CHARTS] + [(customer_image(model), 100)]:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs=PNG["pil_kwargs"])
        images.append(buffer.getvalue())
    return images


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
    waiting = np.flatnonzero(col.backlog_units() > 0)
    figures = _figures(model)
    if "customers" not in figures:
        fig = Figure(figsize=(4.6, 4.6))
        ax = fig.subplots()
        ax.imshow(rgb.reshape(side, side, 3), interpolation="nearest")
        ax.scatter([], [], s=max(1.0, 600.0 / side), c="black", marker=".")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(texts(model.lang)["customers_view"], fontsize=8)
        figures["customers"] = fig
    fig = figures["customers"]
    ax = fig.axes[0]
    ax.images[0].set_data(rgb.reshape(side, side, 3))
    ax.collections[0].set_offsets(np.column_stack([waiting % side, waiting // side]))
    return fig


@solara.component
def CustomerView(model):
    counter = update_counter.get()
    solara.FigureMatplotlib(customer_image(model), dependencies=[id(model), model.tick, counter], format="png",
                            pil_kwargs=PNG["pil_kwargs"])


def _number(value: float, lang: str, digits: int = 2) -> str:
    return fmt_number(value, f",.{digits}f", lang)


def settings_line(model: DashboardModel) -> str:
    """Every setting the running market was started with (the values in force), in the
    model's language."""
    t, c, cfg, lang = texts(model.lang), texts(model.lang)["choices"], model.cfg, model.lang
    yes_no = lambda flag: t["yes"] if flag else t["no"]  # noqa: E731
    market = "saturated" if cfg.market.saturated else "growing"
    capacity = "∞" if cfg.firm.capacity is None else _number(cfg.firm.capacity_factor, lang)
    parts = [
        f"{t['market']}: {c[market]}",
        f"{t['strategy']}: {c.get(cfg.strategy.name, cfg.strategy.name)} (ρ = {_number(cfg.strategy.retention_share, lang)})",
        f"{t['budget_share']}: {_number(cfg.firm.budget_share, lang)}",
        f"{t['incentive_share']}: {_number(cfg.strategy.incentive_share, lang)}",
        f"{t['capacity_factor']}: {capacity}",
        f"{t['priority']}: {c[cfg.firm.priority]}",
        f"{t['communicate_delays']}: {yes_no(cfg.firm.communicate_delays)}",
        f"{t['crm']}: {yes_no(cfg.firm.crm)}",
        f"{t['targeting']}: {c[cfg.firm.targeting]}",
        f"{t['wom_positive']}: {_number(cfg.customers.wom_positive, lang, 3)}",
        f"{t['deal_prone_share']}: {_number(cfg.customers.deal_prone_share, lang)}",
        f"{t['churn_contagion']}: {_number(cfg.customers.churn_contagion, lang, 1)}",
        f"{t['wom_protection']}: {_number(cfg.customers.wom_protection, lang)}",
        f"{t['switching_cost']}: {_number(cfg.customers.switching_cost, lang)}",
        f"{t['contract_share_b2b']}: {_number(cfg.customers.contract_share_b2b, lang)}",
        f"{t['rivals']}: {c.get(cfg.competitors.name, cfg.competitors.name)}",
        f"{t['n_customers']}: {_number(model.n, lang, 0)}",
        f"{t['seed']}: {cfg.seed}",
    ]
    return f"**{t['settings']}:** " + " · ".join(parts)


@solara.component
def Explanation(model):
    update_counter.get()
    t = texts(model.lang)
    title, body = SCENARIOS[model.scenario_key][model.lang]
    firms = ", ".join(f"<span style='color:{FIRM_COLOURS[j]}'>■</span> "
                      f"{series_name(model.lang, 'share', f).split(': ')[1]}" for j, f in enumerate(model.firm_names))
    capacity = "" if model.cfg.competitors.get("capacity_factor") is not None else f"\n\n*{t['capacity_note']}*"
    with solara.Column(style={"height": "100%", "overflow-y": "auto"}):  # long text scrolls inside its cell
        solara.Markdown(f"### {title}\n\n{t['tick']}: {model.tick}\n\n**{t['explanation']}:** {body}\n\n{firms}\n\n"
                        f"{settings_line(model)}{capacity}")


CHART_COMPONENTS = {metric: chart(metric) for metric in CHARTS}  # made once: the same component every render


def components() -> list:
    """The page's components (all on Mesa's first page, the tab "Market")."""
    return [(Explanation, 0), (CustomerView, 0)] + [(CHART_COMPONENTS[metric], 0) for metric in CHARTS]


language = solara.reactive(os.environ.get("MARKTSIM_LANG", "en") if os.environ.get("MARKTSIM_LANG") in ("de", "en") else "en")
scenario = solara.reactive("custom")
# Mesa's own captions (Reset, Step, …) follow the language; its controls are new for each language and scenario
mesa_captions.install(lambda: language.value, lambda: f"{language.value}-{scenario.value}")


@solara.component
def Page():
    """The dashboard page: a language switch and the scenario above Mesa's SolaraViz. A new
    scenario starts a new market, its controls at the scenario's values; a new language keeps
    the running market (month, history, the values in force) and shows it and its controls in
    that language. Mesa's Reset replaces the market in `market`, which the page owns."""
    lang, chosen = language.value, scenario.value
    fresh = solara.use_memo(lambda: model_class(lang, chosen)(), dependencies=[chosen])
    market = solara.use_reactive(fresh)  # follows a new scenario; SolaraViz's Reset sets it
    relabel(market.value, lang)
    titles = {SCENARIOS[k][lang][0]: k for k in SCENARIOS}
    with solara.Column():
        with solara.Row():
            solara.ToggleButtonsSingle(value=language, values=["de", "en"])
            solara.Select(label=texts(lang)["scenario"], value=SCENARIOS[chosen][lang][0], values=list(titles),
                          on_value=lambda title: scenario.set(titles[title]))
        solara.Markdown(f"*{texts(lang)['scenario_note']}*")
        SolaraViz(market, components=components(), model_params=model_params(lang, chosen, market.value.controls),
                  name=texts(lang)["title"], play_interval=150).key(f"viz-{lang}-{chosen}")


page = Page
