"""Tests for bt_optimize.stats.metrics: hand-computed values, edge cases, and backtrader cross-checks."""

from __future__ import annotations

import ast
import math
import pathlib
import statistics
import warnings

import backtrader as bt
import numpy as np
import pytest

from bt_optimize import datasets
from bt_optimize.stats import LOWER_IS_BETTER, METRICS, compute_metrics, periods_per_year
from sample_strategies import SmaCross

# A small curve: start 100, then 110, 99, 121 -> returns +10 %, -10 %, +22.22 %.
START = 100.0
EQUITY = np.array([110.0, 99.0, 121.0])
RETURNS = [0.1, -0.1, 121.0 / 99.0 - 1.0]
PNLS = np.array([10.0, -5.0, 20.0, -5.0, 0.0])


def metrics(equity=EQUITY, pnls=PNLS, ppy=12.0, start=START):
    return compute_metrics(np.asarray(equity, dtype=float), np.asarray(pnls, dtype=float), ppy, start)


# --------------------------------------------------------------------------- shape of the result


def test_result_keys_follow_metrics_order_and_are_plain_floats():
    result = metrics()
    assert tuple(result) == METRICS
    assert all(type(value) is float for value in result.values())


def test_metric_names_and_direction():
    assert METRICS == (
        "sharpe_ratio",
        "sortino_ratio",
        "calmar_ratio",
        "total_return",
        "annual_return",
        "max_drawdown",
        "win_rate",
        "profit_factor",
        "sqn",
        "n_trades",
    )
    assert LOWER_IS_BETTER == frozenset({"max_drawdown"})
    assert LOWER_IS_BETTER <= set(METRICS)


def test_accepts_plain_lists():
    result = compute_metrics([110.0, 99.0, 121.0], [10.0, -5.0], 12, start_value=100)
    assert result["total_return"] == pytest.approx(0.21)


# --------------------------------------------------------------------------- hand-computed values


def test_sharpe_ratio_by_hand():
    expected = statistics.mean(RETURNS) / statistics.stdev(RETURNS) * math.sqrt(12.0)
    assert metrics()["sharpe_ratio"] == pytest.approx(expected, rel=1e-12)


def test_sortino_ratio_by_hand():
    downside = math.sqrt((0.0 + 0.01 + 0.0) / 3.0)  # only the -10 % bar is below 0
    expected = statistics.mean(RETURNS) / downside * math.sqrt(12.0)
    assert metrics()["sortino_ratio"] == pytest.approx(expected, rel=1e-12)


def test_total_and_annual_return_by_hand():
    result = metrics()
    assert result["total_return"] == pytest.approx(0.21, rel=1e-12)
    # 3 monthly bars -> 12/3 = 4 periods a year: 1.21 ** 4 - 1
    assert result["annual_return"] == pytest.approx(1.21**4 - 1.0, rel=1e-12)
    assert metrics(ppy=3.0)["annual_return"] == pytest.approx(0.21, rel=1e-12)


def test_max_drawdown_by_hand():
    assert metrics()["max_drawdown"] == pytest.approx(0.1, rel=1e-12)  # 110 -> 99
    deep = metrics(equity=[120.0, 90.0, 130.0, 65.0], start=100.0)  # 120 -> 90 is 25 %, 130 -> 65 is 50 %
    assert deep["max_drawdown"] == pytest.approx(0.5, rel=1e-12)


def test_max_drawdown_counts_a_fall_from_the_start_value():
    result = metrics(equity=[80.0, 90.0], start=100.0)
    assert result["max_drawdown"] == pytest.approx(0.2, rel=1e-12)


def test_calmar_ratio_by_hand():
    assert metrics(ppy=3.0)["calmar_ratio"] == pytest.approx(0.21 / 0.1, rel=1e-12)
    assert metrics()["calmar_ratio"] == pytest.approx((1.21**4 - 1.0) / 0.1, rel=1e-12)


def test_trade_metrics_by_hand():
    result = metrics()
    assert result["win_rate"] == pytest.approx(2 / 5)  # the zero trade is not a win
    assert result["profit_factor"] == pytest.approx(30.0 / 10.0)
    # mean 4, squared deviations 36 + 81 + 256 + 81 + 16 = 470, sample variance 470 / 4
    assert result["sqn"] == pytest.approx(math.sqrt(5) * 4.0 / math.sqrt(470.0 / 4.0), rel=1e-12)
    assert result["n_trades"] == 5.0


