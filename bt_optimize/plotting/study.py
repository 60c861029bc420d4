"""Figures of one study: generations, convergence, objective by parameter, evaluations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._common import finish, new_figure, require_matplotlib

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure


__all__ = ["plot_generations", "plot_convergence", "plot_objective", "plot_evaluations"]


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

    require_matplotlib()
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
    return finish(fig, path)


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
    fig, (ax,) = new_figure(1, "convergence")
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
    return finish(fig, path)


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
    fig, axes = new_figure(len(names), "objective by parameter")
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
    return finish(fig, path)


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
    fig, axes = new_figure(len(names), "evaluated points by trial")
    n = done["number"].to_numpy(dtype=float)
    for ax, name in zip(axes, names):
        x, labels = _axis_values(done[f"params_{name}"])
        ax.scatter(n, x, s=14, c=done["value"].to_numpy(dtype=float), cmap="viridis")
        if labels is not None:
            ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("trial number")
        ax.set_ylabel(name)
    return finish(fig, path)
