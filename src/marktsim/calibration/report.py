"""The calibration's figure (observed points, fitted line and band, held-out periods marked) and
its report in English and German."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from marktsim.analysis.stats import markdown_table
from marktsim.experiments import store

if TYPE_CHECKING:
    from pathlib import Path

    from marktsim.calibration.run import Calibration, Plan

TEXT = {
    "en": {
        "title": "Calibration", "data": "Data", "scenario": "Scenario", "defaults": "the defaults",
        "method": ("Simulation-based maximum likelihood with common random numbers: Optuna TPE ({trials} candidates), "
                   "then Nelder–Mead ({refine} evaluations at most); {reps} simulated replicate(s) of N = {n} per "
                   "candidate, {evals} simulated candidates in all. Intervals: {intervals}; the band is the 95 % "
                   "range of {bands} simulated {what}, each with parameters drawn from the interval approximation."),
        "cohort_what": "cohorts of the data's size", "series_what": "runs",
        "laplace": "95 % Laplace approximation (Hessian of the negative log-likelihood at the estimate)",
        "params": "Fitted values", "key": "key", "estimate": "estimate", "ci": "95 % interval",
        "fit": "Observed and fitted", "period": "period", "tick": "tick", "observed": "observed",
        "fitted": "fitted", "band": "95 % band", "used": "used for the fit", "yes": "yes", "no": "no (held out)",
        "forecast": ("Forecast test: over the {k} held-out {unit} the fitted model is off by {mape:.2f} % on average "
                     "(mean absolute percentage error; {fit_mape:.2f} % over the fitted ones)."),
        "sbg": ("The shifted-beta-geometric model (Fader & Hardie 2007) fitted to the same periods (α = {a:.3f}, "
                "β = {b:.3f}) is off by {mape:.2f} % over the held-out periods."),
        "edge": "Warning: the estimate of {keys} lies at the edge of its range: widen --fit.",
        "use": ("Use the calibrated market: `marktsim --config-dir {out} experiment=calibrated` or "
                "`marktsim-optimize --config-dir {out} experiment=calibrated --study <folder>`."),
        "figure": "Observed (points), fitted (line) and 95 % band; held-out periods are shaded.",
        "survivors": "customers still with the firm", "periods": "periods", "ticks": "ticks",
    },
    "de": {
        "title": "Kalibrierung", "data": "Daten", "scenario": "Szenario", "defaults": "die Standardwerte",
        "method": ("Simulationsbasierte Maximum-Likelihood-Schätzung mit gemeinsamen Zufallszahlen: Optuna TPE "
                   "({trials} Kandidaten), danach Nelder–Mead (höchstens {refine} Auswertungen); {reps} simulierte "
                   "Replikation(en) mit N = {n} je Kandidat, insgesamt {evals} simulierte Kandidaten. Intervalle: "
                   "{intervals}; das Band ist der 95-%-Bereich von {bands} simulierten {what}, jeweils mit Parametern "
                   "aus der Intervall-Näherung."),
        "cohort_what": "Kohorten in der Größe der Daten", "series_what": "Läufen",
        "laplace": "95-%-Laplace-Näherung (Hesse-Matrix der negativen Log-Likelihood am Schätzwert)",
        "params": "Geschätzte Werte", "key": "Schlüssel", "estimate": "Schätzwert", "ci": "95-%-Intervall",
        "fit": "Beobachtet und angepasst", "period": "Periode", "tick": "Monat", "observed": "beobachtet",
        "fitted": "angepasst", "band": "95-%-Band", "used": "für die Schätzung genutzt", "yes": "ja",
        "no": "nein (zurückgehalten)",
        "forecast": ("Prognosetest: In den {k} zurückgehaltenen {unit} liegt das angepasste Modell im Mittel um "
                     "{mape:.2f} % daneben (mittlerer absoluter prozentualer Fehler; {fit_mape:.2f} % in den "
                     "angepassten)."),
        "sbg": ("Das Shifted-Beta-Geometric-Modell (Fader & Hardie 2007), an dieselben Perioden angepasst "
                "(α = {a:.3f}, β = {b:.3f}), liegt in den zurückgehaltenen Perioden um {mape:.2f} % daneben."),
        "edge": "Warnung: Der Schätzwert von {keys} liegt am Rand seines Bereichs: --fit erweitern.",
        "use": ("Den kalibrierten Markt nutzen: `marktsim --config-dir {out} experiment=calibrated` oder "
                "`marktsim-optimize --config-dir {out} experiment=calibrated --study <Ordner>`."),
        "figure": "Beobachtet (Punkte), angepasst (Linie) und 95-%-Band; zurückgehaltene Perioden sind schattiert.",
        "survivors": "Kunden noch bei der Firma", "periods": "Perioden", "ticks": "Monate",
    },
}


def _number(value: float, lang: str) -> str:
    text = f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return text.replace(",", "\u202f") if lang == "de" else text


def _decimal(text: str, lang: str) -> str:
    return text.replace(".", ",") if lang == "de" else text


def report(plan: Plan, result: Calibration) -> str:
    """report.md: the English section, then the German one."""
    return "\n".join(_section(plan, result, lang) for lang in ("en", "de"))


def _section(plan: Plan, result: Calibration, lang: str) -> str:
    from marktsim.calibration.data import Survival
    from marktsim.config import validate

    t = TEXT[lang]
    s, summary = plan.settings, result.summary
    survival = isinstance(plan.data, Survival)
    fmt = lambda v: _decimal(_number(float(v), lang), lang) if lang == "de" else _number(float(v), lang)  # noqa: E731
    params = [{t["key"]: f"`{r.key}`", t["estimate"]: fmt(r.estimate), t["ci"]: f"[{fmt(r.low)}, {fmt(r.high)}]"}
              for r in result.parameters.itertuples()]
    rows = [{t["period" if survival else "tick"]: int(r.period), t["observed"]: fmt(r.observed),
             t["fitted"]: fmt(r.fitted), t["band"]: f"[{fmt(r.low)}, {fmt(r.high)}]" if np.isfinite(r.low) else "",
             t["used"]: t["yes"] if r.used_for_fit else t["no"]} for r in result.fit.itertuples()]
    import pandas as pd

    intervals = t["laplace"] if summary.get("intervals") == "laplace" else summary.get("intervals", "")
    lines = [
        f"# {t['title']} ({'English' if lang == 'en' else 'Deutsch'})", "",
        f"{t['data']}: `{s['data']}`. {t['scenario']}: `{' '.join(s['overrides']) or t['defaults']}`.", "",
        t["method"].format(trials=s["trials"], refine=s["refine"], reps=s["replicates"],
                           n=fmt(int(validate(plan.raw).market.n_customers)), evals=summary.get("evaluations", 0),
                           intervals=intervals, bands=s["bands"], what=t["cohort_what" if survival else "series_what"]),
        "", f"## {t['params']}", "", markdown_table(pd.DataFrame(params)), "",
    ]
    if summary.get("at_edge"):
        lines += [t["edge"].format(keys=", ".join(summary["at_edge"])), ""]
    lines += [f"## {t['fit']}", "", markdown_table(pd.DataFrame(rows)), ""]
    held = int((~result.fit.used_for_fit).sum())
    if "forecast_mape" in summary:
        unit = t["periods" if survival else "ticks"]
        lines += [t["forecast"].format(k=held, unit=unit, mape=summary["forecast_mape"],
                                       fit_mape=summary["fit_mape"]), ""]
        if "sbg_forecast_mape" in summary:
            lines += [t["sbg"].format(a=summary["sbg"]["alpha"], b=summary["sbg"]["beta"],
                                      mape=summary["sbg_forecast_mape"]), ""]
    lines += ["![fit](fit.png)", "", f"*{t['figure']}*", "", t["use"].format(out=result.out or "<out>"), ""]
    return "\n".join(lines)


def figure(plan: Plan, result: Calibration, path: Path) -> None:
    """fit.png: observed points, the fitted line with its 95 % band, held-out periods shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from marktsim.calibration.data import Survival

    fit = result.fit
    survival = isinstance(plan.data, Survival)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if fit.low.notna().any():
        ax.fill_between(fit.period, fit.low, fit.high, color="tab:blue", alpha=0.2, label="95 % band")
    ax.plot(fit.period, fit.fitted, color="tab:blue", label="fitted (marktsim)")
    if survival and "sbg" in result.summary:
        ax.plot(fit.period, result.summary["sbg"]["fitted"], color="tab:gray", ls="--", lw=1,
                label="shifted-beta-geometric, same periods")
    held = ~fit.used_for_fit.to_numpy(dtype=bool)
    ax.scatter(fit.period[~held], fit.observed[~held], color="black", s=18, zorder=3, label="observed (fitted)")
    if held.any():
        ax.scatter(fit.period[held], fit.observed[held], facecolors="white", edgecolors="black", s=22, zorder=3,
                   label="observed (held out)")
        first = fit.period[held].min()
        ax.axvspan(first - 0.5 if survival else first, fit.period.max() + (0.5 if survival else 0), color="0.9",
                   zorder=0)
    ax.set_xlabel("period" if survival else "tick (month)")
    ax.set_ylabel("customers still with the firm" if survival else plan.data.column)  # type: ignore[union-attr]
    ax.set_title(f"marktsim-calibrate: {', '.join(result.parameters.key)}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    store.atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
