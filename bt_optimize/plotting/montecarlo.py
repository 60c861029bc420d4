"""The Monte Carlo figure: the simulated distribution of one metric, observed value and interval."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._common import finish, require_matplotlib

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = ["plot_distribution"]


def _distribution_metrics(analysis: dict[str, Any]) -> list[str]:
    """Names of the entries of a Monte Carlo analysis that carry a histogram."""
    return [
        name
        for name, entry in analysis.items()
        if isinstance(entry, dict) and isinstance(entry.get("hist"), dict)
    ]


def plot_distribution(
    analysis: dict[str, Any],
    metric: str,
    path: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw the simulated distribution of one Monte Carlo metric, with the observed value and the interval.

    The histogram comes from the compact ``hist`` the :class:`~bt_optimize.analyzers.MonteCarlo` analyzer
    keeps for each metric, so a stored (JSON) analysis plots as well as a fresh one. The observed value is
    a solid vertical line and the confidence interval a shaded band; the title gives the method, the
    number of simulations and the p-value.

    Args:
        analysis: ``get_analysis()`` of a ``MonteCarlo`` analyzer (or its JSON round trip).
        metric: The metric to draw, e.g. ``"max_drawdown"``.
        path: If given, the figure is also saved there (PNG, SVG, PDF... by extension). A figure created
            here uses the non-interactive Agg canvas, so no window is opened and no display is needed.
        ax: Axes to draw into; by default a new stand-alone figure is created (without pyplot, so no
            global state or GUI backend is touched).

    Returns:
        The matplotlib ``Figure`` holding the plot.

    Raises:
        ValueError: If the analysis has no simulations (``status`` other than ``"ok"``) or ``metric`` is
            not one of its metrics; the message lists the available ones.
        ImportError: If matplotlib is not installed.

    Example:
        >>> mc = strat.analyzers.mc.get_analysis()  # doctest: +SKIP
        >>> fig = plot_distribution(mc, "max_drawdown", path="mc_drawdown.png")  # doctest: +SKIP
    """
    if not isinstance(analysis, dict):
        raise ValueError(
            f"analysis must be the dict from MonteCarlo.get_analysis(), got {type(analysis).__name__}."
        )
    status = analysis.get("status", "ok")
    if status != "ok":
        detail = analysis.get("message", "")
        raise ValueError(f"The analysis has no simulations to plot (status={status!r}). {detail}".strip())
    available = _distribution_metrics(analysis)
    if metric not in available:
        names = ", ".join(available) if available else "none (is this a MonteCarlo analysis?)"
        raise ValueError(f"Unknown metric {metric!r}; available metrics: {names}.")

    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    entry = analysis[metric]
    edges = [float(e) for e in entry["hist"]["edges"]]
    counts = [int(c) for c in entry["hist"]["counts"]]

    if ax is None:
        fig = Figure(figsize=(7.0, 4.0), layout="constrained")
        FigureCanvasAgg(fig)  # non-interactive: saving never opens a window or needs a display
        ax = fig.add_subplot()
    else:
        fig = ax.figure

    if counts:
        ax.stairs(
            counts, edges, fill=True, color="#9ab6d3", edgecolor="#4a6f94", label="simulations", zorder=2
        )
        if len(counts) == 1:
            note = "every simulation gives the same value"
            box = {"facecolor": "white", "alpha": 0.8, "edgecolor": "none"}
            ax.text(0.02, 0.95, note, transform=ax.transAxes, va="top", fontsize="small", bbox=box, zorder=4)
    ci = entry.get("ci") or [None, None]
    confidence = analysis.get("confidence")
    if ci[0] is not None and ci[1] is not None:
        level = f"{confidence:.0%} " if isinstance(confidence, (int, float)) else ""
        ax.axvspan(ci[0], ci[1], color="#f2c14e", alpha=0.25, label=f"{level}interval", zorder=1)
    observed = entry.get("observed")
    if observed is not None:
        ax.axvline(observed, color="#c0392b", linewidth=2.0, label=f"observed {observed:.4g}", zorder=3)

    better = "lower is better" if entry.get("lower_is_better") else "higher is better"
    ax.set_xlabel(f"{metric} ({better})")
    ax.set_ylabel("simulations")
    method = analysis.get("method", "?")
    n_sims = analysis.get("n_simulations", "?")
    p_value = entry.get("p_value")
    p_text = f", p = {p_value:.3g}" if p_value is not None else ""
    ax.set_title(f"{metric}: {method}, {n_sims} simulations{p_text}")
    ax.legend(loc="best", fontsize="small")

    return finish(fig, path)
