"""Data once: snapshot preloaded feeds into arrays, slice them by window, rebuild light feeds in workers.

The main process preloads every feed of the user's Cerebro once and keeps its lines as numpy arrays
(:class:`FeedSnapshot`). Workers receive the snapshots once and rebuild an :class:`ArrayFeed` per trial;
its ``preload`` copies the arrays into backtrader's buffers in one step, and its ``_load`` serves bars one by
one for the non-preload modes. Sliced feeds keep the original ``name``, ``timeframe``, ``compression``,
session and timezone settings so time-based analyzers give the same answers.
"""

from __future__ import annotations

import array
import functools
import inspect
from dataclasses import dataclass, field, replace
from typing import Any

import backtrader as bt
import numpy as np

from ..exceptions import DataError
from ..trial import Window
from .validate import check_snapshots

__all__ = ["FeedSnapshot", "FilterSpec", "snapshot_feeds", "slice_feeds", "build_feed", "build_feeds", "ArrayFeed",
           "perturb_snapshot", "perturb_feeds"]

_STANDARD_LINES = ("close", "low", "high", "open", "volume", "openinterest", "datetime")
_META_PARAMS = ("sessionstart", "sessionend", "tz", "calendar")


#: One filter to re-apply in the worker: ``(filter, args, kwargs, how)`` where ``how`` is ``"class"``
#: (``feed.addfilter(cls, *args, **kwargs)``), ``"call"`` (a callable added with its arguments) or ``"simple"``
#: (``feed.addfilter_simple``).
FilterSpec = tuple[Any, tuple, dict, str]


@dataclass
class FeedSnapshot:
    """The preloaded bars of one feed, as arrays, plus what is needed to rebuild an equivalent feed.

    Three kinds of feed are kept:

    - a plain feed (no filter, not a clone): ``lines`` are its bars, served as they are;
    - a feed with its own filters (``cerebro.resampledata(d)``, ``replaydata(d)``, ``d.addfilter(...)``): ``raw``
      holds its bars before the filters and ``filters`` the filters, re-applied to ``raw`` in the worker;
    - a clone of another feed (``d.clone()``, ``resampledata``/``replaydata`` of a feed already added):
      ``source`` is the index of that feed, rebuilt first; the clone and its ``filters`` are rebuilt on it.

    Attributes:
        name: The feed's name in ``cerebro.datasbyname`` (``""`` when unnamed).
        timeframe: backtrader ``TimeFrame`` value of the bars the strategy sees.
        compression: Bars per timeframe unit.
        lines: Line alias -> float64 array of the bars the strategy sees, in the feed's line order (always
            includes ``datetime`` as backtrader date numbers).
        params: Session/timezone parameters copied to the rebuilt feed.
        raw: Bars before the feed's own filters (``None``: the feed is served from ``lines``).
        filters: The filters rebuilt in the worker (see :data:`FilterSpec`).
        source: Index of the feed this one clones (``None``: not a clone).
        base_timeframe: ``(timeframe, compression)`` of ``raw`` (before the filters).
    """

    name: str
    timeframe: int
    compression: int
    lines: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, np.ndarray] | None = None
    filters: tuple[FilterSpec, ...] = ()
    source: int | None = None
    base_timeframe: tuple[int, int] | None = None

    @property
    def datetime(self) -> np.ndarray:
        """The bars' times as backtrader date numbers."""
        return self.lines["datetime"]

    @property
    def rebuilt(self) -> bool:
        """Whether the worker rebuilds this feed from other bars (its source, or its raw bars and filters)."""
        return self.raw is not None or self.source is not None

    def __len__(self) -> int:
        return len(self.lines["datetime"])

    def select(self, lo: int, hi: int) -> FeedSnapshot:
        """Bars ``[lo, hi)`` as a new snapshot (arrays are views, not copies)."""
        return replace(self, lines={k: v[lo:hi] for k, v in self.lines.items()}, params=dict(self.params))

    def select_raw(self, after: float, upto: float) -> FeedSnapshot:
        """The raw bars with times in ``(after, upto]`` (and the shown bars in that span) as a new snapshot."""
        out = self.select(*_span(self.datetime, after, upto))
        if self.raw is not None:
            a, b = _span(self.raw["datetime"], after, upto)
            out.raw = {k: v[a:b] for k, v in self.raw.items()}
        return out


