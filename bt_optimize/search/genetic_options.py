"""The parts of the genetic search that need no DEAP: option checks, selection weights and population diversity.

:mod:`bt_optimize.search.genetic` (the only module importing DEAP) builds on these and re-exports them.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import SpaceError
from ..space import Cat, Dimension
from .base import check_seed

__all__ = ["SELECTIONS", "check_genetic_options", "roulette_weights", "rank_weights", "diversity"]

#: Selection operators accepted by ``selection=``.
SELECTIONS: tuple[str, ...] = ("tournament", "roulette", "rank")


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def check_genetic_options(*, population_size: int = 30, generations: int = 40, selection: str = "tournament",
                          tournament_size: int = 3, crossover_prob: float = 0.8, mutation_prob: float = 0.2,
                          elite_size: int = 3, patience: int | None = None, target: float | None = None,
                          max_time: float | None = None, diversity_threshold: float | None = 0.01,
                          seed: int | None = None, blend_alpha: float = 0.5, mutation_sigma: float = 0.1) -> None:
    """Check the options of a genetic search, with messages that name the fix.

    Args:
        population_size: Individuals per generation (at least 2).
        generations: Generations to evaluate, the initial one included (at least 1).
        selection: One of :data:`SELECTIONS`.
        tournament_size: Aspirants per tournament, from 1 to ``population_size``.
        crossover_prob: Probability that a pair of parents is crossed, in ``[0, 1]``.
        mutation_prob: Probability that a child is mutated, in ``[0, 1]``.
        elite_size: Best individuals copied unchanged, from 0 to ``population_size - 1``.
        patience: ``None`` or generations without improvement before stopping (at least 1).
        target: ``None`` or a finite objective value that stops the search once reached.
        max_time: ``None`` or seconds (> 0) after which no new generation starts.
        diversity_threshold: ``None`` or a number in ``[0, 1]``; a warning is given once when the population's
            diversity falls below it.
        seed: ``None`` or an integer seed.
        blend_alpha: BLX-alpha extent (>= 0).
        mutation_sigma: Gaussian mutation standard deviation as a fraction of the range (> 0).

    Raises:
        SpaceError: an option is out of range or of the wrong type.
    """
    if not _is_int(population_size) or population_size < 2:
        raise SpaceError(f"population_size={population_size!r}: give a whole number of individuals >= 2 (e.g. 30)")
    if not _is_int(generations) or generations < 1:
        raise SpaceError(f"generations={generations!r}: give a whole number of generations >= 1 (e.g. 40)")
    if selection not in SELECTIONS:
        close = difflib.get_close_matches(str(selection), SELECTIONS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpaceError(f"selection={selection!r} is not supported{hint} Use one of {', '.join(SELECTIONS)}")
    if not _is_int(tournament_size) or not 1 <= tournament_size <= population_size:
        raise SpaceError(f"tournament_size={tournament_size!r}: give a whole number from 1 to population_size="
                         f"{population_size} (2-5 is usual; larger means stronger selection pressure)")
    for label, p in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob)):
        if not _is_number(p) or not 0.0 <= float(p) <= 1.0:
            raise SpaceError(f"{label}={p!r}: give a probability between 0 and 1")
    if not _is_int(elite_size) or not 0 <= elite_size < population_size:
        raise SpaceError(f"elite_size={elite_size!r}: give a whole number from 0 to population_size - 1 = "
                         f"{population_size - 1} (a few percent of the population is usual)")
    if patience is not None and (not _is_int(patience) or patience < 1):
        raise SpaceError(f"patience={patience!r}: give None (never stop on a plateau) or a whole number of "
                         "generations >= 1")
    if target is not None and (not _is_number(target) or not math.isfinite(float(target))):
        raise SpaceError(f"target={target!r}: give None or a finite objective value to stop at")
    if max_time is not None and (not _is_number(max_time) or not float(max_time) > 0 or math.isnan(max_time)):
        raise SpaceError(f"max_time={max_time!r}: give None or a number of seconds > 0")
    if diversity_threshold is not None and (not _is_number(diversity_threshold)
                                            or not 0.0 <= float(diversity_threshold) <= 1.0):
        raise SpaceError(f"diversity_threshold={diversity_threshold!r}: give a number in [0, 1] (0 or None: no "
                         "warning)")
    check_seed(seed)
    if not _is_number(blend_alpha) or not float(blend_alpha) >= 0:
        raise SpaceError(f"blend_alpha={blend_alpha!r}: give a number >= 0 (0.5 is usual)")
    if not _is_number(mutation_sigma) or not float(mutation_sigma) > 0:
        raise SpaceError(f"mutation_sigma={mutation_sigma!r}: give a fraction of the range > 0 (0.1 is usual)")


# ---------------------------------------------------------------------------------------------------- selection
def roulette_weights(fitness: Sequence[float]) -> list[float]:
    """Selection weights of fitness-proportional (roulette) selection.

    Fitness is oriented so that larger is better (a minimised objective is negated); ``-inf`` marks a failed
    or infeasible individual. Roulette needs positive weights, so valid fitness is shifted:
    ``w = f - f_min + delta`` with ``delta = (f_max - f_min) / n_valid`` (``1`` when every valid fitness is
    equal). The worst valid individual keeps a small chance, negative fitness is handled, and the weights do
    not depend on where zero lies. Failures get weight 0; when nothing is valid every weight is 1.

    Args:
        fitness: Oriented fitness, one per individual.

    Returns:
        Non-negative weights, one per individual.
    """
    valid = [f for f in fitness if math.isfinite(f)]
    if not valid:
        return [1.0] * len(fitness)
    lo, hi = min(valid), max(valid)
    delta = (hi - lo) / len(valid) if hi > lo else 1.0
    return [f - lo + delta if math.isfinite(f) else 0.0 for f in fitness]


def rank_weights(fitness: Sequence[float]) -> list[float]:
    """Selection weights of linear rank selection: the worst gets 1, the best ``n``, ties share their mean rank.

    Args:
        fitness: Oriented fitness (larger is better; ``-inf`` for failures, which rank lowest).

    Returns:
        Positive weights, one per individual.
    """
    order = sorted(range(len(fitness)), key=lambda i: fitness[i])
    ranks = [0.0] * len(fitness)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and fitness[order[j + 1]] == fitness[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def diversity(genotypes: Sequence[Sequence[float]], dims: Sequence[Dimension]) -> float:
    """Diversity of a population in ``[0, 1]``: 0 when every individual is the same point.

    The mean over genes of a normalised spread: a numeric gene (unit value) contributes its standard deviation
    divided by 0.5, the largest a variable on ``[0, 1]`` can have; a categorical gene with ``k >= 2`` choices
    contributes its Gini-Simpson impurity ``1 - sum(p_i^2)`` divided by its largest value ``1 - 1/k``.
    One-choice categories cannot vary and are left out.

    Args:
        genotypes: One gene vector per individual (unit values, category indices).
        dims: The dimension of each gene.

    Returns:
        The diversity (0.0 for an empty population or one with nothing that can vary).
    """
    if len(genotypes) == 0:
        return 0.0
    g = np.asarray(genotypes, dtype=float)
    parts = []
    for j, d in enumerate(dims):
        if isinstance(d, Cat):
            k = len(d.choices)
            if k < 2:
                continue
            p = np.bincount(g[:, j].astype(int), minlength=k) / len(g)
            parts.append((1.0 - float(np.sum(p * p))) / (1.0 - 1.0 / k))
        else:
            parts.append(min(1.0, float(np.std(g[:, j])) / 0.5))
    return float(np.mean(parts)) if parts else 0.0
