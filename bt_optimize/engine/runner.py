"""One engine set-up per job: :func:`prepare` the payload and the executor once, then :func:`run_search`.

Every entry point that runs backtests goes through here: the ``optimize_*`` methods, ``walk_forward``,
``sensitivity`` and the :class:`~bt_optimize.analyzers.NoiseInfusion` analyzer.

1. :func:`prepare` (defined in :mod:`bt_optimize.engine.prepare`, which needs no study) snapshots the feeds once,
   packs the Cerebro's configuration (broker, sizers, analyzers, observers; no data, no strategy) once, builds the
   :class:`~bt_optimize.engine.worker.Payload` and starts the executor, which ships the payload to each worker
   once. The serial executor may take a configuration that cannot be pickled; a process or cluster executor
   cannot, and :func:`prepare` either raises :class:`~bt_optimize.PicklingError` naming the part or, when asked
   (``serial_fallback``), warns and runs in this process.
2. :func:`run_search` runs one :class:`SearchPlan` in a :class:`~bt_optimize.Study`: the plain ask/tell loop, or,
   for a plan with a :class:`Screen`, the staged executor of :mod:`bt_optimize.engine.fidelity` (quick screen,
   folds), followed by the plan's share of refinement (:class:`~bt_optimize.search.refine.RefineSearch`).

A :class:`SearchPlan` is built and validated by the ``plan_*`` functions of :mod:`bt_optimize.engine.plans`
before any backtest, and holds a factory rather than a search, so one plan serves any number of studies (the
windows of a walk-forward).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import BtOptimizeError, SpaceError
from ..objective import Objective
from ..search.base import Search
from ..search.refine import RefineSearch
from ..space import Space
from ..storage.base import Storage
from ..study import REJECTED, Study
from ..trial import Window
from .executors import Executor
from .fidelity import DEFAULT_PROMOTE_QUANTILE, DEFAULT_PROMOTE_Z, staged_executor
from .prepare import prepare
from .worker import Payload

__all__ = ["Screen", "SearchPlan", "prepare", "new_study", "run_search"]

Constraint = Callable[[dict[str, Any]], bool]
#: Builds a fresh search: ``factory(space, objective, constraint) -> Search`` (the objective gives the direction,
#: or the directions of a multi-objective study).
SearchFactory = Callable[[Space, Objective, "Constraint | None"], Search]


@dataclass(frozen=True)
class Screen:
    """Quick-screen and fold options of a search (see :mod:`bt_optimize.engine.fidelity`).

    Attributes:
        fidelity: Share of the window for the quick screen (``None``: no screen).
        promote_quantile: Quantile of the quick values a candidate must beat.
        promote_z: Residual deviations of the "could it become the best?" test (``None``: quantile only).
        fidelity_warmup: Bars fed before the quick window (``None``: from the space).
        cv: Number of walk-forward folds of every full run (``None``: one run over the window).
    """

    fidelity: float | None = None
    promote_quantile: float = DEFAULT_PROMOTE_QUANTILE
    promote_z: float | None = DEFAULT_PROMOTE_Z
    fidelity_warmup: int | None = None
    cv: int | None = None


@dataclass(frozen=True)
class SearchPlan:
    """How to run one search, validated before any backtest.

    Attributes:
        method: The method's name (``"grid"``, ``"random"``, ``"genetic"``, ``"bayes"``), recorded in the study.
        factory: Builds a fresh search for a study.
        n_trials: Budget of backtests (``None``: until the search is exhausted or stops).
        batch_size: Points asked per round (``None``: streamed one at a time as workers free up).
        screen: Quick screen and folds (``None``: every trial is one full run).
        refine: Share of ``n_trials`` spent by a refinement pass after the main search (0: none).
        seed: Seed of the refinement pass.
        settings: Every option of the ``optimize_<method>`` call that made the plan, defaults included (what the
            study's report shows as its options).
    """

    method: str
    factory: SearchFactory
    n_trials: int | None = None
    batch_size: int | None = None
    screen: Screen | None = None
    refine: float = 0.0
    seed: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_refine(self) -> int:
        """Trials of the refinement pass."""
        return int(round(self.refine * self.n_trials)) if self.n_trials else 0

    def make(self, space: Space, objective: Objective, constraint: Constraint | None) -> Search:
        """A fresh search of this plan.

        Raises:
            SpaceError: the search rejects an option given the space (e.g. an initial point outside it).
            ObjectiveError: an option that does not apply to the objective (e.g. to several objectives).
        """
        try:
            return self.factory(space, objective, constraint)
        except BtOptimizeError:
            raise
        except ValueError as exc:
            raise SpaceError(str(exc)) from None


def new_study(payload: Payload, space: Space, *, method: str, storage: Storage, study_name: str | None = None,
              constraint: Constraint | None = None, window: Window | None = None, progress: bool | None = None,
              keep_series: bool = False, keep_returns: bool = True, objective: Objective | None = None,
              options: dict[str, Any] | None = None) -> Study:
    """Open (create or resume) the study of one search on a prepared payload.

    Args:
        payload: From :func:`prepare`; its strategy and objective are the study's.
        space: The search space.
        method: Recorded in the study's set-up (a stored study resumes only with the same method).
        storage: Where the study lives.
        study_name: Its name (default ``"<Strategy>-<method>"``).
        constraint, window, progress, keep_series, keep_returns: See :class:`~bt_optimize.Study`.
        objective: The study's objective when it differs from the payload's (same scoring, other limits).
        options: Evaluation options that change a trial's value (a plan's quick screen and folds: see
            :func:`screen_options`), kept in the study's set-up fingerprint.

    Raises:
        StudyMismatchError: a stored study of that name was set up differently.
    """
    label = getattr(payload.strategy, "__name__", None) or type(payload.strategy).__name__
    name = study_name or f"{label}-{method}"
    return Study(name=name, space=space, objective=payload.objective if objective is None else objective,
                 strategy=payload.strategy, payload=payload, storage=storage, method=method, constraint=constraint,
                 window=window, progress=progress, keep_series=keep_series, keep_returns=keep_returns, options=options)


def screen_options(plan: SearchPlan) -> dict[str, Any] | None:
    """The options of ``plan`` that change a trial's value (quick screen and folds), for the set-up fingerprint."""
    sc = plan.screen
    if sc is None:
        return None
    out: dict[str, Any] = dict(cv=sc.cv, fidelity=sc.fidelity)
    if sc.fidelity is not None:
        out.update(promote_quantile=sc.promote_quantile, promote_z=sc.promote_z, fidelity_warmup=sc.fidelity_warmup)
    return out


