"""RSI mean reversion, long only."""

from __future__ import annotations

import backtrader as bt


class RsiMeanReversion(bt.Strategy):
    """Buy when the RSI is oversold; close when it is overbought or the holding time runs out.

    Orders are market orders sized by the cerebro's sizer.

    Params:
        period (int): RSI period. Default 14.
        lower (float): Buy when the RSI falls below this level. Default 30.0.
        upper (float): Close when the RSI rises above this level. Default 70.0.
        hold (int): Close once the position has been held this many bars; 0 means no limit. Default 0.

    Raises:
        ValueError: If ``hold`` is negative.
        bt.errors.StrategySkipError: If ``lower >= upper`` (backtrader then skips this combination).

    Example:
        >>> cerebro = bt.Cerebro()
        >>> _ = cerebro.addstrategy(RsiMeanReversion, period=10, lower=25.0, upper=65.0, hold=20)
    """

    params = (
        ("period", 14),
        ("lower", 30.0),
        ("upper", 70.0),
        ("hold", 0),
    )

    def __init__(self) -> None:
        if self.p.hold < 0:
            raise ValueError(f"hold={self.p.hold!r} must be >= 0 (0 means no limit).")
        if self.p.lower >= self.p.upper:
            raise bt.errors.StrategySkipError()
        self.rsi = bt.indicators.RSI(self.data.close, period=self.p.period, safediv=True)
        self.order: bt.Order | None = None
        self.entry_bar = 0

    def notify_order(self, order: bt.Order) -> None:
        """Forget the pending order once it is done and remember when a position was opened."""
        if order.status in (order.Submitted, order.Accepted):
            return
        if order.status == order.Completed and order.isbuy():
            self.entry_bar = len(self)
        self.order = None

    def next(self) -> None:
        """Enter below ``lower``; exit above ``upper`` or after ``hold`` bars."""
        if self.order is not None:
            return
        if not self.position:
            if self.rsi[0] < self.p.lower:
                self.order = self.buy()
            return
        held = len(self) - self.entry_bar
        if self.rsi[0] > self.p.upper or (self.p.hold > 0 and held >= self.p.hold):
            self.order = self.close()