def test_without_start_value_the_first_equity_point_is_the_start():
    with_start = metrics()
    without = compute_metrics(np.array([100.0, 110.0, 99.0, 121.0]), PNLS, 12.0)
    assert without == pytest.approx(with_start, rel=1e-15)


def test_start_value_adds_one_return():
    # equity alone: 110 -> 99 -> 121 is two returns; with start 100 there are three.
    two = compute_metrics(EQUITY, PNLS, 12.0)
    assert two["total_return"] == pytest.approx(0.1, rel=1e-12)
    assert two["annual_return"] == pytest.approx(1.1**6 - 1.0, rel=1e-12)


# --------------------------------------------------------------------------- edge cases


def test_flat_equity():
    result = metrics(equity=[100.0, 100.0, 100.0], pnls=[])
    assert result["sharpe_ratio"] == 0.0
    assert result["sortino_ratio"] == 0.0
    assert result["total_return"] == 0.0
    assert result["annual_return"] == 0.0
    assert result["max_drawdown"] == 0.0
    assert math.isnan(result["calmar_ratio"])


def test_fewer_than_two_returns():
    result = metrics(equity=[110.0], start=100.0)
    assert math.isnan(result["sharpe_ratio"])
    assert math.isnan(result["sortino_ratio"])
    assert result["total_return"] == pytest.approx(0.1)
    assert result["annual_return"] == pytest.approx(1.1**12 - 1.0)
    assert result["max_drawdown"] == 0.0
    assert math.isnan(result["calmar_ratio"])


def test_no_returns_at_all():
    for result in (
        compute_metrics(np.array([100.0]), PNLS, 252.0),
        compute_metrics(np.array([]), PNLS, 252.0, start_value=100.0),
    ):
        for name in ("sharpe_ratio", "sortino_ratio", "total_return", "annual_return", "calmar_ratio"):
            assert math.isnan(result[name]), name
        assert result["max_drawdown"] == 0.0
        assert result["n_trades"] == 5.0
    empty = compute_metrics(np.array([]), np.array([]), 252.0)
    assert math.isnan(empty["max_drawdown"])
    assert empty["n_trades"] == 0.0


def test_sortino_without_downside_is_nan_when_mean_is_positive():
    result = metrics(equity=[101.0, 103.0, 104.0])
    assert math.isnan(result["sortino_ratio"])
    assert result["sharpe_ratio"] > 0.0
    assert result["max_drawdown"] == 0.0
    assert math.isnan(result["calmar_ratio"])


def test_sharpe_with_zero_spread_but_nonzero_mean_is_nan():
    # 100 -> 200 -> 400: both returns are exactly 1.0
    result = metrics(equity=[200.0, 400.0])
    assert math.isnan(result["sharpe_ratio"])


def test_total_loss_has_no_annual_return():
    result = metrics(equity=[50.0, 0.0])
    assert result["total_return"] == -1.0
    assert math.isnan(result["annual_return"])
    assert result["max_drawdown"] == 1.0
    assert math.isnan(result["calmar_ratio"])


def test_huge_annualisation_overflows_to_inf_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = compute_metrics(np.array([200.0]), np.array([]), 252 * 390 * 60, start_value=100.0)
    assert result["annual_return"] == math.inf
    assert math.isnan(result["calmar_ratio"])  # no drawdown


def test_no_trades():
    result = metrics(pnls=[])
    assert math.isnan(result["win_rate"])
    assert math.isnan(result["profit_factor"])
    assert math.isnan(result["sqn"])
    assert result["n_trades"] == 0.0


def test_only_winners_only_losers_and_zero_trades():
    winners = metrics(pnls=[5.0, 7.0])
    assert winners["profit_factor"] == math.inf
    assert winners["win_rate"] == 1.0
    losers = metrics(pnls=[-5.0, -7.0])
    assert losers["profit_factor"] == 0.0
    assert losers["win_rate"] == 0.0
    assert losers["sqn"] == pytest.approx(math.sqrt(2) * -6.0 / statistics.stdev([-5.0, -7.0]))
    zeros = metrics(pnls=[0.0, 0.0])
    assert zeros["profit_factor"] == 0.0
    assert math.isnan(zeros["sqn"])


def test_single_trade_has_no_sqn():
    result = metrics(pnls=[3.0])
    assert math.isnan(result["sqn"])
    assert result["win_rate"] == 1.0
    assert result["profit_factor"] == math.inf


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"periods_per_year": 0.0}, "periods_per_year"),
        ({"periods_per_year": math.nan}, "periods_per_year"),
        ({"equity": np.ones((2, 2))}, "one-dimensional"),
        ({"equity": np.array([100.0, math.nan])}, "equity"),
        ({"trade_pnls": np.array([math.inf])}, "trade_pnls"),
        ({"start_value": math.nan}, "start_value"),
    ],
)
def test_invalid_input_raises(kwargs, message):
    args = {"equity": EQUITY, "trade_pnls": PNLS, "periods_per_year": 252.0, "start_value": START}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        compute_metrics(**args)


