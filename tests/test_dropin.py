"""Issue 11: backtrader set-ups that run must also optimize, every trial equal to the plain run.

Each test builds its set-up as backtrader's sample scripts do (``build(cerebro_class)``), runs a small search
with ``bto.Cerebro`` and checks every trial against a plain ``bt.Cerebro`` run with the same params, scored by the
same function, and that ``run_best()`` reproduces ``best_value`` (see ``helpers_dropin.check_against_plain``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import warnings
from pathlib import Path

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize.engine.data import snapshot_feeds
from tests.helpers_dropin import (
    BidAskCSV,
    BidAskSma,
    CheatOnOpen,
    MultiTF,
    OneFeedSma,
    St0,
    St1,
    StFetcher,
    benchmark_last,
    bidask_total,
    check_against_plain,
    final_value,
    plain_value,
)

DAY = "/work/shared/data/2006-day-001.txt"


def _orcl(fromdate: str = "2005-01-01", todate: str = "2006-06-30") -> bt.feeds.DataBase:
    return bto.datasets.load("orcl", fromdate=fromdate, todate=todate)


def _day06(a: tuple, b: tuple) -> bt.feeds.DataBase:
    path = DAY if Path(DAY).exists() else str(Path(bto.datasets.__file__).parent / "data" / "2006-day-001.txt")
    return bt.feeds.BacktraderCSVData(dataname=path, fromdate=dt.datetime(*a), todate=dt.datetime(*b))


# ---------------------------------------------------------------------------------------------- 1. resample/clone
def _base_and_derived(how: str, load=_orcl, **kwargs):
    """The multitimeframe sample's shape: adddata(d), then resampledata(d)/replaydata(d) of the same feed."""

    def build(cls: type) -> bt.Cerebro:
        c = cls()
        d = load()
        c.adddata(d)
        getattr(c, how)(d, **kwargs)
        return c

    return build


def _five_minutes() -> bt.feeds.DataBase:
    return bto.datasets.load("index-2006-5min", fromdate="2006-01-02", todate="2006-01-06")


_multi_tf = _base_and_derived("resampledata", timeframe=bt.TimeFrame.Weeks)
_replayed_clone = _base_and_derived("replaydata", timeframe=bt.TimeFrame.Weeks)
_intraday_to_hourly = _base_and_derived("resampledata", _five_minutes, timeframe=bt.TimeFrame.Minutes, compression=60)


def _multi_tf_clone(cls: type) -> bt.Cerebro:
    c = cls()
    d = _orcl()
    c.adddata(d)
    c.adddata(d.clone(), name="copy")
    return c


def _resampled_only(cls: type) -> bt.Cerebro:
    c = cls()
    c.resampledata(_orcl("2004-01-01"), timeframe=bt.TimeFrame.Weeks)
    return c


def _replayed(cls: type) -> bt.Cerebro:
    """The data-replay sample: daily bars replayed into weekly ones."""
    c = cls()
    c.replaydata(_orcl(), timeframe=bt.TimeFrame.Weeks)
    return c


def test_resampled_clone_of_an_added_feed_in_worker_processes():
    c = _multi_tf(bto.Cerebro)
    c.p.maxcpus = 2
    study = c.optimize_grid(MultiTF, period0=[10, 20], period1=[3, 8], objective=final_value, progress=False)
    assert study.n_trials == 4
    check_against_plain(study, _multi_tf, MultiTF, final_value)


@pytest.mark.parametrize("build, strategy, space", [
    (_multi_tf_clone, MultiTF, dict(period0=[10, 20], period1=[5])),
    (_resampled_only, OneFeedSma, dict(period=[4, 10])),
    (_replayed, OneFeedSma, dict(period=[3, 6])),
    (_replayed_clone, MultiTF, dict(period0=[10, 20], period1=[3])),
    (_intraday_to_hourly, MultiTF, dict(period0=[10, 30], period1=[3])),
], ids=["clone", "resampled", "replayed", "replayed-clone", "5min-to-60min"])
def test_derived_feeds_equal_plain_runs(build, strategy, space):
    study = build(bto.Cerebro).optimize_grid(strategy, objective=final_value, progress=False, **space)
    check_against_plain(study, build, strategy, final_value)


