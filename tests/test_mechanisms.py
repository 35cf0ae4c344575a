"""One directional test per mechanism, at model level, with common random numbers.

Each compares two configurations that differ in one mechanism only, on the same seeds;
the effects asserted are large against the binomial noise of the counts involved.
"""

from __future__ import annotations

import numpy as np
import pytest

from marktsim.config import load_config
from marktsim.engine.account import M
from marktsim.model import MarketModel
from marktsim.simulation import simulate

pytestmark = pytest.mark.usefixtures("engine")  # every test here runs on both engines

BASE = ["market.n_customers=2000", "horizon=24"]


def focal(res, column):
    ts = res.timeseries
    return ts[ts.firm == "focal"][column]


def test_the_engine_fixture_reaches_the_model(engine):
    assert MarketModel(load_config(BASE)).engine == engine


def test_more_retention_spend_raises_mean_bond():
    low = simulate(load_config(BASE + ["strategy.retention_share=0.2"]))
    high = simulate(load_config(BASE + ["strategy.retention_share=0.8"]))
    assert focal(high, "bond_mean").iloc[-1] > focal(low, "bond_mean").iloc[-1] + 0.05


def test_existing_first_serves_established_customers_under_overload():
    """A campaign fills capacity with new customers: with existing_first the established
    ones keep being fully served, with fifo they are rationed with everybody else."""
    overload = BASE + ["firm.capacity_factor=1.0", "strategy.campaign_start=2", "strategy.campaign_length=10",
                       "strategy.campaign_boost=5"]
    sat = {}
    for priority in ("fifo", "existing_first"):
        model = MarketModel(load_config(overload + [f"firm.priority={priority}"])).run(12)
        col = model.columns
        established = (col.provider == 0) & (col.tenure >= 12)
        sat[priority] = col.satisfaction[established].mean()
    assert sat["existing_first"] > sat["fifo"] + 0.05


@pytest.mark.parametrize("priority, sign", [("existing_first", -1), ("new_first", 1)])
def test_a_ranking_every_firm_shares_still_ranks_new_customers(priority, sign):
    """§7.2 Ranking applies when every firm uses the same rule too (only all-fifo needs none):
    by the campaign's end (tick 12, as above) the focal firm's new customers have been served
    last under existing_first and first under new_first, so they end less or more satisfied
    than under fifo. The mean satisfaction of 30–40 customers has a standard error of at most
    0.035 (a spread of at most 0.2 over √35 ≈ 6): 0.1 is about 3 of the difference's, and a
    run that ignored the rule would give a difference of exactly 0 (common random numbers)."""
    overload = BASE + ["firm.capacity_factor=1.0", "strategy.campaign_start=2", "strategy.campaign_length=10",
                       "strategy.campaign_boost=5"]
    sat = {}
    for rule in ("fifo", priority):
        model = MarketModel(load_config(overload + [f"firm.priority={rule}", f"competitors.priority={rule}"])).run(12)
        assert model.records()[:, 0, M["service_level"]].min() < 0.9  # the campaign overloads the firm
        col = model.columns
        new = (col.provider == 0) & (col.tenure < 3)
        assert new.sum() >= 20
        sat[rule] = col.satisfaction[new].mean()
    assert sign * (sat[priority] - sat["fifo"]) > 0.1


def test_communicating_delays_lowers_churn_of_established_customers_under_overload():
    lost = {}
    for told in ("false", "true"):
        cfg = load_config(["market.n_customers=6000", "horizon=24", "firm.capacity_factor=0.8",
                           f"firm.communicate_delays={told}"])
        f = simulate(cfg, replicates=2).timeseries.query("firm == 'focal'")
        lost[told] = (f.lost - f.lost_new).sum()
    # the difference of two Poisson-like counts has standard error sqrt(sum): ask for 4 of them
    assert lost["false"] - lost["true"] > 4 * np.sqrt(lost["false"] + lost["true"])


def test_abc_targeting_raises_the_bond_of_a_customers():
    bonds = {}
    for targeting in ("uniform", "abc"):
        model = MarketModel(load_config(BASE + [f"firm.targeting={targeting}", "firm.abc_weights=[5,1,0.5]"])).run(12)
        col = model.columns
        a_customers = (col.provider == 0) & (col.segment == 0) & (col.tenure >= 12)
        bonds[targeting] = col.bond[a_customers].mean()
    assert bonds["abc"] > bonds["uniform"] + 0.02


