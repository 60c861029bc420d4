"""RayExecutor on a real local Ray cluster (``ray start --head`` on 127.0.0.1, 2 CPUs), reached by its address.

Real backtests on ORCL, real Ray actors (one really gets SIGKILL mid-trial), a real ``kill -9`` of a driver process,
real SQLite files. Deselect with ``-m "not ray"``.
"""

from __future__ import annotations

import math
import os
import pickle
import sqlite3
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize import ClusterError, Objective, OptionError, PicklingError, TrialState
from bt_optimize.engine.data import snapshot_feeds
from bt_optimize.engine.executors import make_executor
from bt_optimize.engine.ray_executor import RayExecutor, release_idle_actors
from bt_optimize.engine.worker import Payload, Runtime, TrialSpec, pack_template
from sample_strategies import SmaCross
from tests.helpers_processes import count_rows, kill_9_after, sigint_after
from tests.helpers_ray import LocalRayCluster, free_port, use_loopback
from tests.helpers_strategies import COUNT_ENV, DieOnceOnNext, count_backtests

use_loopback()  # before Ray is imported: this process talks to the cluster on 127.0.0.1 only
pytest.importorskip("ray", reason="the Ray tests need the ray extra: pip install -e '.[dev,ray]' (make test does)")

pytestmark = pytest.mark.ray


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """A 2-CPU cluster for the whole session; ``RAY_ADDRESS`` points at it (what ``executor="ray"`` finds)."""
    cluster = LocalRayCluster(num_cpus=2)
    old = os.environ.get("RAY_ADDRESS")
    try:
        cluster.start()
        os.environ["RAY_ADDRESS"] = cluster.address
        yield cluster.address
    finally:
        if old is None:
            os.environ.pop("RAY_ADDRESS", None)
        else:
            os.environ["RAY_ADDRESS"] = old
        import ray

        release_idle_actors()
        ray.shutdown()
        cluster.stop()


@pytest.fixture(scope="module", autouse=True)
def _disconnect_after_this_module() -> Iterator[None]:
    """Leave no Ray connection (and its threads) behind for the tests that fork worker processes later."""
    yield
    if "ray" in sys.modules:
        import ray

        release_idle_actors()
        ray.shutdown()


def _cerebro(fromdate: str = "2005-01-01", todate: str = "2006-12-31") -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=2)
    cerebro.adddata(bto.datasets.load("orcl", fromdate=fromdate, todate=todate))
    cerebro.broker.setcash(100_000.0)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=90)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    return cerebro


def _same_trials(a: bto.Study, b: bto.Study) -> None:
    """Equal trials by number: params, state, value, metrics, analyzers and user attributes."""
    ta, tb = a.get_trials(), b.get_trials()
    assert [t.number for t in ta] == [t.number for t in tb] and ta
    for x, y in zip(ta, tb):
        assert (x.params, x.state, x.value, x.window) == (y.params, y.state, y.value, y.window), (x, y)
        assert x.metrics == y.metrics and x.user_attrs == y.user_attrs
        assert a.analysis(x.number) == b.analysis(y.number)


# ---------------------------------------------------------------------------------------------- equal results
def test_grid_on_ray_equals_serial(ray_address: str) -> None:
    grid = dict(fast=[5, 10, 20, 30], slow=[20, 50])  # (20, 20) and (30, 20) are infeasible
    ray_study = _cerebro().optimize_grid(SmaCross, **grid, executor=RayExecutor(address=ray_address), progress=False)
    serial = _cerebro().optimize_grid(SmaCross, **grid, executor="serial", progress=False)
    by = {tuple(t.params.values()): t for t in serial.get_trials()}
    got = {tuple(t.params.values()): t for t in ray_study.get_trials()}
    assert got.keys() == by.keys() and len(got) == 8
    for k, t in got.items():
        assert (t.state, t.value, t.metrics, t.user_attrs) == (by[k].state, by[k].value, by[k].metrics, {})
        assert ray_study.analysis(t.number) == serial.analysis(by[k].number)
    assert got[(20, 20)].state is TrialState.INFEASIBLE
    assert ray_study.best_params == serial.best_params and ray_study.stop_reason == "exhausted"


