"""Walk-forward windows: sizes in bars or calendar offsets, the window record, the window maker, and the expanding
folds of a study's ``cv=`` (pure).

Layout, warmup, offsets, ``step`` and the last partial window are described in :mod:`bt_optimize.walkforward`.
Everything here is a pure function of the bar times (or the bar count), so windows can be inspected before any
backtest. :func:`expanding_folds` cuts one study window into back-to-back measured stretches with an expanding
history (the folds a ``cv=`` trial is scored on, :mod:`bt_optimize.engine.fidelity`).
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError, SpaceError
from ..trial import Window

__all__ = ["WalkForwardWindow", "make_windows", "check_windows", "expanding_folds", "measured_bounds", "MIN_FOLD_BARS"]

#: Fewest measured bars a fold of :func:`expanding_folds` may have (a Sharpe ratio over fewer bars says little).
MIN_FOLD_BARS = 20


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


def check_windows(windows: Sequence[WalkForwardWindow], n_bars: int | None = None, *,
                  contiguous: bool = True) -> None:
    """Check a list of windows: numbered 0, 1, ...; only the last window partial; every stretch inside the data;
    train and test starts never move backwards; with ``contiguous`` (``step == test``), test stretches back to back.

    Each window's own order (train < validation < test, no overlap) is checked when it is constructed.

    Args:
        windows: The windows, in order.
        n_bars: Bars in the data (``None``: not checked).
        contiguous: Require each test stretch to start where the previous one ended. ``False`` (``step`` other
            than ``test``) allows overlapping or gapped test stretches, whose starts must still increase.

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
            if not contiguous and w.test_start <= prev.test_start:
                raise DataError(f"the test stretch of window {i} does not start after the one of window {i - 1}")
            if contiguous and w.test_start != prev.test_end:
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

    See :mod:`bt_optimize.walkforward` for the layout, the warmup, offsets and the last partial window.

    Args:
        index: The first feed's bar times (anything ``pandas.DatetimeIndex`` accepts, increasing), or just the
            number of bars when every size is in bars.
        train: Train stretch size: bars (``int``) or an offset (``"3Y"``, ``pd.DateOffset(months=6)``, ...).
        test: Test stretch size, same kind as ``train``.
        validation: Validation stretch size (``None`` or 0: none).
        step: How far each window moves (default ``test``: back-to-back test stretches). Smaller: overlapping
            test stretches; larger: gaps between them (see :mod:`bt_optimize.walkforward` for the stitching).
        anchored: ``False``: rolling train stretches of fixed size; ``True``: every train stretch starts at the
            first usable bar (expanding).
        warmup: Bars fed before every stretch to prime indicators; the data's first ``warmup`` bars are never
            measured.
        min_last_test: Keep a last window whose test stretch the data cuts short when it holds at least this
            share (0 to 1) of a full one.

    Returns:
        The windows, numbered from 0.

    Raises:
        DataError: bad sizes (mixed bars and offsets, a stretch with no bar), or
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
    check_windows(out, n, contiguous=st == te)
    return out


def measured_bounds(base: Window, n_bars: int) -> tuple[int, int]:
    """The first and the end (exclusive) bar ``base`` measures in data of ``n_bars`` bars (an open end: the last
    bar)."""
    end = n_bars if base.end is None else min(base.end, n_bars)
    return base.start, end


def expanding_folds(base: Window, n_bars: int, k: int) -> tuple[Window, ...]:
    """``k`` walk-forward folds of ``base``: consecutive measured stretches with an expanding history.

    The measured bars of ``base`` are cut into ``k`` back-to-back stretches of (nearly) equal length. Fold ``i``
    measures stretch ``i`` and is fed every bar from the first bar ``base`` feeds (its warmup included), so its
    indicators hold the same values a run over all of ``base`` would have there, and its history grows fold by
    fold (an *expanding* walk-forward). Each fold starts flat: no position is carried over from the bars before.
    The folds' measured stretches cover ``base`` exactly once; running all of them costs about ``(k + 1) / 2``
    runs over ``base``.

    Args:
        base: The study's window.
        n_bars: Bars in the first feed.
        k: Number of folds (at least 2).

    Returns:
        The ``k`` fold windows, oldest first.

    Raises:
        SpaceError: ``k`` is not a whole number >= 2, or a fold would measure fewer than :data:`MIN_FOLD_BARS` bars.

    Example:
        >>> expanding_folds(Window(start=100, warmup=50), 500, 2)
        (Window(start=100, end=300, warmup=50), Window(start=300, end=None, warmup=250))
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise SpaceError(f"cv={k!r}: give the number of walk-forward folds, a whole number >= 2, or None")
    start, end = measured_bounds(base, n_bars)
    if (end - start) < k * MIN_FOLD_BARS:
        raise SpaceError(f"cv={k}: the window measures {end - start} bars, too few for {k} folds of at least "
                         f"{MIN_FOLD_BARS} bars; use fewer folds or more data")
    first_fed = max(0, start - base.warmup)
    cuts = [start + round(i * (end - start) / k) for i in range(k + 1)]
    folds = []
    for i in range(k):
        lo, hi = cuts[i], cuts[i + 1]
        folds.append(Window(start=lo, end=base.end if i == k - 1 else hi, warmup=lo - first_fed))
    return tuple(folds)
