"""Every rejection of a bad configuration value as the one line the user reads (docs/model.md
§12): the key, the value, the problem and what is allowed, word for word; and the values at the
edges of each range accepted. `check_change` runs the same checks as `validate` (a key's own
type and range, then the checks across keys) on a validated config with one key changed."""

from __future__ import annotations

import math

import pytest

from marktsim.config import (
    SCHEMA,
    ConfigError,
    Factor,
    check_change,
    flatten,
    job_key,
    load_config,
    parameter_table,
    parse_factor,
    omegaconf_error,
    plain,
    plain_raw,
    show_value,
    unknown_key,
    unreadable_override,
    validate,
)

BASE = flatten(plain(load_config()))
ABC = "a list of three numbers in [0, 1e6] with a positive sum"
LABEL = "a folder name: letters, digits, '.', '_', '-' (no path separators), not starting with '.'"
SHARES = "null or a list of numbers >= 0 summing to 1"
FACTORS = "a list of key=low:high entries, numeric keys within their ranges"


def _message(key, value, **changed) -> str:
    with pytest.raises(ConfigError) as err:
        check_change({**BASE, **changed}, key, value)
    return str(err.value)


@pytest.mark.parametrize("key, value, problem, allowed", [
    ("market.saturated", "maybe", "has type str", "true or false"),
    ("market.saturated", 1, "has type int", "true or false"),
    ("horizon", None, "must not be null", "an integer in [1, 100000]"),
    ("horizon", True, "has type bool", "an integer in [1, 100000]"),
    ("horizon", "12", "has type str", "an integer in [1, 100000]"),
    ("horizon", 2.5, "is not an integer", "an integer in [1, 100000]"),
    ("horizon", 0, "is below the allowed range", "an integer in [1, 100000]"),
    ("horizon", 100_001, "is above the allowed range", "an integer in [1, 100000]"),
    ("firm.budget", math.nan, "is NaN", "a number in [0, inf]"),
    ("firm.budget", math.inf, "is infinite", "a number in [0, inf]"),
    ("firm.budget", -0.5, "is below the allowed range", "a number in [0, inf]"),
    ("market.network_rewiring", 1.0000001, "is above the allowed range", "a number in [0, 1]"),
    ("market.acquisition_scale", 0.0, "is below the allowed range", "a number in [1e-09, inf]"),
    ("firm.capacity", -1.0, "is below the allowed range",
     "a number in [0, inf], or null (unlimited)"),
    ("firm.priority", "fastest", "is not an option", "one of existing_first, fifo, new_first"),
    ("firm.priority", "", "has type str", "one of existing_first, fifo, new_first"),
    ("firm.priority", 3, "has type int", "one of existing_first, fifo, new_first"),
    ("results_dir", "", "has type str", "a non-empty string"),
    ("name", "../x", "is not a plain folder name", LABEL),
    ("name", ".hidden", "is not a plain folder name", LABEL),
    ("name", "a b", "is not a plain folder name", LABEL),
    ("firm.abc_weights", [1, 2], "has 2 entries", ABC),
    ("firm.abc_weights", [1, 2, 3, 4], "has 4 entries", ABC),
    ("firm.abc_weights", [1, "a", 2], "is not a list of numbers", ABC),
    ("firm.abc_weights", [1, True, 2], "is not a list of numbers", ABC),
    ("firm.abc_weights", "1,2,3", "is not a list of numbers", ABC),
    ("firm.abc_weights", [1, -1, 2], "has a negative or non-finite entry", ABC),
    ("firm.abc_weights", [1, math.inf, 2], "has a negative or non-finite entry", ABC),
    ("firm.abc_weights", [math.nan, 1, 2], "has a negative or non-finite entry", ABC),
    ("firm.abc_weights", [2e6, 1, 1], "has an entry above 1e6", ABC),
    ("firm.abc_weights", [0, 0, 0], "sums to 0", ABC),
    ("market.initial_shares", [0.5, "x", 0.25, 0.25], "is not a list of numbers", SHARES),
    ("market.initial_shares", [1.5, -0.5, 0, 0], "has a negative or non-finite entry", SHARES),
    ("sensitivity.hold", [""], "is not a list of config keys", "a list of config keys"),
    ("sensitivity.hold", "firm.budget", "is not a list of config keys", "a list of config keys"),
    ("sensitivity.factors", "firm.budget=0:1", "is not a list of key=low:high strings", FACTORS),
    ("sensitivity.factors", ["firm.budget=0:1", 3], "is not a list of key=low:high strings", FACTORS),
    ("sensitivity.factors", ["firm.budget=1:0"], "has entry 'firm.budget=1:0': low must be below high", FACTORS),
    ("sensitivity.factors", ["firm.priority=fifo,new_first"], "has a categorical factor 'firm.priority=fifo,new_first'",
     FACTORS),
    ("sensitivity.factors", ["firm.budget=0:1", " firm.budget =2:3"], "names a key twice", FACTORS),
])
def test_a_bad_value_is_one_line_naming_key_value_problem_and_range(key, value, problem, allowed):
    shown = "null" if value is None else repr(value)
    assert _message(key, value) == f"invalid config: {key} = {shown} {problem}; allowed: {allowed}"


