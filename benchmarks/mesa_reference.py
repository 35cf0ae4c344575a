"""The marktsim model written the ordinary Mesa way: one Customer object per customer with its
own methods, firms as agents, ``shuffle_do`` for customer steps, plain Python loops.

It serves twice: as the speed baseline of the benchmarks, and as an independent check of the
engine (tests/test_reference.py compares the two statistically). It follows MODEL.md §2 on
the default configuration's path: capacity-limited service with backlog, max_wait and the
priority rules, experience with first impressions and delay communication, uniform /
value-weighted / ABC retention with CRM personalisation, word of mouth over a Watts–Strogatz
network (networkx) or global mixing, intrinsic churn, poaching and referrals in a saturated
market, and the per-firm books. It reads the same validated config as the engine but shares
none of its code; randomness comes from Mesa's own ``model.random``, so runs agree with the
engine in distribution, not draw by draw. It follows the mechanisms of issue 14 and the latent
churn propensities as well (gamma or beta propensities, short-term incentives with deal-prone
customers, churn contagion, word of mouth that protects, switching costs, contracts). Not
covered: unsaturated markets (prospects, the adoption response), adaptive and capacity-aware
policies, capacity expansion, campaigns (not on the default path).
"""

from __future__ import annotations

import math
import sys
import time

import mesa
import networkx as nx

RANK_GROUPS = {"fifo": lambda new: 0, "existing_first": lambda new: 1 if new else 0, "new_first": lambda new: 0 if new else 1}


class RefFirm(mesa.Agent):
    """A firm with a fixed split of its budget."""

    def __init__(self, model, index, params, budget, capacity):
        super().__init__(model)
        self.index = index
        self.params = params
        self.budget = budget
        self.capacity = capacity
        self.rho = params["retention_share"]
        self.iota = params["incentive_share"]
        self.customers: set = set()
        self.books: dict = {}

    def plan(self):
        self.acquisition = (1 - self.rho - self.iota) * self.budget
        self.retention = self.rho * self.budget if self.customers else 0.0
        self.incentive = self.iota * self.budget
        self.pressure = self.model.a_max * (1 - math.exp(-self.acquisition / (self.model.a_scale * self.model.n)))
        self.offer = self.model.i_max * (1 - math.exp(-self.incentive / (self.model.i_scale * self.model.n)))

    def serve(self):
        """Serve the firm's customers' units rank by rank, rationing a rank proportionally."""
        wait = self.model.c["max_wait"]
        group_of = RANK_GROUPS[self.params["priority"]]
        ranks: dict = {}
        for customer in self.customers:
            customer.due = customer.units + sum(customer.backlog)
            customer.served = 0.0
            cells = customer.cells = [float(customer.units)] + list(customer.backlog)
            group = group_of(customer.is_new())
            for age in range(wait, -1, -1):
                if cells[age] > 0:
                    ranks.setdefault((group, wait - age), []).append((customer, age, cells[age]))
        left = self.capacity
        served_total = 0.0
        for rank in sorted(ranks):
            cells = ranks[rank]
            demand = sum(units for _, _, units in cells)
            ratio = 1.0 if demand <= left else left / demand
            left = max(left - demand, 0.0)
            for customer, age, units in cells:
                customer.take(age, units * ratio)
                served_total += units * ratio
        for customer in self.customers:
            customer.age_backlog()
        self.served_total = served_total

    def spend_retention(self):
        targeting = self.params["targeting"]
        weights = {}
        for customer in self.customers:
            if targeting == "uniform":
                weights[customer] = 1.0
            elif targeting == "value_weighted":
                weights[customer] = customer.value * customer.units
            else:
                weights[customer] = self.params["abc_weights"][customer.segment]
        total = sum(weights.values())
        for customer, w in weights.items():
            r = self.retention * w / total if total > 0 else 0.0
            if customer.known:
                r *= 1 + self.model.c["personalisation"]
            customer.retain(r)


