"""Genetic algorithm search built on DEAP (its plumbing, shared with NSGA-II, is in :mod:`.deap_ops`).

How it works, generation by generation:

* **Genotype.** One gene per dimension, the shared encoding's gene view
  (:meth:`~bt_optimize.search.encoding.Encoder.genes`): ``Int`` and ``Real`` genes hold the dimension's unit
  value (so ``log=True`` dimensions evolve in log space), ``Cat`` genes hold the index of the category. After
  every operator a gene is snapped back to a legal value (clipped to the range, rounded to the ``Int`` step or the
  ``Real`` step), so the genotype always equals the encoding of the parameters it stands for, and equal
  parameters always have equal genotypes.
* **Variation.** Numeric genes: BLX-alpha blend crossover (``deap.tools.cxBlend``) and Gaussian mutation
  (``deap.tools.mutGaussian``) with a standard deviation of ``mutation_sigma`` times the range. Categorical
  genes: uniform crossover (``deap.tools.cxUniform``) and uniform resampling (``deap.tools.mutUniformInt``).
  A pair of parents is crossed with probability ``crossover_prob``; a child is mutated with probability
  ``mutation_prob``, and then each of its genes with probability ``1 / n_dims``.
* **Selection** (see :func:`select`): ``"tournament"`` (best of ``tournament_size`` drawn at random),
  ``"roulette"`` (fitness-proportional after a shift that makes every weight positive, so negative fitness
  and minimisation work) or ``"rank"`` (linear ranking: probability proportional to the rank).
* **Elitism.** The ``elite_size`` best distinct individuals that completed are copied unchanged to the front
  of the next generation. Failed and infeasible points have the worst fitness and are never elites.
* **Evaluation.** :meth:`GeneticSearch.ask` hands out the current generation (duplicates and elites
  included; the study serves those from its cache and tells them back). The next generation is bred only
  once every individual of the current one has a result, and fitness is assembled by position from the
  points' results, never by arrival order, so parallel runs give the same populations as serial ones.
* **Resume.** The search is a deterministic function of ``seed`` and the told results. A resumed study tells
  its stored trials first; the search then replays the same generations (served from cache, nothing runs
  twice) and continues exactly as an uninterrupted run would.

DEAP's operators draw from the global :mod:`random` module. The search lends them its own generator for the
duration of each call and restores the global state afterwards (:func:`~bt_optimize.search.deap_ops.lend_random`),
so it neither depends on nor disturbs other users of :mod:`random` (not thread-safe against other threads using
:mod:`random` at the same moment).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from deap import base, tools

from .._warn import warn
from ..space import Cat, Dimension, Space, params_key
from ..trial import TrialState
from .base import Search
from .deap_ops import individual_class, lend_random, select
from .encoding import Encoder
from .genetic_options import (
    SELECTIONS,
    check_genetic_options,
    diversity,
    rank_weights,
    roulette_weights,
)

__all__ = ["GeneticSearch", "SELECTIONS", "STOP_REASONS", "check_genetic_options", "select", "roulette_weights",
           "rank_weights", "diversity"]

#: The reasons a genetic study stops (``"budget"`` is set by the study when ``n_trials`` backtests have run).
STOP_REASONS: tuple[str, ...] = ("generations", "budget", "patience", "target", "max_time")

# ---------------------------------------------------------------------------------------------------- the search
class GeneticSearch(Search):
    """A generational genetic algorithm over a :class:`~bt_optimize.space.Space`, on DEAP.

    Meant for :meth:`bt_optimize.Study.optimize` in batch mode with ``batch_size=population_size``: each
    generation is one parallel round. ``ask(n)`` returns up to ``n`` not yet handed out individuals of the
    current generation (fewer when the study's budget is nearly spent), and the next generation is bred only
    when every individual of the current one has been told. Asking for more while results are missing is an
    error.

    Args:
        space: The space to search.
        seed: Seed (``None``: fresh entropy; a resumed study then takes a new path instead of replaying).
        maximize: Direction of the objective.
        population_size: Individuals per generation.
        generations: Generations to evaluate, the initial random one included.
        selection: ``"tournament"``, ``"roulette"`` or ``"rank"`` (see :func:`select`).
        tournament_size: Aspirants per tournament.
        crossover_prob: Probability that a pair of parents is crossed.
        mutation_prob: Probability that a child is mutated (then each gene with probability ``1 / n_dims``).
        elite_size: Best distinct completed individuals carried unchanged to the next generation.
        patience: Stop after this many generations without a better best value (``None``: never).
        target: Stop once the best value reaches this (``>=`` when maximising, ``<=`` when minimising).
        max_time: Seconds after the first ``ask`` past which no new generation starts.
        diversity_threshold: Warn once when :func:`diversity` falls below this (``None`` or 0: never).
        blend_alpha: Extent of BLX-alpha crossover beyond the parents.
        mutation_sigma: Standard deviation of Gaussian mutation, as a fraction of each numeric range.

    Attributes:
        stop_reason: ``None`` while running, then ``"generations"``, ``"patience"``, ``"target"`` or
            ``"max_time"``.

    Example:
        >>> from bt_optimize.space import Space, Int, Cat
        >>> ga = GeneticSearch(Space({"fast": Int(2, 60), "ma": Cat(["sma", "ema"])}), seed=1, population_size=4)
        >>> len(ga.ask(4))
        4
    """

    name = "genetic"

    def __init__(self, space: Space, seed: int | None = None, *, maximize: bool = True, population_size: int = 30,
                 generations: int = 40, selection: str = "tournament", tournament_size: int = 3,
                 crossover_prob: float = 0.8, mutation_prob: float = 0.2, elite_size: int = 3,
                 patience: int | None = None, target: float | None = None, max_time: float | None = None,
                 diversity_threshold: float | None = 0.01, blend_alpha: float = 0.5,
                 mutation_sigma: float = 0.1) -> None:
        check_genetic_options(population_size=population_size, generations=generations, selection=selection,
                              tournament_size=tournament_size, crossover_prob=crossover_prob,
                              mutation_prob=mutation_prob, elite_size=elite_size, patience=patience, target=target,
                              max_time=max_time, diversity_threshold=diversity_threshold, seed=seed,
                              blend_alpha=blend_alpha, mutation_sigma=mutation_sigma)
        super().__init__(space, seed)
        self.maximize = bool(maximize)
        self.population_size = int(population_size)
        self.generations = int(generations)
        self.selection = selection
        self.tournament_size = int(tournament_size)
        self.crossover_prob = float(crossover_prob)
        self.mutation_prob = float(mutation_prob)
        self.elite_size = int(elite_size)
        self.patience = patience
        self.target = None if target is None else float(target)
        self.max_time = None if max_time is None else float(max_time)
        self.diversity_threshold = diversity_threshold
        self.blend_alpha = float(blend_alpha)
        self.mutation_sigma = float(mutation_sigma)

        self._names = space.names
        self._dims: list[Dimension] = [space[n] for n in self._names]
        self._num = [j for j, d in enumerate(self._dims) if not isinstance(d, Cat)]
        self._cat = [j for j, d in enumerate(self._dims) if isinstance(d, Cat)]
        self._cat_up = [len(self._dims[j].choices) - 1 for j in self._cat]  # type: ignore[attr-defined]
        self._indpb = 1.0 / len(self._dims)
        self._enc = Encoder(space)
        self._cls = individual_class(self.maximize)
        # DEAP's operators draw from this generator (lent as the global ``random``); seeded from ``self.rng``
        self._random = random.Random(int(self.rng.integers(2**62)))

        self.toolbox = base.Toolbox()
        self.toolbox.register("mate", self._mate)
        self.toolbox.register("mutate", self._mutate)
        self.toolbox.register("select", self._select)

        self._known: dict[str, tuple[float | None, TrialState]] = {}
        self._seen: set[str] = set()  # points at earlier positions of this run (for n_cached)
        self._population: list[Any] | None = None
        self._populations: list[list[dict[str, Any]]] = []
        self._generation = 0
        self._handed = 0
        self._stats: list[dict[str, Any]] = []
        self._best: float | None = None
        self._stale = 0
        self._warned = False
        self._t0: float | None = None

    # ------------------------------------------------------------------ encoding
    def encode(self, params: dict[str, Any]) -> list[float]:
        """The genotype of a point: unit values for numeric dimensions, category indices for ``Cat``
        (:meth:`~bt_optimize.search.encoding.Encoder.genes`)."""
        return self._enc.genes([params])[0].tolist()

    def decode(self, genes: Sequence[float]) -> dict[str, Any]:
        """The legal point nearest to a genotype (clipped, rounded to steps, category index rounded)."""
        return self._enc.from_genes(np.asarray([genes], dtype=float))[0]

    def individual(self, params: dict[str, Any]) -> Any:
        """A DEAP individual (``creator.BtoIndividualMax``/``Min``) for a point, with ``.params`` set."""
        ind = self._cls(self.encode(params))
        ind.params = dict(params)
        return ind

    def _legalise(self, ind: Any) -> None:
        """Snap every gene to a legal value and refresh ``ind.params`` (the genotype equals its encoding)."""
        params = self.decode(ind)
        ind[:] = self.encode(params)
        ind.params = params
        del ind.fitness.values

    # ------------------------------------------------------------------ DEAP operators (run inside lend_random)
    def _mate(self, a: Any, b: Any) -> tuple[Any, Any]:
        if self._num:
            xa, xb = [a[j] for j in self._num], [b[j] for j in self._num]
            tools.cxBlend(xa, xb, alpha=self.blend_alpha)
            for j, u, v in zip(self._num, xa, xb):
                a[j], b[j] = u, v
        if self._cat:
            ca, cb = [a[j] for j in self._cat], [b[j] for j in self._cat]
            tools.cxUniform(ca, cb, indpb=0.5)
            for j, u, v in zip(self._cat, ca, cb):
                a[j], b[j] = u, v
        self._legalise(a)
        self._legalise(b)
        return a, b

    def _mutate(self, ind: Any) -> tuple[Any]:
        if self._num:
            x = [ind[j] for j in self._num]
            tools.mutGaussian(x, mu=0.0, sigma=self.mutation_sigma, indpb=self._indpb)
            for j, u in zip(self._num, x):
                ind[j] = u
        if self._cat:
            c = [int(ind[j]) for j in self._cat]
            tools.mutUniformInt(c, low=[0] * len(c), up=self._cat_up, indpb=self._indpb)
            for j, u in zip(self._cat, c):
                ind[j] = float(u)
        self._legalise(ind)
        return (ind,)

    def _select(self, population: Sequence[Any], k: int) -> list[int]:
        fitness = [ind.fitness.wvalues[0] for ind in population]
        return select(fitness, k, self.selection, self.tournament_size, self._random)

    # ------------------------------------------------------------------ generations
    def _initial(self) -> list[Any]:
        pop: list[Any] = []
        keys: set[str] = set()
        for _ in range(self.population_size):
            for _attempt in range(20):  # avoid duplicates where the space allows it
                p = self.space.sample(self.rng)
                if params_key(p) not in keys:
                    break
            ind = self.individual(p)
            self._legalise(ind)
            keys.add(params_key(ind.params))
            pop.append(ind)
        return pop

    def _start(self) -> None:
        if self._population is None:
            self._population = self._initial()
            self._populations.append([dict(ind.params) for ind in self._population])

    def _result(self, ind: Any) -> tuple[float | None, TrialState] | None:
        return self._known.get(params_key(ind.params))

    def _complete(self) -> bool:
        assert self._population is not None
        return all(self._result(ind) is not None for ind in self._population)

    def _finish(self) -> None:
        """Give the (complete) current generation its fitness, by position, and record its statistics once."""
        assert self._population is not None
        if len(self._stats) > self._generation:
            return
        worst = -math.inf if self.maximize else math.inf
        values: list[float] = []
        n_evaluated = n_cached = n_failed = 0
        for ind in self._population:
            value, state = self._result(ind)  # type: ignore[misc]
            ok = state is TrialState.COMPLETE and value is not None and math.isfinite(value)
            self._assign_fitness(ind, float(value) if ok else worst)
            if ok:
                values.append(float(value))
            key = params_key(ind.params)
            if key in self._seen:
                n_cached += 1
            else:
                self._seen.add(key)
                if state is TrialState.INFEASIBLE:
                    n_failed += 1
                else:
                    n_evaluated += 1  # a backtest ran (complete, failed or pruned)
                    n_failed += 0 if ok else 1
        best = (max(values) if self.maximize else min(values)) if values else None
        if best is not None and (self._best is None or (best > self._best if self.maximize else best < self._best)):
            self._best, self._stale = best, 0
        elif self._stats:
            self._stale += 1
        div = diversity(self._population, self._dims)
        self._stats.append({
            "generation": self._generation,
            "best": math.nan if best is None else best,
            "mean": float(np.mean(values)) if values else math.nan,
            "std": float(np.std(values)) if values else math.nan,
            "diversity": div,
            "n_evaluated": n_evaluated,
            "n_cached": n_cached,
            "n_failed": n_failed,
            "best_so_far": math.nan if self._best is None else self._best,
        })
        if self.diversity_threshold and div < self.diversity_threshold and not self._warned:
            self._warned = True
            warn(
                f"genetic search: population diversity {div:.3g} fell below diversity_threshold="
                f"{self.diversity_threshold} at generation {self._generation}; the population has converged and "
                "mostly repeats points already evaluated. To keep exploring raise mutation_prob, lower "
                "tournament_size or elite_size, use selection='rank', or grow population_size; to stop such runs "
                "early pass patience=...")

    def _stop_check(self, with_time: bool) -> str | None:
        """The reason to stop after the last finished generation, if any."""
        if self.target is not None and self._best is not None and (
                self._best >= self.target if self.maximize else self._best <= self.target):
            return "target"
        if len(self._stats) >= self.generations:
            return "generations"
        if self.patience is not None and self._stale >= self.patience:
            return "patience"
        if with_time and self.max_time is not None and self._t0 is not None and (
                time.monotonic() - self._t0 >= self.max_time):
            return "max_time"
        return None

    def _assign_fitness(self, ind: Any, value: float) -> None:
        """Give a finished individual its fitness (``value`` is the worst possible one for a failed point)."""
        ind.fitness.values = (value,)

    def _vary(self, children: list[Any]) -> None:
        """Cross consecutive pairs and mutate, in place (inside :func:`lend_random`)."""
        for a, b in zip(children[::2], children[1::2]):
            if random.random() < self.crossover_prob:
                self.toolbox.mate(a, b)
        for c in children:
            if random.random() < self.mutation_prob:
                self.toolbox.mutate(c)

    def _advance(self) -> None:
        """Breed the next generation from the finished current one."""
        pop = self._population
        assert pop is not None
        with lend_random(self._random):
            elites = self._elites(pop)
            parents = self.toolbox.select(pop, self.population_size - len(elites))
            children = [self.toolbox.clone(pop[i]) for i in parents]
            self._vary(children)
        self._population = [self.toolbox.clone(e) for e in elites] + children
        self._generation += 1
        self._handed = 0
        self._populations.append([dict(ind.params) for ind in self._population])

    def _elites(self, pop: Sequence[Any]) -> list[Any]:
        """The ``elite_size`` best distinct individuals that completed (ties: earlier position first)."""
        if self.elite_size == 0:
            return []
        order = sorted((i for i, ind in enumerate(pop) if math.isfinite(ind.fitness.wvalues[0])),
                       key=lambda i: -pop[i].fitness.wvalues[0])
        out: list[Any] = []
        keys: set[str] = set()
        for i in order:
            key = params_key(pop[i].params)
            if key not in keys:
                keys.add(key)
                out.append(pop[i])
            if len(out) == self.elite_size:
                break
        return out

    # ------------------------------------------------------------------ ask / tell
    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """Up to ``n`` individuals of the current generation not yet handed out; ``[]`` once stopped.

        Raises:
            RuntimeError: the current generation is fully handed out but some of its results are missing
                (the search must run in batch mode, one generation per round).
        """
        if self.stop_reason:
            return []
        if self._t0 is None:
            self._t0 = time.monotonic()
        self._start()
        assert self._population is not None
        while True:
            if self._handed < len(self._population):
                chunk = self._population[self._handed:self._handed + max(0, n)]
                self._handed += len(chunk)
                return [dict(ind.params) for ind in chunk]
            if not self._complete():
                missing = sum(self._result(ind) is None for ind in self._population)
                raise RuntimeError(
                    f"GeneticSearch.ask: {missing} individuals of generation {self._generation} have no result yet; "
                    "a genetic search runs one generation per round: use Study.optimize(..., "
                    "batch_size=population_size)")
            self._finish()
            reason = self._stop_check(with_time=True)
            if reason:
                self.stop_reason = reason
                return []
            self._advance()

    def tell(self, params: dict[str, Any], value: float | None, state: TrialState = TrialState.COMPLETE) -> None:
        """Record the result of a point; every individual at that point (any generation) gets it."""
        self._known[params_key(params)] = (None if value is None else float(value), TrialState(state))

    # ------------------------------------------------------------------ results
    @property
    def generation(self) -> int:
        """Index of the generation being handed out (0 is the initial random population)."""
        return self._generation

    def attrs_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Attributes recorded with a proposed point: its ``generation``."""
        return {"generation": self._generation}

    @property
    def populations(self) -> list[list[dict[str, Any]]]:
        """The parameters of every generation so far, by position (elites first from generation 1 on)."""
        return [[dict(p) for p in gen] for gen in self._populations]

    def _catch_up(self) -> None:
        """Finish every generation whose results are all known (e.g. a study reopened from storage)."""
        if self.stop_reason is None and self._population is None and self._known:
            self._start()
        while self._population is not None and self._complete():
            self._finish()
            if self.stop_reason or self._stop_check(with_time=False):
                break
            self._advance()

    def generations_frame(self) -> pd.DataFrame:
        """One row per finished generation.

        Columns: ``generation``; ``best``, ``mean``, ``std`` of the objective over the individuals that
        completed; ``diversity`` (see :func:`diversity`); ``n_evaluated`` (new points: backtests run for this
        generation), ``n_cached`` (individuals whose point was already evaluated earlier in this run: elites,
        duplicates, revisits, all served from the study's cache), ``n_failed`` (new points that failed or were
        infeasible) and ``best_so_far``. A generation cut short by the study's budget is not listed.
        """
        self._catch_up()
        cols = ["generation", "best", "mean", "std", "diversity", "n_evaluated", "n_cached", "n_failed",
                "best_so_far"]
        return pd.DataFrame(self._stats, columns=cols)
