"""Moving-average crossover, long only, with an optional protective stop."""

from __future__ import annotations

import backtrader as bt

_MOVING_AVERAGES = {
    "sma": bt.indicators.SimpleMovingAverage,
    "ema": bt.indicators.ExponentialMovingAverage,
    "wma": bt.indicators.WeightedMovingAverage,
}


class SmaCross(bt.Strategy):
    """Buy when the fast average crosses above the slow one; close when it crosses back below.

    Orders are market orders sized by the cerebro's sizer. With ``stop > 0`` the position is closed
    (at the next bar's open) as soon as a close falls below ``entry price * (1 - stop)``: a stop on
    closing prices, which keeps the strategy free of resting orders.

    Params:
        fast (int): Period of the fast moving average. Default 10.
        slow (int): Period of the slow moving average; must exceed ``fast``. Default 30.
        stop (float): Protective stop distance as a fraction of the entry price; 0 disables it.
            Default 0.0.
        ma (str): Kind of moving average: ``"sma"``, ``"ema"`` or ``"wma"``. Default ``"sma"``.

    Raises:
        ValueError: If ``ma`` is not a known kind or ``stop`` is outside ``[0, 1)``.
        bt.errors.StrategySkipError: If ``fast >= slow`` (backtrader then skips this combination).

    Example:
        >>> cerebro = bt.Cerebro()
        >>> _ = cerebro.addstrategy(SmaCross, fast=12, slow=40, stop=0.05, ma="ema")
    """

    params = (
        ("fast", 10),
        ("slow", 30),
        ("stop", 0.0),
        ("ma", "sma"),
    )

    def __init__(self) -> None:
        try:
            average = _MOVING_AVERAGES[self.p.ma]
        except (KeyError, TypeError):
            raise ValueError(
                f"ma={self.p.ma!r} is not supported; use one of {', '.join(_MOVING_AVERAGES)}."
            ) from None
        if not 0.0 <= self.p.stop < 1.0:
            raise ValueError(f"stop={self.p.stop!r} must be a fraction in [0, 1); 0 disables the stop.")
        if self.p.fast >= self.p.slow:
            raise bt.errors.StrategySkipError()
        fast_ma = average(self.data.close, period=self.p.fast)
        slow_ma = average(self.data.close, period=self.p.slow)
        self.crossover = bt.indicators.CrossOver(fast_ma, slow_ma)
        self.order: bt.Order | None = None
        self.entry_price: float | None = None

    def notify_order(self, order: bt.Order) -> None:
        """Forget the pending order once it is done; remember the entry price of a filled buy.

        backtrader notifies copies of orders, so orders are matched by ``ref``, not identity.
        """
        if order.status in (order.Submitted, order.Accepted):
            return
        if self.order is not None and order.ref == self.order.ref:
            self.order = None
            if order.status == order.Completed and order.isbuy():
                self.entry_price = order.executed.price

    def next(self) -> None:
        """Enter on an upward cross; exit on a downward cross or when the close breaches the stop."""
        if self.order is not None:
            return
        if not self.position:
            if self.crossover[0] > 0:
                self.order = self.buy()
        elif self.crossover[0] < 0 or (
            self.p.stop > 0.0 and self.entry_price is not None
            and self.data.close[0] < self.entry_price * (1.0 - self.p.stop)
        ):
            self.order = self.close()
