"""The genetic search (DEAP underneath): encoding, operators, selection, elitism, stopping, resume, parallelism.

Operator-level tests drive :class:`GeneticSearch` through its ask/tell interface with known values; the study
tests run real backtests of ``SmaCross`` on three years of ORCL.
"""

from __future__ import annotations

import math
import pickle
import random
import subprocess
import sys
import warnings
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest

import bt_optimize as bto
from bt_optimize import SpaceError, TrialState
from bt_optimize.search.genetic import GeneticSearch, diversity, rank_weights, roulette_weights, select
from bt_optimize.space import Cat, Int, Real, Space, params_key
from sample_strategies import SmaCross

FROM, TO = "2003-01-01", "2005-12-31"  # about 750 bars: a slow average longer than that fails in backtrader
SMA_SPACE = dict(fast=bto.Int(2, 30), slow=bto.Int(20, 100, step=5), ma=bto.Cat(["sma", "ema", "wma"]))
WIDE_SPACE = dict(fast=bto.Int(2, 60), slow=bto.Int(20, 200, step=5), ma=bto.Cat(["sma", "ema", "wma"]))
REF = dict(population_size=8, generations=20, n_trials=20, elite_size=2, seed=11, diversity_threshold=None)


def _cerebro(maxcpus: int = 1) -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate=FROM, todate=TO))
    return cerebro


def _rows(study: bto.Study) -> list[tuple[int, str, dict[str, Any], float | None]]:
    return [(t.number, t.state.value, t.params, t.value) for t in study.get_trials()]


def _mixed_space() -> Space:
    return Space({"step": Int(5, 50, step=5), "logi": Int(1, 100, log=True), "logr": Real(0.01, 0.2, log=True),
                  "r": Real(0.0, 1.0), "rs": Real(0.0, 1.0, step=0.25), "ma": Cat(["sma", "ema", "wma"]),
                  "one": Cat([7])})


def _drive(ga: GeneticSearch, f, n_generations: int, reverse: bool = False) -> None:
    """Run ``n_generations`` generations, telling ``f(params) -> (value, state)`` (optionally in reverse)."""
    for _ in range(n_generations):
        pts = ga.ask(ga.population_size)
        assert pts, ga.stop_reason
        for p in reversed(pts) if reverse else pts:
            ga.tell(p, *f(p))


# ------------------------------------------------------------------------------------------- encoding, operators
def test_encoding_round_trips_for_every_dimension_type():
    space = _mixed_space()
    ga = GeneticSearch(space, seed=0, population_size=4)
    rng = np.random.default_rng(0)
    points = [space.sample(rng) for _ in range(300)]
    points += [dict(points[0], step=v) for v in space["step"].grid()]
    points += [dict(points[0], ma=v) for v in space["ma"].grid()]
    for p in points:
        genes = ga.encode(p)
        assert all(0.0 <= g <= 1.0 for i, g in enumerate(genes) if space.names[i] not in ("ma", "one"))
        assert ga.decode(genes) == p
        assert ga.encode(ga.decode(genes)) == pytest.approx(genes, abs=1e-12)
    # log dimensions are encoded in log space: the geometric midpoint sits at 0.5
    assert ga.encode(dict(points[0], logr=math.sqrt(0.01 * 0.2)))[2] == pytest.approx(0.5)
    # categories by index; decoding clips and rounds
    assert ga.encode(dict(points[0], ma="wma"))[5] == 2.0
    decoded = ga.decode([-3.0, 7.0, 0.5, 1.5, 0.6, 9.0, 0.0])
    assert decoded["step"] == 5 and decoded["logi"] == 100 and decoded["rs"] == 0.5 and decoded["ma"] == "wma"
    assert space.validate_point(decoded) == decoded


