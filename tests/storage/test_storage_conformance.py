"""One conformance suite for every storage backend: the contract of ``bt_optimize.storage.base``.

Each test runs on :class:`InMemoryStorage` and on :class:`SQLiteStorage` (a real file in ``tmp_path``).
"Reopening" means the same object for the in-memory backend and a new connection to the same file for
SQLite, so a test that passes on both checks what survives a restart where anything can.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bt_optimize import StorageError, StudyMismatchError, Trial, TrialState, Window
from bt_optimize.storage import InMemoryStorage, SQLiteStorage, Storage, get_storage

CONFIG = {
    "strategy": "sample_strategies.sma_cross.SmaCross",
    "space": {
        "fast": {"kind": "int", "low": 5, "high": 50, "step": 1, "log": False},
        "slow": {"kind": "int", "low": 20, "high": 200, "step": 5, "log": False},
    },
    "objective": {"objective": "sharpe_ratio", "maximize": True},
    "method": "random",
}


def _trial(number: int, **kw) -> Trial:
    """A complete trial with every field set to something non-default."""
    base = dict(
        number=number,
        state=TrialState.COMPLETE,
        params={"fast": 5 + number, "slow": 40, "ma": "ema", "stop": 0.05, "flag": True, "opt": None},
        value=0.5 + number / 8,
        metrics={"sharpe_ratio": 0.5 + number / 8, "n_trades": 12.0, "sortino_ratio": None},
        analysis={"sharpe": {"sharperatio": 1.25}, "trades": {"total": {"total": 7}}, "list": [1, 2.5, "x"]},
        error=None,
        duration_s=0.125 + number,
        window=Window(start=10, end=300, warmup=5),
        user_attrs={"phase": "explore", "fold": 2},
        cached=False,
    )
    base.update(kw)
    return Trial(**base)


class Backend:
    """A storage under test plus a way to reopen it as a restarted process would."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.path = tmp_path / "studies.db"
        self.storage = self._new() if kind == "sqlite" else InMemoryStorage()

    def _new(self) -> Storage:
        return SQLiteStorage(self.path)

    def reopen(self) -> Storage:
        if self.kind == "sqlite":
            self.storage.close()
            self.storage = self._new()
        return self.storage


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path):
    b = Backend(request.param, tmp_path)
    yield b
    b.storage.close()


# ---------------------------------------------------------------------------------------------- create/open
def test_open_creates_an_empty_study(backend: Backend) -> None:
    st = backend.storage
    assert st.study_names() == []
    sid, trials = st.open_study("s", CONFIG)
    assert trials == []
    assert st.study_names() == ["s"]
    assert st.load_trials(sid) == []


def test_open_existing_study_returns_same_id(backend: Backend) -> None:
    sid, _ = backend.storage.open_study("s", CONFIG)
    sid2, trials = backend.reopen().open_study("s", dict(CONFIG))
    assert sid2 == sid
    assert trials == []


def test_study_names_in_creation_order_and_ids_distinct(backend: Backend) -> None:
    st = backend.storage
    ids = [st.open_study(name, CONFIG)[0] for name in ("beta", "alpha", "gamma")]
    assert len(set(ids)) == 3
    assert st.study_names() == ["beta", "alpha", "gamma"]
    assert backend.reopen().study_names() == ["beta", "alpha", "gamma"]


# ---------------------------------------------------------------------------------------------- trials
def test_trials_round_trip_in_number_order(backend: Backend) -> None:
    st = backend.storage
    sid, _ = st.open_study("s", CONFIG)
    originals = [_trial(n) for n in range(4)]
    for n in (2, 0, 3, 1):  # a parallel study stores trials as they finish, not in number order
        st.add_trial(sid, originals[n])

    loaded = st.load_trials(sid, with_analysis=True)
    assert [t.number for t in loaded] == [0, 1, 2, 3]
    assert loaded == originals

    light = st.load_trials(sid)
    assert [t.number for t in light] == [0, 1, 2, 3]
    assert [replace(t, analysis={}) for t in light] == [replace(t, analysis={}) for t in originals]


