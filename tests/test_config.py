"""The config tree composes, validates, and rejects every kind of bad input by name."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional  # noqa: F401  (read as text by schema.flat_schema, as in schema.py)

import pytest
from omegaconf import OmegaConf

from marktsim.config import CONFIG_DIR, SCHEMA, ConfigError, expected_initial_demand, load_config, validate

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_compose_and_follow_model_section_3():
    cfg = load_config()
    assert cfg.market.n_customers == 10_000 and cfg.market.n_competitors == 3 and cfg.horizon == 120
    assert cfg.market.saturated is True and cfg.strategy.retention_share == 0.5
    # focal capacity 1.1 x initial demand: N/4 customers x (0.9 x 1 + 0.1 x 5) units
    assert cfg.firm.capacity == pytest.approx(1.1 * 2500 * 1.4)
    assert cfg.customers.churn_base == 0.005 and cfg.customers.bond_protection == 0.8


def test_every_config_key_has_a_schema_entry_and_back():
    flat = OmegaConf.to_container(load_config())
    keys = set()

    def walk(node, prefix=""):
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                keys.add(f"{prefix}{k}")

    walk(flat)
    assert keys == set(SCHEMA)


@pytest.mark.parametrize("group", ["market", "strategy", "competitors"])
def test_every_group_option_composes(group):
    for path in sorted((CONFIG_DIR / group).glob("*.yaml")):
        load_config([f"{group}={path.stem}"])


def test_named_overrides_reach_the_config():
    cfg = load_config(["market=growing", "firm.capacity=900", "seed=3"])
    assert cfg.market.saturated is False and cfg.market.adopted_share == 0.2
    assert cfg.firm.capacity == 900 and cfg.seed == 3
    assert load_config(["firm.capacity=null"]).firm.capacity is None


def test_market_options_that_set_customer_keys_take_effect():
    """market=b2b and market=commoditised describe the customers too: their keys win over the
    customer defaults."""
    b2b = load_config(["market=b2b"])
    assert b2b.customers.b2b_share == 0.6 and b2b.market.saturated
    commoditised = load_config(["market=commoditised"])
    assert commoditised.customers.satisfaction_protection == 0.2 and commoditised.customers.bond_protection == 0.3
    assert load_config(["market=b2b", "customers.b2b_share=0.3"]).customers.b2b_share == 0.3  # overrides still win


def test_same_as_focal_competitors_copy_the_focal_strategy():
    cfg = load_config(["competitors=same_as_focal", "strategy=retention_heavy"])
    assert cfg.competitors.retention_share == 0.8


@pytest.mark.parametrize(
    "override, key, fragment",
    [
        ("market.n_customers=0", "market.n_customers", "allowed: an integer in [1, 10000000]"),
        ("customers.bond_decay=1.5", "customers.bond_decay", "allowed: a number in [0, 1]"),
        ("market.n_competitors=21", "market.n_competitors", "[0, 20]"),
        ("strategy.retention_share=-0.1", "strategy.retention_share", "[0, 1]"),
        # keys with a lower bound only
        ("firm.budget=-5", "firm.budget", "[0, inf]"),
        ("firm.onboarding_cost=-1", "firm.onboarding_cost", "[0, inf]"),
        ("competitors.capex_per_unit=-200", "competitors.capex_per_unit", "[0, inf]"),
        ("firm.capacity=-3", "firm.capacity", "[0, inf]"),
        ("customers.value_mean=0", "customers.value_mean", "[1e-09, inf]"),
        ("market.acquisition_scale=-2", "market.acquisition_scale", "[1e-09, inf]"),
        ("strategy.campaign_length=-1", "strategy.campaign_length", "[0, inf]"),
        # a whole-number float is an integer, range-checked like one
        ("horizon=0.0", "horizon", "[1, 100000]"),
        ("seed=-1.0", "seed", "[0, 9223372036854775807]"),
        ("replicates=0.0", "replicates", "[1, 1000000]"),
        ("market.n_customers=-5.0", "market.n_customers", "[1, 10000000]"),
    ],
)
def test_out_of_range_values_name_key_value_and_range(override, key, fragment):
    with pytest.raises(ConfigError) as err:
        load_config([override])
    msg = str(err.value)
    assert key in msg and override.split("=")[1] in msg and fragment in msg


@pytest.mark.parametrize(
    "override, key",
    [
        ("market.saturated=maybe", "market.saturated"),
        ("market.n_customers=abc", "market.n_customers"),
        ("horizon=2.5", "horizon"),
        ("firm.priority=fastest", "firm.priority"),
        ("firm.abc_weights=[1,2]", "firm.abc_weights"),
    ],
)
def test_wrong_types_name_the_key(override, key):
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_config([override])


def test_unknown_keys_fail():
    with pytest.raises(ConfigError, match="firm.foo"):
        load_config(["firm.foo=1"])
    with pytest.raises(ConfigError, match="unknown key market.size"):
        validate({**OmegaConf.to_container(load_config()), "market": {**OmegaConf.to_container(load_config().market), "size": 3}})


def test_unknown_group_option_fails():
    with pytest.raises(ConfigError, match="strategy/nonsense"):
        load_config(["strategy=nonsense"])


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (["market.initial_shares=[0.5,0.3,0.1,0.05]"], "sums to"),
        (["market.initial_shares=[0.5,0.5]"], "one per firm"),
        (["market.adopted_share=0.5"], "saturated"),
        (["customers.detractor_threshold=0.9"], "must be below"),
        (["market.network_degree=5"], "odd"),
    ],
)
def test_inconsistent_values_fail(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(overrides)


def test_validated_config_is_read_only():
    cfg = load_config()
    from omegaconf.errors import ReadonlyConfigError

    with pytest.raises(ReadonlyConfigError):
        cfg.seed = 4


def test_a_validated_config_is_strict_and_validated_once():
    """validate() returns a read-only config in struct mode (a key the schema lacks is an error
    when read, not None), flagged as validated: validating it again returns it as it is, and a
    copy someone unlocked is validated afresh."""
    from omegaconf.errors import ConfigAttributeError

    cfg = load_config(["horizon=7"])
    with pytest.raises(ConfigAttributeError):
        cfg.market.n_custmers  # noqa: B018  (reading a misspelt key)
    assert OmegaConf.is_struct(cfg) and validate(cfg) is cfg
    unlocked = cfg.copy()
    OmegaConf.set_readonly(unlocked, False)
    again = validate(unlocked)
    assert again is not unlocked and OmegaConf.to_yaml(again) == OmegaConf.to_yaml(cfg)
    assert validate(again) is again


def test_validate_drops_the_hydra_node_of_a_composition_that_has_one():
    """A config composed with Hydra's own node (what ``compose(return_hydra_config=True)`` and the
    command line's precheck see) validates to the config without it; compose_config leaves the
    node out unless asked."""
    from marktsim.config import compose_config, plain_raw

    with_node = compose_config(["horizon=7"], hydra_node=True)
    without = compose_config(["horizon=7"])
    assert "hydra" in with_node and "hydra" not in without  # the precondition, and the default
    assert OmegaConf.to_yaml(validate(with_node)) == OmegaConf.to_yaml(validate(without))
    raw = plain_raw(with_node)
    assert OmegaConf.to_yaml(validate(raw)) == OmegaConf.to_yaml(validate(without)) and "hydra" in raw


@pytest.mark.parametrize("given, key", [
    ({"firm": {"budget": "${derived:budget}", "capacity_factor": "big"}}, "firm.capacity_factor"),
    ({"firm": {"budget": "${derived:budget}"}, "market": {"n_customers": "many"}}, "market.n_customers"),
    ({"market": {"n_customers": "many"}}, "market.n_customers"),
])
def test_a_bad_value_is_named_by_its_own_key_not_by_the_interpolation_it_breaks(given, key):
    """validate() checks the values given as they are before it resolves the interpolations (the
    derived budget and capacity read ``market.n_customers`` and ``firm.capacity_factor``): a value
    of the wrong type is named by its own key wherever an interpolation stands before it."""
    with pytest.raises(ConfigError) as err:
        validate(given)
    assert str(err.value).startswith(f"invalid config: {key} = ") and "has type str" in str(err.value)


def test_a_bad_value_an_interpolation_gives_is_named_by_the_key_that_holds_it():
    """Values that interpolations give are checked once resolved, named by the key that holds the
    interpolation: ``firm.quality`` set to ``${market.acquisition_scale}`` (2.0 by default)
    leaves the quality's range [0, 1]."""
    assert SCHEMA["market.acquisition_scale"].default == 2.0 and SCHEMA["firm.quality"].high == 1
    with pytest.raises(ConfigError) as err:
        validate({"firm": {"quality": "${market.acquisition_scale}"}})
    assert str(err.value) == ("invalid config: firm.quality = 2.0 is above the allowed range; "
                              "allowed: a number in [0, 1]")


