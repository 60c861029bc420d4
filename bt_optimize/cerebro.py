"""``bto.Cerebro``: a ``bt.Cerebro`` with optimization entry points.

Everything backtrader does is untouched: ``run()``, ``optstrategy()`` + ``run()``, ``plot()``, analyzers,
writers and observers behave exactly as in ``bt.Cerebro``. The ``optimize_*`` methods are additions; called
without a strategy they use the last ``optstrategy(...)`` registration and turn its iterables into the space.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import backtrader as bt

from .engine.data import snapshot_feeds
from .engine.executors import Executor
from .engine.plans import PLANS, plan_bayes, plan_genetic, plan_grid, plan_random
from .engine.runner import SearchPlan, new_study, prepare, run_search, screen_options
from .engine.worker import feed_refs
from .exceptions import ObjectiveError, SpaceError
from .objective import Objective, analyzer_names, make_objective
from .resolve import resolve_call, strategy_name
from .robustness.sensitivity import SensitivityResult
from .storage import Storage, get_storage
from .study import Study
from .trial import Window
from .walkforward.result import WalkForward

__all__ = ["Cerebro"]

Constraint = Callable[[dict[str, Any]], bool]


class Cerebro(bt.Cerebro):
    """A drop-in ``bt.Cerebro`` that can also optimize.

    Accepts every ``bt.Cerebro`` parameter (``maxcpus`` sets the number of worker processes of the
    optimizers, as it does for ``optstrategy``).

    Example:
        >>> import bt_optimize as bto
        >>> from sample_strategies import SmaCross
        >>> cerebro = bto.Cerebro(maxcpus=2)
        >>> cerebro.adddata(bto.datasets.load("orcl", fromdate="2005-01-01", todate="2008-12-31"))  # doctest: +SKIP
        >>> study = cerebro.optimize_grid(SmaCross, fast=range(5, 30, 5), slow=range(30, 90, 20))  # doctest: +SKIP
        >>> study.best_params  # doctest: +SKIP
    """

    def optstrategy(self, strategy: type, *args: Any, **kwargs: Any) -> None:
        """Exactly ``bt.Cerebro.optstrategy``; the registration is also remembered for ``optimize_*``."""
        # one-shot iterators (generators) are read once here, so backtrader and optimize_* see the same values
        args = tuple(list(a) if isinstance(a, Iterator) else a for a in args)
        kwargs = {k: list(v) if isinstance(v, Iterator) else v for k, v in kwargs.items()}
        self._bto_optreg = (strategy, args, dict(kwargs))
        super().optstrategy(strategy, *args, **kwargs)

    # ------------------------------------------------------------------ shared set-up
    def _run(self, plan: SearchPlan, strategy: type | None, dims: dict[str, Any], *, objective: Any,
             maximize: bool | None, constraint: Constraint | None, min_trades: int | None,
             limits: dict[str, Any] | None, storage: str | Path | Storage | None, study_name: str | None,
             progress: bool | None, window: Window | None, keep_series: bool, keep_returns: bool,
             executor: str | Executor | None, keep_observers: bool = False) -> Study:
        """Validate what every ``optimize_*`` method shares, then set up the engine once and run ``plan``."""
        setup = resolve_call(self, strategy, dims)
        strategy, space, run_options = setup.strategy, setup.space, dict(setup.run_options)
        obj = make_objective(objective, maximize, min_trades=min_trades, limits=limits)
        obj.validate(analyzer_names(self.analyzers))
        if constraint is not None and not callable(constraint):
            raise SpaceError(f"constraint={constraint!r}: pass a function taking the params dict and returning a bool")
        if not isinstance(keep_returns, bool):
            raise SpaceError(f"keep_returns={keep_returns!r}: give True (keep each trial's returns) or False")
        if not isinstance(keep_observers, bool):
            raise SpaceError(f"keep_observers={keep_observers!r}: give True (run backtrader's default observers in "
                             "every trial) or False")
        if window is not None and not isinstance(window, Window):
            raise SpaceError(f"window={window!r}: pass a bto.Window(start, end, warmup)")
        search = plan.make(space, obj, constraint)  # the search's own checks, before any backtest
        feeds = snapshot_feeds(self)
        if window is not None and window.start >= len(feeds[0]):
            raise SpaceError(f"{window} starts after the last bar; the first feed has {len(feeds[0])} bars")
        store = get_storage(storage)
        payload, ex = prepare(self, strategy, obj, executor=executor, maxcpus=run_options.pop("maxcpus", None),
                              feeds=feeds, run_options=run_options, strategy_args=feed_refs(setup.args, self.datas),
                              strategy_kwargs=feed_refs(setup.kwargs, self.datas), keep_observers=keep_observers)
        try:
            study = new_study(payload, space, method=plan.method, storage=store,
                              study_name=study_name or f"{strategy_name(strategy)}-{plan.method}",
                              constraint=constraint, window=window, progress=progress, keep_series=keep_series,
                              keep_returns=keep_returns, options=screen_options(plan))
            return run_search(study, plan, ex, search=search)
        finally:
            ex.close()

    # ------------------------------------------------------------------ entry points
    def optimize_grid(self, strategy: type | None = None, *, objective: Any = "sharpe_ratio",
                      maximize: bool | None = None, constraint: Constraint | None = None,
                      min_trades: int | None = None, limits: dict[str, Any] | None = None,
                      storage: str | Path | Storage | None = None, study_name: str | None = None,
                      progress: bool | None = None, window: Window | None = None, keep_series: bool = False,
                      keep_returns: bool = True, keep_observers: bool = False, executor: str | Executor | None = None,
                      **params: Any) -> Study:
        """Backtest every point of a grid, in parallel, and return the :class:`Study`.

        Args:
            strategy: The strategy class (``None``: the last ``optstrategy`` registration).
            objective: Built-in metric, ``"analyzer_name[.path]"``, ``bto.Score("expression")``, module-level
                ``callable(strategy)``, or a list of 2-3 of these for a multi-objective study
                (``study.best_trials`` is then the Pareto front; see :mod:`bt_optimize.objectives.multi`).
            maximize: Direction (default: natural for the metric; ``False`` for ``max_drawdown``); a list of
                directions for a list of objectives.
            constraint: ``callable(params) -> bool``; points where it is false are recorded as infeasible,
                never run.
            min_trades: Fewest closed trades a trial needs to count; a trial with fewer ends ``infeasible`` (never
                the best; the reason is in its ``error``). Short for ``limits={"n_trades": (min_trades, None)}``.
            limits: Bounds on built-in metrics, checked after each run like ``min_trades``:
                ``{"max_drawdown": 0.25}`` (a bare number bounds the bad side: a cap for ``max_drawdown``, a floor
                for the others) or ``{"profit_factor": (1.2, None)}`` (low, high). See
                :mod:`bt_optimize.objectives.limits`.
            storage: ``None`` (memory), a SQLite path or ``"sqlite:///path.db"``; an existing study resumes.
            study_name: Name of the study in the storage (default ``"<Strategy>-grid"``).
            progress: Show a progress bar (default: when stderr is a terminal).
            window: Optional :class:`~bt_optimize.Window` of the data to measure on.
            keep_series: Keep each trial's equity curve and trades in its metrics.
            keep_returns: Keep each trial's per-bar returns (float32, compressed; a few kB a trial) for
                :meth:`Study.overfitting`; ``False`` saves that space.
            keep_observers: Run backtrader's default observers (``stdstats``) in every trial. They only record for
                plots, so by default trials leave them out unless the strategy's code reads ``self.stats``;
                ``run_best()`` always runs them.
            executor: ``"serial"``, ``"process"`` or an Executor (default by ``maxcpus``).
            **params: The space: ``name=bto.Int(...)``/``Real``/``Cat`` or shorthands (``range``, list, tuple).

        Returns:
            The finished study (``stop_reason`` is ``"exhausted"`` when the whole grid ran).

        Raises:
            SpaceError: bad space or unknown parameter names (before any backtest).
            ObjectiveError: unknown objective (before any backtest).
            AllTrialsFailedError: every trial failed.
        """
        return self._run(plan_grid(), strategy, params, objective=objective, maximize=maximize, constraint=constraint,
                         min_trades=min_trades, limits=limits, storage=storage, study_name=study_name,
                         progress=progress, window=window, keep_series=keep_series, keep_returns=keep_returns,
                         keep_observers=keep_observers, executor=executor)

    def optimize_random(self, strategy: type | None = None, *, n_trials: int = 100, seed: int | None = None,
                        objective: Any = "sharpe_ratio", maximize: bool | None = None,
                        constraint: Constraint | None = None, min_trades: int | None = None,
                        limits: dict[str, Any] | None = None, storage: str | Path | Storage | None = None,
                        study_name: str | None = None, progress: bool | None = None, window: Window | None = None,
                        keep_series: bool = False, keep_returns: bool = True,
                        keep_observers: bool = False, executor: str | Executor | None = None,
                        **params: Any) -> Study:
        """Backtest ``n_trials`` random points (uniform or log-uniform per dimension) and return the Study.

        Discrete spaces are never sampled twice at the same point; a finite space stops when exhausted.
        The same ``seed`` gives the same points; a stored study resumes where it stopped. Other arguments as
        in :meth:`optimize_grid`.

        Example:
            >>> study = cerebro.optimize_random(SmaCross, fast=bto.Int(2, 60), slow=bto.Int(10, 250),
            ...                                 n_trials=200, seed=1)  # doctest: +SKIP
        """
        return self._run(plan_random(n_trials=n_trials, seed=seed), strategy, params, objective=objective,
                         maximize=maximize, constraint=constraint, min_trades=min_trades, limits=limits,
                         storage=storage, study_name=study_name, progress=progress, window=window,
                         keep_series=keep_series, keep_returns=keep_returns,
                         keep_observers=keep_observers, executor=executor)

    def optimize_genetic(self, strategy: type | None = None, *, population_size: int = 30, generations: int = 40,
                         n_trials: int | None = None, selection: str = "tournament", tournament_size: int = 3,
                         crossover_prob: float = 0.8, mutation_prob: float = 0.2, elite_size: int = 3,
                         patience: int | None = None, target: float | None = None, max_time: float | None = None,
                         diversity_threshold: float | None = 0.01, seed: int | None = None,
                         objective: Any = "sharpe_ratio", maximize: bool | None = None,
                         constraint: Constraint | None = None, min_trades: int | None = None,
                         limits: dict[str, Any] | None = None, storage: str | Path | Storage | None = None,
                         study_name: str | None = None, progress: bool | None = None, window: Window | None = None,
                         keep_series: bool = False, keep_returns: bool = True,
                         keep_observers: bool = False, executor: str | Executor | None = None,
                         **params: Any) -> Study:
        """Evolve the parameters with a genetic algorithm (DEAP underneath) and return the Study.

        With several objectives (``objective=[...]``) the selection is NSGA-II (:mod:`bt_optimize.search.nsga2`) and
        ``study.best_trials`` is the Pareto front. Each generation of ``population_size`` individuals is one
        parallel round of backtests. Individuals
        already evaluated (elites, duplicates) are served from the study's cache and cost no backtest.
        Failed and infeasible points get the worst fitness and never become elites. The same ``seed`` gives the
        same trials in the same order whatever ``maxcpus``; a stored study resumes at the generation it reached
        and ends as an uninterrupted run would. ``study.generations`` holds per-generation statistics and
        ``study.plot_generations()`` draws them. Details of the encoding and operators:
        :mod:`bt_optimize.search.genetic`.

        Args:
            strategy: The strategy class (``None``: the last ``optstrategy`` registration).
            population_size: Individuals per generation.
            generations: Generations to evaluate, the initial random one included (stop reason
                ``"generations"``).
            n_trials: Cap on the number of backtests (cache hits do not count; stop reason ``"budget"``).
            selection: ``"tournament"``, ``"roulette"`` (fitness-proportional, shifted so negative values and
                minimisation work) or ``"rank"``.
            tournament_size: Aspirants per tournament.
            crossover_prob: Probability that a pair of parents is crossed.
            mutation_prob: Probability that a child is mutated.
            elite_size: Best distinct individuals copied unchanged into the next generation.
            patience: Stop after this many generations without a better best value (``"patience"``).
            target: Stop once the best value reaches this (``"target"``).
            max_time: Seconds after which no new generation starts (``"max_time"``).
            diversity_threshold: Warn once when the population's diversity (0 to 1) falls below this.
            seed: Seed; needed for exact reproduction and exact resume.
            objective, maximize, constraint, min_trades, limits, storage, study_name, progress, window,
                keep_series, keep_returns, keep_observers, executor, **params: As in :meth:`optimize_grid`
                (``study_name`` defaults to ``"<Strategy>-genetic"``).

        Returns:
            The finished study; ``stop_reason`` is one of ``"generations"``, ``"budget"``, ``"patience"``,
            ``"target"``, ``"max_time"`` (or ``"interrupted"``).

        Raises:
            SpaceError: a bad option, space or parameter name (before any backtest).
            ObjectiveError: unknown objective (before any backtest).
            AllTrialsFailedError: every trial failed.

        Example:
            >>> study = cerebro.optimize_genetic(SmaCross, fast=bto.Int(2, 60), slow=bto.Int(10, 250, step=5),
            ...                                  population_size=20, generations=10, seed=42)  # doctest: +SKIP
            >>> study.generations.tail()  # doctest: +SKIP
        """
        plan = plan_genetic(population_size=population_size, generations=generations, n_trials=n_trials,
                            selection=selection, tournament_size=tournament_size, crossover_prob=crossover_prob,
                            mutation_prob=mutation_prob, elite_size=elite_size, patience=patience, target=target,
                            max_time=max_time, diversity_threshold=diversity_threshold, seed=seed)
        return self._run(plan, strategy, params, objective=objective, maximize=maximize, constraint=constraint,
                         min_trades=min_trades, limits=limits, storage=storage, study_name=study_name,
                         progress=progress, window=window, keep_series=keep_series, keep_returns=keep_returns,
                         keep_observers=keep_observers, executor=executor)

    def optimize_bayes(self, strategy: type | None = None, *, n_trials: int = 100, batch_size: int = 4,
                       seed: int | None = None, initial_points: list[dict[str, Any]] | None = None,
                       initial_values: list[float | None] | None = None, acquisition: str = "auto",
                       refine: float = 0.0, patience: int | None = None, tol: float = 0.0,
                       n_initial_points: int | None = None, fidelity: float | None = None,
                       promote_quantile: float = 0.6, promote_z: float | None = 2.0,
                       fidelity_warmup: int | None = None, cv: int | None = None,
                       objective: Any = "sharpe_ratio",
                       maximize: bool | None = None, constraint: Constraint | None = None,
                       min_trades: int | None = None, limits: dict[str, Any] | None = None,
                       storage: str | Path | Storage | None = None, study_name: str | None = None,
                       progress: bool | None = None, window: Window | None = None, keep_series: bool = False,
                       keep_returns: bool = True, keep_observers: bool = False, executor: str | Executor | None = None,
                      **params: Any) -> Study:
        """Bayesian optimisation with a Gaussian-process surrogate, in parallel rounds of ``batch_size``.

        The first ``n_initial_points`` trials are ``initial_points`` then seeded random points; each later round
        conditions the surrogate on every result and proposes ``batch_size`` distinct new points (never a point
        already run); details in :mod:`bt_optimize.search.bayes`. The
        acquisition adapts by default (``"auto"``: EI, moving toward exploration when progress stalls and back
        when it improves); each trial records ``attr_phase``, ``attr_acquisition`` and ``attr_xi``/``attr_kappa``.
        Failed and infeasible points count as the worst value seen, so the search moves away from them.
        A stored study resumes: its trials are told to a fresh surrogate and none runs twice. With several
        objectives (``objective=[...]``) each round scalarises them with random Chebyshev weights (ParEGO,
        :mod:`bt_optimize.search.parego`) and ``study.best_trials`` is the Pareto front.

        Args:
            strategy: The strategy class (``None``: the last ``optstrategy`` registration).
            n_trials: Budget of backtests (resumed ones included), refinement included.
            batch_size: Backtests per round (run in parallel; use about ``maxcpus``).
            seed: Seed of the initial design and of every round; equal seeds give equal studies.
            initial_points: Parameter dicts evaluated first (e.g. the current production settings).
            initial_values: Known objective values of ``initial_points`` (``None`` for a failed one): they are told
                to the surrogate without running and are not recorded as trials.
            acquisition: ``"auto"`` (default), ``"EI"``, ``"PI"``, ``"LCB"`` or ``"gp_hedge"``.
            refine: Share of ``n_trials`` (0 to <1) spent after the main loop perturbing the best points
                (``attr_phase="refine"``).
            patience: Stop the main loop after this many trials without an improvement larger than ``tol``
                (``stop_reason="patience"``).
            tol: Smallest improvement that counts for ``patience``, in the objective's units.
            n_initial_points: Random/initial trials before the surrogate is used (default
                ``max(2 * batch_size, min(10, 2 * n_params + 2))``).
            fidelity: Optional share of the data (0 to 1) for a quick screen: every candidate first runs on the
                most recent ``fidelity`` of the data (of ``window``); only a candidate that passes the promotion tests
                (``promote_quantile``, ``promote_z``; the best quick value so far always does) is run on the
                full data, the others end ``pruned`` with their quick value (``attr_fidelity``,
                ``attr_quick_value``). Each candidate is one trial of ``n_trials`` whatever its stages; its
                ``duration_s`` covers both runs. The best is always a full-fidelity result. See
                :mod:`bt_optimize.engine.fidelity` and, for how the surrogate treats pruned points,
                :mod:`bt_optimize.search.bayes`. The refinement pass runs at full fidelity.
            promote_quantile: Quantile of the quick values seen so far that a quick value must beat (0.6: about the
                best 40 % pass).
            promote_z: Once the quick values are seen to predict the full ones (a line fitted through the promoted
                trials), a candidate is promoted only if its predicted full value plus ``promote_z`` residual
                standard deviations reaches the best full value so far (larger: more full runs; ``None``: the
                quantile alone). See :mod:`bt_optimize.engine.fidelity`.
            fidelity_warmup: Bars fed before the quick window to prime indicators (default: the largest ``Int``
                value of the space, as periods are usually integer parameters, at most the quick window's length).
            cv: Optional number of walk-forward folds (>= 2): each objective value is the mean over ``cv`` back-to-back
                stretches of the data, each run with all the bars before it as history
                (:func:`bt_optimize.walkforward.windows.expanding_folds`; about ``(cv + 1) / 2`` times the cost of one
                run). ``attr_folds`` holds each trial's fold values; their spread (variance over ``cv``) becomes that
                trial's observation noise in the surrogate. ``study.run_best()`` is one run over the whole window,
                so its value is not the fold mean.
            objective, maximize, constraint, min_trades, limits, storage, study_name, progress, window,
                keep_series, keep_returns, keep_observers, executor: As in :meth:`optimize_grid`.
            **params: The space: ``name=bto.Int(...)``/``Real``/``Cat`` or shorthands.

        Returns:
            The finished study.

        Raises:
            SpaceError: a bad argument, space, parameter name or initial point (before any backtest).
            ObjectiveError: unknown objective (before any backtest).
            AllTrialsFailedError: every trial failed.

        Example:
            >>> study = cerebro.optimize_bayes(SmaCross, fast=bto.Int(2, 40), slow=bto.Int(20, 120, step=5),
            ...                                n_trials=40, batch_size=4, seed=1)  # doctest: +SKIP
        """
        plan = plan_bayes(n_trials=n_trials, batch_size=batch_size, seed=seed, initial_points=initial_points,
                          initial_values=initial_values, acquisition=acquisition, refine=refine, patience=patience,
                          tol=tol, n_initial_points=n_initial_points, fidelity=fidelity,
                          promote_quantile=promote_quantile, promote_z=promote_z, fidelity_warmup=fidelity_warmup,
                          cv=cv)
        return self._run(plan, strategy, params, objective=objective, maximize=maximize, constraint=constraint,
                         min_trades=min_trades, limits=limits, storage=storage, study_name=study_name,
                         progress=progress, window=window, keep_series=keep_series, keep_returns=keep_returns,
                         keep_observers=keep_observers, executor=executor)

    def walk_forward(self, strategy: type | None = None, *, method: str = "random", train: Any = None,
                     validation: Any = None, test: Any = None, step: Any = None, anchored: bool = False,
                     warmup: int = 0, objective: Any = "sharpe_ratio", maximize: bool | None = None,
                     min_trades: int | None = None, limits: dict[str, Any] | None = None,
                     select: str | None = None, top_k: int = 5, min_last_test: float = 0.5,
                     storage: str | Path | Storage | None = None, study_name: str | None = None,
                     progress: bool | None = None, executor: str | Executor | None = None,
                     **kwargs: Any) -> WalkForward:
        """Walk-forward optimization: search each train stretch, pick on validation, trade the unseen test stretch.

        Windows, selection, the stitched out-of-sample curve, storage and diagnostics are described in
        :mod:`bt_optimize.walkforward`. The data is snapshotted and the workers (``maxcpus``) started once; the
        windows run side by side, their trials sharing the workers.

        Args:
            strategy: The strategy class (``None``: the last ``optstrategy`` registration).
            method: Search method of each window: ``"grid"``, ``"random"``, ``"bayes"``, ``"genetic"`` (any
                ``optimize_<name>`` method); its options (``n_trials``, ``seed``, ``batch_size``, ...) go in
                ``**kwargs``.
            train: Train stretch: bars (``750``) or an offset (``"3Y"``, ``"6M"``, ``pd.DateOffset(years=2)``).
            validation: Validation stretch after train (``None``: none).
            test: Out-of-sample stretch after validation.
            step: How far windows move (default ``test``: back-to-back test stretches; smaller: overlapping,
                larger: gapped; the stitching rules are in :mod:`bt_optimize.walkforward`).
            anchored: ``True``: every train stretch starts at the first usable bar (expanding windows).
            warmup: Bars fed before every stretch to prime indicators (the data's first ``warmup`` bars are never
                measured).
            objective: As in :meth:`optimize_grid`.
            maximize: Direction (default: natural for the metric).
            min_trades, limits: As in :meth:`optimize_grid`; they filter each window's train search (the validation
                and test stretches are measured as they come).
            select: ``"validation"`` (re-score the ``top_k`` best train candidates on validation and keep the
                best there) or ``"train"`` (keep the train best); default: ``"validation"`` when there is a
                validation stretch.
            top_k: Train candidates re-scored on validation.
            min_last_test: Keep a last window whose test stretch the data cuts short when it holds at least this
                share of a full one.
            storage: ``None`` (memory) or SQLite; every window's studies are stored under ``study_name`` and a
                killed run resumes at the window and trial where it stopped.
            study_name: Name of the walk-forward (default ``"<Strategy>-walk_forward-<method>"``); window ``i``'s
                search is ``"<study_name>/w<i>"``.
            progress: Progress bars for each window's search.
            executor: ``"serial"``, ``"process"`` or an Executor (default by ``maxcpus``).
            **kwargs: Options of ``optimize_<method>`` and the space (``fast=bto.Int(5, 50)``, ...).

        Returns:
            A :class:`~bt_optimize.walkforward.WalkForward` (``windows``, ``oos_equity``, ``oos_trades``,
            ``summary``, ``plot()``).

        Raises:
            SpaceError: a bad method, option, selection, space or parameter name (before any backtest).
            ObjectiveError: unknown objective (before any backtest).
            DataError: bad window sizes, or data too short for one window; says how much is needed.
            StudyMismatchError: the stored walk-forward of that name was set up differently.
            AllTrialsFailedError: every trial of a window failed.

        Example:
            >>> wf = cerebro.walk_forward(SmaCross, method="grid", fast=range(5, 30, 5), slow=range(40, 120, 20),
            ...                           train=500, validation=125, test=250, warmup=120)  # doctest: +SKIP
            >>> wf.windows, wf.summary["verdict"]  # doctest: +SKIP
        """
        from .walkforward.run import bar_times, check_arguments, run_walk_forward, split_kwargs
        from .walkforward.windows import make_windows

        obj = make_objective(objective, maximize, min_trades=min_trades, limits=limits)
        if obj.is_multi:
            raise ObjectiveError("walk_forward picks one parameter set per window, so it needs one objective; combine "
                                 "several with bto.Score(\"sharpe_ratio - 0.5 * max_drawdown\")")
        select = check_arguments(method=method, train=train, validation=validation, test=test, anchored=anchored,
                                 select=select, top_k=top_k, study_name=study_name)
        strat_for_split = strategy if strategy is not None else getattr(self, "_bto_optreg", (None,))[0]
        method_kw, dims = split_kwargs(method, strat_for_split, kwargs)
        setup = resolve_call(self, strategy, dims)  # run() options among the keywords apply to every trial
        strat, space = setup.strategy, setup.space
        obj.validate(analyzer_names(self.analyzers))
        plan = PLANS[method](**method_kw)
        plan.make(space, obj, None)  # the search's own checks against the space
        feeds = snapshot_feeds(self)
        windows = make_windows(bar_times(feeds[0]), train=train, test=test, validation=validation, step=step,
                               anchored=anchored, warmup=warmup, min_last_test=min_last_test)
        return run_walk_forward(self, strat, space, plan=plan, windows=windows, feeds=feeds, objective=obj,
                                select=select, storage=get_storage(storage),
                                study_name=study_name or f"{strategy_name(strat)}-walk_forward-{method}",
                                top_k=top_k, progress=progress, executor=executor,
                                engine=dict(run_options=dict(setup.run_options),
                                            strategy_args=feed_refs(setup.args, self.datas),
                                            strategy_kwargs=feed_refs(setup.kwargs, self.datas)))

    def sensitivity(self, strategy: type, base_params: dict[str, Any], *, n_points: int = 20,
                    perturbation: float = 0.5, interactions: list[tuple[str, str]] | None = None,
                    objective: Any = "sharpe_ratio", maximize: bool | None = None, n_bootstrap: int = 100,
                    seed: int | None = 0, ranges: dict[str, Any] | None = None, params: list[str] | None = None,
                    interaction_points: int | None = None, interaction_threshold: float = 0.1,
                    window: Window | None = None, executor: str | Executor | None = None,
                    **fixed: Any) -> SensitivityResult:
        """How much the objective moves when each parameter moves around ``base_params``.

        Every numeric parameter of ``base_params`` (or those named in ``params``) is swept one at a time over
        ``n_points`` values within ±``perturbation`` of its base (clipped to ``ranges``; integers deduplicated),
        the others held at their base; each requested pair is also run on a 2-D grid. The distinct points run
        in parallel through the engine. Per parameter the result holds the sweep, the variance, max |gradient|
        and max |curvature| on the normalised sweep, a stability score in [0, 1] with a bootstrap interval and
        a class (robust > 0.8, sensitive <= 0.5); per pair the objective matrix and the cross-derivative
        interaction strength. Definitions and assumptions: :mod:`bt_optimize.stats.sensitivity`; layout of the
        sweeps: :mod:`bt_optimize.robustness.sensitivity`.

        Args:
            strategy: The strategy class.
            base_params: The point to examine (e.g. ``study.best_params``).
            n_points: Values per one-at-a-time sweep (at least 3).
            perturbation: Half-width of each sweep as a fraction of the base, in (0, 1).
            interactions: Pairs of swept parameters to run on a 2-D grid, e.g. ``[("fast", "slow")]``.
            objective: Built-in metric, ``"analyzer_name[.path]"`` or module-level ``callable(strategy)``.
            maximize: Direction (default: natural for the metric).
            n_bootstrap: Bootstrap resamples for each score's interval (0: none).
            seed: Seed of the bootstrap.
            ranges: Explicit limits per parameter: ``(low, high)``, ``bto.Int`` (its step is used) or ``bto.Real``;
                required for a parameter whose base is 0.
            params: Names of the parameters to sweep (default: every numeric one in ``base_params``).
            interaction_points: Values per axis of the interaction grids (default ``min(n_points, 9)``).
            interaction_threshold: Strength above which a pair counts as interacting.
            window: Optional :class:`~bt_optimize.Window` of the data to measure on.
            executor: ``"serial"``, ``"process"`` or an Executor (default by ``maxcpus``).
            **fixed: Other strategy parameters, held constant and not swept.

        Returns:
            A :class:`~bt_optimize.robustness.SensitivityResult` (``results``, ``interactions``, ``report()``,
            ``plot(param)``, ``plot_interaction(a, b)``).

        Raises:
            SpaceError: an invalid argument or parameter name (before any backtest).
            ObjectiveError: an unknown objective (before any backtest), or no finite objective at the base.
            AllTrialsFailedError: every backtest failed.

        Example:
            >>> sens = cerebro.sensitivity(SmaCross, base_params=study.best_params, n_points=20, perturbation=0.5,
            ...                            interactions=[("fast", "slow")], seed=0)  # doctest: +SKIP
            >>> print(sens.report())  # doctest: +SKIP
        """
        from .robustness.sensitivity import plan_sensitivity, run_sensitivity

        plan = plan_sensitivity(strategy, base_params, n_points=n_points, perturbation=perturbation,
                                interactions=interactions, params=params, ranges=ranges,
                                interaction_points=interaction_points, n_bootstrap=n_bootstrap, seed=seed,
                                interaction_threshold=interaction_threshold, fixed=fixed)
        obj = objective if isinstance(objective, Objective) else Objective(objective, maximize)
        obj.validate(analyzer_names(self.analyzers))
        if window is not None and not isinstance(window, Window):
            raise SpaceError(f"window={window!r}: pass a bto.Window(start, end, warmup)")
        return run_sensitivity(self, plan, obj, window=window, executor=executor)
