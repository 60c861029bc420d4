"""Spaces: validation messages that name the fix, sampling, grids, encodings, plain values."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bt_optimize as bto
from bt_optimize.space import Space, as_dimension, check_param_names, params_key
from sample_strategies import SmaCross


@pytest.mark.parametrize("make, match", [
    (lambda: bto.Int(10, 5), "low must be smaller than high"),
    (lambda: bto.Int(5, 5), "low must be smaller than high"),
    (lambda: bto.Real(0.2, 0.1), "low must be smaller than high"),
    (lambda: bto.Int(0, 10, step=3), r"step does not divide the range.*use high=9"),
    (lambda: bto.Real(0.0, 1.0, step=0.3), "step does not divide the range"),
    (lambda: bto.Real(0.0, 1.0, log=True), "log scale needs low > 0"),
    (lambda: bto.Int(-1, 10, log=True), "log scale needs low > 0"),
    (lambda: bto.Cat([]), "at least one choice"),
    (lambda: bto.Cat(["sma", "ema", "sma"]), "listed twice"),
    (lambda: bto.Int(1.5, 10), "must be an integer"),
    (lambda: bto.Int(1, 10, step=0), "positive integer"),
    (lambda: bto.Cat("sma"), "must be a list"),
])
def test_dimension_errors_name_the_fix(make, match):
    with pytest.raises(bto.SpaceError, match=match):
        make()


def test_space_errors_are_value_errors():
    assert issubclass(bto.SpaceError, ValueError) and issubclass(bto.SpaceError, bto.BtOptimizeError)


def test_unknown_parameter_lists_params_and_close_match():
    with pytest.raises(bto.SpaceError, match=r"no parameter 'fsat'.*did you mean 'fast'.*fast, slow, stop, ma"):
        check_param_names(SmaCross, ["fsat"])


def test_shorthands():
    assert as_dimension("a", (5, 50)) == bto.Int(5, 50)
    assert as_dimension("a", (0.01, 0.5)) == bto.Real(0.01, 0.5)
    assert as_dimension("a", range(5, 50, 5)) == bto.Int(5, 45, step=5)
    assert as_dimension("a", ["sma", "ema"]) == bto.Cat(["sma", "ema"])
    assert as_dimension("a", 7) == bto.Cat([7])
    assert as_dimension("a", "ema") == bto.Cat(["ema"])
    assert as_dimension("a", range(3, 4)) == bto.Cat([3])


def test_grid_and_cardinality():
    s = Space({"fast": range(5, 20, 5), "slow": bto.Int(20, 40, step=10), "ma": ["sma", "ema"]})
    pts = list(s.grid())
    assert s.cardinality == len(pts) == 3 * 3 * 2
    assert pts[0] == {"fast": 5, "slow": 20, "ma": "sma"} and pts[1]["ma"] == "ema"
    assert len({params_key(p) for p in pts}) == len(pts)
    assert Space({"x": bto.Real(0, 1)}).cardinality == math.inf
    with pytest.raises(bto.SpaceError, match="no step"):
        bto.Real(0, 1).grid()
    assert bto.Real(0.0, 1.0, step=0.25).grid() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_sampling_types_bounds_and_log_scale():
    rng = np.random.default_rng(0)
    s = Space({"n": bto.Int(2, 60, step=2), "x": bto.Real(0.001, 1.0, log=True), "c": bto.Cat(["a", "b"]),
               "k": bto.Int(1, 1000, log=True)})
    pts = [s.sample(rng) for _ in range(2000)]
    for p in pts:
        assert type(p["n"]) is int and p["n"] % 2 == 0 and 2 <= p["n"] <= 60
        assert type(p["x"]) is float and 0.001 <= p["x"] <= 1.0
        assert type(p["c"]) is str
        assert type(p["k"]) is int
    xs = np.array([p["x"] for p in pts])
    # log-uniform: about a third of the draws in each decade
    assert 0.25 < np.mean(xs < 0.01) < 0.42 and 0.25 < np.mean(xs > 0.1) < 0.42
    ks = np.array([p["k"] for p in pts])
    assert np.mean(ks <= 31) > 0.4  # log-uniform integers favour small values


def test_values_are_plain_python():
    s = Space({"n": bto.Cat([np.int64(3), np.int64(4)]), "s": bto.Cat([np.str_("a")])})
    p = s.sample(np.random.default_rng(1))
    assert type(p["n"]) is int and type(p["s"]) is str
    assert type(s.validate_point({"n": np.int64(3), "s": "a"})["n"]) is int


def test_unit_encoding_round_trips():
    s = Space({"n": bto.Int(5, 50, step=5), "x": bto.Real(0.01, 0.2, log=True), "c": bto.Cat(["a", "b", "c"])})
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = s.sample(rng)
        u = s.to_unit(p)
        assert np.all((u >= 0) & (u <= 1))
        back = s.from_unit(u)
        assert back["n"] == p["n"] and back["c"] == p["c"] and back["x"] == pytest.approx(p["x"], rel=1e-9)


def test_validate_point_and_diff():
    s = Space({"fast": bto.Int(5, 50), "ma": ["sma", "ema"]})
    with pytest.raises(bto.SpaceError, match="outside"):
        s.validate_point({"fast": 70, "ma": "sma"})
    with pytest.raises(bto.SpaceError, match="missing"):
        s.validate_point({"fast": 7})
    other = Space({"fast": bto.Int(5, 60), "ma": ["sma", "ema"]}).describe()
    assert any("fast" in d for d in s.diff(other))
