"""What a study knows of its trials: the lean in-memory records, the cache of points already run, the best trial.

:class:`StudyRecords` is the bookkeeping part of :class:`~bt_optimize.Study`: every trial the study stores or takes
in (resumed, or stored by another run sharing the study) goes through :meth:`StudyRecords._remember`, and stored
trials are seen through the current constraint (:meth:`StudyRecords._judge`).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
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


#: The analysis and metrics of a lean record (read-only, shared: records are never handed to users).
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two parameter dicts hold the very same objects (encoding or decoding changed nothing)."""
    return len(a) == len(b) and all(k in b and b[k] is v for k, v in a.items())


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
    _records: list[Trial]
    _cache: dict[str, Trial]
    _best: Trial | None
    _next_number: int
    _n_ran: int
    _n_used: int
    _numbers: set[int]
    _shown: dict[int, tuple[weakref.ref[Trial], weakref.ref[Trial]]]

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
        # The in-memory record is lean (no metrics, no analysis, no returns) whatever the storage: memory stays
        # flat however many trials run, and the full trials are read back from storage when asked (views.py).
        light = replace(t, analysis=_EMPTY, metrics=_EMPTY, returns=None)
        self._records.append(light)
        self._cache[point_key(t.params, t.window)] = light
        if t.ok and t.user_attrs.get("fidelity", 1.0) == 1.0 and self.objective.better(
                t.value, None if self._best is None else self._best.value):
            self._best = light

    def _decoded(self, t: Trial) -> Trial:
        """A stored trial with its params rebuilt from the space (see :meth:`Space.encode_params`); the trial
        itself when nothing was encoded, so a storage that hands out the same objects keeps their identity."""
        params = self.space.decode_params(t.params)
        return t if _same(params, t.params) else replace(t, params=params)

    def _view(self, t: Trial) -> Trial | None:
        """A stored trial as the study shows it: decoded, then judged by the current constraint.

        A storage that hands out the same object on every load (memory) gets the same view back for as long as
        anyone holds it, so a trial keeps its identity across :meth:`~bt_optimize.Study.get_trials` calls even when
        its params had to be decoded. The views are held weakly: nothing is kept that nobody uses.
        """
        shown = self._shown.get(t.number)
        if shown is not None and shown[0]() is t:
            view = shown[1]()
            if view is not None:
                return view
        view = self._judge(self._decoded(t))
        if view is not None and view is not t:
            self._shown[t.number] = (weakref.ref(t), weakref.ref(view))
        return view

    def _record(self, t: Trial) -> Trial:
        # storage holds JSON only: Cat values JSON cannot hold are stored as their index and label
        params = self.space.encode_params(t.params)
        self.storage.add_trial(self._study_id, t if _same(params, t.params) else replace(t, params=params))
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
