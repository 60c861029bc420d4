"""The :class:`Study`: the ask -> run -> tell loop, and the results object users read.

The class is put together from the parts of this package: :mod:`.records` (bookkeeping), :mod:`.loop` (the loop
and runs sharing a study), :mod:`.views` (best trial, trials table, analyzer output) and :mod:`.analysis`
(overfitting, importances, plots, report).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ..engine.fingerprint import describe_setup
from ..engine.worker import Payload, Runtime
from ..objective import Objective
from ..search.base import Search
from ..space import Space
from ..storage.base import Storage
from ..storage.runs import RunInfo
from ..trial import Trial, Window
from .analysis import StudyAnalyses
from .loop import StudyLoop
from .records import point_key

__all__ = ["Study"]


class Study(StudyLoop, StudyAnalyses):
    """Results of an optimization, and the loop that produces them.

    Created by the ``optimize_*`` methods of :class:`bt_optimize.Cerebro`; users read it:

    Example:
        >>> study = cerebro.optimize_random(SmaCross, fast=(5, 50), slow=(20, 200), n_trials=50)  # doctest: +SKIP
        >>> study.best_params, study.best_value  # doctest: +SKIP
        >>> study.trials.head()  # doctest: +SKIP
    """

    def __init__(self, *, name: str, space: Space, objective: Objective, strategy: type, payload: Payload,
                 storage: Storage, method: str, constraint: Callable[[dict[str, Any]], bool] | None = None,
                 window: Window | None = None, progress: bool | None = None, keep_series: bool = False,
                 keep_returns: bool = True, options: dict[str, Any] | None = None) -> None:
        self.name = name
        self.space = space
        self.objective = objective
        self.strategy = strategy
        self.payload = payload
        self.storage = storage
        self.method = method
        self.constraint = constraint
        self.window = window or Window()
        self.progress = sys.stderr.isatty() if progress is None else bool(progress)
        self.keep_series = keep_series
        self.keep_returns = bool(keep_returns)
        self.stop_reason: str | None = None
        self.search: Search | None = None
        #: The options of the ``optimize_*`` call that ran the study, defaults included (what its report shows).
        self.method_options: dict[str, Any] = {}
        config = {"strategy": f"{strategy.__module__}.{strategy.__qualname__}", "space": space.describe(),
                  "objective": objective.describe(), "method": method,
                  "setup": describe_setup(payload, self.window, options)}
        self._study_id, stored = storage.open_study(name, config)
        self._records: list[Trial] = []
        self._shown = {}  # number -> (stored trial, its view), both weakly held: see _view
        self._cache: dict[str, Trial] = {}
        self._best: Trial | None = None
        self._next_number = 0
        self._n_ran = 0
        self._n_used = 0
        self._n_resumed = len(stored)
        self._numbers: set[int] = set()
        self._cursor = 0
        self._run = RunInfo.this_process()
        self._shared = False
        self._elsewhere = set()
        self._forgotten: set[str] = set()  # stored points an earlier constraint rejected that may run now
        for t in stored:
            self._numbers.add(t.number)
            self._next_number = max(self._next_number, t.number + 1)
            t = self._decoded(t)
            judged = self._judge(t)
            if judged is not None:
                self._remember(judged)
            else:
                self._forgotten.add(point_key(t.params, t.window))
        self._runtime: Runtime | None = None

    def __repr__(self) -> str:
        best = f", best_value={self._best.value:.6g}" if self._best is not None else ""
        return f"<Study {self.name!r} method={self.method} trials={len(self._records)}{best} stop={self.stop_reason}>"
