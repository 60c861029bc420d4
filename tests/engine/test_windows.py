"""Windowed runs: warmup primes indicators, nothing trades or is measured before the window starts."""

from __future__ import annotations

import datetime as dt

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize.engine.data import slice_feeds, snapshot_feeds
from bt_optimize.engine.worker import Payload, Runtime, TrialSpec, pack_template
from bt_optimize.objective import Objective
from sample_strategies import SmaCross

FROM, TO = "2001-01-01", "2004-12-31"


class GatedSmaCross(SmaCross):
    """The hand-written reference: SmaCross that refuses to trade before ``trade_from``."""

    params = (("trade_from", None),)

    def buy(self, *a, **k):
        if self.data.datetime.date(0) < self.p.trade_from:
            return None
        return super().buy(*a, **k)

    def sell(self, *a, **k):
        if self.data.datetime.date(0) < self.p.trade_from:
            return None
        return super().sell(*a, **k)


class Recorder(SmaCross):
    """SmaCross that remembers its first measured bar's indicator state (read in-process)."""

    def nextstart(self):
        self.first_len = len(self)
        super().nextstart()


def _cerebro(cls=bt.Cerebro, fromdate=FROM, todate=TO, name="orcl", **kw):
    c = cls(**kw)
    c.adddata(bto.datasets.load(name, fromdate=fromdate, todate=todate))
    c.broker.setcash(100_000)
    c.addsizer(bt.sizers.PercentSizer, percents=90)
    c.addanalyzer(bt.analyzers.TimeReturn, _name="tr")
    c.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe", timeframe=bt.TimeFrame.Days, annualize=True)
    c.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    return c


def _runtime(c, strategy=SmaCross):
    return Runtime(Payload(template=pack_template(c), feeds=snapshot_feeds(c), strategy=strategy,
                           objective=Objective("sharpe_ratio")))


def _dates(c):
    return [bt.num2date(x).date() for x in snapshot_feeds(c)[0].datetime]


def test_window_without_warmup_equals_plain_run_on_the_slice():
    c = _cerebro()
    dates = _dates(c)
    s, e = 250, 750
    res, strat = _runtime(c).run(TrialSpec(0, {"fast": 10, "slow": 30}, bto.Window(s, e, 0)))
    assert res.state == "complete"

    plain = _cerebro(fromdate=dates[s], todate=dates[e - 1])
    plain.addstrategy(SmaCross, fast=10, slow=30)
    plain.addanalyzer(bto.analyzers.Performance, _name="perf")
    ref = plain.run()[0]
    assert res.metrics["n_bars"] == e - s
    for key in ("sharpe_ratio", "total_return", "max_drawdown", "n_trades", "end_value"):
        assert res.metrics[key] == pytest.approx(ref.analyzers.perf.get_analysis()[key], rel=1e-12, abs=1e-12)
    assert res.analysis["sharpe"] == bto.objective.to_plain(ref.analyzers.sharpe.get_analysis())
    assert res.analysis["trades"] == bto.objective.to_plain(ref.analyzers.trades.get_analysis())


@pytest.mark.parametrize("mode", [dict(), dict(runonce=False), dict(preload=False), dict(exactbars=1)])
def test_warmup_primes_and_nothing_happens_before_the_window(mode):
    c = _cerebro(**mode)
    dates = _dates(c)
    s, e, w = 300, 800, 60
    rt = _runtime(c, Recorder)
    res, strat = rt.run(TrialSpec(0, {"fast": 10, "slow": 30}, bto.Window(s, e, w), keep_series=True))
    assert res.state == "complete"
    # warmup bars primed the 30-bar average: the strategy reached its minimum period inside the warmup
    assert strat.first_len <= w
    # measurement starts exactly at the window: equity from the window's first bar, TimeReturn likewise
    eq = res.metrics["equity"]
    assert len(eq) == e - s
    assert dt.date.fromisoformat(eq[0][0][:10]) == dates[s]
    assert dt.date.fromisoformat(eq[-1][0][:10]) == dates[e - 1]
    tr_keys = sorted(res.analysis["tr"])
    assert dt.date.fromisoformat(tr_keys[0][:10]) == dates[s]
    # no trade opened before the window
    assert res.metrics["trades"], "expected trades inside the window"
    assert all(dt.date.fromisoformat(t["open"][:10]) >= dates[s] for t in res.metrics["trades"])

    # reference: a plain backtrader run on the same slice, trading only from the window's first bar;
    # its analyzers, restricted to the window, must equal the windowed run's.
    plain = _cerebro(fromdate=dates[s - w], todate=dates[e - 1], **mode)
    plain.addstrategy(GatedSmaCross, fast=10, slow=30, trade_from=dates[s])
    plain.addanalyzer(bto.analyzers.Performance, _name="perf", keep_series=True)
    ref = plain.run()[0]
    ref_eq = [v for v in ref.analyzers.perf.get_analysis()["equity"] if v[0][:10] >= dates[s].isoformat()]
    assert eq == ref_eq
    ref_tr = {k: v for k, v in bto.objective.to_plain(ref.analyzers.tr.get_analysis()).items()
              if k[:10] >= dates[s].isoformat()}
    assert res.analysis["tr"] == ref_tr
    assert res.metrics["trades"] == ref.analyzers.perf.get_analysis()["trades"]
    assert res.analysis["trades"]["total"]["closed"] == ref.analyzers.trades.get_analysis()["total"]["closed"]


def test_every_mode_gives_the_same_windowed_result():
    values = []
    for mode in (dict(), dict(runonce=False), dict(preload=False), dict(exactbars=1), dict(exactbars=-1)):
        c = _cerebro(**mode)
        res, _ = _runtime(c).run(TrialSpec(0, {"fast": 12, "slow": 40}, bto.Window(200, 700, 80)))
        values.append((res.value, res.metrics["n_trades"], res.analysis["sharpe"]))
    assert all(v == values[0] for v in values)


def test_several_feeds_are_sliced_by_time():
    c = _cerebro()
    c.adddata(bto.datasets.load("nvda", fromdate=FROM, todate=TO))
    feeds = snapshot_feeds(c)
    sliced, gate = slice_feeds(feeds, bto.Window(100, 400, 50))
    master = sliced[0]
    assert len(master) == 350
    assert gate == feeds[0].datetime[100]
    for f in sliced[1:]:
        assert f.datetime[0] >= master.datetime[0] and f.datetime[-1] <= master.datetime[-1]
        assert len(f) > 300
    res, _ = _runtime(c).run(TrialSpec(0, {"fast": 10, "slow": 30}, bto.Window(100, 400, 50)))
    assert res.state == "complete" and res.metrics["n_bars"] == 300


def test_sliced_feed_keeps_name_timeframe_and_session():
    c = bt.Cerebro()
    c.adddata(bto.datasets.load("index-2006-5min"), name="idx")
    snap = snapshot_feeds(c)[0]
    assert snap.name == "idx"
    assert snap.timeframe == bt.TimeFrame.Minutes and snap.compression == 5
    sl, _ = slice_feeds([snap], bto.Window(100, 500, 20))
    assert (sl[0].name, sl[0].timeframe, sl[0].compression) == ("idx", bt.TimeFrame.Minutes, 5)


def test_window_outside_data_is_rejected():
    c = _cerebro()
    with pytest.raises(bto.DataError, match="outside the data"):
        slice_feeds(snapshot_feeds(c), bto.Window(10_000, 10_500, 0))
    with pytest.raises(ValueError, match="end must be greater"):
        bto.Window(10, 5)
