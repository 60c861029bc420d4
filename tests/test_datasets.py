"""Tests for bt_optimize.datasets: every bundled file loads completely and correctly into backtrader."""

from __future__ import annotations

import datetime as dt

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from bt_optimize import datasets

NAMES = ["orcl", "nvda", "index-2006-daily", "index-2006-5min"]


class _Bars(bt.Strategy):
    """Record the datetime and OHLCV of every bar the strategy sees."""

    def __init__(self):
        self.rows = []

    def next(self):
        d = self.data
        self.rows.append(
            (
                d.datetime.datetime(0),
                d.open[0],
                d.high[0],
                d.low[0],
                d.close[0],
                d.volume[0],
                d.openinterest[0],
            )
        )


def _run(feed, **cerebro_kwargs):
    cerebro = bt.Cerebro(stdstats=False, **cerebro_kwargs)
    cerebro.adddata(feed)
    cerebro.addstrategy(_Bars)
    return cerebro.run()[0]


def _file_rows(name):
    with datasets.path(name).open() as handle:
        return sum(1 for line in handle if line.strip()) - 1  # minus the header


def test_available_names():
    assert datasets.available() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_path_points_at_the_bundled_file(name):
    path = datasets.path(name)
    assert path.is_file()
    assert path.parent.name == "data"
    assert path.read_text().splitlines()[0].startswith("Date,")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode", [{}, {"preload": False, "runonce": False}], ids=["preload", "stream"])
def test_every_row_becomes_a_bar(name, mode):
    strategy = _run(datasets.load(name), **mode)
    assert len(strategy.rows) == _file_rows(name)


@pytest.mark.parametrize("name", NAMES)
def test_feed_matches_the_dataframe(name):
    frame = datasets.load_dataframe(name)
    rows = _run(datasets.load(name)).rows
    bars = np.array([row[1:] for row in rows])
    np.testing.assert_allclose(bars, frame.to_numpy(), rtol=1e-12)
    feed_days = [row[0].date() for row in rows]
    assert feed_days == [ts.date() for ts in frame.index]


def test_yahoo_feeds_keep_raw_prices():
    # first ORCL row: 1995-01-03,2.179012,2.191358,2.117284,2.117284,1.883304,36301200
    first = _run(datasets.load("orcl")).rows[0]
    assert first[0].date() == dt.date(1995, 1, 3)
    assert first[1:6] == pytest.approx((2.179012, 2.191358, 2.117284, 2.117284, 36301200.0), rel=1e-12)


def test_feed_settings():
    daily = datasets.load("orcl")
    assert isinstance(daily, bt.feeds.YahooFinanceCSVData)
    assert (daily.p.timeframe, daily.p.compression) == (bt.TimeFrame.Days, 1)
    assert daily.p.name == "orcl"
    index = datasets.load("index-2006-daily")
    assert isinstance(index, bt.feeds.GenericCSVData)
    assert (index.p.timeframe, index.p.compression) == (bt.TimeFrame.Days, 1)
    intraday = datasets.load("index-2006-5min")
    assert isinstance(intraday, bt.feeds.GenericCSVData)
    assert (intraday.p.timeframe, intraday.p.compression) == (bt.TimeFrame.Minutes, 5)
    assert intraday.p.name == "index-2006-5min"


def test_each_call_returns_a_new_feed():
    assert datasets.load("nvda") is not datasets.load("nvda")


def test_feed_name_survives_adddata():
    cerebro = bt.Cerebro()
    feed = datasets.load("nvda")
    cerebro.adddata(feed)
    assert feed._name == "nvda"


def test_intraday_bars_carry_their_time():
    rows = _run(datasets.load("index-2006-5min")).rows
    assert rows[0][0] == dt.datetime(2006, 1, 2, 9, 5)
    assert rows[1][0] == dt.datetime(2006, 1, 2, 9, 10)
    assert rows[-1][0] == dt.datetime(2006, 1, 30, 17, 30)


@pytest.mark.parametrize(
    ("fromdate", "todate"),
    [
        ("2000-01-01", "2004-12-31"),
        (dt.date(2000, 1, 1), dt.date(2004, 12, 31)),
        (dt.datetime(2000, 1, 1), dt.datetime(2004, 12, 31, 23, 59, 59, 999999)),
    ],
    ids=["iso", "date", "datetime"],
)
def test_date_bounds_in_every_form(fromdate, todate):
    rows = _run(datasets.load("orcl", fromdate=fromdate, todate=todate)).rows
    frame = datasets.load_dataframe("orcl").loc["2000-01-01":"2004-12-31"]
    assert len(rows) == len(frame)
    assert rows[0][0].date() == dt.date(2000, 1, 3)
    assert rows[-1][0].date() == dt.date(2004, 12, 31)  # a plain todate includes that whole day


def test_intraday_date_bounds_include_whole_days():
    rows = _run(datasets.load("index-2006-5min", fromdate="2006-01-09", todate="2006-01-10")).rows
    assert rows[0][0] == dt.datetime(2006, 1, 9, 9, 5)
    assert rows[-1][0] == dt.datetime(2006, 1, 10, 17, 30)
    rows = _run(
        datasets.load("index-2006-5min", fromdate="2006-01-09T10:00:00", todate="2006-01-09T11:00:00")
    ).rows
    assert [row[0].time() for row in (rows[0], rows[-1])] == [dt.time(10, 0), dt.time(11, 0)]


def test_extra_kwargs_reach_the_feed():
    feed = datasets.load("orcl", round=True, decimals=1)
    assert feed.p.decimals == 1


def test_unknown_name_suggests_a_close_match():
    with pytest.raises(ValueError, match="Did you mean 'orcl'") as info:
        datasets.load("orlc")
    for name in NAMES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="Available datasets"):
        datasets.path("sp500")
    with pytest.raises(ValueError, match="Unknown dataset"):
        datasets.load_dataframe("nvidia")


def test_bad_dates_and_arguments():
    with pytest.raises(ValueError, match="ISO date"):
        datasets.load("orcl", fromdate="01/02/2000")
    with pytest.raises(TypeError, match="fromdate"):
        datasets.load("orcl", fromdate=20000101)
    with pytest.raises(TypeError, match="dataname"):
        datasets.load("orcl", dataname="other.csv")


@pytest.mark.parametrize("name", NAMES)
def test_load_dataframe_shape(name):
    frame = datasets.load_dataframe(name)
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "datetime"
    assert frame.index.is_monotonic_increasing
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "openinterest"]
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert len(frame) == _file_rows(name)


def test_dataframe_works_with_pandasdata():
    frame = datasets.load_dataframe("index-2006-daily")
    rows = _run(bt.feeds.PandasData(dataname=frame)).rows
    assert len(rows) == len(frame)
    assert rows[-1][4] == pytest.approx(frame["close"].iloc[-1])
