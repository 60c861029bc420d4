"""DEAP plumbing shared by the genetic searches (:mod:`.genetic`, :mod:`.nsga2`).

- The fitness and individual classes of bt_optimize in ``deap.creator``, created once per process at import.
- :func:`lend_random`: DEAP's operators draw from the global :mod:`random`; a search lends them its own generator.
- :func:`select`: DEAP's selection operators applied by position to a list of fitness values.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from deap import base, creator, tools

from ..exceptions import SpaceError
from .genetic_options import SELECTIONS, rank_weights, roulette_weights

__all__ = ["individual_class", "lend_random", "select"]

# DEAP's creator keeps classes in one global namespace (the ``deap.creator`` module); creating a name twice
# warns and replaces the class, which breaks ``isinstance`` and pickling of existing individuals. Our names are
# prefixed and created once per process, at import: importing this module (in the main process or a worker,
# again after ``importlib.reload``) is all it takes for individuals to be created and unpickled.
_FITNESS = {True: "BtoFitnessMax", False: "BtoFitnessMin"}
_INDIVIDUAL = {True: "BtoIndividualMax", False: "BtoIndividualMin"}


def _ensure_creator_classes() -> None:
    """Create the DEAP fitness and individual classes of bt_optimize unless this process already has them."""
    for maximize, weight in ((True, 1.0), (False, -1.0)):
        if not hasattr(creator, _FITNESS[maximize]):
            creator.create(_FITNESS[maximize], base.Fitness, weights=(weight,))
        if not hasattr(creator, _INDIVIDUAL[maximize]):
            # ``params`` (a class) is instantiated per individual by the creator: a fresh dict each time
            creator.create(_INDIVIDUAL[maximize], list, fitness=getattr(creator, _FITNESS[maximize]), params=dict)


_ensure_creator_classes()


def individual_class(maximize: bool) -> type:
    """The DEAP individual class of bt_optimize for a direction (a ``list`` with ``fitness`` and ``params``)."""
    return getattr(creator, _INDIVIDUAL[maximize])


@contextmanager
def lend_random(rnd: random.Random) -> Iterator[None]:
    """Let DEAP's operators (which call the global :mod:`random`) draw from ``rnd``; restore both afterwards."""
    saved = random.getstate()
    random.setstate(rnd.getstate())
    try:
        yield
    finally:
        rnd.setstate(random.getstate())
        random.setstate(saved)


def _proxies(weights: Sequence[float]) -> list[Any]:
    """One DEAP individual per position, holding its index, with the given (maximised) fitness."""
    cls = individual_class(True)
    out = []
    for i, w in enumerate(weights):
        p = cls([i])
        p.fitness.values = (float(w),)
        out.append(p)
    return out


def select(fitness: Sequence[float], k: int, method: str = "tournament", tournament_size: int = 3,
           rnd: random.Random | None = None) -> list[int]:
    """Choose ``k`` parents (with replacement) by position, with DEAP's selection operators.

    Args:
        fitness: Oriented fitness per individual (larger is better; ``-inf`` for failed or infeasible ones).
        k: Number of parents.
        method: ``"tournament"`` (``deap.tools.selTournament``), ``"roulette"`` (``deap.tools.selRoulette``
            on :func:`roulette_weights`) or ``"rank"`` (``deap.tools.selRoulette`` on :func:`rank_weights`).
        tournament_size: Aspirants per tournament.
        rnd: Generator to draw from (default: a fresh one).

    Returns:
        ``k`` positions into ``fitness``.

    Raises:
        SpaceError: unknown ``method``.
    """
    if method not in SELECTIONS:
        raise SpaceError(f"selection={method!r}: use one of {', '.join(SELECTIONS)}")
    rnd = rnd or random.Random()
    if k <= 0 or not fitness:
        return []
    with lend_random(rnd):
        if method == "tournament":
            chosen = tools.selTournament(_proxies(fitness), k, tournsize=tournament_size)
        else:
            weights = roulette_weights(fitness) if method == "roulette" else rank_weights(fitness)
            proxies = _proxies(weights)
            chosen = []
            while len(chosen) < k:  # selRoulette can come back short by rounding of the running sum
                chosen += tools.selRoulette(proxies, k - len(chosen))
    return [p[0] for p in chosen]
