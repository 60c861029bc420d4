"""The search plans of the ``optimize_*`` methods: each method's own options, checked before any backtest.

``plan_<method>(**options)`` takes exactly the keyword options that ``Cerebro.optimize_<method>`` adds to those
every method shares (objective, storage, window, executor, ...), checks them with a message that names the fix,
and returns a :class:`~bt_optimize.engine.runner.SearchPlan`. :data:`PLANS` maps each method name to its function;
``walk_forward`` uses it (and the functions' signatures) to tell a method's options from the search space.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..exceptions import ObjectiveError, SpaceError
from ..search.base import check_seed
from ..search.grid import GridSearch
from ..search.random import RandomSearch
from .fidelity import DEFAULT_PROMOTE_QUANTILE, DEFAULT_PROMOTE_Z, check_options
from .runner import Screen, SearchPlan

__all__ = ["PLANS", "plan_grid", "plan_random", "plan_genetic", "plan_bayes", "plan_options"]


def _settings(plan: Callable[..., SearchPlan], values: dict[str, Any]) -> dict[str, Any]:
    """The options of ``plan`` as called (``values``: its locals on entry), defaults included."""
    return {name: values[name] for name in inspect.signature(plan).parameters}


def _positive_int(name: str, value: Any, fix: str = "give a positive whole number") -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpaceError(f"{name}={value!r}: {fix}")


def plan_grid() -> SearchPlan:
    """Every point of the space, streamed to the workers (``stop_reason`` ``"exhausted"`` at the end)."""
    return SearchPlan("grid", lambda space, _objective, _constraint: GridSearch(space))


def plan_random(*, n_trials: int = 100, seed: int | None = None) -> SearchPlan:
    """``n_trials`` random points, streamed.

    Raises:
        SpaceError: ``n_trials`` is not a positive whole number.
    """
    settings = _settings(plan_random, locals())
    _positive_int("n_trials", n_trials, "give a positive whole number of trials")
    check_seed(seed)
    return SearchPlan("random", lambda space, _objective, _constraint: RandomSearch(space, seed), n_trials=n_trials,
                      settings=settings)


def plan_genetic(*, population_size: int = 30, generations: int = 40, n_trials: int | None = None,
                 selection: str = "tournament", tournament_size: int = 3, crossover_prob: float = 0.8,
                 mutation_prob: float = 0.2, elite_size: int = 3, patience: int | None = None,
                 target: float | None = None, max_time: float | None = None,
                 diversity_threshold: float | None = 0.01, seed: int | None = None) -> SearchPlan:
    """A genetic search, one generation per round (see :func:`bt_optimize.search.genetic.check_genetic_options`);
    NSGA-II (:mod:`bt_optimize.search.nsga2`) for several objectives.

    Raises:
        SpaceError: an option is out of range or of the wrong type.
        ObjectiveError: ``patience``/``target`` with several objectives (when the plan makes its search).
    """
    settings = _settings(plan_genetic, locals())
    from ..search.genetic import GeneticSearch, check_genetic_options  # DEAP is imported only when used

    if n_trials is not None:
        _positive_int("n_trials", n_trials, "give None (no cap) or a positive whole number of backtests")
    options = dict(population_size=population_size, generations=generations, selection=selection,
                   tournament_size=tournament_size, crossover_prob=crossover_prob, mutation_prob=mutation_prob,
                   elite_size=elite_size, patience=patience, target=target, max_time=max_time,
                   diversity_threshold=diversity_threshold)
    check_genetic_options(seed=seed, **options)

    def factory(space: Any, objective: Any, _constraint: Any) -> GeneticSearch:
        if not objective.is_multi:
            return GeneticSearch(space, seed, maximize=objective.maximize, **options)
        if patience is not None or target is not None:
            raise ObjectiveError("patience= and target= follow one objective; a multi-objective genetic study "
                                 "(NSGA-II) runs for its generations or n_trials: drop them")
        from ..search.nsga2 import NSGA2Search

        return NSGA2Search(space, seed, directions=objective.directions, **options)

    return SearchPlan("genetic", factory, n_trials=n_trials, batch_size=population_size, settings=settings)


def plan_bayes(*, n_trials: int = 100, batch_size: int = 4, seed: int | None = None,
               initial_points: list[dict[str, Any]] | None = None, initial_values: list[float | None] | None = None,
               acquisition: str = "auto", refine: float = 0.0, patience: int | None = None, tol: float = 0.0,
               n_initial_points: int | None = None, fidelity: float | None = None,
               promote_quantile: float = DEFAULT_PROMOTE_QUANTILE, promote_z: float | None = DEFAULT_PROMOTE_Z,
               fidelity_warmup: int | None = None, cv: int | None = None) -> SearchPlan:
    """A Gaussian-process search in rounds of ``batch_size``, with an optional quick screen, folds and refinement;
    ParEGO (:mod:`bt_optimize.search.parego`) for several objectives.

    The initial points, and the options that need one objective, are checked when the plan makes its first search
    (:meth:`~bt_optimize.engine.runner.SearchPlan.make`).

    Raises:
        SpaceError: an option is out of range; the message names the fix.
        ObjectiveError: ``patience``, ``initial_values``, ``fidelity``, ``cv`` or ``refine`` with several objectives.
    """
    settings = _settings(plan_bayes, locals())
    from ..search.bayes import BayesSearch, check_arguments

    for name, v in (("n_trials", n_trials), ("batch_size", batch_size)):
        _positive_int(name, v)
    check_seed(seed)
    check_arguments(acquisition=acquisition, batch_size=batch_size, n_initial_points=n_initial_points,
                    patience=patience, tol=tol)
    if isinstance(refine, bool) or not isinstance(refine, (int, float)) or not 0 <= refine < 1:
        raise SpaceError(f"refine={refine!r}: give the share of n_trials to spend refining, from 0 up to below 1")
    if n_trials - int(round(refine * n_trials)) < 1:
        raise SpaceError(f"refine={refine!r} leaves no trial for the main loop of n_trials={n_trials}; lower it")
    check_options(fidelity=fidelity, promote_quantile=promote_quantile, fidelity_warmup=fidelity_warmup, cv=cv,
                  promote_z=promote_z)

    def factory(space: Any, objective: Any, constraint: Any) -> BayesSearch:
        options = dict(acquisition=acquisition, batch_size=batch_size, n_initial_points=n_initial_points,
                       initial_points=initial_points, constraint=constraint)
        if not objective.is_multi:
            return BayesSearch(space, seed, maximize=objective.maximize, initial_values=initial_values,
                               patience=patience, tol=tol, **options)
        given = [k for k, v in (("patience", patience), ("initial_values", initial_values), ("fidelity", fidelity),
                                ("cv", cv)) if v is not None] + (["refine"] if refine else [])
        if given:
            raise ObjectiveError(f"{', '.join(k + '=' for k in given)} work with one objective; a multi-objective "
                                 "Bayesian study (ParEGO) takes none of them: drop them")
        from ..search.parego import ParEgoSearch

        return ParEgoSearch(space, seed, directions=objective.directions, **options)

    screen = Screen(fidelity=fidelity, promote_quantile=promote_quantile, promote_z=promote_z,
                    fidelity_warmup=fidelity_warmup, cv=cv)
    return SearchPlan("bayes", factory, n_trials=n_trials, batch_size=batch_size, screen=screen, refine=refine,
                      seed=seed, settings=settings)


#: The search methods, by name: ``optimize_<name>`` and ``walk_forward(method=<name>)``.
PLANS: dict[str, Callable[..., SearchPlan]] = {"grid": plan_grid, "random": plan_random, "genetic": plan_genetic,
                                               "bayes": plan_bayes}


def plan_options(method: str) -> set[str]:
    """The keyword options of ``plan_<method>`` (those of ``optimize_<method>`` beyond the shared ones)."""
    return set(inspect.signature(PLANS[method]).parameters)
