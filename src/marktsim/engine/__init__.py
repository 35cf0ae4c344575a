"""The engine: customer state as numpy columns, the formulas of docs/model.md §7, and two ways
to run a tick over them.

``rules`` holds every formula once, as plain functions of scalars or arrays. The numpy kernels
(``serve``, ``experience``, ``retain``, ``word_of_mouth``, ``switch``, ``account``) apply them to
whole columns, one call per mechanism, and ``vectorised.NumpyEngine`` runs them in the order
of §3; ``compiled.CompiledEngine`` (numba) inlines the same formulas into a few passes over
blocks of customers and gives the same bits. ``compiled`` is imported only where it is used
(it imports numba).
"""

from marktsim.engine.account import account
from marktsim.engine.experience import experience
from marktsim.engine.network import Network, small_world
from marktsim.engine.retain import retain, retention_allocation
from marktsim.engine.serve import serve
from marktsim.engine.state import Columns, initial_columns
from marktsim.engine.switch import acquisition_pressure, switch
from marktsim.engine.word_of_mouth import word_of_mouth

__all__ = [
    "Columns",
    "Network",
    "account",
    "acquisition_pressure",
    "experience",
    "initial_columns",
    "retain",
    "retention_allocation",
    "serve",
    "small_world",
    "switch",
    "word_of_mouth",
]
