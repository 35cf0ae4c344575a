"""The optimiser's answer: one sentence a manager can act on, and the warnings that go with it.

The recommendation is the best option *validated on fresh replicates* among the search's best
setting and the stock strategies, with the churn ceiling applied to those fresh runs; numbers
are rounded to what their intervals support; the sentence compares it with the runner-up by
a paired difference. Warnings: too few trials for the parameters searched, a best setting at
the edge of its search range, no option within the churn ceiling, and a stock strategy that
did better than the search's best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from marktsim.analysis.stats import localise, mean_ci

TRIALS_PER_PARAMETER = 10  # fewer trials than this per searched parameter: a warning
EDGE = 0.02  # a best value within 2 % of its range's width from a bound: at the edge

WORDS = {
    "en": {
        "spend": "Spend about {budget} a month, {rho} % of it on retention{strategy}: NPV {npv}, annual churn {churn} %",
        "better": " — {diff} [{low}; {high}] more than {other} (paired difference on the same fresh runs).",
        "tie": " — not distinguishable from {other} (paired difference {diff} [{low}; {high}]): either will do.",
        "alone": ".",
        "stock": " (the stock strategy {name})",
        "optimum": "the search's best setting",
        "few_trials": "Only {trials} trials for {k} searched parameter(s): the search may have missed the best "
                      "region; run at least {needed} (--trials {needed}).",
        "edge": "The best {key} = {value} lies at the edge of its search range [{low}, {high}]: the optimum may lie "
                "outside it; widen the range.",
        "infeasible": "No option keeps mean annual churn at or below {ceiling} % on the fresh runs; the "
                      "recommendation breaks the ceiling.",
        "stock_won": "The search's best setting did not do better than the stock strategy {name} on the fresh runs; "
                     "the stock strategy is recommended.",
    },
    "de": {
        "spend": "Geben Sie etwa {budget} im Monat aus, davon {rho} % für Kundenbindung{strategy}: Kapitalwert {npv}, "
                 "jährliche Abwanderung {churn} %",
        "better": " — {diff} [{low}; {high}] mehr als {other} (gepaarte Differenz auf denselben neuen Läufen).",
        "tie": " — nicht unterscheidbar von {other} (gepaarte Differenz {diff} [{low}; {high}]): beides geht.",
        "alone": ".",
        "stock": " (die Standardstrategie {name})",
        "optimum": "die beste Einstellung der Suche",
        "few_trials": "Nur {trials} Versuche für {k} gesuchte(n) Parameter: Die Suche kann den besten Bereich "
                      "verfehlt haben; führen Sie mindestens {needed} aus (--trials {needed}).",
        "edge": "Der beste Wert {key} = {value} liegt am Rand seines Suchbereichs [{low}, {high}]: Das Optimum kann "
                "außerhalb liegen; erweitern Sie den Bereich.",
        "infeasible": "Keine Option hält die mittlere jährliche Abwanderung auf den neuen Läufen bei höchstens "
                      "{ceiling} %; die Empfehlung verletzt die Obergrenze.",
        "stock_won": "Die beste Einstellung der Suche war auf den neuen Läufen nicht besser als die Standardstrategie "
                     "{name}; empfohlen wird die Standardstrategie.",
    },
}


@dataclass
class Answer:
    """The recommendation: which option, the sentence and the warnings (in one language)."""

    choice: str  # "optimum" or a stock strategy's label in the comparison
    sentence: str
    warnings: list[str] = field(default_factory=list)


def rounded(mean: float, low: float, high: float, lang: str = "en") -> tuple[str, str, str]:
    """Mean and bounds rounded to what the interval supports: to the decimal place of the
    interval's half-width's leading digit (an interval of ± 3 400 gives thousands, one of
    ± 0.012 gives hundredths)."""
    half = (high - low) / 2
    if not (math.isfinite(half) and half > 0):
        places = 0 if abs(mean) >= 100 else 3
    else:
        places = -math.floor(math.log10(half))
    scale = 10.0 ** places

    def show(value: float) -> str:
        value = round(value * scale) / scale
        text = f"{value:,.{max(places, 0)}f}"
        return localise(text, lang)

    return show(mean), show(low), show(high)


def _significant(value: float, digits: int = 2) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, -int(math.floor(math.log10(abs(value)))) + digits - 1)


def recommend(comparison: pd.DataFrame, churn_max: float | None) -> tuple[str, bool]:
    """The label of the option with the highest fresh-run NPV among those within the churn
    ceiling (all options if none is), and whether it is within the ceiling."""
    feasible = comparison if churn_max is None else comparison[comparison.churn_annual <= churn_max]
    pool = feasible if not feasible.empty else comparison
    return str(pool.loc[pool.npv.idxmax(), "setting"]), not feasible.empty


def edges(best: dict[str, object], ranges: dict[str, tuple[float, float]]) -> list[tuple[str, float, float, float]]:
    """The searched numeric values of `best` within EDGE of a bound of their range."""
    out = []
    for key, (low, high) in ranges.items():
        value = best.get(key)
        if high > low and isinstance(value, float):
            if min(value - low, high - value) <= EDGE * (high - low):
                out.append((key, value, low, high))
    return out


def answer(comparison: pd.DataFrame, runs: dict[str, pd.DataFrame], churn_max: float | None,
           ranges: dict[str, tuple[float, float]], best: dict[str, object], trials: int, lang: str = "en") -> Answer:
    """The recommendation from the fresh-run comparison (`comparison`: one row per option, with
    npv, churn_annual, spend_month and rho; `runs`: each option's fresh runs by replicate)."""
    words = WORDS[lang]
    choice, feasible = recommend(comparison, churn_max)
    row = comparison.set_index("setting").loc[choice]
    npv = rounded(row.npv, row.npv_ci_low, row.npv_ci_high, lang)
    churn = rounded(100 * row.churn_annual, 100 * row.churn_ci_low, 100 * row.churn_ci_high, lang)
    budget = localise(f"{_significant(float(row.spend_month)):,.0f}", lang)
    strategy = "" if choice == "optimum" else words["stock"].format(name=choice)
    sentence = words["spend"].format(budget=budget, rho=f"{5 * round(20 * float(row.rho)):.0f}", strategy=strategy,
                                     npv=f"{npv[0]} [{npv[1]}; {npv[2]}]", churn=churn[0])
    others = comparison[(comparison.setting != choice) & (
        True if churn_max is None else comparison.churn_annual <= churn_max)]
    if others.empty:
        sentence += words["alone"]
    else:
        other = str(others.loc[others.npv.idxmax(), "setting"])
        a, b = runs[choice].set_index("replicate").npv, runs[other].set_index("replicate").npv
        mean, low, high, _ = mean_ci((a - b).dropna())
        diff = rounded(mean, low, high, lang)
        name = words["optimum"] if other == "optimum" else other
        key = "better" if low > 0 else "tie"
        sentence += words[key].format(diff=diff[0], low=diff[1], high=diff[2], other=name)
    warnings = []
    searched = [k for k, (lo, hi) in ranges.items() if hi > lo] + [k for k in best if k not in ranges]
    needed = TRIALS_PER_PARAMETER * max(len(searched), 1)
    if trials < needed:
        warnings.append(words["few_trials"].format(trials=trials, k=len(searched), needed=needed))
    for key, value, low, high in edges(best, ranges):
        warnings.append(words["edge"].format(key=key, value=localise(f"{value:.3g}", lang),
                                             low=localise(f"{low:g}", lang), high=localise(f"{high:g}", lang)))
    if not feasible and churn_max is not None:
        warnings.append(words["infeasible"].format(ceiling=localise(f"{100 * churn_max:g}", lang)))
    if choice != "optimum":
        warnings.append(words["stock_won"].format(name=choice))
    return Answer(choice, sentence, warnings)


def spend_per_month(summary: pd.DataFrame, horizon: int) -> float:
    """The focal firm's marketing spend (acquisition, retention, incentives) per month of a run."""
    focal = summary[summary.firm == "focal"].iloc[0]
    return float((focal.acquisition_spend + focal.retention_spend + focal.incentive_spend) / horizon)
