"""Executors: the serial and the process executor give the same results, and failures stay inside their trial.

Real backtests on ORCL, real worker processes (a worker really gets SIGKILL), a real Ctrl-C (SIGINT) sent to a
real optimization process, real SQLite files.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import pickle
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize import AllTrialsFailedError, Objective, PicklingError, TrialState
from bt_optimize.engine.data import snapshot_feeds
from bt_optimize.engine.executors import (
    Executor,
    ProcessExecutor,
    SerialExecutor,
    default_start_method,
    make_executor,
)
from bt_optimize.engine.worker import Payload, Runtime, TrialSpec, pack_template
from bt_optimize.trial import TrialResult
from sample_strategies import SmaCross
from tests.helpers_strategies import (
    COUNT_ENV,
    CallbackAnalyzer,
    CountingSmaCross,
    DieOnNext,
    RaiseOnNext,
    count_backtests,
    final_value,
    nan_when_fast_20,
)

EXECUTORS = ["serial", "process"]


def _cerebro(maxcpus: int = 2, analyzers: bool = True) -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2005-01-01", todate="2006-12-31"))
    cerebro.broker.setcash(100_000.0)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=90)
    if analyzers:
        cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe")
        cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    return cerebro


def _make(kind: str) -> Executor:
    return SerialExecutor() if kind == "serial" else ProcessExecutor(2)


def _by_params(study: bto.Study, *names: str) -> dict[tuple, bto.Trial]:
    return {tuple(t.params[n] for n in names): t for t in study.get_trials()}


@pytest.fixture(autouse=True)
def _no_leaked_workers() -> Iterator[None]:
    """Every test leaves no worker process of its own running (killed workers included)."""
    before = set(mp.active_children())
    yield
    left = [p for p in mp.active_children() if p not in before]
    assert not left, f"worker processes were left running: {left}"


# ---------------------------------------------------------------------------------------------- the interface
@pytest.fixture(scope="module")
def payload() -> Payload:
    """The study payload, built the way ``Cerebro._study`` builds it."""
    cerebro = _cerebro()
    obj = Objective("sharpe_ratio")
    return Payload(template=pack_template(cerebro), feeds=snapshot_feeds(cerebro), strategy=SmaCross, objective=obj)


SPECS = [
    TrialSpec(0, {"fast": 10, "slow": 30}),
    TrialSpec(1, {"fast": 5, "slow": 60}),
    TrialSpec(2, {"fast": 20, "slow": 15}),  # fast >= slow: StrategySkipError
    TrialSpec(3, {"fast": 15, "slow": 45, "ma": "ema"}),
    TrialSpec(4, {"fast": 8, "slow": 100}, bto.Window(start=150, warmup=100)),
    TrialSpec(5, {"fast": 12, "slow": 40, "stop": 0.05}, keep_series=True),
]


@pytest.fixture(scope="module")
def reference(payload: Payload) -> dict[int, TrialResult]:
    """Each spec run directly by a worker runtime in this process."""
    runtime = Runtime(payload)
    return {spec.number: runtime.run(spec)[0] for spec in SPECS}


def _comparable(res: TrialResult) -> TrialResult:
    return replace(res, duration_s=0.0)


@pytest.mark.parametrize("kind", EXECUTORS)
def test_executor_runs_each_spec_once_with_the_reference_results(kind: str, payload: Payload,
                                                                 reference: dict[int, TrialResult]) -> None:
    assert reference[0].state == "complete" and reference[2].state == "infeasible"
    with _make(kind) as ex:
        ex.start(payload)
        results = list(ex.imap_unordered(iter(SPECS)))
    assert sorted(r.number for r in results) == [s.number for s in SPECS]
    for res in results:
        assert _comparable(res) == _comparable(reference[res.number])
        assert res.duration_s >= 0.0
        assert isinstance(res, TrialResult)
        json.dumps(res.as_dict(), allow_nan=False)  # plain, JSON-safe data only
        assert pickle.loads(pickle.dumps(res)) == res
    assert "equity" in next(r for r in results if r.number == 5).metrics


@pytest.mark.parametrize("kind", EXECUTORS)
def test_executor_pulls_specs_lazily(kind: str, payload: Payload) -> None:
    """Specs are pulled only when a worker is free: never more than n_workers ahead of the results."""
    pulled = [0]

    def stream() -> Iterator[TrialSpec]:
        for spec in SPECS[:4]:
            pulled[0] += 1
            yield spec

    with _make(kind) as ex:
        ex.start(payload)
        n_workers = ex.n_workers
        seen = 0
        for _ in ex.imap_unordered(stream()):
            # specs handed out but not yet answered when this result arrived (this one included)
            assert pulled[0] - seen <= n_workers
            seen += 1
    assert seen == 4 and pulled[0] == 4


@pytest.mark.parametrize("kind", EXECUTORS)
def test_executor_serves_several_streams_and_closes_twice(kind: str, payload: Payload,
                                                          reference: dict[int, TrialResult]) -> None:
    ex = _make(kind)
    ex.start(payload)
    try:
        assert list(ex.imap_unordered([])) == []
        first = list(ex.imap_unordered(SPECS[:2]))
        second = list(ex.imap_unordered(SPECS[3:4]))
        assert sorted(r.number for r in first) == [0, 1]
        assert [r.number for r in second] == [3]
        assert second[0].value == reference[3].value
    finally:
        ex.close()
        ex.close()


def test_make_executor_picks_by_name_and_maxcpus(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_executor(1), SerialExecutor)
    assert isinstance(make_executor(4, "serial"), SerialExecutor)
    ex = make_executor(2)
    assert isinstance(ex, ProcessExecutor) and ex.n_workers == 2
    assert isinstance(make_executor(1, "process"), ProcessExecutor)
    mine = ProcessExecutor(3)
    assert make_executor(1, mine) is mine
    with pytest.raises(ValueError, match="executor="):
        make_executor(2, "threads")
    monkeypatch.setenv("BTO_START_METHOD", "spawn")
    assert default_start_method() == "spawn"
    assert ProcessExecutor(1).ctx.get_start_method() == "spawn"


# ---------------------------------------------------------------------------------------------- via the Cerebro
GRID = dict(fast=[5, 10, 20, 30], slow=[20, 50])  # (20, 20) and (30, 20) are infeasible


def test_serial_and_process_executors_give_the_same_study() -> None:
    serial = _cerebro().optimize_grid(SmaCross, **GRID, executor="serial", progress=False)
    process = _cerebro().optimize_grid(SmaCross, **GRID, executor="process", progress=False)
    a, b = _by_params(serial, "fast", "slow"), _by_params(process, "fast", "slow")
    assert a.keys() == b.keys() and len(a) == 8
    for key in a:
        assert a[key].state == b[key].state
        assert a[key].value == b[key].value
        assert a[key].metrics == b[key].metrics
        assert serial.analysis(a[key].number) == process.analysis(b[key].number)
    assert a[(20, 20)].state is TrialState.INFEASIBLE
    assert serial.best_params == process.best_params and serial.best_value == process.best_value
    assert serial.stop_reason == process.stop_reason == "exhausted"


@pytest.mark.slow
def test_process_executor_with_spawn() -> None:
    ex = ProcessExecutor(2, start_method="spawn")
    assert ex.ctx.get_start_method() == "spawn"
    study = _cerebro().optimize_grid(SmaCross, fast=[10, 20], slow=[50, 80], executor=ex, progress=False)
    serial = _cerebro().optimize_grid(SmaCross, fast=[10, 20], slow=[50, 80], executor="serial", progress=False)
    got, want = _by_params(study, "fast", "slow"), _by_params(serial, "fast", "slow")
    assert {k: t.value for k, t in got.items()} == {k: t.value for k, t in want.items()}
    assert all(t.state is TrialState.COMPLETE for t in got.values())


# ---------------------------------------------------------------------------------------------- failures
def test_worker_killed_mid_trial_fails_only_that_trial(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    study = _cerebro().optimize_grid(DieOnNext, fast=[5, 10, 20], die=[False, True], executor="process",
                                     storage=db, study_name="die", progress=False)
    assert study.stop_reason == "exhausted"
    trials = _by_params(study, "fast", "die")
    assert len(trials) == 6
    for (_, die), t in trials.items():
        if die:
            assert t.state is TrialState.FAIL, t
            assert "worker process died" in t.error and "signal 9" in t.error, t.error
            assert t.value is None
        else:
            assert t.state is TrialState.COMPLETE, t
            assert math.isfinite(t.value)
    # the dying trials interleave with the others, so replacement workers ran the rest of the grid
    assert study.best_trial.params["die"] is False
    # a live trial of DieOnNext is exactly a SmaCross trial
    ref = _cerebro().optimize_grid(SmaCross, fast=[5, 10, 20], executor="serial", progress=False)
    assert {f: trials[(f, False)].value for f in (5, 10, 20)} == {t.params["fast"]: t.value for t in ref.get_trials()}
    con = sqlite3.connect(db)
    try:
        states = dict(con.execute("SELECT number, state FROM trials").fetchall())
    finally:
        con.close()
    assert sorted(states.values()) == ["complete"] * 3 + ["fail"] * 3


@pytest.mark.parametrize("kind", EXECUTORS)
def test_strategy_exception_fails_the_trial_with_its_text(kind: str) -> None:
    study = _cerebro().optimize_grid(RaiseOnNext, fast=[10, 20], boom=[False, True], executor=kind, progress=False)
    trials = _by_params(study, "fast", "boom")
    for fast in (10, 20):
        bad = trials[(fast, True)]
        assert bad.state is TrialState.FAIL and bad.value is None
        assert f"RuntimeError: boom fast={fast}" in bad.error
        assert "helpers_strategies.py" in bad.error, "the traceback shows where it was raised"
        assert trials[(fast, False)].state is TrialState.COMPLETE
    assert study.stop_reason == "exhausted"


@pytest.mark.parametrize("kind", EXECUTORS)
def test_nan_objective_fails_the_trial(kind: str) -> None:
    study = _cerebro().optimize_grid(SmaCross, fast=[10, 20, 30], slow=[50], objective=nan_when_fast_20,
                                     executor=kind, progress=False)
    trials = _by_params(study, "fast")
    assert trials[(20,)].state is TrialState.FAIL
    assert trials[(20,)].value is None
    assert "nan" in trials[(20,)].error and "nan_when_fast_20" in trials[(20,)].error
    for fast in (10, 30):
        assert trials[(fast,)].state is TrialState.COMPLETE
        assert trials[(fast,)].value == trials[(fast,)].metrics["end_value"]


@pytest.mark.parametrize("kind", EXECUTORS)
def test_strategy_skip_error_is_infeasible(kind: str) -> None:
    study = _cerebro().optimize_grid(SmaCross, fast=[10, 60], slow=[50], executor=kind, progress=False)
    trials = _by_params(study, "fast")
    assert trials[(60,)].state is TrialState.INFEASIBLE
    assert trials[(60,)].value is None and "StrategySkipError" in trials[(60,)].error
    assert trials[(10,)].state is TrialState.COMPLETE
    assert study.n_ran == 1, "an infeasible trial is not a backtest that counts"


@pytest.mark.parametrize("kind", EXECUTORS)
def test_every_trial_failing_raises_with_the_first_error(kind: str, tmp_path: Path) -> None:
    db = tmp_path / "fail.db"
    with pytest.raises(AllTrialsFailedError) as info:
        _cerebro().optimize_grid(RaiseOnNext, fast=[10, 20, 30], slow=[50], boom=[True], executor=kind,
                                 storage=db, study_name="f", progress=False)
    msg = str(info.value)
    assert "all 3 trials failed" in msg
    assert "RuntimeError: boom fast=" in msg
    # the quoted error is the one of the trial the message names
    con = sqlite3.connect(db)
    try:
        rows = {n: (json.loads(p), e) for n, p, e in con.execute("SELECT number, params, error FROM trials")}
    finally:
        con.close()
    assert len(rows) == 3, "failed trials are stored before the study raises"
    quoted = [n for n, (p, e) in rows.items() if f"(trial {n}, params" in msg]
    assert len(quoted) == 1
    params, error = rows[quoted[0]]
    assert f"boom fast={params['fast']}" in msg and error.splitlines()[0] in msg
    if kind == "serial":
        assert quoted == [0]


# ---------------------------------------------------------------------------------------------- pickling
@pytest.fixture
def counter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "backtests.txt"
    monkeypatch.setenv(COUNT_ENV, str(path))
    return path


def test_lambda_objective_needs_a_single_process(counter: Path) -> None:
    with pytest.raises(PicklingError) as info:
        _cerebro(maxcpus=2).optimize_grid(CountingSmaCross, fast=[10, 20], slow=[50],
                                          objective=lambda s: s.broker.getvalue(), progress=False)
    assert "objective" in str(info.value) and "<lambda>" in str(info.value)
    assert count_backtests(counter) == 0, "the error must come before any backtest"

    study = _cerebro(maxcpus=1).optimize_grid(CountingSmaCross, fast=[10, 20], slow=[50],
                                              objective=lambda s: s.broker.getvalue(), progress=False)
    assert count_backtests(counter) == 2
    ref = _cerebro(maxcpus=1).optimize_grid(CountingSmaCross, fast=[10, 20], slow=[50], objective=final_value,
                                            progress=False)
    assert [t.value for t in study.get_trials()] == [t.value for t in ref.get_trials()]


def test_unpicklable_analyzer_argument_is_named(counter: Path) -> None:
    cerebro = _cerebro(maxcpus=2)
    cerebro.addanalyzer(CallbackAnalyzer, _name="cb", fn=lambda v: 2 * v)
    with pytest.raises(PicklingError) as info:
        cerebro.optimize_grid(CountingSmaCross, fast=[10, 20], slow=[50], progress=False)
    assert "analyzer CallbackAnalyzer" in str(info.value)
    assert count_backtests(counter) == 0, "the error must come before any backtest"

    # in one process nothing needs pickling: the same configuration runs
    serial = _cerebro(maxcpus=1)
    serial.addanalyzer(CallbackAnalyzer, _name="cb", fn=lambda v: 2 * v)
    study = serial.optimize_grid(CountingSmaCross, fast=[10, 20], slow=[50], progress=False)
    assert count_backtests(counter) == 2
    for t in study.get_trials():
        analysis = study.analysis(t.number)
        assert analysis["cb"]["value"] == pytest.approx(2 * analysis["performance"]["end_value"])


# Ctrl-C: tests/test_reliability.py::test_ctrl_c_stores_stops_workers_and_stops_the_script


# ---------------------------------------------------------------------------------------------- cache on resume
def test_resumed_study_serves_stored_trials_from_cache(tmp_path: Path, counter: Path) -> None:
    db = tmp_path / "cache.db"
    grid = dict(fast=[10, 20, 30], slow=[50, 80], storage=db, study_name="g", progress=False)
    first = _cerebro().optimize_grid(CountingSmaCross, **grid)
    assert count_backtests(counter) == 6
    again = _cerebro().optimize_grid(CountingSmaCross, **grid)
    assert count_backtests(counter) == 6, "a finished grid resumed runs no backtest"
    assert again.n_trials == 6 and again.stop_reason == "exhausted"
    assert sorted((t.number, t.value) for t in again.get_trials()) == sorted(
        (t.number, t.value) for t in first.get_trials())
    assert again.best_params == first.best_params

    space = dict(fast=bto.Int(5, 30), slow=bto.Int(40, 100, step=10), seed=3, storage=db, study_name="r",
                 progress=False)
    _cerebro().optimize_random(CountingSmaCross, n_trials=3, **space)
    assert count_backtests(counter) == 9
    more = _cerebro().optimize_random(CountingSmaCross, n_trials=5, **space)
    assert count_backtests(counter) == 11, "the 3 stored points are served from storage, 2 new ones run"
    assert more.n_ran == 5 and more.n_trials == 5
    assert not any(t.cached for t in more.get_trials())
