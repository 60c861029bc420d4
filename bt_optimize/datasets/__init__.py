"""Real price data bundled with the package, and loaders for it.

Four files ship in ``bt_optimize/datasets/data``:

========================  ==========================  =========================================
name                      file                        content
========================  ==========================  =========================================
``"orcl"``                ``orcl-1995-2014.txt``      Oracle daily bars, 1995-2014 (Yahoo CSV)
``"nvda"``                ``nvda-1999-2014.txt``      NVIDIA daily bars, 1999-2014 (Yahoo CSV)
``"index-2006-daily"``    ``2006-day-001.txt``        a stock index, daily bars, 2006
``"index-2006-5min"``     ``2006-min-005.txt``        the same index, 5-minute bars, January 2006
========================  ==========================  =========================================

The Yahoo files carry ``Date,Open,High,Low,Close,Adj Close,Volume``; the loaders keep the raw
(unadjusted) open, high, low and close and ignore the adjusted close. The index files use backtrader's
generic layout ``Date[,Time],Open,High,Low,Close,Volume,OpenInterest``.

Example:
    >>> import backtrader as bt
    >>> from bt_optimize import datasets
    >>> cerebro = bt.Cerebro()
    >>> feed = datasets.load("orcl", fromdate="2000-01-01", todate="2004-12-31")
    >>> _ = cerebro.adddata(feed)
"""

from __future__ import annotations

import datetime as _dt
import difflib
import pathlib
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import pandas as pd

from ..exceptions import OptionError

__all__ = ["available", "load", "load_dataframe", "path"]

_DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"

_YAHOO = "yahoo"
_GENERIC = "generic"


@dataclass(frozen=True)
class _Dataset:
    """How one bundled file is laid out and which backtrader feed reads it."""

    filename: str
    layout: str  # _YAHOO or _GENERIC
    timeframe: int
    compression: int
    has_time_column: bool = False


_DATASETS: dict[str, _Dataset] = {
    "orcl": _Dataset("orcl-1995-2014.txt", _YAHOO, bt.TimeFrame.Days, 1),
    "nvda": _Dataset("nvda-1999-2014.txt", _YAHOO, bt.TimeFrame.Days, 1),
    "index-2006-daily": _Dataset("2006-day-001.txt", _GENERIC, bt.TimeFrame.Days, 1),
    "index-2006-5min": _Dataset("2006-min-005.txt", _GENERIC, bt.TimeFrame.Minutes, 5, has_time_column=True),
}

DateLike = _dt.date | _dt.datetime | str


def available() -> list[str]:
    """List the names of the bundled datasets.

    Returns:
        The dataset names, in a stable order.
    """
    return list(_DATASETS)


def _lookup(name: str) -> _Dataset:
    """Return the description of dataset ``name`` or raise with the valid names."""
    try:
        return _DATASETS[name]
    except (KeyError, TypeError):
        names = available()
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise OptionError(f"Unknown dataset {name!r}.{hint} Available datasets: {', '.join(names)}.") from None


def path(name: str) -> pathlib.Path:
    """Return the path of a bundled data file.

    Args:
        name: A dataset name from :func:`available`.

    Returns:
        The absolute path of the CSV file.

    Raises:
        ValueError: If ``name`` is not a bundled dataset.
    """
    return _DATA_DIR / _lookup(name).filename


def _to_datetime(value: DateLike | None, argname: str) -> _dt.date | _dt.datetime | None:
    """Normalise a date bound for a backtrader feed.

    A ``date`` (or an ISO date string without a time) is passed on as a ``date``: backtrader then
    extends ``fromdate`` to the session start and ``todate`` to the session end, so both days are
    included in full. A ``datetime`` (or an ISO string with a time) is an exact bound.
    """
    if value is None or isinstance(value, _dt.date):  # datetime is a subclass of date
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return _dt.date.fromisoformat(text)
            return _dt.datetime.fromisoformat(text)
        except ValueError:
            raise OptionError(
                f"{argname}={value!r} is not an ISO date; use e.g. '2004-12-31' or '2004-12-31T16:00:00'."
            ) from None
    raise TypeError(
        f"{argname} must be a datetime.date, a datetime.datetime or an ISO string, "
        f"not {type(value).__name__}."
    )


