"""Data once: snapshot preloaded feeds into arrays, slice them by window, rebuild light feeds in workers.

The main process preloads every feed of the user's Cerebro once and keeps its lines as numpy arrays
(:class:`FeedSnapshot`). Workers receive the snapshots once and rebuild an :class:`ArrayFeed` per trial;
its ``preload`` copies the arrays into backtrader's buffers in one step, and its ``_load`` serves bars one by
one for the non-preload modes. Sliced feeds keep the original ``name``, ``timeframe``, ``compression``,
session and timezone settings so time-based analyzers give the same answers.
"""

from __future__ import annotations

import array
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt
import numpy as np

from ..exceptions import DataError
from ..trial import Window

__all__ = ["FeedSnapshot", "snapshot_feeds", "slice_feeds", "build_feed", "ArrayFeed", "perturb_snapshot",
           "perturb_feeds"]

_STANDARD_LINES = ("close", "low", "high", "open", "volume", "openinterest", "datetime")
_META_PARAMS = ("sessionstart", "sessionend", "tz", "calendar")


@dataclass
class FeedSnapshot:
    """The preloaded bars of one feed, as arrays, plus what is needed to rebuild an equivalent feed.

    Attributes:
        name: The feed's name in ``cerebro.datasbyname`` (``""`` when unnamed).
        timeframe: backtrader ``TimeFrame`` value.
        compression: Bars per timeframe unit.
        lines: Line alias -> float64 array (always includes ``datetime`` as backtrader date numbers).
        params: Session/timezone parameters copied to the rebuilt feed.
    """

    name: str
    timeframe: int
    compression: int
    lines: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def datetime(self) -> np.ndarray:
        """The bars' times as backtrader date numbers."""
        return self.lines["datetime"]

    def __len__(self) -> int:
        return len(self.lines["datetime"])

    def select(self, lo: int, hi: int) -> FeedSnapshot:
        """Bars ``[lo, hi)`` as a new snapshot (arrays are views, not copies)."""
        return FeedSnapshot(self.name, self.timeframe, self.compression,
                            {k: v[lo:hi] for k, v in self.lines.items()}, dict(self.params))


def _preload(data: bt.feeds.DataBase, cerebro: bt.Cerebro) -> None:
    data.reset()
    data._start()
    data.preload()


def snapshot_feeds(cerebro: bt.Cerebro) -> list[FeedSnapshot]:
    """Preload every feed of ``cerebro`` once and return its bars as arrays.

    The feeds are reset afterwards, so a later ``cerebro.run()`` behaves as if nothing happened.

    Raises:
        DataError: no feed, a replayed or live feed, or a feed that loads no bar.
    """
    if not cerebro.datas:
        raise DataError("the Cerebro has no data feed; add one with cerebro.adddata(feed) before optimizing")
    out = []
    for i, data in enumerate(cerebro.datas):
        label = data._name or f"data{i}"
        if getattr(data, "replaying", 0):
            raise DataError(
                f"feed {label!r} is replayed (cerebro.replaydata); replay builds bars tick by tick and cannot be "
                "preloaded once for an optimization. Resample instead (cerebro.resampledata) or optimize on the "
                "base timeframe"
            )
        if data.islive():
            raise DataError(f"feed {label!r} is a live feed; optimize on a historical (preloadable) feed")
        try:
            _preload(data, cerebro)
            aliases = list(data.getlinealiases())
            lines = {a: np.array(getattr(data.lines, a).array, dtype=np.float64) for a in aliases}
        except Exception as exc:
            raise DataError(f"feed {label!r} could not be preloaded: {type(exc).__name__}: {exc}") from exc
        finally:
            try:
                data.stop()
            except Exception:
                pass
            data.reset()
        if len(lines["datetime"]) == 0:
            raise DataError(f"feed {label!r} has no bars (check its file and fromdate/todate)")
        params = {}
        for key in _META_PARAMS:
            params[key] = getattr(data.p, key, None)
        out.append(FeedSnapshot(data._name or "", int(data._timeframe), int(data._compression), lines, params))
    return out


def slice_feeds(feeds: list[FeedSnapshot], window: Window) -> tuple[list[FeedSnapshot], float | None]:
    """Cut every feed to ``window`` (positions of the first feed), warmup bars included.

    Returns:
        The sliced snapshots and the backtrader date number of the first measured bar
        (``None`` when measurement starts at the first fed bar).

    Raises:
        DataError: the window lies outside the data.
    """
    master = feeds[0]
    n = len(master)
    end = n if window.end is None else window.end
    if window.start >= n or end > n:
        raise DataError(f"{window} lies outside the data, which has {n} bars")
    lo = max(0, window.start - window.warmup)
    if lo == 0 and end == n:
        sliced = list(feeds)
    else:
        t_lo, t_hi = master.datetime[lo], master.datetime[end - 1]
        sliced = [master.select(lo, end)]
        for f in feeds[1:]:
            dt = f.datetime
            a, b = np.searchsorted(dt, t_lo, "left"), np.searchsorted(dt, t_hi, "right")
            sliced.append(f.select(int(a), int(b)))
    gate = None if window.start == lo else float(master.datetime[window.start])
    return sliced, gate