@pytest.mark.parametrize("key, value", [
    ("horizon", 1), ("horizon", 100_000), ("market.network_rewiring", 0.0), ("market.network_rewiring", 1.0),
    ("firm.budget", 0.0), ("firm.budget", 1e300), ("firm.capacity", None), ("name", "a.b-c_1"), ("name", "-x"),
    ("name", "Q4_Study.B-2"),
    ("firm.abc_weights", [1e6, 0, 0]), ("firm.abc_weights", [0, 0.5, 0]), ("market.initial_shares", None),
    ("market.initial_shares", [0.25, 0.25, 0.25, 0.25 + 5e-10]), ("sensitivity.hold", []),
    ("sensitivity.factors", ["firm.budget=0:1", "horizon=1:5"]), ("customers.detractor_threshold", 0.7999),
    ("market.network_degree", 0), ("design.chunk", None),
])
def test_values_at_the_edges_are_accepted(key, value):
    check_change(BASE, key, value)


@pytest.mark.parametrize("key, value, changed, message", [
    ("market.initial_shares", [0.5, 0.5], {},
     "invalid config: market.initial_shares = [0.5, 0.5] has 2 entries; allowed: one per firm "
     "(market.n_competitors + 1 = 4)"),
    ("market.initial_shares", [0.5, 0.3, 0.1, 0.05], {},
     "invalid config: market.initial_shares = [0.5, 0.3, 0.1, 0.05] sums to 0.95; allowed: shares summing to 1"),
    ("market.initial_shares", [0.25, 0.25, 0.25, 0.25 + 2e-9], {},
     "invalid config: market.initial_shares = [0.25, 0.25, 0.25, 0.250000002] sums to 1; allowed: shares summing to 1"),
    ("market.adopted_share", 0.5, {},
     "invalid config: market.adopted_share = 0.5 with market.saturated = true; allowed: 1.0 in a saturated market "
     "(every customer has a provider)"),
    ("customers.detractor_threshold", 0.8, {},
     "invalid config: customers.detractor_threshold = 0.8 must be below customers.promoter_threshold = 0.8"),
    ("market.network_degree", 5, {},
     "invalid config: market.network_degree = 5 is odd; allowed: an even integer in [0, 1000]"),
    ("customers.propensity_alpha", 3.0, {"customers.propensity": "none"},
     "invalid config: customers.propensity_alpha = 3.0 is not used with customers.propensity = 'none' "
     "(docs/model.md §5); allowed: its default 0.52, or a customers.propensity that uses it"),
    ("customers.churn_base", 0.02, {"customers.propensity": "beta"},
     "invalid config: customers.churn_base = 0.02 is not used with customers.propensity = 'beta' "
     "(docs/model.md §5); allowed: its default 0.005, or a customers.propensity that uses it (none or gamma)"),
    ("design.file", "d.csv", {},
     "invalid config: design.file = 'd.csv' with design.chunk = None; allowed: both set (a design and the chunk this "
     "job runs) or both null"),
    ("design.chunk", 2, {},
     "invalid config: design.file = None with design.chunk = 2; allowed: both set (a design and the chunk this "
     "job runs) or both null"),
])
def test_values_that_contradict_another_key_name_both(key, value, changed, message):
    assert _message(key, value, **changed) == message


