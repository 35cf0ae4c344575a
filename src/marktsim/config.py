"""Configuration: loading the Hydra tree, validating it against the schema, derived values.

The schema (``marktsim.schema``: every key's type, default, unit, range and meaning, per
concern) is Hydra's structured base config; the YAML files in ``configs/`` hold what an
option changes. ``validate`` checks a composed config once and returns it read-only and
marked valid, so passing it on (to ``simulate``, ``MarketModel``) checks nothing again.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from marktsim.schema import Config, Param, flat_schema

__all__ = [
    "ConfigError",
    "Param",
    "SCHEMA",
    "CONFIG_DIR",
    "load_config",
    "validate",
    "expected_initial_demand",
    "expected_initial_revenue",
]


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


def _find_config_dir() -> Path:
    env = os.environ.get("MARKTSIM_CONFIG_DIR")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent
    for candidate in (here / "_configs", here.parents[1] / "configs"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ConfigError(f"marktsim: no config tree found next to {here} (set MARKTSIM_CONFIG_DIR)")


CONFIG_DIR = _find_config_dir()
SCHEMA: dict[str, Param] = flat_schema()
# keys that do nothing under a churn-propensity option (docs/model.md §5): a value other than the
# default is refused, so that nobody sets a key and silently gets no effect
UNUSED_WITH_PROPENSITY = {
    "beta": ("customers.churn_base", "customers.propensity_shape"),
    "gamma": ("customers.propensity_alpha", "customers.propensity_beta", "customers.period_ticks"),
    "none": ("customers.propensity_shape", "customers.propensity_alpha", "customers.propensity_beta",
             "customers.period_ticks"),
}
SCHEMA_NAME = "marktsim_schema"  # the structured base config's name in Hydra's ConfigStore


def register_schema() -> None:
    """Store the schema (``marktsim.schema.Config``) in Hydra's ConfigStore, where
    ``configs/config.yaml`` finds it as the first entry of its defaults list."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=SCHEMA_NAME, node=Config)


# --------------------------------------------------------------------------- derived values

def _monthly_units(customers: Any) -> float:
    return 1.0 + float(customers["b2b_share"]) * (int(customers["b2b_units"]) - 1)


def _initial_shares(market: Any) -> list[float]:
    shares = market.get("initial_shares")
    n_firms = int(market["n_competitors"]) + 1
    if shares is None:
        return [1.0 / n_firms] * n_firms
    return [float(s) for s in shares]


def expected_initial_demand(root: Any, firm: int) -> float:
    """Expected units per tick demanded of firm `firm` at the start (section 1)."""
    m, c = root["market"], root["customers"]
    adopted = 1.0 if m["saturated"] else float(m["adopted_share"])
    return int(m["n_customers"]) * adopted * _initial_shares(m)[firm] * _monthly_units(c)


def expected_initial_revenue(root: Any, firm: int) -> float:
    """Expected revenue per tick of firm `firm` at the start, tenure growth included."""
    c = root["customers"]
    mean_tenure = float(c["initial_tenure_mean"])
    p = 1.0 / (1.0 + mean_tenure)
    decay = math.exp(-1.0 / float(c["loyalty_growth_time"]))
    e_exp = p / (1.0 - (1.0 - p) * decay)  # E[exp(-T0/τ)] for geometric T0
    growth = 1.0 + float(c["loyalty_growth_max"]) * (1.0 - e_exp)
    return expected_initial_demand(root, firm) * float(c["value_mean"]) * growth


def _derived(what: str, *, _root_: Any) -> Any:
    """OmegaConf resolver ``${derived:budget}`` / ``${derived:capacity}`` for the focal firm."""
    firm = _root_["firm"]
    if what == "budget":
        return float(firm["budget_share"]) * expected_initial_revenue(_root_, 0)
    if what == "capacity":
        factor = firm["capacity_factor"]
        return None if factor is None else float(factor) * expected_initial_demand(_root_, 0)
    raise ConfigError(f"unknown derived value {what!r}: allowed budget, capacity")


OmegaConf.register_new_resolver("derived", _derived, replace=True)


