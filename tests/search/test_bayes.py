"""Bayesian search: pure ask/tell behaviour on synthetic functions, then real backtests through the facade."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bt_optimize as bto
from bt_optimize.engine.fidelity import promotion_bound
from bt_optimize.engine.windows import expanding_folds, recent_window
from bt_optimize.exceptions import SpaceError
from bt_optimize.search.bayes import (
    AUTO_LADDER,
    AUTO_START,
    NOISE_FLOOR,
    PRUNED_NOISE_FLOOR,
    BayesSearch,
    default_n_initial_points,
    fold_noise,
)
from bt_optimize.search.random import RandomSearch
from bt_optimize.search.refine import RefineSearch, perturb
from bt_optimize.space import Cat, Int, Real, Space, params_key
from bt_optimize.trial import Trial, TrialState
from sample_strategies import SmaCross
from tests.helpers_processes import kill_9_after
from tests.helpers_strategies import COUNT_ENV, CountingSmaCross, count_backtests

FROM, TO = "2003-01-01", "2005-12-31"
ROOT = Path(__file__).resolve().parents[2]


def _quadratic(p: dict) -> float:
    """A cheap smooth function to maximise; its best is 0 at x=0.3, y=-1.2, n=7, kind='b'."""
    penalty = 0 if p["kind"] == "b" else 1
    return -((p["x"] - 0.3) ** 2) - 0.5 * (p["y"] + 1.2) ** 2 - 0.02 * (p["n"] - 7) ** 2 - penalty


SPACE = Space({"x": Real(-2.0, 2.0), "y": Real(-2.0, 2.0), "n": Int(0, 20), "kind": Cat(["a", "b", "c"])})


def _run(search, f, rounds: int, batch: int) -> tuple[float, list[dict]]:
    seen = []
    best = -math.inf
    for _ in range(rounds):
        pts = search.ask(batch)
        for p in pts:
            v = f(p)
            best = max(best, v)
            search.tell(p, v)
        seen.extend(pts)
    return best, seen


# ---------------------------------------------------------------------------------------------- pure ask/tell
def test_batches_are_distinct_and_never_repeat():
    s = BayesSearch(SPACE, seed=3, batch_size=4)
    _, seen = _run(s, _quadratic, rounds=6, batch=4)
    keys = [params_key(p) for p in seen]
    assert len(seen) == 24 and len(set(keys)) == 24
    assert all(SPACE.validate_point(p) == p for p in seen)


def test_tiny_discrete_space_is_exhausted_without_duplicates():
    space = Space({"a": Int(1, 3), "m": Cat(["x", "y"])})
    s = BayesSearch(space, seed=0, batch_size=4, n_initial_points=2)
    seen = []
    for _ in range(10):
        pts = s.ask(4)
        if not pts:
            break
        for p in pts:
            s.tell(p, float(p["a"]) + (p["m"] == "y"))
        seen.extend(pts)
    assert len({params_key(p) for p in seen}) == len(seen) == 6
    assert s.exhausted and s.ask(4) == []


def test_points_running_elsewhere_are_not_proposed_again():
    s = BayesSearch(Space({"a": Int(0, 9)}), seed=0, n_initial_points=2)
    first = s.ask(2)
    for p in first:
        s.tell(p, float(p["a"]))
    out = s.ask(3) + s.ask(3)  # the first three are still pending when the next three are asked
    assert len({params_key(p) for p in out + first}) == 8


def test_default_initial_design_and_attrs():
    assert default_n_initial_points(4, 4) == 10 and default_n_initial_points(1, 1) == 4
    assert default_n_initial_points(2, 8) == 16
    s = BayesSearch(SPACE, seed=1, batch_size=4)
    _, seen = _run(s, _quadratic, rounds=4, batch=4)
    acqs = [s.attrs_for(p)["acquisition"] for p in seen]
    assert acqs[:10] == ["random"] * 10
    # after the design, every 8th proposal (random_share=0.125) is random, the rest use the acquisition
    assert [i for i, a in enumerate(acqs) if i >= 10 and a == "random"] == [15]
    later = [s.attrs_for(p) for i, p in enumerate(seen) if i >= 10 and i != 15]
    assert later and all(a["phase"] == "bo" and a["acquisition"] == AUTO_LADDER[AUTO_START].name for a in later)
    assert all(a["xi"] == AUTO_LADDER[AUTO_START].xi for a in later)
    assert [bool(a.get("local")) for a in later] == [True, False, True, False, False]  # first of each round


@pytest.mark.parametrize("acq", ["EI", "PI", "LCB", "gp_hedge"])
def test_fixed_acquisitions_are_recorded(acq):
    s = BayesSearch(SPACE, seed=2, batch_size=3, acquisition=acq, n_initial_points=4)
    _, seen = _run(s, _quadratic, rounds=3, batch=3)
    names = {s.attrs_for(p)["acquisition"] for p in seen[4:]} - {"random"}  # random_share picks aside
    assert names and names <= ({"EI", "PI", "LCB"} if acq == "gp_hedge" else {acq})


def test_auto_explores_when_stalled_and_exploits_when_improving():
    flat = BayesSearch(SPACE, seed=0, batch_size=2, n_initial_points=4)
    _, seen = _run(flat, lambda p: 1.0, rounds=10, batch=2)  # never improves
    assert flat.auto_level() == len(AUTO_LADDER) - 1
    assert flat.attrs_for(seen[-1]) == {"phase": "bo", **AUTO_LADDER[-1].attrs()}
    assert flat.attrs_for(seen[-1])["acquisition"] == "LCB"

    counter = iter(range(1000))
    rising = BayesSearch(SPACE, seed=0, batch_size=2, n_initial_points=4)
    _, seen = _run(rising, lambda p: float(next(counter)), rounds=10, batch=2)  # every trial improves
    assert rising.auto_level() == 0
    assert rising.attrs_for(seen[-1]) == {"phase": "bo", "acquisition": "PI", "xi": 0.001}


def test_bayes_beats_random_on_average():
    gaps = []
    for seed in range(4):
        bo, _ = _run(BayesSearch(SPACE, seed=seed, batch_size=4), _quadratic, rounds=7, batch=4)
        rnd, _ = _run(RandomSearch(SPACE, seed=seed), _quadratic, rounds=7, batch=4)
        gaps.append(bo - rnd)
    assert np.mean(gaps) > 0 and sum(g > 0 for g in gaps) >= 3


def test_minimise_direction_and_failures_keep_proposals_away():
    space = Space({"x": Real(0.0, 1.0)})
    s = BayesSearch(space, seed=0, maximize=False, n_initial_points=6)
    for _ in range(6):
        p = s.ask(1)[0]
        s.tell(p, None if p["x"] > 0.5 else p["x"], TrialState.FAIL if p["x"] > 0.5 else TrialState.COMPLETE)
    for _ in range(6):
        p = s.ask(1)[0]
        s.tell(p, None if p["x"] > 0.5 else p["x"])
    # minimising x with the upper half failing: the surrogate proposals concentrate near 0
    tail = [p["x"] for p in s._X[-4:]]
    assert np.median(tail) < 0.25


def test_initial_points_first_and_initial_values_told_not_asked():
    known = {"x": 0.3, "y": -1.2, "n": 7, "kind": "b"}
    start = [{"x": 1.0, "y": 1.0, "n": 1, "kind": "a"}, {"x": -1.0, "y": 0.0, "n": 2, "kind": "c"}]
    s = BayesSearch(SPACE, seed=0, initial_points=start)
    assert s.ask(3)[:2] == start
    s = BayesSearch(SPACE, seed=0, initial_points=[known], initial_values=[0.0], batch_size=2)
    _, seen = _run(s, _quadratic, rounds=4, batch=2)
    assert params_key(known) not in {params_key(p) for p in seen}
    with pytest.raises(SpaceError, match="outside"):
        BayesSearch(SPACE, initial_points=[{**known, "n": 99}])
    with pytest.raises(ValueError, match="one value"):
        BayesSearch(SPACE, initial_points=[known], initial_values=[1.0, 2.0])


def test_patience_stops_the_search():
    s = BayesSearch(SPACE, seed=0, patience=5, tol=0.1)
    values = iter([1.0, 2.0, 2.05, 2.0, 1.0, 2.09, 0.0])
    told = 0
    while s.stop_reason is None:
        for p in s.ask(1):
            s.tell(p, next(values))
            told += 1
    assert s.stop_reason == "patience" and told == 7 and s.ask(4) == []


def test_refine_perturbs_near_the_best_and_never_repeats():
    rng = np.random.default_rng(0)
    p = {"x": 0.3, "y": -1.2, "n": 7, "kind": "b"}
    for _ in range(50):
        q = perturb(SPACE, p, rng, 0.05)
        assert SPACE.validate_point(q) == q and q != p
    r = RefineSearch(SPACE, seed=0, maximize=True)
    for i, q in enumerate([p, {**p, "x": -1.9}, {**p, "y": 1.9}]):
        r.tell(q, _quadratic(q) - i)
    out = r.ask(6) + r.ask(6)
    assert len({params_key(q) for q in out}) == 12
    assert all(r.attrs_for(q)["phase"] == "refine" for q in out)
    near = [q for q in out if abs(q["x"] - 0.3) < 0.8 and abs(q["y"] + 1.2) < 0.8]
    assert len(near) >= 4


# ---------------------------------------------------------------------------------------------- real backtests
def _cerebro(maxcpus: int) -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate=FROM, todate=TO))
    return cerebro


SMA_SPACE = dict(fast=bto.Int(2, 40), slow=bto.Int(20, 120, step=5), ma=bto.Cat(["sma", "ema"]))


def _sma_study(maxcpus: int, **kw):
    return _cerebro(maxcpus).optimize_bayes(SmaCross, n_trials=16, batch_size=4, seed=1, progress=False,
                                            constraint=lambda p: p["fast"] < p["slow"], **SMA_SPACE, **kw)


def test_real_study_completes_in_parallel_and_is_reproducible_by_seed():
    par = _sma_study(2)
    assert par.stop_reason == "budget" and par.n_ran == 16
    df = par.trials
    ran = df[df.state != "infeasible"]
    assert len(ran) == 16 and (ran.state == "complete").all()
    assert not df[["params_fast", "params_slow", "params_ma"]].duplicated().any()
    assert set(df.attr_phase) == {"bo"}
    assert set(df.attr_acquisition) >= {"random", "EI"}
    assert (ran.params_fast < ran.params_slow).all()
    ser = _sma_study(1)
    cols = ["number", "params_fast", "params_slow", "params_ma", "attr_acquisition"]
    assert ser.trials[cols].equals(df[cols])
    assert ser.best_params == par.best_params


def test_initial_points_run_first_and_initial_values_are_not_run():
    first = [{"fast": 10, "slow": 50, "ma": "ema"}, {"fast": 5, "slow": 100, "ma": "sma"}]
    study = _cerebro(1).optimize_bayes(SmaCross, n_trials=6, batch_size=2, seed=0, progress=False,
                                       initial_points=first, **SMA_SPACE)
    assert [study.trials.loc[i, ["params_fast", "params_slow", "params_ma"]].tolist() for i in (0, 1)] == [
        list(p.values()) for p in first]
    assert list(study.trials.attr_acquisition[:2]) == ["initial", "initial"]
    told = _cerebro(1).optimize_bayes(SmaCross, n_trials=4, batch_size=2, seed=0, progress=False,
                                      initial_points=first, initial_values=[0.5, None], **SMA_SPACE)
    pts = {(r.params_fast, r.params_slow, r.params_ma) for r in told.trials.itertuples()}
    assert len(told.trials) == 4 and not pts & {tuple(p.values()) for p in first}


def test_facade_validates_before_any_backtest(tmp_path, monkeypatch):
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    c = _cerebro(1)
    bad = [dict(acquisition="UCB"), dict(refine=1.0), dict(batch_size=0), dict(patience=0), dict(tol=-1),
           dict(initial_points=[{"fast": 999, "slow": 50, "ma": "sma"}]), dict(n_trials=2.5),
           dict(initial_points=[{"fast": 10, "slow": 50, "ma": "sma"}], initial_values=[1.0, 2.0])]
    for kw in bad:
        with pytest.raises(SpaceError):
            c.optimize_bayes(CountingSmaCross, progress=False, **{"n_trials": 4, **SMA_SPACE, **kw})
    assert count_backtests(counter) == 0


def test_exhausts_a_six_point_space_with_six_backtests(tmp_path, monkeypatch):
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    study = _cerebro(2).optimize_bayes(CountingSmaCross, n_trials=20, batch_size=4, seed=0, progress=False,
                                       fast=bto.Int(5, 15, step=5), slow=60, ma=bto.Cat(["sma", "ema"]))
    assert study.stop_reason == "exhausted" and study.n_ran == 6 and count_backtests(counter) == 6


def test_resume_from_sqlite_runs_nothing_twice(tmp_path, monkeypatch):
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    db = tmp_path / "runs.db"
    kw = dict(n_trials=8, batch_size=4, seed=5, progress=False, storage=db, study_name="b",
              fast=bto.Int(2, 30), slow=bto.Int(40, 120, step=10))
    first = _cerebro(2).optimize_bayes(CountingSmaCross, **kw)
    assert first.n_ran == 8 and count_backtests(counter) == 8
    again = _cerebro(2).optimize_bayes(CountingSmaCross, **kw)  # same budget: nothing left to run
    assert again.n_ran == 8 and count_backtests(counter) == 8
    more = _cerebro(2).optimize_bayes(CountingSmaCross, **{**kw, "n_trials": 16, "refine": 0.25})
    df = more.trials
    assert more.n_ran == 16 and count_backtests(counter) == 16
    assert not df[["params_fast", "params_slow"]].duplicated().any()
    assert df.loc[:7, "params_fast"].tolist() == first.trials.params_fast.tolist()
    assert list(df.attr_phase) == ["bo"] * 12 + ["refine"] * 4


def test_refine_gets_its_share_after_a_patience_stop():
    # a known value no trial can beat: the main loop stops on patience; the pass then runs its own share only
    study = _cerebro(1).optimize_bayes(SmaCross, n_trials=20, batch_size=2, seed=4, refine=0.2, patience=4,
                                       initial_points=[{"fast": 10, "slow": 50, "ma": "sma"}], initial_values=[50.0],
                                       progress=False, **SMA_SPACE)
    phases = list(study.trials.attr_phase)
    assert phases == ["bo"] * 4 + ["refine"] * 4
    assert study.stop_reason == "patience"


def test_plots_of_a_bayes_study(tmp_path):
    study = _cerebro(1).optimize_bayes(SmaCross, n_trials=8, batch_size=2, seed=2, refine=0.25, progress=False,
                                       constraint=lambda p: p["fast"] < p["slow"], **SMA_SPACE)
    ran = study.trials[study.trials.state != "infeasible"]
    assert list(ran.attr_phase) == ["bo"] * 6 + ["refine"] * 2
    for name in ("plot_convergence", "plot_objective", "plot_evaluations"):
        path = tmp_path / f"{name}.png"
        fig = getattr(study, name)(path=str(path))
        assert path.stat().st_size > 1000 and fig.axes


# ---------------------------------------------------------------------------------------------- multi-fidelity
def test_pruned_points_enter_the_surrogate_pessimistically():
    s = BayesSearch(Space({"x": Real(0.0, 1.0)}), seed=0, output_transform="standard")
    for x, q in [(0.1, 0.0), (0.2, 1.0), (0.3, 2.0), (0.4, 3.0)]:  # promoted: full = 2 * quick + 1
        s.tell({"x": x}, 2 * q + 1, quick_value=q)
    s.tell({"x": 0.9}, -1.0, TrialState.PRUNED)  # quick -1 maps to -1: worse than the median, kept
    s.tell({"x": 0.8}, 2.9, TrialState.PRUNED)  # quick 2.9 maps to 6.8: capped at the median full value, 4
    points, z, alpha = s.surrogate_data()
    by_x = {p["x"]: (zi, ai) for p, zi, ai in zip(points, z, alpha)}
    raw = -np.array([1.0, 3.0, 5.0, 7.0, -1.0, 4.0])  # minimised
    want = (raw - raw.mean()) / raw.std()
    got = np.array([by_x[x][0] for x in (0.1, 0.2, 0.3, 0.4, 0.9, 0.8)])
    assert got == pytest.approx(want)
    assert by_x[0.9][1] == by_x[0.8][1] == PRUNED_NOISE_FLOOR  # the line fits exactly: the floor
    assert by_x[0.1][1] == 0.0
    # quick values never count as results
    assert s._best == -7.0
    s.tell({"x": 0.7}, 99.0, TrialState.PRUNED)
    assert s._best == -7.0


def _fidelity_study(maxcpus: int, **kw):
    return _cerebro(maxcpus).optimize_bayes(
        CountingSmaCross, n_trials=16, batch_size=4, seed=3, progress=False, fidelity=0.35,
        constraint=lambda p: p["fast"] < p["slow"], **SMA_SPACE, **kw)


def test_multi_fidelity_prunes_and_the_best_is_full_fidelity(tmp_path, monkeypatch):
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    study = _fidelity_study(2, promote_z=None)  # the quantile alone (test 2 is checked below)
    df = study.trials
    ran = [t for t in study.get_trials() if t.state is not TrialState.INFEASIBLE]
    pruned = [t for t in ran if t.state is TrialState.PRUNED]
    full = [t for t in ran if t.state is TrialState.COMPLETE]
    assert study.n_ran == len(ran) == 16 and pruned and full  # each candidate is one trial
    assert set(df.state) <= {"complete", "pruned", "infeasible"}
    n_bars = len(study.payload.feeds[0])
    quick = bto.Window(start=n_bars - round(0.35 * n_bars), end=None, warmup=120)  # warmup: largest Int, slow=120
    for t in pruned:
        assert t.window == quick and t.user_attrs["fidelity"] == 0.35 and t.value == t.user_attrs["quick_value"]
    for t in full:
        assert t.window == bto.Window() and t.user_attrs["fidelity"] == 1.0 and t.user_attrs["quick_value"] is not None
    # every candidate ran once on the quick window, the promoted ones once more on all the data
    assert count_backtests(counter) == 16 + len(full)
    # the promotion rule, replayed in trial-number order: above the 0.6 quantile of the quick values so far, or best
    seen = []
    for t in sorted(ran, key=lambda t: t.number):
        q = t.user_attrs["quick_value"]
        seen.append(q)
        promote = q > np.quantile(seen, 0.6) or q >= max(seen)
        assert promote == (t.state is TrialState.COMPLETE), t
    # the best is the best full-fidelity value, even when a quick value was higher
    assert study.best_trial.user_attrs["fidelity"] == 1.0
    assert study.best_value == max(t.value for t in full)
    # parallel finishing order does not change the promotions
    serial = _fidelity_study(1, promote_z=None)
    cols = ["number", "state", "params_fast", "params_slow", "params_ma"]
    assert serial.trials[cols].equals(df[cols])


def test_promotion_bound_fits_a_line_only_when_quick_values_predict_full_ones():
    line = [(q, 2.0 * q + 1.0 + e) for q, e in zip(range(6), [0.1, -0.1, 0.0, 0.1, -0.1, 0.0])]
    icpt, slope, margin = promotion_bound(line, 2.0)
    assert slope == pytest.approx(2.0, abs=0.05) and icpt == pytest.approx(1.0, abs=0.2)
    assert 0.1 < margin < 0.4  # two residual standard deviations
    assert promotion_bound(line[:4], 2.0) is None  # too few pairs
    assert promotion_bound([(q, -q) for q in range(6)], 1.0) is None  # no positive relation
    assert promotion_bound([(q, f) for q, f in zip(range(8), [1, 5, 0, 4, 1, 0, 5, 2])], 1.0) is None  # noise


def _replay_promotions(trials: list[Trial], z: float, batch: int) -> int:
    """Check every screening decision of a fidelity study, round by round; the number pruned by test 2."""
    trials = sorted(trials, key=lambda t: t.number)
    seen: list[float] = []
    by_bound = 0
    for r in range(0, len(trials), batch):  # test 2 uses the earlier rounds only
        earlier = [t for t in trials[:r] if t.state is TrialState.COMPLETE]
        line = promotion_bound([(t.user_attrs["quick_value"], t.value) for t in earlier], z)
        best = max((t.value for t in earlier), default=-math.inf)
        for t in trials[r:r + batch]:
            q = t.user_attrs["quick_value"]
            seen.append(q)
            leader = q >= max(seen)
            if not (q > np.quantile(seen, 0.6) or leader):
                assert t.state is TrialState.PRUNED and t.user_attrs["pruned_by"] == "quantile", t
            elif line is not None and not leader and line[0] + line[1] * q + line[2] < best:
                assert t.state is TrialState.PRUNED and t.user_attrs["pruned_by"] == "bound", t
                assert t.user_attrs["promote_bound"] == pytest.approx(line[0] + line[1] * q + line[2])
                by_bound += 1
            else:
                assert t.state is TrialState.COMPLETE and t.user_attrs["fidelity"] == 1.0, t
    return by_bound


def test_fidelity_promotes_only_candidates_that_could_beat_the_best(tmp_path, monkeypatch):
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    space = dict(fast=bto.Int(2, 20), slow=bto.Int(30, 120, step=5), ma=bto.Cat(["sma", "ema"]))  # all feasible
    kw = dict(n_trials=32, batch_size=4, seed=5, progress=False, fidelity=0.35, promote_z=0.0, **space)
    study = _cerebro(2).optimize_bayes(CountingSmaCross, **kw)
    trials = study.get_trials()
    assert len(trials) == 32 and count_backtests(counter) == 32 + sum(t.state is TrialState.COMPLETE for t in trials)
    assert _replay_promotions(trials, 0.0, 4) > 0  # test 2 did prune here
    # a resumed study seeds its pairs and best full value from storage
    db = tmp_path / "f.db"
    _cerebro(2).optimize_bayes(CountingSmaCross, **{**kw, "n_trials": 20}, storage=str(db), study_name="f")
    resumed = _cerebro(2).optimize_bayes(CountingSmaCross, **kw, storage=str(db), study_name="f")
    assert resumed.n_ran == 32
    _replay_promotions(resumed.get_trials(), 0.0, 4)


def test_fidelity_and_cv_options_are_validated_before_any_backtest(tmp_path, monkeypatch):
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    c = _cerebro(1)
    for kw, match in [(dict(fidelity=1.0), "fidelity"), (dict(fidelity=0), "fidelity"),
                      (dict(fidelity=0.3, promote_quantile=1.0), "promote_quantile"),
                      (dict(fidelity=0.3, promote_z=-1), "promote_z"),
                      (dict(fidelity=0.3, fidelity_warmup=-1), "fidelity_warmup"), (dict(cv=1), "cv"),
                      (dict(cv=True), "cv"), (dict(cv=200), "too few")]:
        with pytest.raises(SpaceError, match=match):
            c.optimize_bayes(CountingSmaCross, n_trials=4, progress=False, **SMA_SPACE, **kw)
    assert count_backtests(counter) == 0


# ---------------------------------------------------------------------------------------------- noise from folds
def test_expanding_folds_cover_the_window_once_with_growing_history():
    folds = expanding_folds(bto.Window(start=100, warmup=40), 1000, 3)
    assert [(w.start, w.end, w.warmup) for w in folds] == [(100, 400, 40), (400, 700, 340), (700, None, 640)]
    assert recent_window(bto.Window(), 1000, 0.35, 50) == bto.Window(start=650, end=None, warmup=50)
    assert recent_window(bto.Window(start=100, end=600), 1000, 0.5, 10) == bto.Window(start=350, end=600, warmup=10)


def test_fold_noise_becomes_per_point_noise_in_the_gp():
    space = Space({"x": Real(0.0, 1.0)})
    s = BayesSearch(space, seed=0, output_transform="standard")
    folds = {0.1: [1.0, 1.1, 0.9], 0.3: [1.5, 1.5, 1.5], 0.5: [0.0, 4.0, -1.0], 0.7: [2.0, 2.2, 1.8],
             0.9: [0.4, 0.6, 0.5]}
    for i, (x, f) in enumerate(folds.items()):
        s.tell_trial(Trial(number=i, state=TrialState.COMPLETE, params={"x": x}, value=float(np.mean(f)),
                           user_attrs={"folds": f}))
    points, z, alpha = s.surrogate_data()
    raw_var = np.var([np.mean(f) for f in folds.values()])
    want = {x: max(np.var(f, ddof=1) / len(f) / raw_var, NOISE_FLOOR) for x, f in folds.items()}
    assert dict(zip([p["x"] for p in points], alpha)) == pytest.approx(want)
    assert want[0.3] == NOISE_FLOOR and want[0.5] > 0.3  # equal folds get the floor; the spread one a lot of noise
    # the posterior the next round proposes from treats the noisy point as noisy: it does not interpolate it
    mu, _ = s.predict(points)
    miss = {p["x"]: abs(m - zi) for p, m, zi in zip(points, mu, z)}
    assert miss[0.5] > 3 * max(miss[x] for x in (0.1, 0.3, 0.7, 0.9))
    # without fold values there is no per-point noise, and the same point is fitted closely
    plain_search = BayesSearch(space, seed=0, output_transform="standard")
    for x, f in folds.items():
        plain_search.tell({"x": x}, float(np.mean(f)))
    points, z, alpha = plain_search.surrogate_data()
    assert not alpha.any()
    mu, _ = plain_search.predict(points)
    assert 5 * abs(mu - z)[[p["x"] for p in points].index(0.5)] < miss[0.5]


def test_cv_study_records_folds_and_tells_their_spread_to_the_gp():
    study = _cerebro(2).optimize_bayes(SmaCross, n_trials=8, batch_size=4, seed=4, progress=False, cv=3,
                                       constraint=lambda p: p["fast"] < p["slow"], **SMA_SPACE)
    done = study.get_trials((TrialState.COMPLETE,))
    assert len(done) == 8 and "attr_folds" in study.trials
    for t in done:
        assert len(t.user_attrs["folds"]) == 3 and t.value == pytest.approx(np.mean(t.user_attrs["folds"]))
    search = study.search
    points, z, alpha = search.surrogate_data()
    raw_var = np.var([t.value for t in done])
    want = {params_key(t.params): max(fold_noise(t.user_attrs["folds"]) / raw_var, NOISE_FLOOR) for t in done}
    assert {params_key(p): a for p, a in zip(points, alpha)} == pytest.approx(want)
    assert len(set(np.round(alpha, 12))) > 1  # heteroscedastic: one noise per point
    # a fold run equals a plain run on that fold's window
    t = done[0]
    folds = expanding_folds(bto.Window(), len(study.payload.feeds[0]), 3)
    one = _cerebro(1).optimize_grid(SmaCross, progress=False, window=folds[1],
                                    **{k: [v] for k, v in t.params.items()})
    assert one.best_value == pytest.approx(t.user_attrs["folds"][1], rel=1e-12)
    # run_best is one run over the whole window: it says its value is not the fold mean
    with pytest.warns(UserWarning, match="means over 3 walk-forward folds"):
        strat = study.run_best()
    assert strat.bto_result["value"] == pytest.approx(
        _cerebro(1).optimize_grid(SmaCross, progress=False, **{k: [v] for k, v in study.best_params.items()})
        .best_value, rel=1e-12)


# ---------------------------------------------------------------------------------------------- kill -9 and resume
KILL_SCRIPT = """
import sys

