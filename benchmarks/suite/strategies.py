"""Small strategies written for the search suite only (not part of the package).

Each one is long only, trades with market orders sized by the cerebro's sizer and has a handful of parameters
whose grids the suite backtests exhaustively. They are deliberately plain: the suite is about the shape of their
landscapes (plateaus where nothing trades, steps, lone spikes, parameters that matter only for one category).
"""

from __future__ import annotations

import backtrader as bt

MA_TYPES = {
    "sma": bt.indicators.SMA,
    "ema": bt.indicators.EMA,
    "wma": bt.indicators.WMA,
    "dema": bt.indicators.DEMA,
}


class _Long(bt.Strategy):
    """Shared order bookkeeping: one pending order at a time, entry bar and price remembered."""

    def __init__(self) -> None:
        self.order: bt.Order | None = None
        self.entry_bar = 0
        self.entry_price = 0.0
        self.peak = 0.0

    def notify_order(self, order: bt.Order) -> None:
        """Forget the pending order once it is done; remember when and where a position was opened."""
        if order.status in (order.Submitted, order.Accepted):
            return
        if order.status == order.Completed and order.isbuy():
            self.entry_bar = len(self)
            self.entry_price = self.peak = order.executed.price
        self.order = None

    def held(self) -> int:
        """Bars since the position was opened."""
        return len(self) - self.entry_bar


class TypedMaCross(_Long):
    """Moving-average cross with a choice of average and of exit.

    Params:
        fast (int), slow (int): Periods of the two averages.
        ma (str): One of ``MA_TYPES``.
        exit (str): ``"cross"`` (close on the cross down), ``"trail"`` (a trailing stop of ``stop``) or
            ``"time"`` (close after ``slow // 2`` bars or the cross down). ``stop`` matters only for ``"trail"``.
        stop (float): Trailing stop as a share of the highest close since entry.
        filter (str): ``"none"`` or ``"rsi"`` (enter only while RSI(14) is below 70).
    """

    params = (("fast", 10), ("slow", 50), ("ma", "sma"), ("exit", "cross"), ("stop", 0.05), ("filter", "none"))

    def __init__(self) -> None:
        super().__init__()
        if self.p.fast >= self.p.slow:
            raise bt.errors.StrategySkipError()
        kind = MA_TYPES[self.p.ma]
        self.cross = bt.indicators.CrossOver(kind(self.data.close, period=self.p.fast),
                                             kind(self.data.close, period=self.p.slow))
        self.rsi = bt.indicators.RSI(self.data.close, period=14, safediv=True) if self.p.filter == "rsi" else None

    def next(self) -> None:
        """Enter on a cross up; exit by the chosen rule."""
        if self.order is not None:
            return
        if not self.position:
            if self.cross[0] > 0 and (self.rsi is None or self.rsi[0] < 70):
                self.order = self.buy()
            return
        self.peak = max(self.peak, self.data.close[0])
        out = self.cross[0] < 0
        if self.p.exit == "trail":
            out = out or self.data.close[0] < self.peak * (1.0 - self.p.stop)
        elif self.p.exit == "time":
            out = out or self.held() >= self.p.slow // 2
        if out:
            self.order = self.close()


class BollingerAtr(_Long):
    """Buy a close below the lower Bollinger band; exit at the middle band or an ATR stop below the entry.

    Params:
        period (int): Bollinger and ATR period.
        devfactor (float): Band width in standard deviations.
        atr_mult (float): Stop distance in ATRs below the entry price.
    """

    params = (("period", 20), ("devfactor", 2.0), ("atr_mult", 2.0))

    def __init__(self) -> None:
        super().__init__()
        self.bb = bt.indicators.BollingerBands(self.data.close, period=self.p.period, devfactor=self.p.devfactor)
        self.atr = bt.indicators.ATR(self.data, period=self.p.period)

    def next(self) -> None:
        """Enter below the lower band; exit at the middle band or the stop."""
        if self.order is not None:
            return
        if not self.position:
            if self.data.close[0] < self.bb.bot[0]:
                self.order = self.buy()
                self.stop_at = self.data.close[0] - self.p.atr_mult * self.atr[0]
            return
        if self.data.close[0] > self.bb.mid[0] or self.data.close[0] < self.stop_at:
            self.order = self.close()


class RocMomentum(_Long):
    """Buy when the rate of change over ``period`` bars exceeds ``threshold``; hold ``hold`` bars.

    Params:
        period (int): Rate-of-change lookback.
        threshold (float): Entry level of the rate of change (a share, e.g. 0.05 = 5 %).
        hold (int): Bars to hold.
    """

    params = (("period", 20), ("threshold", 0.05), ("hold", 10))

    def __init__(self) -> None:
        super().__init__()
        self.roc = bt.indicators.RateOfChange(self.data.close, period=self.p.period)

    def next(self) -> None:
        """Enter on strong momentum; exit after the holding time."""
        if self.order is not None:
            return
        if not self.position:
            if self.roc[0] > self.p.threshold:
                self.order = self.buy()
            return
        if self.held() >= self.p.hold:
            self.order = self.close()