def _span(dt: np.ndarray, after: float, upto: float) -> tuple[int, int]:
    return int(np.searchsorted(dt, after, "right")), int(np.searchsorted(dt, upto, "right"))


def _label(data: Any, i: int) -> str:
    return data._name or f"data{i}"


def _is_clone(data: Any) -> bool:
    return bool(getattr(data, "_clone", False))


def _historical_chain(data: Any) -> bool:
    """A ``Chainer``/``RollOver`` of historical feeds: it reports itself live only to turn preloading off."""
    subs = getattr(data, "_args", None)
    return (isinstance(data, (bt.feeds.Chainer, bt.feeds.RollOver)) and bool(subs)
            and not any(d.islive() for d in subs))


def _filter_specs(data: Any, label: str) -> tuple[FilterSpec, ...]:
    """How to re-apply ``data``'s filters to a rebuilt feed."""
    from backtrader.feed import SimpleFilterWrapper

    out: list[FilterSpec] = []
    for obj, args, kwargs in data._filters:
        if isinstance(obj, SimpleFilterWrapper):
            out.append((obj.ffilter, tuple(args), dict(kwargs), "simple"))
        elif inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj) or isinstance(
                obj, functools.partial):
            out.append((obj, tuple(args), dict(kwargs), "call"))
        else:
            # a filter class: backtrader keeps the instance only, built with (data, **params)
            params = obj.p._getkwargs() if isinstance(getattr(obj, "p", None), bt.metabase.AutoInfoClass) else {}
            out.append((type(obj), tuple(args), {**params, **kwargs}, "class"))
    return tuple(out)


def _lines_of(data: Any) -> dict[str, np.ndarray]:
    n = data.buflen()
    return {a: np.array(getattr(data.lines, a).array[:n], dtype=np.float64) for a in data.getlinealiases()}


def _load_all(datas: list[Any]) -> list[dict[str, np.ndarray]]:
    """Preload ``datas`` in order as ``cerebro.run`` does (a clone copies its already loaded source), then
    reset them all, so a later ``cerebro.run()`` behaves as if nothing happened."""
    try:
        for data in datas:
            data.reset()
            data._start()
            data.preload()
        return [_lines_of(d) for d in datas]
    finally:
        for data in datas:
            try:
                data.stop()
            except Exception:
                pass
            data.reset()


def _load_raw(data: Any) -> dict[str, np.ndarray]:
    """The bars of ``data`` with its filters switched off (its dates limits and time zone still apply)."""
    saved = data._filters, data._ffilters
    data._filters, data._ffilters = [], []
    try:
        return _load_all([data])[0]
    finally:
        data._filters, data._ffilters = saved


def _feed_error(label: str, exc: Exception) -> DataError:
    return DataError(f"feed {label!r} could not be preloaded: {type(exc).__name__}: {exc}")