# configs that differ in values, in None against a number, in int against float, in lists and in
# their interpolations (rivals on equal terms copy the focal firm's keys through ${...})
VARIANTS = [
    [], ["seed=3", "firm.budget_share=0.1"], ["firm.capacity=900"], ["firm.capacity=900.5", "market.n_customers=400"],
    ["firm.capacity=null", "firm.capacity_factor=null"], ["competitors=equal_terms", "strategy.retention_share=0.2"],
    ["competitors=equal_capacity", "firm.capacity_factor=1.3"], ["competitors=same_as_focal", "market=growing"],
    ["market.initial_shares=[0.4,0.2,0.2,0.2]"], ["market.n_competitors=4", "market.initial_shares=[0.4,0.2,0.2,0.2,0]"],
    ["firm.abc_weights=[1,2,3]"], ["firm.abc_weights=[1.5,2,3]"],
    ["competitors=equal_terms", "strategy.retention_share=0.7", "firm.budget=1000"],
]


def _leaves(cfg) -> list[tuple[str, str, object]]:
    """Every leaf of a config: key, OmegaConf node type, value (with its Python type)."""
    out = []
    for key, node in cfg.items_ex(resolve=False):
        child = cfg._get_node(key)
        if OmegaConf.is_dict(child):
            out += [(f"{key}.{k}", t, v) for k, t, v in _leaves(child)]
        else:
            out.append((str(key), type(child).__name__, (type(node).__name__, OmegaConf.to_container(child)
                                                          if OmegaConf.is_list(child) else node)))
    return out


