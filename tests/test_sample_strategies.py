"""The sample strategies run on real data, trade, and reject parameters that make no sense."""

from __future__ import annotations

import backtrader as bt
import pytest

import sample_strategies
from bt_optimize import datasets
from sample_strategies import DonchianBreakout, RsiMeanReversion, SmaCross


class _Orders(bt.Analyzer):
    """Collect (bar, exectype, is_buy, status, price) of every finished order and count closed trades.

    Order refs are a process-wide counter, so they are left out to keep runs comparable.
    """

    def start(self):
        self.orders = []
        self.closed = 0

    def notify_order(self, order):
        if not order.alive():
            self.orders.append(
                (
                    len(self.strategy),
                    order.exectype,
                    order.isbuy(),
                    order.getstatusname(),
                    order.executed.price,
                )
            )

    def notify_trade(self, trade):
        if trade.isclosed:
            self.closed += 1

    def get_analysis(self):
        return {"orders": self.orders, "closed": self.closed}


def _run(strategy, **params):
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(datasets.load("orcl", fromdate="2000-01-01", todate="2004-12-31"))
    cerebro.broker.setcash(100_000.0)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=90)
    cerebro.addstrategy(strategy, **params)
    cerebro.addanalyzer(_Orders, _name="orders")
    results = cerebro.run()
    return (results[0], cerebro.broker.getvalue()) if results else (None, None)


def test_package_exports():
    assert set(sample_strategies.__all__) == {"SmaCross", "RsiMeanReversion", "DonchianBreakout", "TwoFeedSma"}


@pytest.mark.parametrize(
    ("strategy", "params"),
    [
        (SmaCross, {}),
        (SmaCross, {"ma": "ema"}),
        (SmaCross, {"ma": "wma", "stop": 0.03}),
        (RsiMeanReversion, {}),
        (RsiMeanReversion, {"hold": 5}),
        (DonchianBreakout, {}),
        (DonchianBreakout, {"exit_rule": "atr"}),
        (DonchianBreakout, {"exit_rule": "time"}),
    ],
)
def test_strategy_trades_on_real_data(strategy, params):
    result, final_value = _run(strategy, **params)
    analysis = result.analyzers.orders.get_analysis()
    assert analysis["closed"] >= 3
    assert final_value != 100_000.0


@pytest.mark.parametrize("strategy", [SmaCross, RsiMeanReversion, DonchianBreakout])
def test_strategies_are_deterministic(strategy):
    first = _run(strategy)
    second = _run(strategy)
    assert first[1] == second[1]
    assert first[0].analyzers.orders.get_analysis() == second[0].analyzers.orders.get_analysis()


def test_sma_cross_with_fast_not_below_slow_is_skipped():
    result, _ = _run(SmaCross, fast=30, slow=30)
    assert result is None  # backtrader caught StrategySkipError and ran nothing


def test_sma_cross_skip_inside_optstrategy():
    cerebro = bt.Cerebro(stdstats=False, maxcpus=1, optreturn=False)
    cerebro.adddata(datasets.load("orcl", fromdate="2000-01-01", todate="2001-12-31"))
    cerebro.optstrategy(SmaCross, fast=[10, 40], slow=[30])
    runs = cerebro.run()
    kept = [run for run in runs if run]
    assert [run[0].p.fast for run in kept] == [10]


def test_sma_cross_rejects_unknown_ma():
    with pytest.raises(ValueError, match="ma='hma'"):
        _run(SmaCross, ma="hma")


def test_sma_cross_rejects_bad_stop():
    with pytest.raises(ValueError, match="stop"):
        _run(SmaCross, stop=1.5)


def test_sma_cross_stop_never_leaves_a_short_position():
    """The stop closes longs only: the position is never short and never larger than one entry."""
    result, _ = _run(SmaCross, fast=3, slow=60, stop=0.02)
    orders = result.analyzers.orders.get_analysis()["orders"]
    assert orders, "expected orders"
    assert all(order[1] == bt.Order.Market for order in orders)
    assert result.position.size >= 0


def test_sma_cross_stop_changes_the_outcome():
    _, with_stop = _run(SmaCross, stop=0.05)
    _, without = _run(SmaCross)
    assert with_stop != without


def test_rsi_hold_limits_the_holding_time():
    unlimited, _ = _run(RsiMeanReversion)
    limited, _ = _run(RsiMeanReversion, hold=5)
    assert (
        limited.analyzers.orders.get_analysis()["closed"]
        > unlimited.analyzers.orders.get_analysis()["closed"]
    )


def test_rsi_rejects_bad_params():
    with pytest.raises(ValueError, match="hold"):
        _run(RsiMeanReversion, hold=-1)
    result, _ = _run(RsiMeanReversion, lower=70.0, upper=30.0)
    assert result is None


def test_donchian_rejects_unknown_exit_rule():
    with pytest.raises(ValueError, match="exit_rule='trail'"):
        _run(DonchianBreakout, exit_rule="trail")


def test_donchian_exit_rules_differ():
    values = {rule: _run(DonchianBreakout, exit_rule=rule)[1] for rule in ("channel", "atr", "time")}
    assert len(set(values.values())) == 3


def test_strategies_accept_cerebro_defaults_without_sizer():
    for strategy in (SmaCross, RsiMeanReversion, DonchianBreakout):
        cerebro = bt.Cerebro()
        cerebro.adddata(datasets.load("nvda", fromdate="2003-01-01", todate="2005-12-31"))
        cerebro.addstrategy(strategy)
        assert cerebro.run()