# --------------------------------------------------------------------------- periods_per_year


@pytest.mark.parametrize(
    ("timeframe", "compression", "expected"),
    [
        (bt.TimeFrame.Days, 1, 252.0),
        (bt.TimeFrame.Days, 2, 126.0),
        (bt.TimeFrame.Weeks, 1, 52.0),
        (bt.TimeFrame.Months, 3, 4.0),
        (bt.TimeFrame.Years, 1, 1.0),
        (bt.TimeFrame.Minutes, 1, 252.0 * 390.0),
        (bt.TimeFrame.Minutes, 5, 252.0 * 390.0 / 5.0),
        (bt.TimeFrame.Seconds, 30, 252.0 * 390.0 * 60.0 / 30.0),
    ],
)
def test_periods_per_year_matches_backtrader_timeframes(timeframe, compression, expected):
    assert periods_per_year(timeframe, compression) == pytest.approx(expected)
    assert type(periods_per_year(timeframe, compression)) is float


@pytest.mark.parametrize("timeframe", [bt.TimeFrame.Ticks, bt.TimeFrame.MicroSeconds])
def test_periods_per_year_refuses_ticks(timeframe):
    with pytest.raises(ValueError, match="pass periods_per_year explicitly"):
        periods_per_year(timeframe, 1)


def test_periods_per_year_rejects_bad_input():
    with pytest.raises(ValueError, match="timeframe"):
        periods_per_year(99, 1)
    with pytest.raises(ValueError, match="compression"):
        periods_per_year(bt.TimeFrame.Days, 0)


def test_metrics_module_imports_only_numpy_and_stdlib():
    source = pathlib.Path(compute_metrics.__code__.co_filename).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "math", "numpy"}


# --------------------------------------------------------------------------- cross-check on real data


class _EquityAndTrades(bt.Analyzer):
    """Record the broker value at every bar and the net result of every closed trade."""

    def start(self):
        self.values = []
        self.pnls = []

    def next(self):
        self.values.append(self.strategy.broker.getvalue())

    def notify_trade(self, trade):
        if trade.isclosed:
            self.pnls.append(trade.pnlcomm)

    def get_analysis(self):
        return {"values": self.values, "pnls": self.pnls}


@pytest.fixture(scope="module")
def orcl_run():
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(datasets.load("orcl", fromdate="2000-01-01", todate="2003-12-31"))
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    cerebro.addstrategy(SmaCross, fast=10, slow=30)
    cerebro.addanalyzer(_EquityAndTrades, _name="record")
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(bt.analyzers.SQN, _name="sqn")
    strategy = cerebro.run()[0]
    record = strategy.analyzers.record.get_analysis()
    result = compute_metrics(
        np.array(record["values"]),
        np.array(record["pnls"]),
        periods_per_year(bt.TimeFrame.Days, 1),
        start_value=cerebro.broker.startingcash,
    )
    return strategy, record, result, cerebro.broker.getvalue()


def test_max_drawdown_agrees_with_backtrader_drawdown(orcl_run):
    strategy, _, result, _ = orcl_run
    backtrader_pct = strategy.analyzers.drawdown.get_analysis().max.drawdown
    assert backtrader_pct > 10.0  # a real drawdown, not a trivial agreement at zero
    assert result["max_drawdown"] * 100.0 == pytest.approx(backtrader_pct, rel=1e-9)


def test_trade_metrics_agree_with_backtrader_analyzers(orcl_run):
    strategy, record, result, final_value = orcl_run
    trades = strategy.analyzers.trades.get_analysis()
    closed = trades.total.closed
    assert closed >= 5
    assert result["n_trades"] == float(closed)
    assert result["win_rate"] == pytest.approx(trades.won.total / closed)
    # backtrader's SQN divides by the population deviation; ours by the sample deviation.
    bt_sqn = strategy.analyzers.sqn.get_analysis().sqn
    assert result["sqn"] == pytest.approx(bt_sqn * math.sqrt((closed - 1) / closed), rel=1e-9)
    assert result["total_return"] == pytest.approx(final_value / 100_000.0 - 1.0, rel=1e-12)
    assert len(record["values"]) == len(strategy.data)
