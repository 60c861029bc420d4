"""Running a walk-forward: check the arguments, set the engine up once, run the windows side by side, assemble.

:meth:`bt_optimize.Cerebro.walk_forward` validates with :func:`check_arguments` and :func:`split_kwargs`, then
calls :func:`run_walk_forward`, which

1. records (or checks) the walk-forward's set-up in its manifest study;
2. snapshots the feeds and starts the workers once (:func:`~bt_optimize.engine.runner.prepare`);
3. runs every window's pipeline (search the train stretch, re-score the best on validation, run the pick on
   test) in its own thread, all of them sending their trials through one
   :class:`~bt_optimize.engine.pool.SharedPool`, so no core idles at a window's boundary while another window
   has work;
4. assembles the :class:`~bt_optimize.walkforward.result.WalkForward` in window order.

Windows are independent until stitched, so running them side by side changes no result: each window's studies
see the same trials in the same order as when windows ran one after another (``parallel=False`` still does that,
through the same code).
"""

from __future__ import annotations

import math
import numbers
import threading
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from ..engine.data import FeedSnapshot
from ..engine.executors import Executor
from ..engine.plans import PLANS, plan_options
from ..engine.pool import Cancelled, Lane, SharedPool
from ..engine.runner import SearchPlan, new_study, prepare, run_search, screen_options
from ..exceptions import AllTrialsFailedError, SpaceError, StudyMismatchError
from ..objective import Objective
from ..space import Space
from ..storage.base import Storage
from ..storage.locked import LockedStorage
from ..study import Study
from .result import WalkForward, WindowOutcome, assemble
from .selection import SELECT, TOP_K, FixedPoints, choose, ranked
from .windows import WalkForwardWindow

__all__ = ["check_arguments", "split_kwargs", "run_walk_forward", "bar_times"]


def _check_type(name: str, value: Any, ok: bool, fix: str) -> None:
    if not ok:
        raise SpaceError(f"{name}={value!r}: {fix}")


def check_arguments(*, method: Any, train: Any, validation: Any, test: Any, anchored: Any, select: Any, top_k: Any,
                    study_name: Any) -> str:
    """Check ``walk_forward``'s own arguments (sizes are checked when the windows are made).

    Returns:
        The selection rule (``select``, or its default: ``"validation"`` when there is a validation stretch).

    Raises:
        SpaceError: a bad method, selection, missing size, ``anchored``, ``top_k`` or ``study_name``.
    """
    methods = sorted(PLANS)
    _check_type("method", method, isinstance(method, str) and method in methods,
                f"choose one of {', '.join(repr(m) for m in methods)} (any optimize_<name> method of the Cerebro)")
    _check_type("select", select, select is None or select in SELECT, "use 'validation' or 'train'")
    has_val = validation is not None and not (isinstance(validation, numbers.Integral) and validation == 0)
    if select == "validation" and not has_val:
        raise SpaceError("select='validation' needs a validation stretch: pass validation=... (bars or an offset such "
                         "as '6M'), or use select='train'")
    for name, v in (("train", train), ("test", test)):
        if v is None:
            raise SpaceError(f"{name}= is required: give its size in bars (e.g. {name}=500) or as an offset "
                             f"(e.g. {name}='2Y')")
    _check_type("anchored", anchored, isinstance(anchored, bool), "give True (expanding) or False (rolling)")
    _check_type("top_k", top_k, isinstance(top_k, int) and not isinstance(top_k, bool) and top_k >= 1,
                "give the number (>= 1) of train candidates to re-score on validation")
    _check_type("study_name", study_name, study_name is None or (isinstance(study_name, str) and study_name.strip()),
                "give a non-empty name or None")
    return select or ("validation" if has_val else "train")


