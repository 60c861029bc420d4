"""bto.Cerebro is a bt.Cerebro: drop-in equality, plus the grid/random entry points and the Study API."""

from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest

import bt_optimize as bto
from sample_strategies import DonchianBreakout, SmaCross

FROM, TO = "2002-01-01", "2005-12-31"


def _setup(c):
    c.adddata(bto.datasets.load("orcl", fromdate=FROM, todate=TO))
    c.broker.setcash(50_000)
    c.broker.setcommission(commission=0.001)
    c.addsizer(bt.sizers.PercentSizer, percents=90)
    c.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe")
    c.addanalyzer(bto.analyzers.Performance, _name="perf")
    return c


def test_is_a_bt_cerebro():
    assert issubclass(bto.Cerebro, bt.Cerebro)


@pytest.mark.parametrize("kw", [dict(), dict(runonce=False), dict(preload=False), dict(exactbars=1)])
def test_plain_run_equals_backtrader(kw):
    out = []
    for cls in (bt.Cerebro, bto.Cerebro):
        c = _setup(cls(**kw))
        c.addstrategy(SmaCross, fast=8, slow=40)
        res = c.run()
        assert isinstance(res, list) and len(res) == 1 and isinstance(res[0], SmaCross)
        out.append((c.broker.getvalue(), res[0].analyzers.sharpe.get_analysis(),
                    res[0].analyzers.perf.get_analysis()))
    assert out[0] == out[1]


def test_optstrategy_run_equals_backtrader():
    out = []
    for cls in (bt.Cerebro, bto.Cerebro):
        c = _setup(cls(maxcpus=1, optreturn=True))
        c.optstrategy(SmaCross, fast=[5, 10, 40], slow=[30, 60])
        res = c.run()
        assert isinstance(res, list) and all(isinstance(r, list) for r in res)
        out.append([[(r.p.fast, r.p.slow, r.analyzers.perf.get_analysis()["sharpe_ratio"]) for r in rr] for rr in res])
    assert out[0] == out[1]


def test_grid_equals_optstrategy_point_by_point_in_parallel():
    ref = _setup(bt.Cerebro(maxcpus=1))
    ref.optstrategy(SmaCross, fast=range(5, 30, 5), slow=range(30, 90, 20), ma=["sma", "ema"])
    expected = {}
    for rr in ref.run():
        for r in rr:
            expected[(r.p.fast, r.p.slow, r.p.ma)] = r.analyzers.perf.get_analysis()["sharpe_ratio"]
    c = _setup(bto.Cerebro(maxcpus=2))
    study = c.optimize_grid(SmaCross, fast=range(5, 30, 5), slow=range(30, 90, 20), ma=["sma", "ema"],
                            objective="sharpe_ratio", progress=False)
    got = {(t.params["fast"], t.params["slow"], t.params["ma"]): t.value for t in study.get_trials()}
    assert len(got) == 5 * 3 * 2 and study.stop_reason == "exhausted"
    assert got == pytest.approx(expected, abs=1e-12)
    assert [t.number for t in study.get_trials()] == list(range(30))
    # deterministic order: the last parameter varies fastest
    df = study.trials.sort_values("number")
    assert list(df.params_ma[:2]) == ["sma", "ema"]


def test_optimize_without_strategy_uses_optstrategy_registration():
    c = _setup(bto.Cerebro(maxcpus=1))
    c.optstrategy(SmaCross, fast=range(5, 15, 5), slow=[30, 50], ma="ema")
    study = c.optimize_grid(progress=False)
    assert study.space["fast"] == bto.Int(5, 10, step=5)
    assert study.space["slow"] == bto.Cat([30, 50])
    assert study.space["ma"] == bto.Cat(["ema"])
    assert len(study.get_trials()) == 4
    # keyword arguments refine the registration
    study = c.optimize_random(n_trials=3, seed=1, slow=bto.Int(30, 60), progress=False)
    assert study.space["slow"] == bto.Int(30, 60)
    assert study.n_ran == 3


def test_random_search_is_reproducible_and_respects_priors():
    def run(seed):
        c = _setup(bto.Cerebro(maxcpus=2))
        return c.optimize_random(SmaCross, fast=bto.Int(2, 30), slow=bto.Int(35, 120, step=5),
                                 stop=bto.Real(0.01, 0.2, log=True), ma=["sma", "ema", "wma"],
                                 n_trials=8, seed=seed, progress=False)
    a, b, other = run(7), run(7), run(8)
    pa = [t.params for t in a.get_trials()]
    assert pa == [t.params for t in b.get_trials()]
    assert [t.value for t in a.get_trials()] == [t.value for t in b.get_trials()]
    assert pa != [t.params for t in other.get_trials()]
    for p in pa:
        assert type(p["fast"]) is int and type(p["stop"]) is float and 0.01 <= p["stop"] <= 0.2
        assert p["slow"] % 5 == 0
    assert a.stop_reason == "budget" and a.n_ran == 8


def test_random_search_stops_when_a_finite_space_is_exhausted_without_duplicates():
    c = _setup(bto.Cerebro(maxcpus=1))
    study = c.optimize_random(SmaCross, fast=[5, 10, 15], slow=[40, 60], n_trials=50, seed=0, progress=False)
    keys = [(t.params["fast"], t.params["slow"]) for t in study.get_trials()]
    assert len(keys) == 6 == len(set(keys))
    assert study.stop_reason == "exhausted"


