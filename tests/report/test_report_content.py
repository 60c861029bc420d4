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


def test_the_set_up_shows_the_methods_options_defaults_included(tmp_path):
    study = _cerebro().optimize_bayes(SmaCross, fast=bto.Int(5, 20), slow=bto.Int(30, 60), n_trials=6, batch_size=2,
                                      seed=3, executor="serial", progress=False)
    assert study.method_options["batch_size"] == 2 and study.method_options["acquisition"] == "auto"
    html = study.report(tmp_path / "b.html").read_text()
    assert "<h3>Options</h3>" in html
    for name, value in (("n_trials", "6"), ("batch_size", "2"), ("seed", "3"), ("acquisition", "auto"),
                        ("promote_quantile", "0.6"), ("fidelity", "n/a")):
        assert f"<dt>{name}</dt><dd>{value}</dd>" in html, name
    # options given to report() replace them (a config file's, for one)
    given = study.report(tmp_path / "c.html", options={"note": "x"}).read_text()
    assert "<dt>note</dt><dd>x</dd>" in given and "<dt>acquisition</dt>" not in given
    grid = _cerebro().optimize_grid(SmaCross, fast=[5, 10], slow=[30], executor="serial", progress=False)
    assert grid.method_options == {} and "<h3>Options</h3>" not in grid.report(tmp_path / "g.html").read_text()
