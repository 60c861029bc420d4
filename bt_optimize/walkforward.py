"""Walk-forward optimization: optimize on one stretch, pick on the next, trade the one after, roll forward.

The entry point is :meth:`bt_optimize.Cerebro.walk_forward`; this module holds the parts it composes:

- :func:`make_windows` (pure): the windows, from the first feed's datetimes, in bar positions.
- :func:`run_walk_forward`: per window, a full ``optimize_*`` study on the train stretch, re-scoring of the best
  :data:`TOP_K` candidates on the validation stretch, and one run of the pick on the test stretch.
- :func:`stitch_equity`, :func:`parameter_stability`, :func:`walk_forward_efficiency`, :func:`verdict` (pure):
  the stitched out-of-sample (OOS) result and its diagnostics.
- :class:`WalkForward`: what the user reads (``windows``, ``oos_equity``, ``oos_trades``, ``summary``, ``plot``).

Windows
-------
Sizes (``train``, ``validation``, ``test``, ``step``) are all whole numbers of bars, or all calendar offsets
(``"3Y"``, ``"6M"``, ``"2W"``, ``"10D"``, ``"4h"``, ``"30min"``, a ``pandas.DateOffset(years=..., months=...)`` or
a ``Timedelta``). The first ``warmup`` bars of the data are only ever fed as warmup: the first train stretch starts
at bar ``warmup``, so every stretch, the first one included, has ``warmup`` bars of history before it. With
offsets, stretch boundaries are ``t0 + k`` for sums ``k`` of the sizes, with ``t0`` the time of bar ``warmup``,
and a boundary is the first bar at or after that time.

Window ``i`` (from 0), rolling::

    train      [t0 + i*step,                    t0 + i*step + train)
    validation [t0 + i*step + train,            t0 + i*step + train + validation)
    test       [t0 + i*step + train + validation, ... + test)

Anchored (expanding) windows keep every train stretch starting at ``t0``. ``step`` must equal ``test`` (it
defaults to it): the test stretches are then contiguous and never overlap, which is what makes one stitched
OOS curve meaningful. Windows are checked at construction (:func:`check_windows`): train < validation < test in
time, no overlap, test stretches back to back.

The last window: when the data ends inside a test stretch, that window is kept with its test stretch cut at the
last bar (``partial=True``) if the cut stretch still holds at least ``min_last_test`` of a full one (a share of
the bars for bar sizes, of the time for offsets; default 0.5), and dropped otherwise. Data too short for even
one window raises :class:`~bt_optimize.DataError` saying how much is needed.

Several feeds: positions and boundaries come from the first feed; the other feeds are cut by time to the same
stretches (the engine's window semantics).

Selection, no look-ahead
------------------------
Each stretch runs on sliced copies of the study's preloaded feeds that end at the stretch's last bar, with
``warmup`` bars before its first: no order, no analyzer and no metric sees anything before the stretch, and
nothing after it exists in the run. Per window: the chosen ``optimize_*`` method searches the train stretch; with
a validation stretch the :data:`TOP_K` best distinct train candidates run on it and the best validation value
wins (ties: the better train rank; when no candidate gives a finite validation value, the train best is kept);
without one (or with ``select="train"``) the train best is the pick. The pick then runs once on the test stretch.

Windows run one after another (window ``i + 1`` never starts before window ``i`` has finished); the trials of
each window's search, and its validation candidates, run in parallel through the Cerebro's executor
(``maxcpus``). The test run is a single backtest in the main process.

Storage and resume
------------------
With ``storage``, the walk-forward keeps, under its ``study_name``: a manifest study ``study_name`` (no trials;
its set-up records the windows, method and selection, so resuming with other windows or data raises
:class:`~bt_optimize.StudyMismatchError`), and per window ``study_name/w{i}`` (the search on train),
``study_name/w{i}/validation`` and ``study_name/w{i}/test``. Every finished trial is committed at once, so a
killed run resumes at the window and trial where it stopped and runs nothing twice. (Each window's search
still re-reads the data and starts its workers, also when it has nothing left to run.)

Stitched OOS equity
-------------------
Every test run starts from the broker's starting cash, flat. The curves are chained with capital carried over:
window ``i``'s curve is multiplied by ``C_i / S_i``, where ``S_i`` is its starting cash and ``C_i`` the stitched
value at the end of window ``i - 1`` (``C_0 = S_0``). This is exact when position sizes are proportional to
the account value (e.g. ``bt.sizers.PercentSizer``) and commissions are proportional to traded value; with fixed
stakes or fixed per-order fees it is an approximation that compounds each window's returns. A position still
open at the end of a test stretch is valued at the last close and not carried into the next window (each
window starts flat), and it is not among the trades. Trade P&L is scaled by the same factor; each trade's
``return`` (P&L over the account value at the close before it opened) is unaffected by the scaling.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import math
import numbers
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from .engine.executors import Executor, SerialExecutor, make_executor
from .exceptions import AllTrialsFailedError, DataError, SpaceError, StudyMismatchError
from .objective import Objective
from .search.base import Search
from .space import Space, params_key
from .stats.metrics import compute_metrics, periods_per_year
from .storage.base import Storage
from .study import Study
from .trial import Trial, TrialState, Window

__all__ = [
    "TOP_K",
    "CV_THRESHOLD",
    "MODE_SHARE_THRESHOLD",
    "EFFICIENCY_THRESHOLD",
    "WalkForwardWindow",
    "make_windows",
    "check_windows",
    "stitch_equity",
    "parameter_stability",
    "walk_forward_efficiency",
    "verdict",
    "WalkForward",
    "run_walk_forward",
]

#: Number of the best distinct train candidates re-scored on the validation stretch of each window.
TOP_K = 5

#: A numeric parameter whose chosen values have a coefficient of variation (population standard deviation over
#: the absolute mean) above this across windows is flagged unstable.
CV_THRESHOLD = 0.5

#: A non-numeric parameter whose most frequent chosen value is picked in fewer than this share of the windows is
#: flagged unstable.
MODE_SHARE_THRESHOLD = 0.5

#: The verdict calls a strategy robust when the walk-forward efficiency (mean OOS annual return over mean IS
#: annual return) reaches this; 0.5 to 0.6 is the usual rule of thumb.
EFFICIENCY_THRESHOLD = 0.5

_SELECT = ("validation", "train")
_FACADE_OWNED = frozenset({"strategy", "objective", "maximize", "storage", "study_name", "progress", "window",
                           "keep_series", "executor"})


# ---------------------------------------------------------------------------------------------------- sizes
@dataclass(frozen=True)
class _Span:
    """A calendar size: whole months plus a fixed duration (sums commute, so boundaries never drift)."""

    months: int = 0
    delta: pd.Timedelta = pd.Timedelta(0)

    def __add__(self, other: _Span) -> _Span:
        return _Span(self.months + other.months, self.delta + other.delta)

    def __mul__(self, k: int) -> _Span:
        return _Span(self.months * k, self.delta * k)

    __rmul__ = __mul__

    @property
    def is_zero(self) -> bool:
        return self.months == 0 and self.delta == pd.Timedelta(0)

    def after(self, t: pd.Timestamp) -> pd.Timestamp:
        return t + pd.DateOffset(months=self.months) + self.delta


_UNITS: dict[str, tuple[str, int]] = {
    "Y": ("months", 12), "y": ("months", 12), "M": ("months", 1), "W": ("days", 7), "w": ("days", 7),
    "D": ("days", 1), "d": ("days", 1), "h": ("hours", 1), "H": ("hours", 1), "min": ("minutes", 1),
    "T": ("minutes", 1),
}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([A-Za-z]+)\s*$")
_OFFSET_KWDS = {"years": 12, "months": 1}
_DELTA_KWDS = ("weeks", "days", "hours", "minutes", "seconds")


def _parse_size(value: Any, name: str, allow_zero: bool = False) -> int | _Span:
    """A size in bars (int) or a calendar :class:`_Span`.

    Raises:
        DataError: an unsupported or non-positive size.
    """
    how = ("a whole number of bars (e.g. 250) or a pandas offset such as '3Y', '6M', '2W', '10D', '4h', '30min'"
           " or pd.DateOffset(years=1)")
    if isinstance(value, bool):
        raise DataError(f"{name}={value!r}: give {how}")
    if isinstance(value, numbers.Integral):
        bars = int(value)
        if bars < 0 or (bars == 0 and not allow_zero):
            raise DataError(f"{name}={value!r}: give a positive number of bars")
        return bars
    span: _Span | None = None
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m is None or m.group(2) not in _UNITS:
            hint = " ('m' is ambiguous: use 'M' for months or 'min' for minutes)" if m and m.group(2) == "m" else ""
            raise DataError(f"{name}={value!r} is not a size{hint}; give {how}")
        unit, mult = _UNITS[m.group(2)]
        k = int(m.group(1)) * mult
        span = _Span(months=k) if unit == "months" else _Span(delta=pd.Timedelta(**{unit: k}))
    elif type(value) is pd.DateOffset:
        kw = dict(value.kwds)
        bad = [k for k in kw if k not in _OFFSET_KWDS and k not in _DELTA_KWDS]
        if bad or value.n < 0:
            raise DataError(f"{name}={value!r}: only relative offsets (years, months, weeks, days, hours, minutes, "
                            f"seconds) are supported; give {how}")
        months = sum(int(kw.get(k, 0)) * f for k, f in _OFFSET_KWDS.items()) * value.n
        delta = sum((pd.Timedelta(**{k: kw[k]}) for k in _DELTA_KWDS if k in kw), pd.Timedelta(0)) * value.n
        span = _Span(months, delta)
    elif isinstance(value, (pd.Timedelta, _dt.timedelta, np.timedelta64)):
        span = _Span(delta=pd.Timedelta(value))
    if span is None:
        raise DataError(f"{name}={value!r}: give {how}")
    if span.months < 0 or span.delta < pd.Timedelta(0) or (span.is_zero and not allow_zero):
        raise DataError(f"{name}={value!r}: give a positive size")
    return span


# ---------------------------------------------------------------------------------------------------- windows
@dataclass(frozen=True)
class WalkForwardWindow:
    """One walk-forward window, in bar positions of the first feed (every end is exclusive).

    Attributes:
        index: Window number, from 0.
        train_start, train_end: The train (in-sample search) stretch.
        validation_start, validation_end: The validation stretch (empty, both equal to ``train_end``, when
            there is none).
        test_start, test_end: The out-of-sample test stretch (``test_start == validation_end``).
        warmup: Bars fed before each stretch to prime indicators.
        partial: The test stretch's nominal end lies after the last bar, so it was cut at the end of the data.

    Raises:
        DataError: the stretches are out of order, overlap or leave a gap, or one of them is empty.
    """

    index: int
    train_start: int
    train_end: int
    validation_start: int
    validation_end: int
    test_start: int
    test_end: int
    warmup: int = 0
    partial: bool = False

    def __post_init__(self) -> None:
        ok = (0 <= self.train_start < self.train_end == self.validation_start <= self.validation_end
              == self.test_start < self.test_end) and self.warmup >= 0
        if not ok:
            raise DataError(f"{self}: a window needs train < validation < test in time, back to back, with no "
                            "overlap and at least one bar in train and test")

    @property
    def has_validation(self) -> bool:
        """Whether the window has a validation stretch."""
        return self.validation_end > self.validation_start

    @property
    def train(self) -> Window:
        """The train stretch as an engine :class:`~bt_optimize.Window`."""
        return Window(self.train_start, self.train_end, self.warmup)

    @property
    def validation(self) -> Window | None:
        """The validation stretch as a :class:`~bt_optimize.Window` (``None`` when there is none)."""
        return Window(self.validation_start, self.validation_end, self.warmup) if self.has_validation else None

    @property
    def test(self) -> Window:
        """The test stretch as a :class:`~bt_optimize.Window`."""
        return Window(self.test_start, self.test_end, self.warmup)

    def to_dict(self) -> dict[str, Any]:
        """Plain form (for storage and comparisons)."""
        return {"index": self.index, "train": [self.train_start, self.train_end],
                "validation": [self.validation_start, self.validation_end], "test": [self.test_start, self.test_end],
                "warmup": self.warmup, "partial": self.partial}


def check_windows(windows: Sequence[WalkForwardWindow], n_bars: int | None = None) -> None:
    """Check a list of windows: numbered 0, 1, ...; test stretches contiguous and non-overlapping; only the last
    window partial; every stretch inside the data; train starts never move backwards.

    Each window's own order (train < validation < test, no overlap) is checked when it is constructed.

    Raises:
        DataError: the first rule broken, naming the windows.
    """
    if not windows:
        raise DataError("no walk-forward window")
    for i, w in enumerate(windows):
        if w.index != i:
            raise DataError(f"window {i} is numbered {w.index}; windows must be numbered 0, 1, 2, ...")
        if n_bars is not None and w.test_end > n_bars:
            raise DataError(f"window {i} ends at bar {w.test_end}, after the data's {n_bars} bars")
        if w.partial and i != len(windows) - 1:
            raise DataError(f"window {i} is partial but is not the last window")
        if i:
            prev = windows[i - 1]
            if w.test_start != prev.test_end:
                what = "overlaps" if w.test_start < prev.test_end else "leaves a gap after"
                raise DataError(f"the test stretch of window {i} (bars {w.test_start}-{w.test_end}) {what} the one "
                                f"of window {i - 1} (bars {prev.test_start}-{prev.test_end}); out-of-sample stretches "
                                "must be contiguous and must not overlap")
            if w.train_start < prev.train_start:
                raise DataError(f"the train stretch of window {i} starts before the one of window {i - 1}")


def _fmt_size(value: Any) -> str:
    return f"{value} bars" if isinstance(value, numbers.Integral) else repr(value)


def make_windows(index: pd.DatetimeIndex | Sequence[Any] | int, *, train: Any, test: Any, validation: Any = None,
                 step: Any = None, anchored: bool = False, warmup: int = 0,
                 min_last_test: float = 0.5) -> list[WalkForwardWindow]:
    """Generate the walk-forward windows over a series of bar times (a pure function).

    See the module docstring for the layout, the warmup, offsets and the last partial window.

    Args:
        index: The first feed's bar times (anything ``pandas.DatetimeIndex`` accepts, increasing), or just the
            number of bars when every size is in bars.
        train: Train stretch size: bars (``int``) or an offset (``"3Y"``, ``pd.DateOffset(months=6)``, ...).
        test: Test stretch size, same kind as ``train``.
        validation: Validation stretch size (``None`` or 0: none).
        step: How far each window moves; must equal ``test`` (the default) so that the test stretches are
            contiguous and do not overlap.
        anchored: ``False``: rolling train stretches of fixed size; ``True``: every train stretch starts at the
            first usable bar (expanding).
        warmup: Bars fed before every stretch to prime indicators; the data's first ``warmup`` bars are never
            measured.
        min_last_test: Keep a last window whose test stretch the data cuts short when it holds at least this
            share (0 to 1) of a full one.

    Returns:
        The windows, numbered from 0.

    Raises:
        DataError: bad sizes (mixed bars and offsets, ``step`` different from ``test``, a stretch with no bar), or
            data too short for one window (the message says how much is needed).

    Example:
        >>> [(w.train_start, w.test_start, w.test_end, w.partial) for w in make_windows(1000, train=500, test=200)]
        [(0, 500, 700, False), (200, 700, 900, False), (400, 900, 1000, True)]
    """
    if isinstance(index, numbers.Integral) and not isinstance(index, bool):
        n, dts = int(index), None
    else:
        dts = pd.DatetimeIndex(index)
        n = len(dts)
        if n > 1 and not dts.is_monotonic_increasing:
            raise DataError("the bar times are not in increasing order")
    tr = _parse_size(train, "train")
    te = _parse_size(test, "test")
    va = _parse_size(0 if validation is None else validation, "validation", allow_zero=True)
    st = te if step is None else _parse_size(step, "step")
    sizes = {"train": tr, "test": te, "step": st}
    raw = {"train": train, "test": test, "step": test if step is None else step, "validation": validation}
    if not (isinstance(va, int) and va == 0):
        sizes["validation"] = va
    kinds = {type(v) for v in sizes.values()}
    if len(kinds) > 1:
        raise DataError("give every size (train, validation, test, step) in bars, or every size as an offset such "
                        f"as '1Y'; got {', '.join(f'{k}={_fmt_size(raw[k])}' for k in sizes)}")
    time_mode = _Span in kinds
    if time_mode and isinstance(va, int):
        va = _Span()
    if st != te:
        raise DataError(f"step={step!r} differs from test={test!r}: the out-of-sample test stretches must be "
                        "contiguous and must not overlap, so each window moves by exactly one test stretch; leave "
                        "step out (it defaults to test)")
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Integral) or warmup < 0:
        raise DataError(f"warmup={warmup!r}: give a whole number of bars >= 0")
    warmup = int(warmup)
    if isinstance(min_last_test, bool) or not isinstance(min_last_test, (int, float)) or not 0 <= min_last_test <= 1:
        raise DataError(f"min_last_test={min_last_test!r}: give a share from 0 to 1")
    if time_mode and dts is None:
        raise DataError("offset sizes such as '1Y' need the bar times; pass the datetimes, not a bar count")

    def too_short() -> DataError:
        pct = f"{min_last_test:.0%} of " if min_last_test < 1 else ""
        if not time_mode:
            need = warmup + tr + va + max(1, math.ceil(min_last_test * te))  # type: ignore[operator]
            return DataError(
                f"walk-forward needs at least {need} bars for one window (warmup {warmup} + train {tr} + validation "
                f"{va} + {pct}test {te}); the data has {n} bars. Load more data or shorten train, validation, test "
                "or warmup")
        daily = bool((dts == dts.normalize()).all())  # type: ignore[union-attr]

        def fmt(t: pd.Timestamp) -> str:
            return str(t.ceil("D").date()) if daily else str(t)

        if n <= warmup:
            return DataError(f"walk-forward needs more than warmup={warmup} bars; the data has {n} bars")
        t0 = dts[warmup]  # type: ignore[index]
        t_s = (tr + va).after(t0)  # type: ignore[operator,union-attr]
        t_e = (tr + va + te).after(t0)  # type: ignore[operator,union-attr]
        need_t = t_s + (t_e - t_s) * max(min_last_test, 1e-9)
        val_txt = f" + validation {validation!r}" if sizes.get("validation") is not None else ""
        return DataError(
            f"walk-forward needs data from {fmt(dts[0])} through about {fmt(need_t)} for one window (warmup "  # type: ignore[index]
            f"{warmup} bars, then train {train!r}{val_txt} + {pct}test {test!r}); the data runs from "
            f"{fmt(dts[0])} to {fmt(dts[-1])} ({n} bars). Load more data or shorten the sizes")  # type: ignore[index]

    if n <= warmup:
        raise too_short()
    if time_mode:
        t0 = dts[warmup]  # type: ignore[index]
        last = dts[-1]  # type: ignore[index]
        spacing = (dts[1:] - dts[:-1]).median() if n > 1 else pd.Timedelta(0)  # type: ignore[index]

        def loc(span: Any) -> tuple[int, bool, pd.Timestamp]:
            t = span.after(t0)
            return int(dts.searchsorted(t, "left")), bool(t > last), t  # type: ignore[union-attr]
    else:
        def loc(span: Any) -> tuple[int, bool, pd.Timestamp]:
            pos = warmup + span
            return min(pos, n), pos > n, pd.NaT

    zero = _Span() if time_mode else 0
    out: list[WalkForwardWindow] = []
    i = 0
    while True:
        base = st * i
        tr_s = loc(zero)[0] if anchored else loc(base)[0]
        tr_e = loc(base + tr)[0]
        va_e = loc(base + tr + va)[0]
        te_e, beyond, t_end = loc(base + tr + va + te)
        if va_e >= n:
            break
        if tr_e <= tr_s:
            raise DataError(f"the train stretch of window {i} holds no bar: train={train!r} is shorter than the "
                            "spacing of the bars")
        if va != zero and va_e <= tr_e:
            raise DataError(f"the validation stretch of window {i} holds no bar: validation={validation!r} is shorter "
                            "than the spacing of the bars")
        if te_e <= va_e:
            raise DataError(f"the test stretch of window {i} holds no bar: test={test!r} is shorter than the spacing "
                            "of the bars")
        if beyond:
            if time_mode:
                t_s = loc(base + tr + va)[2]
                share = min(1.0, (last + spacing - t_s) / (t_end - t_s))
            else:
                share = (n - va_e) / te  # type: ignore[operator]
            if share < min_last_test or share <= 0:
                break
        out.append(WalkForwardWindow(i, tr_s, tr_e, tr_e, va_e, va_e, te_e, warmup, partial=beyond))
        if beyond or te_e >= n:
            break
        i += 1
    if not out:
        raise too_short()
    check_windows(out, n)
    return out


# ---------------------------------------------------------------------------------------------------- pure stats
def stitch_equity(curves: Sequence[tuple[Sequence[Sequence[Any]], float]],
                  initial_capital: float | None = None) -> tuple[pd.Series, list[float]]:
    """Chain per-window equity curves into one, carrying the capital over.

    Window ``i``'s values are multiplied by ``C_i / S_i``: ``S_i`` is its starting value, ``C_i`` the stitched
    value at the end of window ``i - 1`` (``C_0`` is ``initial_capital``, by default ``S_0``). Each bar's return
    is therefore the window's own return on that bar. Exact for position sizes proportional to the account
    value; see the module docstring.

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
        counts = Counter(params_key({"v": v}) for v in vals)
        top_key, top_n = counts.most_common(1)[0] if counts else (None, 0)
        mode = next((v for v in vals if params_key({"v": v}) == top_key), None)
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


