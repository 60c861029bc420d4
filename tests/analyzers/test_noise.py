"""Tests of the NoiseInfusion analyzer: real backtrader re-runs on perturbed real ORCL prices."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import backtrader as bt
import numpy as np
import pytest

import bt_optimize as bto
from bt_optimize import datasets
from bt_optimize.analyzers.noise import NOISE_METRICS, NoiseInfusion
from bt_optimize.engine.data import snapshot_feeds
from bt_optimize.engine.worker import Payload, Runtime, TrialSpec, make_template
from bt_optimize.objective import Objective
from sample_strategies import SmaCross

START_CASH = 100_000.0
METRIC_KEYS = {"original", "mean", "std", "ci", "worst_case", "degradation_pct", "verdict", "lower_is_better",
               "n_valid", "values"}


def make_cerebro(fromdate: str = "2004-01-01", todate: str = "2004-12-31", maxcpus: int = 1,
                 cls: type = bto.Cerebro, **kwargs: Any) -> bt.Cerebro:
    """ORCL daily bars, 100k cash, 0.1 % commission, 95 % of the account per trade."""
    cerebro = cls(stdstats=False, maxcpus=maxcpus, **kwargs)
    cerebro.adddata(datasets.load("orcl", fromdate=fromdate, todate=todate))
    cerebro.broker.setcash(START_CASH)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    return cerebro


def noise_of(cerebro: bt.Cerebro, params: dict[str, Any], **noise: Any) -> dict[str, Any]:
    cerebro.addstrategy(SmaCross, **params)
    cerebro.addanalyzer(NoiseInfusion, _name="noise", **noise)
    return cerebro.run()[0].analyzers.noise.get_analysis()


def test_layout_json_and_other_analyzers_stay_out_of_the_reruns() -> None:
    cerebro = make_cerebro()
    cerebro.addanalyzer(bto.analyzers.MonteCarlo, _name="mc", n_simulations=50, seed=1, min_trades=2)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addstrategy(SmaCross, fast=5, slow=20)
    cerebro.addanalyzer(bto.analyzers.NoiseInfusion, _name="noise", n_simulations=3, seed=42)
    strat = cerebro.run()[0]
    a = strat.analyzers.noise.get_analysis()
    assert a["status"] == "ok" and a["model"] == "gaussian" and a["std_pct"] == 0.01
    assert a["n_simulations"] == a["n_completed"] == 3 and a["n_failed"] == 0
    assert a["seed"] == 42 and a["confidence"] == 0.95
    assert a["thresholds"] == {"robust": 20.0, "fragile": 50.0}
    assert a["metrics"] == list(NOISE_METRICS) and a["primary"] == "sharpe_ratio"
    assert a["verdict"] == a["sharpe_ratio"]["verdict"]
    for name in NOISE_METRICS:
        assert set(a[name]) == METRIC_KEYS, name
        assert len(a[name]["values"]) == 3
        assert a[name]["lower_is_better"] is (name == "max_drawdown")
    json.loads(json.dumps(a, allow_nan=False))
    # The original is measured like the built-in metrics of a study's trial.
    trades = strat.analyzers.trades.get_analysis()
    assert a["win_rate"]["original"] == pytest.approx(trades["won"]["total"] / trades["total"]["closed"])
    assert strat.analyzers.mc.get_analysis()["status"] == "ok"  # the user's other analyzers are untouched


def test_zero_noise_reruns_reproduce_the_original_run() -> None:
    """std_pct=0: the re-runs see the same bars, broker, commission and sizer, so every number is identical."""
    for kwargs in ({}, {"preload": False, "exactbars": 1}, {"cls": bt.Cerebro, "maxcpus": 2}):
        a = noise_of(make_cerebro(**kwargs), {"fast": 5, "slow": 20}, n_simulations=2, std_pct=0.0, seed=0,
                     metrics=(*NOISE_METRICS, "n_trades", "sqn"))
        for name in a["metrics"]:
            assert a[name]["values"] == [a[name]["original"]] * 2, (kwargs, name)
            assert a[name]["degradation_pct"] in (0.0, None), (kwargs, name)
        assert a["n_trades"]["original"] == 7


def test_every_rerun_feed_is_perturbed_into_valid_bars() -> None:
    """The worker path itself: a real backtest on the noisy feed, its OHLC checked bar by bar."""
    cerebro = make_cerebro("2000-01-01", "2009-12-31")
    feeds = snapshot_feeds(cerebro)
    clean = feeds[0].lines
    runtime = Runtime(Payload(make_template(cerebro), feeds, SmaCross, Objective()))
    for i, model in enumerate(("gaussian", "bootstrap")):
        spec = TrialSpec(i, {"fast": 5, "slow": 20}, perturb={"model": model, "std_pct": 0.03, "seed": [9, i]})
        res, strat = runtime.run(spec)
        assert res.state == "complete"
        data = strat.datas[0]
        o, h, low, c, v = (np.array(getattr(data.lines, k).array) for k in ("open", "high", "low", "close", "volume"))
        assert len(c) == len(clean["close"]) == 2515
        assert (h >= np.maximum(o, c)).all() and (low <= np.minimum(o, c)).all() and (h >= low).all()
        assert (v >= 0).all() and (low > 0).all()
        np.testing.assert_array_equal(np.array(data.lines.datetime.array), clean["datetime"])
        assert (c / clean["close"] - 1).std() == pytest.approx(0.03, rel=0.1)
        assert res.metrics["n_trades"] != runtime.run(TrialSpec(9, {"fast": 5, "slow": 20}))[0].metrics[
            "n_trades"]


def test_fragile_strategy_degrades_robust_one_holds() -> None:
    """Two SmaCross variants on ORCL 2003-2006 under 1 % Gaussian noise.

    Fragile: fast=2, slow=8, stop=2 % is the best Sharpe ratio of a 72-point grid of very short crosses with
    tight stops (fast 2-5, slow 4-10, stop 1-3 %) on this very period: ~73 trades a few bars long, chosen for
    how they fit this exact price path, so 1 % noise (about half of ORCL's daily move) reshuffles its signals.
    Robust: fast=30, slow=100 is a slow trend filter that was not tuned here; a 30- and a 100-bar average barely
    move under independent 1 % noise per bar, so its few entries and exits shift by a bar at most.
    """
    fragile = noise_of(make_cerebro("2003-01-01", "2006-12-31", maxcpus=2), {"fast": 2, "slow": 8, "stop": 0.02},
                       n_simulations=20, std_pct=0.01, seed=7)
    robust = noise_of(make_cerebro("2003-01-01", "2006-12-31", maxcpus=2), {"fast": 30, "slow": 100},
                      n_simulations=20, std_pct=0.01, seed=7)
    assert fragile["verdict"] == "fragile" and fragile["sharpe_ratio"]["degradation_pct"] > 50.0
    assert fragile["total_return"]["verdict"] == "fragile"
    assert fragile["max_drawdown"]["degradation_pct"] > 50.0  # deeper drawdowns under noise
    sharpe = fragile["sharpe_ratio"]
    assert sharpe["original"] > sharpe["mean"] + sharpe["std"]  # an outlier among its noisy twins: it rode this path
    assert robust["verdict"] == "robust" and abs(robust["sharpe_ratio"]["degradation_pct"]) < 20.0
    assert robust["total_return"]["verdict"] == "robust" and robust["max_drawdown"]["verdict"] == "robust"
    assert robust["sharpe_ratio"]["ci"][0] < robust["sharpe_ratio"]["original"] < robust["sharpe_ratio"]["ci"][1]
    assert robust["sharpe_ratio"]["worst_case"] > 0.0
    assert fragile["sharpe_ratio"]["std"] > robust["sharpe_ratio"]["std"]


def test_every_backtrader_mode_gives_the_same_analysis() -> None:
    results = []
    for runonce, preload, exactbars in itertools.product((True, False), (True, False), (0, 1, -1)):
        cerebro = make_cerebro(runonce=runonce, preload=preload, exactbars=exactbars)
        a = noise_of(cerebro, {"fast": 5, "slow": 20}, n_simulations=3, std_pct=0.01, model="bootstrap", seed=11)
        results.append(((runonce, preload, exactbars), a))
    mode0, first = results[0]
    assert first["status"] == "ok" and first["n_completed"] == 3
    assert len({v for v in first["sharpe_ratio"]["values"]}) == 3  # the noise did change the runs
    for mode, a in results[1:]:
        assert a == first, mode


def test_reproducible_by_seed_whatever_the_number_of_processes() -> None:
    serial = noise_of(make_cerebro(maxcpus=1), {"fast": 5, "slow": 20}, n_simulations=4, seed=3)
    parallel = noise_of(make_cerebro(maxcpus=2), {"fast": 5, "slow": 20}, n_simulations=4, seed=3)
    other = noise_of(make_cerebro(maxcpus=2), {"fast": 5, "slow": 20}, n_simulations=4, seed=4)
    assert serial == parallel
    assert other["sharpe_ratio"]["values"] != serial["sharpe_ratio"]["values"]
    assert other["sharpe_ratio"]["original"] == serial["sharpe_ratio"]["original"]
    fresh = noise_of(make_cerebro(), {"fast": 5, "slow": 20}, n_simulations=2)  # seed=None: drawn and reported
    assert isinstance(fresh["seed"], int)
    again = noise_of(make_cerebro(), {"fast": 5, "slow": 20}, n_simulations=2, seed=fresh["seed"])
    assert again == fresh


def test_stored_with_each_trial_of_a_windowed_optimization() -> None:
    """Inside daemonic workers the re-runs are serial; the window's warmup gate is replayed exactly."""
    cerebro = make_cerebro("2003-01-01", "2004-12-31", maxcpus=2)
    cerebro.addanalyzer(NoiseInfusion, _name="noise", n_simulations=2, seed=5)
    cerebro.addanalyzer(NoiseInfusion, _name="exact", n_simulations=1, std_pct=0.0, seed=5)
    study = cerebro.optimize_grid(SmaCross, fast=[5, 8], slow=[20], window=bto.Window(start=120, warmup=60))
    assert len(study.trials) == 2
    for number in (0, 1):
        analysis = study.analysis(number)
        perf, noise, exact = analysis["performance"], analysis["noise"], analysis["exact"]
        assert noise["status"] == "ok" and noise["n_completed"] == 2
        for name in NOISE_METRICS:
            assert noise[name]["original"] == perf[name]
            assert exact[name]["values"] == [perf[name]], name  # same gate, same bars: same numbers
        assert noise["sharpe_ratio"]["values"] != exact["sharpe_ratio"]["values"] * 2
    # run_best (engine run in the main process) gives the same analysis as the stored trial
    best = study.run_best()
    assert best.analyzers.noise.get_analysis() == study.analysis(study.best_trial.number)["noise"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_simulations": 0}, "n_simulations must be an integer >= 1"),
        ({"std_pct": 1.0}, "std_pct must be a fraction in"),
        ({"std_pct": -0.01}, "std_pct"),
        ({"model": "uniform"}, "model must be one of 'gaussian', 'bootstrap'"),
        ({"seed": -1}, "seed must be None or an integer >= 0"),
        ({"confidence": 1.0}, "strictly between 0 and 1"),
        ({"robust_threshold": 60.0}, "must not exceed fragile_threshold"),
        ({"metrics": ("sharpe",)}, "choose from"),
        ({"primary": "sqn"}, "primary='sqn' must be one of the reported metrics"),
        ({"maxcpus": -1}, "maxcpus"),
    ],
)
def test_invalid_params_are_rejected_before_the_run(kwargs: dict[str, Any], match: str) -> None:
    cerebro = make_cerebro("2004-01-01", "2004-03-31")
    cerebro.addstrategy(SmaCross)
    cerebro.addanalyzer(NoiseInfusion, **kwargs)
    with pytest.raises(ValueError, match=match):
        cerebro.run()


def test_thresholds_are_configurable() -> None:
    a = noise_of(make_cerebro(), {"fast": 5, "slow": 20}, n_simulations=3, seed=1, robust_threshold=0.0,
                 fragile_threshold=0.0, primary="total_return")
    for name in NOISE_METRICS:
        deg = a[name]["degradation_pct"]
        assert a[name]["verdict"] == ("undefined" if deg is None else "robust" if deg < 0 else
                                      "moderate" if deg == 0 else "fragile")
    assert a["verdict"] == a["total_return"]["verdict"]
    assert all(math.isfinite(v) for v in a["sharpe_ratio"]["values"])


def test_exported_from_the_package() -> None:
    assert bto.analyzers.NoiseInfusion is NoiseInfusion
