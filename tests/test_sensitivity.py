"""cerebro.sensitivity on real ORCL backtests: sweeps, interaction grid, report, plots, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

import bt_optimize as bto
from bt_optimize.exceptions import DataError, ObjectiveError, SpaceError
from bt_optimize.plotting import plot_interaction, plot_sensitivity
from bt_optimize.robustness import SensitivityResult
from sample_strategies import SmaCross

BASE = {"fast": 10, "slow": 30, "ma": "sma"}
PNG = b"\x89PNG\r\n\x1a\n"


def make_cerebro(maxcpus: int = 2) -> bto.Cerebro:
    cerebro = bto.Cerebro(stdstats=False, maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2003-01-01", todate="2004-12-31"))
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    return cerebro


def sweep(cerebro: bto.Cerebro, seed: int = 0) -> SensitivityResult:
    return cerebro.sensitivity(SmaCross, BASE, n_points=7, perturbation=0.5, interactions=[("fast", "slow")],
                               interaction_points=4, objective="total_return", n_bootstrap=50, seed=seed)


@pytest.fixture(scope="module")
def sens() -> SensitivityResult:
    return sweep(make_cerebro())


def plain_value(params: dict[str, Any]) -> float:
    """The objective of one ordinary backtrader run, for comparison."""
    cerebro = make_cerebro(maxcpus=1)
    cerebro.addstrategy(SmaCross, **params)
    cerebro.addanalyzer(bto.analyzers.Performance, _name="perf")
    return cerebro.run()[0].analyzers.perf.get_analysis()["total_return"]


def test_sweeps_hold_the_objective_of_each_point(sens: SensitivityResult) -> None:
    assert set(sens.results) == {"fast", "slow"}  # the string parameter is held, not swept
    fast, slow = sens.results["fast"], sens.results["slow"]
    assert fast["values"] == [5, 7, 8, 10, 12, 13, 15] and slow["values"] == [15, 20, 25, 30, 35, 40, 45]
    assert fast["base"] == 10 and slow["base"] == 30
    assert sens.base_value == pytest.approx(plain_value(BASE))
    assert fast["base_value"] == slow["base_value"] == sens.base_value
    assert fast["objective"][0] == pytest.approx(plain_value({**BASE, "fast": 5}))
    assert slow["objective"][-1] == pytest.approx(plain_value({**BASE, "slow": 45}))
    for r in sens.results.values():
        assert 0.0 <= r["score"] <= 1.0 and r["class"] in ("robust", "moderate", "sensitive")
        assert r["ci"][0] <= r["ci"][1]
        assert r["max_gradient"] > 0 and r["max_curvature"] > 0 and r["variance"] > 0
    # fast=15, slow=15 is skipped by the strategy (fast >= slow): it is a missing cell of the grid, not a failure
    grid = sens.interactions[("fast", "slow")]
    assert grid["values_a"] == [5, 8, 10, 12, 15] and grid["values_b"] == [15, 25, 30, 35, 45]
    assert grid["matrix"][-1][0] is None and grid["n_missing"] == 1
    assert grid["matrix"][2][2] == pytest.approx(sens.base_value)
    assert grid["matrix"][0][4] == pytest.approx(plain_value({**BASE, "fast": 5, "slow": 45}))
    assert 0.0 <= grid["strength"] <= 1.0 and isinstance(grid["has_interaction"], bool)
    # 7 + 7 sweep points and a 5 x 5 grid share the base and their crossing points
    assert sens.n_backtests == len({(10, 30)} | {(f, 30) for f in fast["values"]} | {(10, s) for s in slow["values"]}
                                   | {(f, s) for f in grid["values_a"] for s in grid["values_b"]})


def test_reproducible_and_independent_of_the_executor(sens: SensitivityResult) -> None:
    serial = sweep(make_cerebro(maxcpus=1))
    assert serial.to_dict() == sens.to_dict()
    reseeded = sweep(make_cerebro(), seed=1)
    assert reseeded.results["fast"]["objective"] == sens.results["fast"]["objective"]
    assert reseeded.results["fast"]["score"] == sens.results["fast"]["score"]
    assert reseeded.results["fast"]["ci"] != sens.results["fast"]["ci"]  # only the bootstrap draws differ


def test_report_renders(sens: SensitivityResult) -> None:
    text = sens.report()
    for heading in ("# Parameter sensitivity of SmaCross", "## Summary", "## Robustness assessment",
                    "## Recommendations", "## Overfitting indicators", "## What the numbers assume"):
        assert heading in text
    assert "| fast | 10 | 5 to 15 |" in text and "| slow | 30 | 15 to 45 |" in text
    assert "| fast x slow |" in text
    assert f"Overall: **{sens.overall_class}**" in text
    json.loads(json.dumps(sens.to_dict(), allow_nan=False))


def test_plots_render_to_files(sens: SensitivityResult, tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    fig = sens.plot("fast", path=str(tmp_path / "fast.png"))
    assert isinstance(fig, Figure) and (tmp_path / "fast.png").read_bytes()[:8] == PNG
    heat = sens.plot_interaction("fast", "slow", path=str(tmp_path / "grid.png"))
    assert (tmp_path / "grid.png").read_bytes()[:8] == PNG
    assert heat.axes[0].get_xlabel() == "slow" and heat.axes[0].get_ylabel() == "fast"
    # the reversed pair and a stored (JSON) result plot as well
    stored = json.loads(json.dumps(sens.to_dict()))
    flipped = plot_interaction(stored, "slow", "fast", path=str(tmp_path / "flipped.svg"))
    assert flipped.axes[0].get_xlabel() == "fast"
    plot_sensitivity(stored, "slow", path=str(tmp_path / "slow.png"))
    assert (tmp_path / "slow.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="swept parameters: fast, slow"):
        sens.plot("ma")
    with pytest.raises(ValueError, match=r"grids run: \(fast, slow\)"):
        sens.plot_interaction("fast", "ma")


def test_ranges_steps_and_fixed_parameters() -> None:
    result = make_cerebro().sensitivity(SmaCross, {"slow": 30, "stop": 0.0}, n_points=9, interactions=None,
                                        ranges={"slow": bto.Int(20, 40, step=5), "stop": (0.0, 0.1)},
                                        n_bootstrap=0, objective="max_drawdown", fast=5)
    assert result.results["slow"]["values"] == [20, 25, 30, 35, 40]
    assert result.results["stop"]["values"][0] == 0.0 and result.results["stop"]["values"][-1] == pytest.approx(0.1)
    assert result.base_params == {"fast": 5, "slow": 30, "stop": 0.0} and not result.maximize
    assert result.results["slow"]["ci"] == [None, None]
    assert "lower is better" in result.report()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (dict(base_params={"fastt": 10}), SpaceError, "did you mean 'fast'"),
        (dict(base_params={}), SpaceError, "pass the parameters to examine"),
        (dict(n_points=2), SpaceError, "n_points=2"),
        (dict(perturbation=1.5), SpaceError, "perturbation=1.5"),
        (dict(interactions=[("fast", "ma")]), SpaceError, "'ma' is not a swept parameter"),
        (dict(interactions=[("fast", "fast")]), SpaceError, "with itself"),
        (dict(interactions=["fast"]), SpaceError, "is not a pair"),
        (dict(base_params={"fast": 10, "stop": 0.0}), SpaceError, "its base is 0"),
        (dict(ranges={"slow": (40, 20)}), SpaceError, "low must be smaller"),
        (dict(params=["ma"]), SpaceError, "not a number"),
        (dict(base_params={"ma": "ema"}), SpaceError, "no numeric parameter"),
        (dict(objective="sharpe"), ObjectiveError, "Did you mean 'sharpe_ratio'"),
        (dict(n_bootstrap=-1), SpaceError, "n_bootstrap"),
        (dict(slow=40), SpaceError, "given both in base_params and as fixed keywords"),
        (dict(strategy=object), SpaceError, "pass a backtrader Strategy class"),
    ],
)
def test_arguments_are_checked_before_any_backtest(call: dict[str, Any], error: type, match: str) -> None:
    cerebro = bto.Cerebro()  # no data: anything that got as far as running would raise DataError instead
    kwargs: dict[str, Any] = {"strategy": SmaCross, "base_params": BASE, **call}
    with pytest.raises(error, match=match):
        cerebro.sensitivity(**kwargs)
    with pytest.raises(DataError):
        cerebro.sensitivity(SmaCross, BASE, n_points=3)
