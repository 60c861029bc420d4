"""Walk-forward statistics (pure numpy/pandas): stitching, parameter stability, efficiency and the verdict.

These are functions of the per-window results only; the run that produces them is :mod:`bt_optimize.walkforward`.
This module imports nothing from ``bt_optimize``.
"""

from __future__ import annotations

import json
import math
import numbers
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CV_THRESHOLD", "MODE_SHARE_THRESHOLD", "EFFICIENCY_THRESHOLD", "stitch_equity", "parameter_stability",
           "walk_forward_efficiency", "verdict"]

#: A numeric parameter whose chosen values have a coefficient of variation (population standard deviation over
#: the absolute mean) above this across windows is flagged unstable.
CV_THRESHOLD = 0.5

#: A non-numeric parameter whose most frequent chosen value is picked in fewer than this share of the windows is
#: flagged unstable.
MODE_SHARE_THRESHOLD = 0.5

#: The verdict calls a strategy robust when the walk-forward efficiency (mean OOS annual return over mean IS
#: annual return) reaches this; 0.5 to 0.6 is the usual rule of thumb.
EFFICIENCY_THRESHOLD = 0.5


def stitch_equity(curves: Sequence[tuple[Sequence[Sequence[Any]], float]],
                  initial_capital: float | None = None) -> tuple[pd.Series, list[float]]:
    """Chain per-window equity curves into one, carrying the capital over.

    Window ``i``'s values are multiplied by ``C_i / S_i``: ``S_i`` is its starting value, ``C_i`` the stitched
    value at the end of window ``i - 1`` (``C_0`` is ``initial_capital``, by default ``S_0``). Each bar's return
    is therefore the window's own return on that bar. Exact for position sizes proportional to the account
    value; see :mod:`bt_optimize.walkforward`.

    Args:
        curves: Per window, ``(equity, start_value)`` with ``equity`` as ``[[iso datetime, value], ...]`` (the
            Performance analyzer's ``keep_series`` format) in time order.
        initial_capital: Capital at the start of the first window.

    Returns:
        The stitched curve (a ``Series`` on a ``DatetimeIndex``) and the scale factor of each window.

    Raises:
        ValueError: a window's start value is not positive, or the windows' times overlap.

    Example:
        >>> s, f = stitch_equity([([["2020-01-01", 110.0]], 100.0), ([["2020-01-02", 90.0]], 100.0)])
        >>> list(s.round(6)), f
        ([110.0, 99.0], [1.0, 1.1])
    """
    values: list[float] = []
    stamps: list[Any] = []
    factors: list[float] = []
    capital = None if initial_capital is None else float(initial_capital)
    for i, (equity, start) in enumerate(curves):
        start = float(start)
        if not start > 0:
            raise ValueError(f"window {i} starts with a value of {start}; the capital cannot be carried over")
        if capital is None:
            capital = start
        f = capital / start
        factors.append(f)
        for stamp, v in equity:
            stamps.append(stamp)
            values.append(float(v) * f)
        if equity:
            capital = values[-1]
    idx = pd.DatetimeIndex(pd.to_datetime(stamps), name="datetime")
    if idx.has_duplicates or not idx.is_monotonic_increasing:
        raise ValueError("the windows' equity curves overlap in time; test stretches must not overlap")
    return pd.Series(values, index=idx, name="oos_equity", dtype=float), factors


def _key(v: Any) -> str:
    """A canonical text form of a parameter value (numpy numbers as Python ones), for counting equal values."""
    return json.dumps(v.item() if isinstance(v, np.generic) else v, sort_keys=True, default=repr)


def _is_number(v: Any) -> bool:
    return isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_))


def parameter_stability(params: Sequence[dict[str, Any]], cv_threshold: float = CV_THRESHOLD,
                        mode_threshold: float = MODE_SHARE_THRESHOLD) -> pd.DataFrame:
    """How much each parameter's chosen value moves across windows.

    A parameter whose chosen values are all numbers gets the coefficient of variation ``cv = std / |mean|``
    (population standard deviation, ``ddof=0``; ``inf`` when the mean is 0 and the values differ) and is flagged
    ``unstable`` when ``cv > cv_threshold``. Any other parameter is flagged when its most frequent value
    (``mode``; ties go to the earliest window's value) is chosen in fewer than ``mode_threshold`` of the windows.
    ``mode`` and ``mode_share`` are reported for every parameter.

    Args:
        params: The chosen parameters of each window, in window order.
        cv_threshold: Flag numeric parameters above this coefficient of variation.
        mode_threshold: Flag other parameters whose mode share is below this.

    Returns:
        One row per parameter: ``param``, ``kind`` (``"numeric"``/``"categorical"``), ``mean``, ``std``, ``cv``,
        ``mode``, ``mode_share``, ``unstable``.

    Example:
        >>> df = parameter_stability([{"fast": 10, "ma": "sma"}, {"fast": 30, "ma": "ema"}, {"fast": 20, "ma": "sma"}])
        >>> df.loc[0, "cv"].round(4), df.loc[1, "mode"], df.loc[1, "mode_share"].round(4)
        (np.float64(0.4082), 'sma', np.float64(0.6667))
    """
    names: list[str] = []
    for p in params:
        names += [k for k in p if k not in names]
    rows = []
    for name in names:
        vals = [p.get(name) for p in params]
        counts = Counter(_key(v) for v in vals)
        top_key, top_n = counts.most_common(1)[0] if counts else (None, 0)
        mode = next((v for v in vals if _key(v) == top_key), None)
        share = top_n / len(vals) if vals else math.nan
        if vals and all(_is_number(v) for v in vals):
            arr = np.asarray(vals, dtype=float)
            mean, std = float(arr.mean()), float(arr.std())
            cv = std / abs(mean) if mean != 0 else (0.0 if std == 0 else math.inf)
            rows.append({"param": name, "kind": "numeric", "mean": mean, "std": std, "cv": cv, "mode": mode,
                         "mode_share": share, "unstable": bool(cv > cv_threshold)})
        else:
            rows.append({"param": name, "kind": "categorical", "mean": math.nan, "std": math.nan, "cv": math.nan,
                         "mode": mode, "mode_share": share, "unstable": bool(share < mode_threshold)})
    cols = ["param", "kind", "mean", "std", "cv", "mode", "mode_share", "unstable"]
    return pd.DataFrame(rows, columns=cols)


