"""Tests of the MonteCarlo analyzer on real backtrader runs over real ORCL prices."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import backtrader as bt
import pytest

from bt_optimize import datasets
from bt_optimize.analyzers.montecarlo import MonteCarlo
from bt_optimize.plotting import plot_distribution
from bt_optimize.stats.montecarlo import TRADE_METRICS
from sample_strategies import SmaCross

FROM, TO = "2003-01-01", "2004-12-31"  # two years: 17 closed trades with SmaCross(5, 20)
START_CASH = 100_000.0
METRIC_KEYS = {
    "observed", "mean", "std", "ci", "p_value", "percentile", "significant", "robust", "verdict",
    "lower_is_better", "n_valid", "hist",
}  # fmt: skip


class NeverTrades(bt.Strategy):
    """A strategy that places no order at all."""

    def next(self) -> None:
        pass


def run(
    analyzers: dict[str, dict[str, Any]],
    strategy: type[bt.Strategy] = SmaCross,
    **cerebro_kwargs: Any,
) -> bt.Strategy:
    """Run SmaCross(5, 20) on two years of ORCL with the given MonteCarlo analyzers; return the strategy."""
    cerebro = bt.Cerebro(stdstats=False, **cerebro_kwargs)
    cerebro.adddata(datasets.load("orcl", fromdate=FROM, todate=TO))
    cerebro.broker.setcash(START_CASH)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    if strategy is SmaCross:
        cerebro.addstrategy(SmaCross, fast=5, slow=20)
    else:
        cerebro.addstrategy(strategy)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    for name, kwargs in analyzers.items():
        cerebro.addanalyzer(MonteCarlo, _name=name, **kwargs)
    return cerebro.run()[0]


@pytest.fixture(scope="module")
def strat() -> bt.Strategy:
    """One run carrying a permutation and a bootstrap analyzer."""
    return run(
        {
            "perm": {"n_simulations": 1000, "method": "permutation", "seed": 42},
            "boot": {"n_simulations": 1000, "method": "bootstrap", "seed": 42},
        }
    )


@pytest.fixture(scope="module")
def perm(strat: bt.Strategy) -> dict[str, Any]:
    return strat.analyzers.perm.get_analysis()


@pytest.fixture(scope="module")
def boot(strat: bt.Strategy) -> dict[str, Any]:
    return strat.analyzers.boot.get_analysis()


def assert_plain(value: Any, where: str = "analysis") -> None:
    """Fail unless ``value`` is built only of dict/list/str/int/float/bool/None, with no NaN or inf."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, where
            assert_plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_plain(item, f"{where}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), f"{where}: {type(value)}"
        if type(value) is float:
            assert math.isfinite(value), where


def test_analysis_layout_and_json_safety(perm: dict[str, Any], boot: dict[str, Any]) -> None:
    for analysis, method in ((perm, "permutation"), (boot, "bootstrap")):
        assert analysis["status"] == "ok"
        assert analysis["method"] == method
        assert analysis["n_simulations"] == 1000
        assert analysis["seed"] == 42
        assert analysis["confidence"] == 0.95
        assert analysis["n_trades"] == 17
        assert analysis["min_trades"] == 10
        assert analysis["start_value"] == START_CASH
        assert analysis["metrics"] == list(TRADE_METRICS)
        for name in TRADE_METRICS:
            entry = analysis[name]
            assert set(entry) == METRIC_KEYS, name
            assert entry["lower_is_better"] is (name == "max_drawdown")
            assert entry["n_valid"] <= 1000
            assert 0.0 < entry["p_value"] <= 1.0
            assert 0.0 <= entry["percentile"] <= 100.0
            assert entry["significant"] is (entry["p_value"] < 0.05)
            assert isinstance(entry["verdict"], str) and entry["verdict"]
            assert sum(entry["hist"]["counts"]) <= 1000
            assert len(entry["hist"]["edges"]) == len(entry["hist"]["counts"]) + 1
        assert_plain(analysis)
        json.loads(json.dumps(analysis, allow_nan=False))


def test_trade_returns_use_pnlcomm_over_the_value_at_open(strat: bt.Strategy, perm: dict[str, Any]) -> None:
    analyzer = strat.analyzers.perm
    assert len(analyzer.trade_returns) == len(analyzer.trade_pnls) == 17
    # SmaCross holds one position at a time, so each trade starts from the cash left by the previous ones
    # and compounding the trade returns reproduces the broker's realised P&L exactly.
    realised = sum(analyzer.trade_pnls) / START_CASH
    assert perm["total_return"]["observed"] == pytest.approx(realised, rel=1e-12, abs=1e-12)
    # The P&L is net of commission, as backtrader's own TradeAnalyzer counts it.
    pnl = strat.analyzers.trades.get_analysis()["pnl"]
    assert sum(analyzer.trade_pnls) == pytest.approx(pnl["net"]["total"], rel=1e-12)
    assert pnl["net"]["total"] < pnl["gross"]["total"]


def test_permutation_cannot_change_order_free_metrics(perm: dict[str, Any]) -> None:
    for name in ("total_return", "win_rate", "profit_factor", "trade_sharpe"):
        entry = perm[name]
        assert entry["std"] < 1e-12, name
        assert entry["ci"][0] == pytest.approx(entry["observed"], rel=1e-12)
        assert entry["ci"][1] == pytest.approx(entry["observed"], rel=1e-12)
        assert entry["mean"] == pytest.approx(entry["observed"], rel=1e-12)
        assert entry["p_value"] == 1.0 and entry["percentile"] == 50.0
        assert entry["significant"] is False and entry["robust"] is False
        assert "bootstrap" in entry["verdict"]


def test_permutation_moves_the_drawdown(perm: dict[str, Any]) -> None:
    dd = perm["max_drawdown"]
    assert dd["std"] > 0.005
    assert dd["ci"][0] < dd["ci"][1]
    assert 0.0 <= dd["ci"][0] and dd["observed"] >= 0.0
    assert sum(1 for count in dd["hist"]["counts"] if count) > 5
    assert "bootstrap" not in dd["verdict"]


def test_bootstrap_moves_every_metric(perm: dict[str, Any], boot: dict[str, Any]) -> None:
    for name in TRADE_METRICS:
        assert boot[name]["std"] > 1e-4, name
        assert boot[name]["observed"] == pytest.approx(perm[name]["observed"]), name  # same trades
    ci = boot["total_return"]["ci"]
    assert ci[0] < boot["total_return"]["observed"] < ci[1]


def test_same_seed_same_analysis_other_seed_other_draws(perm: dict[str, Any], boot: dict[str, Any]) -> None:
    again = run(
        {
            "perm": {"n_simulations": 1000, "method": "permutation", "seed": 42},
            "boot": {"n_simulations": 1000, "method": "bootstrap", "seed": 42},
            "other": {"n_simulations": 1000, "method": "bootstrap", "seed": 43},
        }
    )
    assert again.analyzers.perm.get_analysis() == perm
    assert again.analyzers.boot.get_analysis() == boot
    other = again.analyzers.other.get_analysis()
    assert other["total_return"]["observed"] == boot["total_return"]["observed"]
    assert other["total_return"]["hist"] != boot["total_return"]["hist"]


def test_too_few_trades_is_reported_not_raised() -> None:
    strat = run({"mc": {"seed": 1}, "strict": {"seed": 1, "min_trades": 18}}, strategy=SmaCross)
    assert strat.analyzers.mc.get_analysis()["status"] == "ok"
    strict = strat.analyzers.strict.get_analysis()
    assert set(strict) == {"status", "n_trades", "min_trades", "message"}
    assert strict["status"] == "insufficient_trades"
    assert strict["n_trades"] == 17 and strict["min_trades"] == 18
    assert "min_trades" in strict["message"]

    idle = run({"mc": {}}, strategy=NeverTrades).analyzers.mc.get_analysis()
    assert idle == {
        "status": "insufficient_trades",
        "n_trades": 0,
        "min_trades": 10,
        "message": idle["message"],
    }
    json.dumps(idle, allow_nan=False)


def test_every_backtrader_mode_gives_the_same_analysis() -> None:
    config = {"n_simulations": 300, "seed": 11}
    analyzers = {"perm": {**config, "method": "permutation"}, "boot": {**config, "method": "bootstrap"}}
    results = []
    for runonce, preload, exactbars in itertools.product((True, False), (True, False), (0, 1, -1)):
        strat = run(analyzers, runonce=runonce, preload=preload, exactbars=exactbars)
        results.append(
            (
                (runonce, preload, exactbars),
                strat.analyzers.perm.get_analysis(),
                strat.analyzers.boot.get_analysis(),
            )
        )
    _, perm0, boot0 = results[0]
    assert perm0["status"] == "ok" and perm0["n_trades"] == 17
    for mode, perm, boot in results[1:]:
        assert perm == perm0, mode
        assert boot == boot0, mode


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_simulations": 0}, "n_simulations must be an integer >= 1"),
        ({"n_simulations": 10.5}, "n_simulations"),
        ({"n_simulations": True}, "n_simulations"),
        ({"method": "shuffle"}, "method must be one of 'permutation', 'bootstrap'"),
        ({"confidence": 1.0}, "strictly between 0 and 1"),
        ({"confidence": 0}, "strictly between 0 and 1"),
        ({"confidence": "0.95"}, "strictly between 0 and 1"),
        ({"seed": -1}, "seed must be None or an integer >= 0"),
        ({"seed": 1.5}, "seed"),
        ({"min_trades": 1}, "min_trades must be an integer >= 2"),
        ({"bins": 0}, "bins"),
    ],
)
def test_invalid_params_are_rejected_before_the_run(kwargs: dict[str, Any], match: str) -> None:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(datasets.load("orcl", fromdate="2004-01-01", todate="2004-03-31"))
    cerebro.addstrategy(NeverTrades)
    cerebro.addanalyzer(MonteCarlo, **kwargs)
    with pytest.raises(ValueError, match=match):
        cerebro.run()


