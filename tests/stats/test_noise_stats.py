"""The perturbation models and the noise summary, on real ORCL and NVDA bars (no backtest needed)."""

from __future__ import annotations

import numpy as np
import pytest

import bt_optimize as bto
from bt_optimize.engine.data import FeedSnapshot, perturb_feeds, perturb_snapshot, snapshot_feeds
from bt_optimize.exceptions import DataError
from bt_optimize.stats.noise import (
    MIN_FACTOR,
    degradation_pct,
    enforce_ohlc,
    noise_factors,
    noise_verdict,
    perturb_ohlc,
    summarize_noise,
)


def _snapshot(name: str, **kwargs: str) -> FeedSnapshot:
    cerebro = bto.Cerebro()
    cerebro.adddata(bto.datasets.load(name, **kwargs))
    return snapshot_feeds(cerebro)[0]


@pytest.fixture(scope="module")
def orcl() -> FeedSnapshot:
    return _snapshot("orcl")  # 1995-2014, 5036 bars


def assert_valid_bars(lines: dict[str, np.ndarray]) -> None:
    o, h, low, c, v = (lines[k] for k in ("open", "high", "low", "close", "volume"))
    assert (h >= np.maximum(o, c)).all()
    assert (low <= np.minimum(o, c)).all()
    assert (h >= low).all()
    assert (v >= 0).all()
    assert (low > 0).all()


@pytest.mark.parametrize("model", ["gaussian", "bootstrap"])
@pytest.mark.parametrize("std_pct", [0.01, 0.05, 0.5])
def test_every_noisy_bar_is_a_valid_bar(orcl: FeedSnapshot, model: str, std_pct: float) -> None:
    rng = np.random.default_rng(3)
    for _ in range(3):
        noisy = perturb_snapshot(orcl, model, std_pct, rng)
        assert_valid_bars(noisy.lines)
        assert len(noisy) == len(orcl)
        np.testing.assert_array_equal(noisy.datetime, orcl.datetime)
        np.testing.assert_array_equal(noisy.lines["volume"], orcl.lines["volume"])
        assert (noisy.lines["close"] != orcl.lines["close"]).mean() > 0.99
        # one factor per bar: open, high, low and close moved together
        factor = noisy.lines["close"] / orcl.lines["close"]
        np.testing.assert_allclose(noisy.lines["open"] / orcl.lines["open"], factor, rtol=1e-12)
        np.testing.assert_allclose(noisy.lines["high"] / orcl.lines["high"], factor, rtol=1e-12)
        assert factor.min() >= MIN_FACTOR * (1 - 1e-12)
    assert (orcl.lines["close"] == _snapshot("orcl").lines["close"]).all()  # the input is never modified


def test_invalid_input_bars_are_repaired(orcl: FeedSnapshot) -> None:
    bad = {k: v.copy() for k, v in orcl.lines.items() if k != "datetime"}
    bad["high"][::7], bad["low"][::7] = orcl.lines["low"][::7], orcl.lines["high"][::7]  # swapped on every 7th bar
    bad["volume"][::11] = -5.0
    fixed = enforce_ohlc(bad)
    assert_valid_bars(fixed)
    for k in ("open", "close"):
        np.testing.assert_array_equal(fixed[k], bad[k])
    noisy = perturb_ohlc(bad, "gaussian", 0.02, np.random.default_rng(0))
    assert_valid_bars(noisy)


def test_noise_level_and_shape(orcl: FeedSnapshot) -> None:
    close = orcl.lines["close"]
    g = noise_factors(close, "gaussian", 0.01, np.random.default_rng(1)) - 1.0
    b = noise_factors(close, "bootstrap", 0.01, np.random.default_rng(1)) - 1.0
    for e in (g, b):
        assert abs(e.mean()) < 0.001
        assert e.std() == pytest.approx(0.01, rel=0.05)
    # the bootstrap borrows the fat tails of ORCL's daily returns: far more mass beyond 4 standard deviations
    assert (np.abs(b) > 0.04).sum() > 5 * max(1, (np.abs(g) > 0.04).sum())
    assert np.all(noise_factors(close, "bootstrap", 0.0, np.random.default_rng(1)) == 1.0)
    flat = np.full(50, 10.0)  # no spread to borrow: falls back to the gaussian draw
    np.testing.assert_array_equal(noise_factors(flat, "bootstrap", 0.01, np.random.default_rng(4)),
                                  noise_factors(flat, "gaussian", 0.01, np.random.default_rng(4)))