def test_executor_streams_specs_lazily_with_reference_results(ray_address: str) -> None:
    cerebro = _cerebro()
    payload = Payload(template=pack_template(cerebro), feeds=snapshot_feeds(cerebro), strategy=SmaCross,
                      objective=Objective("sharpe_ratio"))
    specs = [TrialSpec(0, {"fast": 10, "slow": 30}), TrialSpec(1, {"fast": 20, "slow": 15}),
             TrialSpec(2, {"fast": 8, "slow": 100}, bto.Window(start=150, warmup=100)),
             TrialSpec(3, {"fast": 12, "slow": 40}, keep_series=True)]
    runtime = Runtime(payload)
    want = {s.number: runtime.run(s)[0] for s in specs}
    pulled = [0]

    def stream() -> Iterator[TrialSpec]:
        for s in specs:
            pulled[0] += 1
            yield s

    ex = make_executor(1, "ray")  # the shorthand: RAY_ADDRESS names the cluster
    assert isinstance(ex, RayExecutor)
    ex.start(payload)
    try:
        assert ex.n_workers == 2  # one actor per CPU of the cluster
        seen = 0
        for res in ex.imap_unordered(stream()):
            assert pulled[0] - seen <= ex.n_workers  # a spec goes out only when an actor is free
            seen += 1
            assert replace(res, duration_s=0.0) == replace(want[res.number], duration_s=0.0)
        assert seen == 4
        assert list(ex.imap_unordered([])) == []
    finally:
        ex.close()
        ex.close()


SMA_SPACE = dict(fast=bto.Int(2, 40), slow=bto.Int(20, 120, step=5))


@pytest.mark.parametrize("options", [dict(fidelity=0.4), dict(cv=2)], ids=["fidelity", "cv"])
def test_bayes_on_ray_equals_serial(ray_address: str, options: dict) -> None:
    kw = dict(n_trials=8, batch_size=4, seed=3, progress=False, constraint=_fast_below_slow, **options, **SMA_SPACE)
    on_ray = _cerebro().optimize_bayes(SmaCross, executor=RayExecutor(address=ray_address), **kw)
    serial = _cerebro().optimize_bayes(SmaCross, executor="serial", **kw)
    _same_trials(on_ray, serial)
    if "fidelity" in options:
        assert {t.state for t in on_ray.get_trials()} >= {TrialState.COMPLETE}
        assert all("quick_value" in t.user_attrs for t in on_ray.get_trials())
    else:
        assert all(len(t.user_attrs["folds"]) == 2 for t in on_ray.get_trials((TrialState.COMPLETE,)))


def _fast_below_slow(p: dict) -> bool:
    return p["fast"] < p["slow"]


def test_random_genetic_and_sensitivity_on_ray_equal_serial(ray_address: str) -> None:
    ex = RayExecutor(address=ray_address)
    for method, kw in [("random", dict(n_trials=6, seed=2)),
                       ("genetic", dict(population_size=4, generations=2, elite_size=1, seed=2))]:
        run = getattr(_cerebro(), f"optimize_{method}")
        _same_trials(run(SmaCross, executor=ex, progress=False, **kw, **SMA_SPACE),
                     getattr(_cerebro(), f"optimize_{method}")(SmaCross, executor="serial", progress=False, **kw,
                                                               **SMA_SPACE))
    base = {"fast": 10, "slow": 40}
    on_ray = _cerebro().sensitivity(SmaCross, base, n_points=4, n_bootstrap=20, executor=ex)
    serial = _cerebro().sensitivity(SmaCross, base, n_points=4, n_bootstrap=20, executor="serial")
    assert on_ray.to_dict() == serial.to_dict()


def test_noise_infusion_reruns_on_ray_equal_serial(ray_address: str) -> None:
    def run(executor: object) -> dict:
        cerebro = _cerebro()
        cerebro.addstrategy(SmaCross, fast=10, slow=40)
        cerebro.addanalyzer(bto.analyzers.NoiseInfusion, _name="noise", n_simulations=4, seed=7, executor=executor)
        return cerebro.run()[0].analyzers.noise.get_analysis()

    on_ray = run(RayExecutor(address=ray_address))
    assert on_ray["status"] == "ok" and on_ray["n_completed"] == 4
    assert on_ray == run("serial")


def test_walk_forward_on_ray_equals_processes(ray_address: str) -> None:
    def run(executor: object) -> bto.WalkForward:
        cerebro = _cerebro(fromdate="2001-01-01", todate="2003-12-31")
        return cerebro.walk_forward(SmaCross, method="grid", fast=[5, 10, 20], slow=[30, 60], train=250,
                                    validation=60, test=120, warmup=60, progress=False, executor=executor)

    on_ray, on_processes = run(RayExecutor(address=ray_address)), run("process")
    assert len(on_ray.windows) >= 2
    assert on_ray.windows.equals(on_processes.windows)
    assert on_ray.oos_equity.equals(on_processes.oos_equity)
    assert on_ray.summary.keys() == on_processes.summary.keys()
    for k, v in on_ray.summary.items():
        w = on_processes.summary[k]
        assert v.equals(w) if hasattr(v, "equals") else (v == w or (v != v and w != w)), k
    for a, b in zip(on_ray.studies, on_processes.studies):
        _same_trials(a, b)


