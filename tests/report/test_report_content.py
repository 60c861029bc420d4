"""Report content without a browser: several objectives, a Monte Carlo analyzer with too few trades, set-up facts."""

from __future__ import annotations

import backtrader as bt

import bt_optimize as bto
from sample_strategies import SmaCross


def _cerebro() -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=1)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2005-01-01", todate="2006-12-31"))
    cerebro.broker.setcash(50_000)
    cerebro.broker.setcommission(commission=0.002)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=90)
    return cerebro


def test_set_up_and_a_monte_carlo_without_enough_trades(tmp_path):
    cerebro = _cerebro()
    cerebro.addanalyzer(bto.analyzers.MonteCarlo, _name="mc", n_simulations=50, min_trades=500)
    study = cerebro.optimize_grid(SmaCross, fast=[5, 10], slow=[30, 50], executor="serial", progress=False)
    html = study.report(tmp_path / "r.html", options={"note": "grid of 4"}).read_text()
    for fact in ("50,000.00", "0.002 (% of value)", "PercentSizer(percents=90)", "2005-01-03", "2006-12-29",
                 "4 (4 complete, 0 pruned, 0 failed, 0 infeasible)", "grid of 4", "stop reason"):
        assert fact in html, fact
    assert "not computed for the best trial" in html and "500" in html  # the analyzer's own reason
    assert "Monte Carlo (mc)" in html  # and a verdict line saying so


def test_several_objectives_have_no_single_best_but_a_report(tmp_path):
    study = _cerebro().optimize_grid(SmaCross, fast=[5, 10], slow=[30, 50], executor="serial", progress=False,
                                     objective=["sharpe_ratio", "max_drawdown"])
    html = study.report(tmp_path / "m.html").read_text()
    assert "sharpe_ratio (max), max_drawdown (min)" in html
    assert "study.best_trials" in html and "Top 4 trials" in html
