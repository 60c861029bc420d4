r"""Performance metrics as a pure function of an equity curve and closed-trade results.

Nothing here knows about backtrader: :func:`compute_metrics` takes plain arrays, so the same numbers
come out whether the equity was recorded by an analyzer, rebuilt from storage or written by hand in a
test.

Inputs
------
``equity``
    Portfolio value at the close of each measured bar, ``e_1 .. e_n``.
``start_value``
    Portfolio value just before the first measured bar, ``v_0``. When omitted, ``v_0 = e_1`` and the
    curve is ``e_1 .. e_n`` (one value fewer, so one return fewer).
``trade_pnls``
    Net profit or loss of every closed trade, ``p_1 .. p_m``.
``periods_per_year``
    How many bars make a year, ``P`` (see :func:`periods_per_year`).

Write ``v = [v_0, e_1, ..., e_n]`` (or ``v = e`` when ``start_value`` is omitted) and
``r_i = v_i / v_{i-1} - 1`` for the ``N = len(v) - 1`` simple bar returns.

Definitions
-----------
``sharpe_ratio``
    ``mean(r) / std(r, ddof=1) * sqrt(P)``; no risk-free rate. ``nan`` when ``N < 2``; ``0.0`` when
    the returns have zero spread and zero mean (flat equity); ``nan`` when they have zero spread but a
    non-zero mean (undefined; only constructed data gets there).
``sortino_ratio``
    ``mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(P)``: the downside deviation is taken against a target of
    0 over all ``N`` returns. ``nan`` when ``N < 2``; ``0.0`` when there is no downside and
    ``mean(r) == 0``; ``nan`` when there is no downside and ``mean(r) > 0`` (undefined, reported as not a
    number rather than infinity).
``total_return``
    ``v_N / v_0 - 1``. ``nan`` when ``N < 1``.
``annual_return``
    ``(1 + total_return) ** (P / N) - 1``, compounded. ``nan`` when ``N < 1`` or
    ``total_return <= -1``; may be ``inf`` when a short run is annualised to a huge number.
``max_drawdown``
    ``max_i(1 - v_i / max_{j<=i} v_j)``: the deepest fall from a running peak, a positive fraction
    (0.25 means 25 %). ``0.0`` for a curve that never falls; ``nan`` when ``v`` is empty.
``calmar_ratio``
    ``annual_return / max_drawdown``. ``nan`` when ``max_drawdown == 0`` or either part is ``nan``.
``win_rate``
    Share of trades with ``p > 0``. ``nan`` when ``m == 0``.
``profit_factor``
    ``sum(p > 0) / |sum(p < 0)|``. ``nan`` when ``m == 0``; ``inf`` when there are winners and no
    losers; ``0.0`` when there are no winners (also when every trade is exactly 0).
``sqn``
    System Quality Number, ``sqrt(m) * mean(p) / std(p, ddof=1)``. ``nan`` when ``m < 2`` or the
    trade results have zero spread. backtrader's ``SQN`` analyzer divides by the population deviation
    (``ddof=0``), so its value is larger by a factor ``sqrt(m / (m - 1))``.
``n_trades``
    ``float(m)``.

All values are plain Python ``float``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["LOWER_IS_BETTER", "METRICS", "compute_metrics", "periods_per_year"]

METRICS: tuple[str, ...] = (
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "total_return",
    "annual_return",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "sqn",
    "n_trades",
)
"""Names of the built-in metrics, in the order :func:`compute_metrics` returns them."""

LOWER_IS_BETTER: frozenset[str] = frozenset({"max_drawdown"})
"""Metrics for which a smaller value is the better one; every other metric is maximised."""

# backtrader's bt.TimeFrame constants, copied so that this module does not import backtrader:
# Ticks=1, MicroSeconds=2, Seconds=3, Minutes=4, Days=5, Weeks=6, Months=7, Years=8.
_TICKS = 1
_MICROSECONDS = 2
_SECONDS = 3
_MINUTES = 4
_DAYS = 5
_WEEKS = 6
_MONTHS = 7
_YEARS = 8

_TRADING_DAYS = 252
_SESSION_MINUTES = 390  # a 6.5-hour US equity session

_BARS_PER_YEAR_AT_COMPRESSION_1: dict[int, float] = {
    _YEARS: 1.0,
    _MONTHS: 12.0,
    _WEEKS: 52.0,
    _DAYS: float(_TRADING_DAYS),
    _MINUTES: float(_TRADING_DAYS * _SESSION_MINUTES),
    _SECONDS: float(_TRADING_DAYS * _SESSION_MINUTES * 60),
}


def periods_per_year(timeframe: int, compression: int) -> float:
    """Return how many bars of a backtrader timeframe make one year.

    Days assume 252 trading days; intraday bars assume a 6.5-hour (390-minute) session on each of them.

    Args:
        timeframe: A ``bt.TimeFrame`` constant (``bt.TimeFrame.Days`` is 5, ``Minutes`` is 4, ...).
        compression: How many base units one bar spans (5 for 5-minute bars); at least 1.

    Returns:
        Bars per year, e.g. 252.0 for daily bars and 19656.0 for 5-minute bars.

    Raises:
        ValueError: For ticks or microseconds (there is no standard count; pass ``periods_per_year``
            explicitly), an unknown timeframe, or a compression below 1.

    Example:
        >>> periods_per_year(5, 1)
        252.0
    """
    if isinstance(compression, bool) or not isinstance(compression, (int, np.integer)) or compression < 1:
        raise ValueError(f"compression must be an integer >= 1, got {compression!r}.")
    if timeframe in (_TICKS, _MICROSECONDS):
        raise ValueError(
            "Tick and microsecond bars have no standard number of periods per year; "
            "pass periods_per_year explicitly."
        )
    try:
        base = _BARS_PER_YEAR_AT_COMPRESSION_1[int(timeframe)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"Unknown timeframe {timeframe!r}; expected a bt.TimeFrame constant "
            "(Seconds=3, Minutes=4, Days=5, Weeks=6, Months=7, Years=8)."
        ) from None
    return base / int(compression)


def _as_1d_finite(values: npt.ArrayLike, argname: str) -> np.ndarray:
    """Convert ``values`` to a 1-D float array and reject NaN and infinity."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{argname} must be one-dimensional, got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{argname} contains NaN or infinite values.")
    return arr


