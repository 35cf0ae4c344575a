"""Configurations that reach every branch of the engine's kernels (priority classes, delay
communication, targeting, campaigns, adaptive and expanding firms, global mixing, a growing
market, B2B, backlogs of 0 to 9 ticks, a monopolist, no word of mouth): tests/test_compiled.py
runs them on both engines, benchmarks/digest.py fingerprints them. Plain data, so that the
digest also runs on older versions of the code."""

CASES = {
    "default": [],
    "retention_heavy_abc": ["strategy=retention_heavy", "firm.targeting=abc", "firm.crm=false"],
    "acquisition_new_first": ["strategy=acquisition_heavy", "firm.priority=new_first", "firm.capacity_factor=0.8"],
    "existing_first_communicate": ["firm.priority=existing_first", "firm.communicate_delays=true",
                                   "customers.max_wait=5", "firm.capacity_factor=0.9", "strategy.campaign_start=3",
                                   "strategy.campaign_length=6", "strategy.campaign_boost=3"],
    "expanding": ["firm.capacity_policy=expand", "firm.capacity_factor=0.9"],
    "adaptive": ["strategy=adaptive", "competitors=adaptive"],
    "capacity_aware": ["strategy=capacity_aware", "competitors=aggressive", "firm.capacity_factor=0.9"],
    "campaign": ["strategy.campaign_start=5", "strategy.campaign_length=6", "strategy.campaign_boost=2.0",
                 "firm.capacity_factor=1.0"],
    "global_mixing": ["market.network=global"],
    "growing": ["market=growing"],
    "b2b_value_weighted": ["market=b2b", "firm.targeting=value_weighted"],
    "no_backlog": ["customers.max_wait=0", "firm.capacity_factor=0.8"],
    "long_backlog": ["customers.max_wait=9", "firm.capacity_factor=0.7"],
    "monopolist": ["market.n_competitors=0"],
    "no_word_of_mouth": ["customers.wom_positive=0", "customers.wom_negative=0"],
    "growing_fifo_many_firms": ["market=growing", "market.n_competitors=6", "firm.capacity_factor=0.8"],
    # the mechanisms of issue 14 and the calibration issue's propensities
    "incentives_deal_prone": ["strategy.incentive_share=0.3", "competitors.incentive_share=0.2",
                              "customers.deal_prone_share=0.4", "customers.propensity=gamma",
                              "customers.propensity_shape=0.7"],
    "contagion_protection_switching": ["customers.churn_contagion=8", "customers.wom_protection=0.6",
                                       "customers.switching_cost=0.3", "customers.wom_positive=0.06"],
    "contracts_global": ["customers.contract_share_b2b=0.8", "customers.contract_share_b2c=0.3",
                         "customers.contract_length=6", "market.network=global", "customers.churn_contagion=5",
                         "customers.wom_protection=0.5"],
    "growing_incentives_beta": ["market=growing", "strategy.incentive_share=0.4", "customers.deal_prone_share=0.3",
                                "customers.propensity=beta", "customers.propensity_alpha=0.7",
                                "customers.propensity_beta=1.2", "market.adoption_response=0.3",
                                "firm.capacity_factor=0.9"],
}

# the cases whose focal firm must really be overloaded (service level below 1 in some tick):
# rationing by class and age, delay communication, capacity-aware shifts and expansion run only then
OVERLOADED = ("acquisition_new_first", "existing_first_communicate", "expanding", "capacity_aware", "campaign",
              "growing", "no_backlog", "long_backlog", "growing_fifo_many_firms", "growing_incentives_beta")