# ---------------------------------------------------------------------------------------------------- results
class WalkForward:
    """The result of :meth:`bt_optimize.Cerebro.walk_forward`.

    Attributes:
        windows: One row per window: ``window``, ``partial``, the ``train``/``validation``/``test`` ``_start`` and
            ``_end`` (times of each stretch's first and last bar; validation ``NaT`` when there is none),
            ``n_trials`` of the train search, ``params_<name>`` of the pick, ``is_value`` (objective on train),
            ``validation_value``, ``oos_value`` (objective on test), ``is_annual_return``, ``oos_annual_return``,
            ``oos_total_return``, ``oos_max_drawdown``, ``oos_n_trades``, ``degradation`` (``oos_value -
            is_value``) and ``efficiency`` (``oos_annual_return / is_annual_return``, ``NaN`` unless the latter
            is positive).
        oos_equity: The stitched out-of-sample equity curve (capital carried over; see the module docstring).
        oos_trades: The out-of-sample closed trades: ``window``, ``open``, ``barlen``, ``pnl``, ``pnlcomm`` (both
            scaled like the equity), ``return`` (P&L over the account value before the trade opened).
        buy_and_hold: The first feed's close over the OOS bars, scaled to start at the same capital.
        summary: ``oos_metrics`` (the built-in metrics of the stitched curve and trades), ``efficiency``
            (``annual_return`` and ``objective``, see :func:`walk_forward_efficiency`), ``is_annual_return`` and
            ``oos_annual_return`` (means over windows), ``stability`` (see :func:`parameter_stability`),
            ``unstable_params``, ``degradation`` (per window IS vs OOS objective), ``profitable_windows``,
            ``n_windows``, ``top_k``, ``select`` and ``verdict`` (plain language).
        definitions: The :class:`WalkForwardWindow` list (bar positions).
        studies: The train :class:`~bt_optimize.Study` of each window.
        validation_studies: Each window's validation study (``None`` when no candidate ran on validation).
        test_studies: Each window's test study (one trial, with ``equity`` and ``trades`` in its metrics).
        objective: The objective used.

    Times are dates (midnight) for daily and longer bars, bar times otherwise.
    """

    def __init__(self, *, windows: pd.DataFrame, oos_equity: pd.Series, oos_trades: pd.DataFrame,
                 buy_and_hold: pd.Series, summary: dict[str, Any], definitions: list[WalkForwardWindow],
                 studies: list[Study], objective: Objective, validation_studies: list[Study | None] | None = None,
                 test_studies: list[Study] | None = None) -> None:
        self.windows = windows
        self.oos_equity = oos_equity
        self.oos_trades = oos_trades
        self.buy_and_hold = buy_and_hold
        self.summary = summary
        self.definitions = definitions
        self.studies = studies
        self.validation_studies = validation_studies or []
        self.test_studies = test_studies or []
        self.objective = objective

    def plot(self, path: str | None = None) -> Any:
        """Draw the windows timeline, IS vs OOS objective per window, and the stitched OOS equity against
        buy-and-hold (see :func:`bt_optimize.plotting.walkforward.plot_walk_forward`).

        Args:
            path: If given, the figure is also saved there (format by extension), without a display.

        Returns:
            The matplotlib ``Figure``.
        """
        from .plotting.walkforward import plot_walk_forward

        return plot_walk_forward(self.windows, self.oos_equity, self.buy_and_hold,
                                 objective=str(self.objective.describe()["objective"]), path=path)

    def report(self, path: str | Path = "walkforward.html", title: str | None = None) -> Path:
        """Write one self-contained HTML page: set-up, the windows table, the stitched out-of-sample equity against
        buy-and-hold, walk-forward efficiency, parameter stability and the verdict (see :mod:`bt_optimize.report`).

        Args:
            path: The HTML file to write.
            title: The page title.

        Returns:
            The path written.

        Example:
            >>> wf.report("wf.html")  # doctest: +SKIP
        """
        from .report import walk_forward_html

        out = Path(path)
        out.write_text(walk_forward_html(self, title=title), encoding="utf-8")
        return out

    def __repr__(self) -> str:
        m = self.summary.get("oos_metrics", {})
        return (f"<WalkForward windows={len(self.windows)} oos_total_return={m.get('total_return', math.nan):.4g} "
                f"efficiency={self.summary.get('efficiency', {}).get('annual_return', math.nan):.3g}>")


