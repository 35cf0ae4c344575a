"""The configuration schema (docs/model.md §12): every key once, per concern, with its type,
default, unit, allowed range and meaning together.

The dataclasses here are Hydra's structured base config (``marktsim.config`` registers
``Config`` as ``marktsim_schema``, the first entry of ``configs/config.yaml``'s defaults), so
they hold every default, and the YAML files of ``configs/`` hold only what an option changes.
OmegaConf checks types and unknown keys when it composes; ``marktsim.config.validate`` checks
ranges and consistency from the metadata of each field. A firm's terms are one definition
(``FirmTerms``, ``StrategyTerms``) used by the focal firm (``firm``, ``strategy``) and the
rivals (``competitors``).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from collections.abc import Callable
from typing import Any, Optional, cast

# `Optional[...]` and `List[...]` below, not `X | None`: OmegaConf reads these annotations at
# run time on Python 3.11, and the structured-config machinery understands the typing forms.
from typing import List  # noqa: UP035

INF = None  # no upper bound


def key(default: Any, meaning: str, unit: str = "-", symbol: str = "", low: float | None = None,
        high: float | None = None, choices: tuple[str, ...] = (), null_means: str = "", kind: str = "") -> Any:
    """A config key: its default and what it means (unit, symbol, allowed range or choices;
    ``null_means`` says what null stands for where null is allowed; ``kind`` names special
    list types: floats3, floats, factors)."""
    meta = {"meaning": meaning, "unit": unit, "symbol": symbol, "low": low, "high": high, "choices": tuple(choices),
            "null_means": null_means, "kind": kind}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------- runs, designs, sensitivity

@dataclass
class Design:
    """Designs beyond grids: each job runs the points of one chunk of a design."""

    file: Optional[str] = key(None, "design CSV written by marktsim-design (points run by this job's chunk)", "path",
                              null_means="no design: the job runs its own config")
    chunk: Optional[int] = key(None, "which chunk of the design (file or sensitivity sample) this job runs", low=0,
                               null_means="no design")


@dataclass
class Sensitivity:
    """Global sensitivity analysis (SALib): each job runs one chunk of the sample."""

    method: Optional[str] = key(None, "global sensitivity analysis: each job runs one chunk of SALib's Morris or "
                                "Sobol sample", choices=("morris", "sobol"), null_means="no sensitivity analysis")
    factors: List[str] = key([], "varied parameters, each key=low:high (a numeric key of this table)", kind="factors")
    hold: List[str] = key([], "keys of `factors` left out of the sample and held at the run's config value (e.g. "
                          "the decision between two fixed values of rho)", kind="keys")
    dummy: bool = key(True, "add a dummy factor that enters nothing (its indices show the noise floor)")
    trajectories: int = key(20, "Morris: number of trajectories r", symbol="r", low=2, high=10_000)
    levels: int = key(4, "Morris: grid levels p (even)", symbol="p", low=2, high=100)
    samples: int = key(256, "Sobol: base sample size N (a power of two); runs N·(factors + 2)", low=2, high=2**20)
    chunks: int = key(16, "jobs the sample is split into (sweep design.chunk over 0…chunks−1)", low=1, high=100_000)
    seed: int = key(0, "seed of the sample and of the bootstrap intervals", low=0, high=2**32 - 1)


# --------------------------------------------------------------------------- the market and its customers

@dataclass
class Market:
    """The market: its size, firms, network and acquisition response (docs/model.md §2, §7.6)."""

    saturated: bool = key(True, "saturated market (every customer has a provider) or growing (prospects exist)")
    n_customers: int = key(10_000, "number of customers (and prospects)", "customers", "N", 1, 10_000_000)
    n_competitors: int = key(3, "number of rival firms", "firms", "K", 0, 20)
    adopted_share: float = key(1.0, "share of customers with a provider at the start (must be 1 when saturated)",
                               "share", "F_0", 0, 1)
    initial_shares: Optional[List[float]] = key(None, "initial market shares of focal, rival_1, …", "share",
                                                null_means="equal shares", kind="floats")
    network: str = key("small_world", "who talks to whom: Watts–Strogatz small world or global mixing",
                       choices=("small_world", "global"))
    network_degree: int = key(10, "mean degree of the small world (even)", "contacts", "k", 0, 1000)
    network_rewiring: float = key(0.1, "rewiring probability of the small world", "probability", "β", 0, 1)
    acquisition_max: float = key(0.05, "maximal acquisition pressure of one firm", "1/tick", "a_max", 0, 1)
    acquisition_scale: float = key(2.0, "acquisition spend per market customer that reaches 63 % of a_max",
                                   "currency/(customer·tick)", "a_scale", 1e-9, INF)
    adoption_response: float = key(1.0, "share of the firms' acquisition pressure that makes a prospect adopt the "
                                   "category (1: as much as it makes a customer switch)", "1", "ν", 0, 1)
    incentive_max: float = key(0.05, "maximal incentive pressure of one firm (short-term price incentives)", "1/tick",
                               "i_max", 0, 1)
    incentive_scale: float = key(2.0, "incentive spend per market customer that reaches 63 % of i_max",
                                 "currency/(customer·tick)", "i_scale", 1e-9, INF)
    annual_discount_rate: float = key(0.10, "annual discount rate (monthly rate (1+d)^(1/12)-1)", "1/year", "d", 0, 10)


@dataclass
class Customers:
    """Customer behaviour (docs/model.md §2, §7)."""

    value_mean: float = key(100.0, "mean revenue per served unit", "currency/unit", "E[v]", 1e-9, INF)
    value_sigma_log: float = key(0.8, "σ of log value (lognormal)", "1", "σ_log", 0, 5)
    b2b_share: float = key(0.1, "share of B2B customers", "share", "", 0, 1)
    b2b_units: int = key(5, "units a B2B customer demands each tick (B2C: 1)", "units/tick", "", 1, 10_000)
    b2b_churn_factor: float = key(0.5, "factor on a B2B customer's churn hazard", "1", "g_i", 0, 100)
    max_wait: int = key(2, "ticks a unit may wait in the backlog before it is lost", "ticks", "", 0, 24)
    t_new: int = key(3, "a customer is new while tenure < t_new", "ticks", "t_new", 0, 10_000)
    t_known: int = key(6, "tenure after which a CRM firm knows the customer", "ticks", "t_known", 0, 10_000)
    alpha_new: float = key(0.5, "satisfaction learning rate of new customers (first impression)", "1", "α_new", 0, 1)
    alpha_est: float = key(0.2, "satisfaction learning rate of established customers", "1", "α_est", 0, 1)
    delay_forgiveness: float = key(0.5, "share of an announced delay that established customers forgive", "1", "γ",
                                   0, 1)
    satisfaction_init: float = key(0.75, "satisfaction at the start and after a move", "1", "s_0", 0, 1)
    bond_init: float = key(0.2, "bond at the start and after a move", "1", "b_0", 0, 1)
    bond_decay: float = key(0.02, "bond decay per tick", "1/tick", "δ_b", 0, 1)
    bond_gain_max: float = key(0.2, "maximal bond gain per tick from retention spend", "1/tick", "β_max", 0, 1)
    retention_scale: float = key(5.0, "retention spend per customer that reaches 63 % of β_max",
                                 "currency/(customer·tick)", "r_scale", 1e-9, INF)
    personalisation: float = key(0.5, "extra effect of retention spend on known customers", "1", "φ", 0, 100)
    churn_base: float = key(0.005, "base churn hazard", "1/tick", "h_0", 0, 1)
    churn_dissatisfaction: float = key(0.1, "churn hazard added by dissatisfaction (1-s)^2", "1/tick", "h_s", 0, 1)
    bond_protection: float = key(0.8, "how much bond lowers churn and susceptibility", "1", "κ", 0, 1)
    satisfaction_protection: float = key(0.7, "how much satisfaction lowers susceptibility", "1", "λ", 0, 1)
    switch_noise: float = key(0.01, "weight of a random rival for intrinsic leavers", "1/tick", "ε", 0, 1)
    loyalty_growth_max: float = key(0.3, "maximal growth of revenue per unit with tenure", "1", "g_max", 0, 100)
    loyalty_growth_time: float = key(24.0, "time scale of that growth", "ticks", "τ", 1e-9, INF)
    wom_positive: float = key(0.043, "pull of a rival whose every contact is its promoter", "1/tick", "q_wom", 0, 1)
    wom_negative: float = key(0.03, "push-back per share of detractor contacts", "1/tick", "q_neg", 0, 1)
    promoter_threshold: float = key(0.8, "satisfaction from which a customer promotes its provider", "1", "θ_pro", 0, 1)
    detractor_threshold: float = key(0.4, "satisfaction up to which a customer detracts", "1", "θ_det", 0, 1)
    referral_bonus: float = key(0.1, "extra starting bond of a customer won by word of mouth", "1", "Δ_ref", 0, 1)
    initial_tenure_mean: float = key(36.0, "mean tenure of initial customers (geometric)", "ticks", "", 0, 10_000)
    propensity: str = key("beta", "latent churn propensity z_i of each customer, drawn once and kept when it moves: "
                          "none (z = 1), gamma (mean 1 at tenure 0), beta (a per-period leaving probability θ_i; "
                          "initial customers drawn from the survivors of their tenure)", symbol="z_i",
                          choices=("none", "gamma", "beta"))
    propensity_shape: float = key(1.0, "gamma propensity: shape k (variance 1/k; mean 1 at tenure 0)", "1", "k", 1e-3, 1000)
    propensity_alpha: float = key(0.52, "beta propensity: α of θ_i ~ Beta(α, β), the probability of leaving per period",
                                  "1", "α", 1e-3, 1000)
    propensity_beta: float = key(2.45, "beta propensity: β of θ_i ~ Beta(α, β)", "1", "β", 1e-3, 1000)
    period_ticks: int = key(12, "beta propensity: ticks per period of θ_i (12: θ_i is an annual probability)", "ticks",
                            "P", 1, 1200)
    churn_contagion: float = key(0.0, "rise of the churn hazard per share of contacts who left their provider in the "
                                 "previous tick: h·(1 + c·share) (0 = off)", "1", "c", 0, 100)
    wom_protection: float = key(0.0, "how much contacts who promote a customer's own provider lower its "
                                "susceptibility: σ·(1 − ω·share of them) (0 = off)", "1", "ω", 0, 1)
    switching_cost: float = key(0.0, "share of the rivals' pull a customer resists because switching costs: "
                                "σ·(1 − χ) (0 = off)", "1", "χ", 0, 1)
    contract_share_b2b: float = key(0.0, "share of B2B customers on contracts, who can leave only at renewal",
                                    "share", "", 0, 1)
    contract_share_b2c: float = key(0.0, "share of B2C customers on contracts, who can leave only at renewal",
                                    "share", "", 0, 1)
    contract_length: int = key(12, "term of a contract: a contract customer can leave in every contract_length-th "
                               "tick of its tenure", "ticks", "L_c", 1, 1200)
    deal_prone_share: float = key(0.0, "share of deal-prone customers (respond fully to incentives, bond less, leave "
                                  "more when a discount ends)", "share", "", 0, 1)
    incentive_response: float = key(0.25, "how strongly a customer who is not deal-prone responds to incentive "
                                    "pressure (deal-prone: 1)", "1", "r_0", 0, 1)
    incentive_months: int = key(3, "ticks a customer won with an incentive pays the discounted price", "ticks",
                                "L_i", 1, 120)
    incentive_end_churn: float = key(1.0, "rise of a deal-prone customer's churn hazard in the tick its discount ends: "
                                     "h·(1 + η)", "1", "η", 0, 100)
    deal_prone_bonding: float = key(0.5, "share of the bond gain from retention spend a deal-prone customer does not "
                                    "take", "share", "", 0, 1)


# --------------------------------------------------------------------------- firms

@dataclass
class FirmTerms:
    """What every firm decides besides its strategy: budget, service, retention tools, capacity
    rules and costs (the focal firm: ``firm``; each rival: ``competitors``)."""

    budget_share: float = key(0.08, "marketing budget as a share of the firm's expected initial monthly revenue "
                              "(used when the budget is derived)", "share of initial monthly revenue", "B_j", 0, 10)
    quality: float = key(0.9, "service quality: experience of a fully served customer", "1", "q_j", 0, 1)
    margin: float = key(0.3, "gross margin", "share of revenue", "m_j", 0, 1)
    onboarding_cost: float = key(50.0, "cost of each customer won (set-up, first service, welcome offer)",
                                 "currency/customer", "c_on", 0, INF)
    capacity_cost: float = key(5.0, "cost of holding one unit of capacity for one tick (finite capacity only)",
                               "currency/(unit·tick)", "", 0, INF)
    priority: str = key("fifo", "service priority under overload", choices=("existing_first", "fifo", "new_first"))
    communicate_delays: bool = key(False, "announce delays; established customers then forgive part of them")
    targeting: str = key("uniform", "how retention spend is spread over the firm's customers", symbol="w_i",
                         choices=("uniform", "value_weighted", "abc"))
    abc_weights: List[float] = key([3.0, 1.5, 1.0], "retention weights of A, B and C customers under abc targeting",
                                   "1", "w_A:w_B:w_C", kind="floats3")
    crm: bool = key(True, "database marketing: profile customers after t_known ticks and personalise retention")
    capacity_policy: str = key("fixed", "capacity policy: fixed, expand (order after sustained overload) or follow "
                               "(order what demand needs, with headroom)", choices=("fixed", "expand", "follow"))
    follow_headroom: float = key(0.1, "follow: capacity ordered above the last tick's units due", "share of demand",
                                 "", 0, 10)
    expand_threshold: float = key(0.95, "utilisation above which an expanding firm counts a tick as overloaded", "1",
                                  "u_high", 0, 10)
    expand_patience: int = key(3, "consecutive overloaded ticks before capacity is ordered", "ticks", "L", 1, 1000)
    expand_step: float = key(0.2, "capacity ordered, as a share of current capacity", "share of capacity", "Δ", 0, 10)
    expand_lead_time: int = key(3, "ticks between ordering and using new capacity", "ticks", "", 0, 1000)
    capex_per_unit: float = key(200.0, "one-off cost per unit of capacity ordered", "currency/unit", "", 0, INF)


@dataclass
class StrategyTerms:
    """How a firm splits its budget between keeping and winning customers (docs/model.md §7.1)."""

    retention_share: float = key(0.5, "share of the marketing budget spent on retention (the strategy)",
                                 "share of budget", "ρ_j", 0, 1)
    incentive_share: float = key(0.0, "share of the marketing budget spent on short-term price incentives (discounts "
                                 "for new customers); acquisition gets 1 − ρ − ι", "share of budget", "ι_j", 0, 1)
    policy: str = key("fixed", "strategy policy", choices=("fixed", "capacity_aware", "adaptive"))
    capacity_threshold: float = key(0.95, "capacity_aware: utilisation above which acquisition budget moves into "
                                    "retention", "1", "u_cap", 0, 10)
    capacity_shift: float = key(0.75, "capacity_aware: share of the acquisition budget moved into retention while "
                                "overloaded", "share", "", 0, 1)
    adapt_interval: int = key(6, "adaptive: length of each trial window", "ticks", "M", 1, 1000)
    adapt_step: float = key(0.1, "adaptive: trial and move size for ρ", "share of budget", "δ", 0, 1)
    campaign_start: Optional[int] = key(None, "first tick of an extra acquisition campaign", "tick", "", 1, INF,
                                        null_means="no campaign")
    campaign_length: int = key(0, "length of the campaign", "ticks", "", 0, INF)
    campaign_boost: float = key(0.0, "extra acquisition spend per campaign tick, as a multiple of the budget",
                                "× budget", "", 0, 100)


@dataclass
class Firm(FirmTerms):
    """The focal firm: the common terms plus its budget and capacity."""

    budget: float = key("${derived:budget}", "monthly marketing budget of the focal firm (default: "
                                  "budget_share × expected initial monthly revenue)", "currency/tick", "B_0", 0, INF)
    capacity: Optional[float] = key("${derived:capacity}", "capacity of the focal firm (default: capacity_factor × "
                                    "expected initial demand)", "units/tick", "C_0", 0, INF, null_means="unlimited")
    capacity_factor: Optional[float] = key(1.1, "capacity relative to the firm's expected initial demand",
                                           "× initial demand", "", 0, INF, null_means="unlimited")


@dataclass
class Strategy(StrategyTerms):
    """The focal firm's strategy."""

    name: str = key("balanced", "label of the focal strategy")