def test_crossover_and_mutation_keep_values_legal():
    space = _mixed_space()
    ga = GeneticSearch(space, seed=1, population_size=4, blend_alpha=0.5, mutation_sigma=0.3)
    rng = np.random.default_rng(1)
    seen: dict[str, set[Any]] = {n: set() for n in space.names}
    for _ in range(300):
        a, b = ga.individual(space.sample(rng)), ga.individual(space.sample(rng))
        ga.toolbox.mate(a, b)
        ga.toolbox.mutate(a)
        for ind in (a, b):
            assert space.validate_point(ind.params) == ind.params  # legal, plain values
            assert type(ind.params["step"]) is int and type(ind.params["r"]) is float
            assert list(ind) == ga.encode(ind.params)  # the genotype is the encoding of its point
            assert not ind.fitness.valid  # changed individuals carry no stale fitness
            for n in space.names:
                seen[n].add(ind.params[n])
    assert seen["ma"] == {"sma", "ema", "wma"} and seen["one"] == {7}
    assert seen["rs"] == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert {v % 5 for v in seen["step"]} == {0} and len(seen["step"]) > 5


def test_blend_crossover_stays_near_the_parents():
    space = Space({"x": Real(0.0, 100.0), "c": Cat(["a", "b"])})
    ga = GeneticSearch(space, seed=2, population_size=4, blend_alpha=0.5)
    for _ in range(200):
        a, b = ga.individual({"x": 40.0, "c": "a"}), ga.individual({"x": 60.0, "c": "b"})
        ga.toolbox.mate(a, b)
        for ind in (a, b):  # BLX-0.5 draws within half the parents' distance beyond them
            assert 30.0 - 1e-9 <= ind.params["x"] <= 70.0 + 1e-9
        assert {a.params["c"], b.params["c"]} == {"a", "b"}  # uniform crossover swaps, never invents


# ------------------------------------------------------------------------------------------- selection
def _counts(chosen: list[int], n: int) -> list[int]:
    c = Counter(chosen)
    return [c[i] for i in range(n)]


def test_tournament_picks_better_more_often_and_leaves_global_random_alone():
    random.seed(123)
    before = random.getstate()
    counts = _counts(select([1.0, 2.0, 3.0, 4.0, 5.0], 5000, "tournament", 3, random.Random(0)), 5)
    assert random.getstate() == before
    assert counts == sorted(counts) and counts[0] < counts[-1] / 5
    again = select([1.0, 2.0, 3.0, 4.0, 5.0], 50, "tournament", 3, random.Random(0))
    assert again == select([1.0, 2.0, 3.0, 4.0, 5.0], 50, "tournament", 3, random.Random(0))
    # failures (-inf) lose every tournament they share with a valid individual
    assert _counts(select([-math.inf, 1.0], 2000, "tournament", 2, random.Random(1)), 2)[0] < 600


def test_roulette_handles_negative_fitness_and_failures():
    fitness = [-5.0, -4.0, -3.0, -2.0, -1.0]
    weights = roulette_weights(fitness)
    assert all(w > 0 for w in weights) and weights == sorted(weights)
    assert weights == pytest.approx([0.8, 1.8, 2.8, 3.8, 4.8])  # f - f_min + (f_max - f_min) / n
    counts = _counts(select(fitness, 20000, "roulette", rnd=random.Random(2)), 5)
    expected = [20000 * w / sum(weights) for w in weights]
    assert all(abs(c - e) < 0.1 * e for c, e in zip(counts, expected))
    # the same shift makes the weights independent of where zero is
    assert roulette_weights([f + 1000 for f in fitness]) == pytest.approx(weights)
    # failures get weight 0 and are never drawn; equal fitness gives equal chances
    assert roulette_weights([-math.inf, 3.0, 3.0]) == [0.0, 1.0, 1.0]
    assert 0 not in select([-math.inf, 0.5, -0.5], 500, "roulette", rnd=random.Random(3))
    assert roulette_weights([-math.inf, -math.inf]) == [1.0, 1.0]


def test_rank_selection_is_proportional_to_rank_not_scale():
    assert rank_weights([-100.0, 0.1, 0.2, 1e6]) == [1.0, 2.0, 3.0, 4.0]
    assert rank_weights([1.0, 1.0, 2.0, -math.inf]) == [2.5, 2.5, 4.0, 1.0]
    counts = _counts(select([-100.0, 0.1, 0.2, 1e6], 20000, "rank", rnd=random.Random(4)), 4)
    for c, share in zip(counts, (0.1, 0.2, 0.3, 0.4)):
        assert abs(c / 20000 - share) < 0.02


