"""Issue 10: no endless searches, no lost results, Ctrl-C that stops the script, small input checks.

Real backtests on ORCL, real worker processes, a real SIGINT sent to a real child process, real SQLite files.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize import AllTrialsFailedError, ObjectiveError, SpaceError, TrialState
from bt_optimize.storage import SQLiteStorage
from sample_strategies import SmaCross
from tests.helpers_processes import POLL_DEADLINE_S, wait_for_rows
from tests.helpers_strategies import COUNT_ENV, CountingSmaCross, count_backtests


def _cerebro(maxcpus: int = 2, fromdate: str = "2005-01-01", todate: str = "2005-12-31") -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate=fromdate, todate=todate))
    return cerebro


@pytest.fixture
def counter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "backtests.txt"
    monkeypatch.setenv(COUNT_ENV, str(path))
    return path


# ------------------------------------------------------------------------------ 1. every point skipped
@pytest.mark.parametrize("method", ["random", "bayes"])
def test_every_point_skipped_ends_the_study(method: str, counter: Path) -> None:
    """fast=50 >= slow=10: SmaCross raises StrategySkipError on every point; the budget of 5 still ends it."""
    cerebro = _cerebro()
    extra = {"batch_size": 2} if method == "bayes" else {}
    with pytest.raises(AllTrialsFailedError, match="skipped by the strategy") as info:
        getattr(cerebro, f"optimize_{method}")(CountingSmaCross, fast=50, slow=10, stop=bto.Real(0, 0.5),
                                               n_trials=5, seed=1, progress=False, **extra)
    assert count_backtests(counter) == 5, "each skipped point is one trial of the budget"
    study = info.value.study  # what ran travels with the exception
    assert study.n_trials == 5 and study.n_used == 5 and study.n_ran == 0
    assert {t.state for t in study.get_trials()} == {TrialState.INFEASIBLE}


def test_skips_count_toward_the_budget(counter: Path) -> None:
    study = _cerebro().optimize_random(CountingSmaCross, fast=bto.Int(5, 60), slow=bto.Int(20, 80), n_trials=10,
                                       seed=3, progress=False)
    states = [t.state for t in study.get_trials()]
    assert TrialState.INFEASIBLE in states and TrialState.COMPLETE in states, "the seed must give some skips"
    assert count_backtests(counter) == 10 and len(states) == 10
    assert study.stop_reason == "budget"


# ------------------------------------------------------------------------------ 3. finite grid, no guard
def test_finite_grid_is_enumerated_to_its_end(counter: Path) -> None:
    """20,001 points, the constraint rejects the first 19,900: every point is recorded, the last 101 run."""
    stops = [i / 1_000_000 for i in range(20_001)]
    with pytest.warns(UserWarning, match="20,001 points") as record:
        study = _cerebro().optimize_grid(CountingSmaCross, fast=10, slow=30, stop=stops,
                                         constraint=lambda p: p["stop"] >= 19_900 / 1_000_000, progress=False)
    assert record[0].filename == __file__, "the grid-size warning names the user's line"
    assert study.stop_reason == "exhausted"
    assert study.n_trials == 20_001
    counts = study.trials["state"].value_counts().to_dict()
    assert counts == {"infeasible": 19_900, "complete": 101}
    assert count_backtests(counter) == 101


# ------------------------------------------------------------------------------ 6. Ctrl-C
README_LIKE_SCRIPT = """
import signal
import sys

import bt_optimize as bto
from sample_strategies import SmaCross

# a shell that starts jobs in the background makes them ignore SIGINT; behave like a terminal program
signal.signal(signal.SIGINT, signal.default_int_handler)
cerebro = bto.Cerebro(maxcpus=2)
cerebro.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2006-12-31"))
study = cerebro.optimize_grid(SmaCross, fast=range(5, 40, 5), slow=range(40, 160, 10),
                              storage=sys.argv[1], study_name="c", progress=False)
print("first search returned", study.stop_reason, flush=True)
second = cerebro.optimize_random(SmaCross, fast=bto.Int(5, 40), slow=bto.Int(40, 160), n_trials=200,
                                 storage=sys.argv[1], study_name="second", progress=False)
