"""Objectives of every kind, their direction, and the errors before any backtest."""

from __future__ import annotations

import math

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize.objective import Objective, analyzer_names, to_plain
from sample_strategies import SmaCross


def final_value(strategy) -> float:
    """A module-level objective: the broker's final value."""
    return strategy.broker.getvalue()


def _cerebro(maxcpus=1):
    c = bto.Cerebro(maxcpus=maxcpus)
    c.adddata(bto.datasets.load("orcl", fromdate="2002-01-01", todate="2004-12-31"))
    c.broker.setcash(100_000)
    c.addsizer(bt.sizers.PercentSizer, percents=90)
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    c.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe")
    c.addanalyzer(bt.analyzers.DrawDown)
    return c


def test_natural_directions():
    assert Objective("max_drawdown").maximize is False
    assert Objective("sharpe_ratio").maximize is True
    assert Objective("max_drawdown", maximize=True).maximize is True
    assert Objective(final_value).kind == "callable"


def test_analyzer_names_follow_backtrader():
    names = analyzer_names([(bt.analyzers.DrawDown, (), {}), (bt.analyzers.DrawDown, (), {}),
                            (bt.analyzers.SharpeRatio, (), {"_name": "s"})])
    assert names == ["drawdown", "drawdown1", "s"]


def test_unknown_objective_lists_what_exists_before_running():
    c = _cerebro()
    with pytest.raises(bto.ObjectiveError, match=r"sharpe_ration.*Did you mean 'sharpe_ratio'.*trades, sharpe"):
        c.optimize_grid(SmaCross, fast=[5, 10], slow=[30], objective="sharpe_ration", progress=False)
    with pytest.raises(bto.ObjectiveError):
        Objective(42)


@pytest.mark.parametrize("objective, check", [
    ("total_return", lambda t, a: t.value == t.metrics["total_return"]),
    ("max_drawdown", lambda t, a: t.value == t.metrics["max_drawdown"]),
    ("trades.pnl.net.total", lambda t, a: t.value == pytest.approx(a["trades"]["pnl"]["net"]["total"])),
    ("sharpe", lambda t, a: t.value == pytest.approx(a["sharpe"]["sharperatio"])),
    ("drawdown.max.moneydown", lambda t, a: t.value == pytest.approx(a["drawdown"]["max"]["moneydown"])),
    (final_value, lambda t, a: t.value == pytest.approx(100_000 * (1 + t.metrics["total_return"]))),
])
def test_every_objective_kind(objective, check):
    c = _cerebro()
    study = c.optimize_grid(SmaCross, fast=[5, 10], slow=[30, 50], objective=objective, progress=False)
    for t in study.get_trials():
        assert t.state is bto.TrialState.COMPLETE
        assert check(t, study.analysis(t.number))
    if objective == "max_drawdown":
        assert study.best_value == min(t.value for t in study.get_trials())
    else:
        assert study.best_value == max(t.value for t in study.get_trials())


def test_bad_analyzer_path_fails_the_trial_with_the_keys():
    c = _cerebro()
    with pytest.raises(bto.AllTrialsFailedError, match="has no key 'nope'"):
        c.optimize_grid(SmaCross, fast=[5], slow=[30], objective="trades.pnl.nope", progress=False)


def test_to_plain_is_json_safe():
    import datetime as dt
    import json

    import numpy as np
    data = {"a": np.float64(1.5), dt.date(2020, 1, 2): [np.int64(3), float("nan")], "b": (1, math.inf)}
    out = to_plain(data)
    assert out == {"a": 1.5, "2020-01-02": [3, None], "b": [1, None]}
    json.dumps(out, allow_nan=False)