# ---------------------------------------------------------------------------------------------- faults
def test_actor_killed_mid_trial_retries_or_fails_that_trial_only(ray_address: str, tmp_path: Path) -> None:
    """The trial with a ``flag`` kills its actor (SIGKILL) on its first run; the other trials never notice."""
    grid = dict(fast=[5, 10, 20], slow=[50])
    ref = {t.params["fast"]: t.value for t in _cerebro().optimize_grid(SmaCross, **grid, executor="serial",
                                                                        progress=False).get_trials()}
    for retries in (1, 0):
        flag = tmp_path / f"died-{retries}"
        study = _cerebro().optimize_grid(DieOnceOnNext, **grid, flag=["", str(flag)], progress=False,
                                         executor=RayExecutor(address=ray_address, max_retries=retries))
        assert flag.exists() and study.stop_reason == "exhausted" and study.n_trials == 6
        # only the first flagged trial to run kills its actor; the later flagged ones find the flag and run
        dead = [t for t in study.get_trials() if "actor_errors" in t.user_attrs or t.state is TrialState.FAIL]
        assert len(dead) == 1, [(t.params, t.state, t.user_attrs, t.error) for t in study.get_trials()]
        victim = dead[0]
        assert victim.params["flag"] == str(flag)
        others = [t for t in study.get_trials() if t is not victim]
        assert all(t.state is TrialState.COMPLETE and t.user_attrs == {} for t in others)
        assert all(t.value == ref[t.params["fast"]] for t in others)
        if retries:
            assert victim.state is TrialState.COMPLETE and victim.value == ref[victim.params["fast"]]
            assert victim.user_attrs["attempts"] == 2 and len(victim.user_attrs["actor_errors"]) == 1
        else:
            assert victim.state is TrialState.FAIL and victim.value is None
            assert "actor" in victim.error and "died" in victim.error and "max_retries=0" in victim.error


KILL_SCRIPT = """
import sys

import bt_optimize as bto
from sample_strategies import SmaCross

cerebro = bto.Cerebro()
cerebro.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2006-12-31"))
study = cerebro.optimize_grid(SmaCross, fast=[5, 10, 15, 20], slow=[40, 60, 80, 100], storage=sys.argv[1],
                              study_name="k", progress=False, executor=bto.RayExecutor(address=sys.argv[2]))
print("finished", study.stop_reason, flush=True)
"""