print("second search ran", flush=True)
"""


def _child_env(**extra: str) -> dict[str, str]:
    """The environment of a child script: this repository importable (for ``tests.helpers_strategies``)."""
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, **extra, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}


def _start_readme_like(tmp_path: Path, db: Path) -> subprocess.Popen:
    """Start :data:`README_LIKE_SCRIPT` in its own session (so a signal can reach its whole group)."""
    script = tmp_path / "optimize.py"
    script.write_text(textwrap.dedent(README_LIKE_SCRIPT))
    return subprocess.Popen([sys.executable, str(script), str(db)], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env())


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_ctrl_c_stores_stops_workers_and_stops_the_script(tmp_path: Path) -> None:
    db = tmp_path / "ctrlc.db"
    proc = _start_readme_like(tmp_path, db)
    try:
        wait_for_rows(proc, db, 4, "the optimization, before Ctrl-C")
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        out, err = proc.communicate(timeout=POLL_DEADLINE_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    # the KeyboardInterrupt reached the script: it stopped there, as after backtrader's optstrategy
    assert proc.returncode == -signal.SIGINT, (proc.returncode, err)
    assert "first search returned" not in out and "second search ran" not in out, out
    assert "KeyboardInterrupt: interrupted:" in err and "to resume" in err and str(db) in err, err
    con = sqlite3.connect(db)
    try:
        names = [n for (n,) in con.execute("SELECT name FROM studies")]
        states = {s for (s,) in con.execute("SELECT state FROM trials")}
        stop = con.execute("SELECT value FROM study_attrs WHERE key='stop_reason'").fetchone()[0]
        n_stored = con.execute("SELECT count(*) FROM trials").fetchone()[0]
    finally:
        con.close()
    assert names == ["c"], "the second search never started"
    assert states == {"complete"} and json.loads(stop) == "interrupted"
    assert 4 <= n_stored < 84
    deadline = time.monotonic() + 30
    while not _group_gone(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _group_gone(proc.pid), "worker processes outlived the interrupted optimization"

    # the partial study is reachable: the same call resumes it and finishes the grid, each point once
    cerebro = bto.Cerebro(maxcpus=2)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2006-12-31"))
    study = cerebro.optimize_grid(SmaCross, fast=range(5, 40, 5), slow=range(40, 160, 10), storage=db,
                                  study_name="c", progress=False)
    assert study.stop_reason == "exhausted"
    points = [(t.params["fast"], t.params["slow"]) for t in study.get_trials()]
    assert len(points) == len(set(points)) == 84


# ------------------------------------------------------------------------------ 9. small ones
def test_maximize_must_be_a_bool(counter: Path) -> None:
    with pytest.raises(ObjectiveError, match=r"maximize='false': give True, False or None"):
        _cerebro().optimize_grid(CountingSmaCross, fast=[10], slow=[30], maximize="false", progress=False)
    assert count_backtests(counter) == 0


@pytest.mark.parametrize("seed", ["abc", 1.5, -1, True])
def test_seed_is_checked_at_the_entry_point(seed: object, counter: Path) -> None:
    with pytest.raises(SpaceError, match="seed=.*give None or a whole number"):
        _cerebro().optimize_random(CountingSmaCross, fast=bto.Int(5, 20), slow=[30], seed=seed, progress=False)
    assert count_backtests(counter) == 0


def test_objective_path_typo_stops_at_the_first_trial_that_traded(counter: Path) -> None:
    cerebro = _cerebro()
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    with pytest.raises(ObjectiveError, match=r"trades\.pnl\.net has no key 'totl'; did you mean 'total'\?") as info:
        cerebro.optimize_grid(CountingSmaCross, fast=range(5, 30, 2), slow=[40, 60], objective="trades.pnl.net.totl",
                              progress=False)
    assert "The study stopped" in str(info.value)
    assert isinstance(info.value, AllTrialsFailedError), "every trial that ran failed with it"
    # the first trial trades; at most the points already sent to the 2 workers ran, not the 26 of the grid
    assert count_backtests(counter) <= 4
    assert info.value.study.stop_reason == "error"


def test_unknown_analyzer_hint_does_not_suggest_a_metric() -> None:
    with pytest.raises(ObjectiveError) as info:
        _cerebro().optimize_grid(SmaCross, fast=[10], slow=[30], objective="trades.pnl.net.total", progress=False)
    msg = str(info.value)
    assert "n_trades" not in msg.split("Available")[0]
    assert "cerebro.addanalyzer(<AnalyzerClass>, _name='trades')" in msg


def test_unknown_parameter_message_punctuation() -> None:
    with pytest.raises(SpaceError) as info:
        _cerebro().optimize_grid(SmaCross, fsat=[5], slow=[30], progress=False)
    assert str(info.value) == ("SmaCross has no parameter 'fsat' (did you mean 'fast'?); its parameters are: "
                               "fast, slow, stop, ma")


@pytest.mark.parametrize("case", ["infeasible", "skipped"])
def test_progress_bar_ends_at_its_total(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    cerebro = _cerebro(maxcpus=1)
    if case == "infeasible":  # a grid of 6 whose constraint rejects 2 points
        cerebro.optimize_grid(SmaCross, fast=[5, 10, 15], slow=[30, 40], constraint=lambda p: p["fast"] != 10,
                              progress=True)
        total = 6
    else:  # 8 random trials, some skipped by the strategy (fast >= slow)
        study = cerebro.optimize_random(SmaCross, fast=bto.Int(5, 60), slow=bto.Int(20, 80), n_trials=8, seed=3,
                                        progress=True)
        assert "infeasible" in set(study.trials["state"]), "the seed must give a skip"
        total = 8
    err = capsys.readouterr().err
    counts = [tuple(map(int, m)) for m in re.findall(r"(\d+)/(\d+) \[", err)]
    assert counts, err
    assert counts[-1] == (total, total), err
    assert all(done <= tot for done, tot in counts), "the bar ran past its total"
    assert not re.search(r"\d+trial \[", err), f"tqdm drops the total once a bar runs past it: {err}"


def test_warnings_name_the_users_line() -> None:
    """The grid-size warning is raised deep inside the search; it must point at the optimize_grid call."""
    with pytest.warns(UserWarning, match="points") as record:
        _cerebro(maxcpus=1).optimize_grid(SmaCross, fast=range(5, 10_007), slow=[30],
                                          constraint=lambda p: p["fast"] == 10, progress=False)
    assert [w.filename for w in record] == [__file__]


# ------------------------------------------------------------------------------ 8. bad data, found once
def _pandas_feed(df, name: str = "orcl") -> bt.feeds.PandasData:
    return bt.feeds.PandasData(dataname=df, name=name)


def _orcl_frame():
    df = bto.datasets.load_dataframe("orcl")
    return df.loc["2005-01-01":"2005-12-31"].copy()


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        ("nan_close", r"feed 'orcl': column 'close' is nan at bar 100 \(2005-05-26 .*\), 1 bad value"),
        ("inf_high", r"feed 'orcl': column 'high' is inf at bar 7 \(2005-01-12 .*\)"),
        ("unsorted", r"feed 'orcl': column 'datetime' does not increase at bar 51 \(2005-03-16 .* follows "
                     r"2005-03-18 .*\); sort the data"),
        ("one_bar", r"feed 'orcl' has 1 bar\(s\); an optimization needs at least 2"),
    ],
)
def test_bad_data_is_rejected_once_before_any_backtest(spoil: str, expected: str, counter: Path) -> None:
    import numpy as np

    df = _orcl_frame()
    if spoil == "nan_close":
        df.iloc[100, df.columns.get_loc("close")] = np.nan
    elif spoil == "inf_high":
        df.iloc[7, df.columns.get_loc("high")] = np.inf
    elif spoil == "unsorted":
        df = df.iloc[list(range(50)) + [52, 50, 51] + list(range(53, len(df)))]
    else:
        df = df.iloc[:1]
    cerebro = bto.Cerebro(maxcpus=2)
    cerebro.adddata(_pandas_feed(df))
    with pytest.raises(bto.DataError, match=expected):
        cerebro.optimize_grid(CountingSmaCross, fast=[5, 10], slow=[30], progress=False)
    assert count_backtests(counter) == 0, "the data is checked once, before any backtest"


# ------------------------------------------------------------------------------ 2. stale results on resume
def _setup_cerebro(change: str) -> bto.Cerebro:
    """A Cerebro as a user sets it up; ``change`` alters one thing that changes every trial's value."""
    cerebro = bto.Cerebro(maxcpus=1)
    todate = "2006-06-30" if change == "data" else "2005-12-31"
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2005-01-01", todate=todate))
    cerebro.broker.setcash(50_000 if change == "cash" else 100_000)
    cerebro.broker.setcommission(commission=0.002 if change == "commission" else 0.001)
    if change == "slippage":
        cerebro.broker.set_slippage_perc(0.001)
    if change == "coc":
        cerebro.broker.set_coc(True)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=50 if change == "sizer" else 95)
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe",
                        timeframe=bt.TimeFrame.Weeks if change == "analyzer" else bt.TimeFrame.Days)
    return cerebro


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("data", r"data\[0\]\.bars: stored 252 vs now 377; data\[0\]\.last: stored '2005-12-30 23:59:59' vs now "
                 r"'2006-06-30 23:59:59'; data\[0\]\.sha256"),
        ("cash", r"broker\.cash: stored 100000 vs now 50000\."),
        ("commission", r"broker\.commission\.default\.params\.commission: stored 0\.001 vs now 0\.002"),
        ("slippage", r"broker\.slip_perc: stored 0\.0 vs now 0\.001"),
        ("coc", r"broker\.coc: stored False vs now True"),
        ("sizer", r"sizers\.default\[2\]\.percents: stored 95 vs now 50"),
        ("analyzer", r"analyzers\[0\]\[2\]\.timeframe: stored 5 vs now 6"),
        ("stop", r"space\['stop'\]"),
        ("window", r"window\.start: stored 0 vs now 20"),
    ],
)
def test_changed_setup_is_a_mismatch_naming_what_changed(change: str, named: str, tmp_path: Path,
                                                         counter: Path) -> None:
    db = tmp_path / "setup.db"
    grid = dict(fast=[5, 10], slow=[30], storage=db, study_name="s", progress=False)
    _setup_cerebro("none").optimize_grid(CountingSmaCross, stop=0.0, **grid)
    assert count_backtests(counter) == 2
    extra = {"stop": 0.05 if change == "stop" else 0.0}
    if change == "window":
        extra["window"] = bto.Window(start=20)
    with pytest.raises(bto.StudyMismatchError, match=named) as info:
        _setup_cerebro(change).optimize_grid(CountingSmaCross, **extra, **grid)
    assert "already exists with a different set-up" in str(info.value)
    assert count_backtests(counter) == 2, "nothing runs against a mismatched study"
    # the same set-up resumes: nothing runs again
    again = _setup_cerebro("none").optimize_grid(CountingSmaCross, stop=0.0, **grid)
    assert again.n_trials == 2 and count_backtests(counter) == 2


