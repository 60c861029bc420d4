"""Objectives: what an optimization maximises or minimises, and :func:`make_objective`, the one an
``optimize_*`` call asks for.

The classes live in :mod:`bt_optimize.objectives`: :class:`Objective` (one metric name, analyzer path, Score or
callable; :mod:`~bt_optimize.objectives.base`) and :class:`~bt_optimize.objectives.MultiObjective` (2 or 3 at once;
:mod:`~bt_optimize.objectives.multi`). This module is their public entry point and builds either from the
arguments of an ``optimize_*`` method.
"""

from __future__ import annotations

import copy
from typing import Any

from .exceptions import ObjectiveError
from .objectives.base import BUILTIN_METRICS, Objective, analyzer_names
from .objectives.limits import Limits
from .objectives.multi import MultiObjective
from .objectives.paths import to_plain

__all__ = ["Objective", "BUILTIN_METRICS", "to_plain", "analyzer_names", "make_objective"]


def make_objective(objective: Any, maximize: Any = None, *, min_trades: Any = None, limits: Any = None) -> Objective:
    """The :class:`Objective` (or multi-objective) an ``optimize_*`` call asks for, with its limits.

    Args:
        objective: A metric name, analyzer path, :class:`~bt_optimize.Score`, callable or :class:`Objective`;
            or a list of 2 or 3 of these for a multi-objective study.
        maximize: ``None`` (natural directions), a bool, or for a list one bool (or ``None``) per objective.
        min_trades: Optional floor on closed trades.
        limits: Optional ``{metric: bound}`` (see :mod:`bt_optimize.objectives.limits`).

    Raises:
        ObjectiveError: a bad objective, direction or limit (before any backtest).
    """
    lim = Limits.build(min_trades=min_trades, limits=limits)
    if isinstance(objective, (list, tuple)):
        return MultiObjective.build(objective, maximize, limits=lim)
    if isinstance(maximize, (list, tuple)):
        raise ObjectiveError(f"maximize={maximize!r}: a list of directions needs a list of objectives")
    if isinstance(objective, Objective):
        if maximize is not None and bool(maximize) != objective.maximize:
            objective = copy.copy(objective)
            objective.maximize = bool(maximize)
        return objective.with_limits(lim) if lim is not None else objective
    return Objective(objective, maximize, limits=lim)
