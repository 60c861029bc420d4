"""Donchian channel breakout, long only, with a choice of exit rule."""

from __future__ import annotations

import backtrader as bt

EXIT_RULES = ("channel", "atr", "time")


class DonchianBreakout(bt.Strategy):
    """Buy when the close breaks above the highest high of the previous ``entry`` bars.

    Exit rules:

    * ``"channel"``: close when the close falls below the lowest low of the previous ``exit`` bars;
    * ``"atr"``: a trailing stop; close when the close falls more than ``atr_mult`` ATRs below the
      highest close since entry;
    * ``"time"``: close once the position has been held ``exit`` bars.

    Orders are market orders sized by the cerebro's sizer.

    Params:
        entry (int): Look-back of the breakout channel. Default 20.
        exit (int): Look-back of the exit channel (``"channel"``) or bars to hold (``"time"``).
            Default 10.
        atr_period (int): ATR period for the ``"atr"`` rule. Default 14.
        atr_mult (float): Trailing-stop distance in ATRs for the ``"atr"`` rule. Default 2.0.
        exit_rule (str): ``"channel"``, ``"atr"`` or ``"time"``. Default ``"channel"``.

    Raises:
        ValueError: If ``exit_rule`` is unknown, or ``entry``/``exit`` is below 1.

    Example:
        >>> cerebro = bt.Cerebro()
        >>> _ = cerebro.addstrategy(DonchianBreakout, entry=55, exit_rule="atr", atr_mult=3.0)
    """

    params = (
        ("entry", 20),
        ("exit", 10),
        ("atr_period", 14),
        ("atr_mult", 2.0),
        ("exit_rule", "channel"),
    )

    def __init__(self) -> None:
        if self.p.exit_rule not in EXIT_RULES:
            raise ValueError(f"exit_rule={self.p.exit_rule!r} is not supported; use one of {EXIT_RULES}.")
        if self.p.entry < 1 or self.p.exit < 1:
            raise ValueError(f"entry and exit must be >= 1, got entry={self.p.entry}, exit={self.p.exit}.")
        # Channels over the previous bars (delayed by one) so that today's bar can break them.
        self.upper = bt.indicators.Highest(self.data.high(-1), period=self.p.entry)
        if self.p.exit_rule == "channel":
            self.lower = bt.indicators.Lowest(self.data.low(-1), period=self.p.exit)
        elif self.p.exit_rule == "atr":
            self.atr = bt.indicators.ATR(self.data, period=self.p.atr_period)
        self.order: bt.Order | None = None
        self.entry_bar = 0
        self.peak = 0.0

    def notify_order(self, order: bt.Order) -> None:
        """Forget the pending order once it is done and remember when a position was opened."""
        if order.status in (order.Submitted, order.Accepted):
            return
        if order.status == order.Completed and order.isbuy():
            self.entry_bar = len(self)
            self.peak = order.executed.price
        self.order = None

    def _should_exit(self) -> bool:
        close = self.data.close[0]
        if self.p.exit_rule == "channel":
            return close < self.lower[0]
        if self.p.exit_rule == "atr":
            self.peak = max(self.peak, close)
            return close < self.peak - self.p.atr_mult * self.atr[0]
        return len(self) - self.entry_bar >= self.p.exit

    def next(self) -> None:
        """Enter on a breakout; exit by the chosen rule."""
        if self.order is not None:
            return
        if not self.position:
            if self.data.close[0] > self.upper[0]:
                self.order = self.buy()
        elif self._should_exit():
            self.order = self.close()
