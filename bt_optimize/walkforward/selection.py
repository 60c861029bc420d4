"""Choosing a window's parameters: rank the train search, re-score the best on validation, keep the winner.

Per window the chosen method searches the train stretch; with a validation stretch (``select="validation"``) the
:data:`TOP_K` best distinct train candidates run on it and the best validation value wins (ties: the better train
rank; when no candidate gives a finite validation value, the train best is kept); without one, or with
``select="train"``, the train best is the pick. Only complete full-fidelity trials are candidates (a trial pruned
by a quick screen never is).
"""

from __future__ import annotations

import math
from typing import Any

from ..objective import Objective
from ..search.base import Search
from ..space import Space, params_key
from ..trial import Trial, TrialState

__all__ = ["TOP_K", "SELECT", "FixedPoints", "ranked", "choose"]

#: Number of the best distinct train candidates re-scored on the validation stretch of each window.
TOP_K = 5

#: The selection rules: re-score on validation, or keep the train best.
SELECT = ("validation", "train")


class FixedPoints(Search):
    """A search that proposes a fixed list of points once each (validation candidates, the test pick)."""

    name = "fixed"

    def __init__(self, space: Space, points: list[dict[str, Any]]) -> None:
        super().__init__(space, None)
        self._points = list(points)
        self._pos = 0

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        out = self._points[self._pos:self._pos + n]
        self._pos += len(out)
        return out

    @property
    def exhausted(self) -> bool:
        return self._pos >= len(self._points)


def ranked(trials: list[Trial], maximize: bool) -> list[Trial]:
    """Complete full-fidelity trials, best first, one per distinct point; ties by canonical params (so the order
    does not depend on trial numbering)."""
    sign = -1.0 if maximize else 1.0
    seen: set[str] = set()
    out = []
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.ok and t.user_attrs.get("fidelity", 1.0) == 1.0]
    for t in sorted(done, key=lambda t: (sign * float(t.value), params_key(t.params))):  # type: ignore[arg-type]
        k = params_key(t.params)
        if k not in seen:
            seen.add(k)
            out.append(t)
    return out


def choose(candidates: list[Trial], validation: list[Trial], objective: Objective) -> tuple[Trial, float]:
    """The pick among ``candidates`` (best train rank first) given their ``validation`` trials.

    Returns:
        The chosen train trial and its validation value (``nan`` when no candidate has a finite one, in which
        case the train best is kept).
    """
    scored = {params_key(t.params): t.value for t in validation if t.ok}
    best_rank = None
    for rank, cand in enumerate(candidates):
        v = scored.get(params_key(cand.params))
        if v is None:
            continue
        if best_rank is None or objective.better(v, scored[params_key(candidates[best_rank].params)]):
            best_rank = rank
    if best_rank is None:
        return candidates[0], math.nan
    pick = candidates[best_rank]
    return pick, float(scored[params_key(pick.params)])  # type: ignore[arg-type]