def load(
    name: str,
    fromdate: DateLike | None = None,
    todate: DateLike | None = None,
    **kwargs: Any,
) -> bt.feeds.DataBase:
    """Create a backtrader feed over a bundled dataset.

    Every call builds a new feed object, so the result can be added to one ``Cerebro`` only, as
    backtrader expects.

    Args:
        name: A dataset name from :func:`available`.
        fromdate: First day (or instant) to load; a ``date``, ``datetime`` or ISO string. A plain date
            includes that whole day.
        todate: Last day (or instant) to load, same forms as ``fromdate``. A plain date includes that
            whole day.
        **kwargs: Further parameters for the feed class (for example ``sessionend``); they override
            the defaults chosen here.

    Returns:
        A ``bt.feeds.YahooFinanceCSVData`` (``"orcl"``, ``"nvda"``; raw prices, ``adjclose=False``,
        ``round=False``) or a ``bt.feeds.GenericCSVData`` (the index files), with ``name`` set to the
        dataset name and the correct ``timeframe`` and ``compression``.

    Raises:
        ValueError: If ``name`` is unknown or a date string cannot be parsed.
        TypeError: If ``dataname`` is passed, or a date has an unsupported type.

    Example:
        >>> feed = load("index-2006-5min", fromdate="2006-01-09", todate="2006-01-13")
        >>> feed.p.compression
        5
    """
    spec = _lookup(name)
    if "dataname" in kwargs:
        raise TypeError("load() chooses the file itself; do not pass 'dataname'.")
    params: dict[str, Any] = {
        "dataname": str(_DATA_DIR / spec.filename),
        "name": name,
        "timeframe": spec.timeframe,
        "compression": spec.compression,
        "fromdate": _to_datetime(fromdate, "fromdate"),
        "todate": _to_datetime(todate, "todate"),
    }
    if spec.layout == _YAHOO:
        # adjclose=True would rescale open/high/low to the adjusted close, and round=True would
        # round every price to 2 decimals; both would change the recorded prices.
        params.update(adjclose=False, round=False)
        params.update(kwargs)
        return bt.feeds.YahooFinanceCSVData(**params)

    params.update(dtformat="%Y-%m-%d")
    if spec.has_time_column:
        params.update(
            tmformat="%H:%M:%S",
            datetime=0,
            time=1,
            open=2,
            high=3,
            low=4,
            close=5,
            volume=6,
            openinterest=7,
        )
    else:
        params.update(datetime=0, time=-1, open=1, high=2, low=3, close=4, volume=5, openinterest=6)
    params.update(kwargs)
    return bt.feeds.GenericCSVData(**params)


def load_dataframe(name: str) -> pd.DataFrame:
    """Read a bundled dataset into a pandas DataFrame, e.g. for ``bt.feeds.PandasData``.

    The prices are the raw ones, exactly as :func:`load` feeds them to backtrader.

    Args:
        name: A dataset name from :func:`available`.

    Returns:
        A DataFrame with a ``DatetimeIndex`` named ``datetime`` (bar time for the 5-minute data,
        midnight for daily data) and float columns ``open``, ``high``, ``low``, ``close``,
        ``volume`` and ``openinterest`` (0.0 for the Yahoo files, which carry none).

    Raises:
        ValueError: If ``name`` is unknown.
    """
    spec = _lookup(name)
    raw = pd.read_csv(_DATA_DIR / spec.filename)
    raw.columns = [str(c).strip().lower().replace(" ", "") for c in raw.columns]
    if spec.has_time_column:
        stamps = raw["date"].astype(str) + " " + raw["time"].astype(str)
        index = pd.to_datetime(stamps, format="%Y-%m-%d %H:%M:%S")
    else:
        index = pd.to_datetime(raw["date"], format="%Y-%m-%d")
    if "openinterest" not in raw.columns:
        raw["openinterest"] = 0.0
    columns = ["open", "high", "low", "close", "volume", "openinterest"]
    frame = raw[columns].astype("float64")
    frame.index = pd.DatetimeIndex(index, name="datetime")
    return frame