def test_reopen_returns_trials_in_order_without_analysis_for_sqlite(backend: Backend) -> None:
    sid, _ = backend.storage.open_study("s", CONFIG)
    originals = [_trial(n) for n in range(3)]
    for t in reversed(originals):
        backend.storage.add_trial(sid, t)

    st = backend.reopen()
    sid2, trials = st.open_study("s", CONFIG)
    assert sid2 == sid
    assert [t.number for t in trials] == [0, 1, 2]
    assert [replace(t, analysis={}) for t in trials] == [replace(t, analysis={}) for t in originals]
    assert all(t.analysis == {} for t in trials), "open_study must not load analyzer output"
    assert all(t.analysis == {} for t in st.load_trials(sid)), "load_trials leaves analysis out by default"
    assert st.keeps_analysis_in_memory is (backend.kind != "sqlite")
    for t in originals:
        assert st.load_analysis(sid, t.number) == t.analysis
    with pytest.raises(KeyError):
        st.load_analysis(sid, 99)


def test_load_trial_reads_one_trial_with_or_without_analysis(backend: Backend) -> None:
    sid, _ = backend.storage.open_study("s", CONFIG)
    originals = [_trial(n) for n in range(3)]
    for t in originals:
        backend.storage.add_trial(sid, t)
    st = backend.reopen()
    assert st.load_trial(sid, 1, with_analysis=True) == originals[1]
    light = st.load_trial(sid, 2)
    assert light.analysis == {} and replace(light, analysis={}) == replace(originals[2], analysis={})
    assert light == st.load_trials(sid)[2], "load_trial agrees with load_trials"
    with pytest.raises(KeyError):
        st.load_trial(sid, 3)


def test_what_a_study_asks_for_is_what_it_gets(backend: Backend) -> None:
    """A study loads with ``with_analysis=keeps_analysis_in_memory``; a backend that keeps the analysis in memory
    hands it out then, and hands out the same objects on every load (a trial keeps its identity)."""
    st = backend.storage
    sid, _ = st.open_study("s", CONFIG)
    for n in range(3):
        st.add_trial(sid, _trial(n))
    cheap = st.keeps_analysis_in_memory
    first, again = st.load_trials(sid, with_analysis=cheap), st.load_trials(sid, with_analysis=cheap)
    assert first == again == [_trial(n) if cheap else replace(_trial(n), analysis={}) for n in range(3)]
    if cheap:
        assert all(a is b for a, b in zip(first, again))
        assert st.load_trial(sid, 1, with_analysis=True) is first[1]
        assert all(a is b for a, b in zip(st.load_trials(sid), st.load_trials(sid)))


def test_every_trial_state_round_trips(backend: Backend) -> None:
    st = backend.storage
    sid, _ = st.open_study("s", CONFIG)
    trials = [
        _trial(0),
        _trial(1, state=TrialState.FAIL, value=None, metrics={}, analysis={}, error="ValueError: boom\nline 2"),
        _trial(2, state=TrialState.INFEASIBLE, value=None, metrics={}, analysis={},
               error="rejected by the constraint", duration_s=0.0),
        _trial(3, state=TrialState.PRUNED, value=-0.25, user_attrs={"fidelity": 0.25}),
        _trial(4, cached=True, window=Window()),
    ]
    for t in trials:
        st.add_trial(sid, t)
    loaded = backend.reopen().load_trials(sid, with_analysis=True)
    assert loaded == trials
    assert [t.state for t in loaded] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.INFEASIBLE,
                                         TrialState.PRUNED, TrialState.COMPLETE]
    assert isinstance(loaded[0].state, TrialState)
    assert loaded[4].window == Window() and loaded[4].window.is_full
    assert loaded[1].error == "ValueError: boom\nline 2"