def test_diversity_measure():
    dims = [Real(0.0, 1.0), Cat(["a", "b"]), Cat(["only"])]
    assert diversity([[0.3, 1.0, 0.0]] * 6, dims) == 0.0
    assert diversity([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]] * 3, dims) == pytest.approx(1.0)
    assert 0.0 < diversity([[0.4, 0.0, 0.0], [0.6, 0.0, 0.0]], dims) < 0.2


# ------------------------------------------------------------------------------------------- generations
def _bowl(p: dict[str, Any]) -> tuple[float | None, TrialState]:
    """Best near x=0.3, y=4 -- but y=4 fails and y=0 is infeasible, so the best points can never be elites."""
    if p["y"] == 4:
        return None, TrialState.FAIL
    if p["y"] == 0:
        return None, TrialState.INFEASIBLE
    return -((p["x"] - 0.3) ** 2) - (p["y"] - 4) ** 2 / 100, TrialState.COMPLETE


@pytest.mark.parametrize("maximize", [True, False])
def test_elitism_keeps_the_best_and_never_failures(maximize):
    sign = 1.0 if maximize else -1.0

    def f(p):
        v, s = _bowl(p)
        return (None if v is None else sign * v), s

    ga = GeneticSearch(Space({"x": Real(0.0, 1.0), "y": Int(0, 10)}), seed=3, maximize=maximize,
                       population_size=10, elite_size=3, generations=50, mutation_prob=0.5)
    _drive(ga, f, 8)
    pops = ga.populations
    for prev, cur in zip(pops, pops[1:]):
        results = {params_key(p): f(p) for p in prev}
        ok = sorted({k: v for k, (v, s) in results.items() if s is TrialState.COMPLETE}.items(),
                    key=lambda kv: -sign * kv[1])
        assert [params_key(p) for p in cur[:3]] == [k for k, _ in ok[:3]]
        assert all(f(p)[1] is TrialState.COMPLETE for p in cur[:3])
    frame = ga.generations_frame()
    assert len(frame) == 8 and frame["n_failed"].sum() > 0
    best = frame["best_so_far"].to_numpy()
    assert all(np.diff(best) * sign >= 0)  # the best never gets worse: elites survive


def test_ask_in_chunks_and_results_in_any_order_give_the_same_generations():
    space = Space({"x": Real(0.0, 1.0), "y": Int(0, 10), "c": Cat(["a", "b", "c"])})
    opts = dict(seed=9, population_size=10, elite_size=2, generations=50)
    whole, chunked = GeneticSearch(space, **opts), GeneticSearch(space, **opts)
    _drive(whole, _bowl, 5)
    for _ in range(5):
        for n in (3, 3, 4):  # a nearly spent budget asks for fewer than a generation
            for p in chunked.ask(n)[::-1]:
                chunked.tell(p, *_bowl(p))
    assert chunked.populations == whole.populations
    shuffled = GeneticSearch(space, **opts)
    _drive(shuffled, _bowl, 5, reverse=True)  # results arriving out of order
    assert shuffled.populations == whole.populations
    pd.testing.assert_frame_equal(shuffled.generations_frame(), whole.generations_frame())


def test_ask_refuses_to_breed_before_every_result_is_in():
    ga = GeneticSearch(Space({"x": Real(0.0, 1.0)}), seed=0, population_size=4)
    pts = ga.ask(4)
    for p in pts[:3]:
        ga.tell(p, 1.0)
    with pytest.raises(RuntimeError, match="batch_size=population_size"):
        ga.ask(4)
    ga.tell(pts[3], None, TrialState.FAIL)
    assert len(ga.ask(4)) == 4 and ga.generation == 1


