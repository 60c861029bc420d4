"""Pareto dominance and hypervolume for 2 or 3 objectives (pure numpy).

Every function takes points as an ``(n, k)`` array and one direction per objective (``True``: maximise). A point
``a`` dominates ``b`` when it is at least as good on every objective and strictly better on one; the
non-dominated points form the Pareto front. The hypervolume of a set is the volume of objective space it
dominates up to a reference point (every objective at its worst acceptable value): larger is better, and it grows
only when the front moves outward or spreads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["to_minimization", "non_dominated", "hypervolume"]


def to_minimization(points: npt.ArrayLike, maximize: Sequence[bool]) -> np.ndarray:
    """``points`` with every maximised objective negated, so that smaller is better on every column."""
    y = np.atleast_2d(np.asarray(points, dtype=float))
    if y.shape[1] != len(maximize):
        raise ValueError(f"points have {y.shape[1]} objectives but {len(maximize)} directions were given")
    sign = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
    return y * sign


def non_dominated(points: npt.ArrayLike, maximize: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the points no other point dominates (duplicates of a front point are all kept).

    Rows holding NaN are never on the front.
    """
    y = to_minimization(points, maximize)
    n = len(y)
    ok = ~np.isnan(y).any(axis=1)
    mask = ok.copy()
    for i in np.flatnonzero(ok):
        others = y[ok]
        dominated = np.any(np.all(others <= y[i], axis=1) & np.any(others < y[i], axis=1))
        mask[i] = not dominated
    return mask if n else np.zeros(0, dtype=bool)


def _hv_min(y: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of minimisation points ``y`` (all strictly better than ``ref``), by slicing the last axis."""
    if len(y) == 0:
        return 0.0
    if y.shape[1] == 1:
        return float(ref[0] - y[:, 0].min())
    if y.shape[1] == 2:
        order = np.argsort(y[:, 0], kind="stable")
        vol, best = 0.0, ref[1]
        for x0, x1 in y[order]:
            if x1 < best:
                vol += (ref[0] - x0) * (best - x1)
                best = x1
        return float(vol)
    order = np.argsort(y[:, -1], kind="stable")
    ys = y[order]
    vol = 0.0
    for i in range(len(ys)):
        top = ref[-1] if i + 1 == len(ys) else ys[i + 1, -1]
        depth = top - ys[i, -1]
        if depth > 0:
            vol += depth * _hv_min(ys[: i + 1, :-1], ref[:-1])
    return float(vol)


def hypervolume(points: npt.ArrayLike, reference: Sequence[float], maximize: Sequence[bool]) -> float:
    """Volume dominated by ``points`` up to ``reference`` (points not better than it on every objective add
    nothing; NaN rows are ignored).

    Example:
        >>> hypervolume([[1.0, 0.2], [0.5, 0.1]], reference=[0.0, 0.5], maximize=[True, False])
        0.35
    """
    y = to_minimization(points, maximize)
    ref = to_minimization([reference], maximize)[0]
    y = y[~np.isnan(y).any(axis=1)]
    y = y[np.all(y < ref, axis=1)]
    if len(y) == 0:
        return 0.0
    y = y[non_dominated(y, [False] * y.shape[1])]
    return round(_hv_min(y, ref), 12)