SENSITIVITY = {"sensitivity.method": "morris", "sensitivity.factors": ["firm.budget=0:10", "horizon=1:5"],
               "design.chunk": 0, "sensitivity.chunks": 4}


@pytest.mark.parametrize("key, value, changed, message", [
    ("design.file", "d.csv", {},
     "invalid config: design.file = 'd.csv' with sensitivity.method = 'morris'; allowed: one design per sweep "
     "(set design.file=null or sensitivity.method=null)"),
    ("sensitivity.factors", [], {},
     "invalid config: sensitivity.factors = [] with sensitivity.method = 'morris'; allowed: at least one key=low:high"),
    ("sensitivity.hold", ["seed"], {},
     "invalid config: sensitivity.hold = ['seed'] names 'seed', which is not a factor; allowed: keys of "
     "sensitivity.factors (firm.budget, horizon)"),
    ("sensitivity.hold", ["horizon", "firm.budget"], {},
     "invalid config: sensitivity.factors = ['firm.budget=0:10', 'horizon=1:5'] with sensitivity.method = 'morris' "
     "and every factor held; allowed: at least one key=low:high not in sensitivity.hold"),
    ("design.chunk", 4, {},
     "invalid config: design.chunk = 4 with sensitivity.method = 'morris'; allowed: an integer in [0, 3] "
     "(sensitivity.chunks = 4): sweep 'design.chunk=range(0,4)'"),
    ("design.chunk", None, {},
     "invalid config: design.chunk = None with sensitivity.method = 'morris'; allowed: an integer in [0, 3] "
     "(sensitivity.chunks = 4): sweep 'design.chunk=range(0,4)'"),
    ("sensitivity.levels", 5, {},
     "invalid config: sensitivity.levels = 5 is odd; allowed: an even integer in [2, 100]"),
    ("sensitivity.samples", 96, {"sensitivity.method": "sobol"},
     "invalid config: sensitivity.samples = 96 is not a power of two; allowed: 2, 4, …, 1048576 (e.g. 256)"),
])
def test_a_sensitivity_analysis_needs_factors_and_a_chunk(key, value, changed, message):
    assert _message(key, value, **{**SENSITIVITY, **changed}) == message


def test_a_sensitivity_analysis_accepts_its_edges():
    for key, value, changed in (("design.chunk", 3, {}), ("sensitivity.hold", ["horizon"], {}),
                                ("sensitivity.levels", 5, {"sensitivity.method": "sobol"}),
                                ("sensitivity.samples", 96, {}), ("sensitivity.samples", 2, {"sensitivity.method": "sobol"}),
                                ("market.network_degree", 5, {"market.network": "global"})):
        check_change({**BASE, **SENSITIVITY, **changed}, key, value)


def test_unknown_and_foreign_inputs_are_one_line():
    with pytest.raises(ConfigError) as err:
        check_change(BASE, "firm.budgett", 3)
    assert str(err.value) == "invalid config: unknown key firm.budgett; did you mean firm.budget or firm.budget_share or firm.targeting?"
    with pytest.raises(ConfigError) as err:
        check_change(BASE, "nothing.like.this", 3)
    assert str(err.value).startswith("invalid config: unknown key nothing.like.this; known keys here: ")
    with pytest.raises(ConfigError) as err:
        validate([1, 2])
    assert str(err.value) == "invalid config: list given; allowed: a mapping of config keys"
    with pytest.raises(ConfigError) as err:
        plain([1, 2])
    assert str(err.value) == "invalid config: list given; allowed: a mapping of config keys"
    with pytest.raises(ConfigError) as err:
        plain_raw("x")
    assert str(err.value) == "invalid config: str given; allowed: a mapping of config keys"