def test_changed_fidelity_is_a_mismatch(tmp_path: Path) -> None:
    db = tmp_path / "fid.db"
    kw = dict(fast=bto.Int(5, 20), slow=bto.Int(30, 60), n_trials=4, batch_size=2, seed=1, storage=db,
              study_name="b", progress=False)
    _cerebro(maxcpus=1, todate="2006-12-31").optimize_bayes(SmaCross, **kw)
    named = r"options\.fidelity: stored None vs now 0\.5; options\.promote_quantile: stored None vs now 0\.6"
    with pytest.raises(bto.StudyMismatchError, match=named):
        _cerebro(maxcpus=1, todate="2006-12-31").optimize_bayes(SmaCross, fidelity=0.5, **kw)


def test_other_data_never_reuses_stored_trials(tmp_path: Path) -> None:
    """The issue's case: the same study_name on another date range answered with the old trials' best."""
    db = tmp_path / "runs.db"
    space = dict(fast=bto.Int(5, 30), slow=bto.Int(40, 120, step=10), n_trials=6, seed=2, progress=False)
    _cerebro(maxcpus=1, fromdate="2003-01-01", todate="2004-12-31").optimize_random(
        SmaCross, storage=db, study_name="sma", **space)
    other = _cerebro(maxcpus=1, fromdate="2007-01-01", todate="2008-12-31")
    with pytest.raises(bto.StudyMismatchError, match=r"data\[0\]\.first: stored '2003-01-02"):
        other.optimize_random(SmaCross, storage=db, study_name="sma", **space)
    fresh = other.optimize_random(SmaCross, **space)
    assert fresh.run_best().analyzers.bto_performance.get_analysis()["sharpe_ratio"] == fresh.best_value


