"""simulate(): run a validated configuration for a number of spawned replicates."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from omegaconf import DictConfig

from marktsim.config import load_config, plain, validate
from marktsim.model import MarketModel, prepare_engine
from marktsim.results import Results, replicate_ids, segments_table, summary_table, timeseries_table


def run_replicate(cfg: DictConfig, replicate: int, on_tick: Callable[[], None] | None = None) -> Results:
    """Run one replicate of a validated config and return its tables."""
    model = MarketModel(cfg, replicate=replicate)
    while model.running:
        model.step()
        if on_tick is not None:
            on_tick()
    records = model.records()
    names = model.firm_names
    return Results(
        timeseries_table(records, replicate, names),
        segments_table(model.segment_records(), replicate, names),
        summary_table(records, model.initial_customers, model.monthly_discount, replicate, names),
    )


def simulate(
    cfg: DictConfig | dict | None = None,
    replicates: int | Iterable[int] = 1,
    on_tick: Callable[[], None] | None = None,
) -> Results:
    """Run `cfg` (default: ``load_config()``) for `replicates` replicates.

    Replicate r uses the r-th child of ``SeedSequence(cfg.seed)``, so it is the same whether
    run alone (``replicates=[r]``) or in a batch (``replicates=5``).
    """
    cfg = load_config() if cfg is None else validate(cfg)
    ids = replicate_ids(replicates)
    prepare_engine(cfg, len(ids))
    parts = [run_replicate(cfg, r, on_tick) for r in ids]
    return Results.concat(parts, plain(cfg))
