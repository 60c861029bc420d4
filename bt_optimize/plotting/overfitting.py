"""The overfitting figure: histogram of the CSCV logits, and out-of-sample against in-sample performance.

Drawn from the plain numbers of an :class:`~bt_optimize.robustness.overfitting.OverfittingReport` (or anything
with its fields), on a stand-alone Agg figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._common import finish, new_figure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["plot_overfitting"]


def plot_overfitting(report: Any, path: str | None = None) -> Figure:
    """Draw an overfitting report in two panels.

    Left: the histogram of the logits of the in-sample best's out-of-sample rank, one per cross-validation split;
    the share left of 0 is the PBO. Right: out-of-sample against in-sample performance of the in-sample best, one
    point per split, with the fitted degradation line.

    Args:
        report: An ``OverfittingReport`` (``study.overfitting()``).
        path: If given, the figure is also saved there (format by extension) through the non-interactive Agg
            canvas, so no display is needed.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: the report is ``insufficient`` (nothing to draw).
    """
    if not report.logits:
        raise ValueError(f"nothing to draw: {report.summary}")
    import numpy as np

    dsr = "n/a" if report.dsr is None else f"{report.dsr:.2f}"
    fig, (ax1, ax2) = new_figure(2, f"{report.verdict}: deflated Sharpe {dsr}, {report.n_trials} trials "
                                    f"(~{report.n_effective:.0f} independent)")
    fig.set_size_inches(11, 4.4)
    logits = np.asarray(report.logits, dtype=float)
    finite = logits[np.isfinite(logits)]
    ax1.hist(finite, bins=min(40, max(5, len(np.unique(finite)))), color="#4a6f94", alpha=0.85)
    ax1.axvline(0.0, color="#c0392b", lw=1.5)
    ax1.set_xlabel("logit of the in-sample best's out-of-sample rank")
    ax1.set_ylabel("splits")
    ax1.set_title(f"PBO = {report.pbo:.2f} (share left of the red line)")
    x = np.asarray(report.is_best, dtype=float)
    y = np.asarray(report.oos_of_best, dtype=float)
    ax2.scatter(x, y, s=6, alpha=0.35, color="#27ae60")
    xs = np.linspace(float(x.min()), float(x.max()), 2)
    intercept = float(np.mean(y) - report.degradation_slope * np.mean(x))
    ax2.plot(xs, intercept + report.degradation_slope * xs, color="#c0392b", lw=1.5,
             label=f"slope {report.degradation_slope:.2f}")
    ax2.axhline(0.0, color="grey", lw=0.8)
    ax2.set_xlabel(f"in-sample {report.metric} (per bar)")
    ax2.set_ylabel(f"out-of-sample {report.metric} (per bar)")
    ax2.set_title(f"P(out-of-sample loss) = {report.prob_oos_loss:.2f}")
    ax2.legend(loc="best", fontsize=8)
    return finish(fig, path)
