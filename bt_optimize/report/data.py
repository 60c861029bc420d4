"""The plain data of a report, computed apart from drawing and rendering.

Every function here returns JSON-like dicts, lists and pandas objects; :mod:`bt_optimize.report.figures` draws
them and :mod:`bt_optimize.report.render` puts both into the HTML templates.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from ..frames import trials_frame
from ..trial import Trial
from .importance import binned_grid, variance_importance

__all__ = ["StudyFacts", "facts_from_study", "facts_from_storage", "study_setup", "best_run", "trials_section",
           "robustness_items", "trades_summary", "fmt"]

#: Rows of the top-trials table.
TOP_N = 50


def fmt(x: Any, digits: int = 4) -> str:
    """A short text form of a value for tables (``n/a`` for missing or non-finite numbers)."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return "n/a" if not math.isfinite(float(x)) else f"{float(x):.{digits}g}"
    if isinstance(x, pd.Timestamp):
        return x.strftime("%Y-%m-%d") if x == x.normalize() else x.strftime("%Y-%m-%d %H:%M:%S")
    return str(x)


@dataclass
class StudyFacts:
    """What a report needs to know about a study, from a live :class:`~bt_optimize.Study` or from storage."""

    name: str
    strategy: str
    method: str
    objective: str
    maximize: bool
    space: dict[str, dict[str, Any]]
    frame: pd.DataFrame
    best: Trial | None
    best_analysis: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None
    wall_time_s: float | None = None

    @property
    def objective_label(self) -> str:
        """The objective with its direction (several objectives carry theirs already)."""
        multi = self.objective.endswith(")")
        return self.objective if multi else f"{self.objective} ({'maximize' if self.maximize else 'minimize'})"

    @property
    def names(self) -> list[str]:
        """The parameter names."""
        return list(self.space)


def _first(maximize: Any) -> bool:
    """The direction of the (first) objective."""
    return bool(maximize[0] if isinstance(maximize, list) else maximize)


def _objective_text(desc: dict[str, Any]) -> str:
    """``sharpe_ratio``, or ``sharpe_ratio (max), max_drawdown (min)`` for several objectives."""
    obj, maxi = desc["objective"], desc["maximize"]
    if isinstance(obj, list):
        dirs = maxi if isinstance(maxi, list) else [maxi] * len(obj)
        return ", ".join(f"{o} ({'max' if m else 'min'})" for o, m in zip(obj, dirs))
    return str(obj)


def facts_from_study(study: Any) -> StudyFacts:
    """Collect the facts of a live study."""
    try:
        best: Trial | None = study.best_trial
    except ValueError:
        best = None
    analysis = study.analysis(best.number) if best is not None else {}
    wall = study.wall_time_s
    desc = study.objective.describe()
    return StudyFacts(name=study.name, strategy=f"{study.strategy.__module__}.{study.strategy.__qualname__}",
                      method=study.method, objective=_objective_text(desc), maximize=_first(desc["maximize"]),
                      space=study.space.describe(), frame=study.trials, best=best, best_analysis=analysis,
                      stop_reason=study.stop_reason, wall_time_s=wall)


def facts_from_storage(storage: Any, name: str, config: dict[str, Any]) -> StudyFacts:
    """Collect the facts of a stored study (no data and no strategy are loaded: nothing in the file runs).

    Args:
        storage: The open storage.
        name: The study's name.
        config: Its stored set-up (``strategy``, ``space``, ``objective``, ``method``).
    """
    sid, trials = storage.open_study(name, config)
    names = list(config["space"])
    maximize = _first(config["objective"]["maximize"])
    best = None
    for t in trials:
        if t.ok and t.user_attrs.get("fidelity", 1.0) == 1.0 and (
                best is None or (t.value > best.value if maximize else t.value < best.value)):
            best = t
    analysis = {}
    if best is not None:
        analysis = {**storage.load_analysis(sid, best.number), "performance": dict(best.metrics)}
    return StudyFacts(name=name, strategy=str(config["strategy"]), method=str(config["method"]),
                      objective=_objective_text(config["objective"]), maximize=maximize, space=config["space"],
                      frame=trials_frame(trials, names), best=best, best_analysis=analysis,
                      stop_reason=storage.get_attr(sid, "stop_reason"),
                      wall_time_s=storage.get_attr(sid, "wall_time_s"))


