"""Limits (``min_trades=``, ``limits=``) and composite scores (``bto.Score``) on real backtests of bundled data."""

from __future__ import annotations

import math
import pickle

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize import AllTrialsFailedError, ObjectiveError, StudyMismatchError, TrialState
from bt_optimize.objectives import Limits, Score
from sample_strategies import RsiMeanReversion
from tests.helpers_strategies import COUNT_ENV, CountingSmaCross, count_backtests

# On ORCL from 2011 to mid-2012 the best Sharpe of this RSI grid is a spike: 2 trades in 18 months.
GRID = dict(period=[10, 14, 21], lower=[30.0, 35.0], upper=[60.0, 70.0])


def _cerebro(maxcpus: int = 2) -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2011-01-01", todate="2012-06-30"))
    cerebro.broker.setcash(100_000)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    return cerebro


@pytest.fixture(scope="module")
def plain_study() -> bto.Study:
    return _cerebro().optimize_grid(RsiMeanReversion, **GRID, progress=False)


def test_min_trades_removes_the_spike_optimum(plain_study):
    spike = plain_study.best_trial
    assert spike.metrics["n_trades"] < 5  # the unconstrained best is a rare-trade spike
    floored = _cerebro().optimize_grid(RsiMeanReversion, **GRID, min_trades=5, progress=False)
    assert floored.best_trial.metrics["n_trades"] >= 5
    assert floored.best_params != spike.params and floored.best_value < spike.value
    rejected = next(t for t in floored.get_trials() if t.params == spike.params)
    assert rejected.state is TrialState.INFEASIBLE and rejected.value is None
    assert rejected.error.startswith("limits: n_trades=") and "(min_trades)" in rejected.error
    assert rejected.user_attrs["limits"] == ["n_trades"]
    assert rejected.user_attrs["value_without_limits"] == pytest.approx(spike.value)
    assert rejected.metrics["n_trades"] == spike.metrics["n_trades"]  # metrics are kept
    # every complete trial meets the floor and every trial below it is infeasible
    df = floored.trials
    assert (df[df.state == "complete"].n_trades >= 5).all()
    assert (df[df.n_trades < 5].state == "infeasible").all()
    # the best is the best of the trials that meet the floor, as computed by hand from the plain study
    ok = plain_study.trials[plain_study.trials.n_trades >= 5]
    assert floored.best_value == pytest.approx(ok.value.max())


def test_caps_and_floors_on_metrics(plain_study):
    st = _cerebro().optimize_grid(RsiMeanReversion, **GRID, progress=False,
                                  limits={"max_drawdown": 0.2, "profit_factor": (1.2, None)})
    plain = plain_study.trials.set_index(["params_period", "params_lower", "params_upper"])
    for t in st.get_trials():
        row = plain.loc[(t.params["period"], t.params["lower"], t.params["upper"])]
        if row.state != "complete":
            continue
        pf = row.profit_factor
        if math.isnan(pf) and row.n_trades > 0 and row.win_rate == 1.0:
            pf = math.inf  # winners and no loser: stored as None, checked as infinite in the worker
        passes = row.max_drawdown <= 0.2 and not math.isnan(pf) and pf >= 1.2
        assert (t.state is TrialState.COMPLETE) == passes, (t.params, t.error)
        if not passes:
            broken = set(t.user_attrs["limits"])
            assert ("max_drawdown" in broken) == (row.max_drawdown > 0.2)
            assert ("profit_factor" in broken) == (math.isnan(pf) or pf < 1.2)


def test_nothing_passes_says_which_limit_removed_how_many(plain_study):
    n_trades = plain_study.trials.n_trades
    with pytest.raises(AllTrialsFailedError) as err:
        _cerebro().optimize_grid(RsiMeanReversion, **GRID, progress=False, min_trades=1000,
                                 limits={"max_drawdown": 0.2})
    msg = str(err.value)
    n_dd = int((plain_study.trials.max_drawdown > 0.2).sum())
    assert f"n_trades >= 1000 removed {len(n_trades)} trials" in msg
    assert f"max_drawdown <= 0.2 removed {n_dd} trial" in msg


def test_limits_are_part_of_the_stored_setup(tmp_path):
    db = tmp_path / "runs.db"
    small = dict(period=[10, 21], lower=[30.0], upper=[60.0])
    _cerebro(1).optimize_grid(RsiMeanReversion, **small, min_trades=1, storage=db, study_name="s", progress=False)
    with pytest.raises(StudyMismatchError, match="limits"):
        _cerebro(1).optimize_grid(RsiMeanReversion, **small, min_trades=2, storage=db, study_name="s",
                                  progress=False)
    again = _cerebro(1).optimize_grid(RsiMeanReversion, **small, min_trades=1, storage=db, study_name="s",
                                      progress=False)
    assert again.n_trials == 2