# --------------------------------------------------------------------------- validation

def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as {dotted key: value}."""
    out: dict[str, Any] = {}
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _check(param: Param, value: Any) -> str | None:
    """Return a problem description, or None when `value` is allowed."""
    if value is None:
        if param.nullable:
            return None
        return "must not be null"
    kind = param.kind
    if kind == "bool":
        return None if isinstance(value, bool) else f"has type {type(value).__name__}"
    if kind in ("str", "choice", "label"):
        if not isinstance(value, str) or not value:
            return f"has type {type(value).__name__}"
        if kind == "label" and not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", value):
            return "is not a plain folder name"
        if kind == "choice" and value not in param.choices:
            return "is not an option"
        return None
    if kind == "factors":
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            return "is not a list of key=low:high strings"
        for spec in value:
            try:
                factor = parse_factor(spec)
            except ConfigError as exc:
                return "has entry " + str(exc).removeprefix("invalid factor ")
            if factor.levels:
                return f"has a categorical factor {spec!r}"
        if len({x.split("=", 1)[0].strip() for x in value}) != len(value):
            return "names a key twice"
        return None
    if kind == "keys":
        if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
            return "is not a list of config keys"
        return None
    if kind in ("floats3", "floats"):
        if not isinstance(value, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
            return "is not a list of numbers"
        if any((not math.isfinite(x)) or x < 0 for x in value):
            return "has a negative or non-finite entry"
        if kind == "floats3":
            if len(value) != 3:
                return f"has {len(value)} entries"
            if max(value) > WEIGHT_MAX:  # float32 weights summed over millions of customers
                return "has an entry above 1e6"
            if sum(value) <= 0:
                return "sums to 0"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"has type {type(value).__name__}"
    if kind == "int" and not isinstance(value, int):
        return "is not an integer"
    if isinstance(value, float) and math.isnan(value):
        return "is NaN"
    if param.low is not None and value < param.low:
        return "is below the allowed range"
    if param.high is not None and value > param.high:
        return "is above the allowed range"
    if kind == "float" and math.isinf(value):
        return "is infinite"
    return None


WEIGHT_MAX = 1e6  # the largest relative weight a floats3 key (A:B:C weights) accepts


def _fail(key: str, value: Any, problem: str) -> ConfigError:
    """The one line of a schema key's bad value: the key, the value, the problem, what is allowed."""
    shown = "null" if value is None else repr(value)
    return ConfigError(f"invalid config: {key} = {shown} {problem}; allowed: {SCHEMA[key].allowed()}")


ENGINES = ("auto", "numpy", "compiled")
ENGINE_ENV = "MARKTSIM_ENGINE"


def engine_setting(engine: str | None = None) -> str:
    """The engine asked for: `engine`, else the environment variable MARKTSIM_ENGINE, else
    'auto' (``marktsim.model.choose_engine`` decides what 'auto' means for a run)."""
    value = engine or os.environ.get(ENGINE_ENV) or "auto"
    if value not in ENGINES:
        source = "engine" if engine else ENGINE_ENV
        raise ConfigError(f"invalid setting: {source} = {value!r}; allowed: {', '.join(ENGINES)}")
    return value


THREADS_ENV = "MARKTSIM_THREADS"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: a SLURM or container allotment),
    at most OMP_NUM_THREADS when that is set (as Ray sets it for its workers)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(cores, int(limit))) if limit.isdigit() and int(limit) > 0 else cores


def threads_setting(threads: int | str | None = None) -> int:
    """Threads of one compiled run (docs/model.md §3): `threads`, else the environment variable
    MARKTSIM_THREADS, else 'auto' — the usable cores. Results do not depend on it. The workers
    of parallel sweeps and searches set MARKTSIM_THREADS=1 unless it is set already."""
    value = threads if threads is not None else (os.environ.get(THREADS_ENV) or "auto")
    if value == "auto":
        return usable_cores()
    text = str(value)
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        source = "threads" if threads is not None else THREADS_ENV
        raise ConfigError(f"invalid setting: {source} = {value!r}; allowed: auto or a whole number >= 1")
    return int(text)