@pytest.mark.parametrize("method, kw", [
    ("random", dict(n_trials=3, seed=3)),
    ("genetic", dict(population_size=4, generations=1, seed=3)),
    ("bayes", dict(n_trials=3, batch_size=3, seed=3)),
])
def test_every_optimizer_runs_resampled_feeds(method, kw):
    c = _multi_tf(bto.Cerebro)
    study = getattr(c, f"optimize_{method}")(MultiTF, period0=bto.Int(5, 30, step=5), period1=bto.Int(2, 8),
                                             objective=final_value, progress=False, **kw)
    check_against_plain(study, _multi_tf, MultiTF, final_value)


def _gated(cls: type) -> type:
    """Reference for windows: ``cls`` placing no order before the date ``trade_from``."""

    def buy(self, *a, **k):
        return None if self.data.datetime.date(0) < self.p.trade_from else cls.buy(self, *a, **k)

    def sell(self, *a, **k):
        return None if self.data.datetime.date(0) < self.p.trade_from else cls.sell(self, *a, **k)

    return type(f"Gated{cls.__name__}", (cls,), {"params": (("trade_from", None),), "buy": buy, "sell": sell})


@pytest.mark.parametrize("daily_first, strategy, space, window", [
    (True, MultiTF, dict(period0=[10, 20], period1=[3]), (120, 300, 60)),
    (False, OneFeedSma, dict(period=[4, 8]), (60, 120, 20)),
], ids=["daily+weekly", "weekly-first"])
def test_derived_feeds_in_a_window_equal_a_plain_run_on_the_slice(daily_first, strategy, space, window):
    c = (_multi_tf if daily_first else _resampled_only)(bto.Cerebro)
    dates = [bt.num2date(x).date() for x in snapshot_feeds(c)[0].datetime]
    s, e, w = window
    study = c.optimize_grid(strategy, objective=final_value, progress=False, window=bto.Window(s, e, w), **space)
    # the plain run loads the base bars of the window's bars (those after the bar before it), trades from its start
    one_day = dt.timedelta(days=1)
    first, trade_from = (dates[s - w], dates[s]) if daily_first else (dates[s - w - 1] + one_day,
                                                                      dates[s - 1] + one_day)

    def sliced(cls: type) -> bt.Cerebro:
        ref = cls()
        d = _orcl(first.isoformat(), dates[e - 1].isoformat())
        if daily_first:
            ref.adddata(d)
        ref.resampledata(d, timeframe=bt.TimeFrame.Weeks)
        return ref

    for t in study.get_trials():
        value, _ = plain_value(sliced, _gated(strategy), final_value, {**t.params, "trade_from": trade_from})
        assert value == t.value
    assert final_value(study.run_best()) == study.best_value


# ---------------------------------------------------------------------------------------------- 2. feed-bound
def _benchmark(cls: type) -> bt.Cerebro:
    """The observer-benchmark sample: a Benchmark observer and a TimeReturn analyzer bound to a second feed."""
    c = cls()
    c.adddata(_orcl())
    bench = bto.datasets.load("nvda", fromdate="2005-01-01", todate="2006-06-30")
    c.adddata(bench)
    c.addobserver(bt.observers.Benchmark, data=bench, timeframe=bt.TimeFrame.Weeks)
    c.addanalyzer(bt.analyzers.TimeReturn, data=bench, timeframe=bt.TimeFrame.Months, _name="bench")
    return c


def test_observer_and_analyzer_bound_to_a_feed():
    c = _benchmark(bto.Cerebro)
    c.p.maxcpus = 2
    study = c.optimize_grid(OneFeedSma, period=[5, 15, 30], objective=benchmark_last, progress=False)
    check_against_plain(study, _benchmark, OneFeedSma, benchmark_last, analyzer="bench")


# ---------------------------------------------------------------------------------------------- 3. linesoverride
def test_linesoverride_feed_keeps_its_line_layout(tmp_path):
    src = bto.datasets.load_dataframe("orcl").loc["2005-01-01":"2005-12-31"]
    path = tmp_path / "bidask.csv"
    with open(path, "w") as fh:
        fh.write("datetime,bid,ask\n")
        for ts, close in src["close"].items():
            fh.write(f"{ts:%Y-%m-%d},{close * 0.999:.6f},{close * 1.001:.6f}\n")

    def build(cls: type) -> bt.Cerebro:
        c = cls()
        c.adddata(BidAskCSV(dataname=str(path), dtformat="%Y-%m-%d"))
        return c

    assert snapshot_feeds(build(bto.Cerebro))[0].lines.keys() == {"bid", "ask", "datetime"}
    assert list(snapshot_feeds(build(bto.Cerebro))[0].lines) == ["bid", "ask", "datetime"]
    study = build(bto.Cerebro).optimize_grid(BidAskSma, period=[5, 10, 20], objective=bidask_total, progress=False)
    check_against_plain(study, build, BidAskSma, bidask_total)