class RefCustomer(mesa.Agent):
    """One customer with its own state and behaviour."""

    def __init__(self, model, firm, value, b2b, tenure, propensity=1.0, deal_prone=False, contract=False):
        super().__init__(model)
        c = model.c
        self.propensity, self.deal_prone, self.contract = propensity, deal_prone, contract
        self.won_incentive = False
        self.left = False
        self.firm = firm
        self.value = value
        self.b2b = b2b
        self.units = c["b2b_units"] if b2b else 1
        self.tenure = tenure
        self.satisfaction = c["satisfaction_init"]
        self.bond = c["bond_init"]
        self.backlog = [0.0] * c["max_wait"]
        self.known = firm.params["crm"] and tenure >= c["t_known"]
        self.referred = False
        self.contacts: list = []
        self.segment = 2

    def is_new(self):
        return self.tenure < self.model.c["t_new"]

    def take(self, age, units):
        self.cells[age] -= units
        self.served += units

    def age_backlog(self):
        """Unserved units age by one tick; those that already waited max_wait ticks are lost."""
        wait = self.model.c["max_wait"]
        self.expired = max(self.cells[wait], 0.0)
        self.backlog = [max(self.cells[a], 0.0) for a in range(wait)]

    def experience(self):
        c = self.model.c
        f = self.served / self.due if self.due > 0 else 1.0
        q = self.firm.params["quality"]
        if self.firm.params["communicate_delays"] and not self.is_new():
            e = q * (1 - (1 - f) * (1 - c["delay_forgiveness"]))
        else:
            e = q * f
        alpha = c["alpha_new"] if self.is_new() else c["alpha_est"]
        self.satisfaction += alpha * (e - self.satisfaction)

    def retain(self, r):
        c = self.model.c
        gain = c["bond_gain_max"] * (1 - math.exp(-r / c["retention_scale"]))
        if self.deal_prone:
            gain *= 1 - c["deal_prone_bonding"]
        self.bond = self.bond * (1 - c["bond_decay"]) + (1 - self.bond) * gain

    def promotes(self):
        return self.satisfaction >= self.model.c["promoter_threshold"] and sum(self.backlog) == 0

    def detracts(self):
        return self.satisfaction <= self.model.c["detractor_threshold"]

    def word_of_mouth(self):
        """W_ik for every firm k from this customer's contacts (or the whole market)."""
        c = self.model.c
        firms = self.model.firm_list
        if self.model.global_mixing:
            self.wom = self.model.global_wom
            self.own_share = self.model.global_promoters[self.firm.index]
            self.left_share = self.model.global_left
            return
        pro = [0] * len(firms)
        det = [0] * len(firms)
        left = 0
        for other in self.contacts:
            if other.promotes():
                pro[other.firm.index] += 1
            elif other.detracts():
                det[other.firm.index] += 1
            left += other.left
        d = len(self.contacts)
        self.wom = [max(0.0, c["wom_positive"] * pro[k] - c["wom_negative"] * det[k]) / d if d else 0.0
                    for k in range(len(firms))]
        self.own_share = pro[self.firm.index] / d if d else 0.0
        self.left_share = left / d if d else 0.0

    def decide(self):
        c = self.model.c
        rnd = self.model.random
        firms = self.model.firm_list
        rivals = [f for f in firms if f is not self.firm]
        self.moved_to = None
        if not rivals:
            return
        if self.contract and (self.tenure + 1) % c["contract_length"] != 0:
            return  # between renewals a contract customer cannot move
        s, b = self.satisfaction, self.bond
        protect = 1 - c["bond_protection"] * b
        sigma = (protect * (1 - c["satisfaction_protection"] * s) * (1 - c["switching_cost"])
                 * (1 - c["wom_protection"] * self.own_share))
        r = 1.0 if self.deal_prone else c["incentive_response"]
        pull = min(1.0, sigma * sum(f.pressure + r * f.offer + self.wom[f.index] for f in rivals))
        g = c["b2b_churn_factor"] if self.b2b else 1.0
        surge = 1 + c["churn_contagion"] * self.left_share
        if self.won_incentive and self.deal_prone and self.tenure == c["incentive_months"]:
            surge *= 1 + c["incentive_end_churn"]
        hazard = min(1.0, (self.model.base_hazard + c["churn_dissatisfaction"] * (1 - s) ** 2) * protect * g
                     * self.propensity * surge)
        u = rnd.random()
        if u < hazard:
            parts = [(f, c["switch_noise"], f.pressure, r * f.offer, self.wom[f.index]) for f in rivals]
            self.intrinsic = True
        elif u < hazard + (1 - hazard) * pull:
            parts = [(f, 0.0, f.pressure, r * f.offer, self.wom[f.index]) for f in rivals]
            self.intrinsic = False
        else:
            return
        total = sum(e + p + o + w for _, e, p, o, w in parts)
        if total <= 0:
            parts = [(f, 1.0, 0.0, 0.0, 0.0) for f in rivals]
            total = len(rivals)
        v = rnd.random() * total
        for f, e, p, o, w in parts:
            if v < e + p + o + w:
                self.moved_to, self.via_wom = f, v >= e + p + o and w > 0
                self.via_incentive = e + p <= v < e + p + o
                return
            v -= e + p + o + w
        f, e, p, o, w = parts[-1]
        self.moved_to, self.via_wom, self.via_incentive = f, False, False

    def move(self):
        c = self.model.c
        old = self.firm
        old.customers.discard(self)
        old.books["lost"] += 1
        old.books["lost_units"] += sum(self.backlog)
        new = self.moved_to
        new.customers.add(self)
        new.books["won"] += 1
        self.firm = new
        self.tenure = 0
        self.known = False
        self.satisfaction = c["satisfaction_init"]
        self.bond = min(1.0, c["bond_init"] + (c["referral_bonus"] if self.via_wom else 0.0))
        self.referred = self.via_wom
        self.won_incentive = self.via_incentive
        self.backlog = [0.0] * c["max_wait"]
        self.moved = True


