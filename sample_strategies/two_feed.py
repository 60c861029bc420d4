"""A moving-average strategy on two feeds: the usual multi-timeframe set-up (data1 = data0 resampled)."""

from __future__ import annotations

import backtrader as bt


class TwoFeedSma(bt.Strategy):
    """Long while ``data0`` closes above its average and ``data1`` above its own; flat when ``data0`` drops below.

    Written for backtrader's multi-timeframe set-up: ``cerebro.adddata(d)`` then
    ``cerebro.resampledata(d, timeframe=bt.TimeFrame.Weeks)``, so ``data1`` is the weekly view of the daily
    ``data0``. Orders are market orders sized by the cerebro's sizer.

    Params:
        period0 (int): Period of the average of ``data0``. Default 10.
        period1 (int): Period of the average of ``data1``. Default 5.

    Example:
        >>> cerebro = bt.Cerebro()
        >>> _ = cerebro.addstrategy(TwoFeedSma, period0=20, period1=4)
    """

    params = (("period0", 10), ("period1", 5))

    def __init__(self) -> None:
        self.sma0 = bt.indicators.SMA(self.data0, period=self.p.period0)
        self.sma1 = bt.indicators.SMA(self.data1, period=self.p.period1)

    def next(self) -> None:
        if not self.position:
            if self.data0.close[0] > self.sma0[0] and self.data1.close[0] > self.sma1[0]:
                self.buy()
        elif self.data0.close[0] < self.sma0[0]:
            self.close()