# ---------------------------------------------------------------------------------------------- 4. factories
def _one_feed(cls: type) -> bt.Cerebro:
    c = cls()
    c.adddata(_orcl())
    return c


def test_strategy_factory_registered_with_optstrategy():
    c = _one_feed(bto.Cerebro)
    c.optstrategy(StFetcher, idx=[0, 1], period=[10, 20])
    study = c.optimize_grid(objective=final_value, progress=False)
    assert study.n_trials == 4
    check_against_plain(study, _one_feed, StFetcher, final_value)
    kinds = {type(study.run_best(**p)).__name__ for p in ({"idx": 0}, {"idx": 1})}
    assert kinds == {St0.__name__, St1.__name__}
    # a window gates the strategy the factory returns
    windowed = c.optimize_grid(StFetcher, idx=[0, 1], period=[10], objective=final_value, progress=False,
                               window=bto.Window(150, None, 50))
    assert all(t.state is bto.TrialState.COMPLETE for t in windowed.get_trials())


# ---------------------------------------------------------------------------------------------- 5. Cat storage
def _cheat_on_open(cls: type) -> bt.Cerebro:
    """The cheat-on-open sample's Cerebro."""
    c = cls(cheat_on_open=True)
    c.adddata(_orcl("2004-01-01"))
    return c


def test_tuple_and_class_choices_round_trip_through_sqlite(tmp_path):
    db = tmp_path / "runs.db"
    space = dict(periods=bto.Cat([(10, 30), (5, 20)]), matype=bto.Cat([bt.ind.SMA, bt.ind.EMA]))
    kw = dict(objective=final_value, storage=db, study_name="coo", seed=1, batch_size=2, progress=False)
    first = _cheat_on_open(bto.Cerebro).optimize_bayes(CheatOnOpen, n_trials=2, **kw, **space)
    assert first.n_trials == 2
    resumed = _cheat_on_open(bto.Cerebro).optimize_bayes(CheatOnOpen, n_trials=4, **kw, **space)
    assert resumed.n_ran == 4
    for t in resumed.get_trials():
        assert t.params["periods"] in [(10, 30), (5, 20)] and type(t.params["periods"]) is tuple
        assert t.params["matype"] in (bt.ind.SMA, bt.ind.EMA)
    check_against_plain(resumed, _cheat_on_open, CheatOnOpen, final_value)
    # the file holds JSON only: the index of the choice and a readable label
    stored = [r[0] for r in sqlite3.connect(db).execute("SELECT params FROM trials")]
    assert any('"label": "(10, 30)"' in s for s in stored)
    assert any('"label": "backtrader.indicators.sma.SMA"' in s for s in stored)


class _Opaque:
    """A value with the default repr (its memory address): it has no label a later run could match."""


def test_cat_choice_that_cannot_be_stored_is_refused_before_any_backtest():
    c = _one_feed(bto.Cerebro)
    with pytest.raises(bto.SpaceError, match="cannot be stored"):
        c.optimize_grid(OneFeedSma, period=[10], stake=bto.Cat([_Opaque(), 2]), progress=False)
    with pytest.raises(bto.SpaceError, match="module level"):
        c.optimize_grid(OneFeedSma, period=[10], stake=bto.Cat([lambda: 1]), progress=False)


# ---------------------------------------------------------------------------------------------- 6. optstrategy tuples
def test_tuples_in_optstrategy_are_lists_of_values_as_in_backtrader():
    ref = _one_feed(bt.Cerebro)
    ref.optstrategy(OneFeedSma, period=(10, 20), stake=(1, 3))
    expected = {(r[0].p.period, r[0].p.stake) for r in ref.run(maxcpus=1)}
    assert len(expected) == 4
    c = _one_feed(bto.Cerebro)
    c.optstrategy(OneFeedSma, period=(10, 20), stake=(1, 3))
    study = c.optimize_grid(objective=final_value, progress=False)
    assert {(t.params["period"], t.params["stake"]) for t in study.get_trials()} == expected
    check_against_plain(study, _one_feed, OneFeedSma, final_value)
    assert study.space["period"] == bto.Cat([10, 20])
    # the (low, high) shorthand stays for optimize_* keywords
    assert c.optimize_grid(period=(10, 12), objective=final_value, progress=False).space["period"] == bto.Int(10, 12)
    c.optstrategy(OneFeedSma, period=(10, 20), stake=(0.5, 1.5))  # floats: values, not a Real range
    assert c.optimize_grid(objective=final_value, progress=False).n_trials == 4