@dataclass
class Competitors(FirmTerms, StrategyTerms):
    """Every rival: the same terms as the focal firm (rivals' keys mirror ``firm.*`` and ``strategy.*``)."""

    name: str = key("symmetric", "label of the competitor set")
    capacity_factor: Optional[float] = key(None, "each rival's capacity relative to its expected initial demand",
                                           "× initial demand", "C_k", 0, INF, null_means="unlimited")


# --------------------------------------------------------------------------- the whole tree

@dataclass
class Config:
    """Every key of a marktsim run (the composed Hydra tree without its ``hydra`` node)."""

    name: str = key("default", "name of the experiment (results folder)", kind="label")
    seed: int = key(0, "run seed; replicate r uses the r-th child of SeedSequence(seed)", low=0, high=2**63 - 1)
    horizon: int = key(120, "number of ticks simulated", "ticks (months)", "T", 1, 100_000)
    replicates: int = key(1, "replicates run inside one job (seeds spawned from `seed`)", low=1, high=1_000_000)
    results_dir: str = key("results", "root folder of the command line's outputs", "path")
    progress: str = key("auto", "progress bars: auto (only on a terminal), on, off", choices=("auto", "on", "off"))
    design: Design = field(default_factory=Design)
    sensitivity: Sensitivity = field(default_factory=Sensitivity)
    market: Market = field(default_factory=Market)
    customers: Customers = field(default_factory=Customers)
    firm: Firm = field(default_factory=Firm)
    strategy: Strategy = field(default_factory=Strategy)
    competitors: Competitors = field(default_factory=Competitors)


