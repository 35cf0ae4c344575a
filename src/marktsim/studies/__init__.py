"""The studies of experiments/: each a question, the ``marktsim`` commands that answer it, and
the findings they produce (``marktsim.studies.core``; docs/studies.md). ``STUDIES`` lists them
in the order ``marktsim-study run --all`` runs them."""

from __future__ import annotations

import importlib

NAMES = ("default_market", "retention_vs_acquisition", "strategy_game", "dilemma_map", "horizon", "incentives",
         "capacity_shock", "budget_frontier", "targeting", "word_of_mouth", "sensitivity", "strategists")


def studies() -> dict:
    """Every study by name (imported on first use)."""
    return {name: importlib.import_module(f"marktsim.studies.{name}").STUDY for name in NAMES}
