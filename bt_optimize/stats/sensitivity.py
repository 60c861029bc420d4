r"""Parameter sensitivity as pure numpy: one-at-a-time sweeps and two-parameter interaction grids.

Nothing here knows about backtrader; :func:`bt_optimize.robustness.sensitivity.run_sensitivity` runs the
backtests and passes their objective values here. Every function works on plain arrays, so the maths is
validated on known functions (a broad quadratic, a sharp Gaussian peak, ``x^2 + y^2`` with and without a
cross term).

One-at-a-time sweeps (:func:`sweep_stats`)
------------------------------------------
A sweep is the objective ``y_i`` at values ``x_i`` of one parameter, every other parameter at its base, the
base value ``x_b`` among them (its objective ``y_b``). Points where the objective is undefined (NaN: a failed
or skipped backtest) are left out and counted. The sweep is normalised so parameters with different units
and objectives of different scales compare:

* ``u = (x - min x) / (max x - min x)``: the position in the swept range, 0 to 1;
* ``d = (y - y_b) / s``: the change from the base in units of ``s = |y_b|`` (when ``y_b == 0``,
  ``s = max |y|``; when every value is 0 the sweep is flat and ``d = 0``).

Reported on the normalised sweep:

``variance``
    ``var(d)`` (population variance of the relative changes).
``max_gradient``
    ``max |dd/du|`` (``numpy.gradient``, second-order at the ends): the steepest relative change per full
    width of the sweep. ``None`` with fewer than 2 points.
``max_curvature``
    ``max |d2d/du2|`` from the three-point second difference at interior points (exact for quadratics,
    also on uneven grids). ``None`` with fewer than 3 points.
``score``
    The stability score ``clip(1 - mean |d|, 0, 1)``: 1 when the objective does not move over the sweep,
    0 when it moves on average by as much as its base value (or more). It counts changes in both directions:
    a sweep where neighbours beat the base by far is as unstable as one where they lose.
``class``
    ``"robust"`` when ``score > 0.8``, ``"sensitive"`` when ``score <= 0.5``, ``"moderate"`` in between
    (thresholds are arguments).
``ci``
    A percentile bootstrap interval of the score: the valid points are resampled with replacement
    ``n_bootstrap`` times (the base value stays the reference) and the score recomputed.

What these numbers assume: that the objective is a reasonably smooth function of the parameter at the
resolution of the sweep (derivatives from finite differences amplify backtest noise: a rugged sweep shows a
large ``max_curvature`` whatever its level), and locality: only the given range around the base is judged,
each parameter alone with the others held at their base values (one at a time), every sweep point weighted
equally. A parameter that is harmless alone can still matter jointly; that is what the interaction grids look
at.

Interactions (:func:`interaction_stats`)
----------------------------------------
A grid ``Z[i, j]`` of the objective over values ``a_i`` of one parameter and ``b_j`` of another, each axis
normalised to ``[0, 1]`` as above. With ``numpy.gradient`` (second order where there are 3 or more points)
the second derivatives ``z_uu``, ``z_vv`` and the cross-derivative ``z_uv`` are estimated at every grid point,
and with ``m_xy`` the mean of their squares over the grid (NaN left out):

``strength = sqrt(2 m_uv / (m_uu + m_vv + 2 m_uv))``

the share of the Hessian's (Frobenius) size that is due to the cross term: 0 for an additive function
``f(a) + g(b)`` (the best value of one parameter does not depend on the other), 1 for a purely bilinear one
``a * b``, and 0 for a plane. ``has_interaction`` is ``strength > threshold`` (default 0.1). On equal
normalised ranges ``x^2 + y^2 + 0.5 x y`` gives 0.24 and ``(x + y)^2`` gives 0.71. Noise is not additive,
so a rugged backtest surface also reads as interacting: look at the heatmap before trusting the number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "ROBUST_ABOVE", "SENSITIVE_AT_OR_BELOW", "INTERACTION_THRESHOLD", "normalise_sweep", "stability_score",
    "classify", "sweep_stats", "interaction_strength", "interaction_stats",
]

ROBUST_ABOVE = 0.8
"""A stability score above this is ``"robust"``."""

SENSITIVE_AT_OR_BELOW = 0.5
"""A stability score at or below this is ``"sensitive"``."""

INTERACTION_THRESHOLD = 0.1
"""An interaction strength above this counts as an interaction."""


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _plain(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _scale(y_valid: np.ndarray, y_base: float) -> float:
    """``|y_base|``, else the largest ``|y|``, else 0 (a flat sweep of zeros)."""
    if y_base != 0.0:
        return abs(y_base)
    return float(np.max(np.abs(y_valid))) if len(y_valid) else 0.0


def normalise_sweep(x: Sequence[float], y: Sequence[float | None], y_base: float
                    ) -> tuple[np.ndarray, np.ndarray, float]:
    """Positions ``u`` in ``[0, 1]`` and relative changes ``d`` of the valid points, and the scale ``s``.

    Args:
        x: The swept values (any order; returned sorted by ``x``).
        y: The objective at each value (``None``/NaN: left out).
        y_base: The objective at the base value.

    Returns:
        ``(u, d, s)`` for the points with a finite objective, sorted by ``x``.

    Raises:
        ValueError: ``x`` and ``y`` differ in length, or ``y_base`` is not finite.
    """
    xs, ys = np.asarray(x, dtype=np.float64), _floats(y)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y must have the same length, got {len(xs)} and {len(ys)}")
    if not math.isfinite(y_base):
        raise ValueError(f"the base objective must be a finite number, got {y_base!r}")
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    span = float(xs.max() - xs.min()) if len(xs) else 0.0
    ok = np.isfinite(ys)
    u = (xs[ok] - xs.min()) / span if span > 0 else np.zeros(int(ok.sum()))
    s = _scale(ys[ok], float(y_base))
    d = (ys[ok] - y_base) / s if s > 0 else np.zeros(int(ok.sum()))
    return u, d, s


def stability_score(x: Sequence[float], y: Sequence[float | None], y_base: float) -> float:
    """``clip(1 - mean |d|, 0, 1)`` over the valid points of a sweep (see the module docstring).

    Example:
        >>> stability_score([1, 2, 3], [9.0, 10.0, 9.0], 10.0)
        0.9333333333333333
    """
    _, d, _ = normalise_sweep(x, y, y_base)
    if len(d) == 0:
        return float("nan")
    return float(np.clip(1.0 - np.mean(np.abs(d)), 0.0, 1.0))


def classify(score: float | None, robust_above: float = ROBUST_ABOVE,
             sensitive_at_or_below: float = SENSITIVE_AT_OR_BELOW) -> str:
    """``"robust"``, ``"moderate"``, ``"sensitive"``, or ``"undefined"`` for a missing score.

    Example:
        >>> classify(0.9), classify(0.8), classify(0.5), classify(None)
        ('robust', 'moderate', 'sensitive', 'undefined')
    """
    if score is None or not math.isfinite(score):
        return "undefined"
    if score > robust_above:
        return "robust"
    if score <= sensitive_at_or_below:
        return "sensitive"
    return "moderate"


def _second_difference(u: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Three-point second derivative at the interior points of a possibly uneven grid."""
    h1 = u[1:-1] - u[:-2]
    h2 = u[2:] - u[1:-1]
    return 2.0 * (h1 * d[2:] - (h1 + h2) * d[1:-1] + h2 * d[:-2]) / (h1 * h2 * (h1 + h2))