def _fast_below_20(p: dict) -> bool:
    return p["fast"] < 20


def _fast_below_30(p: dict) -> bool:
    return p["fast"] < 30


def test_changed_constraint_reevaluates_stored_points(tmp_path: Path, counter: Path) -> None:
    db = tmp_path / "constraint.db"
    grid = dict(fast=[5, 10, 15, 20, 25], slow=[40], storage=db, study_name="c", progress=False)
    first = _cerebro(maxcpus=1).optimize_grid(CountingSmaCross, constraint=_fast_below_20, **grid)
    assert count_backtests(counter) == 3
    assert sorted(first.trials.state) == ["complete"] * 3 + ["infeasible"] * 2

    # looser: the two points rejected before run now; the best is the fresh study's
    looser = _cerebro(maxcpus=1).optimize_grid(CountingSmaCross, constraint=_fast_below_30, **grid)
    assert count_backtests(counter) == 5, "only the points the old constraint rejected run"
    fresh = _cerebro(maxcpus=1).optimize_grid(SmaCross, constraint=_fast_below_30, **{**grid, "storage": None})
    assert looser.best_params == fresh.best_params and looser.best_value == fresh.best_value
    assert list(looser.trials.state) == ["complete"] * 5
    assert sorted(looser.trials.params_fast) == [5, 10, 15, 20, 25]

    # tighter: stored results the new constraint rejects are infeasible, never the best, never run again
    tighter = _cerebro(maxcpus=1).optimize_grid(CountingSmaCross, constraint=lambda p: p["fast"] > 12, **grid)
    assert count_backtests(counter) == 5
    states = dict(zip(tighter.trials.params_fast, tighter.trials.state))
    assert states == {5: "infeasible", 10: "infeasible", 15: "complete", 20: "complete", 25: "complete"}
    assert tighter.best_params["fast"] > 12