def one_thread_in_workers() -> None:
    """In a worker process of a parallel sweep or search (a process that multiprocessing or
    loky started), MARKTSIM_THREADS=1 unless set: the jobs fill the cores already (§3)."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        os.environ.setdefault(THREADS_ENV, "1")


_VALID = "marktsim_valid"  # flag of a config that validate() returned (read-only, so it stays valid)


def plain(node: Any) -> dict[str, Any]:
    """A config node (or the whole config) as a plain dict, interpolations resolved."""
    data = OmegaConf.to_container(node, resolve=True) if isinstance(node, (DictConfig, ListConfig)) else node
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config: {type(data).__name__} given; allowed: a mapping of config keys")
    return {str(k): v for k, v in data.items()}


def plain_raw(node: Any) -> dict[str, Any]:
    """A config node as a plain dict, interpolations kept (unresolved)."""
    data = OmegaConf.to_container(node, resolve=False) if isinstance(node, (DictConfig, ListConfig)) else node
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config: {type(data).__name__} given; allowed: a mapping of config keys")
    return {str(k): v for k, v in data.items()}


def is_validated(cfg: Any) -> bool:
    """Whether `cfg` is a config ``validate`` returned and nobody has unlocked since."""
    return isinstance(cfg, DictConfig) and bool(OmegaConf.is_readonly(cfg)) and bool(cfg._get_flag(_VALID))


def unknown_key(key: str) -> ConfigError:
    """The one-line error of a key the schema does not know, with the nearest known keys."""
    section = key.rsplit(".", 1)[0] + "." if "." in key else ""
    known = [k for k in SCHEMA if k.startswith(section) and k.count(".") == key.count(".")]
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else f"known keys here: {', '.join(known)}"
    return ConfigError(f"invalid config: unknown key {key}; {hint}")


def validate(cfg: DictConfig | dict) -> DictConfig:
    """Resolve `cfg` and check it against the schema; return a resolved, read-only copy.

    Keys the config lacks take the schema's defaults. Raises ConfigError naming the full
    key, the value and what is allowed. A config this function returned (and that is still
    read-only) is returned as it is: each composition is validated once.
    """
    if is_validated(cfg):
        return cfg  # type: ignore[return-value]
    import copy

    raw = (OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, (DictConfig, ListConfig))
           else copy.deepcopy(cfg))
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid config: {type(raw).__name__} given; allowed: a mapping of config keys")
    raw.pop("hydra", None)
    flat_raw = flatten(raw)
    for key in flat_raw:
        if key not in SCHEMA:
            raise unknown_key(key)
    # check literal values first, so that a bad value is named by its own key rather than by
    # a derived key whose interpolation it breaks
    for key, value in flat_raw.items():
        if isinstance(value, str) and "${" in value:
            continue
        problem = _check(SCHEMA[key], value)
        if problem:
            raise _fail(key, value, problem)
    try:
        merged = _merge(_defaults(), raw)
        interpolated = any(isinstance(v, str) and "${" in v for v in flatten(merged).values())
        data = _resolve(merged) if interpolated else merged
    except ConfigError:
        raise
    except Exception as exc:  # an interpolation that cannot be resolved
        raise ConfigError(f"invalid config: {_first_line(exc)}") from None
    assert isinstance(data, dict)
    flat = flatten(data)
    for key, param in SCHEMA.items():
        problem = _check(param, flat[key])
        if problem:
            raise _fail(key, flat[key], problem)
    _check_consistency(flat)
    out = _kept(_OUTPUTS, flat, copy_of=True)
    OmegaConf.set_struct(out, True)
    OmegaConf.set_readonly(out, True)
    out._set_flag(_VALID, True)  # OmegaConf keeps custom flags on the node (read by is_validated)
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types (1, 1.0 and True are three values here), lists element by element."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


# Configs created once per structure (its keys, and the interpolation each holds) and reused by
# setting the values that differ: OmegaConf creates a config at about 70 µs a key (10 ms for a
# whole config, twice per validation); setting a value takes microseconds. OmegaConf resolves an
# interpolation when it is read, so a kept config with this call's values resolves as one
# created afresh from them; tests/test_config.py checks both give the same, node types included.
_RESOLVING: dict[tuple, tuple[DictConfig, dict[str, Any]]] = {}
_OUTPUTS: dict[tuple, tuple[DictConfig, dict[str, Any]]] = {}
_KEPT_MAX = 64


def _kept(kept: dict[tuple, tuple[DictConfig, dict[str, Any]]], flat: dict[str, Any], copy_of: bool) -> DictConfig:
    """A config of `flat`'s values: the one kept for its structure with the values that differ
    set (a deep copy of it when `copy_of`, for a config the caller keeps), else a new one."""
    import copy

    structure = tuple((k, v if isinstance(v, str) and "${" in v else None) for k, v in flat.items())
    entry = kept.get(structure)
    if entry is None:
        if len(kept) >= _KEPT_MAX:
            kept.clear()
        cfg = OmegaConf.create(_unflatten(flat))
        kept[structure] = (cfg, copy.deepcopy(flat))
        return copy.deepcopy(cfg) if copy_of else cfg
    cfg, held = entry
    if copy_of:  # the kept config is never changed: several threads may copy it at once
        cfg = copy.deepcopy(cfg)
    for key, value in flat.items():
        if not _same(value, held[key]):
            OmegaConf.update(cfg, key, copy.deepcopy(value), merge=False)
            if not copy_of:
                held[key] = copy.deepcopy(value)
    return cfg


def _resolve(merged: dict) -> dict:
    """`merged` with its interpolations resolved by OmegaConf (``${derived:budget}``, ``${firm.x}``, ...).
    The kept config is set and read under a lock: the dashboard validates in several threads."""
    with _RESOLVING_LOCK:
        data = OmegaConf.to_container(_kept(_RESOLVING, flatten(merged), copy_of=False), resolve=True)
    assert isinstance(data, dict)
    return data


_RESOLVING_LOCK = threading.Lock()


def config_yaml(cfg: DictConfig) -> str:
    """A validated config as the text of a job's config.yaml: ``OmegaConf.to_yaml``'s text,
    written by libyaml's emitter where PyYAML has it (about half the time of PyYAML's own;
    tests/test_config.py checks the two texts are the same)."""
    import yaml

    data = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    return yaml.dump(data, default_flow_style=False, allow_unicode=True, sort_keys=False, Dumper=_yaml_dumper())


def _yaml_dumper() -> Any:
    """OmegaConf's YAML dumper (its quoting of strings that read as booleans or numbers) on libyaml."""
    import yaml
    from omegaconf._utils import OmegaConfDumper, get_omega_conf_dumper

    if not getattr(yaml, "__with_libyaml__", False):
        return get_omega_conf_dumper()
    global _DUMPER
    if _DUMPER is None:
        _DUMPER = type("OmegaConfCDumper", (yaml.CDumper,), {})
        _DUMPER.add_representer(str, OmegaConfDumper.str_representer)
    return _DUMPER