def test_param_types_survive(backend: Backend) -> None:
    st = backend.storage
    sid, _ = st.open_study("s", CONFIG)
    st.add_trial(sid, _trial(0, params={"i": 7, "f": 0.1, "s": "sma", "b": False, "n": None}))
    (t,) = backend.reopen().load_trials(sid)
    assert t.params == {"i": 7, "f": 0.1, "s": "sma", "b": False, "n": None}
    assert [type(v) for v in t.params.values()] == [int, float, str, bool, type(None)]


def test_duplicate_trial_number_raises(backend: Backend) -> None:
    st = backend.storage
    sid, _ = st.open_study("s", CONFIG)
    st.add_trial(sid, _trial(0))
    with pytest.raises(StorageError, match="trial 0"):
        st.add_trial(sid, _trial(0, value=99.0, params={"fast": 1}))
    (t,) = st.load_trials(sid)
    assert t.value == _trial(0).value and t.params == _trial(0).params, "the stored trial must be untouched"
    # the same number in another study is a different trial
    other, _ = st.open_study("other", CONFIG)
    st.add_trial(other, _trial(0))
    assert len(st.load_trials(other)) == 1


def test_duplicate_after_reopen_raises(backend: Backend) -> None:
    sid, _ = backend.storage.open_study("s", CONFIG)
    backend.storage.add_trial(sid, _trial(0))
    st = backend.reopen()
    sid, _ = st.open_study("s", CONFIG)
    with pytest.raises(StorageError):
        st.add_trial(sid, _trial(0))


def test_studies_are_isolated(backend: Backend) -> None:
    st = backend.storage
    a, _ = st.open_study("a", CONFIG)
    b, _ = st.open_study("b", {**CONFIG, "method": "grid"})
    st.add_trial(a, _trial(0))
    st.add_trial(a, _trial(1))
    st.add_trial(b, _trial(0, value=-1.0))
    st.set_attr(a, "k", 1)
    assert [t.number for t in st.load_trials(a)] == [0, 1]
    assert [t.value for t in st.load_trials(b)] == [-1.0]
    assert st.get_attr(b, "k") is None


# ---------------------------------------------------------------------------------------------- attrs
def test_set_and_get_attr(backend: Backend) -> None:
    st = backend.storage
    sid, _ = st.open_study("s", CONFIG)
    assert st.get_attr(sid, "missing") is None
    assert st.get_attr(sid, "missing", default="d") == "d"
    st.set_attr(sid, "stop_reason", "budget")
    st.set_attr(sid, "search_state", {"rng": [1, 2, 3], "n": 4, "x": 0.5, "none": None, "flag": True})
    st.set_attr(sid, "stop_reason", "exhausted")  # overwrite
    st = backend.reopen()
    assert st.get_attr(sid, "stop_reason") == "exhausted"
    assert st.get_attr(sid, "search_state") == {"rng": [1, 2, 3], "n": 4, "x": 0.5, "none": None, "flag": True}
    st.set_attr(sid, "stop_reason", None)
    assert st.get_attr(sid, "stop_reason", default="d") is None


# ---------------------------------------------------------------------------------------------- mismatch
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"strategy": "sample_strategies.donchian.DonchianBreakout"}, ["strategy", "DonchianBreakout"]),
        ({"method": "bayes"}, ["method", "'random'", "'bayes'"]),
        ({"objective": {"objective": "sortino_ratio", "maximize": True}}, ["objective", "sortino_ratio"]),
        ({"objective": {"objective": "sharpe_ratio", "maximize": False}}, ["objective", "maximize"]),
        ({"space": {**CONFIG["space"], "slow": {"kind": "int", "low": 20, "high": 300, "step": 5, "log": False}}},
         ["space['slow']", "300"]),
        ({"space": {**CONFIG["space"], "stop": {"kind": "real", "low": 0.01, "high": 0.2, "log": True}}},
         ["space['stop']"]),
        ({"space": {"fast": CONFIG["space"]["fast"]}}, ["space['slow']"]),
    ],
    ids=["strategy", "method", "objective", "direction", "space-range", "space-new-param", "space-dropped-param"],
)
def test_mismatch_raises_naming_the_difference(backend: Backend, change: dict, expected: list[str]) -> None:
    sid, _ = backend.storage.open_study("s", CONFIG)
    backend.storage.add_trial(sid, _trial(0))
    st = backend.reopen()
    with pytest.raises(StudyMismatchError) as info:
        st.open_study("s", {**CONFIG, **change})
    msg = str(info.value)
    assert "'s'" in msg
    for part in expected:
        assert part in msg, f"{part!r} not in {msg!r}"
    unchanged = [k for k in ("strategy", "method", "objective", "space") if k not in change]
    for key in unchanged:
        assert f"{key}:" not in msg and f"{key}[" not in msg, f"{key} did not change but is reported: {msg}"
    assert isinstance(info.value, StorageError)
    # nothing was overwritten: the original set-up still opens, with its trial
    sid2, trials = st.open_study("s", CONFIG)
    assert sid2 == sid and [t.number for t in trials] == [0]
    assert st.study_names() == ["s"]


