"""The :class:`TrialResult` contract between the worker, the executors and the study.

Results come from real backtests (ORCL, a real ``Runtime``); the facts the layers add (screen, folds, limits,
retries) become the ``user_attrs`` keys that stored studies already hold.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import FrozenInstanceError, replace

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize.engine.data import snapshot_feeds
from bt_optimize.engine.worker import Payload, Runtime, TrialSpec, pack_template
from bt_optimize.objective import make_objective
from bt_optimize.objectives.limits import apply_limits
from bt_optimize.trial import Screening, TrialResult, TrialState
from sample_strategies import SmaCross


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    c = bto.Cerebro()
    c.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2005-12-31"))
    c.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe")
    objective = make_objective(["sharpe_ratio", "max_drawdown"], limits={"n_trades": 1000})
    return Runtime(Payload(template=pack_template(c), feeds=snapshot_feeds(c), strategy=SmaCross,
                           objective=objective))


def test_a_worker_result_is_frozen_plain_data_that_pickles_to_itself(runtime: Runtime) -> None:
    res, strat = runtime.run(TrialSpec(3, {"fast": 10, "slow": 30}, bto.Window(100, 600, 40), keep_series=True,
                                       keep_returns=True))
    assert isinstance(res, TrialResult) and strat is not None
    assert (res.number, res.state, res.window) == (3, TrialState.COMPLETE, bto.Window(100, 600, 40))
    assert res.value == res.values[0] and len(res.values) == 2  # a multi-objective run keeps every value
    assert res.breaches == (("n_trades", res.breaches[0][1]),)  # fewer than 1000 trades
    assert res.equity is res.metrics["equity"] and res.trades is res.metrics["trades"] and res.trades
    assert res.analysis["sharpe"] and res.returns
    with pytest.raises(FrozenInstanceError):
        res.value = 1.0  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == res and back.returns == res.returns and type(back.state) is TrialState
    # the pickle holds values, not field names: no larger than the plain dict of the same facts
    assert len(pickle.dumps(res, protocol=5)) <= len(pickle.dumps(res.as_dict(), protocol=5)) + 64
    json.dumps({k: v for k, v in res.as_dict().items() if k != "returns"}, allow_nan=False)


def test_skipped_and_failed_runs(runtime: Runtime) -> None:
    skipped, strat = runtime.run(TrialSpec(0, {"fast": 30, "slow": 10}))
    assert skipped.state is TrialState.INFEASIBLE and strat is None and "StrategySkipError" in skipped.error
    assert skipped.value is None and skipped.metrics == {} and skipped.user_attrs == {}
    failed, _ = runtime.run(TrialSpec(1, {"fast": 10, "slow": 30, "ma": "nope"}))
    assert failed.state is TrialState.FAIL and "ValueError" in failed.error and not failed.objective_error


def test_folds_give_the_mean_and_the_spec_window(runtime: Runtime) -> None:
    folds = (bto.Window(0, 250), bto.Window(250, 500, 50))
    res, _ = runtime.run(TrialSpec(2, {"fast": 10, "slow": 30}, folds=folds, keep_returns=True))
    one = [runtime.run(TrialSpec(2, {"fast": 10, "slow": 30}, w))[0].value for w in folds]
    assert res.folds == pytest.approx(one) and res.value == pytest.approx(sum(one) / 2)
    assert res.window == bto.Window() and res.values is None
    assert res.user_attrs == {"folds": list(res.folds)}


def test_user_attrs_keep_the_keys_stored_studies_hold(runtime: Runtime) -> None:
    res, _ = runtime.run(TrialSpec(0, {"fast": 10, "slow": 30}))
    values = list(res.values)
    pruned = replace(res, state=TrialState.PRUNED, values=None, fidelity=0.35,
                     screening=Screening(quick_value=res.value, promote_threshold=0.5, pruned_by="bound",
                                         promote_bound=0.25))
    assert pruned.user_attrs == {"fidelity": 0.35, "quick_value": res.value, "promote_threshold": 0.5,
                                 "pruned_by": "bound", "promote_bound": 0.25}
    assert list(pruned.user_attrs) == ["fidelity", "quick_value", "promote_threshold", "pruned_by", "promote_bound"]
    unscored = replace(res, fidelity=1.0, screening=Screening())
    assert unscored.user_attrs == {"values": values, "fidelity": 1.0, "quick_value": None, "promote_threshold": None}
    assert replace(res, fidelity=0.35, values=None).user_attrs == {"fidelity": 0.35}  # infeasible quick run
    retried = replace(res, attempts=2, actor_errors=("RayActorError: died",))
    assert retried.user_attrs == {"values": values, "attempts": 2, "actor_errors": ["RayActorError: died"]}


def test_limits_turn_a_complete_full_result_infeasible(runtime: Runtime) -> None:
    res, _ = runtime.run(TrialSpec(0, {"fast": 10, "slow": 30}))
    limits = runtime.payload.objective.limits
    cut = apply_limits(res, limits)
    assert cut.state is TrialState.INFEASIBLE and cut.value is None and cut.error.startswith("limits: n_trades")
    assert cut.user_attrs["limits"] == ["n_trades"] and cut.user_attrs["value_without_limits"] == res.value
    assert apply_limits(res, None) is res
    assert apply_limits(replace(res, fidelity=0.35), limits).state is TrialState.COMPLETE  # quick runs are screened
    assert cut.as_dict()["limits"] == [list(b) for b in res.breaches]
