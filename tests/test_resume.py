"""Resume: a killed or finished study continues from its SQLite file with nothing lost and nothing run twice.

Real processes, a real ``kill -9``, real SQLite files, real backtests on ORCL.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import bt_optimize as bto
from bt_optimize import StudyMismatchError
from bt_optimize.storage import SQLiteStorage
from sample_strategies import SmaCross
from tests.helpers_processes import kill_9_after
from tests.helpers_strategies import COUNT_ENV, CountingSmaCross, count_backtests

FAST = range(5, 40, 5)
SLOW = range(40, 160, 10)
GRID = sorted(itertools.product(FAST, SLOW))
MIN_STORED_BEFORE_KILL = 10

KILL_SCRIPT = """
import sys

import bt_optimize as bto
from sample_strategies import SmaCross

cerebro = bto.Cerebro(maxcpus=2)
cerebro.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2006-12-31"))
study = cerebro.optimize_grid(SmaCross, fast=range(5, 40, 5), slow=range(40, 160, 10),
                              storage=sys.argv[1], study_name="k", progress=False)
print("finished", study.stop_reason, flush=True)
"""


def _cerebro(maxcpus: int = 2, fromdate: str = "2003-01-01", todate: str = "2006-12-31") -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate=fromdate, todate=todate))
    return cerebro


def _rows(db: Path) -> dict[int, tuple[dict, float | None, str]]:
    """number -> (params, value, state) of every stored trial, straight from the file."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT number, params, value, state FROM trials ORDER BY number").fetchall()
    finally:
        con.close()
    return {int(n): (json.loads(p), v, s) for n, p, v, s in rows}


@pytest.mark.slow
def test_resume_after_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    script = tmp_path / "optimize_grid.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    proc = subprocess.Popen([sys.executable, str(script), str(db)], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kill_9_after(proc, db, MIN_STORED_BEFORE_KILL, "the run")  # the main process and its workers, mid-study

    # the file survives the kill and opens
    before = _rows(db)
    n_before = len(before)
    assert MIN_STORED_BEFORE_KILL <= n_before < len(GRID)
    assert all(state == "complete" for _, _, state in before.values())
    storage = SQLiteStorage(db)
    assert storage.study_names() == ["k"]
    assert storage.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    storage.close()

    # resume in this process with the same storage and study name
    study = _cerebro().optimize_grid(SmaCross, fast=FAST, slow=SLOW, storage=db, study_name="k", progress=False)
    assert study.stop_reason == "exhausted"

    after = _rows(db)
    numbers = list(study.trials["number"])
    assert len(numbers) == len(set(numbers)) == len(after), "a trial number was stored twice"
    # the trials stored before the kill are untouched
    assert {n: after[n] for n in before} == before
    # nothing that was stored ran again: exactly the missing grid points ran, each once
    new = {n: row for n, row in after.items() if n not in before}
    assert len(new) == len(GRID) - n_before
    lost_in_flight = set(range(max(before) + 1)) - set(before)
    assert len(lost_in_flight) <= 2, "only the trials running in the 2 workers at the kill may be missing"
    # the numbers of trials that were running at the kill are taken over: the study is numbered 0..n-1
    assert lost_in_flight <= set(new) and sorted(after) == list(range(len(GRID))), "no hole, no number twice"
    covered = sorted((p["fast"], p["slow"]) for p, _, _ in after.values())
    assert covered == GRID, "the resumed study must cover the whole grid exactly once"
    assert all(state == "complete" for _, _, state in after.values())
    assert study.n_trials == len(GRID)
    assert not study.trials["cached"].any()

    # the union equals an uninterrupted run
    fresh = _cerebro().optimize_grid(SmaCross, fast=FAST, slow=SLOW, progress=False)
    want = {(t.params["fast"], t.params["slow"]): t.value for t in fresh.get_trials()}
    got = {(p["fast"], p["slow"]): v for p, v, _ in after.values()}
    assert got.keys() == want.keys()
    for key in want:
        assert _same_value(got[key], want[key]), key
    assert study.best_value == pytest.approx(fresh.best_value, rel=1e-12)
    assert study.best_params == fresh.best_params


