"""The ask/tell contract (``bt_optimize.search.base.Search``), run against every search algorithm.

The searches are driven here the way the study drives them (rounds of ``ask``, every point told once per
proposal, resumed searches told the stored trials first), on a pure objective: these are properties of the
algorithms, so no backtest is needed. End-to-end runs through real backtests are in the other test files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bt_optimize.search.base import Search
from bt_optimize.search.bayes import BayesSearch
from bt_optimize.search.genetic import GeneticSearch
from bt_optimize.search.grid import GridSearch
from bt_optimize.search.random import RandomSearch
from bt_optimize.search.refine import RefineSearch
from bt_optimize.space import Cat, Int, Real, Space, params_key
from bt_optimize.trial import Trial, TrialState

SPACE = Space({"fast": Int(2, 30, step=2), "slow": Int(20, 120, step=10), "stop": Real(0.01, 0.2, step=0.01),
               "ma": Cat(["sma", "ema"])})
SMALL = Space({"a": Int(0, 4), "b": Cat(["x", "y"])})  # 10 points


def objective(p: dict[str, Any]) -> float | None:
    """A smooth landscape with an infeasible corner (``None``)."""
    if p.get("fast", 0) >= p.get("slow", 10**9):
        return None
    v = -((p.get("fast", 10) - 12) ** 2) / 50 - ((p.get("slow", 60) - 80) / 40) ** 2
    v += 0.3 * math.log(p.get("stop", 0.05) / 0.05) ** 2 * -1 + (0.2 if p.get("ma") == "ema" else 0.0)
    v += -abs(p.get("a", 2) - 3) + (0.5 if p.get("b") == "y" else 0.0)
    return v


def _refine(space: Space, seed: int) -> Search:
    s = RefineSearch(space, seed, maximize=True)
    rng = np.random.default_rng(99)
    for p in (space.sample(rng), space.sample(rng)):  # points to refine around
        s.tell(p, objective(p))
    return s


#: name -> (factory(space, seed), round size, promises no repeated proposal, promises exact resume)
SEARCHES: dict[str, tuple[Callable[[Space, int], Search], int, bool, bool]] = {
    "grid": (lambda space, seed: GridSearch(space), 3, False, True),
    "random": (lambda space, seed: RandomSearch(space, seed), 3, True, True),
    "genetic": (lambda space, seed: GeneticSearch(space, seed, maximize=True, population_size=6, generations=4,
                                                  diversity_threshold=None), 6, False, True),
    # the jitter shrinks after each round without improvement, a state the told trials do not carry: a resumed
    # refinement never repeats a stored point but may propose other new ones
    "refine": (_refine, 3, True, False),
    "bayes": (lambda space, seed: BayesSearch(space, seed, maximize=True, batch_size=3, n_initial_points=6), 3, True,
              True),
}


def drive(search: Search, rounds: int, size: int, trials: list[Trial] | None = None) -> list[dict[str, Any]]:
    """Ask ``rounds`` rounds of up to ``size`` points, as the study does: a point already recorded is answered from
    the records (told again, no new trial); a new one is evaluated and told before the next round. Returns the new
    points in order; ``trials`` collects the records."""
    out: list[dict[str, Any]] = []
    trials = trials if trials is not None else []
    cache = {params_key(t.params): t for t in trials}
    for _ in range(rounds):
        points = search.ask(size)
        if not points:
            break
        for p in points:
            hit = cache.get(params_key(p))
            if hit is not None:
                search.tell_trial(hit)
                continue
            v = objective(p)
            state = TrialState.INFEASIBLE if v is None else TrialState.COMPLETE
            t = Trial(number=len(trials), state=state, params=dict(p), value=v, user_attrs=search.attrs_for(p))
            trials.append(t)
            cache[params_key(p)] = t
            search.tell_trial(t)
            out.append(p)
    return out


@pytest.fixture(params=sorted(SEARCHES))
def algo(request: pytest.FixtureRequest) -> str:
    return request.param


def test_is_a_search_with_the_documented_interface(algo: str) -> None:
    factory, *_ = SEARCHES[algo]
    s = factory(SPACE, 1)
    assert isinstance(s, Search)
    assert s.stop_reason is None or isinstance(s.stop_reason, str)
    assert isinstance(s.exhausted, bool)
    with pytest.raises(TypeError):
        Search(SPACE, 1)  # the base class is abstract: ask must be implemented


def test_points_are_complete_and_inside_the_space(algo: str) -> None:
    factory, size, *_ = SEARCHES[algo]
    search = factory(SPACE, 2)
    points = drive(search, 4, size)
    assert points
    for p in points:
        assert list(p) == SPACE.names or set(p) == set(SPACE.names)
        for name, dim in SPACE.dims.items():
            assert dim.contains(p[name]), f"{algo}: {name}={p[name]!r} is outside {dim}"


def test_ask_respects_n(algo: str) -> None:
    factory, size, *_ = SEARCHES[algo]
    search = factory(SPACE, 3)
    first = search.ask(size)
    assert 1 <= len(first) <= size
    assert all(isinstance(p, dict) for p in first)


def test_same_seed_and_results_give_the_same_points(algo: str) -> None:
    factory, size, *_ = SEARCHES[algo]
    a = drive(factory(SPACE, 7), 4, size)
    b = drive(factory(SPACE, 7), 4, size)
    assert [params_key(p) for p in a] == [params_key(p) for p in b]


def test_no_point_is_proposed_twice_where_promised(algo: str) -> None:
    factory, size, unique, _ = SEARCHES[algo]
    if not unique:
        pytest.skip(f"{algo} re-proposes points by design (the study serves them from its cache)")
    search = factory(SPACE, 4)
    seen: set[str] = set()
    for _ in range(6):
        points = search.ask(size)
        keys = [params_key(p) for p in points]
        assert not seen & set(keys) and len(keys) == len(set(keys))
        seen |= set(keys)
        for p in points:
            search.tell(p, objective(p), TrialState.INFEASIBLE if objective(p) is None else TrialState.COMPLETE)


def test_resume_from_told_trials_continues_as_the_uninterrupted_run(algo: str) -> None:
    factory, size, _, exact = SEARCHES[algo]
    trials: list[Trial] = []
    full = drive(factory(SPACE, 5), 5, size, trials)
    cut = max(size, len(trials) // 2 // size * size)  # a study stopped half-way, between two rounds: its stored
    # trials are told first, in number order
    resumed = factory(SPACE, 5)
    for t in trials[:cut]:
        resumed.tell_trial(t)
    rest = drive(resumed, 3, size, list(trials[:cut]))
    assert rest
    told = {params_key(t.params) for t in trials[:cut]}
    assert not told & {params_key(p) for p in rest}, "a stored trial ran again"
    if exact:
        n = min(len(rest), len(full) - cut)
        assert [params_key(p) for p in rest[:n]] == [params_key(p) for p in full[cut:cut + n]]


def test_termination_on_a_small_finite_space(algo: str) -> None:
    factory, size, *_ = SEARCHES[algo]
    search = factory(SMALL, 0)
    points = drive(search, 100, size)
    assert len(points) <= SMALL.cardinality
    assert search.ask(size) == [], f"{algo} keeps proposing after it ended"
    assert search.exhausted or search.stop_reason is not None


def test_attrs_for_is_plain_json(algo: str) -> None:
    factory, size, *_ = SEARCHES[algo]
    search = factory(SPACE, 6)
    for p in search.ask(size):
        attrs = search.attrs_for(p)
        assert isinstance(attrs, dict)
        json.dumps(attrs)


def test_infeasible_and_failed_results_are_accepted(algo: str) -> None:
    factory, size, *_ = SEARCHES[algo]
    search = factory(SPACE, 8)
    for state in (TrialState.INFEASIBLE, TrialState.FAIL):
        points = search.ask(size)
        for p in points:
            search.tell_trial(Trial(number=0, state=state, params=dict(p), error="x"))
    assert isinstance(search.ask(size), list)
