"""The :class:`Performance` analyzer: equity per bar and closed trades, the source of the built-in metrics."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import numpy as np

from ..stats.metrics import compute_metrics, periods_per_year
from ..stats.returns import equity_returns

__all__ = ["Performance"]


class Performance(bt.Analyzer):
    """Record the portfolio value at every bar and every closed trade; compute the built-in metrics at stop.

    The optimizers attach it to every trial automatically. Added by hand it works in any backtrader run::

        cerebro.addanalyzer(bto.analyzers.Performance, _name="perf")
        perf = cerebro.run()[0].analyzers.perf.get_analysis()
        perf["sharpe_ratio"], perf["max_drawdown"]

    Annualisation uses the first data feed's timeframe and compression (daily bars: 252 a year; minute bars:
    252 x 390 / compression, a 6.5-hour session; see :func:`bt_optimize.stats.metrics.periods_per_year`), or
    ``periods_per_year`` when given.

    Params:
        periods_per_year: Override the number of bars per year used to annualise.
        keep_series: Also return the equity curve (``equity``: ``[[iso datetime, value], ...]``) and the closed
            trades (``trades``) in ``get_analysis()``.

    ``get_analysis()`` returns a plain dict: the metrics of :data:`bt_optimize.stats.metrics.METRICS` (``None``
    where undefined), ``start_value``, ``end_value``, ``n_bars``, and the series when asked.
    """

    params = (("periods_per_year", None), ("keep_series", False))

    def start(self) -> None:
        broker = self.strategy.broker
        self._start_value = float(broker.getvalue())
        self._values: list[float] = []
        self._dts: list[float] = []
        self._trades: list[tuple[float, float, float, int]] = []
        self._result: dict[str, Any] = {}
        # Per bar only two appends: the lookups are made once here (this runs in every trial of every study).
        self._getvalue = broker.getvalue
        self._dtline = self.strategy.datetime
        self._append_value = self._values.append
        self._append_dt = self._dts.append

    def next(self) -> None:
        self._append_value(self._getvalue())
        self._append_dt(self._dtline[0])

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.isclosed:
            self._trades.append((float(trade.pnlcomm), float(trade.pnl), float(trade.dtopen), int(trade.barlen)))

    def stop(self) -> None:
        ppy = self.p.periods_per_year
        if ppy is None:
            data = self.strategy.datas[0]
            ppy = periods_per_year(int(data._timeframe), int(data._compression))
        equity = np.asarray(self._values, dtype=float)  # values may be ints from a custom broker: made floats here
        pnls = np.asarray([t[0] for t in self._trades], dtype=float)
        metrics = compute_metrics(equity, pnls, float(ppy), self._start_value) if len(equity) else {}
        res: dict[str, Any] = {k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in metrics.items()}
        res["start_value"] = self._start_value
        res["end_value"] = float(equity[-1]) if len(equity) else self._start_value
        res["n_bars"] = len(equity)
        if self.p.keep_series:
            res["equity"] = [[bt.num2date(d).isoformat(), float(v)] for d, v in zip(self._dts, self._values)]
            res["trades"] = [
                {"pnlcomm": p, "pnl": q, "open": bt.num2date(o).isoformat(), "barlen": n}
                for p, q, o, n in self._trades
            ]
        self._raw = metrics
        self._result = res

    def bar_returns(self) -> np.ndarray:
        """Simple returns of the portfolio value at every recorded bar (the first against the start value)."""
        return equity_returns(self._values, self._start_value)

    def raw_metrics(self) -> dict[str, float]:
        """The metrics as floats, NaN/inf kept (the objective needs to tell them apart from missing)."""
        return dict(getattr(self, "_raw", {}))

    def get_analysis(self) -> dict[str, Any]:
        return self._result