def _start_driver(script_text: str, tmp_path: Path, db: Path, address: str) -> subprocess.Popen:
    """Run ``script_text`` as a driver process of its own (own session), with ``db`` and ``address`` as arguments."""
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(script_text))
    release_idle_actors()  # this process's idle actors hold the cluster's CPUs: free them for the other driver
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen([sys.executable, str(script), str(db), address], cwd=root,
                            env={**os.environ, "PYTHONPATH": str(root)}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stored(db: Path) -> dict[int, str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(con.execute("SELECT number, state FROM trials").fetchall())
    finally:
        con.close()


def test_resume_after_kill_9_of_the_driver(ray_address: str, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    proc = _start_driver(KILL_SCRIPT, tmp_path, db, ray_address)
    kill_9_after(proc, db, 4, "the Ray driver")
    grid = dict(fast=[5, 10, 15, 20], slow=[40, 60, 80, 100])
    cerebro = bto.Cerebro()
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2006-12-31"))
    before = _stored(db)
    assert 4 <= len(before) < 16 and set(before.values()) == {"complete"}
    resumed = cerebro.optimize_grid(SmaCross, **grid, storage=db, study_name="k", progress=False,
                                    executor=RayExecutor(address=ray_address))
    assert resumed.stop_reason == "exhausted" and resumed.n_trials == 16
    trials = resumed.get_trials()
    assert sorted(t.number for t in trials) == list(range(16))
    assert len({tuple(t.params.values()) for t in trials}) == 16  # every point once
    serial = bto.Cerebro()
    serial.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2006-12-31"))
    ref = {tuple(t.params.values()): t.value for t in serial.optimize_grid(SmaCross, **grid, executor="serial",
                                                                           progress=False).get_trials()}
    assert {tuple(t.params.values()): t.value for t in trials} == ref


SIGINT_SCRIPT = """
import signal
import sys

import bt_optimize as bto
from sample_strategies import SmaCross

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (background jobs ignore SIGINT)
cerebro = bto.Cerebro()
cerebro.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2006-12-31"))
try:
    study = cerebro.optimize_grid(SmaCross, fast=[5, 10, 15, 20], slow=[40, 60, 80, 100], storage=sys.argv[1],
                                  study_name="c", progress=False, executor=bto.RayExecutor(address=sys.argv[2]))
    print("stop_reason", study.stop_reason, flush=True)
except KeyboardInterrupt:
    print("stop_reason interrupted (raised)", flush=True)
"""


def test_ctrl_c_in_the_driver_keeps_finished_trials(ray_address: str, tmp_path: Path) -> None:
    db = tmp_path / "ctrlc.db"
    proc = _start_driver(SIGINT_SCRIPT, tmp_path, db, ray_address)
    n_at_signal, out, err = sigint_after(proc, db, 3, "the Ray driver")
    assert proc.returncode == 0, err
    assert out.startswith("stop_reason interrupted"), out + err
    stored = _stored(db)
    assert n_at_signal <= len(stored) < 16 and set(stored.values()) == {"complete"}
    # the study resumes from the file with the finished trials
    cerebro = bto.Cerebro()
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2006-12-31"))
    resumed = cerebro.optimize_grid(SmaCross, fast=[5, 10, 15, 20], slow=[40, 60, 80, 100], storage=db,
                                    study_name="c", progress=False, executor=RayExecutor(address=ray_address))
    assert resumed.n_trials == 16 and sorted(t.number for t in resumed.get_trials()) == list(range(16))


UNREACHABLE_SCRIPT = """
import sys

import bt_optimize as bto
from tests.helpers_strategies import CountingSmaCross

cerebro = bto.Cerebro()
cerebro.adddata(bto.datasets.load("orcl", fromdate="2005-01-01", todate="2005-12-31"))
try:
    cerebro.optimize_grid(CountingSmaCross, fast=[5, 10], executor=bto.RayExecutor(address=sys.argv[1]),
                          progress=False)
except bto.ClusterError as exc:
    print("ClusterError", exc)
"""


def test_unreachable_address_is_a_clear_error_before_any_backtest(tmp_path: Path) -> None:
    counter = tmp_path / "count.txt"
    script = tmp_path / "unreachable.py"
    script.write_text(textwrap.dedent(UNREACHABLE_SCRIPT))
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    env = {**os.environ, COUNT_ENV: str(counter), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("RAY_ADDRESS", None)
    out = subprocess.run([sys.executable, str(script), address], env=env, capture_output=True, text=True,
                         timeout=300, cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ClusterError cannot reach the Ray cluster at"), out.stdout + out.stderr
    assert address in out.stdout and "ray start --head" in out.stdout
    assert count_backtests(counter) == 0


def test_strategy_module_missing_on_the_nodes_is_named_before_any_backtest(ray_address: str,
                                                                           tmp_path: Path) -> None:
    """A strategy whose module exists in the driver only (as a class of the script run as ``__main__`` would)."""
    module = types.ModuleType("bto_driver_only")
    exec("from sample_strategies import SmaCross\nclass Local(SmaCross):\n    pass\n", module.__dict__)
    module.Local.__module__ = "bto_driver_only"
    sys.modules["bto_driver_only"] = module
    db = tmp_path / "s.db"
    try:
        with pytest.raises(PicklingError, match="cannot load the study") as err:
            _cerebro().optimize_grid(module.Local, fast=[5, 10], executor=RayExecutor(address=ray_address),
                                     storage=db, study_name="s", progress=False)
        assert count_rows(db) == 0  # raised at the start: no trial ran
    finally:
        del sys.modules["bto_driver_only"]
    assert "bto_driver_only" in str(err.value) and "runtime_env" in str(err.value)


def test_bad_arguments_are_rejected_with_the_fix() -> None:
    for kw, match in [(dict(num_workers=0), "num_workers"), (dict(max_retries=-1), "max_retries"),
                      (dict(max_retries=True), "max_retries"), (dict(address="nohostport"), "host:port"),
                      (dict(address=""), "address")]:
        with pytest.raises(OptionError, match=match):
            RayExecutor(**kw)
    assert issubclass(ClusterError, ConnectionError)
    ex = RayExecutor(address="127.0.0.1:6379", num_workers=3, max_retries=2, runtime_env={"env_vars": {"A": "1"}})
    back = pickle.loads(pickle.dumps(ex))  # an executor travels as its settings (e.g. as an analyzer param)
    assert repr(back) == repr(ex) and back.init_kwargs == ex.init_kwargs
    assert math.isclose(back.max_retries, 2)


def test_distributed_docs_example_runs(ray_address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_docs import run_page

    monkeypatch.chdir(tmp_path)
    ns = run_page("distributed.md", 1)
    assert ns["study"].n_trials >= 1 and ns["study"].best_value is not None
