"""ParEGO for multi-objective Bayesian studies (``optimize_bayes(objective=[...])``).

ParEGO (Knowles, 2006) turns several objectives into one per round and lets the single-objective Bayesian search
do the rest. :class:`ParEgoSearch` is a :class:`~bt_optimize.search.bayes.BayesSearch` (same initial design, GP
surrogate, acquisition, batches and duplicate handling) whose surrogate targets are rewritten before every
round:

1. each objective is put in minimisation form and scaled to ``[0, 1]`` by the smallest and largest value seen;
2. a weight vector ``w`` is drawn uniformly from the simplex (a flat Dirichlet), from a generator derived from the
   seed and the number of points told, so a resumed study draws the weights the uninterrupted one drew;
3. every complete point's target becomes its augmented Chebyshev scalarisation
   ``max_i(w_i f_i) + 0.05 * sum_i(w_i f_i)``; failed and infeasible points stay at the worst value, as in the
   single-objective search.

The round then proposes ``batch_size`` points for that scalarisation; each records its weights in
``attr_weights``. Over the rounds the random weights pull the search toward different parts of the Pareto front.
The max term reaches points on concave parts of a front that a weighted sum would miss; the small sum term
breaks ties between weakly dominated points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..space import Space
from ..trial import Trial
from .bayes import BayesSearch

__all__ = ["ParEgoSearch", "chebyshev", "RHO"]

#: Weight of the sum term of the augmented Chebyshev scalarisation.
RHO = 0.05


def chebyshev(values: np.ndarray, weights: np.ndarray, rho: float = RHO) -> np.ndarray:
    """Augmented Chebyshev scalarisation of rows of objective values already minimised and scaled to [0, 1]."""
    wf = values * weights
    return wf.max(axis=1) + rho * wf.sum(axis=1)


class ParEgoSearch(BayesSearch):
    """ParEGO over a :class:`~bt_optimize.space.Space` (see the module docstring).

    Args:
        space: The space to search.
        seed: Seed of the initial design, the rounds and the weights.
        directions: ``True`` where an objective is maximised, one per objective (2 or 3).
        **options: As for :class:`~bt_optimize.search.bayes.BayesSearch` (``batch_size``, ``acquisition``,
            ``n_initial_points``, ``initial_points``, ``constraint``, ...); ``patience`` and ``initial_values``
            are not available (they concern one objective).

    Example:
        >>> from bt_optimize.space import Space, Real
        >>> s = ParEgoSearch(Space({"x": Real(0.0, 1.0)}), seed=0, directions=[True, True], batch_size=2)
        >>> len(s.ask(2))
        2
    """

    name = "parego"

    def __init__(self, space: Space, seed: int | None = None, *, directions: Sequence[bool], **options: Any) -> None:
        if options.get("patience") is not None or options.get("initial_values") is not None:
            raise ValueError("patience= and initial_values= concern one objective; they are not available with "
                             "several objectives")
        super().__init__(space, seed, maximize=bool(directions[0]), **options)
        self.directions = [bool(d) for d in directions]
        self._vec: list[list[float] | None] = []  # aligned with the told history (self._X)
        self._weights: list[float] | None = None
        self._incoming: list[float] | None = None

    def tell_trial(self, trial: Trial) -> None:
        """Record a trial with every objective value (see :mod:`bt_optimize.objectives.multi`)."""
        from ..objectives.multi import trial_values

        self._incoming = trial_values(trial)
        try:
            super().tell_trial(trial)
        finally:
            self._incoming = None

    def tell(self, params: dict[str, Any], value: float | None, *args: Any, **kwargs: Any) -> None:
        """As :meth:`BayesSearch.tell`; a point told without its trial (e.g. rejected by the constraint) has no
        objective vector and counts as failed in every scalarisation."""
        super().tell(params, value, *args, **kwargs)
        self._vec.append(self._incoming)

    def _scalarise(self) -> None:
        """Draw this round's weights and rewrite every complete point's surrogate target (module docstring)."""
        while len(self._vec) < len(self._X):
            self._vec.append(None)
        rng = np.random.default_rng([self._base, 7, len(self._X)])
        w = rng.dirichlet(np.ones(len(self.directions)))
        self._weights = [float(x) for x in w]
        rows = [i for i, v in enumerate(self._vec) if v is not None and self._kind[i] == "full"]
        if not rows:
            return
        sign = np.where(np.asarray(self.directions), -1.0, 1.0)
        y = np.asarray([self._vec[i] for i in rows], dtype=float) * sign
        lo, hi = y.min(axis=0), y.max(axis=0)
        scaled = (y - lo) / np.where(hi > lo, hi - lo, 1.0)
        s = chebyshev(scaled, w)
        for i, v in zip(rows, s):
            self._y[i] = float(v)
        self._best = float(s.min()) if math.isfinite(float(s.min())) else self._best

    def _model_batch(self, n: int) -> list[dict[str, Any]]:
        self._scalarise()
        out = super()._model_batch(n)
        for p in out:
            attrs = self._attrs.get(self._keys_of(p))
            if attrs is not None and attrs.get("acquisition") != "random":
                attrs["weights"] = [round(x, 4) for x in self._weights or []]
        return out

    @staticmethod
    def _keys_of(p: dict[str, Any]) -> str:
        from ..space import params_key

        return params_key(p)
