"""The engine: customer state as numpy columns and one pure kernel per mechanism of MODEL.md §2.

Each kernel is a small function over whole arrays, named for its mechanism: ``serve``,
``experience``, ``retain``, ``word_of_mouth``, ``switch`` and ``account``. The model
(``marktsim.model``) owns the columns and calls the kernels in the order of section 2.
``marktsim.engine.compiled`` computes the same tick, bit for bit, with numba in a few passes
over blocks of customers; it is imported only where it is used (it imports numba).
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