def test_mismatch_lists_every_difference(backend: Backend) -> None:
    backend.storage.open_study("s", CONFIG)
    with pytest.raises(StudyMismatchError) as info:
        backend.reopen().open_study("s", {**CONFIG, "method": "grid", "strategy": "x.Other"})
    assert "method" in str(info.value) and "strategy" in str(info.value)


# ---------------------------------------------------------------------------------------------- JSON safety
def test_none_in_analysis_and_metrics_round_trips(backend: Backend) -> None:
    st = backend.storage
    sid, _ = st.open_study("s", CONFIG)
    analysis = {"sharpe": {"sharperatio": None}, "dd": {"max": {"drawdown": None, "len": 0}}, "seq": [None, 1.5]}
    st.add_trial(sid, _trial(0, analysis=analysis, metrics={"sharpe_ratio": None, "n_trades": 0.0}))
    st = backend.reopen()
    assert st.load_analysis(sid, 0) == analysis
    (t,) = st.load_trials(sid, with_analysis=True)
    assert t.analysis == analysis
    assert t.metrics == {"sharpe_ratio": None, "n_trades": 0.0}


# ---------------------------------------------------------------------------------------------- SQLite only
def test_sqlite_refuses_nan_and_stores_nothing(tmp_path: Path) -> None:
    """Analyzer output is made plain (NaN -> None) before storage; a NaN that slips through is refused,
    never written as non-standard JSON, and the failed insert leaves no row behind."""
    st = SQLiteStorage(tmp_path / "s.db")
    sid, _ = st.open_study("s", CONFIG)
    with pytest.raises(ValueError):
        st.add_trial(sid, _trial(0, analysis={"sharpe": {"sharperatio": float("nan")}}))
    assert st.load_trials(sid) == []
    st.add_trial(sid, _trial(0))  # the number is still free, and the connection still usable
    assert [t.number for t in st.load_trials(sid)] == [0]
    st.close()


def test_sqlite_url_form(tmp_path: Path) -> None:
    path = tmp_path / "url.db"
    st = SQLiteStorage(f"sqlite:///{path}")
    assert st.path == path
    sid, _ = st.open_study("s", CONFIG)
    st.add_trial(sid, _trial(0))
    st.close()
    assert path.is_file()
    plain = SQLiteStorage(path)
    assert [t.number for t in plain.open_study("s", CONFIG)[1]] == [0]
    plain.close()


def test_get_storage_resolves_every_form(tmp_path: Path) -> None:
    assert isinstance(get_storage(None), InMemoryStorage)
    mem = InMemoryStorage()
    assert get_storage(mem) is mem
    for spec in (tmp_path / "a.db", str(tmp_path / "b.db"), f"sqlite:///{tmp_path / 'c.db'}"):
        st = get_storage(spec)
        assert isinstance(st, SQLiteStorage)
        st.close()
    assert {p.name for p in tmp_path.glob("*.db")} == {"a.db", "b.db", "c.db"}
    with pytest.raises(StorageError, match="only SQLite"):
        get_storage("postgresql://user@host/db")