# --------------------------------------------------------------------------- the flat view

@dataclass(frozen=True)
class Param:
    """One configuration key: what it is, in which unit, and which values are allowed."""

    key: str
    kind: str  # int | float | bool | str | choice | floats3 | floats | factors
    unit: str
    meaning: str
    default: Any
    symbol: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False
    null_means: str = ""

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(self.choices)
        elif self.kind == "str":
            text = "a non-empty string"
        elif self.kind == "label":
            text = "a folder name: letters, digits, '.', '_', '-' (no path separators), not starting with '.'"
        elif self.kind == "floats3":
            text = "a list of three numbers in [0, 1e6] with a positive sum"
        elif self.kind == "floats":
            text = "null or a list of numbers >= 0 summing to 1"
        elif self.kind == "factors":
            text = "a list of key=low:high entries, numeric keys within their ranges"
        elif self.kind == "keys":
            text = "a list of config keys"
        else:
            lo = "-inf" if self.low is None else _fmt(self.low)
            hi = "inf" if self.high is None else _fmt(self.high)
            text = f"{'an integer' if self.kind == 'int' else 'a number'} in [{lo}, {hi}]"
        if self.nullable and self.kind != "floats":
            text += f", or null ({self.null_means})"
        return text


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


_KINDS = {"int": "int", "float": "float", "bool": "bool", "str": "str"}