class ReferenceModel(mesa.Model):
    """The saturated-market model of MODEL.md, one Python object per customer."""

    def __init__(self, cfg, seed: int = 0):
        super().__init__(rng=seed)
        from marktsim.config import expected_initial_demand, expected_initial_revenue

        if not cfg.market.saturated:
            raise ValueError("the reference covers saturated markets only")
        self.c = dict(cfg.customers)
        self.n = cfg.market.n_customers
        self.a_max, self.a_scale = cfg.market.acquisition_max, cfg.market.acquisition_scale
        self.i_max, self.i_scale = cfg.market.incentive_max, cfg.market.incentive_scale
        c = self.c
        if c["propensity"] == "beta":  # the base hazard is the mean per-tick hazard of θ ~ Beta(α, β)
            from scipy.special import betaln

            a, b, period = c["propensity_alpha"], c["propensity_beta"], c["period_ticks"]
            self.base_hazard = 1 - math.exp(betaln(a, b + 1 / period) - betaln(a, b))
        else:
            self.base_hazard = c["churn_base"]
        self.global_mixing = cfg.market.network == "global"
        self.monthly = (1 + cfg.market.annual_discount_rate) ** (1 / 12) - 1
        n_firms = cfg.market.n_competitors + 1
        focal = {**dict(cfg.firm), **dict(cfg.strategy)}
        rival = dict(cfg.competitors)
        self.firm_list = []
        for j in range(n_firms):
            if j == 0:
                params, budget = focal, cfg.firm.budget
                capacity = math.inf if cfg.firm.capacity is None else cfg.firm.capacity
            else:
                params = rival
                budget = rival["budget_share"] * expected_initial_revenue(cfg, j)
                f = rival["capacity_factor"]
                capacity = math.inf if f is None else f * expected_initial_demand(cfg, j)
            self.firm_list.append(RefFirm(self, j, params, budget, capacity))
        rnd = self.random
        c = self.c
        mu = math.log(c["value_mean"]) - c["value_sigma_log"] ** 2 / 2
        order = list(range(self.n))
        rnd.shuffle(order)
        self.people = []
        p = 1 / (1 + c["initial_tenure_mean"])
        for rank in range(self.n):
            firm = self.firm_list[order[rank] * n_firms // self.n]
            tenure = int(math.log(1 - rnd.random()) / math.log(1 - p)) if p < 1 else 0
            b2b = rnd.random() < c["b2b_share"]
            customer = RefCustomer(self, firm, rnd.lognormvariate(mu, c["value_sigma_log"]), b2b, tenure,
                                   self._propensity(rnd, tenure), rnd.random() < c["deal_prone_share"],
                                   rnd.random() < (c["contract_share_b2b"] if b2b else c["contract_share_b2c"]))
            firm.customers.add(customer)
            self.people.append(customer)
        for rank, customer in enumerate(sorted(self.people, key=lambda x: -x.value * x.units)):
            customer.segment = 0 if rank < round(0.2 * self.n) else 1 if rank < round(0.5 * self.n) else 2
        if not self.global_mixing:
            graph = nx.watts_strogatz_graph(self.n, min(cfg.market.network_degree, self.n - 1),
                                            cfg.market.network_rewiring, seed=rnd.randrange(2**31))
            for i, neighbours in graph.adjacency():
                self.people[i].contacts = [self.people[j] for j in neighbours]
        self.records: list[dict] = []
        self.tick = 0

    def _propensity(self, rnd, tenure: int) -> float:
        """z_i of a customer who has stayed `tenure` ticks: 1, Gamma(k, rate k + h_0·τ), or
        (1 − (1 − θ)^(1/P))/h_0 with θ ~ Beta(α, β + τ/P) (the survivors' distributions)."""
        c = self.c
        if c["propensity"] == "gamma":
            k = c["propensity_shape"]
            return rnd.gammavariate(k, 1 / (k + c["churn_base"] * tenure))
        if c["propensity"] == "beta":
            theta = rnd.betavariate(c["propensity_alpha"], c["propensity_beta"] + tenure / c["period_ticks"])
            return (1 - (1 - theta) ** (1 / c["period_ticks"])) / self.base_hazard
        return 1.0

    def step(self):
        self.tick += 1
        firms = self.firm_list
        for f in firms:
            f.books = {"won": 0, "lost": 0, "lost_units": 0.0, "start": len(f.customers)}
            f.plan()
        for f in firms:
            f.serve()
        self.agents_by_type[RefCustomer].shuffle_do("experience")
        for f in firms:
            f.spend_retention()
        if self.global_mixing:
            pro = [sum(1 for x in f.customers if x.promotes()) for f in firms]
            det = [sum(1 for x in f.customers if x.detracts()) for f in firms]
            c = self.c
            self.global_wom = [max(0.0, c["wom_positive"] * pro[k] - c["wom_negative"] * det[k]) / self.n
                               for k in range(len(firms))]
            self.global_promoters = [pro[k] / self.n for k in range(len(firms))]
            self.global_left = sum(x.left for x in self.people) / self.n
        customers = self.agents_by_type[RefCustomer]
        customers.shuffle_do("word_of_mouth")
        customers.shuffle_do("decide")
        revenue = [0.0] * len(firms)
        for x in self.people:
            g = 1 + self.c["loyalty_growth_max"] * (1 - math.exp(-x.tenure / self.c["loyalty_growth_time"]))
            revenue[x.firm.index] += x.served * x.value * g
            x.moved = False
        for x in self.people:
            if x.moved_to is not None:
                x.move()
        for x in self.people:
            x.left = x.moved  # saturated: every mover left a provider; its contacts hear of it next tick
            if not x.moved:
                x.tenure += 1
            x.known = x.firm.params["crm"] and x.tenure >= self.c["t_known"]
        for f in firms:
            b = f.books
            margin = f.params["margin"] * revenue[f.index]
            holding = f.params["capacity_cost"] * f.capacity if math.isfinite(f.capacity) else 0.0
            profit = (margin - f.acquisition - f.retention - f.incentive - f.params["onboarding_cost"] * b["won"]
                      - holding)
            self.records.append({
                "tick": self.tick, "firm": f.index, "customers": len(f.customers),
                "share": len(f.customers) / self.n, "won": b["won"], "lost": b["lost"],
                "churn_rate": b["lost"] / b["start"] if b["start"] else 0.0,
                "revenue": revenue[f.index], "profit": profit,
                "discounted_profit": profit / (1 + self.monthly) ** self.tick,
            })


def run_reference(cfg, seed: int, ticks: int) -> list[dict]:
    """Run the reference model for `ticks` ticks; return its per-tick records."""
    model = ReferenceModel(cfg, seed)
    for _ in range(ticks):
        model.step()
    return model.records


if __name__ == "__main__":
    from marktsim.config import load_config

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    cfg = load_config([f"market.n_customers={n}"])
    start = time.perf_counter()
    records = run_reference(cfg, 0, 10)
    dt = time.perf_counter() - start
    print(f"reference: N={n}, 10 ticks in {dt:.2f} s: {n * 10 / dt:,.0f} customer-ticks/s")
    print(records[-4:])