def test_constraint_marks_infeasible_without_running():
    c = _setup(bto.Cerebro(maxcpus=1))
    study = c.optimize_grid(SmaCross, fast=[10, 50], slow=[30, 60], constraint=lambda p: p["fast"] < p["slow"],
                            progress=False)
    states = {(t.params["fast"], t.params["slow"]): t for t in study.get_trials()}
    bad = states[(50, 30)]
    assert bad.state is bto.TrialState.INFEASIBLE and bad.duration_s == 0 and "constraint" in bad.error
    assert states[(10, 30)].state is bto.TrialState.COMPLETE


def test_strategy_skip_error_marks_infeasible():
    c = _setup(bto.Cerebro(maxcpus=1))
    study = c.optimize_grid(SmaCross, fast=[10, 50], slow=[30], progress=False)
    t = {x.params["fast"]: x for x in study.get_trials()}
    assert t[50].state is bto.TrialState.INFEASIBLE and "StrategySkipError" in t[50].error


def test_study_api_trials_analysis_and_run_best_reproduces():
    c = _setup(bto.Cerebro(maxcpus=2))
    study = c.optimize_grid(DonchianBreakout, entry=[10, 20, 40], exit_rule=["channel", "atr", "time"],
                            objective="sharpe_ratio", progress=False)
    df = study.trials
    assert isinstance(df, pd.DataFrame) and len(df) == 9 == study.n_trials
    for col in ["number", "state", "value", "params_entry", "params_exit_rule", "duration_s", "sharpe_ratio",
                "max_drawdown", "n_trades"]:
        assert col in df.columns
    best = study.best_trial
    assert best.value == df.value.max() == study.best_value
    assert study.best_params == best.params and set(study.best_params) == {"entry", "exit_rule"}
    a = study.analysis(best.number)
    assert "sharpe" in a and "perf" in a and a["performance"]["sharpe_ratio"] == best.value
    with pytest.raises(KeyError, match="no trial 99"):
        study.analysis(99)
    strat = study.run_best()
    assert isinstance(strat, DonchianBreakout)
    assert strat.p.entry == best.params["entry"]
    assert strat.analyzers.perf.get_analysis()["sharpe_ratio"] == best.value  # exactly, not approximately
    assert "equity" in strat.bto_result["metrics"]


def test_cerebro_still_runs_normally_after_an_optimization():
    c = _setup(bto.Cerebro(maxcpus=1))
    c.optimize_grid(SmaCross, fast=[5, 10], slow=[30], progress=False)
    c.addstrategy(SmaCross, fast=10, slow=30)
    v1 = c.run()[0].analyzers.perf.get_analysis()
    ref = _setup(bt.Cerebro())
    ref.addstrategy(SmaCross, fast=10, slow=30)
    assert ref.run()[0].analyzers.perf.get_analysis() == v1


@pytest.mark.parametrize("call, match", [
    (lambda c: c.optimize_random(SmaCross, fast=(5, 50), n_trials=0), "n_trials"),
    (lambda c: c.optimize_random("SmaCross", fast=(5, 50)), "Strategy class"),
    (lambda c: c.optimize_grid(SmaCross, fsat=[5]), "did you mean 'fast'"),
    (lambda c: c.optimize_grid(SmaCross), "no parameters to optimize"),
    (lambda c: c.optimize_grid(fast=[5]), "no strategy given"),
    (lambda c: c.optimize_grid(SmaCross, stop=bto.Real(0.0, 0.1)), "no step"),
    (lambda c: c.optimize_grid(SmaCross, fast=[5], constraint=3), "constraint"),
])
def test_bad_input_fails_before_any_backtest(call, match):
    c = _setup(bto.Cerebro(maxcpus=1))
    with pytest.raises(bto.BtOptimizeError, match=match):
        call(c)


def test_no_data_is_a_clear_error():
    with pytest.raises(bto.DataError, match="adddata"):
        bto.Cerebro().optimize_grid(SmaCross, fast=[5], progress=False)


def test_resampled_and_pandas_feeds_work():
    c = bto.Cerebro(maxcpus=1)
    c.resampledata(bto.datasets.load("orcl", fromdate="2000-01-01", todate=TO), timeframe=bt.TimeFrame.Weeks)
    st = c.optimize_grid(SmaCross, fast=[4], slow=[12], progress=False)
    ref = bt.Cerebro()
    ref.resampledata(bto.datasets.load("orcl", fromdate="2000-01-01", todate=TO), timeframe=bt.TimeFrame.Weeks)
    ref.addstrategy(SmaCross, fast=4, slow=12)
    ref.addanalyzer(bto.analyzers.Performance, _name="p")
    assert ref.run()[0].analyzers.p.get_analysis()["sharpe_ratio"] == st.best_value
    df = bto.datasets.load_dataframe("nvda").loc["2003":"2004"]
    c = bto.Cerebro(maxcpus=1)
    c.adddata(bt.feeds.PandasData(dataname=df))
    st = c.optimize_grid(SmaCross, fast=[5, 10], slow=[30], progress=False)
    assert st.n_ran == 2


def test_progress_bar_shows_best_so_far(capsys):
    c = _setup(bto.Cerebro(maxcpus=1))
    c.optimize_grid(SmaCross, fast=[5, 10], slow=[30], progress=True)
    err = capsys.readouterr().err
    assert "grid" in err and "best sharpe_ratio=" in err
