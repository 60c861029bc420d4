"""The :class:`MonteCarlo` analyzer: trade permutation and bootstrap tests of a finished backtest."""

from __future__ import annotations

import math
import numbers
from typing import Any

import backtrader as bt
import numpy as np

from bt_optimize.exceptions import OptionError
from bt_optimize.stats.montecarlo import (
    METHODS,
    TRADE_LOWER_IS_BETTER,
    TRADE_METRICS,
    compute_trade_metrics,
    histogram,
    simulate,
    summarize,
    verdict,
)

__all__ = ["MonteCarlo"]


def _is_int(value: Any) -> bool:
    """Return True for integers (numpy ones too), False for bools and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class MonteCarlo(bt.Analyzer):
    """Test how much a backtest's result owes to the order and the luck of its trades.

    The analyzer records every closed trade (its ``pnlcomm`` and its return, ``pnlcomm`` divided by the
    account value just before the trade opened) and the account value at ``start()``. At ``stop()`` it
    rebuilds the equity path trade by trade from the starting capital by compounding the trade returns,
    then repeats that ``n_simulations`` times with the trades

    * reordered (``method="permutation"``): the same trades in a random order, or
    * resampled with replacement (``method="bootstrap"``): as many trades, drawn from the actual ones.

    Each metric of the actual sequence is then compared with its simulated distribution.

    What each method can show:
        Permutation keeps the set of trades, so ``total_return`` (a product), ``win_rate``,
        ``profit_factor`` and the per-trade Sharpe ratio ``trade_sharpe`` (functions of the set) are the same in every
        simulation: permutation cannot test them, and their verdict says so. It does test path
        metrics, here ``max_drawdown``: a drawdown much lower than most orderings give means the actual
        order of wins and losses was lucky (or the trades are serially dependent), and a live run of the
        same edge should expect the wider simulated range. Bootstrap changes the set of trades too, so it
        tests every metric and its confidence intervals show how much each metric could differ with
        another draw of trades of the same kind. Neither method knows about market regimes, overlapping
        positions or position sizing that depends on past results: trades are treated as independent.

    Modelling choices:
        * A trade's return is its ``pnlcomm`` (commission included) over the account value at the close of
          the bar before it opened, i.e. the value its entry was sized from. Trades still open at the end
          are left out, as are trades opened while the account value was not positive.
        * Compounding per trade: trade ``i`` moves the equity by the factor ``1 + r_i`` from the starting
          capital, so the sequence matters for the drawdown. The metrics are scale-free, so the path is
          built from a capital of 1 (``start_value`` is reported alongside). With one position at a time
          the observed ``total_return`` equals the realised P&L over the starting value; overlapping
          trades are compounded one after the other in the order they closed.
        * ``trade_sharpe`` is per trade: ``mean / std`` (sample std) of the trade returns, no risk-free rate
          and no annualisation, since trades have no fixed length.
        * ``max_drawdown`` is a positive fraction measured on the trade-by-trade path (closed trades only;
          intra-trade drawdowns are not seen). ``win_rate`` counts returns above zero; ``profit_factor``
          is computed on returns (sum of gains over sum of losses) and may be undefined with no losses.
        * ``p_value`` is the empirical, one-sided, direction-aware ``(k + 1) / (n + 1)``, where ``k``
          counts the simulations at least as good as the observed value (higher is better, except for
          ``max_drawdown``); the ``+1`` counts the actual sequence as one of the possible ones, so
          ``p_value`` is never 0. Ties within floating-point rounding count as at least as good, which
          gives ``p_value == 1`` for the metrics that permutation cannot change.

    Params:
        n_simulations (int): Number of simulated sequences, at least 1. Default 1000.
        method (str): ``"permutation"`` or ``"bootstrap"``. Default ``"permutation"``.
        seed (int | None): Seed of ``numpy.random.default_rng``; the same seed and trades give the same
            analysis. ``None`` draws fresh entropy. Default ``None``.
        confidence (float): Level of the percentile confidence intervals, in ``(0, 1)``. A metric is
            ``significant`` when ``p_value < 1 - confidence``. Default 0.95.
        min_trades (int): Fewest closed trades needed to run the simulations, at least 2. With fewer the
            analysis reports ``status == "insufficient_trades"`` instead of numbers. Default 10.
        bins (int): Number of histogram bins kept per metric for plotting. Default 40.

    Raises:
        OptionError: When the analyzer is built (as ``cerebro.run()`` starts), if a param is invalid; the
            message says which values are accepted.

    ``get_analysis()`` returns plain, JSON-safe data (``None`` where a number is undefined)::

        {"status": "ok", "method": "permutation", "n_simulations": 1000, "seed": 42, "confidence": 0.95,
         "n_trades": 37, "min_trades": 10, "start_value": 100000.0, "metrics": ["trade_sharpe", ...],
         "trade_sharpe": {"observed": ..., "mean": ..., "std": ..., "ci": [lo, hi], "p_value": ...,
                          "percentile": ..., "significant": ..., "robust": ..., "verdict": "...",
                          "lower_is_better": False, "n_valid": 1000,
                          "hist": {"edges": [...], "counts": [...]}},
         "total_return": {...}, "max_drawdown": {...}, "win_rate": {...}, "profit_factor": {...}}

    With fewer than ``min_trades`` closed trades it is
    ``{"status": "insufficient_trades", "n_trades": k, "min_trades": 10, "message": "..."}``.
    ``percentile`` is the observed value's position among the simulations on the metric's own axis (0:
    below all of them, 100: above all of them); ``robust`` is true when the observed value lies outside
    the confidence interval on the good side. See :func:`bt_optimize.stats.montecarlo.summarize`.

    The collected trades stay available as ``trade_pnls`` and ``trade_returns`` (lists of floats, in the
    order the trades closed).

    Example:
        >>> cerebro = bt.Cerebro()
        >>> cerebro.addanalyzer(MonteCarlo, _name="mc", n_simulations=1000, method="permutation", seed=42)
        >>> # strat = cerebro.run()[0]; strat.analyzers.mc.get_analysis()["max_drawdown"]["p_value"]
    """

    params = (
        ("n_simulations", 1000),
        ("method", "permutation"),
        ("seed", None),
        ("confidence", 0.95),
        ("min_trades", 10),
        ("bins", 40),
    )

    def __init__(self) -> None:
        self._validate_params()
        self.trade_pnls: list[float] = []
        self.trade_returns: list[float] = []
        self._open_values: dict[int, float] = {}
        self._start_value = math.nan
        self._last_value = math.nan

    def _validate_params(self) -> None:
        """Check the params once, when backtrader builds the analyzer."""
        p = self.p
        if not _is_int(p.n_simulations) or p.n_simulations < 1:
            raise OptionError(f"n_simulations must be an integer >= 1, got {p.n_simulations!r}; e.g. 1000.")
        if p.method not in METHODS:
            raise OptionError(f"method must be one of {', '.join(map(repr, METHODS))}, got {p.method!r}.")
        if (
            isinstance(p.confidence, bool)
            or not isinstance(p.confidence, numbers.Real)
            or not (0.0 < p.confidence < 1.0)
        ):
            raise OptionError(
                f"confidence must be a number strictly between 0 and 1, got {p.confidence!r}; e.g. 0.95."
            )
        if p.seed is not None and (not _is_int(p.seed) or p.seed < 0):
            raise OptionError(f"seed must be None or an integer >= 0, got {p.seed!r}; e.g. seed=42.")
        if not _is_int(p.min_trades) or p.min_trades < 2:
            raise OptionError(
                f"min_trades must be an integer >= 2 (a Sharpe ratio needs two trades), got {p.min_trades!r}."
            )
        if not _is_int(p.bins) or p.bins < 1:
            raise OptionError(f"bins must be an integer >= 1, got {p.bins!r}; e.g. bins=40.")

    def create_analysis(self) -> None:
        self.rets: dict[str, Any] = {}

    def start(self) -> None:
        self._start_value = float(self.strategy.broker.getvalue())
        self._last_value = self._start_value

    def next(self) -> None:
        # Also reached from prenext() and nextstart(). The value at this bar's close is the account value
        # that a trade opened on the next bar starts from (orders fill before the strategy sees that bar).
        self._last_value = float(self.strategy.broker.getvalue())

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.justopened:
            self._open_values[trade.ref] = self._last_value
        if not trade.isclosed:
            return
        open_value = self._open_values.pop(trade.ref, self._last_value)
        if not open_value > 0.0:  # an account with nothing left has no meaningful trade return
            return
        pnl = float(trade.pnlcomm)
        self.trade_pnls.append(pnl)
        self.trade_returns.append(pnl / open_value)

    def stop(self) -> None:
        p = self.p
        n_trades = len(self.trade_returns)
        if n_trades < p.min_trades:
            self.rets = {
                "status": "insufficient_trades",
                "n_trades": n_trades,
                "min_trades": int(p.min_trades),
                "message": (
                    f"Only {n_trades} closed trade(s); the Monte Carlo analysis needs at least "
                    f"{int(p.min_trades)}. Test a longer period or a strategy that trades more, or lower "
                    "min_trades (at least 2) if fewer trades are acceptable."
                ),
            }
            return

        returns = np.asarray(self.trade_returns, dtype=np.float64)
        rng = np.random.default_rng(None if p.seed is None else int(p.seed))
        simulated = simulate(returns, int(p.n_simulations), p.method, rng)
        observed = compute_trade_metrics(returns)
        confidence = float(p.confidence)

        rets: dict[str, Any] = {
            "status": "ok",
            "method": str(p.method),
            "n_simulations": int(p.n_simulations),
            "seed": None if p.seed is None else int(p.seed),
            "confidence": confidence,
            "n_trades": n_trades,
            "min_trades": int(p.min_trades),
            "start_value": self._start_value,
            "metrics": list(TRADE_METRICS),
        }
        for name in TRADE_METRICS:
            lower = name in TRADE_LOWER_IS_BETTER
            summary = summarize(float(observed[name]), simulated[name], confidence, lower)
            summary["verdict"] = verdict(name, summary, p.method, confidence)
            summary["lower_is_better"] = lower
            summary["hist"] = histogram(simulated[name], int(p.bins))
            rets[name] = summary
        self.rets = rets

    def get_analysis(self) -> dict[str, Any]:
        """Return the analysis (empty until the run has stopped); see the class docstring for its layout."""
        return self.rets
