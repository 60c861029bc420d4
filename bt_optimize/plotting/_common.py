"""Helpers shared by the figures: the matplotlib check and a stand-alone (Agg) figure."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def require_matplotlib() -> None:
    """Import matplotlib or raise an ImportError that says how to install it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("Plotting needs matplotlib: pip install matplotlib") from exc


def finish(fig: Figure, path: str | None) -> Figure:
    """Save ``fig`` to ``path`` when one is given (format by extension, 100 dpi); return it."""
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def new_figure(n_panels: int, title: str) -> tuple[Figure, list[Axes]]:
    """A stand-alone figure (Agg canvas, no pyplot) with ``n_panels`` axes, at most three per row."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(3, n_panels)
    rows = -(-n_panels // cols)
    fig = Figure(figsize=(3.6 * cols, 3.0 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    fig.suptitle(title)
    return fig, axes[:n_panels]