def test_plot_distribution_writes_a_png(tmp_path: Any, perm: dict[str, Any], boot: dict[str, Any]) -> None:
    from matplotlib.figure import Figure

    path = tmp_path / "mc_drawdown.png"
    fig = plot_distribution(perm, "max_drawdown", path=str(path))
    assert isinstance(fig, Figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A stored analysis (a JSON round trip) plots as well, also for a metric permutation cannot move.
    stored = json.loads(json.dumps(boot))
    for name in ("trade_sharpe",):
        out = tmp_path / f"boot_{name}.png"
        plot_distribution(stored, name, path=str(out))
        assert out.stat().st_size > 1000
    flat = plot_distribution(perm, "win_rate", path=str(tmp_path / "flat.png"))
    assert flat.axes[0].get_title().startswith("win_rate: permutation, 1000 simulations")

    # Drawing into given axes returns their figure.
    other = Figure()
    ax = other.add_subplot()
    assert plot_distribution(perm, "total_return", ax=ax) is other


def test_plot_distribution_rejects_bad_input(perm: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="available metrics: trade_sharpe, total_return, max_drawdown"):
        plot_distribution(perm, "sharpe")
    insufficient = {"status": "insufficient_trades", "n_trades": 3, "min_trades": 10, "message": "Only 3."}
    with pytest.raises(ValueError, match="insufficient_trades"):
        plot_distribution(insufficient, "trade_sharpe")
