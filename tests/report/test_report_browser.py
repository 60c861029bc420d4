"""A real report of a small real study, rendered by headless Chromium: not blank, offline, and readable."""

from __future__ import annotations

import re

import backtrader as bt
import pytest
from helpers_chromium import blank_share, render

import bt_optimize as bto
from sample_strategies import SmaCross


@pytest.fixture(scope="module")
def study_and_extras():
    cerebro = bto.Cerebro(maxcpus=1)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2005-01-01", todate="2008-12-31"))
    cerebro.broker.setcash(100_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    cerebro.addanalyzer(bto.analyzers.MonteCarlo, _name="mc", n_simulations=200, method="bootstrap", seed=3)
    study = cerebro.optimize_random(SmaCross, fast=bto.Int(3, 18), slow=bto.Int(20, 80, step=5), n_trials=10,
                                    seed=2, executor="serial", progress=False)
    # noise infusion on the best params only: a plain backtrader run with the analyzer attached
    plain = bt.Cerebro()
    plain.adddata(bto.datasets.load("orcl", fromdate="2005-01-01", todate="2008-12-31"))
    plain.broker.setcash(100_000)
    plain.broker.setcommission(commission=0.001)
    plain.addsizer(bt.sizers.PercentSizer, percents=95)
    plain.addstrategy(SmaCross, **study.best_params)
    plain.addanalyzer(bto.analyzers.NoiseInfusion, _name="noise", n_simulations=4, seed=1, maxcpus=1)
    noise = plain.run()[0].analyzers.noise.get_analysis()
    sens = cerebro.sensitivity(SmaCross, study.best_params, n_points=3, perturbation=0.2, n_bootstrap=5,
                               executor="serial")
    return study, noise, sens


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_study_report_renders_offline_with_params_and_verdicts(study_and_extras, tmp_path):
    study, noise, sens = study_and_extras
    out = study.report(tmp_path / "report.html", sensitivity=sens, analyses={"noise": noise})
    html = out.read_text()
    png = tmp_path / "report.png"
    dom, requests = render(out, png)
    assert requests == [], f"the page made network requests: {requests}"
    white, colours = blank_share(png)
    assert white < 0.97 and colours > 50, f"the screenshot looks blank ({white:.1%} white, {colours} colours)"
    text = re.sub(r"\s+", " ", dom)
    for name, value in study.best_params.items():
        assert f"{name}={value}" in text
    assert f"{study.best_value:.4g}" in text
    mc_verdict = _text(html.split("Monte Carlo bootstrap (mc): max_drawdown")[1].split("</li>")[0]).strip()
    assert len(mc_verdict) > 20 and mc_verdict[:40] in text
    assert f"{noise['verdict']} under" in text and "Noise infusion (noise)" in text
    assert f"Parameter sensitivity {sens.overall_class}" in text
    over = study.overfitting()
    assert over.summary in text and "Overfitting statistics" in text
    for section in ("Set-up", "Best result", "Trials", "Robustness", "Top 10 trials", "buy-and-hold"):
        assert section in text
    assert html.count("data:image/png;base64,") >= 6  # equity, convergence, objective, importance, heatmap, MC...
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html), "a link or source outside the page"


def test_detector_sees_a_network_request(tmp_path):
    """The request recorder is real: a page that loads a remote image is caught."""
    page = tmp_path / "remote.html"
    page.write_text('<html><body><p>x</p><img src="http://example.invalid/pixel.png"></body></html>')
    _, requests = render(page, tmp_path / "remote.png", width=400, height=300)
    assert any("example.invalid" in r for r in requests)


def test_phone_width_and_other_pages(study_and_extras, tmp_path):
    study, _, sens = study_and_extras
    page = tmp_path / "sens.html"
    page.write_text(sens.report(format="html"))
    png = tmp_path / "sens.png"
    dom, requests = render(page, png, width=390, height=800)
    assert requests == []
    white, colours = blank_share(png)
    assert white < 0.985 and colours > 30
    text = re.sub(r"\s+", " ", dom)
    assert sens.overall_class in text and "Assessment" in text
    assert sens.report().startswith("# Parameter sensitivity")  # the default stays markdown
    phone = study.report(tmp_path / "phone.html", run_best=False)
    dom, requests = render(phone, tmp_path / "phone.png", width=390, height=800)  # no sideways scrolling
    assert requests == [] and "Top 10 trials" in dom
