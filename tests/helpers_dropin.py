"""Set-ups written as backtrader's own sample scripts write them, for the drop-in tests (issue 11).

Every set-up is a function ``build(cerebro_class)`` that adds the data, broker settings, observers and analyzers to
a fresh Cerebro of the given class, so the same script builds a plain ``bt.Cerebro`` and a ``bto.Cerebro``.
Strategies and objectives live at module level so worker processes can import them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import backtrader as bt

import bt_optimize as bto
from bt_optimize.objective import to_plain
from sample_strategies import TwoFeedSma as MultiTF  # noqa: F401  (the multi-timeframe sample's strategy)


def final_value(strategy: bt.Strategy) -> float:
    """Objective: the broker's value at the end of the run."""
    return float(strategy.broker.getvalue())


def benchmark_last(strategy: bt.Strategy) -> float:
    """Objective reading the feed-bound Benchmark observer: strategy return minus the benchmark's last value."""
    obs = next(o for o in strategy.observers if isinstance(o, bt.observers.Benchmark))
    return float(obs.lines.timereturn[0]) - float(obs.lines.benchmark[0])


class OneFeedSma(bt.Strategy):
    """A one-feed SMA strategy (the data-replay sample's shape): long above the average, flat below."""

    params = (("period", 10), ("stake", 1))

    def __init__(self) -> None:
        self.sma = bt.ind.SMA(self.data, period=self.p.period)

    def next(self) -> None:
        if not self.position and self.data.close[0] > self.sma[0]:
            self.buy(size=self.p.stake)
        elif self.position and self.data.close[0] < self.sma[0]:
            self.close()


class BidAskCSV(bt.feeds.GenericCSVData):
    """The bid/ask sample's feed: ``linesoverride`` drops OHLC, line 0 is ``bid``."""

    linesoverride = True
    lines = ("bid", "ask", "datetime")
    params = (("bid", 1), ("ask", 2), ("time", -1), ("open", -1), ("high", -1), ("low", -1), ("close", -1),
              ("volume", -1), ("openinterest", -1))


class BidAskSma(bt.Strategy):
    """An SMA of the bid (``self.data``'s line 0), as the bid/ask sample plots; records the value seen."""

    params = (("period", 10),)

    def __init__(self) -> None:
        self.sma = bt.ind.SMA(self.data, period=self.p.period)
        self.total = 0.0

    def next(self) -> None:
        self.total += self.sma[0] - self.data.ask[0]


def bidask_total(strategy: bt.Strategy) -> float:
    """Objective of :class:`BidAskSma`: the sum of SMA(bid) - ask over its bars."""
    return float(strategy.total)


class St0(OneFeedSma):
    """First strategy of the strategy-selection sample (long above the SMA)."""


class St1(bt.Strategy):
    """Second strategy of the strategy-selection sample (an SMA crossover)."""

    params = (("period", 10),)

    def __init__(self) -> None:
        self.cross = bt.ind.CrossOver(self.data.close, bt.ind.SMA(self.data, period=self.p.period))

    def next(self) -> None:
        if self.cross > 0:
            self.buy()
        elif self.cross < 0 and self.position:
            self.close()


class StFetcher:
    """The strategy-selection sample's factory: ``idx`` picks the strategy, the rest are its params."""

    _STRATS = [St0, St1]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        idx = kwargs.pop("idx")
        return cls._STRATS[idx](*args, **kwargs)


class CheatOnOpen(bt.Strategy):
    """The cheat-on-open sample's strategy: a crossover of two moving averages given as a tuple of periods and an
    indicator class."""

    params = (("periods", (10, 30)), ("matype", bt.ind.SMA))

    def __init__(self) -> None:
        fast, slow = (self.p.matype(period=p) for p in self.p.periods)
        self.cross = bt.ind.CrossOver(fast, slow)

    def next(self) -> None:
        if self.cross > 0:
            self.buy()
        elif self.cross < 0 and self.position:
            self.close()


def plain_value(build: Callable[[type], bt.Cerebro], strategy: Any, objective: Callable[[Any], float],
                params: dict[str, Any], run_kwargs: dict[str, Any] | None = None,
                analyzer: str | None = None) -> tuple[float, Any]:
    """Run ``build(bt.Cerebro)`` with ``strategy(**params)`` as a plain backtrader script; its objective and the
    plain form of analyzer ``analyzer``'s output (if named)."""
    cerebro = build(bt.Cerebro)
    cerebro.addstrategy(strategy, **params)
    strat = cerebro.run(**(run_kwargs or {}))[0]
    out = to_plain(strat.analyzers.getbyname(analyzer).get_analysis()) if analyzer else None
    return objective(strat), out


def check_against_plain(study: bto.Study, build: Callable[[type], bt.Cerebro], strategy: Any,
                        objective: Callable[[Any], float], *, fixed: dict[str, Any] | None = None,
                        run_kwargs: dict[str, Any] | None = None, analyzer: str | None = None,
                        min_complete: int = 2) -> None:
    """Every complete trial equals the plain run with its params; ``run_best()`` reproduces ``best_value``."""
    done = study.get_trials((bto.TrialState.COMPLETE,))
    assert len(done) >= min_complete, study.trials[["number", "state", "error"]]
    values = set()
    for t in done:
        value, analysis = plain_value(build, strategy, objective, {**(fixed or {}), **t.params}, run_kwargs, analyzer)
        assert value == t.value, (t.params, value, t.value)
        values.add(round(value, 9))
        if analyzer:
            assert study.analysis(t.number)[analyzer] == analysis
    assert len(values) > 1 or len(done) == 1, "the grid should give different values, or the check is weak"
    best = study.run_best()
    assert objective(best) == study.best_value
    assert math.isfinite(study.best_value)