# ---------------------------------------------------------------------------------------------------- set-up
def _dim_text(d: dict[str, Any]) -> str:
    kind = d.get("kind")
    if kind == "Cat":
        return "one of " + ", ".join(map(str, d.get("choices", [])))
    text = f"{fmt(d.get('low'))} to {fmt(d.get('high'))}"
    if d.get("step") not in (None, 1, 1.0) or (kind == "Int" and d.get("step") not in (None, 1)):
        text += f", step {fmt(d.get('step'))}"
    if d.get("log"):
        text += ", log scale"
    return text


def space_rows(space: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """One row per dimension: ``name``, ``kind``, ``range``."""
    return [{"name": k, "kind": str(d.get("kind", "")), "range": _dim_text(d)} for k, d in space.items()]


def bar_time(num: float) -> pd.Timestamp:
    """A backtrader date number as a timestamp; a daily bar's end-of-day time (23:59:59.999989) becomes its date."""
    t = pd.Timestamp(bt.num2date(num))
    return t.normalize() if (t.hour, t.minute, t.second) == (23, 59, 59) else t.round("s")


def feeds_info(feeds: list[Any], window: Any = None) -> list[dict[str, Any]]:
    """Name, first and last bar, bar count and timeframe of each preloaded feed (measured window marked)."""
    out = []
    for i, f in enumerate(feeds):
        dts = f.datetime
        row = {"name": f.name or f"data{i}", "first": fmt(bar_time(dts[0])), "last": fmt(bar_time(dts[-1])),
               "bars": len(f),
               "timeframe": f"{f.compression} {bt.TimeFrame.getname(f.timeframe, f.compression)}"}
        out.append(row)
    if window is not None and not window.is_full and feeds:
        dts = feeds[0].datetime
        end = len(dts) if window.end is None else min(window.end, len(dts))
        out[0]["window"] = (f"measured bars {window.start} to {end - 1} "
                            f"({fmt(bar_time(dts[window.start]))} to {fmt(bar_time(dts[end - 1]))}), "
                            f"warmup {window.warmup}")
    return out


def _call_text(cls: type, args: tuple, kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items() if k != "_name"]
    return f"{cls.__module__}.{cls.__name__}({', '.join(parts)})"


def broker_info(template: Any) -> dict[str, Any]:
    """Cash, commission, slippage, sizer and analyzers of a study's Cerebro template.

    Args:
        template: ``study.payload.template``: the pickled (or live) configuration the study itself built.
    """
    tpl = pickle.loads(template) if isinstance(template, bytes) else template
    broker = tpl.broker
    out: dict[str, Any] = {"cash": f"{float(getattr(broker, 'startingcash', math.nan)):,.2f}"}
    comms = []
    for key, ci in getattr(broker, "comminfo", {}).items():
        p = ci.p
        kind = "% of value" if p.percabs or p.stocklike else "per contract"
        comms.append(f"{'all data' if key is None else key}: {fmt(p.commission)} ({kind})")
    out["commission"] = "; ".join(comms) or "none"
    slip = [f"{k}={fmt(getattr(broker.p, k))}" for k in ("slip_perc", "slip_fixed") if getattr(broker.p, k, 0)]
    out["slippage"] = ", ".join(slip) or "none"
    sizers = getattr(tpl, "sizers", {}) or {}
    out["sizer"] = "; ".join(_call_text(*v) for v in sizers.values()) or "backtrader default (1 unit)"
    from ..objective import analyzer_names

    analyzers = list(getattr(tpl, "analyzers", []))
    out["analyzers"] = [f"{n}: {_call_text(*a)}" for n, a in zip(analyzer_names(analyzers), analyzers)]
    return out


def state_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Trials by state, every state listed."""
    counts = frame["state"].value_counts().to_dict() if len(frame) else {}
    return {s: int(counts.get(s, 0)) for s in ("complete", "pruned", "fail", "infeasible")}


def study_setup(facts: StudyFacts, study: Any = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The set-up section: strategy, data, broker, space, objective, method and options, counts, times."""
    frame = facts.frame
    if options is None and study is not None:
        options = getattr(study, "method_options", None)  # the optimize_* call's options, defaults included
    setup: dict[str, Any] = {
        "strategy": facts.strategy, "method": facts.method,
        "objective": facts.objective_label,
        "space": space_rows(facts.space), "counts": state_counts(frame), "n_trials": len(frame),
        "stop_reason": facts.stop_reason or "n/a", "options": {k: fmt(v) for k, v in (options or {}).items()},
        "backtest_time": fmt(float(frame["duration_s"].sum()) if len(frame) else 0.0, 3) + " s",
        "wall_time": "n/a" if facts.wall_time_s is None else fmt(facts.wall_time_s, 3) + " s",
        "data": [], "broker": None,
    }
    if study is not None:
        setup["data"] = feeds_info(study.payload.feeds, study.window)
        setup["broker"] = broker_info(study.payload.template)
    return setup


# ---------------------------------------------------------------------------------------------------- best result
def trades_summary(trades: list[dict[str, Any]]) -> dict[str, Any]:
    """Count, wins, win rate, total/mean/best/worst P&L (commission included) and mean bars held."""
    pnl = np.asarray([float(t["pnlcomm"]) for t in trades], dtype=float)
    bars = np.asarray([float(t.get("barlen", 0)) for t in trades], dtype=float)
    if not len(pnl):
        return {"n_trades": 0}
    wins = int((pnl > 0).sum())
    return {"n_trades": int(len(pnl)), "wins": wins, "losses": int((pnl <= 0).sum()), "win_rate": wins / len(pnl),
            "total_pnl": float(pnl.sum()), "mean_pnl": float(pnl.mean()), "best_pnl": float(pnl.max()),
            "worst_pnl": float(pnl.min()), "mean_bars": float(bars.mean())}


def _drawdown(values: pd.Series) -> pd.Series:
    return values / values.cummax() - 1.0


def best_run(study: Any) -> dict[str, Any]:
    """Re-run the best parameters (``study.run_best()``) and return its equity, drawdown and trades next to
    buy-and-hold of the first feed over the same bars (scaled to the same starting value)."""
    strat = study.run_best()
    metrics = strat.bto_result.get("metrics") or {}
    pts = metrics.get("equity") or []
    equity = pd.Series([float(v) for _, v in pts], index=pd.DatetimeIndex([pd.Timestamp(d) for d, _ in pts]))
    feed = study.payload.feeds[0]
    closes = pd.Series(feed.lines["close"], index=pd.DatetimeIndex([pd.Timestamp(bt.num2date(d))
                                                                    for d in feed.datetime]))
    closes = closes[~closes.index.duplicated(keep="last")]
    bh = closes.reindex(equity.index, method="ffill")
    start = float(metrics.get("start_value") or (equity.iloc[0] if len(equity) else 1.0))
    bh = start * bh / float(bh.iloc[0]) if len(bh) and bh.iloc[0] else bh
    trades = list(metrics.get("trades") or [])
    return {"equity": equity, "buy_and_hold": bh, "drawdown": _drawdown(equity), "bh_drawdown": _drawdown(bh),
            "trades": trades, "trades_summary": trades_summary(trades),
            "bh_total_return": float(bh.iloc[-1] / bh.iloc[0] - 1.0) if len(bh) else math.nan,
            "bh_max_drawdown": float(-_drawdown(bh).min()) if len(bh) else math.nan,
            "metrics": {k: v for k, v in metrics.items() if k not in ("equity", "trades")}}


# ---------------------------------------------------------------------------------------------------- trials
def importances(facts: StudyFacts, study: Any = None) -> tuple[dict[str, float], str]:
    """Parameter importances and where they come from: ``study.importances()`` when the study has it, else
    :func:`bt_optimize.report.importance.variance_importance`."""
    method = getattr(study, "importances", None)
    if callable(method):
        try:
            got = method()
            values = dict(got.items()) if hasattr(got, "items") else dict(got)
            return {k: float(values.get(k, 0.0)) for k in facts.names}, "study.importances()"
        except Exception:  # noqa: BLE001 - fall back to the simple decomposition below
            pass
    return variance_importance(facts.frame, facts.names), "variance decomposition (epsilon squared)"


def trials_section(facts: StudyFacts, study: Any = None, top: int = TOP_N) -> dict[str, Any]:
    """Top trials, importances and the grid of the two most important parameters."""
    frame = facts.frame
    done = frame[frame["state"] == "complete"] if len(frame) else frame
    metric_cols = [c for c in ("sharpe_ratio", "total_return", "max_drawdown", "n_trades") if c in frame.columns]
    param_cols = [f"params_{n}" for n in facts.names]
    top_rows = []
    if len(done):
        ranked = done.sort_values("value", ascending=not facts.maximize).head(top)
        for _, r in ranked.iterrows():
            top_rows.append([fmt(r["number"]), fmt(r["value"])] + [fmt(r[c]) for c in param_cols]
                            + [fmt(r[c]) for c in metric_cols])
    imp, source = importances(facts, study)
    order = sorted(imp, key=lambda k: -imp[k])
    grid = None
    if len(order) >= 2 and len(done) >= 3:
        grid = binned_grid(frame, order[0], order[1], facts.maximize)
    return {"top_header": ["trial", "value", *facts.names, *metric_cols], "top_rows": top_rows,
            "n_complete": int(len(done)), "importances": [(k, imp[k]) for k in order], "importance_source": source,
            "grid": grid}


# ---------------------------------------------------------------------------------------------------- robustness
def _is_montecarlo(a: Any) -> bool:
    return isinstance(a, dict) and ((a.get("method") in ("permutation", "bootstrap") and "n_simulations" in a)
                                    or (a.get("status") == "insufficient_trades" and "min_trades" in a))


def _is_noise(a: Any) -> bool:
    return isinstance(a, dict) and "std_pct" in a and "model" in a


def analyzer_kinds(template: Any) -> dict[str, str]:
    """``{analyzer name: "montecarlo" | "noise"}`` for the robustness analyzers of a study's Cerebro template."""
    from ..analyzers.montecarlo import MonteCarlo
    from ..analyzers.noise import NoiseInfusion
    from ..objective import analyzer_names

    tpl = pickle.loads(template) if isinstance(template, bytes) else template
    entries = list(getattr(tpl, "analyzers", []))
    kinds = {}
    for name, (cls, _, _) in zip(analyzer_names(entries), entries):
        if isinstance(cls, type) and issubclass(cls, MonteCarlo):
            kinds[name] = "montecarlo"
        elif isinstance(cls, type) and issubclass(cls, NoiseInfusion):
            kinds[name] = "noise"
    return kinds


def _montecarlo_item(name: str, a: dict[str, Any]) -> dict[str, Any]:
    item = {"name": name, "status": a.get("status"), "method": a.get("method"),
            "n_simulations": a.get("n_simulations"), "n_trades": a.get("n_trades"), "message": a.get("message"),
            "rows": [], "analysis": a}
    for m in a.get("metrics") or []:
        s = a.get(m) or {}
        ci = s.get("ci") or [None, None]
        item["rows"].append({"metric": m, "observed": fmt(s.get("observed")), "ci": f"{fmt(ci[0])} to {fmt(ci[1])}",
                             "p_value": fmt(s.get("p_value"), 3), "verdict": s.get("verdict", "")})
    return item


def _noise_item(name: str, a: dict[str, Any]) -> dict[str, Any]:
    item = {"name": name, "status": a.get("status"), "model": a.get("model"), "std_pct": a.get("std_pct"),
            "n_simulations": a.get("n_simulations"), "verdict": a.get("verdict"), "message": a.get("message"),
            "primary": a.get("primary"), "rows": []}
    for m in a.get("metrics") or []:
        s = a.get(m) or {}
        ci = s.get("ci") or [None, None]
        deg = s.get("degradation_pct")
        item["rows"].append({"metric": m, "original": fmt(s.get("original")), "mean": fmt(s.get("mean")),
                             "ci": f"{fmt(ci[0])} to {fmt(ci[1])}", "worst_case": fmt(s.get("worst_case")),
                             "degradation": "n/a" if deg is None else f"{deg:+.1f} %", "verdict": s.get("verdict")})
    return item


def robustness_items(analyses: dict[str, Any], kinds: dict[str, str] | None = None
                     ) -> dict[str, list[dict[str, Any]]]:
    """Find the Monte Carlo and noise-infusion outputs among analyzer outputs and tabulate them.

    Args:
        analyses: ``{analyzer name: get_analysis()}``, e.g. ``study.analysis(study.best_trial.number)``.
        kinds: Known kinds by analyzer name (:func:`analyzer_kinds`); other outputs are recognised by their shape.
    """
    kinds = kinds or {}
    out: dict[str, list[dict[str, Any]]] = {"montecarlo": [], "noise": []}
    for name, a in analyses.items():
        if not isinstance(a, dict):
            continue
        if kinds.get(name) == "montecarlo" or (name not in kinds and _is_montecarlo(a)):
            out["montecarlo"].append(_montecarlo_item(name, a))
        elif kinds.get(name) == "noise" or (name not in kinds and _is_noise(a)):
            out["noise"].append(_noise_item(name, a))
    return out


def _plain_scalars(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, fmt(v)) for k, v in d.items() if isinstance(v, (int, float, str, bool, type(None))) and k != "verdict"]