def test_bayes_learns_from_limit_infeasible_points():
    st = _cerebro().optimize_bayes(RsiMeanReversion, period=bto.Int(5, 30), lower=bto.Real(20.0, 40.0),
                                   upper=(55.0, 80.0), min_trades=5, n_trials=12, batch_size=2, seed=3,
                                   progress=False)
    df = st.trials
    assert (df.state == "infeasible").any() and (df[df.state == "complete"].n_trades >= 5).all()
    assert st.best_trial.metrics["n_trades"] >= 5


def test_composite_score_equals_the_hand_computation():
    score = bto.Score("sharpe_ratio - 0.5 * max_drawdown + trades.pnl.net.total / 100000")
    st = _cerebro().optimize_grid(RsiMeanReversion, period=[10, 14], lower=[30.0], upper=[60.0, 70.0],
                                  objective=score, progress=False)
    n_complete = 0
    for t in st.get_trials((TrialState.COMPLETE,)):
        net = st.analysis(t.number)["trades"]["pnl"]["net"]["total"]
        hand = t.metrics["sharpe_ratio"] - 0.5 * t.metrics["max_drawdown"] + net / 100000
        assert t.value == pytest.approx(hand, rel=1e-12)
        n_complete += 1
    assert n_complete >= 2
    assert st.objective.maximize and st.objective.describe()["objective"] == (
        "score:sharpe_ratio - 0.5 * max_drawdown + trades.pnl.net.total / 100000")
    # the direction is explicit: a minimised score picks the other end
    low = _cerebro().optimize_grid(RsiMeanReversion, period=[10, 14], lower=[30.0], upper=[60.0, 70.0],
                                   objective=bto.Score(score.expression, maximize=False), progress=False)
    assert low.best_value == pytest.approx(min(t.value for t in st.get_trials((TrialState.COMPLETE,))))


@pytest.mark.parametrize("expression, fragment", [
    ("__import__('os').system('true')", "not allowed"),
    ("sharpe_ratio.__class__", "has no keys"),
    ("(lambda: 1)()", "not allowed"),
    ("sharpe_ratio if n_trades else 0", "not allowed"),
    ("sharpe_ratio > 1", "not allowed"),
    ("sharpe_ratio +", "not a valid expression"),
    ("'text'", "only numbers"),
    ("max(sharpe_ratio, key=abs)", "positional"),
    ("sqrt", "is a function"),
    ("open('/etc/passwd')", "not allowed"),
])
def test_bad_expressions_rejected_before_any_backtest(expression, fragment):
    with pytest.raises(ObjectiveError, match="Score") as err:
        Score(expression)
    assert fragment in str(err.value)


def test_unknown_names_and_bad_limits_rejected_before_any_backtest(tmp_path, monkeypatch):
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    cerebro = _cerebro(1)
    space = dict(fast=[5, 10], slow=[30, 60])
    cases = [
        (dict(objective=Score("sharpe_ratio - 0.5 * max_drawdwn")), "Did you mean 'max_drawdown'"),
        (dict(objective=Score("trade.pnl.net.total")), "Did you mean 'trades'"),
        (dict(objective=Score("sharpe_ratio"), maximize=False), "contradicts"),
        (dict(min_trades=0), "min_trades=0"),
        (dict(min_trades=2.5), "whole number"),
        (dict(limits={"max_drawdon": 0.2}), "Did you mean 'max_drawdown'"),
        (dict(limits={"profit_factor": (2.0, 1.0)}), "low bound is above"),
        (dict(limits={"profit_factor": (None, None)}), "bounds nothing"),
        (dict(limits={"sharpe_ratio": "high"}), "a floor for sharpe_ratio"),
        (dict(limits={"n_trades": 3}, min_trades=3), "give one of them"),
        (dict(objective=["sharpe_ratio"]), "2 or 3"),
    ]
    for kwargs, fragment in cases:
        with pytest.raises(ObjectiveError) as err:
            cerebro.optimize_grid(CountingSmaCross, **space, progress=False, **kwargs)
        assert fragment in str(err.value), (kwargs, str(err.value))
    with pytest.raises(ObjectiveError, match="min_trades"):
        cerebro.walk_forward(CountingSmaCross, method="grid", train=200, test=100, min_trades=-1, **space)
    assert count_backtests(counter) == 0