class ArrayFeed(bt.feeds.DataBase):
    """A backtrader feed that serves bars from arrays (see :func:`build_feed`)."""

    params = (("arrays", None),)

    def start(self) -> None:
        super().start()
        self._idx = -1
        self._cols = [(getattr(self.lines, a), v) for a, v in self.p.arrays.items()]
        self._tick_setup()

    def _tick_setup(self) -> None:
        # The tick_<line> attributes the broker reads, with their line buffers, worked out once per run instead of
        # once per bar (backtrader's own _tick_fill/_tick_nullify look every alias up by name on every bar).
        aliases = self.getlinealiases()
        self._bto_ticks = [("tick_" + a, getattr(self.lines, a)) for a in aliases if a != "datetime"]
        alias0 = self._getlinealias(0)
        self._bto_tick0 = ("tick_" + alias0, getattr(self.lines, alias0))

    def _tick_nullify(self) -> None:
        """Same effect as ``DataBase._tick_nullify``: every ``tick_<line>`` and ``tick_last`` set to ``None``."""
        d = self.__dict__
        for name, _ in self._bto_ticks:
            d[name] = None
        d["tick_last"] = None

    def _tick_fill(self, force: bool = False) -> None:
        """Same effect as ``DataBase._tick_fill``: unless already set, each ``tick_<line>`` is the bar's value."""
        d = self.__dict__
        name0, line0 = self._bto_tick0
        if force or d.get(name0) is None:
            for name, line in self._bto_ticks:
                d[name] = line[0]
            d["tick_last"] = line0[0]

    def preload(self) -> None:
        lines = [getattr(self.lines, a) for a in self.p.arrays]
        fast = all(isinstance(ln.array, array.array) and len(ln.array) == 0 for ln in lines)
        if not fast or self._ffilters or self._filters:
            return super().preload()
        for ln, values in zip(lines, self.p.arrays.values()):
            ln.array = array.array("d", values.tobytes()) if values.dtype == np.float64 else array.array(
                "d", values.astype(np.float64).tobytes())
            ln.idx = len(values) - 1
            ln.lencount = len(values)
        self._idx = len(self.p.arrays["datetime"])  # every bar is delivered: later loads find nothing
        self._last()
        self.home()

    def _load(self) -> bool:
        self._idx += 1
        i = self._idx
        if i >= len(self.p.arrays["datetime"]):
            return False
        for line, values in self._cols:
            line[0] = float(values[i])
        return True


_FEED_CLASSES: dict[tuple[str, ...], type] = {}


def _feed_class(aliases: tuple[str, ...]) -> type:
    extra = tuple(a for a in aliases if a not in _STANDARD_LINES)
    if not extra:
        return ArrayFeed
    cls = _FEED_CLASSES.get(extra)
    if cls is None:
        cls = type("ArrayFeed_" + "_".join(extra), (ArrayFeed,), {"lines": extra})
        _FEED_CLASSES[extra] = cls
    return cls


def build_feed(snap: FeedSnapshot) -> bt.feeds.DataBase:
    """A fresh backtrader feed that yields exactly the bars of ``snap``."""
    cls = _feed_class(tuple(snap.lines))
    kwargs = {k: v for k, v in snap.params.items() if v is not None}
    return cls(arrays=snap.lines, name=snap.name, timeframe=snap.timeframe, compression=snap.compression, **kwargs)


def perturb_snapshot(snap: FeedSnapshot, model: str, std_pct: float, rng: np.random.Generator) -> FeedSnapshot:
    """A noisy copy of ``snap`` (same bars, times and settings); the input is not modified.

    Open, high, low and close of each bar are multiplied by one factor drawn by ``model`` (``"gaussian"`` or
    ``"bootstrap"``, see :mod:`bt_optimize.stats.noise`); afterwards high >= max(open, close),
    low <= min(open, close) and volume >= 0 hold on every bar.

    Raises:
        DataError: the feed has no ``close`` line, or ``model``/``std_pct`` is invalid.
    """
    from ..stats.noise import perturb_ohlc

    lines = {k: v for k, v in snap.lines.items() if k != "datetime"}
    try:
        noisy = perturb_ohlc(lines, model, std_pct, rng)
    except ValueError as exc:
        raise DataError(f"feed {snap.name or '(unnamed)'!r} cannot be perturbed: {exc}") from exc
    noisy["datetime"] = snap.lines["datetime"]
    return FeedSnapshot(snap.name, snap.timeframe, snap.compression, {k: noisy[k] for k in snap.lines},
                        dict(snap.params))


def perturb_feeds(feeds: list[FeedSnapshot], perturb: dict[str, Any]) -> list[FeedSnapshot]:
    """Apply ``perturb`` (``{"model", "std_pct", "seed"}``) to every feed, in order, from one generator.

    ``seed`` is anything ``numpy.random.default_rng`` accepts (an int or a list of ints); the same seed gives
    the same noisy feeds in any process.
    """
    rng = np.random.default_rng(perturb["seed"])
    return [perturb_snapshot(f, perturb["model"], float(perturb["std_pct"]), rng) for f in feeds]