def _kind(annotation: str, meta: dict) -> tuple[str, bool]:
    """(kind, nullable) of a field from its annotation (a string: annotations are postponed)."""
    nullable = annotation.startswith("Optional[")
    inner = annotation.removeprefix("Optional[").removesuffix("]") if nullable else annotation
    if meta["kind"]:
        return meta["kind"], nullable
    if meta["choices"]:
        return "choice", nullable
    return _KINDS[inner], nullable


def flat_schema(node: type = Config, prefix: str = "", rivals: bool = False) -> dict[str, Param]:
    """Every key of the tree as ``Param``, in the order of the dataclasses ("market.n_customers": …)."""
    out: dict[str, Param] = {}
    for f in fields(node):
        name = f"{prefix}{f.name}"
        factory = cast(Callable[[], Any], f.default_factory)
        if f.default_factory is not MISSING and isinstance(factory, type) and is_dataclass(factory):
            out.update(flat_schema(factory, name + ".", rivals=f.name == "competitors"))
            continue
        meta = f.metadata
        kind, nullable = _kind(str(f.type), dict(meta))
        default = f.default if f.default is not MISSING else factory()
        meaning = ("rivals: " + meta["meaning"]) if rivals and f.name not in ("name", "capacity_factor") else meta[
            "meaning"]
        symbol = meta["symbol"].replace("_j", "_k") if rivals else meta["symbol"]
        out[name] = Param(name, kind, meta["unit"], meaning, default, symbol, meta["low"], meta["high"],
                          meta["choices"], nullable, meta["null_means"])
    return out
