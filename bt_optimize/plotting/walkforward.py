"""The walk-forward figure: windows timeline, IS vs OOS objective per window, stitched OOS equity vs buy-and-hold.

Like the rest of :mod:`bt_optimize.plotting`, nothing in the core imports it at module level, and matplotlib is
imported only when a figure is drawn. It works from plain data (the ``windows`` DataFrame and two Series).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._common import finish, require_matplotlib

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["plot_walk_forward"]

_COLORS = {"train": "#4a6f94", "validation": "#f2c14e", "test": "#27ae60"}


def plot_walk_forward(windows: Any, oos_equity: Any, buy_and_hold: Any = None, objective: str = "objective",
                      path: str | None = None) -> Figure:
    """Draw a walk-forward result in three panels.

    Top: one row per window with its train, validation and test stretches on a time axis (a hatched test
    stretch is a partial last window). Middle: the objective per window in sample (train), on validation and out
    of sample (test). Bottom: the stitched out-of-sample equity against buy-and-hold of the first feed, with the
    window boundaries.

    Args:
        windows: ``WalkForward.windows``.
        oos_equity: ``WalkForward.oos_equity``.
        buy_and_hold: ``WalkForward.buy_and_hold`` (optional).
        objective: Name of the objective, for the axis label.
        path: If given, the figure is also saved there (format by extension) through the non-interactive Agg
            canvas, so no display is needed.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: ``windows`` is empty or lacks the needed columns.
        ImportError: matplotlib is not installed.

    Example:
        >>> fig = plot_walk_forward(wf.windows, wf.oos_equity, wf.buy_and_hold, path="wf.png")  # doctest: +SKIP
    """
    import pandas as pd

    df = windows if isinstance(windows, pd.DataFrame) else pd.DataFrame(windows)
    needed = ["window", "train_start", "train_end", "validation_start", "validation_end", "test_start", "test_end",
              "is_value", "oos_value"]
    missing = [c for c in needed if c not in df.columns]
    if missing or df.empty:
        raise ValueError(f"nothing to plot: pass WalkForward.windows (missing columns {missing or 'none'}, "
                         f"{len(df)} rows)")
    require_matplotlib()
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 9.0), layout="constrained")
    FigureCanvasAgg(fig)  # non-interactive: saving never opens a window or needs a display
    top, mid, bottom = fig.subplots(3, 1, height_ratios=(1.2, 1.0, 1.6))

    for _, row in df.iterrows():
        y = int(row["window"])
        for stretch in ("train", "validation", "test"):
            start, end = row[f"{stretch}_start"], row[f"{stretch}_end"]
            if pd.isna(start) or pd.isna(end):
                continue
            left = mdates.date2num(pd.Timestamp(start))
            width = max(mdates.date2num(pd.Timestamp(end)) - left, 0.5)
            hatch = "//" if stretch == "test" and bool(row.get("partial", False)) else None
            top.barh(y, width, left=left, height=0.6, color=_COLORS[stretch], hatch=hatch, edgecolor="white",
                     label=stretch if y == 0 else None)
    top.xaxis_date()
    top.invert_yaxis()
    top.set_yticks(list(df["window"]))
    top.set_ylabel("window")
    top.set_title("walk-forward windows")
    top.legend(loc="lower left", fontsize="small", ncols=3)

    x = df["window"].to_numpy(dtype=float)
    has_val = "validation_value" in df.columns and df["validation_value"].notna().any()
    width = 0.27 if has_val else 0.4
    mid.bar(x - width, df["is_value"].to_numpy(dtype=float), width, color=_COLORS["train"], label="in sample (train)")
    if has_val:
        mid.bar(x, df["validation_value"].to_numpy(dtype=float), width, color=_COLORS["validation"],
                label="validation")
    mid.bar(x + (width if has_val else 0.0), df["oos_value"].to_numpy(dtype=float), width, color=_COLORS["test"],
            label="out of sample (test)")
    mid.axhline(0.0, color="black", linewidth=0.8)
    mid.set_xticks(x)
    mid.set_xlabel("window")
    mid.set_ylabel(objective)
    mid.set_title("in sample vs out of sample, per window")
    mid.legend(loc="best", fontsize="small")

    bottom.plot(oos_equity.index, oos_equity.to_numpy(dtype=float), color="#c0392b", label="walk-forward OOS")
    if buy_and_hold is not None and len(buy_and_hold):
        bottom.plot(buy_and_hold.index, buy_and_hold.to_numpy(dtype=float), color="#7f8c8d", linestyle="--",
                    label="buy and hold")
    for start in df["test_start"].iloc[1:]:
        bottom.axvline(pd.Timestamp(start), color="#bbbbbb", linewidth=0.8, zorder=0)
    bottom.set_ylabel("account value")
    bottom.set_title("stitched out-of-sample equity")
    bottom.legend(loc="best", fontsize="small")
    return finish(fig, path)