import bt_optimize as bto
from tests.helpers_strategies import CountingSmaCross

cerebro = bto.Cerebro(maxcpus=2)
cerebro.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2005-12-31"))
study = cerebro.optimize_bayes(CountingSmaCross, n_trials=int(sys.argv[2]), batch_size=4, seed=11,
                               storage=sys.argv[1], study_name="kb", progress=False,
                               fast=bto.Int(2, 19), slow=bto.Int(20, 120, step=5), ma=bto.Cat(["sma", "ema"]))
print("finished", study.stop_reason, flush=True)
"""
KILL_AFTER_ROWS = 12
KILL_BUDGET = 36


def _stored_rows(db) -> dict[int, tuple[str, float | None, str]]:
    """number -> (params json, value, state) of every stored trial, read-only (empty while the table is missing)."""
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            rows = con.execute("SELECT number, params, value, state FROM trials").fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return {}
    return {int(n): (json.dumps(json.loads(p), sort_keys=True), v, s) for n, p, v, s in rows}


@pytest.mark.slow
def test_bayes_resumes_after_kill_9_without_running_anything_twice(tmp_path, monkeypatch):
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    db = tmp_path / "runs.db"
    script = tmp_path / "bayes_kill.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(KILL_BUDGET)], cwd=tmp_path, env=env,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kill_9_after(proc, db, KILL_AFTER_ROWS, "the study")  # the main process and its two workers, mid-round
    before = _stored_rows(db)
    assert KILL_AFTER_ROWS <= len(before) < KILL_BUDGET

    resumed = _cerebro(2).optimize_bayes(CountingSmaCross, n_trials=KILL_BUDGET, batch_size=4, seed=11, storage=db,
                                         study_name="kb", progress=False, fast=bto.Int(2, 19),
                                         slow=bto.Int(20, 120, step=5), ma=bto.Cat(["sma", "ema"]))
    after = _stored_rows(db)
    assert resumed.stop_reason == "budget" and resumed.n_ran == len(after) == KILL_BUDGET
    assert {n: after[n] for n in before} == before, "trials stored before the kill are untouched"
    keys = [params for params, _, _ in after.values()]
    assert len(set(keys)) == len(keys), "no point ran twice"
    assert min(set(after) - set(before)) > max(before), "new trials continue the numbering"
    # every backtest that ran is a stored trial, except those the kill interrupted in the two workers
    assert KILL_BUDGET <= count_backtests(counter) <= KILL_BUDGET + 2


def test_encoding_is_scikit_optimizes_and_round_trips():
    from skopt.space import Categorical, Integer
    from skopt.space import Real as SkReal
    from skopt.utils import normalize_dimensions

    from bt_optimize.search.encoding import Encoder as _Encoder

    space = Space({"a": Int(2, 60), "b": Int(10, 250, step=5), "c": Real(0.01, 0.2, log=True), "m": Cat(["x", "y"]),
                   "k": Cat(["p", "q", "r"]), "f": 3, "s": Real(0.0, 0.15, step=0.03), "n": Int(1, 100, log=True)})
    sk = normalize_dimensions([Integer(2, 60), Integer(0, 48), SkReal(0.01, 0.2, prior="log-uniform"),
                               Categorical([0, 1]), Categorical([0, 1, 2]), Integer(0, 5),
                               Integer(1, 100, prior="log-uniform")])
    enc = _Encoder(space)
    rng = np.random.default_rng(0)
    points = [space.sample(rng) for _ in range(100)]
    rows = enc.rows(points)
    assert enc.encode(rows) == pytest.approx(np.array(sk.transform(rows.tolist())), abs=1e-12)
    assert [enc.point(r) for r in enc.decode(enc.encode(rows))] == points
    assert all(space.validate_point(enc.point(r)) == enc.point(r) for r in enc.sample(rng, 50))
    small = Space({"a": Int(4, 40, step=4), "s": Real(0.0, 0.15, step=0.03), "m": Cat(["x", "y"])})
    grid = [_Encoder(small).point(r) for r in _Encoder(small).grid_rows()]
    assert sorted(map(params_key, grid)) == sorted(map(params_key, small.grid()))