def test_value_weighted_targeting_raises_bond_of_high_value_customers():
    model = MarketModel(load_config(BASE + ["firm.targeting=value_weighted"])).run(12)
    col = model.columns
    mine = (col.provider == 0) & (col.tenure >= 12)
    a, c = col.bond[mine & (col.segment == 0)].mean(), col.bond[mine & (col.segment == 2)].mean()
    assert a > c + 0.05


def test_crm_personalisation_raises_bond():
    on = MarketModel(load_config(BASE + ["firm.crm=true"])).run(12)
    off = MarketModel(load_config(BASE + ["firm.crm=false"])).run(12)
    assert on.records()[-1][0, 24] > off.records()[-1][0, 24]  # bond_mean of the focal firm
    assert on.columns.known[on.columns.provider == 0].any() and not off.columns.known[off.columns.provider == 0].any()


@pytest.mark.parametrize("network", ["global", "small_world"])
def test_detractors_lower_a_firms_acquisitions(network):
    """Half the focal firm's customers are frozen promoters, half frozen detractors: with
    q_neg > 0 the detractors cancel the promoters' pull and the firm wins fewer customers,
    under global mixing and over the small-world network alike."""
    won = {}
    for q_neg in (0.0, 0.4):
        cfg = load_config(BASE + [f"market.network={network}", "customers.alpha_new=0", "customers.alpha_est=0",
                                  "customers.wom_positive=0.4", f"customers.wom_negative={q_neg}",
                                  "customers.satisfaction_init=0.6", "horizon=12", "firm.capacity=null"])
        total = 0
        for rep in range(4):  # enough wins for a 4-sigma difference (Poisson standard errors)
            model = MarketModel(cfg, replicate=rep)
            col = model.columns
            mine = np.flatnonzero(col.provider == 0)
            rng = np.random.default_rng(rep)
            rng.shuffle(mine)  # promoters and detractors mixed over the network
            col.satisfaction[mine[: len(mine) // 2]] = 0.95
            col.satisfaction[mine[len(mine) // 2:]] = 0.2
            model.run()
            total += model.records()[:, 0, 2].sum()  # focal customers won
        won[q_neg] = total
    assert won[0.0] > 0
    assert won[0.0] - won[0.4] > 4 * np.sqrt(won[0.0] + won[0.4])


def test_word_of_mouth_wins_customers_and_referrals_start_with_a_higher_bond():
    none = simulate(load_config(BASE + ["customers.wom_positive=0"]))
    much = simulate(load_config(BASE + ["customers.wom_positive=0.1"]))
    assert focal(none, "won_by_wom").sum() == 0
    assert focal(much, "won_by_wom").sum() > 50
    model = MarketModel(load_config(BASE + ["customers.wom_positive=0.1", "customers.referral_bonus=0.3"]))
    model.step()
    col = model.columns
    fresh = col.tenure == 0
    referred, plain = fresh & col.referred, fresh & ~col.referred
    assert referred.sum() > 0 and plain.sum() > 0  # both kinds of movers exist this tick
    assert np.all(col.bond[referred] == np.float32(0.5)) and np.all(col.bond[plain] == np.float32(0.2))


def test_b2b_customers_churn_less_than_b2c_customers():
    """Without poaching, churn is intrinsic only: B2B customers leave at about half the rate."""
    cfg = load_config(["market.n_customers=4000", "horizon=36", "customers.b2b_share=0.5", "market.acquisition_max=0",
                       "customers.wom_positive=0", "customers.propensity=none", "customers.churn_base=0.03"])
    seg = simulate(cfg, replicates=2).segments.groupby("kind", observed=True)[["lost", "customers"]].sum()
    b2b, b2c = seg.loc["B2B", "lost"], seg.loc["B2C", "lost"] * seg.loc["B2B", "customers"] / seg.loc["B2C", "customers"]
    # expected ratio 0.5 (b2b_churn_factor); ask for B2B below B2C by 4 Poisson standard errors
    assert b2c - b2b > 4 * np.sqrt(b2b + b2c)


def test_acquisition_spend_wins_customers():
    low = simulate(load_config(BASE + ["strategy.retention_share=0.9"]))
    high = simulate(load_config(BASE + ["strategy.retention_share=0.1"]))
    assert focal(high, "won").sum() > 1.3 * focal(low, "won").sum()


def test_unsaturated_intrinsic_leavers_become_prospects():
    """Growing market without acquisition or word of mouth: nobody adopts or is poached, so
    every loss is intrinsic and every leaver becomes a prospect: customers fall by exactly the
    losses, and the prospects are the rest of the market."""
    n = 2000
    cfg = load_config(["market=growing", "market.adopted_share=1", f"market.n_customers={n}", "horizon=24",
                       "customers.propensity=none", "customers.churn_base=0.05", "market.acquisition_max=0",
                       "customers.wom_positive=0"])
    model = MarketModel(cfg)
    customers = n
    for _ in range(24):
        model.step()
        row = model.records()[-1]
        lost = row[:, 4].sum()
        assert row[:, 5].sum() == lost and row[:, 2].sum() == 0  # intrinsic only; nobody won
        assert row[:, 0].sum() == customers - lost
        customers -= lost
        assert int((model.columns.provider == -1).sum()) == n - customers
    assert n - customers > 100  # the precondition: many customers did leave


def test_delay_forgiveness_is_for_established_customers_only():
    """Overload at tick 1 (fifo, no backlog yet): every focal customer gets the same served
    fraction f < 1. With delays announced and forgiven in full (γ = 1), established customers
    feel e = q, new ones e = q·f (first impressions are not forgiven)."""
    cfg = load_config(BASE + ["firm.capacity_factor=0.5", "firm.communicate_delays=true",
                              "customers.delay_forgiveness=1", "customers.b2b_share=0"])
    model = MarketModel(cfg)
    col = model.columns
    s0 = np.float32(cfg.customers.satisfaction_init)
    q = np.float32(cfg.firm.quality)
    mine = col.provider == 0
    new = mine & (col.tenure < cfg.customers.t_new)
    established = mine & ~new
    assert new.sum() > 0 and established.sum() > 0
    model.step()
    fraction = model.records()[-1][0, 22]  # service level = served / due, the same for everybody here
    assert fraction < 0.6
    stayed = col.provider == 0
    a_est, a_new = np.float32(cfg.customers.alpha_est), np.float32(cfg.customers.alpha_new)
    np.testing.assert_allclose(col.satisfaction[established & stayed], s0 + a_est * (q - s0), rtol=1e-6)
    np.testing.assert_allclose(col.satisfaction[new & stayed], s0 + a_new * (q * fraction - s0), rtol=1e-5)


def test_tenure_and_crm_knowledge_after_each_tick():
    """§7.9: a customer who stayed gains one tick of tenure, a mover has tenure 0 with its new
    provider; known = CRM at the provider and tenure ≥ t_known, from the tick it is reached."""
    cfg = load_config(BASE + ["competitors.crm=false", "horizon=12"])
    model = MarketModel(cfg)
    col = model.columns
    t_known = int(cfg.customers.t_known)
    np.testing.assert_array_equal(col.known, (col.provider == 0) & (col.tenure >= t_known))
    moved_total = 0
    for _ in range(12):
        before_provider, before_tenure = col.provider.copy(), col.tenure.copy()
        model.step()
        moved = col.provider != before_provider
        moved_total += moved.sum()
        assert np.all(col.tenure[moved] == 0)
        np.testing.assert_array_equal(col.tenure[~moved], before_tenure[~moved] + 1)
        np.testing.assert_array_equal(col.known, (col.provider == 0) & (col.tenure >= t_known))
        assert not col.known[moved].any()
    assert moved_total > 100
    reached = (col.provider == 0) & (col.tenure == t_known)
    assert reached.any() and col.known[reached].all()


def test_revenue_per_unit_grows_with_tenure():
    """Revenue of one tick = Σ served units · v · (1 + g_max·(1 − exp(−tenure/τ)))."""
    model = MarketModel(load_config(BASE + ["firm.capacity=null"]))
    col = model.columns
    mine = col.provider == 0
    growth = 1 + 0.3 * (1 - np.exp(-col.tenure[mine] / 24.0))
    expected = (col.units[mine] * col.value[mine] * growth).sum()
    model.step()
    assert np.isclose(model.records()[-1][0, 8], expected, rtol=1e-5)
    assert growth.mean() > 1.1


def test_onboarding_cost_is_charged_per_customer_won():
    res = simulate(load_config(BASE + ["firm.onboarding_cost=77"]))
    f = res.timeseries[res.timeseries.firm == "focal"]
    np.testing.assert_allclose(f.onboarding_cost, 77 * f.won)


def test_capacity_expansion_orders_capacity_and_charges_capex():
    res = simulate(load_config(BASE + ["firm.capacity_factor=0.8", "firm.capacity_policy=expand", "horizon=30"]))
    f = res.timeseries[res.timeseries.firm == "focal"].sort_values("tick")
    orders = f[f.capex > 0]
    assert len(orders) >= 1
    first = int(orders.tick.iloc[0])
    before = f[f.tick == first].capacity.iloc[0]
    # the order (20 % of capacity) arrives after the lead time of 3 ticks
    arrive = f[f.tick == first + 1 + 3].capacity.iloc[0]
    assert np.isclose(arrive, before * 1.2)
    assert np.isclose(orders.capex.iloc[0], 200 * 0.2 * before)


def test_capacity_aware_strategy_moves_budget_into_retention_when_overloaded():
    """ρ used at t is ρ + 0.75·(1 − ρ) exactly when utilisation at t − 1 exceeded 0.95."""
    res = simulate(load_config(BASE + ["strategy=capacity_aware", "firm.capacity_factor=0.9"]))
    f = res.timeseries[res.timeseries.firm == "focal"].sort_values("tick")
    overloaded = f.utilisation.to_numpy()[:-1] > 0.95
    used = f.retention_share_used.to_numpy()[1:]
    assert overloaded.any() and (~overloaded).any()
    np.testing.assert_allclose(used, np.where(overloaded, 0.875, 0.5))
    calm = simulate(load_config(BASE + ["strategy=capacity_aware", "firm.capacity=null"]))
    assert (calm.timeseries.retention_share_used == 0.5).all()


def test_adaptive_strategy_probes_and_moves_rho():
    res = simulate(load_config(BASE + ["strategy=adaptive", "horizon=48"]))
    used = res.timeseries[res.timeseries.firm == "focal"].retention_share_used.to_numpy()
    assert set(np.round(used[:12], 6)) == {0.6, 0.4}  # trials at rho +/- delta
    assert len(set(np.round(used, 6))) > 2  # and rho moved


def test_campaign_adds_acquisition_spend_in_its_window():
    res = simulate(load_config(BASE + ["strategy.campaign_start=5", "strategy.campaign_length=3", "strategy.campaign_boost=2"]))
    f = res.timeseries[res.timeseries.firm == "focal"].set_index("tick")
    base = f.acquisition_spend[1]
    budget = load_config(BASE).firm.budget
    assert np.allclose(f.acquisition_spend[[5, 6, 7]], base + 2 * budget)
    assert np.allclose(f.acquisition_spend[[4, 8]], base)


def test_churn_propensity_is_kept_for_life_and_movers_are_the_prone_ones():
    """Gamma propensities are drawn once and never change, also for customers who move; a
    customer of tenure τ draws Gamma(k, rate k + h_0·τ) (mean k/(k + h_0·τ), variance k/rate²);
    since the intrinsic hazard is proportional to z_i, the customers who move are the prone
    ones: their mean z exceeds the market's by many standard errors."""
    k = 0.5
    model = MarketModel(load_config(BASE + ["market.n_customers=8000", "customers.propensity=gamma",
                                            f"customers.propensity_shape={k}"]))
    z = model.columns.propensity.copy()
    n = z.shape[0]
    rate = k + model.market.rules.churn_base * model.columns.tenure.astype(np.float64)
    assert abs(z.mean() - np.mean(k / rate)) < 4 * np.sqrt(np.sum(k / rate**2)) / n
    moved_z = []
    for _ in range(12):
        before = model.columns.provider.copy()
        model.step()
        moved_z.extend(z[model.columns.provider != before])
    np.testing.assert_array_equal(model.columns.propensity, z)
    moved_z = np.array(moved_z)
    assert moved_z.size > 200  # the precondition: enough movers to compare
    assert moved_z.mean() - z.mean() > 4 * z.std() / np.sqrt(moved_z.size)
    assert model.customers[0].propensity == float(z[0])  # the customer view shows it


def test_incentives_win_deal_prone_customers_who_bond_less_and_leave_when_the_discount_ends():
    """Short-term incentives (ι = 0.4): customers are won through the incentive part of the
    choice only when the firm spends on it; deal-prone customers (r = 1 against r_0 = 0.25) are
    over-represented among them; they take only half of the bond gain; and in the tick their
    discount ends (tenure L_i) they leave more often than one tick later (hazard × (1 + η)); with
    no advertising pull or word of mouth their moves are intrinsic, so the two rates differ by
    the surge alone."""
    base = BASE + ["customers.deal_prone_share=0.5", "customers.incentive_end_churn=3", "customers.incentive_months=3",
                   "horizon=36", "market.n_customers=12000", "market.acquisition_max=0", "customers.wom_positive=0",
                   "customers.propensity=none", "customers.churn_base=0.02"]
    off = simulate(load_config(base))
    assert (off.timeseries.won_incentive == 0).all() and (off.timeseries.incentive_spend == 0).all()
    model = MarketModel(load_config(base + ["strategy.incentive_share=0.4"]))
    col = model.columns
    won_flags, ending_left, after_left, ending_n, after_n = [], 0, 0, 0, 0
    for _ in range(36):
        prone, was_inc, tenure, provider = col.deal_prone.copy(), col.won_incentive.copy(), col.tenure.copy(), \
            col.provider.copy()
        model.step()
        gone = col.provider != provider
        cohort = was_inc & prone & (provider == 0)
        ending_n += (cohort & (tenure == 3)).sum()
        ending_left += (cohort & (tenure == 3) & gone).sum()
        after_n += (cohort & (tenure == 4)).sum()
        after_left += (cohort & (tenure == 4) & gone).sum()
        fresh = col.won_incentive & (col.tenure == 0)
        won_flags.extend(col.deal_prone[fresh])
    won_flags = np.array(won_flags)
    assert won_flags.size > 100 and ending_n > 100 and after_n > 100  # the preconditions
    # deal-prone share among incentive wins: 1·0.5/(1·0.5 + 0.25·0.5) = 0.8 against 0.5 in the market
    assert won_flags.mean() - 0.5 > 4 * np.sqrt(0.25 / won_flags.size)
    p1, p2 = ending_left / ending_n, after_left / after_n
    assert p1 - p2 > 4 * np.sqrt(p1 * (1 - p1) / ending_n + p2 * (1 - p2) / after_n)
    same = (col.provider == 0) & (col.tenure >= 12)
    assert col.bond[same & ~col.deal_prone].mean() - col.bond[same & col.deal_prone].mean() > 0.05


def test_churn_contagion_follows_its_law_tick_by_tick():
    """Global mixing, identical customers, no pull: every customer's hazard in tick t is
    h_0·(1 + c·L_{t−1}/N), L the customers who left their provider in tick t − 1, so the
    leavers of each tick are Binomial(N, that hazard): z-scores over all ticks."""
    n, h, c = 20_000, 0.02, 8.0
    cfg = load_config([f"market.n_customers={n}", "horizon=40", "market.n_competitors=1", "market.network=global",
                       "market.acquisition_max=0", "customers.wom_positive=0", "customers.wom_negative=0",
                       "customers.churn_dissatisfaction=0", "customers.bond_protection=0", "customers.b2b_share=0",
                       "customers.propensity=none", f"customers.churn_base={h}", f"customers.churn_contagion={c}",
                       "firm.capacity=null"])
    z = []
    for rep in range(2):
        model = MarketModel(cfg, replicate=rep).run()
        lost = model.records()[:, :, 4].sum(axis=1)  # every leaver left its provider (to the rival)
        previous = np.concatenate(([0.0], lost[:-1]))
        hazard = h * (1 + c * previous / n)
        z.extend((lost - n * hazard) / np.sqrt(n * hazard * (1 - hazard)))
        assert hazard.max() > 1.05 * h  # the precondition: contagion moves the hazard
    z = np.array(z)
    assert abs(z.mean()) * np.sqrt(z.size) < 4 and abs((z**2).mean() - 1) < 4 * np.sqrt(2 / z.size)


def test_promoters_of_the_own_provider_and_switching_costs_shield_customers_from_rivals():
    """Word of mouth that protects (ω) and switching costs (χ) lower susceptibility: fewer
    customers are poached, by more than four Poisson standard errors of the difference."""
    base = BASE + ["market.n_customers=4000", "horizon=24", "customers.wom_positive=0.06"]
    poached = {}
    for name, extra in (("none", []), ("protect", ["customers.wom_protection=0.8"]),
                        ("switching", ["customers.switching_cost=0.5"])):
        ts = simulate(load_config(base + extra), replicates=2).timeseries
        poached[name] = ts.lost_poached.sum()
    for name in ("protect", "switching"):
        assert poached["none"] - poached[name] > 4 * np.sqrt(poached["none"] + poached[name]), (name, poached)


def test_contract_customers_move_only_in_the_last_tick_of_a_term():
    cfg = load_config(BASE + ["customers.contract_share_b2b=1", "customers.contract_share_b2c=0.5",
                              "customers.contract_length=6", "horizon=30"])
    model = MarketModel(cfg)
    col = model.columns
    assert col.contract.any() and not col.contract.all()
    moved_contract = moved_free = 0
    for _ in range(30):
        tenure, provider, contract = col.tenure.copy(), col.provider.copy(), col.contract.copy()
        model.step()
        moved = col.provider != provider
        assert np.all((tenure[moved & contract] + 1) % 6 == 0)
        moved_contract += (moved & contract).sum()
        moved_free += (moved & ~contract).sum()
    assert moved_contract > 20 and moved_free > 20  # the precondition: both kinds move


def test_rivals_on_equal_terms_and_capacity_that_follows_demand():
    """competitors=equal_terms gives the rivals the focal firm's finite, costed capacity; the
    follow policy keeps a growing market served (service level ≥ 0.99 from tick 3, when the
    first order, placed after tick 1 with a lead time of 1, has arrived) where fixed capacity
    does not (the precondition)."""
    equal = simulate(load_config(BASE + ["competitors=equal_terms"])).timeseries
    rivals = equal[equal.firm != "focal"]
    assert rivals.capacity.notna().all() and (rivals.capacity_cost > 0).all()
    growing = ["market=growing", "market.n_customers=3000", "horizon=48", "competitors=equal_terms"]
    fixed = simulate(load_config(growing)).timeseries
    follow = simulate(load_config(growing + ["firm.capacity_policy=follow", "firm.follow_headroom=0.3",
                                             "firm.expand_lead_time=1"])).timeseries
    assert fixed.service_level.min() < 0.9
    assert follow[follow.tick >= 3].service_level.min() >= 0.99 and (follow.capex > 0).any()


def test_initial_propensities_are_those_of_the_survivors_of_their_tenure():
    """A customer who has stayed τ ticks is drawn from the survivors' distribution: with beta
    propensities θ ~ Beta(α, β + τ/P), so the mean θ of the customers with tenure ≥ 24 is
    α/(α + β + τ/P) ≤ α/(α + β + 2), far below the mean of newcomers; with gamma ones the
    mean z at tenure τ is k/(k + h_0·τ)."""
    a, b = 0.7, 1.2
    model = MarketModel(load_config(BASE + ["market.n_customers=20000", "customers.propensity=beta",
                                            f"customers.propensity_alpha={a}", f"customers.propensity_beta={b}"]))
    col = model.columns
    hazard = model.market.rules.churn_base * col.propensity.astype(np.float64)  # 1 − (1 − θ)^(1/12)
    theta = 1 - (1 - hazard) ** 12
    young, old = col.tenure == 0, col.tenure >= 24
    assert young.sum() > 200 and old.sum() > 2000
    se = lambda x: x.std() / np.sqrt(x.size)  # noqa: E731
    assert abs(theta[young].mean() - a / (a + b)) < 4 * se(theta[young])
    assert theta[old].mean() < a / (a + b + 2) and theta[young].mean() - theta[old].mean() > 4 * se(theta[young])
    k, h = 0.5, 0.005
    g = MarketModel(load_config(BASE + ["market.n_customers=20000", "customers.propensity=gamma",
                                        f"customers.propensity_shape={k}", f"customers.churn_base={h}"])).columns
    for tau in (0, 36):
        z = g.propensity[g.tenure == tau].astype(np.float64)
        assert z.size > 50 and abs(z.mean() - k / (k + h * tau)) < 4 * np.sqrt(k / (k + h * tau) ** 2 / z.size)
