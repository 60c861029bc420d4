"""Objectives beyond one metric: composite scores, limits on metrics, several objectives at once.

- :class:`Score` (:mod:`.score`): an arithmetic expression over built-in metrics and analyzer paths.
- :class:`Limits` (:mod:`.limits`): ``min_trades=`` and ``limits=`` of the ``optimize_*`` methods.
- :class:`MultiObjective` (:mod:`.multi`): ``objective=[...]``, Pareto fronts.
"""

from __future__ import annotations

from typing import Any

from .limits import Limits
from .score import Score

__all__ = ["Score", "Limits", "MultiObjective"]


def __getattr__(name: str) -> Any:  # multi imports bt_optimize.objective, which imports this package
    if name == "MultiObjective":
        from .multi import MultiObjective

        return MultiObjective
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