# ---------------------------------------------------------------------------------------------- 7. chaindata
def _chained(cls: type) -> bt.Cerebro:
    """The chaindata sample: three overlapping stretches of historical files chained into one feed."""
    c = cls()
    c.chaindata(_day06((2006, 1, 1), (2006, 4, 30)), _day06((2006, 3, 1), (2006, 8, 31)),
                _day06((2006, 9, 1), (2006, 12, 31)))
    return c


def test_chaindata_of_historical_files():
    study = _chained(bto.Cerebro).optimize_grid(OneFeedSma, period=[5, 10, 20], objective=final_value,
                                                progress=False)
    check_against_plain(study, _chained, OneFeedSma, final_value)


# ---------------------------------------------------------------------------------------------- 8. modes, filters
def _filtered(flt: type, **cerebro_kw):
    """A feed with ``data.addfilter(flt)`` (as the daysteps and bar-splitting samples do) on a Cerebro with
    ``cerebro_kw``."""

    def build(cls: type) -> bt.Cerebro:
        c = cls(**cerebro_kw)
        d = _orcl()
        d.addfilter(flt)
        c.adddata(d)
        return c

    return build


_bar_split = _filtered(bt.filters.BarReplayer_Open, preload=False)
_heikin_ashi_next = _filtered(bt.filters.HeikinAshi, runonce=False)
_day_steps = _filtered(bt.filters.DayStepsFilter)


@pytest.mark.parametrize("build", [_bar_split, _heikin_ashi_next, _day_steps],
                         ids=["BarReplayer_Open-no-preload", "HeikinAshi-runonce-off", "DayStepsFilter"])
def test_filters_and_modes_equal_plain_runs(build):
    study = build(bto.Cerebro).optimize_grid(OneFeedSma, period=[5, 10], stake=[1, 2], objective=final_value,
                                             progress=False)
    check_against_plain(study, build, OneFeedSma, final_value)


def test_filter_that_cannot_be_rebuilt_is_refused():
    c = _one_feed(bto.Cerebro)
    c.datas[0].addfilter(SkipEvery(c.datas[0], 3))  # an instance built with a positional argument
    with pytest.raises(bto.DataError, match="rebuilt"):
        c.optimize_grid(OneFeedSma, period=[5], progress=False)


class SkipEvery:
    """A filter built with a positional argument (no params): drops every ``n``-th bar."""

    def __init__(self, data, n):
        self.n, self.i = n, 0

    def __call__(self, data):
        self.i += 1
        if self.i % self.n == 0:
            data.backwards()
            return True
        return False


# ---------------------------------------------------------------------------------------------- 9. small ones
def test_addstrategy_kwargs_are_fixed_params_with_a_warning():
    c = _one_feed(bto.Cerebro)
    c.addstrategy(OneFeedSma, stake=3, period=50)
    msg = r"addstrategy\(OneFeedSma, stake=3, period=50\): every trial keeps stake=3 .*overrides period"
    with pytest.warns(UserWarning, match=msg):
        study = c.optimize_grid(OneFeedSma, period=[5, 10], objective=final_value, progress=False)
    check_against_plain(study, _one_feed, OneFeedSma, final_value, fixed={"stake": 3})


def test_run_options_are_accepted_and_others_named():
    c = _one_feed(bto.Cerebro)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study = c.optimize_grid(OneFeedSma, period=[5, 10], stdstats=False, runonce=False, objective=final_value,
                                progress=False)
    check_against_plain(study, _one_feed, OneFeedSma, final_value, run_kwargs=dict(stdstats=False, runonce=False))
    assert c.p.stdstats is True and c.p.runonce is True  # the user's Cerebro is unchanged
    with pytest.raises(bto.SpaceError, match="optreturn= is an option of Cerebro.run"):
        c.optimize_grid(OneFeedSma, period=[5], optreturn=False, progress=False)