# ------------------------------------------------------------------------------ 5. foreign files left intact
def _foreign_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
                      "INSERT INTO customers (name) VALUES ('Ada'), ('Grace');"
                      "CREATE TABLE trials (id INTEGER PRIMARY KEY, drug TEXT);")  # a name we use, by chance
    con.commit()
    con.close()


@pytest.mark.parametrize("kind", ["foreign_sqlite", "text"])
def test_foreign_file_is_left_byte_for_byte_intact(kind: str, tmp_path: Path, counter: Path) -> None:
    path = tmp_path / "app.db"
    if kind == "foreign_sqlite":
        _foreign_sqlite(path)
        expected = r"is a SQLite database of another application \(tables customers, trials\), not a bt_optimize"
    else:
        path.write_text("id,name\n1,Ada\n2,Grace\n")
        expected = r"is not a usable SQLite database: it holds other data"
    before = path.read_bytes()
    with pytest.raises(bto.StorageError, match=expected) as info:
        _cerebro().optimize_grid(CountingSmaCross, fast=[5, 10], slow=[30], storage=str(path), progress=False)
    assert "left it untouched" in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"], "no -wal/-shm or other file was created"
    assert count_backtests(counter) == 0
    # the reader used by `bt-optimize show` refuses it the same way (one StorageError, nothing written)
    with pytest.raises(bto.StorageError, match=expected):
        SQLiteStorage(path, read_only=True)
    assert path.read_bytes() == before


def test_empty_file_becomes_a_store_but_is_no_study_to_show(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    path.touch()  # as tempfile.mkstemp(suffix=".db") leaves it
    with pytest.raises(bto.StorageError, match="is empty: it holds no bt_optimize study"):
        SQLiteStorage(path, read_only=True)
    assert path.stat().st_size == 0
    study = _cerebro(maxcpus=1).optimize_grid(SmaCross, fast=[5, 10], slow=[30], storage=path, study_name="e",
                                              progress=False)
    assert study.n_trials == 2
    reader = SQLiteStorage(path, read_only=True)
    assert reader.study_names() == ["e"]
    reader.close()


def test_missing_file_is_no_study_to_show(tmp_path: Path) -> None:
    with pytest.raises(bto.StorageError, match="does not exist"):
        SQLiteStorage(tmp_path / "nothing.db", read_only=True)
    assert not (tmp_path / "nothing.db").exists()


# ------------------------------------------------------------------------------ 4. no orphaned workers
def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(x) for x in text]
    return out


def _running(pid: int) -> bool:
    """Alive and not a zombie (a reparented zombie waits for a reaper but holds no file)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc to find the worker processes")
def test_workers_exit_after_kill_9_of_the_main_process(tmp_path: Path) -> None:
    db = tmp_path / "orphans.db"
    proc = _start_readme_like(tmp_path, db)
    workers: list[int] = []
    try:
        wait_for_rows(proc, db, 2, "the optimization, before the kill")
        workers = _children(proc.pid)
        assert len(workers) == 2, workers
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the OOM killer or `kill -9 <pid>` does
        proc.communicate(timeout=60)
        deadline = time.monotonic() + 60  # a hang guard; the workers check on their parent twice a second
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [w for w in workers if _running(w)]
        assert not left, f"workers {left} outlived the main process"
    finally:
        for w in workers:
            if _running(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    # nothing holds the file: a new run opens it and resumes
    storage = SQLiteStorage(db)
    assert storage.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    storage.close()


# ------------------------------------------------------------------------------ 7. two processes, one study
SHARED_SCRIPT = """
import json
import os
import sys
import time
from pathlib import Path

