"""Composing a sweep's job configs once per shape instead of once per job (issue 18's start-up cost).

Hydra composes every job of a sweep from scratch, twice (once to check the batch, once to run
it): about 0.1 s each, more than a small job's simulation. Jobs of a sweep mostly differ only in
plain values (``seed=3``, ``strategy.retention_share=0.4``). Hydra's composition applies such
value overrides last, one after another, onto the config the config groups and the other
overrides made (``ConfigLoaderImpl._apply_overrides_to_config``). So a job whose overrides
have the *shape* of an earlier job's (the same config-group choices and other overrides, the
same value keys, in the same order) is that job's composed config with its own values set
the same way Hydra sets them, and its task overrides and ``override_dirname`` written as
Hydra writes them.

`load_sweep_config` does exactly that for the overrides it can (a plain ``key=value`` on a key
that is not a config group, the value a number, string, boolean or null) and hands every
other job to Hydra; `install` puts it in place of Hydra's method (in the main process and in
joblib's workers, which import this module with the task function). tests/test_cli.py checks
that every job config of a sweep equals Hydra's own composition.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf, open_dict

_HYDRA = ConfigLoaderImpl.load_sweep_config  # Hydra's own composition
_SHAPES: dict[tuple, DictConfig] = {}  # shape -> a composed job config of that shape (this process)
_PARSED: dict[str, Override] = {}
_LIMIT = 256  # shapes kept (a sweep has few: one per combination of config-group choices)
_PLAIN = (int, float, str, bool, type(None))


def _parse(text: str) -> Override:
    if text not in _PARSED:
        (_PARSED[text],) = OverridesParser.create().parse_overrides([text])
    return _PARSED[text]


def _is_value(override: Override, groups: Any) -> bool:
    """A plain value for a key that is not a config group: Hydra applies it last, by itself."""
    return (not override.is_hydra_override() and override.package is None and not override.is_sweep_override()
            and not (override.is_delete() or override.is_add() or override.is_force_add())
            and override.key_or_group not in groups and isinstance(override.value(), _PLAIN))


def load_sweep_config(self: ConfigLoaderImpl, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
    """Hydra's ``load_sweep_config``, from a config of the same shape where there is one."""
    parsed = [_parse(text) for text in sweep_overrides]
    groups = master_config.hydra.runtime.choices
    values = [o for o in parsed if _is_value(o, groups)]
    keys = [o.key_or_group for o in values]
    others = tuple(text for text, o in zip(sweep_overrides, parsed) if not _is_value(o, groups))
    if len(set(keys)) < len(keys) or any(k.split("=")[0].lstrip("+~").startswith(tuple(keys)) for k in others):
        return _HYDRA(self, master_config, sweep_overrides)  # a key set twice, or touched by another override
    shape = (str(master_config.hydra.job.config_name), tuple(str(o) for o in master_config.hydra.overrides.hydra),
             others, tuple(keys), os.getcwd())
    if shape not in _SHAPES:
        cfg = _HYDRA(self, master_config, sweep_overrides)
        if len(_SHAPES) < _LIMIT:
            _SHAPES[shape] = copy.deepcopy(cfg)
        return cfg
    cfg = copy.deepcopy(_SHAPES[shape])
    for override in values:  # as ConfigLoaderImpl._apply_overrides_to_config sets a plain value
        OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
    job = cfg.hydra.job.config.override_dirname
    with open_dict(cfg.hydra):
        cfg.hydra.overrides.task = [o.input_line for o in parsed if not o.is_hydra_override()]
        cfg.hydra.job.override_dirname = get_overrides_dirname(
            overrides=[o for o in parsed if not o.is_hydra_override()], kv_sep=job.kv_sep, item_sep=job.item_sep,
            exclude_keys=job.exclude_keys)
    OmegaConf.copy_cache(from_config=master_config, to_config=cfg)
    return cfg


def install() -> None:
    """Compose sweep jobs through `load_sweep_config` (idempotent)."""
    ConfigLoaderImpl.load_sweep_config = load_sweep_config  # type: ignore[method-assign]
