"""Walk-forward: window generation, no look-ahead, warmup, stitching, diagnostics, resume after ``kill -9``.

Real backtests on the bundled ORCL data; real worker processes (``maxcpus=2``); a real SQLite file and a real
``kill -9`` for resume.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

import bt_optimize as bto
from bt_optimize import DataError, ObjectiveError, SpaceError, StudyMismatchError
from bt_optimize.walkforward import (
    CV_THRESHOLD,
    WalkForwardWindow,
    check_windows,
    make_windows,
    parameter_stability,
    stitch_equity,
    verdict,
    walk_forward_efficiency,
)
from sample_strategies import SmaCross
from tests.helpers_processes import kill_9_after
from tests.helpers_strategies import COUNT_ENV, CountingSmaCross, SmaTrend, count_backtests

REPO = Path(__file__).resolve().parents[1]
GRID = dict(fast=[5, 10, 20], slow=[30, 60])
N_GRID = 6
SIZES = dict(train=250, validation=60, test=120, warmup=60)  # 2001-2004 ORCL: 5 windows (the 6th is too short)


def _cerebro(feed: bt.feeds.DataBase | None = None, maxcpus: int = 2) -> bto.Cerebro:
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(feed if feed is not None else bto.datasets.load("orcl", fromdate="2001-01-01",
                                                                    todate="2004-12-31"))
    cerebro.broker.setcash(100_000)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    return cerebro


def _orcl_frame() -> pd.DataFrame:
    return bto.datasets.load_dataframe("orcl").loc["2001-01-01":"2004-12-31"].copy()


def _run_frame(frame: pd.DataFrame) -> bto.WalkForward:
    cerebro = _cerebro(bt.feeds.PandasData(dataname=frame))
    return cerebro.walk_forward(SmaCross, method="grid", progress=False, **SIZES, **GRID)


@pytest.fixture(scope="module")
def clean_frame() -> pd.DataFrame:
    return _orcl_frame()


@pytest.fixture(scope="module")
def clean_wf(clean_frame: pd.DataFrame) -> bto.WalkForward:
    return _run_frame(clean_frame)


# ------------------------------------------------------------------------------------------- window generation
def _spans(ws: list[WalkForwardWindow]) -> list[tuple[int, ...]]:
    return [(w.train_start, w.train_end, w.validation_end, w.test_end) for w in ws]


def test_rolling_windows_in_bars_without_validation() -> None:
    ws = make_windows(1000, train=400, test=200)
    assert _spans(ws) == [(0, 400, 400, 600), (200, 600, 600, 800), (400, 800, 800, 1000)]
    assert not any(w.has_validation or w.partial for w in ws)
    assert ws[0].validation is None and ws[0].test == bto.Window(400, 600, 0)


def test_rolling_windows_with_validation_and_warmup() -> None:
    ws = make_windows(1000, train=300, validation=100, test=150, warmup=50)
    # train starts after the warmup, so even the first stretch has 50 bars of history
    assert _spans(ws) == [(50, 350, 450, 600), (200, 500, 600, 750), (350, 650, 750, 900), (500, 800, 900, 1000)]
    assert ws[-1].partial and not any(w.partial for w in ws[:-1])  # 100 of 150 bars >= min_last_test 0.5
    w = ws[1]
    assert (w.validation_start, w.test_start) == (w.train_end, w.validation_end)
    assert w.train == bto.Window(200, 500, 50) and w.validation == bto.Window(500, 600, 50)
    assert w.test == bto.Window(600, 750, 50)


def test_anchored_windows_expand_from_the_first_bar() -> None:
    ws = make_windows(1000, train=300, validation=100, test=150, warmup=50, anchored=True, min_last_test=1.0)
    assert [w.train_start for w in ws] == [50, 50, 50]
    assert [w.train_end for w in ws] == [350, 500, 650]
    assert [w.test_end for w in ws] == [600, 750, 900]


def test_last_partial_window_is_kept_or_dropped_by_min_last_test() -> None:
    assert [w.test_end for w in make_windows(1000, train=500, test=200, min_last_test=0.5)] == [700, 900, 1000]
    assert [w.test_end for w in make_windows(1000, train=500, test=200, min_last_test=0.51)] == [700, 900]
    assert make_windows(1000, train=500, test=200, min_last_test=0.0)[-1].partial


def test_offset_windows_follow_the_calendar() -> None:
    dates = pd.bdate_range("2000-01-03", "2005-12-30")
    ws = make_windows(dates, train="2Y", validation="6M", test="1Y", warmup=20)
    t0 = dates[20]
    for i, w in enumerate(ws):
        def first_at_or_after(t: pd.Timestamp) -> int:
            return int(dates.searchsorted(t))

        assert w.train_start == first_at_or_after(t0 + pd.DateOffset(months=12 * i))
        assert w.train_end == first_at_or_after(t0 + pd.DateOffset(months=12 * i + 24))
        assert w.validation_end == first_at_or_after(t0 + pd.DateOffset(months=12 * i + 30))
        assert w.test_end == first_at_or_after(t0 + pd.DateOffset(months=12 * i + 42))
    # the data ends on 2005-12-30: a fourth test year (from 2005-07-31) holds 5 of its 12 months
    assert len(ws) == 3 and not ws[-1].partial
    more = make_windows(dates, train="2Y", validation="6M", test="1Y", warmup=20, min_last_test=0.4)
    assert more[:3] == ws and more[3].partial and more[3].test_end == len(dates)
    # other spellings of the same sizes give the same windows; a DateOffset works too
    same = make_windows(dates, train="24M", validation=pd.DateOffset(months=6), test="12M", step="1Y", warmup=20)
    assert same == ws
    days = make_windows(dates, train="700D", test="52W")
    assert days[1].test_start == days[0].test_end


def test_too_short_data_says_how_much_is_needed() -> None:
    with pytest.raises(DataError, match=r"needs at least 660 bars .*the data has 600 bars"):
        make_windows(600, train=400, validation=100, test=200, warmup=60)
    dates = pd.bdate_range("2000-01-03", "2001-06-29")
    with pytest.raises(DataError, match=r"through about 2001-07-0\d .*train .1Y. \+ 50% of test .1Y.*to 2001-06-29"):
        make_windows(dates, train="1Y", test="1Y")


def test_window_arguments_are_checked() -> None:
    overlapping = make_windows(1000, train=300, test=100, step=50)  # test stretches overlap by half
    assert [(w.test_start, w.test_end) for w in overlapping[:3]] == [(300, 400), (350, 450), (400, 500)]
    gapped = make_windows(1000, train=300, test=100, step=150)  # 50 untraded bars between test stretches
    assert [(w.train_start, w.test_start, w.test_end) for w in gapped[:2]] == [(0, 300, 400), (150, 450, 550)]
    with pytest.raises(DataError, match="does not start after"):
        check_windows([WalkForwardWindow(0, 0, 100, 100, 100, 100, 200),
                       WalkForwardWindow(1, 0, 100, 100, 100, 100, 200)], contiguous=False)
    with pytest.raises(DataError, match=r"every size .* in bars.*got train=300 bars, test=.6M."):
        make_windows(pd.bdate_range("2000-01-03", periods=1000), train=300, test="6M")
    with pytest.raises(DataError, match="ambiguous"):
        make_windows(pd.bdate_range("2000-01-03", periods=1000), train="6m", test="1M")
    with pytest.raises(DataError, match="holds no bar"):
        make_windows(pd.bdate_range("2000-01-03", periods=1000), train="1Y", test="1h")
    with pytest.raises(DataError, match="need the bar times"):
        make_windows(1000, train="1Y", test="1M")
    with pytest.raises(DataError, match="positive"):
        make_windows(1000, train=0, test=100)


def test_windows_are_validated_at_construction() -> None:
    with pytest.raises(DataError, match="train < validation < test"):
        WalkForwardWindow(0, 0, 100, 90, 120, 120, 200)  # validation overlaps train
    with pytest.raises(DataError, match="train < validation < test"):
        WalkForwardWindow(0, 0, 100, 100, 100, 110, 200)  # a gap before test
    a = WalkForwardWindow(0, 0, 100, 100, 100, 100, 200)
    with pytest.raises(DataError, match="overlaps"):
        check_windows([a, WalkForwardWindow(1, 50, 150, 150, 150, 150, 250)])
    with pytest.raises(DataError, match="leaves a gap"):
        check_windows([a, WalkForwardWindow(1, 150, 250, 250, 250, 250, 350)])
    with pytest.raises(DataError, match="partial but is not the last"):
        check_windows([WalkForwardWindow(0, 0, 100, 100, 100, 100, 200, partial=True),
                       WalkForwardWindow(1, 100, 200, 200, 200, 200, 300)])
    check_windows([a, WalkForwardWindow(1, 100, 200, 200, 200, 200, 300)], n_bars=300)


# ------------------------------------------------------------------------------------------- pure diagnostics
def test_stability_and_efficiency_on_a_hand_checkable_case() -> None:
    picks = [{"fast": 10, "slow": 50, "ma": "sma"}, {"fast": 20, "slow": 50, "ma": "sma"},
             {"fast": 30, "slow": 50, "ma": "ema"}, {"fast": 100, "slow": 50, "ma": "wma"}]
    df = parameter_stability(picks).set_index("param")
    # fast: mean 40, population std sqrt(((30^2 + 20^2 + 10^2 + 60^2) / 4)) = sqrt(1250), cv = 0.8839
    assert df.loc["fast", "kind"] == "numeric"
    assert df.loc["fast", "mean"] == pytest.approx(40.0)
    assert df.loc["fast", "std"] == pytest.approx(math.sqrt(1250.0))
    assert df.loc["fast", "cv"] == pytest.approx(math.sqrt(1250.0) / 40.0)
    assert bool(df.loc["fast", "unstable"]) is True  # 0.88 > CV_THRESHOLD
    assert df.loc["slow", "cv"] == 0.0 and df.loc["slow", "mode_share"] == 1.0 and not df.loc["slow", "unstable"]
    assert df.loc["ma", "kind"] == "categorical"
    assert df.loc["ma", "mode"] == "sma" and df.loc["ma", "mode_share"] == 0.5
    assert not df.loc["ma", "unstable"]  # 0.5 is not below MODE_SHARE_THRESHOLD
    assert CV_THRESHOLD == 0.5
    assert bool(parameter_stability(picks[1:]).set_index("param").loc["ma", "unstable"]) is True  # 1/3 < 0.5

    # efficiency = mean OOS / mean IS: (0.05 + 0.10 + 0.00) / 3 over (0.20 + 0.10 + 0.30) / 3 = 0.25
    assert walk_forward_efficiency([0.20, 0.10, 0.30], [0.05, 0.10, 0.00]) == pytest.approx(0.25)
    assert walk_forward_efficiency([0.20, None, 0.30], [0.05, 0.50, float("nan")]) == pytest.approx(0.25)
    assert math.isnan(walk_forward_efficiency([-0.1, 0.05], [0.1, 0.1]))  # IS not positive: undefined
    assert walk_forward_efficiency([0.10, 0.20], [0.20, 0.40], maximize=False) == pytest.approx(0.5)  # drawdowns

    text = verdict(n_windows=4, oos_total_return=0.12, efficiency=0.25, profitable_windows=3, unstable=["fast"])
    assert text.startswith("Degrades out of sample") and "3 of 4" in text and "fast" in text
    assert verdict(n_windows=2, oos_total_return=-0.1, efficiency=0.9, profitable_windows=0,
                   unstable=[]).startswith("Only 2 windows")


def test_stitching_carries_the_capital_over() -> None:
    curves = [([["2020-01-01", 100.0], ["2020-01-02", 120.0]], 100.0),
              ([["2020-01-03", 45.0], ["2020-01-06", 60.0]], 50.0)]
    eq, factors = stitch_equity(curves)
    assert factors == [1.0, 120.0 / 50.0]
    assert list(eq.round(9)) == [100.0, 120.0, 108.0, 144.0]  # window 2: -10 % then +33 %, on 120
    with pytest.raises(ValueError, match="overlap"):
        stitch_equity([curves[0], ([["2020-01-02", 50.0]], 50.0)])


# ------------------------------------------------------------------------------------------- real walk-forwards
def test_poisoned_future_changes_nothing_up_to_the_poison(clean_frame: pd.DataFrame, clean_wf: bto.WalkForward
                                                          ) -> None:
    k = 2
    cut = clean_wf.definitions[k].test_end  # first bar after window k's test stretch
    assert cut < len(clean_frame) and len(clean_wf.definitions) > k + 1
    poisoned = clean_frame.copy()
    rng = np.random.default_rng(7)
    n = len(poisoned) - cut
    walk = float(poisoned["close"].iloc[cut - 1]) * np.exp(np.cumsum(rng.normal(0.0, 0.05, n)))
    poisoned.iloc[cut:, poisoned.columns.get_loc("close")] = walk
    poisoned.iloc[cut:, poisoned.columns.get_loc("open")] = walk * np.exp(rng.normal(0.0, 0.02, n))
    poisoned.iloc[cut:, poisoned.columns.get_loc("high")] = walk * 1.05
    poisoned.iloc[cut:, poisoned.columns.get_loc("low")] = walk * 0.95
    poisoned.iloc[cut:, poisoned.columns.get_loc("volume")] = rng.integers(1, 10**6, n)

    bad = _run_frame(poisoned)
    assert len(bad.windows) == len(clean_wf.windows)
    # windows 0..k: same chosen params, same IS, validation and OOS results, same OOS equity and trades
    pd.testing.assert_frame_equal(bad.windows.iloc[:k + 1], clean_wf.windows.iloc[:k + 1])
    end = clean_wf.windows.loc[k, "test_end"]
    pd.testing.assert_series_equal(bad.oos_equity.loc[:end], clean_wf.oos_equity.loc[:end])
    pd.testing.assert_frame_equal(bad.oos_trades[bad.oos_trades["window"] <= k].reset_index(drop=True),
                                  clean_wf.oos_trades[clean_wf.oos_trades["window"] <= k].reset_index(drop=True))
    # the poison is really there: the next window sees it
    later = ["is_value", "oos_value", "oos_total_return"]
    assert not np.allclose(bad.windows.loc[k + 1, later].to_numpy(dtype=float),
                           clean_wf.windows.loc[k + 1, later].to_numpy(dtype=float), equal_nan=True)


def test_stitched_equity_is_continuous_and_matches_each_window(clean_frame: pd.DataFrame, clean_wf: bto.WalkForward,
                                                               tmp_path: Path) -> None:
    wf = clean_wf
    defs = wf.definitions
    # exactly the test bars, back to back, each once
    want = clean_frame.index[defs[0].test_start:defs[-1].test_end]
    assert list(wf.oos_equity.index) == list(want)
    capital = 100_000.0
    for i, study in enumerate(wf.test_studies):
        t = study.get_trials()[0]
        raw = np.array([v for _, v in t.metrics["equity"]])
        assert t.metrics["start_value"] == 100_000.0
        part = wf.oos_equity.iloc[defs[i].test_start - defs[0].test_start:defs[i].test_end - defs[0].test_start]
        np.testing.assert_allclose(part.to_numpy(), raw * capital / 100_000.0, rtol=1e-12)
        assert part.iloc[-1] / capital - 1 == pytest.approx(wf.windows.loc[i, "oos_total_return"], rel=1e-9)
        capital = float(part.iloc[-1])
    total = np.prod(1 + wf.windows["oos_total_return"].to_numpy()) - 1
    assert wf.summary["oos_metrics"]["total_return"] == pytest.approx(total, rel=1e-9)
    assert wf.oos_equity.iloc[-1] == pytest.approx(100_000.0 * (1 + total), rel=1e-9)
    # trades: scaled P&L, return unaffected; their count matches the windows'
    assert len(wf.oos_trades) == wf.windows["oos_n_trades"].sum() == wf.summary["oos_metrics"]["n_trades"]
    # the rest of the summary hangs together
    s = wf.summary
    assert s["n_windows"] == len(wf.windows) == 5 and s["select"] == "validation"
    assert set(s["stability"]["param"]) == {"fast", "slow"}
    assert s["efficiency"]["annual_return"] == pytest.approx(walk_forward_efficiency(
        wf.windows["is_annual_return"], wf.windows["oos_annual_return"]), nan_ok=True)
    assert isinstance(s["verdict"], str) and "test windows were profitable" in s["verdict"]
    assert wf.buy_and_hold.iloc[0] == 100_000.0 and wf.buy_and_hold.index.equals(wf.oos_equity.index)
    fig = wf.plot(str(tmp_path / "wf.png"))
    assert (tmp_path / "wf.png").stat().st_size > 10_000 and len(fig.axes) == 3


def test_warmup_primes_indicators_so_the_strategy_trades_from_the_first_test_bar() -> None:
    # a 200-bar SMA strategy that is always long or short once its average exists
    primed = _cerebro().walk_forward(SmaTrend, method="grid", period=[200], train=300, test=100, warmup=200,
                                     progress=False)
    assert len(primed.windows) >= 3
    for w, study in zip(primed.definitions, primed.test_studies):
        eq = [v for _, v in study.get_trials()[0].metrics["equity"]]
        assert len(eq) == w.test_end - w.test_start
        assert eq[0] == 100_000.0  # the order placed on the first test bar fills at the second bar's open
        assert eq[1] != 100_000.0, f"window {w.index}: no position on the second bar of the test stretch"
    # without warmup the average needs 200 bars of the test stretch itself: nothing trades before its 200th bar
    # (the test stretches are longer here: backtrader's runonce mode fails on a stretch shorter than the average)
    cold = _cerebro().walk_forward(SmaTrend, method="grid", period=[200], train=300, test=250, warmup=0,
                                   progress=False)
    for study in cold.test_studies:
        eq = [v for _, v in study.get_trials()[0].metrics["equity"]]
        first_move = next(k for k, v in enumerate(eq) if v != 100_000.0)
        assert first_move == 200  # order on the 200th bar (index 199), filled at the next open


@pytest.mark.parametrize("method, options", [
    ("random", dict(n_trials=4, seed=1)),
    ("bayes", dict(n_trials=5, batch_size=2, n_initial_points=4, seed=1)),
    ("genetic", dict(population_size=4, generations=2, seed=1)),
])
def test_any_optimize_method_plugs_in(method: str, options: dict) -> None:
    cerebro = _cerebro(bto.datasets.load("orcl", fromdate="2001-01-01", todate="2003-12-31"))
    wf = cerebro.walk_forward(SmaCross, method=method, fast=bto.Int(5, 30), slow=bto.Int(40, 100, step=10),
                              train=300, validation=60, test=150, warmup=100, anchored=True, progress=False,
                              **options)
    assert len(wf.windows) == 2 and wf.studies[0].method == method
    assert all(s.window == w.train for s, w in zip(wf.studies, wf.definitions))
    assert wf.windows["oos_value"].notna().all() and wf.windows["params_fast"].notna().all()


def test_arguments_are_checked_before_any_backtest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    c = _cerebro(maxcpus=1)
    ok = dict(train=250, test=120, progress=False, fast=[5, 10], slow=[30, 60])
    with pytest.raises(SpaceError, match="'grid'.*'random'"):
        c.walk_forward(CountingSmaCross, method="annealing", **ok)
    with pytest.raises(SpaceError, match="needs a validation stretch"):
        c.walk_forward(CountingSmaCross, method="grid", select="validation", **ok)
    with pytest.raises(SpaceError, match="not an option of optimize_grid .*optimize_random"):
        c.walk_forward(CountingSmaCross, method="grid", n_trials=10, **ok)
    with pytest.raises(SpaceError, match="window= is set by walk_forward"):
        c.walk_forward(CountingSmaCross, method="grid", window=bto.Window(0, 100), **ok)
    with pytest.raises(SpaceError, match="did you mean 'fast'"):
        c.walk_forward(CountingSmaCross, method="grid", fsat=[5], train=250, test=120)
    with pytest.raises(SpaceError, match="train= is required"):
        c.walk_forward(CountingSmaCross, method="grid", test=120, fast=[5])
    with pytest.raises(ObjectiveError, match="sharpe_ratio"):
        c.walk_forward(CountingSmaCross, method="grid", objective="sharpe_ration", **ok)
    with pytest.raises(DataError, match="needs at least 5235 bars"):
        c.walk_forward(CountingSmaCross, method="grid", warmup=100, **{**ok, "train": 5000, "test": 270})
    assert count_backtests(counter) == 0


# ------------------------------------------------------------------------------------------- resume after kill -9
KILL_SCRIPT = """
import sys

