"""The density-ratio proposer of the Bayesian search, and small budgets on a small grid of real backtests."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bt_optimize as bto
from bt_optimize.search.bayes import BayesSearch, default_parzen_share
from bt_optimize.search.bayes.parzen import ParzenProposer, n_good
from bt_optimize.search.encoding import Encoder
from bt_optimize.space import Cat, Int, Real, Space, params_key
from tests.helpers_strategies import COUNT_ENV, CountingSmaCross, count_backtests

GRID = Space({"a": Int(0, 30), "s": Real(0.0, 1.0, step=0.05), "m": Cat(["x", "y", "z"])})


def _peak(p: dict) -> float:
    """A plateau (0 for most points) with one hill at a=24, s=0.2, m='z' (to maximise)."""
    d = ((p["a"] - 24) / 30) ** 2 + (p["s"] - 0.2) ** 2
    return (3.0 - 20 * d if p["m"] == "z" else 1.0 - 20 * d) if d < 0.05 else 0.0


def _told(space: Space, f, n: int, seed: int) -> tuple[Encoder, np.ndarray, np.ndarray]:
    enc = Encoder(space)
    pts = [space.sample(np.random.default_rng([seed, i])) for i in range(n)]
    return enc, enc.rows(pts), -np.array([f(p) for p in pts])


def test_good_set_size():
    assert [n_good(n) for n in (1, 2, 9, 10, 11, 100, 1000)] == [1, 1, 1, 1, 2, 10, 25]
    assert n_good(10, share=0.25) == 3


def test_density_ratio_prefers_the_good_region_and_respects_each_kind_of_dimension():
    enc, R, y = _told(GRID, _peak, 60, 0)
    prop = ParzenProposer(enc, share=0.2)
    order = np.argsort(y, kind="stable")
    good, bad = prop.units(R[order[:12]]), prop.units(R[order[12:]])
    near = enc.rows([{"a": 24, "s": 0.2, "m": "z"}, {"a": 23, "s": 0.25, "m": "z"}])
    far = enc.rows([{"a": 2, "s": 0.9, "m": "x"}, {"a": 5, "s": 0.7, "m": "y"}])
    ratio = lambda rows: prop.log_density(good, prop.units(rows)) - prop.log_density(bad, prop.units(rows))  # noqa: E731
    assert ratio(near).min() > ratio(far).max()
    # each mixture is a probability distribution over the grid (discrete kernels weigh cells, cats sum to 1)
    every = enc.grid_rows()
    total = np.exp(prop.log_density(good, prop.units(every))).sum()
    assert total == pytest.approx(1.0, abs=1e-6)


def test_proposals_are_unseen_grid_rows_drawn_near_good_points():
    enc, R, y = _told(GRID, _peak, 40, 1)
    seen = {r.tobytes() for r in R}
    rows = ParzenProposer(enc).propose(R, y, np.random.default_rng(5), seen, 6)
    assert len(rows) == 6 and len({r.tobytes() for r in rows}) == 6 and not {r.tobytes() for r in rows} & seen
    for r in rows:
        p = enc.point(r)
        assert GRID.validate_point(p) == p
    # log dimensions and continuous reals decode into their bounds too
    space = Space({"n": Int(1, 1000, log=True), "x": Real(0.01, 10.0, log=True), "u": Real(-1.0, 1.0)})
    enc, R, y = _told(space, lambda p: -abs(math.log(p["n"]) - 3) - abs(p["u"]), 20, 2)
    for r in ParzenProposer(enc).propose(R, y, np.random.default_rng(0), set(), 5):
        p = enc.point(r)
        assert space.validate_point(p) == p


def test_bayes_search_mixes_parzen_proposals_and_is_order_independent():
    kw = dict(seed=4, batch_size=4, parzen_share=0.25, n_initial_points=8)
    s = BayesSearch(GRID, **kw)
    first = s.ask(8)
    for p in first:
        s.tell(p, _peak(p))
    batch = s.ask(4)
    assert sum(s.attrs_for(p)["acquisition"] == "parzen" for p in batch) == 1
    assert len({params_key(p) for p in first + batch}) == 12
    # the same results told in another order give the same next batch (results of a parallel round arrive in any
    # order)
    t = BayesSearch(GRID, **kw)
    assert t.ask(8) == first
    for p in reversed(first):
        t.tell(p, _peak(p))
    assert t.ask(4) == batch


def test_parzen_only_search_climbs_a_plateau_better_than_its_design():
    wins = 0
    for seed in range(4):
        s = BayesSearch(GRID, seed=seed, batch_size=4, parzen_share=1.0, random_share=0.0, n_initial_points=8)
        design = s.ask(8)
        for p in design:
            s.tell(p, _peak(p))
        later = []
        for _ in range(6):
            pts = s.ask(4)
            assert {s.attrs_for(p)["acquisition"] for p in pts} == {"parzen"}
            for p in pts:
                s.tell(p, _peak(p))
            later += pts
        wins += max(map(_peak, later)) > max(map(_peak, design))
    assert wins >= 3


def test_default_share_on_a_grid_and_off_on_a_continuous_space():
    assert default_parzen_share(GRID) == 0.5 and BayesSearch(GRID, seed=0).parzen_share == 0.5
    assert default_parzen_share(Space({"x": Real(0.0, 1.0), "n": Int(1, 5)})) == 0.0
    s = BayesSearch(GRID, seed=1, batch_size=4)
    seen = []
    for _ in range(5):
        pts = s.ask(4)
        for p in pts:
            s.tell(p, _peak(p))
        seen += pts
    acqs = [s.attrs_for(p)["acquisition"] for p in seen]
    # the design (8 points for 3 dimensions), then every 8th proposal random, every other one from the density
    # ratio, the rest from the GP's acquisition (the first of them in each round near the incumbent)
    assert acqs[:8] == ["random"] * 8
    assert [i for i, a in enumerate(acqs) if i >= 8 and a == "random"] == [15]
    assert [i for i, a in enumerate(acqs) if a == "parzen"] == [8, 9, 12, 13, 16, 17]
    gp = [s.attrs_for(p) for p in seen[8:] if s.attrs_for(p)["acquisition"] not in ("random", "parzen")]
    assert [bool(a.get("local")) for a in gp] == [True, False, True, True, False]


def test_parzen_share_is_validated():
    for bad in (-0.1, 1.5, True, "half"):
        with pytest.raises(ValueError, match="parzen_share"):
            BayesSearch(GRID, seed=0, parzen_share=bad)


# ---------------------------------------------------------------------------------------------- real backtests
SMALL = dict(fast=bto.Int(5, 30, step=5), slow=bto.Int(40, 100, step=20), ma=bto.Cat(["sma", "ema"]))  # 48 points


def _cerebro(maxcpus: int) -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2004-01-01", todate="2005-12-31"))
    return cerebro


def test_small_budgets_run_exactly_that_many_distinct_backtests_and_find_good_points(tmp_path, monkeypatch):
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    grid = _cerebro(2).optimize_grid(CountingSmaCross, progress=False, **SMALL).trials
    values = np.sort(grid.value.dropna().to_numpy())
    assert count_backtests(counter) == len(grid) == 48
    done = 48
    for n in (5, 8, 12, 20):
        study = _cerebro(2).optimize_bayes(CountingSmaCross, n_trials=n, seed=n, progress=False, **SMALL)
        done += n
        df = study.trials
        assert study.n_ran == len(df) == n and count_backtests(counter) == done
        assert not df[["params_fast", "params_slow", "params_ma"]].duplicated().any()
        # the best found beats the grid's median, and more so as the budget grows
        rank = float(np.searchsorted(values, study.best_value, side="right")) / len(values)
        assert rank >= (0.5 if n < 12 else 0.75), (n, study.best_value)


@pytest.mark.parametrize("n_trials", [12, 20])
def test_same_seed_same_trials_with_one_or_two_processes(n_trials):
    runs = [_cerebro(c).optimize_bayes(CountingSmaCross, n_trials=n_trials, seed=7, progress=False, **SMALL)
            for c in (1, 2)]
    cols = ["number", "params_fast", "params_slow", "params_ma", "attr_acquisition"]
    assert runs[0].trials[cols].equals(runs[1].trials[cols])
    assert "parzen" in set(runs[0].trials.attr_acquisition)