def overfitting_item(obj: Any) -> dict[str, Any] | None:
    """The overfitting statistics of ``obj.overfitting()`` (a study or a walk-forward), when that method exists.

    Returns:
        ``None`` when the object has no ``overfitting`` method; otherwise ``{"verdict", "rows", "error",
        "report"}`` (``error`` set when the statistics could not be computed).
    """
    method = getattr(obj, "overfitting", None)
    if not callable(method):
        return None
    try:
        rep = method()
    except Exception as exc:  # noqa: BLE001 - the report shows why instead of failing
        return {"verdict": None, "summary": None, "rows": [], "error": f"{type(exc).__name__}: {exc}",
                "report": None}
    d = rep.to_dict() if hasattr(rep, "to_dict") else {}
    verdict = getattr(rep, "verdict", d.get("verdict"))
    return {"verdict": verdict, "summary": str(getattr(rep, "summary", "") or verdict),
            "rows": [r for r in _plain_scalars(d) if r[0] != "summary"], "error": None, "report": rep}


def sensitivity_item(sens: Any) -> dict[str, Any]:
    """Table, assessment and recommendations of a :class:`~bt_optimize.robustness.SensitivityResult`."""
    rows = []
    for name, r in sens.results.items():
        ci = r.get("ci") or [None, None]
        rows.append({"param": name, "base": fmt(r.get("base")),
                     "range": f"{fmt(r['values'][0])} to {fmt(r['values'][-1])}" if r.get("values") else "n/a",
                     "score": fmt(r.get("score"), 3), "ci": f"{fmt(ci[0], 3)} to {fmt(ci[1], 3)}",
                     "class": r.get("class"), "best": f"{fmt(r.get('best_value'))} at {fmt(r.get('best_at'))}"})
    inter = [{"pair": f"{a} x {b}", "strength": fmt(st.get("strength"), 3),
              "interacting": {True: "yes", False: "no", None: "n/a"}[st.get("has_interaction")]}
             for (a, b), st in sens.interactions.items()]
    return {"overall": sens.overall_class, "base_value": fmt(sens.base_value), "objective": sens.objective,
            "base_params": {k: fmt(v) for k, v in sens.base_params.items()}, "rows": rows, "interactions": inter,
            "assessment": sens.assessment(), "recommendations": sens.recommendations(),
            "indicators": sens.indicators(), "n_backtests": sens.n_backtests, "result": sens}