import backtrader as bt
import bt_optimize as bto
from tests.helpers_processes import kill_9_after
from tests.helpers_strategies import CountingSmaCross

cerebro = bto.Cerebro(maxcpus=2)
cerebro.adddata(bto.datasets.load("orcl", fromdate="2001-01-01", todate="2004-12-31"))
cerebro.broker.setcash(100_000)
cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
wf = cerebro.walk_forward(CountingSmaCross, method="grid", fast=[5, 10, 20], slow=[30, 60], train=250,
                          validation=60, test=120, warmup=60, storage=sys.argv[1], study_name="wf", progress=False)
print("finished", len(wf.windows), flush=True)
"""
ROWS_PER_WINDOW = N_GRID + 5 + 1  # the grid, the top 5 on validation, the pick on test
KILL_AFTER_ROWS = ROWS_PER_WINDOW + 4  # inside window 1's search


def _rows(db: Path) -> dict[tuple[str, int], tuple[str, float | None, str]]:
    """(study name, number) -> (params key, value, state) of every stored trial."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute("SELECT s.name, t.number, t.params, t.value, t.state FROM trials t JOIN studies s "
                           "ON s.id = t.study_id").fetchall()
    finally:
        con.close()
    return {(s, int(n)): (json.dumps(json.loads(p), sort_keys=True), v, st) for s, n, p, v, st in rows}


