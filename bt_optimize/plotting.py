"""Matplotlib figures drawn from the plain-data results of bt_optimize.

Nothing in the core imports this module, and matplotlib itself is imported only when a plot is drawn.
Every function works from JSON-safe dicts (for example an analyzer's ``get_analysis()`` reloaded from
storage), never from live backtrader objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_distribution", "plot_generations", "plot_convergence", "plot_objective", "plot_evaluations",
           "plot_sensitivity", "plot_interaction"]


def _require_matplotlib() -> None:
    """Import matplotlib or raise an ImportError that says how to install it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("Plotting needs matplotlib: pip install matplotlib") from exc


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

    _require_matplotlib()
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

    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def plot_generations(frame: Any, path: str | None = None) -> Figure:
    """Draw a genetic study's fitness and diversity over generations.

    The top panel shows each generation's best and mean objective (with a band of one standard deviation)
    and the best value so far; the bottom panel shows the population diversity (0: every individual is the
    same point, 1: as spread out as possible).

    Args:
        frame: ``study.generations`` (a DataFrame, or anything ``pandas.DataFrame`` accepts, with the columns
            ``generation``, ``best``, ``mean``, ``std``, ``diversity`` and optionally ``best_so_far``).
        path: If given, the figure is also saved there (format by extension) through the non-interactive Agg
            canvas, so no display is needed.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: the frame is empty or lacks a needed column.
        ImportError: If matplotlib is not installed.

    Example:
        >>> fig = plot_generations(study.generations, path="generations.png")  # doctest: +SKIP
    """
    import pandas as pd

    df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    needed = ["generation", "best", "mean", "std", "diversity"]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"the frame lacks columns {missing}; pass study.generations of a genetic study")
    if df.empty:
        raise ValueError("no finished generation to plot; run the genetic study for at least one generation")

    _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7.0, 5.0), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    gen = df["generation"].to_numpy(dtype=float)
    mean = df["mean"].to_numpy(dtype=float)
    std = df["std"].to_numpy(dtype=float)
    top.fill_between(gen, mean - std, mean + std, color="#9ab6d3", alpha=0.4, label="mean ± std")
    top.plot(gen, mean, color="#4a6f94", marker=".", label="mean")
    top.plot(gen, df["best"].to_numpy(dtype=float), color="#c0392b", marker="o", label="best of generation")
    if "best_so_far" in df.columns:
        top.plot(gen, df["best_so_far"].to_numpy(dtype=float), color="#2c3e50", linestyle="--", label="best so far")
    top.set_ylabel("objective")
    top.set_title("genetic search: fitness and diversity per generation")
    top.legend(loc="best", fontsize="small")
    bottom.plot(gen, df["diversity"].to_numpy(dtype=float), color="#27ae60", marker=".")
    bottom.set_ylim(0.0, 1.05)
    bottom.set_ylabel("diversity")
    bottom.set_xlabel("generation")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def _trial_frame(frame: Any, names: list[str]) -> Any:
    """The complete trials of ``study.trials`` (checked), sorted by number."""
    import pandas as pd

    df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    missing = [c for c in ["number", "state", "value", *[f"params_{n}" for n in names]] if c not in df.columns]
    if missing:
        raise ValueError(f"the frame lacks columns {missing}; pass study.trials")
    done = df[df["state"] == "complete"].sort_values("number")
    if done.empty:
        raise ValueError("no complete trial to plot; run the study first")
    return done


def _new_figure(n_panels: int, title: str) -> tuple[Figure, list[Axes]]:
    _require_matplotlib()
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


