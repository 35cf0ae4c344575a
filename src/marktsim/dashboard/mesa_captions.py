"""German captions for Mesa's own SolaraViz controls (Controls, Reset, Step, Play Interval, …).

SolaraViz writes these captions in English and has no option to translate them. Mesa's
module calls ``solara.Card``, ``solara.Button``, ``solara.SliderInt``, ``solara.Checkbox``
and ``solara.Text`` through its module global ``solara``; `install` replaces that global with
a thin proxy that translates exactly the captions listed in ``texts.MESA_CAPTIONS`` (and the
step counter's prefix) into the dashboard's current language and passes everything else on
unchanged. Nothing of Mesa is copied or changed on disk; with an unknown Mesa version the
captions merely stay English.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marktsim.dashboard.texts import MESA_CAPTIONS, MESA_PREFIXES

_WRAPPED = {"Card": "title", "Button": "label", "SliderInt": "label", "Checkbox": "label", "Text": "text"}


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


class _Captions:
    """Stands in for the ``solara`` module inside ``mesa.visualization.solara_viz``."""

    def __init__(self, module, language: Callable[[], str]):
        self._module = module
        self._language = language

    def __getattr__(self, name: str):
        attr = getattr(self._module, name)
        if name not in _WRAPPED:
            return attr
        keyword = _WRAPPED[name]

        def wrapped(*args, **kwargs):
            lang = self._language()
            if args:
                args = (translate(args[0], lang), *args[1:])
            if keyword in kwargs:
                kwargs[keyword] = translate(kwargs[keyword], lang)
            return attr(*args, **kwargs)

        return wrapped


def install(language: Callable[[], str]) -> bool:
    """Translate Mesa's SolaraViz captions by `language()`; returns whether Mesa's module was found."""
    try:
        import mesa.visualization.solara_viz as viz
    except ImportError:
        return False
    module = getattr(viz, "solara", None)
    if module is None:
        return False
    if isinstance(module, _Captions):
        module._language = language
        return True
    viz.solara = _Captions(module, language)
    return True