def test_score_pickles_and_limits_parse():
    s = Score("max(sharpe_ratio, 0) * sqrt(n_trades) - abs(total_return) ** 2", maximize=True)
    t = pickle.loads(pickle.dumps(s))
    m = {"sharpe_ratio": 1.5, "n_trades": 16.0, "total_return": -0.1}
    assert t == s and t.value(m) == pytest.approx(1.5 * 4 - 0.01)
    assert s.value({"sharpe_ratio": 1.0, "n_trades": 0.0, "total_return": 0.0}) == 0.0
    assert math.isnan(Score("sharpe_ratio / n_trades").value({"sharpe_ratio": 1.0, "n_trades": 0.0}))
    assert math.isnan(Score("sharpe_ratio").value({"sharpe_ratio": None}))
    lim = Limits.build(limits={"max_drawdown": 0.25, "sharpe_ratio": 0.5, "win_rate": (0.1, 0.9)})
    assert lim.bounds == {"max_drawdown": (None, 0.25), "sharpe_ratio": (0.5, None), "win_rate": (0.1, 0.9)}
    assert lim.breaches({"max_drawdown": 0.1, "sharpe_ratio": 0.7, "win_rate": 0.5}) == []
    assert [n for n, _ in lim.breaches({"max_drawdown": 0.3, "sharpe_ratio": None, "win_rate": 0.95})] == [
        "max_drawdown", "sharpe_ratio", "win_rate"]
    assert Limits.build(limits={"profit_factor": (1.2, None)}).breaches({"profit_factor": math.inf}) == []


def test_walk_forward_limits_filter_each_train_search():
    cerebro = bto.Cerebro(maxcpus=2)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2010-01-01", todate="2012-06-30"))
    cerebro.broker.setcash(100_000)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    wf = cerebro.walk_forward(RsiMeanReversion, method="grid", train=250, test=125, warmup=30, min_trades=3,
                              period=[10, 21], lower=[30.0, 35.0], upper=[60.0], progress=False)
    assert len(wf.studies) >= 2
    n_limited = 0
    for st in wf.studies:
        assert st.objective.limits is not None and st.objective.limits.bounds == {"n_trades": (3.0, None)}
        df = st.trials
        assert (df[df.state == "complete"].n_trades >= 3).all()
        n_limited += int((df.n_trades < 3).sum())
        assert (df[df.n_trades < 3].state == "infeasible").all()
        assert st.best_trial.metrics["n_trades"] >= 3
    assert n_limited >= 1


def test_random_multi_objective_front_is_truly_non_dominated():
    from bt_optimize.stats.pareto import non_dominated

    st = _cerebro().optimize_random(RsiMeanReversion, period=bto.Int(5, 30), lower=bto.Real(20.0, 40.0),
                                    upper=(55.0, 80.0), objective=["sharpe_ratio", "max_drawdown"], n_trials=16,
                                    seed=2, progress=False)
    with pytest.raises(ObjectiveError, match="best_trials"):
        _ = st.best_params
    with pytest.raises(ObjectiveError, match="best_trials"):
        _ = st.best_value
    front = st.best_trials
    done = [t for t in st.get_trials((TrialState.COMPLETE,))]
    assert 1 <= len(front) <= len(done)
    df = st.trials
    assert {"values_0", "values_1"} <= set(df.columns)
    for t in done:  # the recorded values are the metrics, in order
        assert t.user_attrs["values"] == pytest.approx([t.metrics["sharpe_ratio"], t.metrics["max_drawdown"]])
    on_front = {t.number for t in front}
    for t in done:
        a = t.user_attrs["values"]
        dominated = any(o.user_attrs["values"][0] >= a[0] and o.user_attrs["values"][1] <= a[1]
                        and (o.user_attrs["values"][0] > a[0] or o.user_attrs["values"][1] < a[1]) for o in done)
        assert (t.number in on_front) == (not dominated), t.number
    mask = non_dominated([t.user_attrs["values"] for t in done], [True, False])
    assert {t.number for t, m in zip(done, mask) if m} == on_front
    strat = st.run_best(**front[0].params)
    assert strat.bto_result["user_attrs"]["values"] == pytest.approx(front[0].user_attrs["values"])


def test_importances_rank_an_ignored_parameter_last(tmp_path):
    from tests.helpers_objectives import RsiIgnoring

    cerebro = bto.Cerebro(maxcpus=2)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2006-01-01", todate="2011-12-31"))
    cerebro.broker.setcash(100_000)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    st = cerebro.optimize_random(RsiIgnoring, period=bto.Int(4, 30), lower=bto.Real(15.0, 40.0),
                                 unused=bto.Int(0, 100), n_trials=40, seed=1, progress=False)
    imp = st.importances()
    assert set(imp.index) == {"period", "lower", "unused"} and imp.sum() == pytest.approx(1.0)
    assert (imp >= 0).all() and imp.index[-1] == "unused"
    assert imp["unused"] < 0.2 * min(imp["period"], imp["lower"])
    fig = st.plot_importances(str(tmp_path / "imp.png"))
    assert fig is not None and (tmp_path / "imp.png").stat().st_size > 0
    few = cerebro.optimize_grid(RsiIgnoring, period=[10, 14], lower=[30.0], progress=False)
    with pytest.raises(bto.SpaceError, match="at least"):
        few.importances()
