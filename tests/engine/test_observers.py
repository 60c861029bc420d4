"""Trials leave out backtrader's default observers unless something reads them, and still equal plain runs.

Each trial's value must equal a plain ``bt.Cerebro`` run of the user's configuration (default ``stdstats=True``)
in every ``runonce`` x ``preload`` x ``exactbars`` mode, for a strategy that reads ``self.stats`` (observers kept)
and for one that does not (observers left out).
"""

from __future__ import annotations

import itertools

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize.engine.data import snapshot_feeds
from bt_optimize.engine.worker import Payload, Runtime, TrialSpec, pack_template, reads_observers
from bt_optimize.objective import Objective
from sample_strategies import SmaCross

FROM, TO = "2003-01-01", "2003-12-31"
POINTS = [dict(fast=5, slow=20), dict(fast=10, slow=40)]


class StatsAwareSmaCross(SmaCross):
    """``SmaCross`` that stops opening positions once the broker observer shows a 3 % loss on the last bar."""

    def next(self) -> None:
        value = self.stats.broker.value[-1] if len(self.stats.broker.value) > 1 else self.broker.startingcash
        if not self.position and value < 0.97 * self.broker.startingcash:
            return
        super().next()


def _observers(strat: bt.Strategy) -> list[str]:
    """Class names of every observer the strategy ran (per-data ones included)."""
    return sorted(type(o).__name__ for o in strat._lineiterators[bt.LineIterator.ObsType])


DEFAULTS = ["Broker", "BuySell", "Trades"]


def _setup(c: bt.Cerebro) -> bt.Cerebro:
    c.adddata(bto.datasets.load("orcl", fromdate=FROM, todate=TO))
    c.broker.setcash(100_000)
    c.broker.setcommission(commission=0.001)
    c.addsizer(bt.sizers.PercentSizer, percents=90)
    return c


def _plain(strategy: type, mode: dict, params: dict) -> float:
    c = _setup(bt.Cerebro(**mode))
    c.addstrategy(strategy, **params)
    c.addanalyzer(bto.analyzers.Performance, _name="perf")
    return c.run()[0].analyzers.perf.get_analysis()["sharpe_ratio"]


# exactbars=1 turns runonce and preload off in backtrader, so only exactbars=0 needs the full cross
MODES = [dict(runonce=r, preload=p, exactbars=0) for r, p in itertools.product((True, False), (True, False))] + [
    dict(runonce=True, preload=True, exactbars=e) for e in (1, -1)]


@pytest.mark.parametrize("strategy", [SmaCross, StatsAwareSmaCross], ids=["no-stats", "reads-stats"])
@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(f"{k}{int(v)}" for k, v in m.items()))
def test_trials_equal_plain_runs_in_every_mode(strategy, mode):
    c = _setup(bto.Cerebro(maxcpus=1, **mode))
    study = c.optimize_grid(strategy, fast=bto.Cat([p["fast"] for p in POINTS]),
                            slow=bto.Cat([p["slow"] for p in POINTS]), progress=False)
    got = {(r.params_fast, r.params_slow): r.value for r in study.trials.itertuples()}
    for params in POINTS:
        assert got[(params["fast"], params["slow"])] == _plain(strategy, mode, params)
    # run_best runs the user's configuration exactly, default observers included
    best = study.run_best()
    assert _observers(best) == DEFAULTS


def test_stats_aware_strategy_differs_from_plain_sma():
    """The reads-stats strategy really depends on the observer (else the test above proves nothing)."""
    assert _plain(StatsAwareSmaCross, {}, POINTS[0]) != _plain(SmaCross, {}, POINTS[0])


def _runtime(strategy: type, cerebro: bt.Cerebro, **kw) -> Runtime:
    payload = Payload(template=pack_template(cerebro), feeds=snapshot_feeds(cerebro), strategy=strategy,
                      objective=Objective("sharpe_ratio", None), **kw)
    return Runtime(payload)


def test_observers_left_out_only_when_nothing_reads_them():
    c = _setup(bto.Cerebro())
    assert not reads_observers(SmaCross, c)
    assert reads_observers(StatsAwareSmaCross, c)
    _, strat = _runtime(SmaCross, c).run(TrialSpec(0, POINTS[0]))
    assert _observers(strat) == []
    _, strat = _runtime(StatsAwareSmaCross, c).run(TrialSpec(0, POINTS[0]))
    assert _observers(strat) == DEFAULTS
    _, strat = _runtime(SmaCross, c, keep_observers=True).run(TrialSpec(0, POINTS[0]))
    assert _observers(strat) == DEFAULTS
    _, strat = _runtime(SmaCross, c).run(TrialSpec(0, POINTS[0], keep_observers=True))
    assert _observers(strat) == DEFAULTS


def test_user_observers_always_run():
    c = _setup(bto.Cerebro())
    c.addobserver(bt.observers.DrawDown)
    _, strat = _runtime(SmaCross, c).run(TrialSpec(0, POINTS[0]))
    assert _observers(strat) == ["DrawDown"]
    assert len(strat.stats.drawdown.drawdown) > 0


def test_stdstats_false_is_respected():
    c = _setup(bto.Cerebro(stdstats=False))
    _, strat = _runtime(SmaCross, c, keep_observers=True).run(TrialSpec(0, POINTS[0]))
    assert _observers(strat) == []  # the user's own choice: keep_observers never adds observers


class ObserverCount(bt.Analyzer):
    """How many ObsType line iterators ran beside the strategy (the word the detection looks for is avoided)."""

    def get_analysis(self) -> dict:
        return {"n": len(self.strategy._lineiterators[bt.LineIterator.ObsType])}


def test_keep_observers_option():
    c = _setup(bto.Cerebro(maxcpus=1))
    c.addanalyzer(ObserverCount, _name="obs")
    space = dict(fast=bto.Cat([5]), slow=bto.Cat([20]))
    assert c.optimize_grid(SmaCross, progress=False, **space).analysis(0)["obs"]["n"] == 0
    assert c.optimize_grid(SmaCross, progress=False, keep_observers=True, **space).analysis(0)["obs"]["n"] == 3
    with pytest.raises(bto.SpaceError, match="keep_observers"):
        c.optimize_random(SmaCross, keep_observers="yes", n_trials=2, **space)
