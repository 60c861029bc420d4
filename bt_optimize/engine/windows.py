"""Windows derived from a study's window: the recent stretch of a quick screen, and walk-forward folds.

Both are pure functions of bar positions (of the first feed, as :class:`~bt_optimize.trial.Window` is), so the
same study always gets the same windows, in any process.
"""

from __future__ import annotations

from ..exceptions import SpaceError
from ..trial import Window

__all__ = ["MIN_FOLD_BARS", "recent_window", "expanding_folds"]

#: Fewest measured bars a fold may have (a Sharpe ratio over fewer bars says little).
MIN_FOLD_BARS = 20


def _bounds(base: Window, n_bars: int) -> tuple[int, int]:
    end = n_bars if base.end is None else min(base.end, n_bars)
    return base.start, end


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
    start, end = _bounds(base, n_bars)
    length = end - start
    keep = min(length, max(1, round(fidelity * length)))
    return Window(start=end - keep, end=base.end, warmup=warmup)


def expanding_folds(base: Window, n_bars: int, k: int) -> tuple[Window, ...]:
    """``k`` walk-forward folds of ``base``: consecutive measured stretches with an expanding history.

    The measured bars of ``base`` are cut into ``k`` back-to-back stretches of (nearly) equal length. Fold ``i``
    measures stretch ``i`` and is fed every bar from the first bar ``base`` feeds (its warmup included), so its
    indicators hold the same values a run over all of ``base`` would have there, and its history grows fold by
    fold (an *expanding* walk-forward). Each fold starts flat: no position is carried over from the bars before.
    The folds' measured stretches cover ``base`` exactly once; running all of them costs about ``(k + 1) / 2``
    runs over ``base``.

    Args:
        base: The study's window.
        n_bars: Bars in the first feed.
        k: Number of folds (at least 2).

    Returns:
        The ``k`` fold windows, oldest first.

    Raises:
        SpaceError: ``k`` is not a whole number >= 2, or a fold would measure fewer than :data:`MIN_FOLD_BARS` bars.

    Example:
        >>> expanding_folds(Window(start=100, warmup=50), 500, 2)
        (Window(start=100, end=300, warmup=50), Window(start=300, end=None, warmup=250))
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise SpaceError(f"cv={k!r}: give the number of walk-forward folds, a whole number >= 2, or None")
    start, end = _bounds(base, n_bars)
    if (end - start) < k * MIN_FOLD_BARS:
        raise SpaceError(f"cv={k}: the window measures {end - start} bars, too few for {k} folds of at least "
                         f"{MIN_FOLD_BARS} bars; use fewer folds or more data")
    first_fed = max(0, start - base.warmup)
    cuts = [start + round(i * (end - start) / k) for i in range(k + 1)]
    folds = []
    for i in range(k):
        lo, hi = cuts[i], cuts[i + 1]
        folds.append(Window(start=lo, end=base.end if i == k - 1 else hi, warmup=lo - first_fed))
    return tuple(folds)
