"""Figures of parameter importance and Pareto fronts (matplotlib, imported only when a plot is drawn).

Nothing in the core imports this module. Each function computes nothing itself: it draws what the study
computed (:meth:`bt_optimize.Study.importances`, :attr:`bt_optimize.Study.best_trials`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

from ._common import finish, require_matplotlib

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_importances", "plot_pareto"]


def _figure(size: tuple[float, float]) -> Figure:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)  # non-interactive: saving never opens a window or needs a display
    return fig


def plot_importances(importances: Any, path: str | None = None) -> Figure:
    """Horizontal bars of each parameter's share of the objective's variance, most important on top.

    Args:
        importances: ``study.importances()`` (a Series of shares indexed by parameter name).
        path: If given, the figure is also saved there (format by extension).

    Returns:
        The matplotlib ``Figure``.

    Example:
        >>> fig = plot_importances(study.importances(), "importances.png")  # doctest: +SKIP
    """
    import pandas as pd

    s = pd.Series(importances, dtype=float).sort_values(ascending=True)
    if s.empty:
        raise ValueError("no importances to plot")
    fig = _figure((6.0, 0.9 + 0.45 * len(s)))
    ax = fig.subplots()
    bars = ax.barh([str(i) for i in s.index], s.to_numpy(), color="tab:blue")
    for bar, v in zip(bars, s.to_numpy()):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v:.1%}", va="center", fontsize=9)
    ax.set_xlim(0, max(1e-9, float(s.max())) * 1.18)
    ax.set_xlabel("share of the objective's variance (fANOVA)")
    ax.set_title("Parameter importance")
    return finish(fig, path)


def plot_pareto(points: Sequence[Sequence[float]], front: Sequence[bool], names: Sequence[str],
                directions: Sequence[bool], path: str | None = None) -> Figure:
    """Every complete trial in objective space with the Pareto front highlighted.

    Two objectives: one panel, the front joined in order of the first objective. Three: one panel per pair.

    Args:
        points: Each complete trial's objective values.
        front: Whether each point is on the front.
        names: Objective names.
        directions: ``True`` where the objective is maximised (shown in the axis labels).
        path: If given, the figure is also saved there (format by extension).

    Returns:
        The matplotlib ``Figure``.
    """
    import numpy as np

    y = np.asarray(points, dtype=float)
    on = np.asarray(front, dtype=bool)
    if y.ndim != 2 or len(y) == 0 or y.shape[1] not in (2, 3):
        raise ValueError("plot_pareto needs the values of at least one complete trial with 2 or 3 objectives")
    pairs = list(combinations(range(y.shape[1]), 2))
    fig = _figure((5.2 * len(pairs), 4.4))
    axes = np.atleast_1d(fig.subplots(1, len(pairs)))
    label = [f"{n} ({'max' if d else 'min'})" for n, d in zip(names, directions)]
    for ax, (i, j) in zip(axes, pairs):
        ax.scatter(y[~on, i], y[~on, j], s=14, color="0.7", label="trials")
        ax.scatter(y[on, i], y[on, j], s=30, color="tab:red", label=f"front ({int(on.sum())})", zorder=3)
        if y.shape[1] == 2 and on.sum() > 1:
            order = np.argsort(y[on, i])
            ax.plot(y[on, i][order], y[on, j][order], color="tab:red", lw=1, drawstyle="steps-post")
        ax.set_xlabel(label[i])
        ax.set_ylabel(label[j])
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.suptitle("Pareto front" if y.shape[1] == 2 else "Pareto front (pairwise views of 3 objectives)")
    return finish(fig, path)
