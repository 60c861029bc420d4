"""Sensitivity figures: one parameter's sweep, and the heatmap of an interaction grid."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._common import finish, new_figure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = ["plot_sensitivity", "plot_interaction"]


def _sensitivity_data(result: Any) -> dict[str, Any]:
    """The plain form of a sensitivity result (a ``SensitivityResult`` or its ``to_dict()``)."""
    data = result.to_dict() if hasattr(result, "to_dict") else result
    if not isinstance(data, dict) or "results" not in data:
        raise ValueError(f"pass a SensitivityResult (or its to_dict()), got {type(result).__name__}")
    return data


def plot_sensitivity(result: Any, param: str, path: str | None = None, ax: Axes | None = None) -> Figure:
    """The objective along one parameter's one-at-a-time sweep, with the base value marked.

    Points where the objective is undefined are left out (the line is broken there). The base is a vertical
    dashed line and a red star; the title gives the stability score, its interval and the class.

    Args:
        result: A :class:`~bt_optimize.robustness.SensitivityResult` or its ``to_dict()`` (a stored result).
        param: A swept parameter.
        path: If given, the figure is also saved there through the non-interactive Agg canvas.
        ax: Axes to draw into (default: a new figure).

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: ``param`` was not swept (the message lists those that were).

    Example:
        >>> fig = plot_sensitivity(sens, "fast", path="fast.png")  # doctest: +SKIP
    """
    data = _sensitivity_data(result)
    if param not in data["results"]:
        raise ValueError(f"{param!r} was not swept; swept parameters: {', '.join(data['results']) or 'none'}")
    r = data["results"][param]
    if ax is None:
        fig, (ax,) = new_figure(1, f"sensitivity of {data['objective']} to {param}")
        fig.set_size_inches(6.4, 4.4)
    else:
        fig = ax.figure
    x = [float(v) for v in r["values"]]
    y = [float("nan") if v is None else float(v) for v in r["objective"]]
    ax.plot(x, y, color="#4a6f94", marker="o", markersize=4, label=data["objective"])
    if r.get("base_value") is not None:
        ax.axvline(float(r["base"]), color="#c0392b", linestyle="--", linewidth=1.0)
        ax.scatter([float(r["base"])], [float(r["base_value"])], marker="*", s=220, color="#c0392b", zorder=3,
                   label=f"base {param}={r['base']}")
    if r.get("plateau_at") is not None and r["plateau_at"] != r["base"]:
        ax.axvline(float(r["plateau_at"]), color="#27ae60", linestyle=":", linewidth=1.2,
                   label=f"best neighbourhood ({param}={r['plateau_at']})")
    score = r.get("score")
    ci = r.get("ci") or [None, None]
    ci_text = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci[0] is not None else ""
    title = f"score {score:.2f}{ci_text}: {r['class']}" if score is not None else "score undefined"
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel(param)
    ax.set_ylabel(data["objective"])
    ax.legend(loc="best", fontsize="small")
    return finish(fig, path)


def plot_interaction(result: Any, a: str, b: str, path: str | None = None, ax: Axes | None = None) -> Figure:
    """Heatmap of the objective over the 2-D grid of parameters ``a`` (rows, y axis) and ``b`` (x axis).

    The base point is starred; missing points are blank. The title gives the interaction strength.

    Args:
        result: A :class:`~bt_optimize.robustness.SensitivityResult` or its ``to_dict()``.
        a: First parameter of a requested pair.
        b: Second parameter (the pair may be given in either order).
        path: If given, the figure is also saved there through the non-interactive Agg canvas.
        ax: Axes to draw into (default: a new figure).

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: no grid was run for this pair (the message lists the pairs).

    Example:
        >>> fig = plot_interaction(sens, "fast", "slow", path="fast_slow.png")  # doctest: +SKIP
    """
    import numpy as np

    data = _sensitivity_data(result)
    grids = data.get("interactions") or {}
    st = grids.get(f"{a},{b}")
    transpose = False
    if st is None and f"{b},{a}" in grids:
        st, transpose = grids[f"{b},{a}"], True
    if st is None:
        names = ", ".join(f"({k.replace(',', ', ')})" for k in grids) or "none"
        raise ValueError(f"no interaction grid for ({a}, {b}); grids run: {names}")
    z = np.array([[np.nan if v is None else float(v) for v in row] for row in st["matrix"]], dtype=float)
    ya, xb = [float(v) for v in st["values_a"]], [float(v) for v in st["values_b"]]
    base_y, base_x = float(st["base_a"]), float(st["base_b"])
    if transpose:
        z, ya, xb, base_y, base_x = z.T, xb, ya, base_x, base_y
    if ax is None:
        fig, (ax,) = new_figure(1, f"{data['objective']} over {a} x {b}")
        fig.set_size_inches(6.4, 4.4)
    else:
        fig = ax.figure
    cmap = "viridis" if data.get("maximize", True) else "viridis_r"
    mesh = ax.pcolormesh(_edges(xb), _edges(ya), np.ma.masked_invalid(z), cmap=cmap, shading="flat")
    fig.colorbar(mesh, ax=ax, label=data["objective"])
    ax.scatter([base_x], [base_y], marker="*", s=260, color="#c0392b", edgecolors="white", linewidths=1.0,
               zorder=3, label="base")
    strength = st.get("strength")
    flag = {True: "interacting", False: "independent", None: "undefined"}[st.get("has_interaction")]
    ax.set_title(f"interaction strength {strength:.2f}: {flag}" if strength is not None else "strength undefined",
                 fontsize="medium")
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    ax.legend(loc="upper right", fontsize="small")
    return finish(fig, path)


def _edges(centres: list[float]) -> list[float]:
    """Cell edges around increasing cell centres (half-way between neighbours)."""
    if len(centres) == 1:
        return [centres[0] - 0.5, centres[0] + 0.5]
    mids = [(p + q) / 2.0 for p, q in zip(centres[:-1], centres[1:])]
    return [centres[0] - (mids[0] - centres[0])] + mids + [centres[-1] + (centres[-1] - mids[-1])]
