"""German captions for Mesa's own SolaraViz controls (Controls, Reset, Step, Play Interval, …),
the name of its page tab, and sliders that show their values.

SolaraViz writes these captions in English and has no option to translate them. Mesa's
module calls ``solara.Card``, ``solara.Button``, ``solara.SliderInt``, ``solara.Checkbox``,
``solara.Text`` and ``solara.v.Tab`` through its module global ``solara``; `install` replaces
that global with a thin proxy that translates exactly the captions listed in
``texts.MESA_CAPTIONS`` and ``texts.MESA_TABS`` (and the step counter's prefix) into the
dashboard's current language, asks Mesa's sliders (``SliderFloat``, ``SliderInt``) to show
their value at all times, keys every control by the page's current generation (language and
scenario: a new generation gets new widgets, so a control changed by hand before a scenario
switch cannot keep showing its old value), and passes everything else on unchanged. Nothing of Mesa is
copied or changed on disk; with an unknown Mesa version the captions merely stay English.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marktsim.dashboard.texts import MESA_CAPTIONS, MESA_PREFIXES, MESA_TABS

_WRAPPED = {"Card": "title", "Button": "label", "SliderInt": "label", "SliderFloat": "label", "Checkbox": "label",
            "Select": "label", "Text": "text"}
_SLIDERS = ("SliderInt", "SliderFloat")
_CONTROLS = ("SliderInt", "SliderFloat", "Checkbox", "Select")


def translate(text: Any, lang: str) -> Any:
    """A Mesa caption in `lang` (unknown captions and non-strings unchanged)."""
    if not isinstance(text, str) or lang not in MESA_CAPTIONS:
        return text
    if text in MESA_CAPTIONS[lang]:
        return MESA_CAPTIONS[lang][text]
    for prefix, local in MESA_PREFIXES[lang].items():
        if text.startswith(prefix):
            return local + text[len(prefix):]
    return text


class _Widgets:
    """Stands in for ``solara.v`` (ipyvuetify) inside Mesa's module: names its page tab."""

    def __init__(self, module, language: Callable[[], str]):
        self._module = module
        self._language = language

    def __getattr__(self, name: str):
        attr = getattr(self._module, name)
        if name != "Tab":
            return attr

        def tab(*args, children=None, **kwargs):
            tabs = MESA_TABS.get(self._language(), {})
            children = [tabs.get(c, c) if isinstance(c, str) else c for c in (children or [])]
            return attr(*args, children=children, **kwargs)

        return tab


class _Captions:
    """Stands in for the ``solara`` module inside ``mesa.visualization.solara_viz``."""

    def __init__(self, module, language: Callable[[], str], generation: Callable[[], str] | None = None):
        self._module = module
        self._language = language
        self._generation = generation or language

    def __getattr__(self, name: str):
        attr = getattr(self._module, name)
        if name == "v":
            return _Widgets(attr, lambda: self._language())
        if name not in _WRAPPED:
            return attr
        keyword = _WRAPPED[name]

        def wrapped(*args, **kwargs):
            lang = self._language()
            if args:
                args = (translate(args[0], lang), *args[1:])
            if keyword in kwargs:
                kwargs[keyword] = translate(kwargs[keyword], lang)
            if name in _SLIDERS:  # every slider shows its value
                kwargs.setdefault("thumb_label", "always")
            element = attr(*args, **kwargs)
            if name in _CONTROLS:
                label = args[0] if args else kwargs.get(keyword)
                element = element.key(f"{self._generation()}:{name}:{label}")
            return element

        return wrapped


def install(language: Callable[[], str], generation: Callable[[], str] | None = None) -> bool:
    """Translate Mesa's SolaraViz captions by `language()` and key its controls by
    `generation()` (default: the language); returns whether Mesa's module was found."""
    try:
        import mesa.visualization.solara_viz as viz
    except ImportError:
        return False
    module = getattr(viz, "solara", None)
    if module is None:
        return False
    if isinstance(module, _Captions):
        module._language = language
        module._generation = generation or language
        return True
    viz.solara = _Captions(module, language, generation)
    return True