def _study_order(name: str) -> tuple[int, int]:
    parts = name.split("/")
    return int(parts[1][1:]), {"validation": 1, "test": 2}.get(parts[2], 0) if len(parts) > 2 else 0


@pytest.mark.slow
def test_resume_after_kill_9(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "wf.db"
    script = tmp_path / "wf.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop(COUNT_ENV, None)
    proc = subprocess.Popen([sys.executable, str(script), str(db)], cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kill_9_after(proc, db, KILL_AFTER_ROWS, "the walk-forward")  # the main process and its workers, mid-window

    before = _rows(db)
    n_windows = 5
    assert KILL_AFTER_ROWS <= len(before) < n_windows * ROWS_PER_WINDOW

    # resume in this process; every backtest it runs is counted
    counter = tmp_path / "count.txt"
    monkeypatch.setenv(COUNT_ENV, str(counter))
    resumed = _cerebro().walk_forward(CountingSmaCross, method="grid", storage=db, study_name="wf", progress=False,
                                      **SIZES, **GRID)
    monkeypatch.delenv(COUNT_ENV)
    after = _rows(db)
    assert len(after) == n_windows * ROWS_PER_WINDOW
    assert {k: after[k] for k in before} == before, "a stored trial changed"
    new = {k: v for k, v in after.items() if k not in before}
    assert count_backtests(counter) == len(new), "a stored trial ran again"
    # windows run side by side: no study that had all its trials before the kill got a new one
    full = {0: N_GRID, 1: 5, 2: 1}  # rows of a window's search, validation and test studies
    done = {s for s in {s for s, _ in before}
            if sum(1 for k in before if k[0] == s) == full[_study_order(s)[1]]}
    assert not any(s in done for s, _ in new), "a finished study ran again"
    for study in {s for s, _ in after}:
        params = [p for (s, _), (p, _, _) in after.items() if s == study]
        assert len(params) == len(set(params)), f"{study}: a point ran twice"

    # the same final table as an uninterrupted run
    fresh = _cerebro().walk_forward(CountingSmaCross, method="grid", progress=False, **SIZES, **GRID)
    pd.testing.assert_frame_equal(resumed.windows, fresh.windows)
    pd.testing.assert_series_equal(resumed.oos_equity, fresh.oos_equity)

    # a stored walk-forward with other windows is refused before any backtest
    with pytest.raises(StudyMismatchError, match="already exists with a different set-up"):
        _cerebro().walk_forward(CountingSmaCross, method="grid", storage=db, study_name="wf", progress=False,
                                **{**SIZES, "train": 260}, **GRID)
