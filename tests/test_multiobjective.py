"""Multi-objective studies (``objective=[...]``) on real backtests: fronts, NSGA-II, ParEGO, resume after kill -9."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import backtrader as bt
import numpy as np
import pytest

import bt_optimize as bto
from bt_optimize import ObjectiveError, TrialState
from bt_optimize.objectives.multi import trial_values
from bt_optimize.stats.pareto import hypervolume, non_dominated
from bt_optimize.storage import SQLiteStorage
from sample_strategies import SmaCross
from tests.helpers_processes import kill_9_after

SPACE = dict(fast=bto.Int(2, 40), slow=bto.Int(30, 160, step=10))
OBJECTIVES = ["sharpe_ratio", "max_drawdown"]

KILL_SCRIPT = """
import sys

import backtrader as bt
import bt_optimize as bto
from sample_strategies import SmaCross

cerebro = bto.Cerebro(maxcpus=2)
cerebro.adddata(bto.datasets.load("orcl", fromdate="2006-01-01", todate="2009-12-31"))
cerebro.broker.setcash(100_000)
cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
study = cerebro.optimize_genetic(SmaCross, fast=bto.Int(2, 40), slow=bto.Int(30, 160, step=10),
                                 objective=["sharpe_ratio", "max_drawdown"], population_size=8, generations=5,
                                 seed=11, storage=sys.argv[1], study_name="mo", progress=False)
print("finished", study.stop_reason, flush=True)
"""


def _cerebro(maxcpus: int = 2) -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2006-01-01", todate="2009-12-31"))
    cerebro.broker.setcash(100_000)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    return cerebro


def _genetic(**kw) -> bto.Study:
    return _cerebro().optimize_genetic(SmaCross, **SPACE, objective=OBJECTIVES, population_size=8, generations=5,
                                       seed=11, progress=False, **kw)


def _assert_true_front(study: bto.Study) -> None:
    """best_trials is exactly the set of complete trials no other complete trial dominates (brute force)."""
    done = {}
    for t in study.get_trials((TrialState.COMPLETE,)):
        done.setdefault(tuple(sorted(t.params.items())), t)
    pts = list(done.values())
    vals = [trial_values(t) for t in pts]
    front = {tuple(sorted(t.params.items())) for t in study.best_trials}
    for t, a in zip(pts, vals):
        dominated = any(b[0] >= a[0] and b[1] <= a[1] and (b[0] > a[0] or b[1] < a[1]) for b in vals)
        assert (tuple(sorted(t.params.items())) in front) == (not dominated), (t.params, a)
    assert len(front) == len(study.best_trials) >= 1


@pytest.fixture(scope="module")
def reference() -> bto.Study:
    return _genetic()


def test_nsga2_front_is_truly_non_dominated(reference, tmp_path):
    st = reference
    assert st.stop_reason == "generations" and len(st.generations) == 5
    _assert_true_front(st)
    for t in st.best_trials:  # the recorded values are the metrics, in the order given
        assert trial_values(t) == pytest.approx([t.metrics["sharpe_ratio"], t.metrics["max_drawdown"]])
    with pytest.raises(ObjectiveError, match="best_trials"):
        _ = st.best_params
    st.plot_pareto(str(tmp_path / "front.png"))
    assert (tmp_path / "front.png").stat().st_size > 0


def test_nsga2_improves_the_front_over_its_first_generation(reference):
    trials = [t for t in reference.get_trials((TrialState.COMPLETE,))]
    first = [trial_values(t) for t in trials if t.user_attrs.get("generation") == 0]
    every = [trial_values(t) for t in trials]
    ref = [min(v[0] for v in every) - 0.01, max(v[1] for v in every) + 0.01]
    assert hypervolume(every, ref, [True, False]) > hypervolume(first, ref, [True, False])


def test_parego_bayes_and_grid_fronts(tmp_path):
    st = _cerebro().optimize_bayes(SmaCross, **SPACE, objective=OBJECTIVES, n_trials=16, batch_size=4, seed=2,
                                   progress=False)
    _assert_true_front(st)
    weights = [w for w in st.trials.get("attr_weights", []) if isinstance(w, str)]
    assert weights, "model rounds record the Chebyshev weights they used"
    grid = _cerebro().optimize_grid(SmaCross, fast=[5, 10, 20], slow=[50, 100], objective=OBJECTIVES + ["n_trades"],
                                    maximize=[True, False, True], progress=False)
    done = grid.get_trials((TrialState.COMPLETE,))
    mask = non_dominated([trial_values(t) for t in done], [True, False, True])
    assert {t.number for t, m in zip(done, mask) if m} == {t.number for t in grid.best_trials}
    with pytest.raises(ObjectiveError, match="patience"):
        _cerebro().optimize_bayes(SmaCross, **SPACE, objective=OBJECTIVES, patience=3, progress=False)
    with pytest.raises(ObjectiveError, match="one objective"):
        _cerebro().walk_forward(SmaCross, method="grid", train=300, test=100, objective=OBJECTIVES, fast=[5, 10],
                                slow=[50])


def test_multi_objective_resume_after_kill_9(reference, tmp_path: Path) -> None:
    db = tmp_path / "mo.db"
    script = tmp_path / "mo.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    proc = subprocess.Popen([sys.executable, str(script), str(db)], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kill_9_after(proc, db, 12, "the multi-objective run")
    storage = SQLiteStorage(db)
    assert storage.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    before = {n: (p, v) for n, p, v in storage.conn.execute("SELECT number, params, user_attrs FROM trials")}
    storage.close()
    assert 12 <= len(before) < 40
    resumed = _genetic(storage=str(db), study_name="mo")
    assert resumed.stop_reason == "generations"
    storage = SQLiteStorage(db)
    after = {n: (p, v) for n, p, v in storage.conn.execute("SELECT number, params, user_attrs FROM trials")}
    storage.close()
    assert {n: after[n] for n in before} == before, "trials stored before the kill are untouched"
    # the resumed study ends as the uninterrupted one: same populations, same front
    assert resumed.search.populations == reference.search.populations
    front = sorted((sorted(t.params.items()), trial_values(t)) for t in resumed.best_trials)
    ref_front = sorted((sorted(t.params.items()), trial_values(t)) for t in reference.best_trials)
    assert [p for p, _ in front] == [p for p, _ in ref_front]
    assert [x for _, v in front for x in v] == pytest.approx([x for _, v in ref_front for x in v])
    ran = [t for t in resumed.get_trials() if not t.cached]
    params = [tuple(sorted(t.params.items())) for t in ran]
    assert len(params) == len(set(params)), "a point was backtested twice"
    _assert_true_front(resumed)
    assert np.isfinite([v for t in resumed.best_trials for v in trial_values(t)]).all()
