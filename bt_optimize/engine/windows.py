"""The recent stretch of a study's window that a quick screen measures (:func:`recent_window`).

A pure function of bar positions (of the first feed, as :class:`~bt_optimize.trial.Window` is), so the same study
always gets the same window, in any process. The walk-forward folds of ``cv=`` are walk-forward windows:
:func:`bt_optimize.walkforward.windows.expanding_folds` (also importable from here under its old path).
"""

from __future__ import annotations

from ..exceptions import SpaceError
from ..trial import Window
from ..walkforward.windows import MIN_FOLD_BARS, expanding_folds, measured_bounds

__all__ = ["MIN_FOLD_BARS", "recent_window", "expanding_folds"]


def recent_window(base: Window, n_bars: int, fidelity: float, warmup: int) -> Window:
    """The most recent ``fidelity`` share of ``base``, with ``warmup`` bars fed before it.

    Args:
        base: The study's window (``Window()`` for all the data).
        n_bars: Bars in the first feed.
        fidelity: Share of the window's measured bars to keep, in ``(0, 1)``.
        warmup: Bars fed before the quick window to prime indicators (clipped at the first bar of the data).

    Returns:
        ``Window(start=end - round(fidelity * length), end=base.end, warmup=warmup)``, never empty.

    Raises:
        SpaceError: ``fidelity`` is not in ``(0, 1)`` or ``warmup`` is negative.

    Example:
        >>> recent_window(Window(), 1000, 0.35, 50)
        Window(start=650, end=None, warmup=50)
    """
    if isinstance(fidelity, bool) or not isinstance(fidelity, (int, float)) or not 0 < fidelity < 1:
        raise SpaceError(f"fidelity={fidelity!r}: give the share of the data for the quick screen, between 0 and 1 "
                         "(e.g. 0.35), or None for no screen")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise SpaceError(f"fidelity_warmup={warmup!r}: give a whole number of bars >= 0")
    start, end = measured_bounds(base, n_bars)
    length = end - start
    keep = min(length, max(1, round(fidelity * length)))
    return Window(start=end - keep, end=base.end, warmup=warmup)
