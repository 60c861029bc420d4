"""Module-level strategies, analyzers and objectives for tests that run in worker processes.

Worker processes import these by module path (``tests.helpers_strategies``), so they must live at module
level in an importable module, never inside a test function.
"""

from __future__ import annotations

import os
import signal

import backtrader as bt

from sample_strategies import SmaCross

#: Environment variable naming a file that :class:`CountingSmaCross` appends one line to per backtest.
COUNT_ENV = "BTO_TEST_BACKTEST_COUNT_FILE"


def count_backtests(path: str | os.PathLike[str]) -> int:
    """Number of backtests recorded in the counter file written by :class:`CountingSmaCross`."""
    try:
        with open(path, encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip())
    except FileNotFoundError:
        return 0


class CountingSmaCross(SmaCross):
    """``SmaCross`` that appends a line to the file named by ``$BTO_TEST_BACKTEST_COUNT_FILE`` per backtest.

    One ``O_APPEND`` write per backtest keeps the count exact across worker processes.
    """

    def __init__(self) -> None:
        path = os.environ.get(COUNT_ENV)
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{os.getpid()} fast={self.p.fast} slow={self.p.slow}\n".encode())
            finally:
                os.close(fd)
        super().__init__()


class DieOnNext(SmaCross):
    """``SmaCross`` whose worker kills itself with SIGKILL on the first ``next()`` when ``die`` is true.

    Only ever run it in worker processes: in the main process it would kill the test runner.
    """

    params = (("die", False),)

    def next(self) -> None:
        if self.p.die:
            os.kill(os.getpid(), signal.SIGKILL)
        super().next()


class RaiseOnNext(SmaCross):
    """``SmaCross`` that raises ``RuntimeError("boom fast=<fast>")`` on its first ``next()`` when ``boom``."""

    params = (("boom", False),)

    def next(self) -> None:
        if self.p.boom:
            raise RuntimeError(f"boom fast={self.p.fast}")
        super().next()


class CallbackAnalyzer(bt.Analyzer):
    """An analyzer taking a function argument (``fn``) applied to the final portfolio value."""

    params = (("fn", None),)

    def stop(self) -> None:
        value = self.strategy.broker.getvalue()
        self.rets["value"] = self.p.fn(value) if self.p.fn is not None else value

    def get_analysis(self) -> dict:
        return dict(self.rets)


def final_value(strategy: bt.Strategy) -> float:
    """Objective: the final portfolio value."""
    return float(strategy.broker.getvalue())


def nan_when_fast_20(strategy: bt.Strategy) -> float:
    """Objective: NaN when ``fast == 20``, else the final portfolio value."""
    if strategy.p.fast == 20:
        return float("nan")
    return float(strategy.broker.getvalue())


class SmaTrend(bt.Strategy):
    """Long when the close is above its ``period``-bar simple moving average, short when below.

    It holds a position from the first bar on which the average exists (orders are placed on that bar and fill at
    the next open), so it shows whether warmup bars primed the average before a measured stretch.
    ``order_target_percent`` goes through ``buy``/``sell``, so windowed runs gate it like any order.
    """

    params = (("period", 200), ("percent", 0.9))

    def __init__(self) -> None:
        self.sma = bt.indicators.SimpleMovingAverage(self.data.close, period=self.p.period)
        self.pending = None

    def notify_order(self, order: bt.Order) -> None:
        if order.status not in (order.Submitted, order.Accepted) and self.pending is not None \
                and order.ref == self.pending.ref:
            self.pending = None

    def next(self) -> None:
        if self.pending is not None:
            return
        want = 1 if self.data.close[0] > self.sma[0] else -1
        have = (self.position.size > 0) - (self.position.size < 0)
        if want != have:
            self.pending = self.order_target_percent(target=want * self.p.percent)


class DieOnceOnNext(SmaCross):
    """``SmaCross`` whose worker kills itself with SIGKILL on its first ``next()`` the first time a trial with a
    non-empty ``flag`` runs: that run creates the file named by ``flag``; a re-run finds it and trades normally.

    Only ever run it in worker processes: in the main process it would kill the test runner.
    """

    params = (("flag", ""),)

    def next(self) -> None:
        if self.p.flag:
            try:
                os.close(os.open(self.p.flag, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        super().next()
