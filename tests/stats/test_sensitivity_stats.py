"""The sensitivity statistics on known functions (no backtest): bt_optimize.stats.sensitivity."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bt_optimize.exceptions import SpaceError
from bt_optimize.robustness.sensitivity import sweep_values
from bt_optimize.space import Int
from bt_optimize.stats.sensitivity import (
    classify,
    interaction_stats,
    interaction_strength,
    normalise_sweep,
    stability_score,
    sweep_stats,
)

BASE = 10.0
XS = np.linspace(5.0, 15.0, 21)  # a ±50 % sweep around the base, the base in the middle


def broad_quadratic(x: np.ndarray) -> np.ndarray:
    return 100.0 - (x - BASE) ** 2


def sharp_peak(x: np.ndarray) -> np.ndarray:
    return np.exp(-((x - BASE) ** 2) / (2 * 0.3**2))


def grid(n: int = 7, lo: float = -1.0, hi: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = np.linspace(lo, hi, n)
    x, y = np.meshgrid(g, g, indexing="ij")
    return g, x, y


def test_broad_quadratic_is_robust() -> None:
    s = sweep_stats(XS, broad_quadratic(XS), BASE)
    assert s["score"] > 0.8 and s["class"] == "robust"
    # by hand: mean |d| = mean((x - 10)^2) / 100 over the 21 points
    assert s["score"] == pytest.approx(1.0 - np.mean((XS - BASE) ** 2) / 100.0)
    assert s["ci"][0] > 0.8 and s["ci"][0] <= s["score"] <= s["ci"][1]
    assert s["best_at"] == BASE and s["plateau_at"] == BASE
    assert s["neighbour_drop_pct"] == pytest.approx(0.25) and s["sign_flip_share"] == 0.0


def test_sharp_gaussian_peak_is_sensitive() -> None:
    s = sweep_stats(XS, sharp_peak(XS), BASE)
    assert s["score"] < 0.5 and s["class"] == "sensitive"
    assert s["ci"][1] < 0.5
    assert s["neighbour_drop_pct"] > 50.0  # the base towers over its neighbours
    assert s["max_gradient"] > 5 * sweep_stats(XS, broad_quadratic(XS), BASE)["max_gradient"]


def test_derivatives_on_the_normalised_sweep_are_exact_for_a_quadratic() -> None:
    # d(u) = -(10u - 5)^2 / 100 on u in [0, 1]: |d'| peaks at 1.0 at the ends, |d''| = 2 everywhere.
    rng = np.random.default_rng(0)
    uneven = np.unique(np.concatenate([[5.0, 15.0, BASE], rng.uniform(5.0, 15.0, 12)]))
    for xs in (XS, uneven):
        s = sweep_stats(xs, broad_quadratic(xs), BASE)
        assert s["max_curvature"] == pytest.approx(2.0, rel=1e-9)
        assert s["max_gradient"] == pytest.approx(1.0, rel=1e-9)
        u, d, scale = normalise_sweep(xs, broad_quadratic(xs), 100.0)
        assert scale == 100.0 and u[0] == 0.0 and u[-1] == 1.0
        assert s["variance"] == pytest.approx(np.var(d))


def test_score_by_hand_and_flat_sweeps() -> None:
    assert stability_score([1, 2, 3], [9.0, 10.0, 9.0], 10.0) == pytest.approx(1 - 0.2 / 3)
    assert stability_score([1, 2, 3], [5.0, 5.0, 5.0], 5.0) == 1.0
    assert stability_score([1, 2, 3], [0.0, 0.0, 0.0], 0.0) == 1.0  # flat at zero
    # base value 0: changes are measured against the largest |y| of the sweep
    assert stability_score([1, 2, 3], [-2.0, 0.0, 1.0], 0.0) == pytest.approx(1 - (1.0 + 0.0 + 0.5) / 3)
    assert stability_score([1, 2, 3], [30.0, 1.0, -30.0], 1.0) == 0.0  # clipped at 0


def test_missing_points_are_left_out_and_counted() -> None:
    ys = broad_quadratic(XS).tolist()
    ys[0], ys[3] = None, float("nan")
    s = sweep_stats(XS, ys, BASE)
    assert s["n_valid"] == 19 and s["n_missing"] == 2
    assert s["objective"][0] is None and s["objective"][3] is None
    assert s["class"] == "robust"
    json.dumps(s, allow_nan=False)
    failed_base = list(ys)
    failed_base[10] = None
    undefined = sweep_stats(XS, failed_base, BASE)
    assert undefined["score"] is None and undefined["class"] == "undefined"


def test_bootstrap_interval_is_seeded() -> None:
    y = sharp_peak(XS) + 0.5
    a = sweep_stats(XS, y, BASE, rng=np.random.default_rng(1), n_bootstrap=200)
    b = sweep_stats(XS, y, BASE, rng=np.random.default_rng(1), n_bootstrap=200)
    c = sweep_stats(XS, y, BASE, rng=np.random.default_rng(2), n_bootstrap=200)
    assert a == b and a["ci"] != c["ci"]
    assert a["ci"][0] < a["score"] < a["ci"][1]
    assert sweep_stats(XS, y, BASE, n_bootstrap=0)["ci"] == [None, None]


def test_direction_for_minimised_objectives() -> None:
    xs = np.arange(1.0, 8.0)
    dd = np.array([0.30, 0.25, 0.22, 0.20, 0.12, 0.18, 0.26])  # a drawdown: lower is better
    s = sweep_stats(xs, dd, 4.0, maximize=False)
    assert s["best_at"] == 5.0 and s["best_value"] == 0.12
    assert s["neighbour_drop_pct"] < 0  # a neighbour is better: the base is no peak
    assert sweep_stats(xs, dd, 5.0, maximize=False)["neighbour_drop_pct"] > 0


def test_classes_and_bad_input() -> None:
    assert [classify(s) for s in (0.95, 0.81, 0.8, 0.51, 0.5, 0.0, None, float("nan"))] == [
        "robust", "robust", "moderate", "moderate", "sensitive", "sensitive", "undefined", "undefined"]
    assert classify(0.7, robust_above=0.6) == "robust"
    with pytest.raises(ValueError, match="not among the swept values"):
        sweep_stats(XS, broad_quadratic(XS), 10.1)
    with pytest.raises(ValueError, match="same length"):
        sweep_stats(XS, [1.0, 2.0], BASE)


def test_cross_term_shows_interaction_sum_of_squares_does_not() -> None:
    g, x, y = grid()
    with_cross = interaction_stats(g, g, x**2 + y**2 + 0.5 * x * y)
    without = interaction_stats(g, g, x**2 + y**2)
    assert with_cross["has_interaction"] is True and with_cross["strength"] == pytest.approx(0.2425, abs=1e-3)
    assert without["has_interaction"] is False and without["strength"] == 0.0
    json.dumps(with_cross, allow_nan=False)


def test_interaction_strength_on_other_known_surfaces() -> None:
    g, x, y = grid(5)
    assert interaction_strength(g, g, x * y) == pytest.approx(1.0)  # purely bilinear
    assert interaction_strength(g, g, (x + y) ** 2) == pytest.approx(math.sqrt(0.5))
    assert interaction_strength(g, g, 3 * x - 2 * y + 1) == 0.0  # a plane
    assert interaction_strength(g, g, np.sin(3 * x) + np.exp(y)) == 0.0  # any additive surface
    # unequal axes and units: the additive surface stays at 0, the cross term stays visible
    a, b = np.linspace(5, 15, 5), np.linspace(20, 60, 7)
    xa, yb = np.meshgrid(a, b, indexing="ij")
    assert interaction_strength(a, b, (xa - 10) ** 2 + ((yb - 40) / 4) ** 2) == 0.0
    assert interaction_strength(a, b, (xa - 10) ** 2 + ((yb - 40) / 4) ** 2 + 0.5 * (xa - 10) * (yb - 40) / 4) > 0.1
    # missing cells are left out; too small a grid is undefined
    z = x**2 + y**2 + 0.5 * x * y
    z[0, 0] = np.nan
    assert interaction_stats(g, g, z)["n_missing"] == 1
    assert interaction_stats(g, g, z)["has_interaction"] is True
    assert interaction_stats([1.0], g, [list(range(5))])["has_interaction"] is None
    with pytest.raises(ValueError, match="shape"):
        interaction_strength(g, g, [[1.0, 2.0]])


def test_sweep_values_layout() -> None:
    assert sweep_values("fast", 10, 5, 0.5, None, integer=True) == [5, 8, 10, 12, 15]
    # integers are deduplicated: 20 points over [2, 6] hold 5 distinct values
    assert sweep_values("fast", 4, 20, 0.5, None, integer=True) == [2, 3, 4, 5, 6]
    assert sweep_values("stop", 0.04, 5, 0.5, None, integer=False) == pytest.approx([0.02, 0.03, 0.04, 0.05, 0.06])
    # the base is always swept, even when the even grid misses it
    assert 0.04 in sweep_values("stop", 0.04, 4, 0.5, None, integer=False)
    # explicit ranges clip; an Int's step puts the values on its grid
    assert sweep_values("slow", 30, 7, 0.5, (20.0, 40.0, None), integer=True) == [20, 23, 27, 30, 33, 37, 40]
    assert sweep_values("slow", 30, 9, 0.5, (20.0, 40.0, 5), integer=True) == [20, 25, 30, 35, 40]
    # a zero base sweeps its whole range, and needs one
    assert sweep_values("stop", 0.0, 3, 0.5, (0.0, 0.1, None), integer=False) == pytest.approx([0.0, 0.05, 0.1])
    with pytest.raises(SpaceError, match="ranges=\\{'stop': \\(0.0, 0.1\\)\\}"):
        sweep_values("stop", 0.0, 5, 0.5, None, integer=False)
    with pytest.raises(SpaceError, match="only 1 distinct value"):
        sweep_values("period", 1, 5, 0.3, None, integer=True)
    with pytest.raises(SpaceError, match="outside"):
        sweep_values("slow", 50, 5, 0.5, (20.0, 40.0, None), integer=True)
    assert Int(20, 40, step=5).step == 5
