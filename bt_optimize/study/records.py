"""What a study knows of its trials: the lean in-memory records, the cache of points already run, the best trial.

:class:`StudyRecords` is the bookkeeping part of :class:`~bt_optimize.Study`: every trial the study stores or takes
in (resumed, or stored by another run sharing the study) goes through :meth:`StudyRecords._remember`, and stored
trials are seen through the current constraint (:meth:`StudyRecords._judge`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..space import params_key
from ..storage.runs import CONSTRAINT_REJECTED
from ..trial import Trial, TrialState, Window

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..objective import Objective
    from ..space import Space
    from ..storage.base import Storage

__all__ = ["StudyRecords", "REJECTED", "RAN", "point_key"]

#: States of a trial that ran a backtest.
RAN = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
#: Error text of a point the constraint rejected (recorded ``infeasible``, never run, free for the budget).
REJECTED = CONSTRAINT_REJECTED


def point_key(params: dict[str, Any], window: Window) -> str:
    """The cache key of a point: its parameters and its data window."""
    return params_key(params) + f"|{window.start}:{window.end}:{window.warmup}"


class StudyRecords:
    """The bookkeeping of :class:`~bt_optimize.Study` (its attributes are set by ``Study.__init__``)."""

    name: str
    space: Space
    objective: Objective
    storage: Storage
    constraint: Callable[[dict[str, Any]], bool] | None
    _study_id: int
    _keep: bool
    _records: list[Trial]
    _cache: dict[str, Trial]
    _best: Trial | None
    _next_number: int
    _n_ran: int
    _n_used: int
    _numbers: set[int]

    def _judge(self, t: Trial) -> Trial | None:
        """A stored trial as the current constraint sees it (the constraint is not part of the fingerprint).

        A point an earlier constraint rejected that the current one accepts is forgotten (``None``): the search
        may propose it again and it runs as a new trial. A point that ran but the current constraint rejects is
        shown ``infeasible`` (its stored value stays in storage), so it is never the best and never runs again.
        """
        if self.constraint is None and t.error != REJECTED:
            return t
        try:
            ok = True if self.constraint is None else bool(self.constraint(dict(t.params)))
        except Exception:  # noqa: BLE001 - the loop reports a raising constraint with its point
            return t
        if t.state is TrialState.INFEASIBLE and t.error == REJECTED:
            return None if ok else t
        if not ok and t.state is not TrialState.INFEASIBLE:
            return replace(t, state=TrialState.INFEASIBLE, value=None,
                           error=f"{REJECTED} (changed since this trial ran; its stored result is kept in storage)")
        return t

    def _remember(self, t: Trial) -> None:
        self._numbers.add(t.number)
        self._next_number = max(self._next_number, t.number + 1)
        if t.state in RAN:
            self._n_ran += 1
        if t.state in RAN or (t.state is TrialState.INFEASIBLE and t.error != REJECTED):
            self._n_used += 1
        # With a storage that keeps trials on disk, the in-memory record is lean (no metrics, no analysis):
        # memory stays flat however many trials run; full records are read back from storage when asked.
        light = t if self._keep else replace(t, analysis={}, metrics={}, returns=None)
        self._records.append(light)
        self._cache[point_key(t.params, t.window)] = light
        if t.ok and t.user_attrs.get("fidelity", 1.0) == 1.0 and self.objective.better(
                t.value, None if self._best is None else self._best.value):
            self._best = t if self._keep else replace(t, analysis={}, returns=None)

    def _decoded(self, t: Trial) -> Trial:
        """A stored trial with its params rebuilt from the space (see :meth:`Space.encode_params`)."""
        return replace(t, params=self.space.decode_params(t.params))

    def _record(self, t: Trial) -> Trial:
        # storage holds JSON only: Cat values JSON cannot hold are stored as their index and label
        self.storage.add_trial(self._study_id, replace(t, params=self.space.encode_params(t.params)))
        self._remember(t)
        return t

    @property
    def n_ran(self) -> int:
        """Trials that ran a backtest (complete, failed or pruned), resumed ones included."""
        return self._n_ran

    @property
    def n_used(self) -> int:
        """Trials that used the budget ``n_trials``: every backtest started, resumed ones included. That is
        :attr:`n_ran` plus the points the strategy skipped (``StrategySkipError``); points the constraint rejects
        never reach a backtest and, like cache hits, are free."""
        return self._n_used
