"""The ask/tell contract every search algorithm implements (:class:`Search`).

Algorithms never run backtests and never touch storage: the study (:meth:`bt_optimize.Study.optimize`) drives
them, as described in :class:`Search`. ``tests/search/test_conformance.py`` checks every algorithm against this
contract.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..exceptions import SpaceError
from ..space import Space, params_key
from ..trial import Trial, TrialState

__all__ = ["Search", "check_seed"]


def check_seed(seed: Any) -> None:
    """Accept ``None`` or a non-negative whole number (what every search's generator takes).

    Raises:
        SpaceError: anything else, with the fix.
    """
    if seed is None:
        return
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpaceError(f"seed={seed!r}: give None or a whole number >= 0 (e.g. seed=42)")


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


def pick_unseen(draws: Iterable[dict[str, Any]], seen: set[str] | Mapping[str, Any],
                feasible: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """The first of ``draws`` not in ``seen`` that is ``feasible``; failing that, the first unseen one.

    The unseen fallback lets a search go on where the constraint cannot be met nearby (the study rejects the point
    and counts it); ``None`` means every draw had been seen. ``draws`` is consumed lazily, so a search's random
    stream advances only as far as it needs.
    """
    fallback = None
    for p in draws:
        if params_key(p) in seen:
            continue
        if feasible(p):
            return p
        fallback = fallback or p
    return fallback


class Search(abc.ABC):
    """Base class of search algorithms: propose points (``ask``), learn from results (``tell``).

    The lifecycle, as the study drives it:

    1. **Construction** over a :class:`~bt_optimize.space.Space`, with a ``seed``. Everything a search does must
       follow from the seed and the results it is told, so that the same seed and results give the same points.
    2. **Resume.** Before the first ``ask`` the study tells every trial it already holds (from storage) through
       :meth:`tell_trial`, in trial-number order. The search must then propose what an uninterrupted run would
       propose next, or, where the algorithm cannot, at least never a point it was told. There is no separate
       saved state: a search rebuilds itself from the seed and the told trials.
    3. **Rounds.** ``ask(n)`` returns up to ``n`` new points. A streaming study (``batch_size=None``) asks one
       point each time a worker frees up, so a search may be asked again before earlier points are told. A study
       with ``batch_size`` asks one round (``n = batch_size``, fewer when the budget is nearly spent), runs it,
       tells every result and only then asks again; an executor may rely on one round per
       ``imap_unordered`` call. A search that proposes in rounds documents that it must be driven this way and
       raises if it is not (:class:`~bt_optimize.search.genetic.GeneticSearch`: one generation per round).
    4. **Tell.** Every proposed point is told exactly once per time it was proposed: complete (with its value),
       pruned (with its low-fidelity value), failed or infeasible (``value=None``; a constraint rejection never
       ran). A point proposed again is answered from the study's records and told again, without a backtest.
    5. **Termination.** ``ask`` returns fewer points than asked, or none, when the search has nothing left: a
       finite space is exhausted (:attr:`exhausted`), or the algorithm stopped on its own and set
       :attr:`stop_reason` (``"patience"``, ``"target"``, ``"generations"``, ``"max_time"``). The study records
       that reason (``"exhausted"`` when none is set) and also stops at its own budget ``n_trials``.
    6. **Attributes.** :meth:`attrs_for` gives extra attributes the study records with each point it hands out
       (``user_attrs``; the phase, the generation, the acquisition).

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

    @abc.abstractmethod
    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """Up to ``n`` new points (an empty list when the search has nothing left to propose)."""

    def tell(self, params: dict[str, Any], value: float | None,  # noqa: B027 - optional: grid and random learn nothing
             state: TrialState = TrialState.COMPLETE) -> None:
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
