"""What the surrogates of :class:`~bt_optimize.search.bayes.BayesSearch` are fitted to: the transformed targets
and per-point noise variances of the told history (failed, infeasible and pruned points included)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .gp import normal_scores

__all__ = ["OUTPUT_TRANSFORMS", "NOISE_FLOOR", "PRUNED_NOISE_FLOOR", "pruned_stand_ins", "surrogate_targets"]

#: Accepted values of ``output_transform``.
OUTPUT_TRANSFORMS = ("rank", "standard")

#: Smallest per-point noise variance (in units of the variance of the values seen) of a point told with
#: ``noise_var``: a standard deviation of 3 % of the values' spread. Folds that agree exactly (e.g. a parameter set
#: that never trades scores 0 in every fold) still leave the GP a little room.
NOISE_FLOOR = 1e-3

#: Smallest noise variance (transformed units) of a pruned point's stand-in value.
PRUNED_NOISE_FLOOR = 0.05


def pruned_stand_ins(ys: Sequence[float | None], kinds: Sequence[str], quick: Sequence[float | None],
                     full: np.ndarray) -> tuple[Callable[[float], float], float]:
    """Map a minimised quick value to a pessimistic full-scale value; also the residual variance (raw units).

    The map is a least-squares line through the promoted points (slope clipped at 0), never better than the
    median full value; with fewer than three promoted points every stand-in is that median (residual ``inf``).
    """
    cap = float(np.median(full))
    pairs = [(q, y) for q, y, k in zip(quick, ys, kinds) if k == "full" and q is not None]
    if len(pairs) < 3:
        return (lambda q: cap), math.inf
    qs, ys_ = np.array(pairs, dtype=float).T
    slope = max(0.0, float(np.cov(qs, ys_, bias=True)[0, 1] / qs.var())) if qs.std() > 0 else 0.0
    icpt = float(ys_.mean() - slope * qs.mean())
    resid = float(np.mean((ys_ - (icpt + slope * qs)) ** 2))
    return (lambda q: max(icpt + slope * q, cap)), resid


def surrogate_targets(ys: Sequence[float | None], kinds: Sequence[str], noise: Sequence[float],
                      quick: Sequence[float | None], output_transform: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Transformed targets and per-point noise variances of a told history (in tell order).

    Args:
        ys: Minimised full-fidelity values (``None`` unless ``kinds`` is ``"full"``).
        kinds: ``"full"``, ``"fail"``, ``"infeasible"`` or ``"pruned"`` per point.
        noise: Known noise variance per point (NaN: none).
        quick: Minimised quick values (``None``: none).
        output_transform: One of :data:`OUTPUT_TRANSFORMS`.

    Returns:
        ``(targets, noise variances)`` or ``None`` while fewer than two full-fidelity values are known. Failed
        and infeasible points stand at the worst full value, pruned ones at :func:`pruned_stand_ins`' value.
    """
    full = np.array([y for y, k in zip(ys, kinds) if k == "full"], dtype=float)
    if len(full) < 2:
        return None
    worst = float(full.max())
    stand_in, resid = (None, 0.0)
    if "pruned" in kinds:
        stand_in, resid = pruned_stand_ins(ys, kinds, quick, full)
    raw = np.empty(len(ys))
    for i, (y, k, q) in enumerate(zip(ys, kinds, quick)):
        if k == "full":
            raw[i] = y  # type: ignore[assignment]
        elif k == "pruned" and stand_in is not None and q is not None:
            raw[i] = stand_in(q)
        else:
            raw[i] = worst
    var = float(raw.var())
    scale = var if var > 0 else 1.0
    z = normal_scores(raw) if output_transform == "rank" else (raw - raw.mean()) / math.sqrt(scale)
    alpha = np.zeros(len(raw))
    for i, (k, nv) in enumerate(zip(kinds, noise)):
        if k == "full" and not math.isnan(nv):
            alpha[i] = max(nv / scale, NOISE_FLOOR)
        elif k == "pruned":
            alpha[i] = 1.0 if not math.isfinite(resid) else max(resid / scale, PRUNED_NOISE_FLOOR)
    return z, alpha
