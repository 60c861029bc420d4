"""A study reads every storage the same way: one code path, whatever the backend.

The same small grid of real backtests (ORCL; Cat choices JSON cannot hold, a tuple and an indicator class; a
constraint; an analyzer) runs once in memory and once in a real SQLite file; everything a user reads from the two
studies must agree, and the in-memory study hands out the same trial objects on every call.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest

import bt_optimize as bto
from bt_optimize.storage import InMemoryStorage, SQLiteStorage
from tests.helpers_dropin import CheatOnOpen

#: A tuple and an indicator class as choices: JSON holds neither, so SQLite stores their index and label.
GRID = dict(periods=bto.Cat([(5, 20), (10, 30), (20, 60)]), matype=bto.Cat([bt.ind.SMA, bt.ind.EMA]))


def _constraint(p: dict) -> bool:
    return p["periods"] != (20, 60) or p["matype"] is not bt.ind.EMA


def _study(storage: object) -> bto.Study:
    cerebro = bto.Cerebro(maxcpus=1)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2004-01-01", todate="2005-06-30"))
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="dd")
    return cerebro.optimize_grid(CheatOnOpen, **GRID, constraint=_constraint, storage=storage, study_name="s",
                                 objective="total_return", progress=False)


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[bto.Study, bto.Study]:
    db = Path(tmp_path_factory.mktemp("db")) / "s.db"
    memory, sqlite = _study(InMemoryStorage()), _study(SQLiteStorage(db))
    yield memory, sqlite
    sqlite.storage.close()


def test_both_studies_show_the_same_trials(studies: tuple[bto.Study, bto.Study]) -> None:
    memory, sqlite = studies
    assert memory.n_trials == sqlite.n_trials == 6
    mt, st = memory.get_trials(), sqlite.get_trials()
    assert [replace(t, analysis={}, duration_s=0) for t in mt] == [replace(t, duration_s=0) for t in st]
    assert all(type(t.params["periods"]) is tuple and t.params["matype"] in (bt.ind.SMA, bt.ind.EMA)
               for t in mt + st)
    assert any(t.state is bto.TrialState.INFEASIBLE for t in mt)
    pd.testing.assert_frame_equal(memory.trials.drop(columns="duration_s"), sqlite.trials.drop(columns="duration_s"))
    assert replace(memory.best_trial, analysis={}, duration_s=0) == replace(sqlite.best_trial, duration_s=0)
    assert memory.best_params == sqlite.best_params and memory.best_value == sqlite.best_value
    for t in mt:
        assert memory.analysis(t.number) == sqlite.analysis(t.number)
    assert memory.analysis(memory.best_trial.number)["dd"]["max"]["drawdown"] > 0
    mr, sr = memory.trial_returns(), sqlite.trial_returns()
    assert sorted(mr) == sorted(sr) and len(mr) == 5
    assert all((mr[n] == sr[n]).all() for n in mr)
    with pytest.raises(KeyError):
        memory.analysis(99)
    with pytest.raises(KeyError):
        sqlite.analysis(99)


def test_memory_hands_out_full_trials_that_keep_their_identity(studies: tuple[bto.Study, bto.Study]) -> None:
    memory, sqlite = studies
    first, again = memory.get_trials(), memory.get_trials()
    assert all(a is b for a, b in zip(first, again)), "the same trial objects on every call, decoded params too"
    assert memory.best_trial is memory.best_trial
    assert all(t.analysis for t in first if t.state is bto.TrialState.COMPLETE), "memory keeps the analysis"
    assert all(not t.analysis for t in sqlite.get_trials()), "SQLite leaves it in the file"
    assert memory.best_trial in first
    assert all(t.returns is None for t in memory._records), "the study's own records are lean on every storage"
