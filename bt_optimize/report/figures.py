"""The report's own matplotlib figures, drawn from the plain data of :mod:`bt_optimize.report.data`.

Figures are created without pyplot (no global state, no display) and embedded in the page as base64 PNG data
URIs, which a browser shows without any network request.
"""

from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["data_uri", "equity_figure", "importance_figure", "heatmap_figure", "noise_figure"]

_STRATEGY = "#1f5f99"
_BENCH = "#9a9a9a"
_BEST = "#c0392b"


def _figure(width: float, height: float, rows: int = 1, **kw: Any) -> tuple[Figure, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, 1, squeeze=False, **kw)[:, 0]


def data_uri(fig: Figure, dpi: int = 110) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (and the figure's memory released)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    fig.clear()
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def equity_figure(run: dict[str, Any]) -> Figure:
    """Equity of the best run against buy-and-hold (top) and both drawdowns (bottom).

    Args:
        run: :func:`bt_optimize.report.data.best_run`.
    """
    fig, (ax, dd) = _figure(9.0, 5.5, rows=2, sharex=True, height_ratios=[2.2, 1])
    eq, bh = run["equity"], run["buy_and_hold"]
    ax.plot(eq.index, eq.to_numpy(), color=_STRATEGY, lw=1.4, label="strategy (best params)")
    if len(bh):
        ax.plot(bh.index, bh.to_numpy(), color=_BENCH, lw=1.1, label="buy and hold")
    ax.set_ylabel("account value")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    dd.fill_between(run["drawdown"].index, 100 * run["drawdown"].to_numpy(), 0, color=_STRATEGY, alpha=0.45,
                    label="strategy")
    if len(bh):
        dd.plot(run["bh_drawdown"].index, 100 * run["bh_drawdown"].to_numpy(), color=_BENCH, lw=1.0,
                label="buy and hold")
    dd.set_ylabel("drawdown, %")
    dd.legend(loc="lower left", fontsize="small")
    dd.grid(alpha=0.3)
    return fig


def importance_figure(importances: list[tuple[str, float]], source: str) -> Figure:
    """Horizontal bars of the parameter importances, the most important on top."""
    fig, (ax,) = _figure(6.5, 0.5 + 0.45 * max(2, len(importances)))
    names = [k for k, _ in importances][::-1]
    vals = [v for _, v in importances][::-1]
    ax.barh(names, vals, color=_STRATEGY)
    ax.set_xlabel(f"importance ({source})")
    ax.set_xlim(0, max(0.05, max(vals, default=0.0) * 1.15))
    ax.grid(axis="x", alpha=0.3)
    return fig


def heatmap_figure(grid: dict[str, Any], objective: str) -> Figure:
    """Best objective per cell of the two most important parameters (empty cells blank, counts printed).

    Args:
        grid: :func:`bt_optimize.report.importance.binned_grid`.
        objective: The objective's name (colour bar label).
    """
    import numpy as np

    vals = np.array([[math.nan if v is None else v for v in row] for row in grid["values"]], dtype=float)
    fig, (ax,) = _figure(min(9.0, 3.0 + 0.8 * len(grid["x_labels"])), min(7.0, 2.2 + 0.5 * len(grid["y_labels"])))
    im = ax.imshow(np.ma.masked_invalid(vals), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(grid["x_labels"])), grid["x_labels"], rotation=30, ha="right", fontsize="small")
    ax.set_yticks(range(len(grid["y_labels"])), grid["y_labels"], fontsize="small")
    ax.set_xlabel(grid["x"])
    ax.set_ylabel(grid["y"])
    finite = vals[np.isfinite(vals)]
    mid = float(np.median(finite)) if finite.size else 0.0
    for i, row in enumerate(grid["counts"]):
        for j, n in enumerate(row):
            if n:
                ax.text(j, i, f"{vals[i, j]:.3g}\n(n={n})", ha="center", va="center", fontsize=7,
                        color="white" if vals[i, j] < mid else "black")
    fig.colorbar(im, ax=ax, label=f"best {objective} in the cell")
    return fig


def noise_figure(item: dict[str, Any], analysis: dict[str, Any]) -> Figure | None:
    """Histogram of the primary metric over the noisy re-runs, with the original value marked."""
    metric = item.get("primary") or "sharpe_ratio"
    entry = analysis.get(metric) or {}
    values = [v for v in entry.get("values") or [] if v is not None and math.isfinite(v)]
    if not values:
        return None
    fig, (ax,) = _figure(6.5, 3.2)
    ax.hist(values, bins=min(30, max(5, len(values) // 3)), color=_BENCH)
    if entry.get("original") is not None:
        ax.axvline(entry["original"], color=_BEST, lw=2, label="original data")
        ax.legend(loc="best", fontsize="small")
    ax.set_xlabel(f"{metric} on noisy copies of the data")
    ax.set_ylabel("re-runs")
    return fig
