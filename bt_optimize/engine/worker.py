"""Running one trial: rebuild the feeds, run a real backtrader Cerebro, return plain results.

This module runs in worker processes (and in the main process for the serial executor and ``run_best``).
Nothing here touches storage or the search; results are :class:`~bt_optimize.trial.TrialResult` records of plain
data, never strategy objects.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import math
import pickle
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import backtrader as bt
import numpy as np

from ..exceptions import ObjectiveError, PicklingError
from ..objective import Objective, to_plain
from ..stats.returns import pack_returns, unpack_returns
from ..trial import TrialResult, TrialState, Window
from .data import FeedSnapshot, build_feeds, perturb_feeds, slice_feeds
from .performance import Performance

__all__ = ["TrialSpec", "Payload", "Runtime", "FeedRef", "feed_refs", "make_template", "pack_template", "pack_config",
           "windowed_strategy", "PERF_NAME", "reads_observers"]

PERF_NAME = "bto_performance"

#: Error text of a run the strategy skipped (``StrategySkipError``, or a run that returned no strategy).
SKIPPED = "the strategy raised StrategySkipError for these parameters"


@dataclass(frozen=True)
class TrialSpec:
    """What a worker needs to run one trial (small: sent per trial)."""

    number: int
    params: dict[str, Any]
    window: Window = field(default_factory=Window)
    keep_series: bool = False
    #: Optional noise applied to the (sliced) feeds before the run: ``{"model", "std_pct", "seed"}``
    #: (see :func:`bt_optimize.engine.data.perturb_feeds`); ``None`` runs on the data as it is.
    perturb: dict[str, Any] | None = None
    #: Optional folds (see :func:`bt_optimize.engine.windows.expanding_folds`): when given, the trial runs once per
    #: fold window instead of ``window``; its value is the mean of the fold values, recorded in
    #: :attr:`~bt_optimize.trial.TrialResult.folds`.
    folds: tuple[Window, ...] = ()
    #: Run with the Cerebro's default observers (``stdstats``) even where the trial does not need them; set by
    #: ``run_best``, whose strategy users plot.
    keep_observers: bool = False
    #: Return the per-bar returns of the measured window, packed (:attr:`~bt_optimize.trial.TrialResult.returns`;
    #: with folds, the folds' returns one after the other).
    keep_returns: bool = False


@dataclass
class Payload:
    """Everything shared by the trials of a study; sent to each worker once.

    Attributes:
        template: A pickled Cerebro holding the user's broker, sizers, analyzers, observers and settings,
            without data or strategies (for the serial executor, which never ships it, possibly the
            unpickled :func:`make_template` copy itself when its configuration cannot be pickled).
        feeds: The preloaded feeds as arrays.
        strategy: The strategy class (or a strategy factory, as ``optstrategy`` accepts).
        objective: How to score a finished run.
        perf_kwargs: Extra parameters of the Performance analyzer.
        keep_observers: Keep the Cerebro's default observers (``stdstats``) in every trial. By default trials
            leave them out unless something reads them (:func:`reads_observers`).
        strategy_args: Positional arguments given to the strategy in every trial.
        strategy_kwargs: Fixed keyword arguments given to the strategy in every trial (the trial's params win);
            feeds in them are :class:`FeedRef` placeholders (see :func:`feed_refs`).
    """

    template: bytes | bt.Cerebro
    feeds: list[FeedSnapshot]
    strategy: type
    objective: Objective
    perf_kwargs: dict[str, Any] = field(default_factory=dict)
    keep_observers: bool = False
    strategy_args: tuple = ()
    strategy_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedRef:
    """Stands for the user's feed number ``index`` in a template; the worker puts the rebuilt feed in its place."""

    index: int


def _map(obj: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(obj, list):
        return [_map(x, fn) for x in obj]
    if isinstance(obj, tuple) and type(obj) is tuple:
        return tuple(_map(x, fn) for x in obj)
    if isinstance(obj, dict) and type(obj) is dict:
        return {k: _map(v, fn) for k, v in obj.items()}
    return fn(obj)


def feed_refs(obj: Any, datas: list[Any]) -> Any:
    """``obj`` (arguments in lists, tuples and dicts) with every feed of ``datas`` replaced by a :class:`FeedRef`.

    Observers, analyzers, sizers and strategies often get a feed (``addobserver(bt.observers.Benchmark, data=d)``);
    a trial runs on rebuilt feeds, so the reference is kept by position and resolved by :func:`resolve_feeds`.
    """
    index = {id(d): i for i, d in enumerate(datas)}

    def swap(x: Any) -> Any:
        if isinstance(x, bt.AbstractDataBase) and id(x) in index:
            return FeedRef(index[id(x)])
        return x

    return _map(obj, swap)


def resolve_feeds(obj: Any, datas: list[Any]) -> Any:
    """The inverse of :func:`feed_refs`: every :class:`FeedRef` replaced by the feed of ``datas`` at its index."""
    return _map(obj, lambda x: datas[x.index] if isinstance(x, FeedRef) else x)


def make_template(cerebro: bt.Cerebro, run_options: dict[str, Any] | None = None) -> bt.Cerebro:
    """A copy of ``cerebro``'s configuration with no data, no strategies and no writers, ready to pickle.

    ``run_options`` are ``Cerebro`` params set on the copy, as ``cerebro.run(**run_options)`` would set them.
    Feeds given to analyzers, observers and sizers become :class:`FeedRef` placeholders.
    """
    tpl = copy.copy(cerebro)
    tpl.__dict__.pop("runstrats", None)
    tpl.datas, tpl.datasbyname, tpl.feeds = [], {}, []
    tpl.strats, tpl.optcbs, tpl.writers = [], [], []
    datas = list(cerebro.datas)
    tpl.analyzers = [(c, *feed_refs((a, k), datas)) for c, a, k in cerebro.analyzers]
    tpl.observers = [(m, c, *feed_refs((a, k), datas)) for m, c, a, k in cerebro.observers]
    tpl.sizers = {i: (c, *feed_refs((a, k), datas)) for i, (c, a, k) in cerebro.sizers.items()}
    tpl._dooptimize = False
    tpl._dataid = None  # set per run (itertools counters do not pickle on every Python version)
    tpl.params = copy.copy(cerebro.params)
    tpl.p = tpl.params
    for key, value in (run_options or {}).items():
        setattr(tpl.p, key, value)
    tpl.p.writer = False
    tpl.p.maxcpus = 1
    # The broker points back at its Cerebro: map that reference to the template, or deepcopy would copy the
    # whole Cerebro with its feeds (and fail on a feed whose file is open, as in a run without preload).
    tpl._broker = copy.deepcopy(cerebro._broker, {id(cerebro): tpl})
    for attr in ("_bto_optreg",):
        tpl.__dict__.pop(attr, None)
    return tpl


def pack_template(cerebro: bt.Cerebro, run_options: dict[str, Any] | None = None) -> bytes:
    """Pickle :func:`make_template` of ``cerebro``, naming the part that cannot be pickled if any.

    Raises:
        PicklingError: an analyzer, observer, sizer or broker argument cannot be sent to a worker.
    """
    return pack_config(make_template(cerebro, run_options))


def pack_config(tpl: bt.Cerebro) -> bytes:
    """Pickle a configuration made by :func:`make_template`, naming the part that cannot be pickled if any.

    Raises:
        PicklingError: an analyzer, observer, sizer or broker argument cannot be sent to a worker.
    """
    try:
        return pickle.dumps(tpl, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        parts: list[tuple[str, Any]] = []
        parts += [(f"analyzer {c.__name__} (args {a!r}, kwargs {k!r})", (c, a, k)) for c, a, k in tpl.analyzers]
        parts += [(f"observer {o[1].__name__}", o) for o in tpl.observers]
        parts += [(f"sizer {v[0].__name__}", v) for v in tpl.sizers.values()]
        parts += [("the broker", tpl._broker), ("the Cerebro parameters", tpl.params)]
        what = "the Cerebro's configuration"
        for label, obj in parts:
            try:
                pickle.dumps(obj)
            except Exception:
                what = label
                break
        raise PicklingError(
            f"{what} cannot be sent to worker processes ({type(exc).__name__}: {exc}). Use module-level classes "
            "and picklable arguments (no lambdas, open files or stores), or run with maxcpus=1"
        ) from exc


_READS_STATS = re.compile(r"\b(stats|observers|getobservers)\b")


def _own_classes(cls: type) -> list[type]:
    """``cls`` and its bases, less backtrader's and Python's own classes."""
    return [c for c in inspect.getmro(cls)
            if c is not object and c.__module__.split(".")[0] not in ("backtrader", "builtins", "bt_optimize")]


def reads_observers(strategy: type, cerebro: bt.Cerebro) -> bool:
    """Whether a run may read the default observers (``strategy.stats``), so trials must keep them.

    Observers only record values for plotting: they never change orders, fills or analyzers, so trials run
    without backtrader's default ``Broker``/``BuySell``/``Trades`` observers (about a sixth of a plain run's time)
    unless the code of the strategy class (or a base), of an analyzer or of an observer the user added mentions
    ``stats``, ``observers`` or ``getobservers``. Code whose source cannot be read counts as reading them.
    Observers the user added with ``addobserver`` always run.
    """
    if not (isinstance(strategy, type) and issubclass(strategy, bt.Strategy)):
        return True  # a strategy factory: the strategies it returns are not known here
    classes = list(_own_classes(strategy))
    for entry in getattr(cerebro, "analyzers", []):
        classes += _own_classes(entry[0])
    for entry in getattr(cerebro, "observers", []):
        classes += _own_classes(entry[1])
    for c in classes:
        try:
            src = inspect.getsource(c)
        except (OSError, TypeError):
            return True
        if _READS_STATS.search(src):
            return True
    return False


_WINDOWED: dict[type, type] = {}


def windowed_strategy(cls: type) -> type:
    """A subclass of ``cls`` that places no order and feeds no analyzer before its gate time.

    The gate is the backtrader date number of the window's first bar (param ``bto_gate``); bars before it only
    prime indicators. Analyzer children (e.g. the ``TimeReturn`` inside ``SharpeRatio``) are dispatched by
    their parents, so gating the strategy's dispatch covers them.
    """
    sub = _WINDOWED.get(cls)
    if sub is not None:
        return sub
    if not (isinstance(cls, type) and issubclass(cls, bt.Strategy)):
        sub = _WINDOWED[cls] = _gated_factory(cls)
        return sub

    def _bto_active(self: Any) -> bool:
        d0 = self.datas[0]
        return len(d0) > 0 and d0.datetime[0] >= self.p.bto_gate

    def buy(self: Any, *args: Any, **kwargs: Any) -> Any:
        return cls.buy(self, *args, **kwargs) if _bto_active(self) else None

    def sell(self: Any, *args: Any, **kwargs: Any) -> Any:
        return cls.sell(self, *args, **kwargs) if _bto_active(self) else None

    def _next_analyzers(self: Any, minperstatus: int, once: bool = False) -> None:
        if _bto_active(self):
            cls._next_analyzers(self, minperstatus, once)

    def _notify(self: Any, qorders: Any = (), qtrades: Any = ()) -> None:
        if _bto_active(self):
            return cls._notify(self, qorders=list(qorders), qtrades=list(qtrades))
        analyzers, slaves = self.analyzers, self._slave_analyzers
        self.analyzers, self._slave_analyzers = [], []
        try:
            return cls._notify(self, qorders=list(qorders), qtrades=list(qtrades))
        finally:
            self.analyzers, self._slave_analyzers = analyzers, slaves

    ns = {"buy": buy, "sell": sell, "_next_analyzers": _next_analyzers, "_notify": _notify,
          "params": (("bto_gate", float("-inf")),), "__module__": cls.__module__, "__doc__": cls.__doc__}
    sub = type(cls.__name__, (cls,), ns)
    _WINDOWED[cls] = sub
    return sub


def _gated_factory(factory: Any) -> type:
    """A strategy factory (what ``optstrategy`` accepts: a callable returning a strategy) whose strategies are
    gated as :func:`windowed_strategy` gates a class: each one becomes an instance of the gated subclass of its
    own class."""

    class GatedFactory:
        def __new__(cls, *args: Any, bto_gate: float = float("-inf"), **kwargs: Any) -> Any:
            strat = factory(*args, **kwargs)
            strat.__class__ = windowed_strategy(type(strat))
            strat.p.bto_gate = bto_gate
            return strat

    GatedFactory.__name__ = GatedFactory.__qualname__ = getattr(factory, "__name__", "GatedFactory")
    return GatedFactory


class Runtime:
    """The worker-side state built once from a :class:`Payload`."""

    def __init__(self, payload: Payload | bytes) -> None:
        if isinstance(payload, bytes):
            payload = pickle.loads(payload)
        self.payload = payload
        self._slices: dict[Window, tuple[list[FeedSnapshot], float | None]] = {}
        self._observers: bool | None = None  # whether trials keep the default observers: decided on first use

    def _keep_observers(self, cerebro: bt.Cerebro) -> bool:
        if self._observers is None:
            p = self.payload
            self._observers = bool(p.keep_observers) or reads_observers(p.strategy, cerebro)
        return self._observers

    def _slice(self, window: Window) -> tuple[list[FeedSnapshot], float | None]:
        hit = self._slices.get(window)
        if hit is None:
            if len(self._slices) > 64:
                self._slices.clear()
            hit = self._slices[window] = slice_feeds(self.payload.feeds, window)
        return hit

    def build_cerebro(self, spec: TrialSpec) -> bt.Cerebro:
        """A ready-to-run Cerebro for ``spec`` (fresh broker, rebuilt feeds, strategy and Performance)."""
        p = self.payload
        cerebro = pickle.loads(p.template) if isinstance(p.template, bytes) else copy.deepcopy(p.template)
        cerebro._dataid = itertools.count(1)  # rebuilt feeds get the ids 1, 2, ... as in the user's own run
        if not spec.keep_observers and not self._keep_observers(cerebro):
            cerebro.p.stdstats = False  # nothing reads them: see reads_observers
        feeds, gate = self._slice(spec.window)
        if spec.perturb is not None:
            feeds = perturb_feeds(feeds, spec.perturb)
        for snap, feed in zip(feeds, build_feeds(feeds)):
            cerebro.adddata(feed, name=snap.name or None)
        datas = cerebro.datas
        cerebro.analyzers = [(c, *resolve_feeds((a, k), datas)) for c, a, k in cerebro.analyzers]
        cerebro.observers = [(m, c, *resolve_feeds((a, k), datas)) for m, c, a, k in cerebro.observers]
        cerebro.sizers = {i: (c, *resolve_feeds((a, k), datas)) for i, (c, a, k) in cerebro.sizers.items()}
        strat = p.strategy
        args = resolve_feeds(tuple(p.strategy_args), datas)
        kwargs = {**resolve_feeds(dict(p.strategy_kwargs), datas), **spec.params}
        if gate is not None:
            strat = windowed_strategy(strat)
            kwargs["bto_gate"] = gate
        cerebro.addstrategy(strat, *args, **kwargs)
        cerebro.addanalyzer(Performance, _name=PERF_NAME, keep_series=spec.keep_series, **p.perf_kwargs)
        return cerebro

    def run_folds(self, spec: TrialSpec) -> tuple[TrialResult, Any]:
        """Run ``spec`` once per fold window; the value is the mean of the fold values.

        The result holds :attr:`~bt_optimize.trial.TrialResult.folds` (the fold values, in fold order), the built-in
        metrics averaged over the folds (a metric missing in a fold is left out of its mean), the analyzers of the
        last fold and the summed duration; its window is the spec's. The first fold that does not complete decides
        the outcome (its state, its error prefixed with the fold), and the remaining folds are not run.
        """
        t0 = time.perf_counter()
        values: list[float] = []
        metrics: list[dict[str, Any]] = []
        returns: list[np.ndarray] = []
        res: TrialResult | None = None
        strat = None
        for i, w in enumerate(spec.folds):
            res, strat = self.run(replace(spec, window=w, folds=()))
            if res.state is not TrialState.COMPLETE:
                return replace(res, window=spec.window, error=f"fold {i + 1} of {len(spec.folds)} ({w}): {res.error}",
                               duration_s=time.perf_counter() - t0), None
            values.append(float(res.value))  # type: ignore[arg-type]
            metrics.append(res.metrics)
            if res.returns is not None:
                returns.append(unpack_returns(res.returns))
        assert res is not None  # a spec with folds has at least one
        mean: dict[str, Any] = dict(metrics[-1])
        for k in mean:
            xs = [m[k] for m in metrics if isinstance(m.get(k), (int, float)) and math.isfinite(m[k])]
            if xs and isinstance(mean[k], (int, float, type(None))):
                mean[k] = sum(xs) / len(xs)
        limits = self.payload.objective.limits
        whole = spec.keep_returns and len(returns) == len(spec.folds)
        packed = pack_returns(np.concatenate(returns)) if whole else None
        return replace(res, window=spec.window, value=sum(values) / len(values), metrics=mean, values=None,
                       folds=tuple(values), duration_s=time.perf_counter() - t0, returns=packed,
                       # limits hold on the fold means
                       breaches=res.breaches if limits is None else _breaches(limits.breaches(mean))), strat

    def run(self, spec: TrialSpec) -> tuple[TrialResult, Any]:
        """Run one trial; returns its result and the strategy (``None`` when skipped or failed)."""
        if spec.folds:
            return self.run_folds(spec)
        t0 = time.perf_counter()
        fields: dict[str, Any] = {}
        strat = None
        try:
            cerebro = self.build_cerebro(spec)
            out = cerebro.run()
            if not out:
                fields.update(state=TrialState.INFEASIBLE, error=SKIPPED)
            else:
                strat = out[0]
                perf = strat.analyzers.getbyname(PERF_NAME)
                raw = perf.raw_metrics()
                fields["metrics"] = perf.get_analysis()
                fields["analysis"] = {name: to_plain(strat.analyzers.getbyname(name).get_analysis())
                                      for name in strat.analyzers.getnames() if name != PERF_NAME}
                if spec.keep_returns:
                    fields["returns"] = pack_returns(perf.bar_returns())
                value, extra = self.payload.objective.evaluate_result(strat, raw)
                if "limits" in extra:
                    fields["breaches"] = _breaches(extra["limits"])
                if (extra.get("user_attrs") or {}).get("values") is not None:
                    fields["values"] = tuple(extra["user_attrs"]["values"])
                if math.isnan(value) or math.isinf(value):
                    fields.update(state=TrialState.FAIL, error=(
                        f"objective {self.payload.objective.describe()['objective']!r} is {value}"
                        + (" (no closed trades)" if not raw.get("n_trades") else "")))
                else:
                    fields.update(state=TrialState.COMPLETE, value=value)
        except bt.errors.StrategySkipError:
            fields.update(state=TrialState.INFEASIBLE, error=SKIPPED)
        except ObjectiveError as exc:  # the run finished but its objective cannot be read: the study judges
            fields.update(state=TrialState.FAIL, error=f"ObjectiveError: {exc}", objective_error=True)
        except Exception as exc:
            tb = traceback.format_exc(limit=-6)
            fields.update(state=TrialState.FAIL, error=f"{type(exc).__name__}: {exc}\n{tb[-3000:]}")
        return TrialResult(number=spec.number, window=spec.window, duration_s=time.perf_counter() - t0,
                           **fields), strat


def _breaches(broken: Any) -> tuple[tuple[str, str], ...]:
    """:meth:`~bt_optimize.objectives.Limits.breaches` as a tuple of ``(metric, message)`` pairs."""
    return tuple((str(name), str(message)) for name, message in broken)
