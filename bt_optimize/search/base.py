"""The ask/tell interface every search algorithm implements.

Lifecycle: the study creates a search over a :class:`~bt_optimize.space.Space`, then repeatedly calls
``ask(n)`` for up to ``n`` new points, runs them, and calls ``tell_trial(trial)`` (by default
``tell(params, value, state)``) for each result (including results served from cache and trials restored from
storage when a study resumes). ``ask``
returns fewer points than asked, or none, when the search is exhausted. Algorithms never run backtests and
never touch storage; ``state()``/``restore()`` let a study save and reload what cannot be derived from the
trials and the seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..space import Space
from ..trial import Trial, TrialState

__all__ = ["Search"]


def constraint_allows(constraint: Any, params: dict[str, Any]) -> bool:
    """Whether a search should propose ``params`` under the study's ``constraint`` (``None``: always).

    A constraint that raises lets the point through: the study calls it again and reports the error with the
    point; a search only uses it to filter candidates.
    """
    if constraint is None:
        return True
    try:
        return bool(constraint(dict(params)))
    except Exception:  # noqa: BLE001 - reported by the study, see above
        return True


class Search:
    """Base class of search algorithms.

    Args:
        space: The space to search.
        seed: Seed of the algorithm's random generator (``None``: fresh entropy).
    """

    name = "search"
    #: Set by an algorithm that stops on its own (e.g. ``"patience"``, ``"target"``); ``ask`` then returns ``[]``.
    stop_reason: str | None = None

    def __init__(self, space: Space, seed: int | None = None) -> None:
        self.space = space
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """Up to ``n`` new points (an empty list when the search has nothing left to propose)."""
        raise NotImplementedError

    def tell(self, params: dict[str, Any], value: float | None, state: TrialState = TrialState.COMPLETE) -> None:
        """Report the outcome of a point (``value`` is ``None`` unless the trial completed or was pruned)."""

    def tell_trial(self, trial: Trial) -> None:
        """Report a recorded trial; the study calls this for every result, cached and resumed ones included.

        The default passes ``tell(params, value, state)``, with ``value`` set for complete and pruned trials (a
        pruned trial's value was measured at low fidelity) and ``None`` otherwise. Algorithms that use more of the
        record (``user_attrs`` such as ``fidelity`` or ``folds``) override this.
        """
        ok = trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
        self.tell(dict(trial.params), trial.value if ok else None, trial.state)

    def attrs_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Extra attributes the study records with a proposed point (``user_attrs``; default none).

        Called once per point, when the study hands it to a worker, so it may report the search's state at
        that moment (the generation, the phase, the acquisition that chose it).
        """
        return {}

    @property
    def exhausted(self) -> bool:
        """Whether the search can propose no further point."""
        return False

    def state(self) -> dict[str, Any]:
        """JSON-safe state needed to continue exactly after a restart (beyond seed and told trials)."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state` returned."""
