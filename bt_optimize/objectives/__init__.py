"""Objectives: one metric, composite scores, limits on metrics, several objectives at once.

- :class:`Objective` (:mod:`.base`): a built-in metric, an analyzer path, a :class:`Score` or a callable
  (public home: :mod:`bt_optimize.objective`).
- :class:`Score` (:mod:`.score`): an arithmetic expression over built-in metrics and analyzer paths.
- :class:`Limits` (:mod:`.limits`): ``min_trades=`` and ``limits=`` of the ``optimize_*`` methods.
- :class:`MultiObjective` (:mod:`.multi`): ``objective=[...]``, Pareto fronts.
"""

from .base import Objective
from .limits import Limits
from .multi import MultiObjective
from .score import Score

__all__ = ["Objective", "Score", "Limits", "MultiObjective"]