def snapshot_feeds(cerebro: bt.Cerebro) -> list[FeedSnapshot]:
    """Preload every feed of ``cerebro`` once and return its bars as arrays.

    Feeds with filters (resampled, replayed, ``addfilter``) and clones are recorded so that the worker rebuilds
    them from their base bars (see :class:`FeedSnapshot`); every rebuilt feed is checked here to give exactly
    the bars of the original. The feeds are reset afterwards, so a later ``cerebro.run()`` behaves as if nothing
    happened.

    Raises:
        DataError: no feed, a live feed, a clone of a feed that is not loaded before it, a feed that loads no
            bar, or a filter that cannot be rebuilt.
    """
    if not cerebro.datas:
        raise DataError("the Cerebro has no data feed; add one with cerebro.adddata(feed) before optimizing")
    datas = list(cerebro.datas)
    labels = [_label(d, i) for i, d in enumerate(datas)]
    sources: list[int | None] = []
    for i, data in enumerate(datas):
        if data.islive() and not _historical_chain(data):
            raise DataError(f"feed {labels[i]!r} is a live feed; optimize on a historical (preloadable) feed")
        src = None
        if _is_clone(data):
            src = next((j for j, d in enumerate(datas) if d is data.data), None)
            if src is None or src >= i:
                raise DataError(
                    f"feed {labels[i]!r} is a clone (resampledata/replaydata/clone()) of a feed that is not added to "
                    "the Cerebro before it; add the base feed first (cerebro.adddata(d)) and then the clone")
        sources.append(src)
    raws: dict[int, dict[str, np.ndarray]] = {}
    for i, data in enumerate(datas):
        if sources[i] is None and data._filters:
            try:
                raws[i] = _load_raw(data)
            except Exception as exc:
                raise _feed_error(labels[i], exc) from exc
    try:
        outputs = _load_all(datas)
    except Exception as exc:
        raise DataError(f"the feeds could not be preloaded: {type(exc).__name__}: {exc}") from exc
    out = []
    for i, data in enumerate(datas):
        if len(outputs[i]["datetime"]) == 0:
            raise DataError(f"feed {labels[i]!r} has no bars (check its file and fromdate/todate)")
        rebuilt = sources[i] is not None or i in raws
        params = {key: getattr(data.p, key, None) for key in _META_PARAMS}
        out.append(FeedSnapshot(
            data._name or "", int(data._timeframe), int(data._compression), outputs[i], params,
            raw=raws.get(i), filters=_filter_specs(data, labels[i]) if rebuilt else (), source=sources[i],
            base_timeframe=(int(data.p.timeframe), int(data.p.compression)) if rebuilt else None))
    check_snapshots(out)
    if any(s.rebuilt for s in out):
        _check_rebuild(out, labels)
    return out


def _check_rebuild(snaps: list[FeedSnapshot], labels: list[str]) -> None:
    """Rebuild the feeds as a worker does and check that each gives exactly the original's bars."""
    try:
        scratch = bt.Cerebro()
        feeds = build_feeds(snaps)
        for feed in feeds:
            scratch.adddata(feed)
        got = _load_all(feeds)
    except Exception as exc:
        bad = next((labels[i] for i, s in enumerate(snaps) if s.rebuilt), labels[0])
        raise DataError(f"feed {bad!r} could not be rebuilt from its bars and filters "
                        f"({type(exc).__name__}: {exc}); {_REBUILD_HINT}") from exc
    for i, (snap, lines) in enumerate(zip(snaps, got)):
        if not snap.rebuilt:
            continue
        same = list(lines) == list(snap.lines) and all(
            np.array_equal(lines[k], snap.lines[k], equal_nan=True) for k in lines)
        if not same:
            names = ", ".join(getattr(f[0], "__name__", repr(f[0])) for f in snap.filters) or "no filter"
            raise DataError(f"feed {labels[i]!r} ({names}) gives different bars when rebuilt from its base bars "
                            f"({len(lines['datetime'])} bars instead of {len(snap)}); {_REBUILD_HINT}")


_REBUILD_HINT = ("filters are re-applied with their parameters only: a filter whose constructor takes other "
                 "arguments, or that keeps state outside the feed, cannot be rebuilt. Give the filter its settings "
                 "as params, or filter the data before adding the feed")


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
        # A rebuilt feed gets the base bars of the bars shown in the window: those after the bar before it.
        t_prev = float(master.datetime[lo - 1]) if lo > 0 else -np.inf
        t_lo, t_hi = master.datetime[lo], master.datetime[end - 1]
        sliced = [master.select_raw(t_prev, t_hi) if master.raw is not None else master.select(lo, end)]
        for f in feeds[1:]:
            if f.source is not None:
                sliced.append(f)  # rebuilt in the worker from its (sliced) source
            elif f.raw is not None:
                sliced.append(f.select_raw(t_prev, t_hi))
            else:
                dt = f.datetime
                a, b = np.searchsorted(dt, t_lo, "left"), np.searchsorted(dt, t_hi, "right")
                sliced.append(f.select(int(a), int(b)))
    if window.start == lo:
        gate = None
    elif master.rebuilt:
        # a replayed or resampled first feed shows a bar being built with the times of its base bars: the
        # window starts right after the bar before it
        gate = float(np.nextafter(master.datetime[window.start - 1], np.inf))
    else:
        gate = float(master.datetime[window.start])
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
    """An :class:`ArrayFeed` class whose lines are ``aliases``, in that order (the original feed's layout)."""
    n = len(_STANDARD_LINES)
    if aliases[:n] == _STANDARD_LINES and not aliases[n:]:
        return ArrayFeed
    cls = _FEED_CLASSES.get(aliases)
    if cls is None:
        if aliases[:n] == _STANDARD_LINES:
            ns: dict[str, Any] = {"lines": aliases[n:]}
        else:  # e.g. a feed with linesoverride=True whose line 0 is "bid": keep its layout exactly
            ns = {"lines": aliases, "linesoverride": True}
        cls = type("ArrayFeed_" + "_".join(aliases), (ArrayFeed,), ns)
        _FEED_CLASSES[aliases] = cls
    return cls


