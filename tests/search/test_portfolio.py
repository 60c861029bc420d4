"""The proposer portfolio of the Bayesian search: each proposer, the bandit's credit and shares, resume."""

from __future__ import annotations

import numpy as np
import pytest

from bt_optimize.search.bayes import BayesSearch
from bt_optimize.search.bayes.portfolio import allocate, check_portfolio, credit, shares, tree_scores
from bt_optimize.search.encoding import Encoder
from bt_optimize.space import Cat, Int, Real, Space, params_key
from bt_optimize.trial import Trial, TrialState

PORTFOLIO = ("gp", "trees", "random")
STEP_SPACE = Space({"a": Int(0, 19), "b": Real(0.0, 1.0, step=0.1), "c": Cat(["x", "y", "z"])})


def _steps(p: dict) -> float:
    """A plateau landscape (minimised): 1 almost everywhere, a 0.5 shelf, and 0 on a small block."""
    if p["c"] == "y" and 12 <= p["a"] <= 15 and p["b"] >= 0.6:
        return 0.0
    return 0.5 if p["c"] == "y" else 1.0


def test_credit_is_the_share_of_earlier_values_beaten():
    values = [5.0, None, 3.0, 4.0, 1.0, 9.0]
    who = [None, "gp", "trees", "random", "gp", "trees"]
    got = credit(values, who)
    # gp: a failure earns 0, then 1.0 beats all of 5, 3, 4; trees: 3 beats 5, then 9 beats nothing;
    # random: 4 beats 5 but not 3
    assert got == {"gp": [0.0, 1.0], "trees": [1.0, 0.0], "random": [0.5]}
    assert credit([2.0], ["gp"]) == {"gp": [1.0]}  # nothing before it: a first value is a new best


def test_shares_favour_credit_keep_a_floor_and_start_even():
    names = list(PORTFOLIO)
    even = shares(names, {})
    assert even == pytest.approx(np.full(3, 1 / 3))
    p = shares(names, {"gp": [0.1] * 8, "trees": [0.9] * 8, "random": [0.2] * 8})
    assert p.sum() == pytest.approx(1.0)
    assert p[1] > p[0] and p[1] > p[2] and p.min() >= 0.1 - 1e-12
    # one lucky point moves a share less than a consistent record (the prior shrinks short records)
    lucky = shares(names, {"gp": [0.5] * 8, "trees": [1.0], "random": [0.5] * 8})
    steady = shares(names, {"gp": [0.5] * 8, "trees": [1.0] * 8, "random": [0.5] * 8})
    assert 1 / 3 < lucky[1] < steady[1]


def test_allocate_shares_out_slots_systematically():
    p = np.array([0.5, 0.25, 0.25])
    assert allocate(PORTFOLIO, p, 4, 0.0) == ["gp", "gp", "trees", "random"]
    assert sorted(allocate(PORTFOLIO, p, 4, 0.99)) == sorted(["gp", "gp", "trees", "random"])
    counts = [allocate(PORTFOLIO, p, 1, u).count("gp") for u in np.linspace(0, 0.999, 100)]
    assert sum(counts) == 50  # one slot: drawn in proportion to the shares


def test_check_portfolio_names_the_fix():
    check_portfolio(("gp", "trees"))
    for bad in ((), ("gp", "gp"), ("gp", "forest"), "gp"):
        with pytest.raises(ValueError, match="distinct names among gp, trees, random"):
            check_portfolio(bad)
    with pytest.raises(ValueError, match="portfolio"):
        BayesSearch(STEP_SPACE, 0, portfolio=("gp", "tpe"))


def test_tree_proposer_finds_the_block_on_a_plateau():
    enc = Encoder(STEP_SPACE)
    grid = list(STEP_SPACE.grid())
    rng = np.random.default_rng(0)
    told = [grid[i] for i in rng.choice(len(grid), 60, replace=False)]
    told.append({"a": 13, "b": 0.6, "c": "y"})  # one point of the block is known
    z = np.array([_steps(p) for p in told])
    X = enc.transform(told)
    seen = {params_key(p) for p in told}
    cand = [p for p in grid if params_key(p) not in seen]
    ei = tree_scores(X, z, enc.transform(cand), seed=1)
    top = [cand[i] for i in np.argsort(-ei)[:5]]
    assert sum(_steps(p) == 0.0 for p in top) >= 3
    assert ei.shape == (len(cand),) and (ei >= 0).all()