def run_search(study: Study, plan: SearchPlan, executor: Executor, search: Search | None = None) -> Study:
    """Run ``plan`` in ``study`` through a started ``executor`` (not closed here).

    Without a screen and a refinement share this is one :meth:`~bt_optimize.Study.optimize` loop. With a
    :class:`Screen` the main search runs through :func:`~bt_optimize.engine.fidelity.staged_executor` around
    ``executor``; with ``refine`` a :class:`~bt_optimize.search.refine.RefineSearch` then gets its share of
    ``n_trials``, even when the main search stopped early (patience, exhausted), and the study keeps the main
    search's stop reason.

    ``search`` is the plan's search when the caller already made it (to check the options before any backtest);
    by default the plan makes it here.

    Returns:
        ``study``, finished (``stop_reason`` set).

    Raises:
        SpaceError: the stored trials were run with another screen (``fidelity`` or ``cv``).
        AllTrialsFailedError: every trial failed.
    """
    obj = study.objective
    study.method_options = dict(plan.settings)
    if search is None:
        search = plan.make(study.space, obj, study.constraint)
    if plan.screen is None and not plan.n_refine:
        return study.optimize(search, executor, n_trials=plan.n_trials, batch_size=plan.batch_size,
                              user_attrs=search.attrs_for)
    screen = plan.screen or Screen()
    staged = dict(window=study.window, n_bars=len(study.payload.feeds[0]), space=study.space,
                  stored=study.get_trials(), maximize=obj.maximize, cv=screen.cv)
    main_ex = staged_executor(executor, fidelity=screen.fidelity, promote_quantile=screen.promote_quantile,
                              promote_z=screen.promote_z, fidelity_warmup=screen.fidelity_warmup, **staged)
    n_trials = plan.n_trials
    n_refine = plan.n_refine
    study.optimize(search, main_ex, n_trials=None if n_trials is None else n_trials - n_refine,
                   batch_size=plan.batch_size, user_attrs=search.attrs_for)
    main_reason = study.stop_reason
    if n_refine and main_reason != "interrupted":
        assert n_trials is not None
        refined = sum(1 for t in study.get_trials() if t.user_attrs.get("phase") == "refine" and not t.cached
                      and t.error != REJECTED)
        goal = n_trials if main_reason == "budget" else min(n_trials, study.n_used - refined + n_refine)
        polish = RefineSearch(study.space, plan.seed, maximize=obj.maximize, constraint=study.constraint)
        study.optimize(polish, staged_executor(executor, **staged), n_trials=goal, batch_size=plan.batch_size,
                       user_attrs=polish.attrs_for)
        if study.stop_reason != "interrupted" and main_reason != "budget":
            study.set_stop_reason(main_reason)  # why the search ended early, not the pass's budget
    return study
