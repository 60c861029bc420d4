"""``bto.Cerebro``: a ``bt.Cerebro`` with optimization entry points.

Everything backtrader does is untouched: ``run()``, ``optstrategy()`` + ``run()``, ``plot()``, analyzers,
writers and observers behave exactly as in ``bt.Cerebro``. The ``optimize_*`` methods are additions; called
without a strategy they use the last ``optstrategy(...)`` registration and turn its iterables into the space.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import backtrader as bt

from .engine.data import snapshot_feeds
from .engine.executors import Executor, SerialExecutor, make_executor
from .engine.worker import Payload, make_template, pack_template
from .exceptions import PicklingError, SpaceError
from .objective import Objective, analyzer_names
from .search.base import Search
from .search.grid import GridSearch
from .search.random import RandomSearch
from .space import Space, check_param_names
from .storage import Storage, get_storage
from .study import Study
from .trial import Window

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
        self._bto_optreg = (strategy, args, dict(kwargs))
        super().optstrategy(strategy, *args, **kwargs)

    # ------------------------------------------------------------------ shared set-up
    def _resolve(self, strategy: type | None, dims: dict[str, Any]) -> tuple[type, Space]:
        if strategy is None:
            reg = getattr(self, "_bto_optreg", None)
            if reg is None:
                raise SpaceError(
                    "no strategy given: pass the strategy class as the first argument "
                    "(cerebro.optimize_random(MyStrategy, fast=(5, 50), ...)) or register one with cerebro.optstrategy"
                )
            strategy, args, reg_kwargs = reg
            if args:
                raise SpaceError("optstrategy positional arguments cannot be optimized; pass them as keywords")
            merged = {k: v for k, v in reg_kwargs.items()}
            merged.update(dims)
            dims = merged
        if not (isinstance(strategy, type) and issubclass(strategy, bt.Strategy)):
            raise SpaceError(f"strategy={strategy!r}: pass a backtrader Strategy class (not an instance)")
        if not dims:
            raise SpaceError(
                f"no parameters to optimize; pass some of {strategy.__name__}'s parameters "
                f"({', '.join(strategy.params._getkeys())}) as keywords, e.g. fast=bto.Int(5, 50)"
            )
        check_param_names(strategy, dims)
        return strategy, Space(dims)

    def _study(self, strategy: type | None, dims: dict[str, Any], *, method: str, objective: Any,
               maximize: bool | None, constraint: Constraint | None, storage: str | Path | Storage | None,
               study_name: str | None, progress: bool | None, window: Window | None, keep_series: bool,
               executor: str | Executor | None) -> tuple[Study, Executor]:
        strategy, space = self._resolve(strategy, dims)
        obj = objective if isinstance(objective, Objective) else Objective(objective, maximize)
        obj.validate(analyzer_names(self.analyzers))
        if constraint is not None and not callable(constraint):
            raise SpaceError(f"constraint={constraint!r}: pass a function taking the params dict and returning a bool")
        if window is not None and not isinstance(window, Window):
            raise SpaceError(f"window={window!r}: pass a bto.Window(start, end, warmup)")
        feeds = snapshot_feeds(self)
        if window is not None and window.start >= len(feeds[0]):
            raise SpaceError(f"{window} starts after the last bar; the first feed has {len(feeds[0])} bars")
        ex = make_executor(self.p.maxcpus, executor)
        try:
            template: bytes | bt.Cerebro = pack_template(self)
        except PicklingError:
            if not isinstance(ex, SerialExecutor):
                raise
            template = make_template(self)  # serial: the configuration never leaves this process
        payload = Payload(template=template, feeds=feeds, strategy=strategy, objective=obj)
        store = get_storage(storage)
        name = study_name or f"{strategy.__name__}-{method}"
        study = Study(name=name, space=space, objective=obj, strategy=strategy, payload=payload, storage=store,
                      method=method, constraint=constraint, window=window, progress=progress, keep_series=keep_series)
        ex.start(payload)  # pickles the payload: fails here, before any backtest, if something cannot be sent
        return study, ex

    def _optimize(self, search_factory: Callable[[Space], Search], strategy: type | None, dims: dict[str, Any],
                  n_trials: int | None, method: str, **kw: Any) -> Study:
        study, ex = self._study(strategy, dims, method=method, **kw)
        try:
            return study.optimize(search_factory(study.space), ex, n_trials=n_trials)
        finally:
            ex.close()

    # ------------------------------------------------------------------ entry points
    def optimize_grid(self, strategy: type | None = None, *, objective: Any = "sharpe_ratio",
                      maximize: bool | None = None, constraint: Constraint | None = None,
                      storage: str | Path | Storage | None = None, study_name: str | None = None,
                      progress: bool | None = None, window: Window | None = None, keep_series: bool = False,
                      executor: str | Executor | None = None, **params: Any) -> Study:
        """Backtest every point of a grid, in parallel, and return the :class:`Study`.

        Args:
            strategy: The strategy class (``None``: the last ``optstrategy`` registration).
            objective: Built-in metric, ``"analyzer_name[.path]"`` or module-level ``callable(strategy)``.
            maximize: Direction (default: natural for the metric; ``False`` for ``max_drawdown``).
            constraint: ``callable(params) -> bool``; points where it is false are recorded as infeasible,
                never run.
            storage: ``None`` (memory), a SQLite path or ``"sqlite:///path.db"``; an existing study resumes.
            study_name: Name of the study in the storage (default ``"<Strategy>-grid"``).
            progress: Show a progress bar (default: when stderr is a terminal).
            window: Optional :class:`~bt_optimize.Window` of the data to measure on.
            keep_series: Keep each trial's equity curve and trades in its metrics.
            executor: ``"serial"``, ``"process"`` or an Executor (default by ``maxcpus``).
            **params: The space: ``name=bto.Int(...)``/``Real``/``Cat`` or shorthands (``range``, list, tuple).

        Returns:
            The finished study (``stop_reason`` is ``"exhausted"`` when the whole grid ran).

        Raises:
            SpaceError: bad space or unknown parameter names (before any backtest).
            ObjectiveError: unknown objective (before any backtest).
            AllTrialsFailedError: every trial failed.
        """
        return self._optimize(lambda s: GridSearch(s), strategy, params, None, "grid", objective=objective,
                              maximize=maximize, constraint=constraint, storage=storage, study_name=study_name,
                              progress=progress, window=window, keep_series=keep_series, executor=executor)

    def optimize_random(self, strategy: type | None = None, *, n_trials: int = 100, seed: int | None = None,
                        objective: Any = "sharpe_ratio", maximize: bool | None = None,
                        constraint: Constraint | None = None, storage: str | Path | Storage | None = None,
                        study_name: str | None = None, progress: bool | None = None, window: Window | None = None,
                        keep_series: bool = False, executor: str | Executor | None = None, **params: Any) -> Study:
        """Backtest ``n_trials`` random points (uniform or log-uniform per dimension) and return the Study.

        Discrete spaces are never sampled twice at the same point; a finite space stops when exhausted.
        The same ``seed`` gives the same points; a stored study resumes where it stopped. Other arguments as
        in :meth:`optimize_grid`.

        Example:
            >>> study = cerebro.optimize_random(SmaCross, fast=bto.Int(2, 60), slow=bto.Int(10, 250),
            ...                                 n_trials=200, seed=1)  # doctest: +SKIP
        """
        if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
            raise SpaceError(f"n_trials={n_trials!r}: give a positive whole number of backtests")
        return self._optimize(lambda s: RandomSearch(s, seed), strategy, params, n_trials, "random",
                              objective=objective, maximize=maximize, constraint=constraint, storage=storage,
                              study_name=study_name, progress=progress, window=window, keep_series=keep_series,
                              executor=executor)
