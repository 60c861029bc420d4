"""Variance-decomposition importance and the two-parameter grid, on frames whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bt_optimize.report.importance import binned_grid, groups_of, variance_importance


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 100, n)
    b = rng.uniform(0, 1, n)
    c = rng.choice(["x", "y", "z"], n)
    value = 0.05 * a + rng.normal(0, 0.5, n) + np.where(c == "z", 1.0, 0.0)  # b does nothing
    return pd.DataFrame({"number": range(n), "state": "complete", "value": value, "params_a": a, "params_b": b,
                         "params_c": c})


def test_the_parameter_that_drives_the_objective_ranks_first_and_a_useless_one_near_zero():
    imp = variance_importance(_frame(), ["a", "b", "c"])
    assert imp["a"] > imp["c"] > imp["b"]
    assert imp["a"] > 0.5 and imp["b"] < 0.03 and 0.02 < imp["c"] < 0.4


def test_failed_trials_are_left_out_and_too_few_trials_give_zero():
    df = _frame(30)
    df.loc[:9, "state"] = "fail"
    df.loc[:9, "value"] = np.nan
    assert all(np.isfinite(list(variance_importance(df, ["a", "b"]).values())))
    assert variance_importance(df.head(12), ["a"]) == {"a": 0.0}  # only 2 complete rows


def test_groups_and_grid_cells_hold_the_best_trial():
    df = _frame(80)
    codes, labels, _ = groups_of(df["params_a"])
    assert len(labels) == 8 and codes.between(0, 7).all()
    codes, labels, _ = groups_of(df["params_c"])
    assert labels == ["x", "y", "z"]
    grid = binned_grid(df, "a", "c", maximize=True)
    assert len(grid["values"]) == 3 and len(grid["values"][0]) == 8
    assert sum(map(sum, grid["counts"])) == 80
    best = max(v for row in grid["values"] for v in row if v is not None)
    assert best == df["value"].max()
    worst_grid = binned_grid(df, "a", "c", maximize=False)
    assert min(v for row in worst_grid["values"] for v in row if v is not None) == df["value"].min()