def test_unknown_keys_are_matched_within_their_own_section():
    """The keys suggested for an unknown key are its own section's (a top-level key's: the
    top-level keys), at most three, the closest first; without a close one, the section's keys."""
    assert str(unknown_key("hoizon")) == "invalid config: unknown key hoizon; did you mean horizon?"
    assert str(unknown_key("market.n_")) == ("invalid config: unknown key market.n_; did you mean market.network or "
                                            "market.n_customers or market.n_competitors?")
    firm_keys = [key for key in SCHEMA if key.startswith("firm.")]
    assert len(firm_keys) > 3
    # market.n_customers is the closest key, but in another section
    assert (str(unknown_key("firm.n_customers"))
            == "invalid config: unknown key firm.n_customers; did you mean firm.expand_step?")
    head, listed = str(unknown_key("firm.zzzz_q")).split("; known keys here: ")
    assert head == "invalid config: unknown key firm.zzzz_q" and listed.split(", ") == firm_keys
    top = [key for key in SCHEMA if "." not in key]
    assert str(unknown_key("zzz")) == f"invalid config: unknown key zzz; known keys here: {', '.join(top)}"


SYNTAX = "key=value, +key=value, ~key or group=option (Hydra's override syntax)"


@pytest.mark.parametrize("overrides, message", [
    (["horizon=abc"], "invalid config: horizon = abc is not an integer; allowed: an integer in [1, 100000]"),
    (["market.n_customers=1.5e3"], "invalid config: market.n_customers = 1.5e3 is not an integer; allowed: an integer "
                                   "in [1, 10000000]"),
    (["firm.budget=abc"], "invalid config: firm.budget = abc has the wrong type (Value 'abc' of type 'str' could not "
                          "be converted to Float); allowed: a number in [0, inf]"),
    (["firm.budget='a=b c'"], "invalid config: firm.budget = 'a=b c' has the wrong type (Value 'a=b c' of type 'str' "
                              "could not be converted to Float); allowed: a number in [0, inf]"),
    (["market.initial_shares=[0.5,x]"], "invalid config: market.initial_shares = [0.5,x] has the wrong type (Value 'x' "
                                        "of type 'str' could not be converted to Float); allowed: null or a list of "
                                        "numbers >= 0 summing to 1"),
    (["hoizon=3"], "invalid config: unknown key hoizon; did you mean horizon?"),
    (["market.size=3"], "invalid config: unknown key market.size; did you mean market.saturated or market.network or "
                        "market.n_customers?"),
    (["firm.budget=a=b"], "invalid config: override 'firm.budget=a=b' cannot be read (mismatched input '=' expecting "
                          f"<EOF>); allowed: {SYNTAX}"),
    (["horizon=3", "seed=["], f"invalid config: override 'seed=[' cannot be read (no viable alternative at input '['); "
                              f"allowed: {SYNTAX}"),
    (["customers=nope"], "invalid config: In 'config': Could not find 'customers/nope'"),
])
def test_an_override_hydra_rejects_is_one_line(overrides, message):
    """What Hydra and OmegaConf refuse while composing (a value of the wrong type, an unknown
    key, an override that cannot be parsed, an unknown option of a group), as the project's one
    line: the key, the value as typed, what is allowed."""
    with pytest.raises(ConfigError) as err:
        load_config(overrides)
    assert str(err.value) == message


def test_omegaconfs_own_errors_are_one_line():
    """OmegaConf's errors raised directly (no Hydra around them: the key on the error itself, no
    cause), with and without the override that caused them; an error without text by its type."""
    from omegaconf import OmegaConf

    from marktsim.schema import Config

    cfg = OmegaConf.structured(Config)
    errors = []
    for wrong in (lambda: setattr(cfg.firm, "budget", "abc"), lambda: setattr(cfg, "horizon", "abc"),
                  lambda: cfg.firm.budgett):
        with pytest.raises(Exception) as err:
            wrong()
        assert err.value.__cause__ is None
        errors.append(err.value)
    budget, horizon, budgett = errors
    float_type = "has the wrong type (Value 'abc' of type 'str' could not be converted to Float)"
    assert (str(omegaconf_error(budget))
            == f"invalid config: firm.budget = ? {float_type}; allowed: a number in [0, inf]")
    assert (str(omegaconf_error(budget, "firm.budget=abc"))
            == f"invalid config: firm.budget = abc {float_type}; allowed: a number in [0, inf]")
    assert (str(omegaconf_error(budget, "firm.budget"))
            == f"invalid config: firm.budget = ? {float_type}; allowed: a number in [0, inf]")
    assert (str(omegaconf_error(horizon, "horizon=abc"))
            == "invalid config: horizon = abc is not an integer; allowed: an integer in [1, 100000]")
    assert str(omegaconf_error(budgett)) == ("invalid config: unknown key firm.budgett; did you mean firm.budget or "
                                             "firm.budget_share or firm.targeting?")
    assert str(omegaconf_error(ValueError())) == "invalid config: ValueError"
    assert str(omegaconf_error(ValueError("first\nsecond"))) == "invalid config: first"


