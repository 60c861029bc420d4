"""NSGA-II for multi-objective genetic studies (``optimize_genetic(objective=[...])``), on DEAP.

The genotype, the variation operators, the generation-per-round flow and the exact resume are those of
:class:`~bt_optimize.search.genetic.GeneticSearch`; what changes is selection (Deb et al., 2002):

* **Survival.** After each generation, the previous parents and the new generation (one individual per distinct
  point) are merged and DEAP's ``selNSGA2`` keeps ``population_size`` of them: whole non-dominated fronts in order,
  the last front cut by crowding distance (points in sparse regions of the front are kept). This archive is the
  elitism; ``elite_size`` and ``selection`` are not used.
* **Mating.** Parents for the next generation are drawn by binary tournament on (front rank, crowding distance):
  the lower front wins, a tie goes to the larger crowding distance.
* **Fitness.** One value per objective, each with its direction (DEAP weights +1/-1). Failed and infeasible points
  (limits included) are given, per objective, a value worse than every complete point of the merged set, so any
  complete point dominates them.

The per-generation statistics (``study.generations``) describe the first objective.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from deap import base, creator, tools

from ..space import Space, params_key
from ..trial import Trial, TrialState
from .deap_ops import lend_random
from .genetic import GeneticSearch

__all__ = ["NSGA2Search"]


def _mo_individual_class(directions: Sequence[bool]) -> type:
    """The DEAP individual class for these objective directions (created once per process)."""
    tag = "".join("X" if d else "N" for d in directions)
    fit, ind = f"BtoFitnessMO{tag}", f"BtoIndividualMO{tag}"
    if not hasattr(creator, fit):
        creator.create(fit, base.Fitness, weights=tuple(1.0 if d else -1.0 for d in directions))
    if not hasattr(creator, ind):
        creator.create(ind, list, fitness=getattr(creator, fit), params=dict)
    return getattr(creator, ind)


class NSGA2Search(GeneticSearch):
    """NSGA-II over a :class:`~bt_optimize.space.Space` (see the module docstring).

    Args:
        space: The space to search.
        seed: Seed (needed for exact reproduction and resume).
        directions: ``True`` where an objective is maximised, one per objective (2 or 3).
        **options: As for :class:`~bt_optimize.search.genetic.GeneticSearch` (``population_size``,
            ``generations``, ``crossover_prob``, ``mutation_prob``, ...); ``patience`` and ``target`` are not
            available (they follow one objective).

    Example:
        >>> from bt_optimize.space import Space, Int
        >>> s = NSGA2Search(Space({"a": Int(0, 9), "b": Int(0, 9)}), seed=1, directions=[True, False],
        ...                 population_size=6)
        >>> len(s.ask(6))
        6
    """

    name = "nsga2"

    def __init__(self, space: Space, seed: int | None = None, *, directions: Sequence[bool], **options: Any) -> None:
        if options.get("patience") is not None or options.get("target") is not None:
            raise ValueError("patience= and target= follow one objective; a multi-objective genetic study runs for "
                             "its generations (or n_trials)")
        super().__init__(space, seed, maximize=bool(directions[0]), **options)
        self.directions = [bool(d) for d in directions]
        self._cls = _mo_individual_class(self.directions)
        self._vectors: dict[str, list[float] | None] = {}
        self._parents: list[Any] = []

    def tell_trial(self, trial: Trial) -> None:
        """Record every objective value of a trial (see :mod:`bt_optimize.objectives.multi`)."""
        from ..objectives.multi import trial_values

        self._vectors[params_key(trial.params)] = trial_values(trial)
        super().tell_trial(trial)

    def _vector(self, ind: Any) -> list[float] | None:
        value, state = self._result(ind) or (None, TrialState.FAIL)
        if state is not TrialState.COMPLETE or value is None:
            return None
        return self._vectors.get(params_key(ind.params))

    def _assign_fitness(self, ind: Any, value: float) -> None:
        # placeholder of the right length; the real multi-objective fitness is set in _advance on the merged set
        vec = self._vector(ind)
        ind.fitness.values = tuple(vec) if vec is not None else tuple(
            -math.inf if d else math.inf for d in self.directions)

    def _set_fitness(self, inds: Sequence[Any]) -> None:
        """Each individual's objective vector; failed ones worse than every complete one of ``inds``."""
        vecs = [self._vector(ind) for ind in inds]
        done = [v for v in vecs if v is not None]
        worst = []
        for j, d in enumerate(self.directions):
            col = [v[j] for v in done] or [0.0]
            span = max(col) - min(col)
            worst.append(min(col) - span - 1.0 if d else max(col) + span + 1.0)
        for ind, v in zip(inds, vecs):
            ind.fitness.values = tuple(v) if v is not None else tuple(worst)

    def _advance(self) -> None:
        """Keep the best ``population_size`` of parents and new generation, breed the next generation from them."""
        pop = self._population
        assert pop is not None
        merged, keys = [], set()
        for ind in list(self._parents) + list(pop):
            key = params_key(ind.params)
            if key not in keys:
                keys.add(key)
                merged.append(self.toolbox.clone(ind))
        self._set_fitness(merged)
        with lend_random(self._random):
            parents = tools.selNSGA2(merged, min(self.population_size, len(merged)))
            rank = {}
            for r, front in enumerate(tools.sortNondominated(parents, len(parents))):
                for ind in front:
                    rank[id(ind)] = r
            chosen = []
            for _ in range(self.population_size):
                a, b = random.randrange(len(parents)), random.randrange(len(parents))
                pa, pb = parents[a], parents[b]
                key_a = (rank[id(pa)], -getattr(pa.fitness, "crowding_dist", 0.0))
                key_b = (rank[id(pb)], -getattr(pb.fitness, "crowding_dist", 0.0))
                chosen.append(pa if key_a <= key_b else pb)
            children = [self.toolbox.clone(c) for c in chosen]
            self._vary(children)
        self._parents = parents
        self._population = children
        self._generation += 1
        self._handed = 0
        self._populations.append([dict(ind.params) for ind in self._population])

    def _elites(self, pop: Sequence[Any]) -> list[Any]:
        return []
