"""Every label and explanation of the dashboard, in German and English."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "title": "marktsim: keeping vs. winning customers",
        "language": "Language",
        "scenario": "Scenario",
        "market": "Market",
        "strategy": "Strategy of our firm",
        "retention_share": "Share of budget on retention (ρ)",
        "budget_share": "Marketing budget (share of revenue)",
        "capacity_factor": "Capacity (× initial demand)",
        "priority": "Who is served first when busy",
        "communicate_delays": "Tell customers about delays",
        "crm": "Customer database (CRM)",
        "targeting": "Retention targeting",
        "wom_positive": "Strength of word of mouth",
        "incentive_share": "Budget share for price incentives (ι)",
        "deal_prone_share": "Share of bargain hunters",
        "churn_contagion": "Churn contagion (leavers pull their contacts)",
        "wom_protection": "Protection by satisfied contacts",
        "switching_cost": "Switching costs",
        "contract_share_b2b": "Business customers on contracts",
        "rivals": "Rivals' strategy",
        "n_customers": "Customers",
        "seed": "Random seed",
        "share": "Market share",
        "revenue": "Revenue per month",
        "profit": "Profit per month",
        "churn_rate": "Monthly churn",
        "backlog_units": "Backlog (units waiting)",
        "satisfaction_mean": "Mean satisfaction",
        "customers_view": "Customers: colour = provider, pale = dissatisfied, black dot = waiting",
        "prospect": "no provider",
        "explanation": "What to watch for",
        "tick": "Month",
        "tab": "Market",
        "charts": "Every firm, month by month",
        "settings": "Settings in force",
        "capacity_note": "Only our firm pays for its capacity (cost per unit of capacity and month); with balanced or aggressive rivals their capacity is unlimited and free, so with the same strategy our firm earns less than they do. Choose “rivals on equal terms” to give them the same capacity rules and costs.",
        "scenario_note": "A scenario sets the controls it names (they show its values); change any control and press Reset to restart with it.",
        "yes": "yes",
        "no": "no",
        "firms": {"focal": "our firm", "rival": "rival"},
        "choices": {
            "saturated": "saturated", "growing": "growing",
            "balanced": "balanced", "retention_heavy": "retention-heavy", "acquisition_heavy": "acquisition-heavy",
            "capacity_aware": "capacity-aware", "adaptive": "adaptive",
            "fifo": "first come, first served", "existing_first": "regular customers first", "new_first": "new customers first",
            "uniform": "everyone alike", "value_weighted": "by customer value", "abc": "A/B/C customers",
            "symmetric": "balanced rivals", "aggressive": "aggressive rivals (acquisition)",
            "equal_terms": "rivals on equal terms (same capacity rules)",
        },
    },
    "de": {
        "title": "marktsim: Kunden binden oder Kunden gewinnen",
        "language": "Sprache",
        "scenario": "Szenario",
        "market": "Markt",
        "strategy": "Strategie unserer Firma",
        "retention_share": "Budgetanteil für Kundenbindung (ρ)",
        "budget_share": "Marketingbudget (Anteil am Umsatz)",
        "capacity_factor": "Kapazität (× Anfangsnachfrage)",
        "priority": "Wer bei Engpass zuerst bedient wird",
        "communicate_delays": "Verzögerungen ankündigen",
        "crm": "Kundendatenbank (CRM)",
        "targeting": "Zielgruppe der Kundenbindung",
        "wom_positive": "Stärke der Mundpropaganda",
        "incentive_share": "Budgetanteil für Preisanreize (ι)",
        "deal_prone_share": "Anteil der Schnäppchenjäger",
        "churn_contagion": "Ansteckende Abwanderung (Abwanderer ziehen Kontakte mit)",
        "wom_protection": "Schutz durch zufriedene Kontakte",
        "switching_cost": "Wechselkosten",
        "contract_share_b2b": "Geschäftskunden mit Vertrag",
        "rivals": "Strategie der Konkurrenz",
        "n_customers": "Kunden",
        "seed": "Zufallszahl (Seed)",
        "share": "Marktanteil",
        "revenue": "Umsatz pro Monat",
        "profit": "Gewinn pro Monat",
        "churn_rate": "Monatliche Abwanderung",
        "backlog_units": "Rückstand (wartende Einheiten)",
        "satisfaction_mean": "Mittlere Zufriedenheit",
        "customers_view": "Kunden: Farbe = Anbieter, blass = unzufrieden, schwarzer Punkt = wartet",
        "prospect": "ohne Anbieter",
        "explanation": "Worauf achten",
        "tick": "Monat",
        "tab": "Markt",
        "charts": "Alle Firmen, Monat für Monat",
        "settings": "Geltende Einstellungen",
        "capacity_note": "Nur unsere Firma zahlt für ihre Kapazität (Kosten je Kapazitätseinheit und Monat); bei ausgewogener oder aggressiver Konkurrenz ist deren Kapazität unbegrenzt und kostenlos, daher verdient unsere Firma mit gleicher Strategie weniger als sie. Wählen Sie „Konkurrenz zu gleichen Bedingungen“, damit für alle dieselben Kapazitätsregeln und Kosten gelten.",
        "scenario_note": "Ein Szenario stellt die Regler ein, die es betrifft (sie zeigen seine Werte); ändern Sie einen Regler und drücken Sie Zurücksetzen, um damit neu zu beginnen.",
        "yes": "ja",
        "no": "nein",
        "firms": {"focal": "unsere Firma", "rival": "Konkurrent"},
        "choices": {
            "saturated": "gesättigt", "growing": "wachsend",
            "balanced": "ausgewogen", "retention_heavy": "bindungsstark", "acquisition_heavy": "akquisestark",
            "capacity_aware": "kapazitätsbewusst", "adaptive": "lernend",
            "fifo": "wer zuerst kommt", "existing_first": "Stammkunden zuerst", "new_first": "Neukunden zuerst",
            "uniform": "alle gleich", "value_weighted": "nach Kundenwert", "abc": "A/B/C-Kunden",
            "symmetric": "ausgewogene Konkurrenz", "aggressive": "aggressive Konkurrenz (Akquise)",
            "equal_terms": "Konkurrenz zu gleichen Bedingungen (gleiche Kapazitätsregeln)",
        },
    },
}

SCENARIOS: dict[str, dict[str, Any]] = {
    "custom": {
        "controls": {},
        "overrides": [],
        "en": ("Your own settings", "Set the controls on the left, then press Reset to start the market with them."),
        "de": ("Eigene Einstellungen",
               "Stellen Sie links ein und drücken Sie dann Zurücksetzen, um den Markt damit zu starten."),
    },
    "campaign_overload": {
        "controls": {"market": "growing", "capacity_factor": 1.5},
        "overrides": ["strategy.campaign_start=6", "strategy.campaign_length=6", "strategy.campaign_boost=4"],
        "en": ("A campaign overloads capacity",
               "In months 6–11 our firm advertises four times its budget. Watch the backlog rise, satisfaction "
               "fall for old and new customers alike, and churn follow: more customers, less profit."),
        "de": ("Kampagne überlastet die Kapazität",
               "In den Monaten 6–11 wirbt unsere Firma mit dem Vierfachen ihres Budgets. Beobachten Sie, wie der "
               "Rückstand wächst, die Zufriedenheit alter und neuer Kunden sinkt und die Abwanderung folgt: mehr "
               "Kunden, weniger Gewinn."),
    },
    "saturated_market": {
        "controls": {"market": "saturated", "strategy": "acquisition_heavy"},
        "overrides": [],
        "en": ("Saturated market",
               "Every customer already has a provider: our firm can only win customers from its rivals. "
               "Compare the churn of the firms: acquisition-heavy buys share with high churn."),
        "de": ("Gesättigter Markt",
               "Jeder Kunde hat schon einen Anbieter: Unsere Firma kann nur Kunden der Konkurrenz gewinnen. "
               "Vergleichen Sie die Abwanderung: Akquisestarke Firmen kaufen Anteil mit hoher Abwanderung."),
    },
    "regulars_first": {
        "controls": {"market": "growing", "capacity_factor": 1.5, "priority": "existing_first",
                     "communicate_delays": True},
        "overrides": ["strategy.campaign_start=6", "strategy.campaign_length=6", "strategy.campaign_boost=4"],
        "en": ("Serve regular customers first",
               "The same campaign, but regular customers are served first and told about delays. Watch their "
               "satisfaction hold up while new customers wait, and compare churn with the first scenario."),
        "de": ("Stammkunden zuerst bedienen",
               "Dieselbe Kampagne, aber Stammkunden werden zuerst bedient und über Verzögerungen informiert. "
               "Ihre Zufriedenheit hält, Neukunden warten; vergleichen Sie die Abwanderung mit dem ersten Szenario."),
    },
    "a_customers": {
        "controls": {"strategy": "retention_heavy", "targeting": "abc", "crm": True},
        "overrides": ["firm.abc_weights=[5,1,0.2]"],
        "en": ("Bind A customers on purpose",
               "Retention money goes mostly to the top 20 % of customers by revenue, with personal offers (CRM). "
               "Watch revenue and churn against the uniform split of the first scenario."),
        "de": ("A-Kunden gezielt binden",
               "Das Bindungsbudget geht vor allem an die umsatzstärksten 20 % der Kunden, mit persönlichen "
               "Angeboten (CRM). Beobachten Sie Umsatz und Abwanderung im Vergleich zur gleichmäßigen Verteilung."),
    },
}


def texts(lang: str) -> dict:
    """Labels for `lang` (de or en)."""
    if lang not in TEXTS:
        raise ValueError(f"lang = {lang!r}: allowed: {', '.join(TEXTS)}")
    return TEXTS[lang]


def option(value: str) -> str:
    """The config option behind a choice shown in either language (or the option itself)."""
    for lang in TEXTS.values():
        for key, label in lang["choices"].items():
            if value == label:
                return key
    for key, scenario in SCENARIOS.items():
        if value in (scenario["en"][0], scenario["de"][0]):
            return key
    return value


# Mesa's own SolaraViz captions (English in Mesa) and their translations; see mesa_captions.py.
MESA_CAPTIONS = {
    "de": {
        "Controls": "Steuerung",
        "Play Interval (ms)": "Abspieltakt (ms)",
        "Render Interval (steps)": "Zeichnen alle (Schritte)",
        "Use Threads": "Threads verwenden",
        "Increase play interval to avoid skipping plots": "Abspieltakt erhöhen, damit keine Diagramme ausfallen",
        "Model Parameters": "Modellparameter",
        "Information": "Information",
        "Command Console": "Befehlskonsole",
        "Reset": "Zurücksetzen",
        "Step": "Schritt",
    },
}
MESA_PREFIXES = {"de": {"Step: ": "Schritt: ", "Time: ": "Zeit: "}}
# Mesa names the tabs of its component pages "Page 0", "Page 1", …: the dashboard has one
MESA_TABS = {lang: {"Page 0": TEXTS[lang]["tab"]} for lang in TEXTS}