def test_an_unknown_derived_value_is_one_line():
    with pytest.raises(ConfigError) as err:
        load_config(["firm.budget=${derived:nope}"])
    assert str(err.value) == ("invalid config: ConfigError raised while resolving interpolation: unknown derived value "
                              "'nope': allowed budget, capacity")


def test_overrides_that_cannot_be_read_are_named_one_by_one():
    """The first override Hydra's parser refuses on its own is named; when each reads alone
    (only their combination is refused), the parser's own reason."""
    from hydra.errors import OverrideParseException

    refused = OverrideParseException(override="", message="mismatched input")
    assert str(unreadable_override(["horizon=3", "seed=[", "x=]"], refused)) == (
        f"invalid config: override 'seed=[' cannot be read (no viable alternative at input '['); allowed: {SYNTAX}")
    assert str(unreadable_override(["horizon=3"], refused)) == (
        f"invalid config: overrides cannot be read (mismatched input); allowed: {SYNTAX}")


def test_an_unknown_engine_is_one_line(monkeypatch):
    """§3 the engine setting: the argument named `engine`, else MARKTSIM_ENGINE, else auto."""
    from marktsim.config import engine_setting

    monkeypatch.delenv("MARKTSIM_ENGINE", raising=False)
    assert engine_setting() == "auto" and engine_setting("numpy") == "numpy"
    with pytest.raises(ConfigError) as err:
        engine_setting("fast")
    assert str(err.value) == "invalid setting: engine = 'fast'; allowed: auto, numpy, compiled"
    monkeypatch.setenv("MARKTSIM_ENGINE", "fast")
    with pytest.raises(ConfigError) as err:
        engine_setting()
    assert str(err.value) == "invalid setting: MARKTSIM_ENGINE = 'fast'; allowed: auto, numpy, compiled"
    assert engine_setting("compiled") == "compiled"  # the argument before the environment


def test_the_config_tree_is_found(tmp_path, monkeypatch):
    """The config tree: MARKTSIM_CONFIG_DIR if set; else the one installed with the package
    (marktsim/_configs), else the source checkout's (configs/ two levels above marktsim/),
    whichever holds a config.yaml; else one line naming where it looked."""
    from marktsim import config

    monkeypatch.setenv("MARKTSIM_CONFIG_DIR", str(tmp_path / "mine" / ".." / "own"))
    assert config._find_config_dir() == tmp_path / "own"
    monkeypatch.delenv("MARKTSIM_CONFIG_DIR")
    package = tmp_path / "src" / "marktsim"
    package.mkdir(parents=True)
    monkeypatch.setattr(config, "__file__", str(package / "config.py"))
    with pytest.raises(ConfigError) as err:
        config._find_config_dir()
    assert str(err.value) == f"marktsim: no config tree found next to {package} (set MARKTSIM_CONFIG_DIR)"
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "other.yaml").write_text("")
    (package / "_configs").mkdir()
    with pytest.raises(ConfigError):  # folders without a config.yaml are not config trees
        config._find_config_dir()
    (tmp_path / "configs" / "config.yaml").write_text("")
    assert config._find_config_dir() == tmp_path / "configs"
    (package / "_configs" / "config.yaml").write_text("")
    assert config._find_config_dir() == package / "_configs"