def test_sqlite_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "runs.db"
    with pytest.raises(StorageError, match="does not exist") as info:
        SQLiteStorage(missing)
    assert str(missing.parent) in str(info.value)
    assert not missing.parent.exists(), "the folder must not be created behind the user's back"


def test_sqlite_rejects_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StorageError, match="not a usable SQLite database"):
        SQLiteStorage(path)


def test_sqlite_uses_wal_journal_mode(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    st = SQLiteStorage(path)
    sid, _ = st.open_study("s", CONFIG)
    st.add_trial(sid, _trial(0))
    assert st.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    # WAL is a property of the file: an independent connection sees it too
    other = sqlite3.connect(path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        other.close()
    st.close()


def test_sqlite_trial_is_durable_as_soon_as_add_returns(tmp_path: Path) -> None:
    """Another connection (another process would do the same) sees each trial once add_trial returns."""
    path = tmp_path / "d.db"
    st = SQLiteStorage(path)
    sid, _ = st.open_study("s", CONFIG)
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for n in range(3):
            st.add_trial(sid, _trial(n))
            assert reader.execute("SELECT count(*) FROM trials").fetchone()[0] == n + 1
        st.set_attr(sid, "stop_reason", "budget")
        assert reader.execute("SELECT value FROM study_attrs WHERE key='stop_reason'").fetchone()[0] == '"budget"'
    finally:
        reader.close()
        st.close()


def test_sqlite_many_studies_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "many.db"
    st = SQLiteStorage(path)
    for i, name in enumerate(["a", "b", "c"]):
        sid, _ = st.open_study(name, {**CONFIG, "method": name})
        for n in range(i + 1):
            st.add_trial(sid, _trial(n))
    st.close()
    again = SQLiteStorage(path)
    assert again.study_names() == ["a", "b", "c"]
    assert [len(again.open_study(name, {**CONFIG, "method": name})[1]) for name in "abc"] == [1, 2, 3]
    again.close()



# ---------------------------------------------------------------------------------------------- claims
def test_claims_hand_out_each_point_and_number_once(backend: Backend) -> None:
    from bt_optimize.storage.runs import RunInfo

    st = backend.storage
    sid, _ = st.open_study("s", CONFIG)
    run = RunInfo.this_process()
    st.begin_run(sid, run)
    assert [st.claim(sid, k, run) for k in ("a", "b", "c")] == [0, 1, 2]
    assert st.claim(sid, "b", run) is None, "a claimed point is not handed out twice"
    st.add_trial(sid, _trial(1))
    assert st.claim(sid, "b", run) is None, "a stored point is never claimed again"
    assert st.claim(sid, "b", run, retake=True) == 3, "a retaken point gets a new number"
    st.end_run(sid, run)  # drops the unsettled claims of a, c and the retaken b
    again = RunInfo.this_process()
    st.begin_run(sid, again)
    # the numbers the ended run never stored are handed out again first, so a resumed study has no holes
    assert [st.claim(sid, k, again) for k in ("a", "c", "d", "e")] == [0, 2, 3, 4]
    st.end_run(sid, again)


def test_sqlite_claims_of_a_dead_run_are_taken_over_and_budgets_shared(tmp_path: Path) -> None:
    from bt_optimize.storage.runs import RunInfo

    st = SQLiteStorage(tmp_path / "c.db")
    sid, _ = st.open_study("s", CONFIG)
    dead = RunInfo(RunInfo.this_process().host, 2**22 + 12345, "2026-01-01T00:00:00+00:00")  # no such pid
    other = SQLiteStorage(tmp_path / "c.db")
    other.begin_run(sid, dead)
    assert other.claim(sid, "x", dead) == 0
    me = RunInfo.this_process()
    assert st.begin_run(sid, me) == [], "a run whose process is gone is not reported as active"
    assert st.claim(sid, "x", me) == 0, "its claim is taken over under the same number"
    assert st.budget_used(sid) == 1
    assert st.claim(sid, "y", me, budget=1) is None, "the budget counts live claims"
    assert st.claim(sid, "y", me, budget=2) == 1
    other.close()
    st.close()
