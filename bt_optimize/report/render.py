"""Assemble the report pages: data from :mod:`.data`, figures from :mod:`.figures`, HTML from Jinja2 templates.

The templates live in ``bt_optimize/report/templates`` (package data). Every page is one self-contained file:
styles inline, figures as data URIs, no script and no link to anything outside the page.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

from markupsafe import Markup, escape

from .._version import __version__
from .data import (
    StudyFacts,
    analyzer_kinds,
    best_run,
    broker_info,
    facts_from_storage,
    facts_from_study,
    feeds_info,
    fmt,
    overfitting_item,
    robustness_items,
    sensitivity_item,
    space_rows,
    study_setup,
    trials_section,
)
from .figures import data_uri, equity_figure, heatmap_figure, importance_figure, noise_figure

__all__ = ["study_html", "stored_study_html", "walk_forward_html", "sensitivity_html"]

#: Trades listed in the best result's trade table (the summary covers all of them).
MAX_TRADES_LISTED = 100

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def _inline_markdown(text: str) -> Markup:
    """Escape ``text`` and turn its inline markdown (backticks, ``**bold**``, a leading ``- ``) into HTML."""
    html = str(escape(text[2:] if text.startswith("- ") else text))
    html = _CODE.sub(r"<code>\1</code>", html)
    return Markup(_BOLD.sub(r"<strong>\1</strong>", html))


def _environment() -> Any:
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - jinja2 is a dependency
        raise ImportError("The HTML report needs Jinja2: pip install jinja2") from exc
    env = jinja2.Environment(loader=jinja2.PackageLoader("bt_optimize.report", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = _inline_markdown
    env.filters["fmt"] = fmt
    env.filters["money"] = lambda x: "n/a" if x is None or not math.isfinite(float(x)) else f"{float(x):,.2f}"
    env.filters["pct"] = lambda x: "n/a" if x is None or not math.isfinite(float(x)) else f"{100 * float(x):.2f} %"
    return env


def _render(template: str, **context: Any) -> str:
    context.setdefault("generated", _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    context.setdefault("version", __version__)
    return _environment().get_template(template).render(**context)


def _figure_or_error(draw: Any, *args: Any, **kwargs: Any) -> dict[str, str | None]:
    """``{"src": data URI}`` of ``draw(...)``'s figure, or ``{"error": why}`` when it cannot be drawn."""
    try:
        fig = draw(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one missing figure must not lose the whole report
        return {"src": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"src": None, "error": "nothing to draw"} if fig is None else {"src": data_uri(fig), "error": None}


# ---------------------------------------------------------------------------------------------------- sections
def _metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    from ..stats.metrics import METRICS

    return [(m, fmt(metrics.get(m))) for m in METRICS if m in metrics]


def _best_section(facts: StudyFacts, study: Any, run: bool) -> dict[str, Any] | None:
    if facts.best is None:
        return None
    best: dict[str, Any] = {"number": facts.best.number, "value": fmt(facts.best.value),
                            "params": {k: fmt(v) for k, v in facts.best.params.items()},
                            "metrics": _metric_rows(facts.best.metrics), "run": None, "run_note": None}
    if not run or study is None:
        best["run_note"] = ("The equity curve needs the data: it is drawn by study.report() in Python, or by "
                            "bt-optimize report with --config pointing to the study's TOML file.")
        return best
    try:
        r = best_run(study)
    except Exception as exc:  # noqa: BLE001 - the rest of the report is still worth having
        best["run_note"] = f"re-running the best params failed: {type(exc).__name__}: {exc}"
        return best
    trades = [{"open": fmt(t.get("open", "")[:19].replace("T", " ")), "bars": fmt(t.get("barlen")),
               "pnl": f"{float(t.get('pnlcomm', math.nan)):,.2f}"} for t in r["trades"][:MAX_TRADES_LISTED]]
    best["run"] = {"figure": _figure_or_error(equity_figure, r), "summary": r["trades_summary"], "trades": trades,
                   "n_listed": len(trades), "total_return": r["metrics"].get("total_return"),
                   "max_drawdown": r["metrics"].get("max_drawdown"), "bh_total_return": r["bh_total_return"],
                   "bh_max_drawdown": r["bh_max_drawdown"]}
    return best


def _trials_figures(facts: StudyFacts, trials: dict[str, Any]) -> dict[str, Any]:
    from ..plotting import plot_convergence, plot_objective

    figs = {"convergence": _figure_or_error(plot_convergence, facts.frame, facts.maximize),
            "objective": _figure_or_error(plot_objective, facts.frame, facts.names, facts.maximize),
            "importance": _figure_or_error(importance_figure, trials["importances"], trials["importance_source"]),
            "heatmap": None}
    if trials["grid"] is not None:
        figs["heatmap"] = _figure_or_error(heatmap_figure, trials["grid"], facts.objective)
    return figs


def _sensitivity_block(sens: Any) -> dict[str, Any]:
    item = sensitivity_item(sens)
    item["figures"] = [(p, _figure_or_error(sens.plot, p)) for p in sens.results]
    item["interaction_figures"] = [(f"{a} x {b}", _figure_or_error(sens.plot_interaction, a, b))
                                   for (a, b) in sens.interactions]
    return item


def _robustness(analyses: dict[str, Any], sensitivity: Any, overfit_source: Any,
                kinds: dict[str, str] | None = None) -> dict[str, Any]:
    from ..plotting import plot_distribution

    rob: dict[str, Any] = robustness_items(analyses, kinds)
    for item in rob["montecarlo"]:
        a = item.pop("analysis")
        testable = [m for m in a.get("metrics") or []
                    if isinstance(a.get(m), dict) and a[m].get("hist") and a[m].get("p_value") not in (None, 1.0)]
        item["figures"] = [(m, _figure_or_error(plot_distribution, a, m)) for m in testable]
    for item in rob["noise"]:
        item["figure"] = _figure_or_error(noise_figure, item, analyses[item["name"]])
    rob["sensitivity"] = None if sensitivity is None else _sensitivity_block(sensitivity)
    over = overfitting_item(overfit_source) if overfit_source is not None else None
    if over is not None and over.get("report") is not None:
        rep = over.pop("report")
        plot = getattr(rep, "plot", None)
        over["figure"] = _figure_or_error(plot) if callable(plot) else None
    elif over is not None:
        over.pop("report", None)
        over["figure"] = None
    rob["overfitting"] = over
    return rob


def _verdicts(rob: dict[str, Any], extra: list[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The one-line verdicts shown at the top of a page."""
    out = list(extra)
    for item in rob["montecarlo"]:
        if item["status"] != "ok":
            out.append((f"Monte Carlo ({item['name']})", item.get("message") or str(item["status"])))
        # permutation only tests path metrics (the drawdown); bootstrap tests every metric
        shown = ("max_drawdown",) if item["method"] == "permutation" else (
            "trade_sharpe", "sharpe_ratio", "total_return", "max_drawdown")
        for row in item["rows"]:
            if row["metric"] in shown and row["verdict"]:
                out.append((f"Monte Carlo {item['method']} ({item['name']}): {row['metric']}", row["verdict"]))
    for item in rob["noise"]:
        text = item.get("message") if item["status"] != "ok" else (
            f"{item['verdict']} under {fmt(100 * float(item['std_pct']), 3)} % price noise "
            f"({item['n_simulations']} re-runs)")
        out.append((f"Noise infusion ({item['name']})", str(text)))
    if rob["sensitivity"] is not None:
        s = rob["sensitivity"]
        out.append(("Parameter sensitivity", f"{s['overall']} (the weakest parameter decides)"))
    if rob["overfitting"] is not None:
        o = rob["overfitting"]
        out.append(("Overfitting statistics", str(o["summary"] or o["error"])))
    return out


def _study_context(facts: StudyFacts, study: Any, *, sensitivity: Any, analyses: dict[str, Any] | None,
                   options: dict[str, Any] | None, run_best: bool, title: str | None,
                   setup: dict[str, Any] | None = None) -> dict[str, Any]:
    trials = trials_section(facts, study)
    kinds = analyzer_kinds(study.payload.template) if study is not None else None
    rob = _robustness({**facts.best_analysis, **(analyses or {})}, sensitivity, study, kinds)
    best = _best_section(facts, study, run_best)
    return {"title": title or f"Study {facts.name}", "facts": facts,
            "setup": setup or study_setup(facts, study, options), "best": best, "trials": trials,
            "figures": _trials_figures(facts, trials) if trials["n_complete"] else {}, "robustness": rob,
            "verdicts": _verdicts(rob)}


# ---------------------------------------------------------------------------------------------------- pages
def study_html(study: Any, *, sensitivity: Any = None, analyses: dict[str, Any] | None = None,
               options: dict[str, Any] | None = None, run_best: bool = True, title: str | None = None) -> str:
    """The HTML page of a live study (see :meth:`bt_optimize.Study.report`)."""
    facts = facts_from_study(study)
    return _render("study.html.j2", **_study_context(facts, study, sensitivity=sensitivity, analyses=analyses,
                                                     options=options, run_best=run_best, title=title))


def stored_study_html(storage: Any, name: str, config: dict[str, Any], title: str | None = None) -> str:
    """The HTML page of a study read from storage alone: everything but the re-run of the best params.

    Nothing stored in the file is imported or executed: the strategy and objective are shown by name.
    """
    facts = facts_from_storage(storage, name, config)
    return _render("study.html.j2", **_study_context(facts, None, sensitivity=None, analyses=None, options=None,
                                                     run_best=False, title=title))


def walk_forward_html(wf: Any, title: str | None = None) -> str:
    """The HTML page of a :class:`~bt_optimize.WalkForward` (see :meth:`bt_optimize.WalkForward.report`)."""
    first = wf.studies[0] if wf.studies else None
    windows = []
    param_cols = [c for c in wf.windows.columns if c.startswith("params_")]
    for _, r in wf.windows.iterrows():
        windows.append({"window": fmt(r["window"]), "partial": bool(r.get("partial", False)),
                        "train": f"{fmt(r['train_start'])} to {fmt(r['train_end'])}",
                        "test": f"{fmt(r['test_start'])} to {fmt(r['test_end'])}",
                        "params": ", ".join(f"{c[7:]}={fmt(r[c])}" for c in param_cols),
                        "is_value": fmt(r.get("is_value")), "validation_value": fmt(r.get("validation_value")),
                        "oos_value": fmt(r.get("oos_value")), "oos_total_return": r.get("oos_total_return"),
                        "oos_max_drawdown": r.get("oos_max_drawdown"), "oos_n_trades": fmt(r.get("oos_n_trades")),
                        "efficiency": fmt(r.get("efficiency"), 3)})
    s = wf.summary
    stability = []
    stab = s.get("stability")
    if stab is not None:
        for _, r in stab.iterrows():
            stability.append({"param": r["param"], "kind": r["kind"], "mean": fmt(r["mean"]), "std": fmt(r["std"]),
                              "cv": fmt(r["cv"], 3), "mode": fmt(r["mode"]), "mode_share": r["mode_share"],
                              "unstable": bool(r["unstable"])})
    bh = wf.buy_and_hold
    rob = _robustness({}, None, wf)
    eff = s.get("efficiency") or {}
    setup = None
    if first is not None:
        facts = facts_from_study(first)
        setup = {"strategy": facts.strategy, "method": facts.method,
                 "objective": facts.objective_label,
                 "space": space_rows(facts.space), "data": feeds_info(first.payload.feeds),
                 "broker": broker_info(first.payload.template)}
    ctx = {"title": title or "Walk-forward", "setup": setup, "windows": windows, "stability": stability,
           "oos_metrics": _metric_rows(s.get("oos_metrics") or {}),
           "bh_total_return": float(bh.iloc[-1] / bh.iloc[0] - 1.0) if len(bh) else math.nan,
           "efficiency": {k: fmt(v, 3) for k, v in eff.items()}, "summary_verdict": s.get("verdict", ""),
           "select": s.get("select"), "top_k": s.get("top_k"), "n_windows": s.get("n_windows"),
           "profitable_windows": s.get("profitable_windows"), "unstable": s.get("unstable_params") or [],
           "figure": _figure_or_error(wf.plot), "robustness": rob,
           "verdicts": _verdicts(rob, [("Walk-forward", str(s.get("verdict", "")))])}
    return _render("walkforward.html.j2", **ctx)


def sensitivity_html(sens: Any, title: str | None = None) -> str:
    """The HTML page of a :class:`~bt_optimize.robustness.SensitivityResult` (``sens.report(format="html")``)."""
    block = _sensitivity_block(sens)
    return _render("sensitivity.html.j2", title=title or f"Parameter sensitivity of {sens.strategy.rsplit('.', 1)[-1]}",
                   sens=block, config=sens.config, errors=list(sens.errors),
                   verdicts=[("Parameter sensitivity", f"{block['overall']} (the weakest parameter decides)")])