def _moving_mean(y: np.ndarray, half_width: int) -> np.ndarray:
    out = np.empty_like(y)
    for i in range(len(y)):
        lo, hi = max(0, i - half_width), min(len(y), i + half_width + 1)
        out[i] = float(np.mean(y[lo:hi]))
    return out


def sweep_stats(x: Sequence[float], y: Sequence[float | None], base_x: float, *, maximize: bool = True,
                n_bootstrap: int = 100, rng: np.random.Generator | None = None, confidence: float = 0.95,
                robust_above: float = ROBUST_ABOVE, sensitive_at_or_below: float = SENSITIVE_AT_OR_BELOW
                ) -> dict[str, Any]:
    """Every statistic of one sweep, JSON-safe (``None`` where undefined).

    Args:
        x: The swept values; must contain ``base_x``.
        y: The objective at each value (``None``/NaN for a failed point).
        base_x: The base value of the parameter.
        maximize: Direction of the objective (picks the best point and the best plateau).
        n_bootstrap: Bootstrap resamples for the score's interval (0: no interval).
        rng: Random generator of the bootstrap (default: seeded with 0).
        confidence: Level of the bootstrap interval.
        robust_above: Score above which the class is ``"robust"``.
        sensitive_at_or_below: Score at or below which the class is ``"sensitive"``.

    Returns:
        ``values``, ``objective`` (sorted by value), ``base``, ``base_value``, ``scale``, ``variance``,
        ``max_gradient``, ``max_curvature``, ``score``, ``ci``, ``class``, ``n_valid``, ``n_missing``,
        ``best_value``, ``best_at``, ``plateau_at`` (centre of the best 5-point neighbourhood mean),
        ``plateau_value``, ``neighbour_drop_pct`` (how much worse the direct neighbours are than the base, in %
        of ``scale``; positive: the base is a peak) and ``sign_flip_share`` (share of the valid points whose
        objective has the opposite sign of the base's).

    Raises:
        ValueError: ``base_x`` is not among ``x``, or the lengths differ.

    Example:
        >>> xs = np.linspace(5, 15, 21)
        >>> sweep_stats(xs, 100 - (xs - 10) ** 2, 10.0)["class"]
        'robust'
    """
    xs, ys = np.asarray(x, dtype=np.float64), _floats(y)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y must have the same length, got {len(xs)} and {len(ys)}")
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    hits = np.flatnonzero(xs == float(base_x))
    if len(hits) == 0:
        raise ValueError(f"the base value {base_x!r} is not among the swept values")
    ib = int(hits[0])
    y_base = float(ys[ib])
    ok = np.isfinite(ys)
    out: dict[str, Any] = {
        "values": [float(v) for v in xs], "objective": [_plain(v) for v in ys], "base": float(base_x),
        "base_value": _plain(y_base), "n_valid": int(ok.sum()), "n_missing": int((~ok).sum()),
        "scale": None, "variance": None, "max_gradient": None, "max_curvature": None, "score": None,
        "ci": [None, None], "class": "undefined", "best_value": None, "best_at": None, "plateau_at": None,
        "plateau_value": None, "neighbour_drop_pct": None, "sign_flip_share": None,
    }
    if not math.isfinite(y_base) or ok.sum() == 0:
        return out
    u, d, s = normalise_sweep(xs, ys, y_base)
    xv, yv = xs[ok], ys[ok]
    score = float(np.clip(1.0 - np.mean(np.abs(d)), 0.0, 1.0))
    out.update(scale=float(s), variance=float(np.var(d)), score=score,
               **{"class": classify(score, robust_above, sensitive_at_or_below)})
    if len(d) >= 2:
        grad = np.gradient(d, u, edge_order=2 if len(d) >= 3 else 1) if np.all(np.diff(u) > 0) else None
        out["max_gradient"] = _plain(float(np.max(np.abs(grad)))) if grad is not None else None
    if len(d) >= 3 and np.all(np.diff(u) > 0):
        out["max_curvature"] = _plain(float(np.max(np.abs(_second_difference(u, d)))))
    if n_bootstrap > 0:
        rng = rng if rng is not None else np.random.default_rng(0)
        idx = rng.integers(0, len(d), size=(int(n_bootstrap), len(d)))
        boot = np.clip(1.0 - np.abs(d)[idx].mean(axis=1), 0.0, 1.0)
        a = (1.0 - confidence) / 2.0 * 100.0
        lo, hi = np.percentile(boot, [a, 100.0 - a])
        out["ci"] = [float(lo), float(hi)]
    pick = np.argmax if maximize else np.argmin
    ibest = int(pick(yv))
    out["best_value"], out["best_at"] = float(yv[ibest]), float(xv[ibest])
    smooth = _moving_mean(yv, 2)
    iplat = int(pick(smooth))
    out["plateau_at"], out["plateau_value"] = float(xv[iplat]), float(smooth[iplat])
    neighbours = [ys[j] for j in (ib - 1, ib + 1) if 0 <= j < len(ys) and math.isfinite(ys[j])]
    if neighbours and s > 0:
        drop = (y_base - float(np.mean(neighbours))) / s * 100.0
        out["neighbour_drop_pct"] = float(drop if maximize else -drop)
    if y_base != 0.0:
        out["sign_flip_share"] = float(np.mean(np.sign(yv) == -np.sign(y_base)))
    return out


