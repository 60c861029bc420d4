"""The walk-forward result: one row per window, the stitched out-of-sample curve and trades, the summary.

:func:`assemble` turns each window's outcome (its train search, validation and test studies and the pick) into
the frozen :class:`WalkForward`. Stitching rules (capital carried over; overlapping and gapped test stretches) are
in :mod:`bt_optimize.walkforward`; the statistics are the pure functions of :mod:`bt_optimize.stats.walkforward`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from ..objective import Objective
from ..robustness.overfitting import WalkForwardOverfitting, walk_forward_studies_overfitting
from ..stats.metrics import compute_metrics, periods_per_year
from ..stats.walkforward import parameter_stability, stitch_equity, verdict, walk_forward_efficiency
from ..study import Study
from ..trial import Trial
from .windows import WalkForwardWindow

__all__ = ["WalkForward", "WindowOutcome", "assemble"]


@dataclass(frozen=True)
class WindowOutcome:
    """What one window produced.

    Attributes:
        window: The window.
        train: The train search.
        validation: The validation study (``None`` when no candidate ran on validation).
        test: The test study (one trial, with ``equity`` and ``trades`` in its metrics).
        pick: The chosen train trial.
        validation_value: The pick's validation value (``nan`` when it has none).
    """

    window: WalkForwardWindow
    train: Study
    validation: Study | None
    test: Study
    pick: Trial
    validation_value: float


@dataclass(frozen=True, eq=False)
class WalkForward:
    """The result of :meth:`bt_optimize.Cerebro.walk_forward`.

    Attributes:
        windows: One row per window: ``window``, ``partial``, the ``train``/``validation``/``test`` ``_start`` and
            ``_end`` (times of each stretch's first and last bar; validation ``NaT`` when there is none),
            ``n_trials`` of the train search, ``params_<name>`` of the pick, ``is_value`` (objective on train),
            ``validation_value``, ``oos_value`` (objective on test), ``is_annual_return``, ``oos_annual_return``,
            ``oos_total_return``, ``oos_max_drawdown``, ``oos_n_trades``, ``degradation`` (``oos_value -
            is_value``) and ``efficiency`` (``oos_annual_return / is_annual_return``, ``NaN`` unless the latter
            is positive).
        oos_equity: The stitched out-of-sample equity curve (capital carried over; see :mod:`bt_optimize.walkforward`).
        oos_trades: The out-of-sample closed trades: ``window``, ``open``, ``barlen``, ``pnl``, ``pnlcomm`` (both
            scaled like the equity), ``return`` (P&L over the account value before the trade opened).
        buy_and_hold: The first feed's close over the OOS bars, scaled to start at the same capital.
        summary: ``oos_metrics`` (the built-in metrics of the stitched curve and trades), ``efficiency``
            (``annual_return`` and ``objective``, see :func:`.walk_forward_efficiency`), ``is_annual_return`` and
            ``oos_annual_return`` (means over windows), ``stability`` (see :func:`.parameter_stability`),
            ``unstable_params``, ``degradation`` (per window IS vs OOS objective), ``profitable_windows``,
            ``n_windows``, ``top_k``, ``select``, ``verdict`` (plain language) and ``overfitting`` (the deflated
            Sharpe ratio of the stitched out-of-sample returns, see :meth:`overfitting`).
        definitions: The :class:`WalkForwardWindow` list (bar positions).
        studies: The train :class:`~bt_optimize.Study` of each window.
        validation_studies: Each window's validation study (``None`` when no candidate ran on validation).
        test_studies: Each window's test study (one trial, with ``equity`` and ``trades`` in its metrics).
        objective: The objective used.

    Times are dates (midnight) for daily and longer bars, bar times otherwise. The record is frozen (its fields
    cannot be rebound); built by :func:`assemble`.
    """


    windows: pd.DataFrame
    oos_equity: pd.Series
    oos_trades: pd.DataFrame
    buy_and_hold: pd.Series
    summary: dict[str, Any]
    definitions: list[WalkForwardWindow]
    studies: list[Study]
    objective: Objective
    validation_studies: list[Study | None] = field(default_factory=list)
    test_studies: list[Study] = field(default_factory=list)

    def plot(self, path: str | None = None) -> Any:
        """Draw the windows timeline, IS vs OOS objective per window, and the stitched OOS equity against
        buy-and-hold (see :func:`bt_optimize.plotting.walkforward.plot_walk_forward`).

        Args:
            path: If given, the figure is also saved there (format by extension), without a display.

        Returns:
            The matplotlib ``Figure``.
        """
        from ..plotting.walkforward import plot_walk_forward

        return plot_walk_forward(self.windows, self.oos_equity, self.buy_and_hold,
                                 objective=str(self.objective.describe()["objective"]), path=path)

    def report(self, path: str | Path = "walkforward.html", title: str | None = None) -> Path:
        """Write one self-contained HTML page: set-up, the windows table, the stitched out-of-sample equity against
        buy-and-hold, walk-forward efficiency, parameter stability and the verdict (see :mod:`bt_optimize.report`).

        Args:
            path: The HTML file to write.
            title: The page title.

        Returns:
            The path written.

        Example:
            >>> wf.report("wf.html")  # doctest: +SKIP
        """
        from ..report import walk_forward_html

        out = Path(path)
        out.write_text(walk_forward_html(self, title=title), encoding="utf-8")
        return out

    def overfitting(self) -> WalkForwardOverfitting:
        """The deflated Sharpe ratio of the stitched out-of-sample returns, deflated for every configuration the
        windows' searches tried (see :class:`~bt_optimize.robustness.overfitting.WalkForwardOverfitting`); also in
        ``summary["overfitting"]``, next to the walk-forward efficiency.

        Example:
            >>> wf.overfitting().summary  # doctest: +SKIP
        """
        return WalkForwardOverfitting(**self.summary["overfitting"])

    def __repr__(self) -> str:
        m = self.summary.get("oos_metrics", {})
        return (f"<WalkForward windows={len(self.windows)} oos_total_return={m.get('total_return', math.nan):.4g} "
                f"efficiency={self.summary.get('efficiency', {}).get('annual_return', math.nan):.3g}>")



def _trades_frame(i: int, equity: list[list[Any]], trades: list[dict[str, Any]], start_value: float,
                  factor: float) -> list[dict[str, Any]]:
    pos = {stamp: k for k, (stamp, _) in enumerate(equity)}
    rows = []
    for t in trades:
        k = pos.get(t["open"])
        before = start_value if not k else float(equity[k - 1][1])
        rows.append({"window": i, "open": pd.Timestamp(t["open"]), "barlen": int(t["barlen"]),
                     "pnl": float(t["pnl"]) * factor, "pnlcomm": float(t["pnlcomm"]) * factor,
                     "return": float(t["pnlcomm"]) / before if before > 0 else math.nan})
    return rows


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def _row(o: WindowOutcome, dates: pd.DatetimeIndex, names: Sequence[str]) -> dict[str, Any]:
    w, pick, tt = o.window, o.pick, o.test.get_trials()[0]
    is_ann, oos_ann = _num(pick.metrics.get("annual_return")), _num(tt.metrics.get("annual_return"))
    oos_value = float(tt.value) if tt.ok else math.nan
    row: dict[str, Any] = {
        "window": w.index, "partial": w.partial,
        "train_start": dates[w.train_start], "train_end": dates[w.train_end - 1],
        "validation_start": dates[w.validation_start] if w.has_validation else pd.NaT,
        "validation_end": dates[w.validation_end - 1] if w.has_validation else pd.NaT,
        "test_start": dates[w.test_start], "test_end": dates[w.test_end - 1],
        "n_trials": o.train.n_trials,
    }
    for name in names:
        row[f"params_{name}"] = pick.params.get(name)
    row.update({
        "is_value": float(pick.value),  # type: ignore[arg-type]
        "validation_value": o.validation_value, "oos_value": oos_value,
        "is_annual_return": is_ann, "oos_annual_return": oos_ann,
        "oos_total_return": _num(tt.metrics.get("total_return")),
        "oos_max_drawdown": _num(tt.metrics.get("max_drawdown")),
        "oos_n_trades": _num(tt.metrics.get("n_trades")),
        "degradation": oos_value - float(pick.value),  # type: ignore[arg-type]
        "efficiency": oos_ann / is_ann if math.isfinite(is_ann) and is_ann > 0 and math.isfinite(oos_ann)
        else math.nan,
    })
    return row


def _kept(outcomes: Sequence[WindowOutcome]) -> list[int]:
    """How many test bars of each window go into the stitched curve: all of them, except where the next window's
    test stretch starts earlier (overlapping tests: each bar is taken from the latest window that covers it)."""
    out = []
    for i, o in enumerate(outcomes):
        w = o.window
        nxt = outcomes[i + 1].window.test_start if i + 1 < len(outcomes) else w.test_end
        out.append(min(w.test_end, nxt) - w.test_start)
    return out


def assemble(outcomes: Sequence[WindowOutcome], *, dates: pd.DatetimeIndex, names: Sequence[str],
             objective: Objective, top_k: int, select: str, timeframe: int, compression: int,
             perf_kwargs: dict[str, Any], closes: np.ndarray | None = None) -> WalkForward:
    """Build the :class:`WalkForward` from the windows' outcomes (in window order).

    Args:
        outcomes: One per window.
        dates: The first feed's bar times.
        names: The parameter names (``params_<name>`` columns).
        objective: The objective.
        top_k: Train candidates re-scored on validation.
        select: ``"validation"`` or ``"train"``.
        timeframe, compression: Of the first feed (annualisation; dates normalised for daily and longer bars).
        perf_kwargs: The Performance analyzer's parameters (``periods_per_year``).
        closes: The first feed's closes (for buy-and-hold).
    """
    table = pd.DataFrame([_row(o, dates, names) for o in outcomes])
    curves: list[tuple[list[list[Any]], float]] = []
    trade_lists: list[list[dict[str, Any]]] = []
    positions: list[int] = []
    for o, keep in zip(outcomes, _kept(outcomes)):
        tt = o.test.get_trials()[0]
        equity = tt.metrics["equity"][:keep]
        curves.append((equity, float(tt.metrics["start_value"])))
        trades = list(tt.metrics.get("trades") or [])
        if keep < len(tt.metrics["equity"]):  # cut by the next window: only the trades closed before the cut
            pos = {stamp: k for k, (stamp, _) in enumerate(tt.metrics["equity"])}
            trades = [t for t in trades if pos.get(t["open"], keep) + int(t["barlen"]) < keep]
        trade_lists.append(trades)
        positions += range(o.window.test_start, o.window.test_start + len(equity))
    equity, factors = stitch_equity(curves)
    daily = timeframe >= bt.TimeFrame.Days
    if daily:
        equity.index = equity.index.normalize()
    trade_rows = []
    for (i, ((eq, start), trades)), f in zip(enumerate(zip(curves, trade_lists)), factors):
        trade_rows += _trades_frame(outcomes[i].window.index, eq, trades, start, f)
    oos_trades = pd.DataFrame(trade_rows, columns=["window", "open", "barlen", "pnl", "pnlcomm", "return"])
    if daily and len(oos_trades):
        oos_trades["open"] = pd.DatetimeIndex(oos_trades["open"]).normalize()
    ppy = perf_kwargs.get("periods_per_year") or periods_per_year(timeframe, compression)
    oos_metrics = compute_metrics(equity.to_numpy(), oos_trades["pnlcomm"].to_numpy(dtype=float), float(ppy),
                                  start_value=curves[0][1])
    if closes is not None:
        px = np.asarray(closes, dtype=float)[positions]
        bh = pd.Series(px / px[0] * curves[0][1], index=equity.index, name="buy_and_hold")
    else:
        bh = pd.Series(dtype=float, name="buy_and_hold")
    summary = _summarize(table, [dict(o.pick.params) for o in outcomes], oos_metrics, objective, top_k, select)
    # the deflated Sharpe ratio of the stitched out-of-sample returns, next to the walk-forward efficiency
    of = walk_forward_studies_overfitting(equity.to_numpy(), curves[0][1], [o.train for o in outcomes], float(ppy))
    keys = list(summary)
    at = keys.index("efficiency") + 1
    summary = {**{k: summary[k] for k in keys[:at]}, "overfitting": of.to_dict(), **{k: summary[k] for k in keys[at:]}}
    return WalkForward(windows=table, oos_equity=equity, oos_trades=oos_trades, buy_and_hold=bh, summary=summary,
                       definitions=[o.window for o in outcomes], studies=[o.train for o in outcomes],
                       objective=objective, validation_studies=[o.validation for o in outcomes],
                       test_studies=[o.test for o in outcomes])


def _summarize(table: pd.DataFrame, picks: list[dict[str, Any]], oos_metrics: dict[str, float], objective: Objective,
               top_k: int, select: str) -> dict[str, Any]:
    stability = parameter_stability(picks)
    unstable = list(stability.loc[stability["unstable"], "param"])
    eff_ret = walk_forward_efficiency(table["is_annual_return"], table["oos_annual_return"])
    eff_obj = walk_forward_efficiency(table["is_value"], table["oos_value"], maximize=objective.maximize)
    n_prof = int((table["oos_total_return"] > 0).sum())
    degradation = table[["window", "is_value", "oos_value", "degradation"]].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        degradation["ratio"] = np.where(table["is_value"] > 0, table["oos_value"] / table["is_value"], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_is = float(np.nanmean(table["is_annual_return"])) if table["is_annual_return"].notna().any() else math.nan
        mean_oos = float(np.nanmean(table["oos_annual_return"])) if table["oos_annual_return"].notna().any() \
            else math.nan
    return {
        "n_windows": len(table),
        "select": select,
        "top_k": top_k,
        "oos_metrics": oos_metrics,
        "is_annual_return": mean_is,
        "oos_annual_return": mean_oos,
        "efficiency": {"annual_return": eff_ret, "objective": eff_obj},
        "profitable_windows": n_prof,
        "stability": stability,
        "unstable_params": unstable,
        "degradation": degradation,
        "verdict": verdict(n_windows=len(table), oos_total_return=oos_metrics["total_return"], efficiency=eff_ret,
                           profitable_windows=n_prof, unstable=unstable),
    }


