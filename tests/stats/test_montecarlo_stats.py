"""Tests of the pure Monte Carlo statistics in ``bt_optimize.stats.montecarlo``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bt_optimize.stats import montecarlo as mc

# Twenty trade returns with mixed signs, as a short strategy history might have.
# fmt: off
RETURNS = np.array([
    0.031, -0.012, 0.004, -0.027, 0.052, 0.011, -0.008, -0.041, 0.022, 0.015,
    -0.006, 0.018, -0.019, 0.037, 0.002, -0.013, 0.009, -0.024, 0.028, 0.006,
])
# fmt: on


# --- compute_metrics ---------------------------------------------------------------------------------


def test_metrics_of_a_hand_computed_sequence() -> None:
    # equity 1.1 -> 0.55 -> 0.66: the peak is 1.1, the trough 0.55.
    m = mc.compute_trade_metrics(np.array([0.1, -0.5, 0.2]))
    assert float(m["total_return"]) == pytest.approx(-0.34)
    assert float(m["max_drawdown"]) == pytest.approx(0.5)
    assert float(m["win_rate"]) == pytest.approx(2 / 3)
    assert float(m["profit_factor"]) == pytest.approx(0.3 / 0.5)
    r = np.array([0.1, -0.5, 0.2])
    assert float(m["trade_sharpe"]) == pytest.approx(r.mean() / r.std(ddof=1))


def test_drawdown_counts_the_starting_capital_as_a_peak() -> None:
    m = mc.compute_trade_metrics(np.array([-0.1, 0.05]))
    assert float(m["max_drawdown"]) == pytest.approx(0.1)


def test_all_winning_trades_have_zero_drawdown_and_infinite_profit_factor() -> None:
    m = mc.compute_trade_metrics(np.array([0.01, 0.02, 0.03]))
    assert float(m["max_drawdown"]) == 0.0
    assert math.isinf(float(m["profit_factor"]))
    assert float(m["win_rate"]) == 1.0


def test_undefined_metrics_are_nan() -> None:
    flat = mc.compute_trade_metrics(np.zeros(5))
    assert math.isnan(float(flat["profit_factor"]))  # neither gains nor losses
    assert math.isnan(float(flat["trade_sharpe"]))  # no spread
    same = mc.compute_trade_metrics(np.full(7, 0.01))
    assert math.isnan(float(same["trade_sharpe"]))  # the spread is rounding noise only
    assert float(same["win_rate"]) == 1.0


def test_rows_are_computed_independently() -> None:
    rows = np.stack([RETURNS, RETURNS[::-1], np.sort(RETURNS)])
    batch = mc.compute_trade_metrics(rows)
    for i, row in enumerate(rows):
        single = mc.compute_trade_metrics(row)
        for name in mc.TRADE_METRICS:
            assert batch[name][i] == pytest.approx(float(single[name]), rel=1e-12)


def test_compute_metrics_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        mc.compute_trade_metrics(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="shape"):
        mc.compute_trade_metrics(np.zeros(0))


# --- simulate ----------------------------------------------------------------------------------------


def test_permutation_keeps_order_free_metrics_and_moves_drawdown() -> None:
    sims = mc.simulate(RETURNS, 500, "permutation", np.random.default_rng(1))
    observed = mc.compute_trade_metrics(RETURNS)
    assert set(sims) == set(mc.TRADE_METRICS)
    assert all(values.shape == (500,) for values in sims.values())
    for name in ("total_return", "trade_sharpe", "profit_factor"):
        np.testing.assert_allclose(sims[name], float(observed[name]), rtol=1e-12)
    assert np.all(sims["win_rate"] == float(observed["win_rate"]))
    assert np.std(sims["max_drawdown"]) > 0.005


def test_bootstrap_moves_every_metric() -> None:
    sims = mc.simulate(RETURNS, 500, "bootstrap", np.random.default_rng(1))
    for name in mc.TRADE_METRICS:
        assert np.std(sims[name][np.isfinite(sims[name])]) > 1e-4, name


def test_simulate_is_reproducible_by_seed() -> None:
    for method in mc.METHODS:
        a = mc.simulate(RETURNS, 300, method, np.random.default_rng(7))
        b = mc.simulate(RETURNS, 300, method, np.random.default_rng(7))
        c = mc.simulate(RETURNS, 300, method, np.random.default_rng(8))
        for name in mc.TRADE_METRICS:
            np.testing.assert_array_equal(a[name], b[name])
        assert not np.array_equal(a["max_drawdown"], c["max_drawdown"])


def test_chunking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = {m: mc.simulate(RETURNS, 250, m, np.random.default_rng(3)) for m in mc.METHODS}
    monkeypatch.setattr(mc, "_CHUNK_CELLS", 7 * RETURNS.size)  # 7 rows per chunk, a ragged last chunk
    for method in mc.METHODS:
        chunked = mc.simulate(RETURNS, 250, method, np.random.default_rng(3))
        for name in mc.TRADE_METRICS:
            np.testing.assert_array_equal(chunked[name], whole[method][name])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_simulations": 0}, ValueError, "n_simulations"),
        ({"n_simulations": 2.5}, ValueError, "n_simulations"),
        ({"method": "shuffle"}, ValueError, "permutation"),
        ({"rng": 42}, TypeError, "default_rng"),
        ({"trade_returns": []}, ValueError, "empty"),
        ({"trade_returns": [0.1, float("nan")]}, ValueError, "NaN"),
        ({"trade_returns": [[0.1, 0.2]]}, ValueError, "one-dimensional"),
    ],
)
def test_simulate_validates_its_inputs(kwargs: dict, error: type, match: str) -> None:
    args = {"trade_returns": RETURNS, "n_simulations": 10, "method": "bootstrap"}
    args["rng"] = np.random.default_rng()
    args.update(kwargs)
    with pytest.raises(error, match=match):
        mc.simulate(**args)


# --- summarize ---------------------------------------------------------------------------------------


def test_p_value_is_direction_aware_with_the_plus_one_correction() -> None:
    sims = np.array([0.05, 0.1, 0.2, 0.3])
    lower = mc.summarize(0.1, sims, 0.95, lower_is_better=True)
    higher = mc.summarize(0.1, sims, 0.95, lower_is_better=False)
    assert lower["p_value"] == pytest.approx((2 + 1) / (4 + 1))  # 0.05 and the tie 0.1
    assert higher["p_value"] == pytest.approx((3 + 1) / (4 + 1))  # the tie, 0.2 and 0.3
    # The percentile is on the metric's axis, whatever the direction: one below, one tie.
    assert lower["percentile"] == higher["percentile"] == pytest.approx(100 * 1.5 / 4)


def test_all_positive_trades_give_drawdown_zero_and_p_value_one() -> None:
    returns = np.array([0.01, 0.03, 0.002, 0.015, 0.007, 0.02, 0.011, 0.004, 0.009, 0.012])
    observed = float(mc.compute_trade_metrics(returns)["max_drawdown"])
    assert observed == 0.0
    for method in mc.METHODS:
        sims = mc.simulate(returns, 999, method, np.random.default_rng(5))["max_drawdown"]
        assert np.all(sims == 0.0)
        s = mc.summarize(observed, sims, 0.95, lower_is_better=True)
        # Every simulation ties the observed 0, so all 999 are "at least as good": p = 1000 / 1000.
        assert s["p_value"] == 1.0
        assert s["percentile"] == 50.0
        assert s["significant"] is False and s["robust"] is False
        assert s["ci"] == [0.0, 0.0]


def test_an_unusually_low_drawdown_is_significant_and_robust() -> None:
    rng = np.random.default_rng(0)
    sims = rng.uniform(0.1, 0.5, size=999)
    s = mc.summarize(0.01, sims, 0.95, lower_is_better=True)
    assert s["p_value"] == pytest.approx(1 / 1000)  # no simulation is as good: (0 + 1) / (999 + 1)
    assert s["percentile"] == 0.0
    assert s["significant"] is True and s["robust"] is True
    # The same value as a higher-is-better metric is as bad as it gets.
    worst = mc.summarize(0.01, sims, 0.95, lower_is_better=False)
    assert worst["p_value"] == 1.0 and worst["significant"] is False and worst["robust"] is False


def test_front_loaded_losses_give_a_worse_than_typical_drawdown() -> None:
    returns = np.sort(RETURNS)  # every loss first: the deepest drawdown any order can give
    observed = float(mc.compute_trade_metrics(returns)["max_drawdown"])
    sims = mc.simulate(returns, 999, "permutation", np.random.default_rng(2))["max_drawdown"]
    s = mc.summarize(observed, sims, 0.95, lower_is_better=True)
    assert s["percentile"] > 99.0
    assert s["p_value"] > 0.99
    assert "unlucky" in mc.verdict("max_drawdown", s, "permutation", 0.95)


def test_confidence_interval_uses_the_percentile_method() -> None:
    sims = np.arange(101) / 100.0
    s = mc.summarize(0.5, sims, 0.90, lower_is_better=False)
    assert s["ci"] == pytest.approx([0.05, 0.95])
    assert s["mean"] == pytest.approx(0.5)
    assert s["std"] == pytest.approx(np.std(sims, ddof=1))


def test_rounding_noise_counts_as_a_tie() -> None:
    sims = np.array([1.0 - 1e-15, 1.0 + 1e-15, 1.0])
    s = mc.summarize(1.0, sims, 0.95, lower_is_better=False)
    assert s["p_value"] == 1.0 and s["percentile"] == 50.0 and s["robust"] is False


def test_nan_and_inf_are_handled_and_the_result_is_json_safe() -> None:
    sims = np.array([np.nan, 1.0, 2.0, np.inf, 3.0])
    s = mc.summarize(math.inf, sims, 0.5, lower_is_better=False)
    assert s["n_valid"] == 4
    assert s["observed"] is None  # inf is not representable in JSON
    assert s["p_value"] == pytest.approx((1 + 1) / (4 + 1))  # only the other inf is as good
    assert s["mean"] == pytest.approx(2.0)  # finite values only
    json.dumps(s, allow_nan=False)

    undefined = mc.summarize(math.nan, sims, 0.95, lower_is_better=False)
    assert undefined["observed"] is None and undefined["p_value"] is None
    assert "undefined" in mc.verdict("profit_factor", undefined, "bootstrap", 0.95)
    json.dumps(undefined, allow_nan=False)

    empty = mc.summarize(1.0, np.array([np.nan, np.nan]), 0.95, lower_is_better=False)
    assert empty["n_valid"] == 0 and empty["ci"] == [None, None] and empty["mean"] is None
    json.dumps(empty, allow_nan=False)


def test_summarize_returns_plain_python_types() -> None:
    sims = mc.simulate(RETURNS, 200, "bootstrap", np.random.default_rng(0))
    observed = mc.compute_trade_metrics(RETURNS)
    for name in mc.TRADE_METRICS:
        s = mc.summarize(observed[name], sims[name], 0.95, name in mc.TRADE_LOWER_IS_BETTER)
        for key in ("observed", "mean", "std", "p_value", "percentile"):
            assert type(s[key]) is float, (name, key)
        assert type(s["significant"]) is bool and type(s["robust"]) is bool
        assert all(type(v) is float for v in s["ci"])
        assert type(s["n_valid"]) is int


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_summarize_rejects_a_bad_confidence(confidence: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        mc.summarize(0.1, np.array([0.1, 0.2]), confidence, lower_is_better=False)


# --- histogram and verdict ---------------------------------------------------------------------------


def test_histogram_is_compact_and_json_safe() -> None:
    values = np.concatenate([np.random.default_rng(0).normal(size=1000), [np.nan, np.inf]])
    h = mc.histogram(values, bins=40)
    assert len(h["edges"]) == 41 and len(h["counts"]) == 40
    assert sum(h["counts"]) == 1000  # NaN and inf left out
    assert all(type(c) is int for c in h["counts"]) and all(type(e) is float for e in h["edges"])
    json.dumps(h, allow_nan=False)


def test_histogram_of_a_constant_is_one_bin() -> None:
    h = mc.histogram(np.full(50, 0.25) + np.linspace(0, 1e-16, 50))
    assert h["counts"] == [50]
    assert h["edges"][0] < 0.25 < h["edges"][1]
    assert mc.histogram(np.array([np.nan])) == {"edges": [], "counts": []}
    with pytest.raises(ValueError, match="bins"):
        mc.histogram(np.ones(3), bins=0)


def test_verdict_explains_what_permutation_cannot_test() -> None:
    sims = mc.simulate(RETURNS, 200, "permutation", np.random.default_rng(0))
    observed = mc.compute_trade_metrics(RETURNS)
    s = mc.summarize(observed["total_return"], sims["total_return"], 0.95, lower_is_better=False)
    assert "bootstrap" in mc.verdict("total_return", s, "permutation", 0.95)
    d = mc.summarize(observed["max_drawdown"], sims["max_drawdown"], 0.95, lower_is_better=True)
    text = mc.verdict("max_drawdown", d, "permutation", 0.95)
    assert "max_drawdown" in text and "95%" in text and "\n" not in text


def test_verdict_of_a_metric_that_is_infinite_everywhere() -> None:
    returns = np.array([0.01, 0.02, 0.03])  # no losing trade: the profit factor is inf in every order
    sims = mc.simulate(returns, 100, "permutation", np.random.default_rng(0))["profit_factor"]
    s = mc.summarize(float(mc.compute_trade_metrics(returns)["profit_factor"]), sims, 0.95, lower_is_better=False)
    assert s["p_value"] == 1.0 and s["observed"] is None and s["ci"] == [None, None]
    assert "cannot judge" in mc.verdict("profit_factor", s, "permutation", 0.95)