class KeltnerBreakout(_Long):
    """Buy a close above the Keltner channel (EMA + ``mult`` ATRs); exit with a trailing stop of ``trail`` ATRs.

    Params:
        period (int): EMA and ATR period.
        mult (float): Channel width in ATRs.
        trail (float): Trailing stop in ATRs below the highest close since entry.
    """

    params = (("period", 20), ("mult", 2.0), ("trail", 3.0))

    def __init__(self) -> None:
        super().__init__()
        self.mid = bt.indicators.EMA(self.data.close, period=self.p.period)
        self.atr = bt.indicators.ATR(self.data, period=self.p.period)

    def next(self) -> None:
        """Enter on a breakout above the channel; exit on the trailing stop."""
        if self.order is not None:
            return
        if not self.position:
            if self.data.close[0] > self.mid[0] + self.p.mult * self.atr[0]:
                self.order = self.buy()
            return
        self.peak = max(self.peak, self.data.close[0])
        if self.data.close[0] < self.peak - self.p.trail * self.atr[0]:
            self.order = self.close()


class StochRevert(_Long):
    """Buy when the slow stochastic %K falls below ``lower``; close above ``upper``.

    Params:
        period (int): %K lookback.
        lower (int), upper (int): Entry and exit levels.
    """

    params = (("period", 14), ("lower", 20), ("upper", 80))

    def __init__(self) -> None:
        super().__init__()
        self.k = bt.indicators.StochasticSlow(self.data, period=self.p.period, safediv=True).percK

    def next(self) -> None:
        """Enter oversold, exit overbought."""
        if self.order is not None:
            return
        if not self.position:
            if self.k[0] < self.p.lower:
                self.order = self.buy()
            return
        if self.k[0] > self.p.upper:
            self.order = self.close()


class OpeningRange(_Long):
    """Intraday opening-range breakout: after the first ``range_bars`` bars of a session, buy a close above the
    range's high; exit at ``target`` range-widths above the entry, ``stop`` widths below it, or at the session's
    last bar.

    Params:
        range_bars (int): Bars that form the opening range.
        target (float), stop (float): Exit distances in range widths.
    """

    params = (("range_bars", 6), ("target", 1.5), ("stop", 1.0))

    def __init__(self) -> None:
        super().__init__()
        self.day = None
        self.bar_of_day = 0
        self.hi = self.lo = 0.0
        self.traded = False

    def next(self) -> None:
        """Track the session's opening range; enter once per session; exit by target, stop or session end."""
        d = self.data.datetime.date(0)
        if d != self.day:
            self.day, self.bar_of_day, self.traded = d, 0, False
            self.hi, self.lo = self.data.high[0], self.data.low[0]
        self.bar_of_day += 1
        if self.bar_of_day <= self.p.range_bars:
            self.hi, self.lo = max(self.hi, self.data.high[0]), min(self.lo, self.data.low[0])
            return
        if self.order is not None:
            return
        width = max(self.hi - self.lo, 1e-9)
        last = len(self.data) < self.data.buflen() and self.data.datetime.date(1) != d
        if not self.position:
            if not self.traded and not last and self.data.close[0] > self.hi:
                self.order = self.buy()
                self.traded = True
            return
        c = self.data.close[0]
        if last or c > self.entry_price + self.p.target * width or c < self.entry_price - self.p.stop * width:
            self.order = self.close()


class MacdTrend(_Long):
    """Buy when the MACD line crosses above its signal; close on the cross down.

    Params:
        fast (int), slow (int), signal (int): MACD periods.
        filter (str): ``"none"`` or ``"sma100"`` (enter only above the 100-bar SMA).
    """

    params = (("fast", 12), ("slow", 26), ("signal", 9), ("filter", "none"))

    def __init__(self) -> None:
        super().__init__()
        macd = bt.indicators.MACD(self.data.close, period_me1=self.p.fast, period_me2=self.p.slow,
                                  period_signal=self.p.signal)
        self.cross = bt.indicators.CrossOver(macd.macd, macd.signal)
        self.trend = bt.indicators.SMA(self.data.close, period=100) if self.p.filter == "sma100" else None

    def next(self) -> None:
        """Enter on the cross up (above the trend filter); exit on the cross down."""
        if self.order is not None:
            return
        if not self.position:
            if self.cross[0] > 0 and (self.trend is None or self.data.close[0] > self.trend[0]):
                self.order = self.buy()
            return
        if self.cross[0] < 0:
            self.order = self.close()


class VolBreakout(_Long):
    """Buy when the close jumps more than ``k`` ATRs above the previous close; hold ``hold`` bars.

    Params:
        k (float): Jump size in ATRs.
        atr (int): ATR period.
        hold (int): Bars to hold.
    """

    params = (("k", 1.0), ("atr", 14), ("hold", 5))

    def __init__(self) -> None:
        super().__init__()
        self.atr_ind = bt.indicators.ATR(self.data, period=self.p.atr)

    def next(self) -> None:
        """Enter on a volatility jump; exit after the holding time."""
        if self.order is not None:
            return
        if not self.position:
            if self.data.close[0] - self.data.close[-1] > self.p.k * self.atr_ind[-1]:
                self.order = self.buy()
            return
        if self.held() >= self.p.hold:
            self.order = self.close()