def test_validation_that_reuses_configs_gives_what_validation_from_scratch_gives():
    """validate() keeps a config per structure and sets the values that differ (config._kept): in
    any order, each result equals the one a validation with nothing kept gives, node types and
    value types included, and results are never shared."""
    from marktsim import config
    from marktsim.config import compose_config

    composed = [compose_config(v) for v in VARIANTS]
    fresh = []
    for cfg in composed:
        config._RESOLVING.clear()
        config._OUTPUTS.clear()
        fresh.append(validate(cfg))
    assert len({OmegaConf.to_yaml(c) for c in fresh}) == len(VARIANTS)  # every variant differs from the others
    order = list(range(len(VARIANTS))) * 2 + list(reversed(range(len(VARIANTS))))
    kept = [(i, validate(composed[i])) for i in order]
    assert len(config._OUTPUTS) < len(order)  # configs really were reused
    for i, cfg in kept:
        assert _leaves(cfg) == _leaves(fresh[i]), VARIANTS[i]
        assert OmegaConf.to_yaml(cfg) == OmegaConf.to_yaml(fresh[i])
    assert len({id(cfg) for _, cfg in kept}) == len(kept)


def test_load_config_finds_the_users_own_config_groups_in_config_dir(tmp_path):
    """``load_config(…, config_dir=…)`` adds a folder of the user's own config groups to the
    search path: an ``experiment/mine.yaml`` there is found, and not without the folder."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\nhorizon: 77\n")
    assert load_config(["experiment=mine"], config_dir=tmp_path).horizon == 77
    assert load_config(["experiment=mine", "horizon=5"], config_dir=str(tmp_path)).horizon == 5
    with pytest.raises(ConfigError, match="experiment"):
        load_config(["experiment=mine"])
    from marktsim.config import compose_config  # the unvalidated composition the optimiser and calibration use

    assert compose_config(["experiment=mine"], config_dir=tmp_path).horizon == 77


def test_the_schema_is_stored_under_the_name_config_yaml_gives_it(monkeypatch):
    """register_schema puts the schema (every key with its default) into Hydra's ConfigStore as
    ``marktsim_schema``, the first entry of configs/config.yaml's defaults list: into a store
    that lacks it (not the one an import or an earlier test filled), and compositions find it."""
    from hydra.core.config_store import ConfigStore

    from marktsim import config

    import yaml

    store = ConfigStore.instance()
    entry = f"{config.SCHEMA_NAME}.yaml"
    assert yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())["defaults"][0] == config.SCHEMA_NAME
    monkeypatch.setattr(store, "repo", {k: v for k, v in store.repo.items() if k != entry})
    config.register_schema()
    stored = store.load(entry).node
    assert config.flatten(OmegaConf.to_container(stored, resolve=False)) == config.flatten(config._defaults())
    assert load_config(["horizon=7"]).horizon == 7


def test_the_schemas_defaults_are_built_once_and_handed_out_as_fresh_copies(monkeypatch):
    """The defaults a config's missing keys take (``config._defaults``): every schema key with
    its default, built on the first call (here, not taken from an earlier test or the import)
    and handed out as a deep copy, so that a caller changing what it got changes nothing else."""
    from marktsim import config

    monkeypatch.setattr(config, "_DEFAULTS", None)
    expected = {key: param.default for key, param in SCHEMA.items()}
    first = config._defaults()
    assert config.flatten(first) == expected and config._DEFAULTS is not None
    first["market"]["n_customers"] = -1
    first["market"]["initial_shares"] = None
    first["firm"]["abc_weights"].append(7.0)
    assert config.flatten(config._defaults()) == expected


def test_config_yaml_is_omegaconfs_text(monkeypatch):
    """config.yaml is written by libyaml (config.config_yaml): the text OmegaConf.to_yaml gives,
    for every experiment and every variant above, and for strings that need quoting."""
    import yaml
    from hydra.types import RunMode

    from marktsim import config
    from marktsim.config import compose_config, config_yaml

    monkeypatch.setattr(config, "_DUMPER", None)  # the dumper built here, not taken from an earlier test
    if yaml.__with_libyaml__:
        assert issubclass(config._yaml_dumper(), yaml.CDumper) and config._yaml_dumper() is config._yaml_dumper()

    experiments = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
    configs = [load_config([f"experiment={name}", "design.chunk=0"] if name.startswith("sensitivity")
                           else [f"experiment={name}"]) for name in experiments]
    configs += [validate(compose_config(v)) for v in VARIANTS]
    odd = ["true", "1e3", "0.5", "null", "a: b", "#x", "", " lead", "ä ö", "a b " * 40, "$x", "key=0:1"]
    configs.append(OmegaConf.create({"names": odd, **{f"k{i}": text for i, text in enumerate(odd)}}))
    # and any config: interpolations resolved, enums by name (as Hydra's own nodes hold them), keys in their order
    configs.append(OmegaConf.create({"z": 1, "ref": "${names}", "names": ["a", "b"], "mode": RunMode.MULTIRUN}))
    for cfg in configs:
        assert config_yaml(cfg) == OmegaConf.to_yaml(cfg, resolve=True)


def test_derived_budget_and_capacity_follow_market_size():
    small = load_config(["market.n_customers=400"])
    assert small.firm.capacity == pytest.approx(1.1 * expected_initial_demand(small, 0))
    assert small.firm.budget == pytest.approx(load_config().firm.budget * 400 / 10_000)


def test_docs_parameter_table_matches_the_config_tree():
    """Every schema key appears in docs/model.md's table with its default, unit and range."""
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8").split("## 12. Parameters")[1]
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\| `([a-z_.0-9]+)` \|(.*)\|$", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split("|")]
    assert set(rows) == set(SCHEMA), set(SCHEMA) ^ set(rows)
    from marktsim.config import compose_config, flatten

    composed = flatten(OmegaConf.to_container(compose_config(), resolve=False))  # the real tree, unresolved

    def shown(value):
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "null"
        if isinstance(value, list):
            return "[" + ", ".join(shown(v) for v in value) + "]"
        return str(value)

    for key, param in SCHEMA.items():
        symbol, meaning, unit, default, allowed = rows[key]
        value = composed[key]
        assert default == f"`{shown(value)}`", (key, default, value)
        assert unit == param.unit and allowed == param.allowed() and meaning == param.meaning, key