import bt_optimize as bto
from tests.helpers_strategies import CountingSmaCross



class SlowCounting(CountingSmaCross):
    def stop(self):
        time.sleep(0.1)  # each backtest takes a while: neither run can finish the study before the other starts
        super().stop()


db, go, method = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
cerebro = bto.Cerebro(maxcpus=1)  # backtests in the main process: the counter file names the process
cerebro.adddata(bto.datasets.load("orcl", fromdate="2005-01-01", todate="2005-12-31"))
go.with_name(f"ready-{os.getpid()}").touch()  # imports done: tell the test, which says go when both are ready
while not go.exists():  # both processes start their searches together
    time.sleep(0.01)
if method == "random":
    study = cerebro.optimize_random(SlowCounting, fast=bto.Int(5, 30), slow=bto.Int(40, 120, step=10),
                                    n_trials=24, seed=4, storage=db, study_name="shared", progress=False)
else:
    study = cerebro.optimize_grid(SlowCounting, fast=range(5, 30, 3), slow=range(40, 120, 20),
                                  storage=db, study_name="shared", progress=False)
print(json.dumps({"n_trials": study.n_trials, "stop": study.stop_reason, "best": study.best_value,
                  "pid": os.getpid()}), flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("method", "total"), [("random", 24), ("grid", 36)])
def test_two_processes_share_one_study(method: str, total: int, tmp_path: Path) -> None:
    db, go, counter = tmp_path / "shared.db", tmp_path / "go", tmp_path / "backtests.txt"
    script = tmp_path / "shared.py"
    script.write_text(textwrap.dedent(SHARED_SCRIPT))
    env = _child_env(**{COUNT_ENV: str(counter)})
    procs = [subprocess.Popen([sys.executable, str(script), str(db), str(go), method], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.monotonic() + POLL_DEADLINE_S
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # go only once both have imported: a slow import must not leave one run all the work
    go.touch()
    outs = [p.communicate(timeout=POLL_DEADLINE_S) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "already stored" not in err
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT number, params FROM trials").fetchall()
    finally:
        con.close()
    points = [json.dumps(json.loads(p), sort_keys=True) for _, p in rows]
    assert len(points) == len(set(points)) == total, "each point stored once, the budget spent exactly"
    assert sorted(n for n, _ in rows) == list(range(total)), "trial numbers handed out once each"
    assert count_backtests(counter) == total, "no point ran in both processes"
    by_pid: dict[str, int] = {}
    for line in counter.read_text().splitlines():
        by_pid[line.split()[0]] = by_pid.get(line.split()[0], 0) + 1
    assert set(by_pid) == {str(r["pid"]) for r in reports}, f"both processes did part of the work: {by_pid}"
    # both runs end with the whole study, and the same answer
    assert [r["n_trials"] for r in reports] == [total, total]
    assert reports[0]["best"] == reports[1]["best"]
    # the run that started second was told about the first, by host, pid and start time
    errs = "".join(err for _, err in outs)
    assert "is also being run by pid" in errs and "on host" in errs and "started" in errs


def test_changed_fixed_strategy_argument_is_a_mismatch(tmp_path: Path, counter: Path) -> None:
    """Arguments of an earlier ``addstrategy`` are fixed params of every trial: a stored study notices a change."""
    db = tmp_path / "fixed.db"
    grid = dict(fast=[5, 10], slow=[30], storage=db, study_name="s", progress=False)
    with pytest.warns(UserWarning, match="addstrategy"):
        first = _setup_cerebro("none")
        first.addstrategy(CountingSmaCross, ma="ema")
        first.optimize_grid(CountingSmaCross, **grid)
    assert count_backtests(counter) == 2
    other = _setup_cerebro("none")
    other.addstrategy(CountingSmaCross, ma="wma")
    with pytest.warns(UserWarning, match="addstrategy"), \
            pytest.raises(bto.StudyMismatchError, match=r"strategy_fixed\.kwargs\.ma: stored 'ema' vs now 'wma'"):
        other.optimize_grid(CountingSmaCross, **grid)
    assert count_backtests(counter) == 2, "nothing runs against a mismatched study"