def _drive(search: BayesSearch, rounds: int, batch: int = 4) -> list[dict]:
    out = []
    for _ in range(rounds):
        pts = search.ask(batch)
        for p in pts:
            search.tell(p, _steps(p))
        out.extend(pts)
    return out


def test_every_proposer_is_used_recorded_and_never_repeats():
    s = BayesSearch(STEP_SPACE, 3, maximize=False, batch_size=4, portfolio=PORTFOLIO)
    pts = _drive(s, 12)
    keys = [params_key(p) for p in pts]
    assert len(set(keys)) == len(keys) == 48
    who = [s.attrs_for(p).get("proposer") for p in pts]
    assert {"gp", "trees", "random"} <= set(who)
    assert who[: s.n_initial_points] == [None] * s.n_initial_points  # the initial design is nobody's
    assert min(_steps(p) for p in pts) <= 0.5  # at least the shelf
    sh = s.proposer_shares()
    assert set(sh) == set(PORTFOLIO) and sum(sh.values()) == pytest.approx(1.0)


def test_bandit_credits_the_proposer_whose_points_won():
    s = BayesSearch(STEP_SPACE, 0, maximize=False, batch_size=4, portfolio=PORTFOLIO)
    grid = list(STEP_SPACE.grid())
    rng = np.random.default_rng(5)
    for i, j in enumerate(rng.choice(len(grid), 40, replace=False)):
        p = grid[j]
        who = PORTFOLIO[i % 3]
        # the trees' points are told good values, the others bad ones
        value = 0.1 * rng.random() if who == "trees" else 1.0 + rng.random()
        s.tell_trial(Trial(number=i, state=TrialState.COMPLETE, params=p, value=value,
                           user_attrs={"phase": "bo", "proposer": who}))
    sh = s.proposer_shares()
    assert sh["trees"] > 0.6 and sh["gp"] < 0.25 and sh["random"] < 0.25
    slots = s._slots(8, 40)
    assert slots.count("trees") >= 5


def test_a_resumed_search_credits_and_allocates_as_the_uninterrupted_one():
    first = BayesSearch(STEP_SPACE, 7, maximize=False, batch_size=4, portfolio=PORTFOLIO)
    pts = _drive(first, 8)
    resumed = BayesSearch(STEP_SPACE, 7, maximize=False, batch_size=4, portfolio=PORTFOLIO)
    for i, p in enumerate(pts):
        resumed.tell_trial(Trial(number=i, state=TrialState.COMPLETE, params=p, value=_steps(p),
                                 user_attrs=first.attrs_for(p)))
    assert resumed.proposer_shares() == first.proposer_shares()
    assert resumed._slots(4, len(pts)) == first._slots(4, len(pts))
    nxt = resumed.ask(4)
    assert not {params_key(p) for p in nxt} & {params_key(p) for p in pts}


@pytest.mark.parametrize("n_trials", [5, 8, 12, 20])
def test_small_budgets_spend_exactly_the_budget_on_distinct_points(n_trials):
    small = Space({"a": Int(0, 9), "c": Cat(["x", "y"])})  # 20 points
    s = BayesSearch(small, 0, maximize=False, batch_size=4, portfolio=PORTFOLIO)
    seen: list[str] = []
    while len(seen) < n_trials:
        pts = s.ask(min(4, n_trials - len(seen)))
        assert pts
        for p in pts:
            s.tell(p, abs(p["a"] - 6) + (p["c"] == "x"))
            seen.append(params_key(p))
    assert len(set(seen)) == n_trials
    if n_trials == 20:
        assert s.exhausted and s.ask(4) == []
