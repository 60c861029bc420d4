"""Matplotlib figures drawn from the plain-data results of bt_optimize.

Nothing in the core imports this package at module level: the results objects (``Study``, ``WalkForward``,
``SensitivityResult``) import the one function they need inside their ``plot*`` methods, and matplotlib itself
is imported only when a figure is drawn. Every function works from plain data (a DataFrame, an analyzer's
``get_analysis()`` reloaded from storage, a ``to_dict()``), never from live backtrader objects, and draws on a
stand-alone Agg figure (no pyplot state, no display needed).

- :mod:`.montecarlo`: :func:`plot_distribution`
- :mod:`.study`: :func:`plot_generations`, :func:`plot_convergence`, :func:`plot_objective`,
  :func:`plot_evaluations`
- :mod:`.sensitivity`: :func:`plot_sensitivity`, :func:`plot_interaction`
- :mod:`.walkforward`: :func:`plot_walk_forward`
- :mod:`.overfitting`: :func:`plot_overfitting`
- :mod:`.objectives`: :func:`plot_importances`, :func:`plot_pareto`
"""

from .montecarlo import plot_distribution
from .objectives import plot_importances, plot_pareto
from .overfitting import plot_overfitting
from .sensitivity import plot_interaction, plot_sensitivity
from .study import plot_convergence, plot_evaluations, plot_generations, plot_objective
from .walkforward import plot_walk_forward

__all__ = ["plot_distribution", "plot_generations", "plot_convergence", "plot_objective", "plot_evaluations",
           "plot_sensitivity", "plot_interaction", "plot_walk_forward", "plot_overfitting", "plot_importances",
           "plot_pareto"]
