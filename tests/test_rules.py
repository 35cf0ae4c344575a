"""Every formula of engine/rules.py on hand-made inputs, against values computed by hand from
docs/model.md §5 and §7.

The model-level tests check what the formulas do together; these pin each one down alone,
with parameter values chosen so that no two of them coincide and no branch can stand in for
another (a mutant that swaps two parameters, a comparison or a branch changes a value here).
Expected values are written from the formulas in docs/model.md, not from the code's output.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from marktsim.engine import rules as r

from conftest import rules_for

f32 = np.float32

# 0/0 and 1/0 on the branch `where` discards are expected (the engines wrap them in np.errstate)
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning",
                                        "ignore:divide by zero encountered:RuntimeWarning")

# distinct values for every parameter the formulas read (docs/model.md §8 names them)
RULES = rules_for(
    adoption_response=0.3,
    t_new=3, t_known=4, alpha_new=0.6, alpha_est=0.2, delay_forgiveness=0.25, personalisation=0.5,
    bond_decay=0.1, bond_gain_max=0.4, retention_scale=8.0, promoter_threshold=0.8,
    detractor_threshold=0.35, wom_positive=0.05, wom_negative=0.02, b2b_churn_factor=0.5,
    churn_base=0.01, churn_dissatisfaction=0.08, bond_protection=0.7, satisfaction_protection=0.3,
    switching_cost=0.2, wom_protection=0.6, churn_contagion=2.0, contract_length=12,
    incentive_response=0.25, incentive_months=3, incentive_end_churn=1.5, deal_prone_bonding=0.75,
    bond_init=0.1, referral_bonus=0.15, loyalty_growth_max=0.3, loyalty_growth_time=24.0,
)


def close(actual, expected, rel=1e-6):
    return np.allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64), rtol=rel, atol=0)


# --------------------------------------------------------------------------- §5 initialisation

def test_per_tick_hazard_compounds_to_the_period_probability():
    theta = np.array([0.0, 0.2, 0.5, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # θ = 1 is a hazard of 1, not a warning
        h = r.per_tick_hazard(theta, 12)
    assert h.dtype == np.float64
    assert close(1 - (1 - h[:3]) ** 12, theta[:3], rel=1e-12)
    assert h[0] == 0.0 and h[3] == 1.0


def test_base_hazard_is_churn_base_or_the_mean_per_tick_hazard_of_the_beta():
    from scipy import integrate, stats

    assert r.base_hazard({"propensity": "none", "churn_base": 0.013}) == 0.013
    assert r.base_hazard({"propensity": "gamma", "churn_base": 0.013}) == 0.013
    a, b, period = 0.7, 2.5, 12
    mean, _ = integrate.quad(lambda t: (1 - (1 - t) ** (1 / period)) * stats.beta.pdf(t, a, b), 0, 1)
    got = r.base_hazard({"propensity": "beta", "churn_base": 0.013, "propensity_alpha": a, "propensity_beta": b,
                         "period_ticks": period})
    assert got == pytest.approx(mean, rel=1e-6)


# --------------------------------------------------------------------------- §7.2 serve

def test_served_second_by_priority():
    new = np.array([True, False])
    assert r.served_second(np.array([0, 0]), new).tolist() == [True, False]  # existing_first: new wait
    assert r.served_second(np.array([1, 1]), new).tolist() == [False, False]  # fifo: one class
    assert r.served_second(np.array([2, 2]), new).tolist() == [False, True]  # new_first: established wait


def test_ration_serves_the_share_capacity_covers_and_keeps_the_rest():
    share, left = r.ration(np.float64(8.0), np.float64(2.0))
    assert share == f32(0.25) and share.dtype == np.float32 and left == 0.0
    share, left = r.ration(np.float64(2.0), np.float64(8.0))
    assert share == 1.0 and left == 6.0
    share, left = r.ration(np.float64(0.0), np.float64(0.0))  # nothing demanded, nothing left
    assert share == 1.0 and left == 0.0


def test_served_units_and_the_fraction_of_what_was_due():
    assert close(r.served_part(f32(4.0), f32(0.25)), 1.0)
    assert close(r.unserved(f32(4.0), f32(1.5)), 2.5)
    assert r.unserved(f32(1.0), f32(1.5)) == 0.0
    assert close(r.served_fraction(f32(3.0), f32(4.0)), 0.75)
    assert r.served_fraction(f32(0.0), f32(0.0)) == 1.0


def test_loyalty_growth_and_revenue():
    tenure = np.array([0.0, 24.0, 1e6], dtype=np.float32)
    g = r.loyalty_growth(tenure, RULES)
    assert close(g, [1.0, 1 + 0.3 * (1 - math.exp(-1)), 1.3], rel=1e-6)
    assert close(r.revenue(f32(2.0), f32(5.0), f32(1.1)), 11.0)


# --------------------------------------------------------------------------- §7.3 experience

def test_felt_service_forgives_part_of_a_delay_only_for_the_forgiving():
    # q = 0.9, f = 0.6: e = 0.54; forgiving keeps (1 − γ) = 0.75 of the shortfall: 0.9·(1 − 0.3)
    assert close(r.felt_service(f32(0.6), f32(0.9), False, RULES), 0.54)
    assert close(r.felt_service(f32(0.6), f32(0.9), True, RULES), 0.9 * (1 - 0.4 * 0.75))
    assert r.forgives(np.array([True, True, False]), np.array([False, True, False])).tolist() == [True, False, False]


def test_learning_rate_learning_and_newness():
    assert r.learning_rate(True, RULES) == f32(0.6) and r.learning_rate(False, RULES) == f32(0.2)
    assert close(r.learn(f32(0.5), f32(0.9), f32(0.25)), 0.6)
    assert r.is_new(np.array([0, 2, 3, 4]), RULES).tolist() == [True, True, False, False]  # t_new = 3


# --------------------------------------------------------------------------- §7.4 retain

def test_retention_weight_of_each_targeting_rule():
    potential, abc = np.array([7.0, 7.0, 7.0], f32), np.array([3.0, 3.0, 3.0], f32)
    w = r.retention_weight(np.array([0, 1, 2]), potential, abc)  # uniform, value-weighted, abc
    assert w.tolist() == [1.0, 7.0, 3.0]


def test_spend_per_weight_per_firm():
    per = r.spend_per_weight(np.array([4.0, 0.0, 5.0]), np.array([10.0, 3.0]))
    assert per.dtype == np.float32
    assert close(per, [2.5, 0.0, 0.0])  # a firm without weight, and the prospects' entry, get 0


def test_retention_spend_is_personalised_for_known_customers():
    assert close(r.retention_spend(f32(2.0), f32(3.0), False, RULES), 6.0)
    assert close(r.retention_spend(f32(2.0), f32(3.0), True, RULES), 9.0)  # (1 + φ) = 1.5


def test_bond_gain_and_update():
    assert close(r.bond_gain(np.array([0.0, 8.0], f32), RULES), [0.0, 0.4 * (1 - math.exp(-1))])
    # b ← b(1 − δ) + (1 − b)·gain; deal-prone customers take (1 − 0.75) of the gain
    assert close(r.bond_update(f32(0.5), f32(0.2), False, RULES), 0.45 + 0.1)
    assert close(r.bond_update(f32(0.5), f32(0.2), True, RULES), 0.45 + 0.5 * 0.2 * 0.25)


# --------------------------------------------------------------------------- §7.5 word of mouth

def test_opinion_codes():
    firm = np.array([1, 1, 1, 1, 1, 0, -1])
    active = np.array([True, True, True, True, True, True, False])
    s = np.array([0.8, 0.9, 0.35, 0.5, 0.95, 0.1, 0.9], f32)
    waiting = np.array([False, True, False, False, False, False, False])
    # 3 firms: promotes k, detracts 3 + k, silent 6 (θ_pro = 0.8 inclusive, θ_det = 0.35 inclusive)
    assert r.opinion(firm, active, s, waiting, 3, RULES).tolist() == [1, 6, 4, 6, 1, 3, 6]


def test_inverse_degree_pull_and_global_pull():
    inv = r.inverse_degree(np.array([0, 1, 4], np.int32).astype(f32))
    assert inv.dtype == np.float32 and inv.tolist() == [0.0, 1.0, 0.25]
    # W = max(0, 0.05·promoters − 0.02·detractors)/d
    assert close(r.pull(f32(4.0), f32(2.0), f32(0.25), RULES), (0.2 - 0.04) / 4)
    assert r.pull(f32(1.0), f32(5.0), f32(0.25), RULES) == 0.0
    g = r.global_pull(np.array([40.0, 10.0]), np.array([20.0, 100.0]), 200, RULES)
    assert g.dtype == np.float32 and close(g, [(2.0 - 0.4) / 200, 0.0])
    assert close(r.contact_share(f32(3.0), f32(0.25)), 0.75)


# --------------------------------------------------------------------------- §7.6 leave or switch

def test_susceptibility_multiplies_every_protection():
    # (1 − 0.7·0.5)(1 − 0.3·0.4)(1 − 0.2)(1 − 0.6·0.5)
    assert close(r.susceptibility(f32(0.4), f32(0.5), f32(0.5), RULES), 0.65 * 0.88 * 0.8 * 0.7)


def test_churn_surge_from_contagion_and_the_end_of_a_discount():
    assert close(r.churn_surge(f32(0.25), False, RULES), 1.5)  # 1 + 2·0.25
    assert close(r.churn_surge(f32(0.25), True, RULES), 1.5 * 2.5)  # × (1 + η)


def test_discount_ends_contracts_and_incentive_response():
    won, prone = np.array([True, True, False, True]), np.array([True, False, True, True])
    tenure = np.array([3, 3, 3, 2])
    assert r.discount_ends(won, prone, tenure, RULES).tolist() == [True, False, False, False]
    tenure = np.array([10, 11, 23, 5])
    contract = np.array([True, True, True, False])
    assert r.bound_by_contract(contract, tenure, RULES).tolist() == [True, False, False, False]
    assert r.incentive_response(np.array([True, False]), RULES).tolist() == [1.0, 0.25]


def test_churn_factor_and_hazard():
    assert close(r.churn_factor(np.array([True, False]), np.array([2.0, 2.0], f32), RULES), [1.0, 2.0])
    # (0.01 + 0.08·(1 − 0.5)²)·(1 − 0.7·0.2)·1.5·1.2
    h = r.churn_hazard(f32(0.5), f32(0.2), f32(1.5), f32(1.2), RULES)
    assert close(h, (0.01 + 0.08 * 0.25) * 0.86 * 1.5 * 1.2, rel=1e-6)
    assert r.churn_hazard(f32(0.0), f32(0.0), f32(1e4), f32(1.0), RULES) == 1.0


def test_pulls_on_customers_and_prospects():
    assert close(r.market_pull(2.0, 4.0, 0.25, 0.5), 3.5)
    assert close(r.prospect_pull(2.0, 4.0, 0.25, 0.5, RULES), 0.6 + 1.0 + 0.5)  # ν = 0.3
    assert r.adoption_scale(np.array([-1, 0, 1]), RULES).tolist() == [0.3, 1.0, 1.0]
    assert close(r.rivals_pull(np.array([3.0, 1.0]), np.array([1.0, 2.0])), [2.0, 0.0])


def test_reach_leaving_and_moving():
    assert close(r.reach(0.1, 0.5, 0.4), 0.1 + 0.9 * 0.2)
    assert close(r.reach(0.1, 0.5, 4.0), 1.0)  # π capped at 1
    u = np.array([0.05, 0.1, 0.2, 0.3])
    assert r.leaves(u, 0.1).tolist() == [True, False, False, False]
    assert r.moving(u, 0.1, 0.28).tolist() == [True, True, True, False]
    assert r.moving(np.array([0.28]), 0.1, 0.28).tolist() == [False]  # strictly below the reach


def test_choice_weight_and_which_part_of_the_piece_won():
    assert r.choice_weight(1.0, 2.0, 3.0, 0.5) == 6.5
    # piece [10, 16) laid out as [ε 0.5 | P 1.5 | r·Q 1 | W 3]: W from 13, r·Q in [12, 13)
    start, weight, pull, offer = 10.0, 6.0, 3.0, 1.0
    draws = np.array([11.9, 12.0, 12.99, 13.0, 15.9])
    assert r.referred(draws, start, weight, pull).tolist() == [False, False, False, True, True]
    assert r.won_by_incentive(draws, start, weight, pull, offer).tolist() == [False, True, True, False, False]
    assert not r.referred(np.array([15.9]), start, weight, 0.0)[0]  # no word of mouth: no referral
    assert not r.won_by_incentive(np.array([12.5]), start, weight, pull, 0.0)[0]


def test_starting_bond_and_crm_knowledge():
    assert close(r.starting_bond(np.array([False, True]), RULES), [0.1, 0.25])
    assert r.starting_bond(True, rules_for(bond_init=0.95, referral_bonus=0.15)) == 1.0
    crm, tenure = np.array([True, True, False]), np.array([3, 4, 9])
    assert r.knows(crm, tenure, RULES).tolist() == [False, True, False]  # t_known = 4


def test_draw_propensity_gives_float32_columns_of_the_chosen_distribution():
    """§5: z_i is stored as float32 (typed state); mean 1 at tenure 0 for gamma; h_0·z_i is the
    per-tick hazard of a Beta(α, β) probability per period for beta; none draws nothing."""
    n = 200_000
    tenure = np.zeros(n, dtype=np.int32)
    rng = np.random.default_rng(7)
    none = r.draw_propensity(rng, tenure, {"propensity": "none"})
    assert none.dtype == np.float32 and np.all(none == 1.0)
    assert rng.bit_generator.state == np.random.default_rng(7).bit_generator.state  # nothing drawn
    gamma = r.draw_propensity(rng, tenure, {"propensity": "gamma", "propensity_shape": 2.0, "churn_base": 0.02})
    assert gamma.dtype == np.float32
    se = math.sqrt(1 / 2.0 / n)  # sd of Gamma(k, 1/k) is 1/sqrt(k)
    assert abs(gamma.mean() - 1.0) < 4 * se
    beta_keys = {"propensity": "beta", "propensity_alpha": 0.7, "propensity_beta": 2.5, "period_ticks": 12,
                 "churn_base": 0.013}
    z = r.draw_propensity(rng, tenure, beta_keys)
    assert z.dtype == np.float32
    theta = 1 - (1 - r.base_hazard(beta_keys) * z.astype(np.float64)) ** 12  # back to the probability per period
    mean, var = 0.7 / 3.2, 0.7 * 2.5 / (3.2 ** 2 * 4.2)
    assert abs(theta.mean() - mean) < 4 * math.sqrt(var / n)


@pytest.mark.parametrize("b2b_share, b2c_share", [(0.6, 0.0), (0.0, 0.4), (0.6, 0.4)])
def test_draw_traits_draws_each_trait_with_its_share(b2b_share, b2c_share):
    """§5: deal-proneness with its share; contracts with the share of the customer's kind, also
    when only one kind has contracts; boolean columns; a trait with share 0 draws nothing."""
    n = 100_000
    b2b = np.arange(n) % 2 == 0
    keys = {"deal_prone_share": 0.3, "contract_share_b2b": b2b_share, "contract_share_b2c": b2c_share}
    deal_prone, contract = r.draw_traits(np.random.default_rng(3), b2b, keys)
    assert deal_prone.dtype == bool and contract.dtype == bool
    for share, got, size in [(0.3, deal_prone.mean(), n), (b2b_share, contract[b2b].mean(), n / 2),
                             (b2c_share, contract[~b2b].mean(), n / 2)]:
        assert abs(got - share) <= 4 * math.sqrt(share * (1 - share) / size)  # exact 0 when the share is 0
    rng = np.random.default_rng(3)
    none, no_contract = r.draw_traits(rng, b2b, {"deal_prone_share": 0.0, "contract_share_b2b": 0.0,
                                                 "contract_share_b2c": 0.0})
    assert none.dtype == bool and no_contract.dtype == bool and not none.any() and not no_contract.any()
    assert rng.bit_generator.state == np.random.default_rng(3).bit_generator.state  # nothing drawn