def _sharpe(r: np.ndarray, ppy: float) -> float:
    if r.size < 2:
        return math.nan
    mean = float(np.mean(r))
    std = float(np.std(r, ddof=1))
    if std == 0.0:
        return 0.0 if mean == 0.0 else math.nan
    return mean / std * math.sqrt(ppy)


def _sortino(r: np.ndarray, ppy: float) -> float:
    if r.size < 2:
        return math.nan
    mean = float(np.mean(r))
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    if downside == 0.0:
        return 0.0 if mean == 0.0 else math.nan
    return mean / downside * math.sqrt(ppy)


def _max_drawdown(v: np.ndarray) -> float:
    if v.size == 0:
        return math.nan
    peaks = np.maximum.accumulate(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = 1.0 - v / peaks
    return float(np.max(falls))


def _annual_return(total: float, n_returns: int, ppy: float) -> float:
    if n_returns < 1 or math.isnan(total) or total <= -1.0:
        return math.nan
    with np.errstate(over="ignore"):
        growth = np.power(np.float64(1.0 + total), ppy / n_returns)
    return float(growth) - 1.0


def _profit_factor(pnls: np.ndarray) -> float:
    if pnls.size == 0:
        return math.nan
    gross_win = float(np.sum(pnls[pnls > 0]))
    gross_loss = -float(np.sum(pnls[pnls < 0]))
    if gross_win == 0.0:
        return 0.0
    if gross_loss == 0.0:
        return math.inf
    return gross_win / gross_loss


def _sqn(pnls: np.ndarray) -> float:
    if pnls.size < 2:
        return math.nan
    std = float(np.std(pnls, ddof=1))
    if std == 0.0:
        return math.nan
    return math.sqrt(pnls.size) * float(np.mean(pnls)) / std


def compute_metrics(
    equity: np.ndarray,
    trade_pnls: np.ndarray,
    periods_per_year: float,
    start_value: float | None = None,
) -> dict[str, float]:
    """Compute every built-in metric from an equity curve and the closed trades.

    The module docstring defines each metric and its edge cases.

    Args:
        equity: Portfolio value at the close of each measured bar (1-D, finite).
        trade_pnls: Net profit or loss of each closed trade (1-D, finite; may be empty).
        periods_per_year: Bars per year used to annualise, e.g. from :func:`periods_per_year`.
        start_value: Portfolio value before the first measured bar. When ``None``, ``equity[0]`` is the
            starting value and returns are taken from ``equity[1]`` on.

    Returns:
        A dict with one plain ``float`` per name in :data:`METRICS`, in that order. Undefined values are
        ``nan``; ``profit_factor`` (and in extreme cases ``annual_return``/``calmar_ratio``) may be
        ``inf``.

    Raises:
        ValueError: If an array is not one-dimensional or holds NaN/inf, if ``start_value`` is not
            finite, or if ``periods_per_year`` is not a positive finite number.

    Example:
        >>> m = compute_metrics(np.array([110.0, 99.0, 121.0]), np.array([21.0]), 252, start_value=100.0)
        >>> round(m["total_return"], 4), round(m["max_drawdown"], 4), m["n_trades"]
        (0.21, 0.1, 1.0)
    """
    ppy = float(periods_per_year)
    if not math.isfinite(ppy) or ppy <= 0.0:
        raise ValueError(f"periods_per_year must be a positive finite number, got {periods_per_year!r}.")
    eq = _as_1d_finite(equity, "equity")
    pnls = _as_1d_finite(trade_pnls, "trade_pnls")
    if start_value is None:
        values = eq
    else:
        start = float(start_value)
        if not math.isfinite(start):
            raise ValueError(f"start_value must be finite, got {start_value!r}.")
        values = np.concatenate(([start], eq))

    n_returns = max(values.size - 1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = values[1:] / values[:-1] - 1.0 if n_returns else np.empty(0)
        total = float(values[-1] / values[0] - 1.0) if n_returns else math.nan

    annual = _annual_return(total, n_returns, ppy)
    max_dd = _max_drawdown(values)
    if max_dd == 0.0 or math.isnan(max_dd) or math.isnan(annual):
        calmar = math.nan
    else:
        calmar = annual / max_dd

    result = {
        "sharpe_ratio": _sharpe(returns, ppy),
        "sortino_ratio": _sortino(returns, ppy),
        "calmar_ratio": calmar,
        "total_return": total,
        "annual_return": annual,
        "max_drawdown": max_dd,
        "win_rate": float(np.mean(pnls > 0)) if pnls.size else math.nan,
        "profit_factor": _profit_factor(pnls),
        "sqn": _sqn(pnls),
        "n_trades": float(pnls.size),
    }
    return {name: float(result[name]) for name in METRICS}