def test_same_seed_same_noise_and_feeds_draw_independently() -> None:
    feeds = [_snapshot("orcl", fromdate="2004-01-01", todate="2004-12-31"),
             _snapshot("nvda", fromdate="2004-01-01", todate="2004-12-31")]
    a = perturb_feeds(feeds, {"model": "gaussian", "std_pct": 0.01, "seed": [5, 0]})
    b = perturb_feeds(feeds, {"model": "gaussian", "std_pct": 0.01, "seed": [5, 0]})
    c = perturb_feeds(feeds, {"model": "gaussian", "std_pct": 0.01, "seed": [5, 1]})
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.lines["close"], y.lines["close"])
    assert not np.array_equal(a[0].lines["close"], c[0].lines["close"])
    f0 = a[0].lines["close"] / feeds[0].lines["close"]
    f1 = a[1].lines["close"] / feeds[1].lines["close"]
    assert not np.allclose(f0[: len(f1)], f1[: len(f0)])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="model must be one of"):
        noise_factors(np.ones(3), "uniform", 0.01, np.random.default_rng(0))
    with pytest.raises(ValueError, match="std_pct"):
        noise_factors(np.ones(3), "gaussian", -0.1, np.random.default_rng(0))
    snap = FeedSnapshot("x", 5, 1, {"datetime": np.arange(3.0), "value": np.ones(3)})
    with pytest.raises(DataError, match="'close'"):
        perturb_snapshot(snap, "gaussian", 0.01, np.random.default_rng(0))


def test_degradation_is_direction_aware() -> None:
    assert degradation_pct(2.0, 1.0) == 50.0
    assert degradation_pct(-1.0, -1.5) == 50.0  # a loss that grows is a degradation
    assert degradation_pct(1.0, 1.2) == pytest.approx(-20.0)  # better under noise: negative
    assert degradation_pct(0.2, 0.3, lower_is_better=True) == pytest.approx(50.0)  # deeper drawdown
    assert degradation_pct(0.2, 0.1, lower_is_better=True) == pytest.approx(-50.0)
    assert degradation_pct(0.0, 1.0) is None and degradation_pct(None, 1.0) is None
    assert degradation_pct(1.0, None) is None
    assert [noise_verdict(d) for d in (-10, 19.9, 20, 50, 50.1, None)] == [
        "robust", "robust", "moderate", "moderate", "fragile", "undefined"]
    assert noise_verdict(15.0, robust_below=10.0, fragile_above=30.0) == "moderate"
    assert noise_verdict(35.0, robust_below=10.0, fragile_above=30.0) == "fragile"


def test_summary_by_hand() -> None:
    s = summarize_noise(2.0, [1.0, 2.0, 3.0, None, float("nan"), 4.0], confidence=0.5)
    assert s["n_valid"] == 4
    assert s["mean"] == 2.5 and s["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert s["ci"] == [pytest.approx(1.75), pytest.approx(3.25)]  # 25th and 75th percentiles
    assert s["worst_case"] == pytest.approx(1.15)  # 5th percentile
    assert s["degradation_pct"] == -25.0 and s["verdict"] == "robust"
    dd = summarize_noise(0.1, [0.1, 0.2, 0.3], lower_is_better=True)
    assert dd["worst_case"] == pytest.approx(0.29)  # the 95th percentile: worst for a drawdown
    assert dd["degradation_pct"] == pytest.approx(100.0) and dd["verdict"] == "fragile"
    empty = summarize_noise(1.0, [None, None])
    assert empty["mean"] is None and empty["ci"] == [None, None] and empty["verdict"] == "undefined"