@pytest.mark.parametrize("spec, message", [
    ("firm.budget", "invalid factor 'firm.budget': expected key=low:high or key=a,b,c"),
    ("firm.nope=0:1", "invalid factor 'firm.nope=0:1': unknown key firm.nope"),
    ("firm.priority=0:1", "invalid factor 'firm.priority=0:1': firm.priority is not numeric; allowed: one of existing_first, "
                          "fifo, new_first"),
    ("firm.budget=a:1", "invalid factor 'firm.budget=a:1': low:high must be two numbers"),
    ("firm.budget=0:1:2", "invalid factor 'firm.budget=0:1:2': low:high must be two numbers"),
    ("firm.budget=0:1=2", "invalid factor 'firm.budget=0:1=2': low:high must be two numbers"),
    ("firm.budget=1:1", "invalid factor 'firm.budget=1:1': low must be below high"),
    ("firm.budget=-1:1", "invalid factor 'firm.budget=-1:1': firm.budget = -1 is out of range; allowed: a number in "
                         "[0, inf]"),
    ("horizon=1:100001", "invalid factor 'horizon=1:100001': horizon = 100001 is out of range; allowed: an integer "
                         "in [1, 100000]"),
    ("firm.priority=fifo", "invalid factor 'firm.priority=fifo': give a range low:high or at least two levels a,b"),
    ("firm.priority=fifo, ,", "invalid factor 'firm.priority=fifo, ,': give a range low:high or at least two "
                              "levels a,b"),
    ("firm.priority=fifo,last", "invalid factor 'firm.priority=fifo,last': firm.priority = 'last' is not an option; "
                                "allowed: one of existing_first, fifo, new_first"),
    ("firm.crm=true,yes", "invalid factor 'firm.crm=true,yes': firm.crm takes true,false"),
])
def test_a_bad_factor_is_one_line(spec, message):
    with pytest.raises(ConfigError) as err:
        parse_factor(spec)
    assert str(err.value) == message


def test_factors_parse_ranges_and_levels():
    assert parse_factor(" firm.budget = 0:2.5") == Factor("firm.budget", 0.0, 2.5)
    assert parse_factor("horizon=1:100000").bounds == (1.0, 100000.0) and parse_factor("horizon=1:2").integer
    assert not parse_factor("firm.budget=0:1").integer
    levels = parse_factor("firm.priority= fifo , new_first,")
    assert levels == Factor("firm.priority", levels=("fifo", "new_first"))
    assert parse_factor("firm.crm=true,false").levels == ("true", "false")
    assert parse_factor("customers.b2b_share=0.1,0.2").levels == ("0.1", "0.2")
    with pytest.raises(ConfigError) as err:
        levels.bounds
    assert str(err.value) == "invalid factor firm.priority: levels fifo, new_first given; allowed: low:high"


def test_job_keys():
    assert job_key(None) == "default" and job_key("") == "default"
    assert job_key("seed=1,x=a-b_c.d+e") == "seed=1,x=a-b_c.d+e"  # the safe set, kept as it is
    replaced = job_key("x=a/b c")
    assert replaced.startswith("x=a_b_c~") and len(replaced.split("~")[1]) == 10
    assert job_key("x=a/b c") == replaced and job_key("x=a_b_c") == "x=a_b_c" != replaced
    hidden = job_key(".x=1")
    assert hidden.startswith("x=1~") and hidden != job_key("x=1")
    assert job_key("..X=1").startswith("X=1~")  # only the leading dots go
    assert len(job_key("k=" + "v" * 198)) == 200 and "~" not in job_key("k=" + "v" * 198)
    long = job_key("k=" + "v" * 199)
    assert len(long) == 180 + 1 + 10 and long[:180] == ("k=" + "v" * 199)[:180]


def test_parameter_table_shows_every_key_and_its_default():
    assert show_value(None) == "null" and show_value(True) == "true" and show_value(False) == "false"
    assert show_value([1, 0.5, None]) == "[1, 0.5, null]" and show_value((True,)) == "[true]"
    assert show_value(0.25) == "0.25" and show_value("fifo") == "fifo"
    lines = parameter_table().splitlines()
    assert lines[:2] == ["| key | symbol | meaning | unit | default | allowed |", "|---|---|---|---|---|---|"]
    assert len(lines) == 2 + len(BASE)
    assert ("| `horizon` | T | number of ticks simulated | ticks (months) | `120` | an integer in [1, 100000] |"
            in lines)