# ---------------------------------------------------------------------------------------------------- the run
class _FixedPoints(Search):
    """A search that proposes a fixed list of points once each (validation candidates, the test pick)."""

    name = "fixed"

    def __init__(self, space: Space, points: list[dict[str, Any]]) -> None:
        super().__init__(space, None)
        self._points = list(points)
        self._pos = 0

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        out = self._points[self._pos:self._pos + n]
        self._pos += len(out)
        return out

    @property
    def exhausted(self) -> bool:
        return self._pos >= len(self._points)


def split_kwargs(cerebro: Any, method: str, strategy: type, kwargs: dict[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``walk_forward``'s extra keywords into options of ``optimize_<method>`` and the search space.

    Raises:
        SpaceError: ``window``/``keep_series`` given, or an option of another ``optimize_*`` method that this one
            does not take.
    """
    for owned in ("window", "keep_series"):
        if owned in kwargs:
            raise SpaceError(f"{owned}= is set by walk_forward for every stretch; drop it (use train=, validation=, "
                             "test= and warmup= to shape the windows)")
    methods = available_methods(cerebro)

    def options(m: str) -> set[str]:
        sig = inspect.signature(getattr(cerebro, f"optimize_{m}"))
        return {p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY} - _FACADE_OWNED

    mine = options(method)
    params = getattr(strategy, "params", None)  # a strategy factory has no params to check
    strategy_params = set(params._getkeys()) if hasattr(params, "_getkeys") else set()
    method_kw, space = {}, {}
    run_options = set(bt.Cerebro.params._getkeys()) - strategy_params  # stdstats=..., passed on to optimize_*
    for k, v in kwargs.items():
        if k in mine or k in run_options:
            method_kw[k] = v
            continue
        others = [m for m in methods if m != method and k in options(m)]
        if others and k not in strategy_params:
            raise SpaceError(f"{k}= is not an option of optimize_{method} (it belongs to "
                             f"{', '.join('optimize_' + m for m in others)}); drop it or choose method="
                             f"{others[0]!r}")
        space[k] = v
    return method_kw, space


def available_methods(cerebro: Any) -> list[str]:
    """The search methods a Cerebro offers: every ``optimize_<name>`` method, by name."""
    return sorted(n[len("optimize_"):] for n in dir(cerebro)
                  if n.startswith("optimize_") and callable(getattr(cerebro, n, None)))


def _ranked(study: Study) -> list[Trial]:
    """Complete full-fidelity trials, best first; ties by canonical params (independent of trial numbering)."""
    sign = -1.0 if study.objective.maximize else 1.0
    seen: set[str] = set()
    out = []
    done = [t for t in study.get_trials((TrialState.COMPLETE,)) if t.ok and t.user_attrs.get("fidelity", 1.0) == 1.0]
    for t in sorted(done, key=lambda t: (sign * float(t.value), params_key(t.params))):  # type: ignore[arg-type]
        k = params_key(t.params)
        if k not in seen:
            seen.add(k)
            out.append(t)
    return out


def _fixed_study(train: Study, name: str, kind: str, window: Window, points: list[dict[str, Any]],
                 executor: Executor, keep_series: bool) -> Study:
    study = Study(name=name, space=train.space, objective=train.objective.with_limits(None), strategy=train.strategy,
                  payload=train.payload, storage=train.storage, method=f"walk_forward-{kind}", window=window,
                  progress=False, keep_series=keep_series)
    executor.start(train.payload)
    try:
        study.optimize(_FixedPoints(train.space, points), executor)
    except AllTrialsFailedError:
        pass  # the caller reads the failed trials
    finally:
        executor.close()
    if study.stop_reason == "interrupted":
        raise KeyboardInterrupt
    return study


def _trades_frame(i: int, equity: list[list[Any]], trades: list[dict[str, Any]], start_value: float,
                  factor: float) -> list[dict[str, Any]]:
    pos = {stamp: k for k, (stamp, _) in enumerate(equity)}
    rows = []
    for t in trades:
        k = pos.get(t["open"])
        before = start_value if not k else float(equity[k - 1][1])
        rows.append({"window": i, "open": pd.Timestamp(t["open"]), "barlen": int(t["barlen"]),
                     "pnl": float(t["pnl"]) * factor, "pnlcomm": float(t["pnlcomm"]) * factor,
                     "return": float(t["pnlcomm"]) / before if before > 0 else math.nan})
    return rows


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def run_walk_forward(cerebro: Any, strategy: type, space: Space, *, method: str, method_kwargs: dict[str, Any],
                     windows: list[WalkForwardWindow], dates: pd.DatetimeIndex, objective: Objective, select: str,
                     storage: Storage, study_name: str, top_k: int = TOP_K, progress: bool | None = None,
                     executor: str | Executor | None = None, closes: np.ndarray | None = None,
                     manifest: dict[str, Any] | None = None) -> WalkForward:
    """Run a walk-forward: per window search train, pick (on validation), run the pick on test; then stitch.

    Callers are expected to have validated everything (``Cerebro.walk_forward`` does).

    Args:
        cerebro: The :class:`bt_optimize.Cerebro` whose ``optimize_<method>`` runs each window's search.
        strategy: The strategy class.
        space: The search space.
        method: Search method name (``optimize_<method>`` must exist).
        method_kwargs: Keyword options of that method (``n_trials``, ``seed``, ...).
        windows: From :func:`make_windows`.
        dates: The first feed's bar times.
        objective: The objective.
        select: ``"validation"`` or ``"train"``.
        storage: Where every study of the walk-forward lives.
        study_name: The walk-forward's name; window studies are ``study_name/w{i}`` (and ``/validation``, ``/test``).
        top_k: Train candidates re-scored on validation.
        progress: Progress bars for the train searches.
        executor: As in the ``optimize_*`` methods.
        closes: The first feed's closes (for buy-and-hold).
        manifest: Extra set-up recorded in (and checked against) the manifest study.

    Returns:
        The :class:`WalkForward`.

    Raises:
        StudyMismatchError: the stored walk-forward of that name was set up differently.
        AllTrialsFailedError: every trial of a window's search failed, or the pick failed on a test stretch.
        KeyboardInterrupt: interrupted (everything finished so far is stored).
    """
    config = {"strategy": f"{strategy.__module__}.{strategy.__qualname__}", "space": space.describe(),
              "objective": objective.describe(),
              "method": {"walk_forward": method, "select": select, "top_k": top_k, **(manifest or {}),
                         "data": [str(dates[0]), str(dates[-1]), len(dates)],
                         "windows": [w.to_dict() for w in windows]}}
    try:
        storage.open_study(study_name, config)
    except StudyMismatchError as exc:
        raise StudyMismatchError(
            f"walk-forward {study_name!r} already exists with a different set-up (its strategy, space, objective, "
            "data, windows, method or selection differ). Use another study_name, or delete the stored studies "
            f"{study_name!r} and {study_name!r}/w... to start over") from exc
    optimize = getattr(cerebro, f"optimize_{method}")
    rows: list[dict[str, Any]] = []
    curves: list[tuple[list[list[Any]], float]] = []
    trade_lists: list[list[dict[str, Any]]] = []
    picks: list[dict[str, Any]] = []
    studies: list[Study] = []
    val_studies: list[Study | None] = []
    test_studies: list[Study] = []
    for w in windows:
        i = w.index
        try:
            train = optimize(strategy, window=w.train, objective=objective, storage=storage,
                             study_name=f"{study_name}/w{i}", progress=progress, executor=executor,
                             **method_kwargs, **space.dims)
        except AllTrialsFailedError as exc:
            raise AllTrialsFailedError(f"walk-forward window {i} (train {dates[w.train_start]} to "
                                       f"{dates[w.train_end - 1]}): {exc}") from exc
        if train.stop_reason == "interrupted":
            raise KeyboardInterrupt
        studies.append(train)
        ranked = _ranked(train)
        if not ranked:
            raise AllTrialsFailedError(f"walk-forward window {i}: no trial of the train search completed")
        pick, val_value, val = ranked[0], math.nan, None
        if select == "validation" and w.has_validation:
            cands = ranked[:top_k]
            ex = make_executor(cerebro.p.maxcpus, executor) if len(cands) > 1 else SerialExecutor()
            val = _fixed_study(train, f"{study_name}/w{i}/validation", "validation", w.validation,  # type: ignore
                               [dict(t.params) for t in cands], ex, keep_series=False)
            scored = {params_key(t.params): t.value for t in val.get_trials() if t.ok}
            best_rank = None
            for rank, cand in enumerate(cands):
                v = scored.get(params_key(cand.params))
                if v is None:
                    continue
                if best_rank is None or objective.better(v, scored[params_key(cands[best_rank].params)]):
                    best_rank = rank
            if best_rank is not None:
                pick = cands[best_rank]
                val_value = float(scored[params_key(pick.params)])
        test = _fixed_study(train, f"{study_name}/w{i}/test", "test", w.test, [dict(pick.params)], SerialExecutor(),
                            keep_series=True)
        val_studies.append(val)
        test_studies.append(test)
        tt = test.get_trials()[0]
        if "equity" not in tt.metrics:
            raise AllTrialsFailedError(f"walk-forward window {i}: the chosen params {pick.params} failed on the test "
                                       f"stretch ({dates[w.test_start]} to {dates[w.test_end - 1]}):\n{tt.error}")
        picks.append(dict(pick.params))
        curves.append((tt.metrics["equity"], float(tt.metrics["start_value"])))
        trade_lists.append(list(tt.metrics.get("trades") or []))
        is_ann, oos_ann = _num(pick.metrics.get("annual_return")), _num(tt.metrics.get("annual_return"))
        oos_value = float(tt.value) if tt.ok else math.nan
        row: dict[str, Any] = {
            "window": i, "partial": w.partial,
            "train_start": dates[w.train_start], "train_end": dates[w.train_end - 1],
            "validation_start": dates[w.validation_start] if w.has_validation else pd.NaT,
            "validation_end": dates[w.validation_end - 1] if w.has_validation else pd.NaT,
            "test_start": dates[w.test_start], "test_end": dates[w.test_end - 1],
            "n_trials": train.n_trials,
        }
        for name in space.names:
            row[f"params_{name}"] = pick.params.get(name)
        row.update({
            "is_value": float(pick.value),  # type: ignore[arg-type]
            "validation_value": val_value, "oos_value": oos_value,
            "is_annual_return": is_ann, "oos_annual_return": oos_ann,
            "oos_total_return": _num(tt.metrics.get("total_return")),
            "oos_max_drawdown": _num(tt.metrics.get("max_drawdown")),
            "oos_n_trades": _num(tt.metrics.get("n_trades")),
            "degradation": oos_value - float(pick.value),  # type: ignore[arg-type]
            "efficiency": oos_ann / is_ann if math.isfinite(is_ann) and is_ann > 0 and math.isfinite(oos_ann)
            else math.nan,
        })
        rows.append(row)

    table = pd.DataFrame(rows)
    payload = studies[0].payload
    equity, factors = stitch_equity(curves)
    if payload.feeds[0].timeframe >= bt.TimeFrame.Days:
        equity.index = equity.index.normalize()
    trade_rows = []
    for i, ((eq, start), trades, f) in enumerate(zip(curves, trade_lists, factors)):
        trade_rows += _trades_frame(i, eq, trades, start, f)
    oos_trades = pd.DataFrame(trade_rows, columns=["window", "open", "barlen", "pnl", "pnlcomm", "return"])
    if payload.feeds[0].timeframe >= bt.TimeFrame.Days and len(oos_trades):
        oos_trades["open"] = pd.DatetimeIndex(oos_trades["open"]).normalize()
    ppy = payload.perf_kwargs.get("periods_per_year") or periods_per_year(payload.feeds[0].timeframe,
                                                                         payload.feeds[0].compression)
    oos_metrics = compute_metrics(equity.to_numpy(), oos_trades["pnlcomm"].to_numpy(dtype=float), float(ppy),
                                  start_value=curves[0][1])
    if closes is not None:
        first, stop = windows[0].test_start, windows[-1].test_end
        bh = pd.Series(closes[first:stop] / closes[first] * curves[0][1], index=equity.index, name="buy_and_hold")
    else:
        bh = pd.Series(dtype=float, name="buy_and_hold")
    summary = _summarize(table, picks, oos_metrics, objective, top_k, select)
    return WalkForward(windows=table, oos_equity=equity, oos_trades=oos_trades, buy_and_hold=bh, summary=summary,
                       definitions=list(windows), studies=studies, objective=objective,
                       validation_studies=val_studies, test_studies=test_studies)


def _summarize(table: pd.DataFrame, picks: list[dict[str, Any]], oos_metrics: dict[str, float], objective: Objective,
               top_k: int, select: str) -> dict[str, Any]:
    stability = parameter_stability(picks)
    unstable = list(stability.loc[stability["unstable"], "param"])
    eff_ret = walk_forward_efficiency(table["is_annual_return"], table["oos_annual_return"])
    eff_obj = walk_forward_efficiency(table["is_value"], table["oos_value"], maximize=objective.maximize)
    n_prof = int((table["oos_total_return"] > 0).sum())
    degradation = table[["window", "is_value", "oos_value", "degradation"]].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        degradation["ratio"] = np.where(table["is_value"] > 0, table["oos_value"] / table["is_value"], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_is = float(np.nanmean(table["is_annual_return"])) if table["is_annual_return"].notna().any() else math.nan
        mean_oos = float(np.nanmean(table["oos_annual_return"])) if table["oos_annual_return"].notna().any() \
            else math.nan
    return {
        "n_windows": len(table),
        "select": select,
        "top_k": top_k,
        "oos_metrics": oos_metrics,
        "is_annual_return": mean_is,
        "oos_annual_return": mean_oos,
        "efficiency": {"annual_return": eff_ret, "objective": eff_obj},
        "profitable_windows": n_prof,
        "stability": stability,
        "unstable_params": unstable,
        "degradation": degradation,
        "verdict": verdict(n_windows=len(table), oos_total_return=oos_metrics["total_return"], efficiency=eff_ret,
                           profitable_windows=n_prof, unstable=unstable),
    }


def _check_type(name: str, value: Any, ok: bool, fix: str) -> None:
    if not ok:
        raise SpaceError(f"{name}={value!r}: {fix}")


def prepare(cerebro: Any, strategy: type | None, *, method: str, train: Any, validation: Any, test: Any, step: Any,
            anchored: bool, warmup: int, objective: Any, maximize: bool | None, select: str | None, top_k: int,
            min_last_test: float, study_name: str | None, kwargs: dict[str, Any]
            ) -> tuple[type, Space, dict[str, Any], Objective, str, str, list[WalkForwardWindow], pd.DatetimeIndex,
                       np.ndarray]:
    """Validate ``walk_forward``'s arguments and build its windows, before any backtest.

    Returns:
        ``(strategy, space, method_kwargs, objective, select, study_name, windows, dates, closes)``.

    Raises:
        SpaceError: a bad method, option, selection or space.
        ObjectiveError: an unknown objective.
        DataError: bad window sizes or data too short for one window.
    """
    from .engine.data import snapshot_feeds
    from .objective import analyzer_names

    methods = available_methods(cerebro)
    _check_type("method", method, isinstance(method, str) and method in methods,
                f"choose one of {', '.join(repr(m) for m in methods)} (any optimize_<name> method of the Cerebro)")
    _check_type("select", select, select is None or select in _SELECT, "use 'validation' or 'train'")
    has_val = validation is not None and not (isinstance(validation, numbers.Integral) and validation == 0)
    if select == "validation" and not has_val:
        raise SpaceError("select='validation' needs a validation stretch: pass validation=... (bars or an offset such "
                         "as '6M'), or use select='train'")
    select = select or ("validation" if has_val else "train")
    for name, v in (("train", train), ("test", test)):
        if v is None:
            raise SpaceError(f"{name}= is required: give its size in bars (e.g. {name}=500) or as an offset "
                             f"(e.g. {name}='2Y')")
    _check_type("anchored", anchored, isinstance(anchored, bool), "give True (expanding) or False (rolling)")
    _check_type("top_k", top_k, isinstance(top_k, int) and not isinstance(top_k, bool) and top_k >= 1,
                "give the number (>= 1) of train candidates to re-score on validation")
    _check_type("study_name", study_name, study_name is None or (isinstance(study_name, str) and study_name.strip()),
                "give a non-empty name or None")
    strat_for_split = strategy if strategy is not None else getattr(cerebro, "_bto_optreg", (None,))[0]
    method_kw, dims = split_kwargs(cerebro, method, strat_for_split, kwargs)
    strategy, space = cerebro._resolve(strategy, dims)
    obj = objective if isinstance(objective, Objective) else Objective(objective, maximize)
    obj.validate(analyzer_names(cerebro.analyzers))
    feeds = snapshot_feeds(cerebro)
    dates = pd.DatetimeIndex([bt.num2date(x) for x in feeds[0].datetime], name="datetime")
    if feeds[0].timeframe >= bt.TimeFrame.Days:
        dates = dates.normalize()
    windows = make_windows(dates, train=train, test=test, validation=validation, step=step, anchored=anchored,
                           warmup=warmup, min_last_test=min_last_test)
    name = study_name or f"{strategy.__name__}-walk_forward-{method}"
    return strategy, space, method_kw, obj, select, name, windows, dates, feeds[0].lines["close"]