def build_feed(snap: FeedSnapshot) -> bt.feeds.DataBase:
    """A fresh backtrader feed that yields exactly the bars of ``snap`` (a plain feed, see :func:`build_feeds`)."""
    cls = _feed_class(tuple(snap.lines))
    kwargs = {k: v for k, v in snap.params.items() if v is not None}
    return cls(arrays=snap.lines, name=snap.name, timeframe=snap.timeframe, compression=snap.compression, **kwargs)


def build_feeds(snaps: list[FeedSnapshot]) -> list[bt.feeds.DataBase]:
    """Fresh backtrader feeds for ``snaps``, in order: plain feeds from their bars, filtered feeds from their raw
    bars with their filters re-applied, clones on the rebuilt feed they clone."""
    out: list[bt.feeds.DataBase] = []
    for snap in snaps:
        if snap.source is not None:
            feed = bt.DataClone(dataname=out[snap.source], name=snap.name)
        elif snap.raw is not None:
            tf, comp = snap.base_timeframe or (snap.timeframe, snap.compression)
            kwargs = {k: v for k, v in snap.params.items() if v is not None}
            feed = _feed_class(tuple(snap.raw))(arrays=snap.raw, name=snap.name, timeframe=tf, compression=comp,
                                                **kwargs)
        else:
            feed = build_feed(snap)
        for fn, args, kwargs, how in snap.filters:
            if how == "simple":
                feed.addfilter_simple(fn, *args, **kwargs)
            else:
                feed.addfilter(fn, *args, **kwargs)
        out.append(feed)
    return out


def perturb_snapshot(snap: FeedSnapshot, model: str, std_pct: float, rng: np.random.Generator) -> FeedSnapshot:
    """A noisy copy of ``snap`` (same bars, times and settings); the input is not modified.

    Open, high, low and close of each bar are multiplied by one factor drawn by ``model`` (``"gaussian"`` or
    ``"bootstrap"``, see :mod:`bt_optimize.stats.noise`); afterwards high >= max(open, close),
    low <= min(open, close) and volume >= 0 hold on every bar.

    Raises:
        DataError: the feed has no ``close`` line, or ``model``/``std_pct`` is invalid.
    """
    from ..stats.noise import perturb_ohlc

    if snap.source is not None:
        return snap  # a clone is rebuilt from its (perturbed) source
    bars = snap.raw if snap.raw is not None else snap.lines
    lines = {k: v for k, v in bars.items() if k != "datetime"}
    try:
        noisy = perturb_ohlc(lines, model, std_pct, rng)
    except ValueError as exc:
        raise DataError(f"feed {snap.name or '(unnamed)'!r} cannot be perturbed: {exc}") from exc
    noisy["datetime"] = bars["datetime"]
    noisy = {k: noisy[k] for k in bars}
    if snap.raw is not None:
        return replace(snap, raw=noisy, params=dict(snap.params))
    return replace(snap, lines=noisy, params=dict(snap.params))


def perturb_feeds(feeds: list[FeedSnapshot], perturb: dict[str, Any]) -> list[FeedSnapshot]:
    """Apply ``perturb`` (``{"model", "std_pct", "seed"}``) to every feed, in order, from one generator.

    ``seed`` is anything ``numpy.random.default_rng`` accepts (an int or a list of ints); the same seed gives
    the same noisy feeds in any process.
    """
    rng = np.random.default_rng(perturb["seed"])
    return [perturb_snapshot(f, perturb["model"], float(perturb["std_pct"]), rng) for f in feeds]