def _axis_values(series: Any) -> tuple[Any, list[str] | None]:
    """Numeric x values of a parameter column; categories become positions (returned as tick labels)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float), None
    labels = sorted({repr(v) if not isinstance(v, str) else v for v in series}, key=str)
    pos = {lab: i for i, lab in enumerate(labels)}
    return [pos[repr(v) if not isinstance(v, str) else v] for v in series], labels


def plot_convergence(frame: Any, maximize: bool = True, path: str | None = None) -> Figure:
    """Objective value of every complete trial and the best value so far, by trial number.

    Args:
        frame: ``study.trials``.
        maximize: Direction of the objective (sets what "best so far" means).
        path: If given, the figure is also saved there through the non-interactive Agg canvas.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: no complete trial, or the frame is not a trials table.

    Example:
        >>> fig = plot_convergence(study.trials, path="convergence.png")  # doctest: +SKIP
    """
    done = _trial_frame(frame, [])
    fig, (ax,) = _new_figure(1, "convergence")
    x = done["number"].to_numpy(dtype=float)
    y = done["value"].to_numpy(dtype=float)
    best = [float(v) for v in (done["value"].cummax() if maximize else done["value"].cummin())]
    ax.scatter(x, y, s=14, color="#7f8c8d", label="trial")
    ax.step(x, best, where="post", color="#c0392b", label="best so far")
    if "attr_phase" in done.columns and (done["attr_phase"] == "refine").any():
        ax.axvline(done.loc[done["attr_phase"] == "refine", "number"].min() - 0.5, color="#2c3e50", linestyle=":",
                   label="refinement starts")
    ax.set_xlabel("trial number")
    ax.set_ylabel("objective")
    ax.legend(loc="best", fontsize="small")
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def plot_objective(frame: Any, names: list[str], maximize: bool = True, path: str | None = None) -> Figure:
    """One panel per parameter: the objective of every complete trial against that parameter's value.

    The best trial is marked in red. Categorical parameters are drawn at one position per choice.

    Args:
        frame: ``study.trials``.
        names: Parameter names (``study.space.names``).
        maximize: Direction of the objective (picks the best trial).
        path: If given, the figure is also saved there through the non-interactive Agg canvas.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: no complete trial, or a parameter column is missing.
    """
    done = _trial_frame(frame, names)
    fig, axes = _new_figure(len(names), "objective by parameter")
    y = done["value"].to_numpy(dtype=float)
    ib = int(y.argmax() if maximize else y.argmin())
    for ax, name in zip(axes, names):
        x, labels = _axis_values(done[f"params_{name}"])
        ax.scatter(x, y, s=14, c=done["number"].to_numpy(dtype=float), cmap="viridis")
        ax.scatter([x[ib]], [y[ib]], s=60, facecolors="none", edgecolors="#c0392b", linewidths=2)
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel(name)
        ax.set_ylabel("objective")
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def plot_evaluations(frame: Any, names: list[str], path: str | None = None) -> Figure:
    """One panel per parameter: the value each trial evaluated, by trial number (where the search looked).

    Args:
        frame: ``study.trials``.
        names: Parameter names (``study.space.names``).
        path: If given, the figure is also saved there through the non-interactive Agg canvas.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: no complete trial, or a parameter column is missing.
    """
    done = _trial_frame(frame, names)
    fig, axes = _new_figure(len(names), "evaluated points by trial")
    n = done["number"].to_numpy(dtype=float)
    for ax, name in zip(axes, names):
        x, labels = _axis_values(done[f"params_{name}"])
        ax.scatter(n, x, s=14, c=done["value"].to_numpy(dtype=float), cmap="viridis")
        if labels is not None:
            ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("trial number")
        ax.set_ylabel(name)
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


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
        fig, (ax,) = _new_figure(1, f"sensitivity of {data['objective']} to {param}")
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
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


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
        fig, (ax,) = _new_figure(1, f"{data['objective']} over {a} x {b}")
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
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def _edges(centres: list[float]) -> list[float]:
    """Cell edges around increasing cell centres (half-way between neighbours)."""
    if len(centres) == 1:
        return [centres[0] - 0.5, centres[0] + 0.5]
    mids = [(p + q) / 2.0 for p, q in zip(centres[:-1], centres[1:])]
    return [centres[0] - (mids[0] - centres[0])] + mids + [centres[-1] + (centres[-1] - mids[-1])]
