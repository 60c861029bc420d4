"""Per-trial returns in storage: kept with the trial, read back on demand, never a pickle; schema 1 files upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from bt_optimize import Trial, TrialState
from bt_optimize.stats.returns import pack_returns, unpack_returns
from bt_optimize.storage import InMemoryStorage, SQLiteStorage, Storage
from bt_optimize.storage.sqlite import SCHEMA_VERSION

CONFIG = {"strategy": "m.S", "space": {"a": {"kind": "int", "low": 1, "high": 9, "step": 1, "log": False}},
          "objective": {"objective": "sharpe_ratio", "maximize": True}, "method": "grid"}


def _trial(number: int, returns: bytes | None) -> Trial:
    return Trial(number=number, state=TrialState.COMPLETE, params={"a": number}, value=0.1 * number,
                 returns=returns)


@pytest.fixture(params=["memory", "sqlite"])
def make_storage(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "memory":
        st = InMemoryStorage()
        yield lambda: st
    else:
        opened: list[Storage] = []

        def reopen() -> Storage:
            for s in opened:
                s.close()
            opened.append(SQLiteStorage(tmp_path / "r.db"))
            return opened[-1]

        yield reopen
        for s in opened:
            s.close()


def test_returns_round_trip_by_number(make_storage) -> None:
    st = make_storage()
    sid, _ = st.open_study("s", CONFIG)
    series = {n: np.random.default_rng(n).normal(0, 0.01, 300 + n) for n in range(3)}
    for n in (2, 0, 1):
        st.add_trial(sid, _trial(n, pack_returns(series[n])))
    st.add_trial(sid, _trial(3, None))  # keep_returns=False: nothing stored
    st = make_storage()  # a restarted process
    sid, _ = st.open_study("s", CONFIG)
    blobs = st.load_returns(sid)
    assert sorted(blobs) == [0, 1, 2]
    for n, blob in blobs.items():
        assert isinstance(blob, bytes)
        np.testing.assert_allclose(unpack_returns(blob), series[n], rtol=1e-6, atol=1e-9)
    assert sorted(st.load_returns(sid, [1, 3])) == [1]


def test_sqlite_keeps_returns_out_of_trial_rows(tmp_path: Path) -> None:
    st = SQLiteStorage(tmp_path / "r.db")
    sid, _ = st.open_study("s", CONFIG)
    st.add_trial(sid, _trial(0, pack_returns(np.ones(50) * 0.001)))
    assert st.load_trials(sid)[0].returns is None  # memory stays flat: read back with load_returns
    assert len(st.load_returns(sid)[0]) > 0
    row = st.conn.execute("SELECT n_bars, typeof(data) FROM trial_returns").fetchone()
    assert row == (50, "blob")
    st.close()


def test_schema_1_file_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    st = SQLiteStorage(path)
    sid, _ = st.open_study("s", CONFIG)
    st.add_trial(sid, _trial(0, None))
    st.conn.execute("DROP TABLE trial_returns")
    st.conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    st.close()
    st = SQLiteStorage(path)  # what a file written before returns were kept looks like
    assert st.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    sid, trials = st.open_study("s", CONFIG)
    assert [t.number for t in trials] == [0] and st.load_returns(sid) == {}
    st.add_trial(sid, _trial(1, pack_returns([0.01, -0.01])))
    assert sorted(st.load_returns(sid)) == [1]
    st.close()
    with sqlite3.connect(path) as c:
        c.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    from bt_optimize import StorageError

    with pytest.raises(StorageError, match="schema 99"):
        SQLiteStorage(path)