def split_kwargs(method: str, strategy: type | None, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``walk_forward``'s extra keywords into options of the method (:data:`~bt_optimize.engine.plans.PLANS`)
    and the search space.

    Raises:
        SpaceError: ``window``/``keep_series`` given, or an option of another method that this one does not take.
    """
    for owned in ("window", "keep_series"):
        if owned in kwargs:
            raise SpaceError(f"{owned}= is set by walk_forward for every stretch; drop it (use train=, validation=, "
                             "test= and warmup= to shape the windows)")
    mine = plan_options(method)
    params = getattr(strategy, "params", None)  # a strategy factory has no params to check
    strategy_params = set(params._getkeys()) if hasattr(params, "_getkeys") else set()
    method_kw, space = {}, {}
    for k, v in kwargs.items():
        if k in mine:
            method_kw[k] = v
            continue
        others = [m for m in sorted(PLANS) if m != method and k in plan_options(m)]
        if others and k not in strategy_params:
            raise SpaceError(f"{k}= is not an option of optimize_{method} (it belongs to "
                             f"{', '.join('optimize_' + m for m in others)}); drop it or choose method="
                             f"{others[0]!r}")
        space[k] = v
    return method_kw, space


def bar_times(feed: FeedSnapshot) -> pd.DatetimeIndex:
    """The bar times of a feed (dates at midnight for daily and longer bars)."""
    dates = pd.DatetimeIndex([bt.num2date(x) for x in feed.datetime], name="datetime")
    return dates.normalize() if feed.timeframe >= bt.TimeFrame.Days else dates


@dataclass(frozen=True)
class _Job:
    """What every window's pipeline shares."""

    payload: Any
    space: Space
    plan: SearchPlan
    objective: Objective
    storage: Storage | LockedStorage
    name: str
    select: str
    top_k: int
    progress: bool | None
    dates: pd.DatetimeIndex

    def fixed(self, name: str, kind: str, window: Any, points: list[dict[str, Any]], lane: Lane,
              keep_series: bool) -> Study:
        """Run a fixed list of points on one stretch (validation candidates, the test pick); limits do not apply."""
        study = new_study(self.payload, self.space, method=f"walk_forward-{kind}", storage=self.storage,
                          study_name=name, window=window, progress=False, keep_series=keep_series,
                          objective=self.objective.with_limits(None))
        try:
            study.optimize(FixedPoints(self.space, points), lane)
        except AllTrialsFailedError:
            pass  # the caller reads the failed trials
        if study.stop_reason == "interrupted":
            raise KeyboardInterrupt
        return study

    def window(self, w: WalkForwardWindow, lane: Lane) -> WindowOutcome:
        """One window: search train, pick (on validation), run the pick on test."""
        i, d = w.index, self.dates
        train = new_study(self.payload, self.space, method=self.plan.method, storage=self.storage,
                          study_name=f"{self.name}/w{i}", window=w.train, progress=self.progress,
                          options=screen_options(self.plan))
        try:
            run_search(train, self.plan, lane)
        except AllTrialsFailedError as exc:
            raise AllTrialsFailedError(f"walk-forward window {i} (train {d[w.train_start]} to "
                                       f"{d[w.train_end - 1]}): {exc}") from exc
        if train.stop_reason == "interrupted":
            raise KeyboardInterrupt
        best = ranked(train.get_trials(), self.objective.maximize)
        if not best:
            raise AllTrialsFailedError(f"walk-forward window {i}: no trial of the train search completed")
        pick, val_value, val = best[0], math.nan, None
        if self.select == "validation" and w.has_validation:
            cands = best[:self.top_k]
            val = self.fixed(f"{self.name}/w{i}/validation", "validation", w.validation,
                             [dict(t.params) for t in cands], lane, keep_series=False)
            pick, val_value = choose(cands, val.get_trials(), self.objective)
        test = self.fixed(f"{self.name}/w{i}/test", "test", w.test, [dict(pick.params)], lane, keep_series=True)
        tt = test.get_trials()[0]
        if "equity" not in tt.metrics:
            raise AllTrialsFailedError(f"walk-forward window {i}: the chosen params {pick.params} failed on the test "
                                       f"stretch ({d[w.test_start]} to {d[w.test_end - 1]}):\n{tt.error}")
        return WindowOutcome(w, train, val, test, pick, val_value)


def _run_windows(job: _Job, windows: list[WalkForwardWindow], executor: Executor,
                 parallel: bool) -> list[WindowOutcome]:
    """Every window's pipeline in its own thread (``parallel``) or all in one thread, through one shared pool."""
    pool = SharedPool(executor)
    groups = [[w] for w in windows] if parallel else [list(windows)]
    outcomes: dict[int, WindowOutcome] = {}
    errors: dict[int, BaseException] = {}

    def work(group: list[WalkForwardWindow], lane: Lane) -> None:
        w = group[0]
        try:
            for w in group:
                outcomes[w.index] = job.window(w, lane)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the calling thread
            errors[w.index] = exc
            if not isinstance(exc, (KeyboardInterrupt, Cancelled)):
                pool.cancel(f"window {w.index} failed")
        finally:
            lane.release()

    threads = [threading.Thread(target=work, args=(g, pool.lane()), name=f"bto-wf-{g[0].index}", daemon=True)
               for g in groups]
    for t in threads:
        t.start()
    try:
        pool.serve()
    finally:
        for t in threads:
            t.join()
    real = [errors[k] for k in sorted(errors) if not isinstance(errors[k], Cancelled)]
    interrupted = next((e for e in real if isinstance(e, KeyboardInterrupt)), None)
    if interrupted is not None:
        raise interrupted
    if real:
        raise real[0]
    return [outcomes[w.index] for w in windows]


def run_walk_forward(cerebro: bt.Cerebro, strategy: type, space: Space, *, plan: SearchPlan,
                     windows: list[WalkForwardWindow], feeds: list[FeedSnapshot], objective: Objective, select: str,
                     storage: Storage, study_name: str, top_k: int = TOP_K, progress: bool | None = None,
                     executor: str | Executor | None = None, manifest: dict[str, Any] | None = None,
                     parallel: bool = True, engine: dict[str, Any] | None = None) -> WalkForward:
    """Run a walk-forward (arguments already validated, e.g. by ``Cerebro.walk_forward``) and assemble the result.

    Args:
        cerebro: The user's Cerebro: its configuration and ``maxcpus`` (its feeds are ``feeds``).
        strategy: The strategy class.
        space: The search space.
        plan: Each window's search (from :data:`~bt_optimize.engine.plans.PLANS`).
        windows: From :func:`~bt_optimize.walkforward.windows.make_windows`.
        feeds: The snapshotted feeds the windows were made from (shipped to the workers once).
        objective: The objective (its limits apply to the train searches only).
        select: ``"validation"`` or ``"train"``.
        storage: Where every study of the walk-forward lives.
        study_name: The walk-forward's name; window studies are ``study_name/w{i}`` (and ``/validation``, ``/test``).
        top_k: Train candidates re-scored on validation.
        progress: Progress bars for the train searches.
        executor: As in the ``optimize_*`` methods.
        manifest: Extra set-up recorded in (and checked against) the manifest study.
        parallel: Run the windows side by side (``False``: one after another, through the same pool).
        engine: Extra arguments of :func:`~bt_optimize.engine.runner.prepare` (``run_options`` with an optional
            ``maxcpus``, ``strategy_args``, ``strategy_kwargs``).

    Returns:
        The :class:`~bt_optimize.walkforward.result.WalkForward`.

    Raises:
        StudyMismatchError: the stored walk-forward of that name was set up differently.
        AllTrialsFailedError: every trial of a window's search failed, or the pick failed on a test stretch (the
            first window that failed, in window order; the other windows stop).
        KeyboardInterrupt: interrupted (everything finished so far is stored).
    """
    dates = bar_times(feeds[0])
    config = {"strategy": f"{strategy.__module__}.{strategy.__qualname__}", "space": space.describe(),
              "objective": objective.with_limits(None).describe(),
              "method": {"walk_forward": plan.method, "select": select, "top_k": top_k, **(manifest or {}),
                         "data": [str(dates[0]), str(dates[-1]), len(dates)],
                         "windows": [w.to_dict() for w in windows]}}
    try:
        storage.open_study(study_name, config)
    except StudyMismatchError as exc:
        raise StudyMismatchError(
            f"walk-forward {study_name!r} already exists with a different set-up (its strategy, space, objective, "
            "data, windows, method or selection differ). Use another study_name, or delete the stored studies "
            f"{study_name!r} and {study_name!r}/w... to start over") from exc
    extra = dict(engine or {})
    run_options = dict(extra.pop("run_options", None) or {})
    payload, ex = prepare(cerebro, strategy, objective, executor=executor, feeds=feeds, run_options=run_options,
                          maxcpus=run_options.pop("maxcpus", None), **extra)
    try:
        job = _Job(payload=payload, space=space, plan=plan, objective=objective, storage=LockedStorage(storage),
                   name=study_name, select=select, top_k=top_k, progress=progress, dates=dates)
        outcomes = _run_windows(job, windows, ex, parallel)
    finally:
        ex.close()
    return assemble(outcomes, dates=dates, names=space.names, objective=objective, top_k=top_k, select=select,
                    timeframe=feeds[0].timeframe, compression=feeds[0].compression, perf_kwargs=payload.perf_kwargs,
                    closes=np.asarray(feeds[0].lines["close"]))