def walk_forward_efficiency(is_values: Sequence[float | None], oos_values: Sequence[float | None],
                            maximize: bool = True) -> float:
    """Walk-forward efficiency: ``mean(OOS) / mean(IS)`` over the windows where both values are finite.

    Applied to annualised returns this is the classic efficiency (1: the OOS keeps all of the in-sample return,
    0.5: half of it, negative: it loses money). For a minimised quantity (``maximize=False``, e.g. drawdown) the
    ratio is inverted, ``mean(IS) / mean(OOS)``, so that 1 still means "as good as in sample" and less is worse.

    Returns:
        The ratio; ``nan`` when no window has both values, or when the denominator is not positive (a ratio to a
        losing or zero in-sample result says nothing).

    Example:
        >>> walk_forward_efficiency([0.20, 0.10], [0.10, 0.05])
        0.5
    """
    pairs = [(float(a), float(b)) for a, b in zip(is_values, oos_values)
             if a is not None and b is not None and math.isfinite(float(a)) and math.isfinite(float(b))]
    if not pairs:
        return math.nan
    m_is = float(np.mean([a for a, _ in pairs]))
    m_oos = float(np.mean([b for _, b in pairs]))
    num, den = (m_oos, m_is) if maximize else (m_is, m_oos)
    return num / den if den > 0 else math.nan


def verdict(*, n_windows: int, oos_total_return: float, efficiency: float, profitable_windows: int,
            unstable: Sequence[str]) -> str:
    """A plain-language reading of a walk-forward result.

    Rules, in order: fewer than 3 windows is called too few to judge; a stitched OOS total return <= 0 "fails
    out of sample"; otherwise an efficiency >= :data:`EFFICIENCY_THRESHOLD` "holds up", a lower positive one
    "degrades", an undefined one (in-sample annual return not positive) is said so. Then how many test windows
    were profitable, and which parameters are unstable (see :func:`parameter_stability`).

    Example:
        >>> verdict(n_windows=4, oos_total_return=0.2, efficiency=0.8, profitable_windows=3, unstable=[])[:30]
        'Holds up out of sample: the st'
    """
    parts = []
    if not math.isfinite(oos_total_return) or oos_total_return <= 0:
        parts.append(f"Fails out of sample: the stitched out-of-sample result is {oos_total_return:+.1%}.")
    elif math.isfinite(efficiency) and efficiency >= EFFICIENCY_THRESHOLD:
        parts.append(f"Holds up out of sample: the stitched out-of-sample result is {oos_total_return:+.1%} and "
                     f"the windows keep {efficiency:.0%} of their in-sample annual return (walk-forward efficiency "
                     f"{efficiency:.2f} >= {EFFICIENCY_THRESHOLD}).")
    elif math.isfinite(efficiency):
        parts.append(f"Degrades out of sample: the stitched out-of-sample result is {oos_total_return:+.1%}, but "
                     f"the windows keep only {efficiency:.0%} of their in-sample annual return (walk-forward "
                     f"efficiency {efficiency:.2f} < {EFFICIENCY_THRESHOLD}).")
    else:
        parts.append(f"The stitched out-of-sample result is {oos_total_return:+.1%}; the walk-forward efficiency is "
                     "undefined because the in-sample annual return is not positive.")
    parts.append(f"{profitable_windows} of {n_windows} test windows were profitable.")
    if unstable:
        parts.append(f"Unstable parameters across windows: {', '.join(unstable)} (coefficient of variation above "
                     f"{CV_THRESHOLD} or most frequent value in under {MODE_SHARE_THRESHOLD:.0%} of windows): the "
                     "optimum moves, so the chosen values are probably fitted to noise.")
    else:
        parts.append("The chosen parameters are stable across windows.")
    if n_windows < 3:
        parts.insert(0, f"Only {n_windows} window{'s' if n_windows != 1 else ''}: too few to judge reliably.")
    return " ".join(parts)