_DUMPER: Any = None


def check_change(flat: dict[str, Any], key: str, value: Any) -> None:
    """Check ``key = value`` in a config that is otherwise the validated, flattened `flat`: the
    key's own type and range, then the checks across keys. The quick check of every value of a
    long sweep (``validate`` composes and resolves, about 10 ms a value); interpolated keys keep
    the values they have in `flat`. Raises ConfigError like ``validate``."""
    if key not in SCHEMA:
        raise unknown_key(key)
    problem = _check(SCHEMA[key], value)
    if problem:
        raise _fail(key, value, problem)
    _check_consistency({**flat, key: value})


def _defaults() -> dict:
    """The schema's defaults as a nested dict (a fresh copy)."""
    import copy

    global _DEFAULTS
    if _DEFAULTS is None:
        _DEFAULTS = _unflatten({key: param.default for key, param in SCHEMA.items()})
    return copy.deepcopy(_DEFAULTS)


_DEFAULTS: dict | None = None


def _merge(base: dict, update: dict) -> dict:
    """`update` merged into `base` (in place), key by key."""
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v
    return base


def omegaconf_error(exc: BaseException, override: str | None = None) -> ConfigError:
    """OmegaConf's (or Hydra's) error about one key as the project's one line: key, value,
    problem and what is allowed."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    cause = exc.__cause__ if exc.__cause__ is not None else exc
    key = getattr(cause, "full_key", None)
    text = _first_line(exc)
    if override is None:  # Hydra's text of a value it cannot merge: "Error merging override key=value"
        match = re.search(r"override (.+)$", text)
        override = match.group(1) if match else None
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and key:
        return unknown_key(str(key))
    name = re.sub(r"(\[\d+\])+$", "", str(key or ""))  # a list's element is checked as its list
    if name in SCHEMA:
        value = override.split("=", 1)[1] if override and "=" in override else None
        problem = "is not an integer" if SCHEMA[name].kind == "int" else f"has the wrong type ({_first_line(cause)})"
        shown = "?" if value is None else value
        return ConfigError(f"invalid config: {name} = {shown} {problem}; allowed: {SCHEMA[name].allowed()}")
    return ConfigError(f"invalid config: {text}")


OVERRIDE_SYNTAX = "key=value, +key=value, ~key or group=option (Hydra's override syntax)"


def unreadable_override(overrides: Sequence[str], exc: BaseException) -> ConfigError:
    """The one line for overrides Hydra cannot parse: the first one that fails on its own."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for override in overrides:
        try:
            parser.parse_overrides([override])
        except Exception as own:  # noqa: BLE001 - Hydra's parser raises several kinds
            return ConfigError(f"invalid config: override {override!r} cannot be read ({_first_line(own)}); "
                               f"allowed: {OVERRIDE_SYNTAX}")
    return ConfigError(f"invalid config: overrides cannot be read ({_first_line(exc)}); allowed: {OVERRIDE_SYNTAX}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _check_consistency(flat: dict[str, Any]) -> None:
    n_firms = flat["market.n_competitors"] + 1
    shares = flat["market.initial_shares"]
    if shares is not None:
        if len(shares) != n_firms:
            raise ConfigError(
                f"invalid config: market.initial_shares = {shares} has {len(shares)} entries; "
                f"allowed: one per firm (market.n_competitors + 1 = {n_firms})"
            )
        if abs(sum(shares) - 1.0) > 1e-9:
            raise ConfigError(
                f"invalid config: market.initial_shares = {shares} sums to {sum(shares):.6g}; allowed: shares summing to 1"
            )
    kind = flat["customers.propensity"]
    for key in UNUSED_WITH_PROPENSITY[kind]:
        if flat[key] != SCHEMA[key].default:
            raise ConfigError(
                f"invalid config: {key} = {flat[key]} is not used with customers.propensity = {kind!r} "
                f"(docs/model.md §5); allowed: its default {SCHEMA[key].default}, or a customers.propensity that uses it"
                + (" (none or gamma)" if key == "customers.churn_base" else ""))
    if flat["market.saturated"] and flat["market.adopted_share"] != 1.0:
        raise ConfigError(
            f"invalid config: market.adopted_share = {flat['market.adopted_share']} with market.saturated = true; "
            "allowed: 1.0 in a saturated market (every customer has a provider)"
        )
    if flat["customers.detractor_threshold"] >= flat["customers.promoter_threshold"]:
        raise ConfigError(
            f"invalid config: customers.detractor_threshold = {flat['customers.detractor_threshold']} must be below "
            f"customers.promoter_threshold = {flat['customers.promoter_threshold']}"
        )
    method = flat["sensitivity.method"]
    if method is not None and flat["design.file"] is not None:
        raise ConfigError(
            f"invalid config: design.file = {flat['design.file']!r} with sensitivity.method = {method!r}; "
            "allowed: one design per sweep (set design.file=null or sensitivity.method=null)"
        )
    if method is None and (flat["design.file"] is None) != (flat["design.chunk"] is None):
        raise ConfigError(
            f"invalid config: design.file = {flat['design.file']!r} with design.chunk = {flat['design.chunk']!r}; "
            "allowed: both set (a design and the chunk this job runs) or both null"
        )
    if method is not None:
        if not flat["sensitivity.factors"]:
            raise ConfigError(f"invalid config: sensitivity.factors = [] with sensitivity.method = {method!r}; "
                              "allowed: at least one key=low:high")
        varied = [spec.split("=", 1)[0].strip() for spec in flat["sensitivity.factors"]]
        stray = [k for k in flat["sensitivity.hold"] if k not in varied]
        if stray:
            raise ConfigError(f"invalid config: sensitivity.hold = {flat['sensitivity.hold']} names {stray[0]!r}, which "
                              f"is not a factor; allowed: keys of sensitivity.factors ({', '.join(varied)})")
        if not set(varied) - set(flat["sensitivity.hold"]):
            raise ConfigError(f"invalid config: sensitivity.factors = {flat['sensitivity.factors']} with "
                              f"sensitivity.method = {method!r} and every factor held; allowed: at least one key=low:high "
                              "not in sensitivity.hold")
        chunks = flat["sensitivity.chunks"]
        if flat["design.chunk"] is None or flat["design.chunk"] >= chunks:
            raise ConfigError(
                f"invalid config: design.chunk = {flat['design.chunk']!r} with sensitivity.method = {method!r}; "
                f"allowed: an integer in [0, {chunks - 1}] (sensitivity.chunks = {chunks}): sweep "
                f"'design.chunk=range(0,{chunks})'"
            )
        if method == "morris" and flat["sensitivity.levels"] % 2:
            raise ConfigError(f"invalid config: sensitivity.levels = {flat['sensitivity.levels']} is odd; "
                              "allowed: an even integer in [2, 100]")
        n = flat["sensitivity.samples"]
        if method == "sobol" and n & (n - 1):
            raise ConfigError(f"invalid config: sensitivity.samples = {n} is not a power of two; "
                              "allowed: 2, 4, …, 1048576 (e.g. 256)")
    if flat["market.network"] == "small_world" and flat["market.network_degree"] % 2:
        raise ConfigError(
            f"invalid config: market.network_degree = {flat['market.network_degree']} is odd; allowed: an even integer in [0, 1000]"
        )


# --------------------------------------------------------------------------- factors

@dataclass(frozen=True)
class Factor:
    """One varied parameter: a numeric range or a list of levels."""

    key: str
    low: float | None = None
    high: float | None = None
    levels: tuple[str, ...] = ()

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high) of a numeric factor."""
        if self.low is None or self.high is None:
            raise ConfigError(f"invalid factor {self.key}: levels {', '.join(self.levels)} given; allowed: low:high")
        return self.low, self.high

    @property
    def integer(self) -> bool:
        return SCHEMA[self.key].kind == "int"


def parse_factor(spec: str) -> Factor:
    """``key=low:high`` or ``key=a,b,c``, checked against the config schema."""
    if "=" not in spec:
        raise ConfigError(f"invalid factor {spec!r}: expected key=low:high or key=a,b,c")
    key, values = spec.split("=", 1)
    key = key.strip()
    if key not in SCHEMA:
        raise ConfigError(f"invalid factor {spec!r}: unknown key {key}")
    param = SCHEMA[key]
    if ":" in values:
        if param.kind not in ("int", "float"):
            raise ConfigError(f"invalid factor {spec!r}: {key} is not numeric; allowed: {param.allowed()}")
        try:
            low, high = (float(v) for v in values.split(":"))
        except ValueError:
            raise ConfigError(f"invalid factor {spec!r}: low:high must be two numbers") from None
        if not low < high:
            raise ConfigError(f"invalid factor {spec!r}: low must be below high")
        for bound in (low, high):
            if (param.low is not None and bound < param.low) or (param.high is not None and bound > param.high):
                raise ConfigError(f"invalid factor {spec!r}: {key} = {bound:g} is out of range; allowed: {param.allowed()}")
        return Factor(key, low, high)
    levels = tuple(v.strip() for v in values.split(",") if v.strip())
    if len(levels) < 2:
        raise ConfigError(f"invalid factor {spec!r}: give a range low:high or at least two levels a,b")
    if param.kind == "choice":
        bad = [v for v in levels if v not in param.choices]
        if bad:
            raise ConfigError(f"invalid factor {spec!r}: {key} = {bad[0]!r} is not an option; allowed: {param.allowed()}")
    elif param.kind == "bool":
        if any(v not in ("true", "false") for v in levels):
            raise ConfigError(f"invalid factor {spec!r}: {key} takes true,false")
    return Factor(key, levels=levels)


# --------------------------------------------------------------------------- loading

@contextmanager
def composer(config_dir: str | Path | None = None) -> Iterator[Callable[..., DictConfig]]:
    """Hydra initialised on marktsim's config tree (and `config_dir`, a folder of the user's
    own config groups, e.g. ``experiment/myfirm.yaml``): yields ``compose(overrides,
    hydra_node=False)``, which composes one config, unresolved and unvalidated, and turns
    Hydra's and OmegaConf's errors into the project's one line. The one place marktsim
    composes; composing many configs in one ``with`` block initialises Hydra once."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    register_schema()
    search: list[str] = []
    if config_dir is not None:
        folder = Path(config_dir).resolve()
        if not folder.is_dir():
            raise ConfigError(f"invalid config: config dir {str(config_dir)!r} is not a folder; allowed: a folder of "
                              "config groups (e.g. experiment/myfirm.yaml)")
        search = [f"hydra.searchpath=[file://{folder}]"]

    def compose_one(overrides: Sequence[str] = (), hydra_node: bool = False) -> DictConfig:
        overrides = [overrides] if isinstance(overrides, str) else list(overrides)
        try:
            return compose(config_name="config", overrides=search + overrides, return_hydra_config=hydra_node)
        except OverrideParseException as exc:
            raise unreadable_override(overrides, exc) from None
        except (HydraException, OmegaConfBaseException) as exc:
            raise omegaconf_error(exc) from None

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            yield compose_one
    finally:
        if GlobalHydra.instance().is_initialized():
            GlobalHydra.instance().clear()