def _same_value(a: float | None, b: float | None) -> bool:
    """Equal objective values (``None`` for trials without one); the same backtest gives the same number."""
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-12, abs=1e-12)


def _random(db: Path | None, n_trials: int, name: str = "r") -> bto.Study:
    cerebro = _cerebro(fromdate="2005-01-01", todate="2006-12-31")
    return cerebro.optimize_random(SmaCross, fast=bto.Int(5, 40), slow=bto.Int(40, 160, step=10),
                                   n_trials=n_trials, seed=5, storage=db, study_name=name, progress=False)


def _by_number(study: bto.Study) -> list[bto.Trial]:
    """The study's trials in number order (a parallel study records them in the order they finish)."""
    return sorted(study.get_trials(), key=lambda t: t.number)


def _triples(study: bto.Study) -> list[tuple[int, dict, float | None]]:
    return [(t.number, dict(t.params), t.value) for t in _by_number(study)]


@pytest.mark.slow
def test_random_search_resume_continues_the_same_sequence(tmp_path: Path) -> None:
    db = tmp_path / "random.db"
    first = _random(db, 12)
    assert first.stop_reason == "budget"
    assert first.n_used == 12
    first_trials = _triples(first)
    first_wall = first.wall_time_s
    assert first_wall is not None and first_wall > 0

    resumed = _random(db, 20)
    assert resumed.wall_time_s is not None and resumed.wall_time_s > first_wall  # every run's time, summed
    assert resumed.stop_reason == "budget"
    assert resumed.n_used == 20
    assert len(resumed.get_trials()) == 20, "every trial of the budget is recorded, skipped ones included"
    # a point skipped by the strategy (fast >= slow: StrategySkipError) would be recorded and use the budget
    assert _triples(resumed)[:len(first_trials)] == first_trials, "the trials of the first run must be unchanged"
    assert not any(t.cached for t in resumed.get_trials())

    reference = _random(None, 20)
    assert reference.n_used == 20
    assert [t.params for t in _by_number(resumed)] == [t.params for t in _by_number(reference)]
    assert [t.state for t in _by_number(resumed)] == [t.state for t in _by_number(reference)]
    for mine, ref in zip(_by_number(resumed), _by_number(reference)):
        assert _same_value(mine.value, ref.value), (mine, ref)
    keys = [json.dumps(t.params, sort_keys=True) for t in resumed.get_trials()]
    assert len(set(keys)) == len(keys), "a discrete space never repeats a point"

    # the same budget again: nothing new runs, nothing changes
    again = _random(db, 20)
    assert again.n_used == 20 and again.stop_reason == "budget"
    assert _triples(again) == _triples(resumed)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"fast": [10, 30]}, "fast"),
        ({"objective": "total_return"}, "total_return"),
    ],
    ids=["space", "objective"],
)
def test_mismatched_study_fails_before_any_backtest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    change: dict, expected: str) -> None:
    counter = tmp_path / "backtests.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    db = tmp_path / "m.db"
    kwargs = dict(fast=[10, 20], slow=[50], storage=db, study_name="same", progress=False)
    cerebro = _cerebro(fromdate="2005-01-01", todate="2006-12-31")
    cerebro.optimize_grid(CountingSmaCross, **kwargs)
    assert count_backtests(counter) == 2
    rows = _rows(db)

    with pytest.raises(StudyMismatchError) as info:
        cerebro.optimize_grid(CountingSmaCross, **{**kwargs, **change})
    assert "'same'" in str(info.value) and expected in str(info.value)
    assert count_backtests(counter) == 2, "no backtest may run for a mismatched study"
    assert _rows(db) == rows

    # a different name is a different study, and it runs
    study = cerebro.optimize_grid(CountingSmaCross, **{**kwargs, **change, "study_name": "other"})
    assert study.n_ran == 2 and count_backtests(counter) == 4