def _axis(values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    span = float(v.max() - v.min()) if len(v) else 0.0
    return (v - v.min()) / span if span > 0 else v * 0.0


def interaction_strength(a_values: Sequence[float], b_values: Sequence[float],
                         matrix: Sequence[Sequence[float | None]]) -> float | None:
    """``sqrt(2 m_uv / (m_uu + m_vv + 2 m_uv))`` on the normalised grid (see the module docstring).

    Args:
        a_values: Increasing values of the first parameter (rows of ``matrix``).
        b_values: Increasing values of the second parameter (columns).
        matrix: ``matrix[i][j]`` is the objective at ``(a_values[i], b_values[j])``; ``None``/NaN when missing.

    Returns:
        A number in ``[0, 1]``, or ``None`` with fewer than 2 values on an axis or no finite derivative.

    Raises:
        ValueError: the matrix shape does not match the axes.

    Example:
        >>> g = np.linspace(-1, 1, 7)
        >>> X, Y = np.meshgrid(g, g, indexing="ij")
        >>> round(interaction_strength(g, g, X**2 + Y**2 + 0.5 * X * Y), 3), interaction_strength(g, g, X**2 + Y**2)
        (0.243, 0.0)
    """
    z = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix], dtype=np.float64)
    if z.shape != (len(a_values), len(b_values)):
        raise ValueError(f"matrix has shape {z.shape}, expected ({len(a_values)}, {len(b_values)})")
    if min(z.shape) < 2:
        return None
    u, v = _axis(a_values), _axis(b_values)
    if not (np.all(np.diff(u) > 0) and np.all(np.diff(v) > 0)):
        raise ValueError("a_values and b_values must be strictly increasing")
    eu = 2 if len(u) >= 3 else 1
    ev = 2 if len(v) >= 3 else 1
    z_u = np.gradient(z, u, axis=0, edge_order=eu)
    z_v = np.gradient(z, v, axis=1, edge_order=ev)
    z_uu = np.gradient(z_u, u, axis=0, edge_order=eu)
    z_vv = np.gradient(z_v, v, axis=1, edge_order=ev)
    z_uv = np.gradient(z_u, v, axis=1, edge_order=ev)
    parts = []
    for arr in (z_uu, z_vv, z_uv):
        sq = arr[np.isfinite(arr)] ** 2
        if len(sq) == 0:
            return None
        parts.append(float(sq.mean()))
    # Rounding leaves second derivatives of about 1e-15 of the function's range where the exact ones are 0.
    finite = z[np.isfinite(z)]
    tol = (1e-9 * float(finite.max() - finite.min())) ** 2 if len(finite) else 0.0
    m_uu, m_vv, m_uv = (m if m > tol else 0.0 for m in parts)
    total = m_uu + m_vv + 2.0 * m_uv
    if not total > 0.0:
        return 0.0
    return float(math.sqrt(2.0 * m_uv / total))


def interaction_stats(a_values: Sequence[float], b_values: Sequence[float],
                      matrix: Sequence[Sequence[float | None]], threshold: float = INTERACTION_THRESHOLD
                      ) -> dict[str, Any]:
    """The interaction of two parameters, JSON-safe.

    Returns:
        ``values_a``, ``values_b``, ``matrix`` (``None`` for missing), ``strength``, ``threshold``,
        ``has_interaction`` (``None`` when the strength is undefined) and ``n_missing``.

    Example:
        >>> g = np.linspace(-1, 1, 5)
        >>> X, Y = np.meshgrid(g, g, indexing="ij")
        >>> interaction_stats(g, g, X**2 + Y**2 + 0.5 * X * Y)["has_interaction"]
        True
    """
    strength = interaction_strength(a_values, b_values, matrix)
    rows = [[_plain(None if v is None else float(v)) for v in row] for row in matrix]
    return {
        "values_a": [float(v) for v in a_values],
        "values_b": [float(v) for v in b_values],
        "matrix": rows,
        "strength": strength,
        "threshold": float(threshold),
        "has_interaction": None if strength is None else bool(strength > threshold),
        "n_missing": int(sum(v is None for row in rows for v in row)),
    }
