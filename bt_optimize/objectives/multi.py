"""Multi-objective studies: ``objective=[...]`` with 2 or 3 objectives, each with its own direction.

Each trial records every objective's value in ``user_attrs["values"]`` (in the order given; the ``trials``
DataFrame shows them as ``values_0``, ``values_1``, ...), and its ``value`` is the first objective's, for display
and progress only. There is no single best trial: ``study.best_trials`` is the Pareto front (the complete
full-fidelity trials that no other complete trial dominates), and ``best_params``/``best_value`` raise
:class:`~bt_optimize.exceptions.MultiObjectiveError` pointing to it. A trial where any objective is NaN or
infinite fails like a single-objective trial would.

How each search handles several objectives:

- ``optimize_grid`` and ``optimize_random``: unchanged; the front is computed from the trials.
- ``optimize_genetic``: NSGA-II (DEAP's ``selNSGA2``), see :mod:`bt_optimize.search.nsga2`.
- ``optimize_bayes``: ParEGO, a random Chebyshev scalarisation per round on the same surrogate, see
  :mod:`bt_optimize.search.parego`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..exceptions import ObjectiveError
from ..space import params_key
from ..stats.pareto import non_dominated
from ..trial import Trial
from .base import Objective
from .limits import Limits

__all__ = ["MultiObjective", "pareto_front", "trial_values"]

MAX_OBJECTIVES = 3


class MultiObjective(Objective):
    """Two or three objectives optimised together (see the module docstring).

    Args:
        parts: The objectives, each with its own direction.
        limits: Optional limits every trial must meet.

    Example:
        >>> mo = MultiObjective.build(["sharpe_ratio", "max_drawdown"])
        >>> mo.directions
        [True, False]
    """

    is_multi = True

    def __init__(self, parts: Sequence[Objective], limits: Limits | None = None) -> None:
        self.parts = list(parts)
        first = self.parts[0]
        self.kind, self.name, self.path, self.func, self.score = "multi", ", ".join(self.names), (), None, None
        self.spec = [p.spec for p in self.parts]
        self.maximize = first.maximize  # of ``value`` (the first objective), shown in progress and plots
        self.limits = limits

    @classmethod
    def build(cls, objectives: Sequence[Any], maximize: Any = None, limits: Limits | None = None) -> MultiObjective:
        """Validate ``objective=[...]`` and ``maximize=`` (``None``, or one bool or ``None`` per objective).

        Raises:
            ObjectiveError: fewer than 2 or more than 3 objectives, a nested list, a direction list of another
                length, or a bad objective.
        """
        objectives = list(objectives)
        if not 2 <= len(objectives) <= MAX_OBJECTIVES:
            raise ObjectiveError(f"objective={objectives!r}: a multi-objective study takes 2 or {MAX_OBJECTIVES} "
                                 "objectives; give one objective for a single-objective study")
        if maximize is None:
            directions: list[Any] = [None] * len(objectives)
        elif isinstance(maximize, (list, tuple)) and len(maximize) == len(objectives):
            directions = list(maximize)
        else:
            raise ObjectiveError(f"maximize={maximize!r}: with {len(objectives)} objectives give None (each its "
                                 f"natural direction) or a list of {len(objectives)} directions, e.g. "
                                 f"maximize={[True] * len(objectives)}")
        parts = []
        for spec, d in zip(objectives, directions):
            if isinstance(spec, (list, tuple)):
                raise ObjectiveError(f"objective={objectives!r}: objectives cannot be nested")
            if d is not None and not isinstance(d, bool):
                raise ObjectiveError(f"maximize={maximize!r}: each direction is True, False or None")
            if isinstance(spec, MultiObjective):
                raise ObjectiveError("a multi-objective cannot be part of another")
            if isinstance(spec, Objective):
                parts.append(spec if d is None or d == spec.maximize else Objective(spec.spec, d))
            else:
                parts.append(Objective(spec, d))
        names = [str(p.describe()["objective"]) for p in parts]
        if len(set(names)) != len(names):
            raise ObjectiveError(f"objective={objectives!r} names the same objective twice")
        return cls(parts, limits)

    @property
    def names(self) -> list[str]:
        """One readable name per objective, in order."""
        return [str(p.describe()["objective"]) for p in self.parts]

    @property
    def directions(self) -> list[bool]:
        """``True`` where the objective is maximised, in order."""
        return [p.maximize for p in self.parts]

    def validate(self, analyzer_names: list[str]) -> None:
        """Check every part (see :meth:`Objective.validate`)."""
        for p in self.parts:
            p.validate(analyzer_names)

    def evaluate(self, strategy: Any, metrics: Mapping[str, float]) -> float:
        """The first objective's value (every value: :meth:`evaluate_result`)."""
        return self.parts[0].evaluate(strategy, metrics)

    def evaluate_result(self, strategy: Any, metrics: Mapping[str, float]) -> tuple[float, dict[str, Any]]:
        """The first non-finite value (so the trial fails) or the first value, with every value in
        ``user_attrs["values"]``."""
        values = [p.evaluate(strategy, metrics) for p in self.parts]
        bad = next((v for v in values if not math.isfinite(v)), None)
        extra: dict[str, Any] = {"user_attrs": {"values": [v if math.isfinite(v) else None for v in values]}}
        if self.limits is not None:
            extra["limits"] = self.limits.breaches(metrics)
        return (values[0] if bad is None else bad), extra

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"objective": self.names, "maximize": self.directions}
        if self.limits is not None:
            out["limits"] = self.limits.describe()
        return out

    def __repr__(self) -> str:
        return f"MultiObjective({self.names!r}, maximize={self.directions})"


def trial_values(trial: Trial) -> list[float] | None:
    """The objective values of a complete multi-objective trial (``None`` when it has none)."""
    values = trial.user_attrs.get("values")
    if not trial.ok or not isinstance(values, list) or any(v is None for v in values):
        return None
    return [float(v) for v in values]


def pareto_front(trials: Sequence[Trial], directions: Sequence[bool]) -> list[Trial]:
    """The complete full-fidelity trials that no other such trial dominates, in trial-number order.

    Trials at the same parameters (cache hits) appear once.
    """
    cands, rows, seen = [], [], set()
    for t in sorted(trials, key=lambda t: t.number):
        v = trial_values(t)
        if v is None or t.user_attrs.get("fidelity", 1.0) != 1.0:
            continue
        key = params_key(t.params)
        if key in seen:
            continue
        seen.add(key)
        cands.append(t)
        rows.append(v)
    if not cands:
        return []
    mask = non_dominated(np.asarray(rows), directions)
    return [t for t, m in zip(cands, mask) if m]


def front_points(study: Any) -> tuple[list[list[float]], list[bool]]:
    """Each complete full-fidelity trial's values (one per parameter set) and whether it is on the front.

    Raises:
        ObjectiveError: the study has a single objective.
    """
    if not study.objective.is_multi:
        raise ObjectiveError(f"study {study.name!r} has one objective; plot_pareto needs objective=[...] with 2 or 3")
    front = {t.number for t in study.best_trials}
    points, on, seen = [], [], set()
    for t in study.get_trials():
        v = trial_values(t)
        if v is None or t.user_attrs.get("fidelity", 1.0) != 1.0 or params_key(t.params) in seen:
            continue
        seen.add(params_key(t.params))
        points.append(v)
        on.append(t.number in front)
    return points, on