def compose_config(overrides: Sequence[str] = (), config_dir: str | Path | None = None,
                   hydra_node: bool = False) -> DictConfig:
    """Compose the Hydra config tree with overrides, unresolved and unvalidated (derived values
    such as the budget follow later changes); see ``composer``."""
    with composer(config_dir) as compose:
        return compose(overrides, hydra_node)


def load_config(overrides: Sequence[str] = (), config_dir: str | Path | None = None) -> DictConfig:
    """Compose the Hydra config tree in ``configs/`` with Hydra overrides and validate it.

    Example: ``load_config(["market=growing", "firm.capacity=900", "seed=3"])``.
    """
    return validate(compose_config(overrides, config_dir))


# --------------------------------------------------------------------------- job keys

_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=,._-+")


def job_key(override_dirname: str | None) -> str:
    """A job's folder name from its own overrides: readable, stable and collision-free.

    Characters outside a safe set are replaced and a hash of the full override string is
    appended whenever anything was replaced or shortened, so two different jobs never share
    a folder. No overrides gives ``default``.
    """
    import hashlib

    text = override_dirname or ""
    if not text:
        return "default"
    safe = "".join(ch if ch in _SAFE else "_" for ch in text)
    if safe != text or len(safe) > 200 or safe.startswith("."):
        digest = hashlib.sha1(text.encode()).hexdigest()[:10]
        safe = f"{safe.lstrip('.')[:180]}~{digest}"
    return safe


OmegaConf.register_new_resolver("job_key", job_key, replace=True)


# --------------------------------------------------------------------------- documentation

def show_value(value: Any) -> str:
    """A default as shown in docs/model.md's parameter table."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return str(value)


def parameter_table() -> str:
    """The parameter table of docs/model.md (config key, symbol, meaning, unit, default, range),
    from the schema; `python -m marktsim.config` prints it."""
    lines = [
        "| key | symbol | meaning | unit | default | allowed |",
        "|---|---|---|---|---|---|",
    ]
    for key, param in SCHEMA.items():
        lines.append(f"| `{key}` | {param.symbol} | {param.meaning} | {param.unit} | `{show_value(param.default)}` | "
                     f"{param.allowed()} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(parameter_table())
