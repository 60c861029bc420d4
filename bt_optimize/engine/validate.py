"""Checks on snapshotted feeds, run once before any backtest: bad bars are found here, not in every trial.

A NaN or infinite price, a time that does not move forward or a feed too short to measure anything would make
every trial fail (or silently measure garbage); :func:`check_snapshots` names the feed, the column and the first
bad bar instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import backtrader as bt
import numpy as np

from ..exceptions import DataError

if TYPE_CHECKING:
    from .data import FeedSnapshot

__all__ = ["check_snapshots", "MIN_BARS", "PRICE_COLUMNS"]

#: Fewest bars a feed must hold: a return needs two prices.
MIN_BARS = 2

#: Columns that must hold finite numbers on every bar.
PRICE_COLUMNS = ("open", "high", "low", "close")


def _when(snap: FeedSnapshot, i: int) -> str:
    try:
        return bt.num2date(float(snap.datetime[i])).isoformat(sep=" ")
    except (ValueError, OverflowError):
        return f"date number {snap.datetime[i]!r}"


def check_snapshots(feeds: list[FeedSnapshot]) -> list[FeedSnapshot]:
    """Check every snapshot and return the list unchanged.

    Raises:
        DataError: a feed with fewer than :data:`MIN_BARS` bars, a NaN or infinite open/high/low/close, or a bar
            whose time is not later than the bar before; the message names the feed, the column and the first
            bad bar (position and time).
    """
    for k, snap in enumerate(feeds):
        label = repr(snap.name) if snap.name else f"data{k} (unnamed)"
        n = len(snap)
        if n < MIN_BARS:
            raise DataError(f"feed {label} has {n} bar(s); an optimization needs at least {MIN_BARS}. Widen its "
                            "fromdate/todate or check its file")
        dt = snap.datetime
        bad = np.flatnonzero(~np.isfinite(dt))
        if bad.size:
            raise DataError(f"feed {label}: column 'datetime' is not a finite time at bar {int(bad[0])}; fix the "
                            "data source")
        back = np.flatnonzero(np.diff(dt) <= 0)
        if back.size:
            i = int(back[0]) + 1
            raise DataError(
                f"feed {label}: column 'datetime' does not increase at bar {i} ({_when(snap, i)} follows "
                f"{_when(snap, i - 1)}); sort the data by time and drop duplicated bars")
        for col in PRICE_COLUMNS:
            values = snap.lines.get(col)
            if values is None:
                continue
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                i = int(bad[0])
                raise DataError(
                    f"feed {label}: column {col!r} is {values[i]} at bar {i} ({_when(snap, i)}), "
                    f"{bad.size} bad value(s) in all; drop or fill those bars before optimizing "
                    "(e.g. df.dropna() or df.ffill() on the DataFrame behind a PandasData feed)")
    return feeds