def test_threads_setting(monkeypatch):
    """§3 MARKTSIM_THREADS: auto (the usable cores, at most OMP_NUM_THREADS) or a whole number."""
    from marktsim.config import THREADS_ENV, threads_setting, usable_cores

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert usable_cores() == cores and threads_setting() == cores
    assert threads_setting(3) == 3 and threads_setting("2") == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads_setting() == 1 and threads_setting("auto") == 1
    monkeypatch.setenv(THREADS_ENV, "5")
    assert threads_setting() == 5  # an explicit number is taken as it is
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ConfigError, match=f"^invalid setting: MARKTSIM_THREADS = '{re.escape(bad)}'; "
                                              "allowed: auto or a whole number >= 1$"):
            threads_setting()
    with pytest.raises(ConfigError, match="^invalid setting: threads = 0;"):
        threads_setting(0)
    with pytest.raises(ConfigError, match="^invalid setting: threads = True;"):
        threads_setting(True)


def test_usable_cores_are_the_affinity_at_most_omp_num_threads(monkeypatch):
    """§3: the cores this process may run on are its CPU affinity (a SLURM or container
    allotment, fewer than the machine's), else the machine's count (else 1); OMP_NUM_THREADS
    caps them when it is a whole number >= 1 (0 or text: no cap)."""
    from marktsim.config import usable_cores

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert usable_cores() == 3
    for limit, cores in (("2", 2), ("1", 1), ("16", 3), ("0", 3), ("", 3), ("two", 3), ("-1", 3)):
        monkeypatch.setenv("OMP_NUM_THREADS", limit)
        assert usable_cores() == cores, limit
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.delattr(os, "sched_getaffinity")  # macOS, Windows
    assert usable_cores() == 8
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # count unknown
    assert usable_cores() == 1