def test_creator_classes_are_created_once_and_pickle_across_processes(tmp_path):
    import importlib

    import bt_optimize.search.genetic as genetic

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # DEAP warns when a creator class is created twice
        importlib.reload(genetic)
    ga = genetic.GeneticSearch(Space({"x": Int(1, 9)}), seed=0, population_size=4)
    ind = ga.individual({"x": 5})
    ind.fitness.values = (1.5,)
    blob = tmp_path / "ind.pkl"
    blob.write_bytes(pickle.dumps(ind))
    code = ("import pickle, sys, warnings; warnings.simplefilter('error'); import bt_optimize.search.genetic; "
            "ind = pickle.loads(open(sys.argv[1], 'rb').read()); print(type(ind).__name__, list(ind), ind.params, "
            "ind.fitness.values)")
    out = subprocess.run([sys.executable, "-c", code, str(blob)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["BtoIndividualMax", "[0.5]", "{'x':", "5}", "(1.5,)"]


# ------------------------------------------------------------------------------------------- studies (real runs)
@pytest.fixture(scope="module")
def reference() -> bto.Study:
    """An uninterrupted serial run, stopped by its budget of 20 backtests in the middle of a generation."""
    return _cerebro(1).optimize_genetic(SmaCross, **REF, progress=False, **WIDE_SPACE)


def test_budget_counts_only_backtests(reference):
    # every backtest started counts, points the strategy skips included; cache hits are free
    assert reference.stop_reason == "budget"
    assert reference.n_used == 20
    frame = reference.generations
    assert list(frame.columns[:7]) == ["generation", "best", "mean", "std", "diversity", "n_evaluated", "n_cached"]
    assert (frame["n_cached"].iloc[1:] >= 2).all()  # at least the elites are served from cache
    assert frame["n_evaluated"].sum() <= reference.n_ran
    keys = [params_key(t.params) for t in reference.get_trials()]
    assert len(keys) == len(set(keys))  # nothing recorded twice
    assert reference.best_value == max(t.value for t in reference.get_trials() if t.ok)


def test_same_seed_same_trials_with_two_workers(reference):
    study = _cerebro(2).optimize_genetic(SmaCross, **REF, progress=False, **WIDE_SPACE)
    assert _rows(study) == _rows(reference)
    pd.testing.assert_frame_equal(study.generations, reference.generations)


def test_resume_equals_uninterrupted_run(reference, tmp_path):
    db = tmp_path / "runs.db"
    kw = dict(REF, storage=db, study_name="ga", progress=False)
    first = _cerebro(2).optimize_genetic(SmaCross, **dict(kw, n_trials=10), **WIDE_SPACE)
    assert first.stop_reason == "budget" and first.n_used == 10
    resumed = _cerebro(2).optimize_genetic(SmaCross, **kw, **WIDE_SPACE)
    assert resumed.stop_reason == "budget" and resumed.n_used == 20
    assert _rows(resumed) == _rows(reference)
    assert (resumed.best_params, resumed.best_value) == (reference.best_params, reference.best_value)
    pd.testing.assert_frame_equal(resumed.generations, reference.generations)
    # reopened with its budget spent: nothing runs, the generations are rebuilt from the stored trials
    reopened = _cerebro(1).optimize_genetic(SmaCross, **kw, **WIDE_SPACE)
    assert _rows(reopened) == _rows(reference)
    pd.testing.assert_frame_equal(reopened.generations, reference.generations)


def test_generations_accounting_failures_and_infeasible_points(tmp_path):
    # slow > ~750 bars fails inside backtrader; fast >= slow is skipped (infeasible); the constraint rejects wma
    study = _cerebro(2).optimize_genetic(
        SmaCross, fast=bto.Int(2, 30), slow=bto.Int(20, 1000, step=20), ma=bto.Cat(["sma", "ema", "wma"]),
        constraint=lambda p: p["ma"] != "wma", population_size=8, generations=3, elite_size=3, seed=5,
        progress=False)
    assert study.stop_reason == "generations"
    frame = study.generations
    assert frame["generation"].tolist() == [0, 1, 2]
    states = Counter(t.state for t in study.get_trials())
    assert states[TrialState.FAIL] > 0 and states[TrialState.INFEASIBLE] > 0
    assert frame["n_evaluated"].sum() == study.n_ran  # the whole run is in complete generations
    assert frame["n_failed"].sum() == states[TrialState.FAIL] + states[TrialState.INFEASIBLE]
    # every position is a new backtest, a cache hit or a new infeasible point (failures are new backtests)
    positions = frame["n_evaluated"] + frame["n_cached"] + frame["n_failed"]
    assert positions.sum() - states[TrialState.FAIL] == 3 * 8
    by_key = {params_key(t.params): t for t in study.get_trials()}
    pops = study.search.populations
    for g in (1, 2):
        assert all(by_key[params_key(p)].ok for p in pops[g][:3])  # elites: only completed points
    ran = [t for t in study.get_trials() if t.state is not TrialState.INFEASIBLE or "constraint" not in t.error]
    assert {t.user_attrs["generation"] for t in ran} <= {0, 1, 2}
    fig = study.plot_generations(str(tmp_path / "generations.png"))
    assert (tmp_path / "generations.png").stat().st_size > 0 and len(fig.axes) == 2


def test_patience_stop_and_one_diversity_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = _cerebro(1).optimize_genetic(
            SmaCross, fast=bto.Cat([10, 20]), ma=bto.Cat(["sma", "ema", "wma"]), population_size=6,
            generations=30, elite_size=1, tournament_size=6, mutation_prob=0.0, patience=3,
            diversity_threshold=0.3, seed=2, progress=False)
    assert study.stop_reason == "patience"
    frame = study.generations
    improved = frame.index[frame["best_so_far"].diff().fillna(1.0) != 0].max()
    assert len(frame) == improved + 1 + 3
    assert study.n_ran <= 6
    low = frame["diversity"] < 0.3
    assert low.sum() >= 2
    msgs = [str(w.message) for w in caught if "diversity" in str(w.message)]
    assert len(msgs) == 1 and "mutation_prob" in msgs[0]


def test_target_stop_with_a_minimised_objective_and_roulette():
    study = _cerebro(1).optimize_genetic(SmaCross, objective="max_drawdown", selection="roulette", target=50.0,
                                         population_size=6, seed=4, progress=False, **SMA_SPACE)
    assert study.objective.maximize is False
    assert study.stop_reason == "target"
    values = [t.value for t in study.get_trials() if t.ok]
    assert study.best_value == min(values) <= 50.0
    assert study.generations["best"].iloc[-1] == min(values)


def test_minimisation_runs_several_generations_with_rank_selection():
    study = _cerebro(2).optimize_genetic(SmaCross, objective="max_drawdown", selection="rank", population_size=6,
                                         generations=3, elite_size=1, seed=6, progress=False, **SMA_SPACE)
    assert study.stop_reason == "generations"
    best = study.generations["best_so_far"].to_numpy()
    assert all(np.diff(best) <= 0) and best[-1] == study.best_value


def test_max_time_stop():
    study = _cerebro(1).optimize_genetic(SmaCross, max_time=1e-6, population_size=4, seed=1, progress=False,
                                         **SMA_SPACE)
    assert study.stop_reason == "max_time"
    assert len(study.generations) == 1


@pytest.mark.parametrize("kw, match", [
    (dict(selection="roulete"), "did you mean 'roulette'"),
    (dict(population_size=1), "population_size"),
    (dict(elite_size=30), "elite_size"),
    (dict(tournament_size=0), "tournament_size"),
    (dict(crossover_prob=1.5), "crossover_prob"),
    (dict(mutation_prob=-0.1), "mutation_prob"),
    (dict(generations=0), "generations"),
    (dict(patience=0), "patience"),
    (dict(target=math.nan), "target"),
    (dict(max_time=0), "max_time"),
    (dict(diversity_threshold=2), "diversity_threshold"),
    (dict(n_trials=0), "n_trials"),
    (dict(seed=1.5), "seed"),
])
def test_options_are_checked_before_any_backtest(kw, match, tmp_path):
    db = tmp_path / "never.db"
    with pytest.raises(SpaceError, match=match):
        _cerebro(1).optimize_genetic(SmaCross, storage=db, progress=False, **kw, **SMA_SPACE)
    assert not db.exists()


def test_generations_only_for_genetic_studies():
    study = _cerebro(1).optimize_random(SmaCross, n_trials=2, seed=0, progress=False, **SMA_SPACE)
    with pytest.raises(AttributeError, match="optimize_genetic"):
        _ = study.generations