def test_plain_resolves_and_plain_raw_keeps_interpolations():
    from marktsim.config import compose_config, plain, plain_raw

    composed = compose_config(["market.n_customers=400"])
    assert plain_raw(composed)["firm"]["budget"] == "${derived:budget}"
    assert plain(composed)["firm"]["budget"] == pytest.approx(load_config(["market.n_customers=400"]).firm.budget)
    assert isinstance(plain(composed)["firm"]["budget"], float)


def test_workers_of_parallel_sweeps_run_one_thread(monkeypatch):
    import multiprocessing

    from marktsim.config import THREADS_ENV, one_thread_in_workers

    monkeypatch.delenv(THREADS_ENV, raising=False)
    one_thread_in_workers()  # the main process: unchanged
    assert THREADS_ENV not in os.environ
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: object())  # as in a loky worker
    one_thread_in_workers()
    assert os.environ[THREADS_ENV] == "1"
    monkeypatch.setenv(THREADS_ENV, "2")
    one_thread_in_workers()  # set by the user: kept
    assert os.environ[THREADS_ENV] == "2"


def test_a_key_carries_what_it_was_given_and_each_config_its_own_list():
    """``schema.key`` (called afresh here: the schema's own keys were made at import): the
    metadata of a key holds its meaning, unit, symbol, range, choices, null meaning and kind;
    a list default is copied for every config, so that one config's change cannot reach another."""
    from dataclasses import dataclass, fields

    from marktsim.schema import flat_schema, key

    @dataclass
    class Section:
        shares: list = key([0.5, 0.5], "the shares", "share", "s", 0, 1, kind="floats")
        mode: str = key("a", "the mode", choices=("a", "b"))
        size: Optional[int] = key(None, "the size", low=1, null_means="as large as needed")

    meta = {f.name: dict(f.metadata) for f in fields(Section)}
    assert meta["shares"] == {"meaning": "the shares", "unit": "share", "symbol": "s", "low": 0, "high": 1,
                              "choices": (), "null_means": "", "kind": "floats"}
    assert meta["mode"] == {"meaning": "the mode", "unit": "-", "symbol": "", "low": None, "high": None,
                            "choices": ("a", "b"), "null_means": "", "kind": ""}
    one, two = Section(), Section()
    assert one.shares == [0.5, 0.5] and one.shares is not two.shares
    assert (one.mode, one.size) == ("a", None)
    params = flat_schema(Section, "part.")
    assert [(p.key, p.kind, p.nullable) for p in params.values()] == [
        ("part.shares", "floats", False), ("part.mode", "choice", False), ("part.size", "int", True)]
    assert params["part.size"].allowed() == "an integer in [1, inf], or null (as large as needed)"


def test_the_schema_built_again_is_the_schema_in_use():
    """``flat_schema`` run again (config.SCHEMA was built at import) gives every key the same
    kind, range, default and null meaning, e.g. the kinds of a nullable integer, a choice and a
    list of shares."""
    from marktsim.config import SCHEMA
    from marktsim.schema import flat_schema

    fresh = flat_schema()
    assert fresh == SCHEMA
    chunk, policy, shares = fresh["design.chunk"], fresh["strategy.policy"], fresh["market.initial_shares"]
    assert (chunk.kind, chunk.nullable, chunk.low) == ("int", True, 0)
    assert (policy.kind, policy.choices) == ("choice", ("fixed", "capacity_aware", "adaptive"))
    assert (shares.kind, shares.nullable) == ("floats", True)
    assert fresh["market.n_customers"].kind == "int" and not fresh["market.n_customers"].nullable


def test_ranges_are_written_with_whole_numbers_as_integers():
    """``Param.allowed`` writes a bound that is a whole number without a decimal point and any
    other bound as Python writes it."""
    from marktsim.schema import Param

    def allowed(low, high, kind="float"):
        return Param("k", kind, "-", "", 0.0, low=low, high=high).allowed()

    assert allowed(0.0, 2.0) == "a number in [0, 2]"
    assert allowed(1e-3, 0.25) == "a number in [0.001, 0.25]"
    assert allowed(None, 10, "int") == "an integer in [-inf, 10]"
