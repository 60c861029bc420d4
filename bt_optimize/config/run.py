"""Running a study file: :func:`build_cerebro` turns the checked file into a :class:`bt_optimize.Cerebro`,
:func:`run_study` runs it.

:func:`build_cerebro` adds the data, broker, sizer and analyzers; :func:`run_study` runs the search, resumes a
stored study of the same name, runs the optional robustness checks on the best params and writes the report;
:func:`open_stored_study` opens a stored study without running any trial.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError
from .load import METHODS, Checker, StudyConfig

__all__ = ["build_cerebro", "run_study", "open_stored_study"]


def _feed(c: Checker, d: dict[str, Any]) -> list[Any]:
    import backtrader as bt
    import pandas as pd

    from .. import datasets

    tf = getattr(bt.TimeFrame, d.get("timeframe", "days").capitalize())
    comp = int(d.get("compression", 1))
    if "dataset" in d:
        return [datasets.load(d["dataset"], fromdate=d["fromdate"], todate=d["todate"])]
    if "csv" in d:
        try:
            df = pd.read_csv(d["csv"])
        except Exception as exc:
            raise c.fail("[data] csv", f"cannot read {str(d['csv'])!r} ({exc})", "give a CSV file") from None
        cols = {col.lower().strip(): col for col in df.columns}
        when = next((cols[k] for k in ("datetime", "date", "time", "timestamp") if k in cols), None)
        missing = [k for k in ("open", "high", "low", "close") if k not in cols]
        if when is None or missing:
            lacking = (["date"] if when is None else []) + missing
            raise c.fail("[data] csv", f"{str(d['csv'])!r} lacks columns {lacking}",
                         "give a header with Date, Open, High, Low, Close (Volume optional)")
        df.index = pd.to_datetime(df.pop(when))
        df = df.rename(columns={v: k for k, v in cols.items()}).sort_index()
        if d["fromdate"] is not None:
            df = df[df.index >= pd.Timestamp(d["fromdate"])]
        if d["todate"] is not None:
            df = df[df.index <= pd.Timestamp(d["todate"])]
        if df.empty:
            raise c.fail("[data] csv", "no bar left in the date range", "check fromdate and todate")
        vol = "volume" if "volume" in df.columns else None
        return [bt.feeds.PandasData(dataname=df, open="open", high="high", low="low", close="close", volume=vol,
                                    openinterest=None, timeframe=tf, compression=comp,
                                    name=d.get("name") or Path(d["csv"]).stem)]
    kwargs = dict(d.get("args") or {})
    try:
        made = d["factory"](**kwargs)
    except Exception as exc:
        raise c.fail("[data] factory", f"calling it failed: {type(exc).__name__}: {exc}",
                     "fix the function or its args = { ... }") from None
    feeds = list(made) if isinstance(made, (list, tuple)) else [made]
    if not feeds or not all(isinstance(f, bt.feeds.DataBase) for f in feeds):
        raise c.fail("[data] factory", f"returned {made!r}", "return a backtrader data feed or a list of feeds")
    return feeds


def build_cerebro(cfg: StudyConfig) -> Any:
    """The :class:`bt_optimize.Cerebro` the file describes: feeds, broker, sizer and analyzers.

    Raises:
        ConfigError: a feed cannot be built, or an analyzer or sizer rejects its parameters.
    """
    from ..cerebro import Cerebro

    c = Checker(cfg.path)
    cerebro = Cerebro(maxcpus=cfg.maxcpus)
    for d in cfg.data:
        for feed in _feed(c, d):
            cerebro.adddata(feed, name=d.get("name") or getattr(feed, "_name", None) or None)
    b = cfg.broker
    if "cash" in b:
        cerebro.broker.setcash(float(b["cash"]))
    if "commission" in b:
        cerebro.broker.setcommission(commission=float(b["commission"]))
    if "slippage_perc" in b:
        cerebro.broker.set_slippage_perc(float(b["slippage_perc"]))
    if "slippage_fixed" in b:
        cerebro.broker.set_slippage_fixed(float(b["slippage_fixed"]))
    if "coc" in b:
        cerebro.broker.set_coc(bool(b["coc"]))
    if cfg.sizer:
        params = {k: v for k, v in cfg.sizer.items() if k != "class"}
        _check_params(c, "[sizer]", cfg.sizer["class"], params)
        cerebro.addsizer(cfg.sizer["class"], **params)
    for i, a in enumerate(cfg.analyzers):
        params = {k: v for k, v in a.items() if k not in ("class", "name")}
        _check_params(c, f"[[analyzers]] #{i + 1}", a["class"], params)
        if "name" in a:
            params["_name"] = a["name"]
        cerebro.addanalyzer(a["class"], **params)
    return cerebro


def _check_params(c: Checker, section: str, cls: type, params: dict[str, Any]) -> None:
    known = set(cls.params._getkeys()) if hasattr(cls, "params") else set()
    for k in params:
        if k not in known:
            close = difflib.get_close_matches(k, sorted(known), n=1)
            raise c.fail(f"{section} {k}", f"{cls.__name__} has no parameter {k!r}",
                         f"did you mean {close[0]!r}?" if close else f"its parameters: {', '.join(sorted(known))}")


def run_study(cfg: StudyConfig, *, progress: bool | None = None, log: Callable[[str], None] = print) -> Any:
    """Run (or resume) the study the file describes, then the robustness checks, then write the report.

    Args:
        cfg: From :func:`load_config`.
        progress: Progress bars (``None``: when stderr is a terminal).
        log: Where to write one-line status messages.

    Returns:
        The :class:`~bt_optimize.Study`.
    """
    cerebro = build_cerebro(cfg)
    if not cfg.storage.parent.exists():
        raise ConfigError(f"{cfg.path}: [study] storage: folder {str(cfg.storage.parent)!r} does not exist; "
                          "create it or give another path")
    run = getattr(cerebro, METHODS[cfg.method])
    study = run(cfg.strategy, objective=cfg.objective, maximize=cfg.maximize, constraint=cfg.constraint,
                storage=str(cfg.storage), study_name=cfg.name, progress=progress, **cfg.options, **cfg.space)
    log(f"study {cfg.name!r}: {study.n_trials} trials in {cfg.storage} (stop reason: {study.stop_reason}); "
        f"best {cfg.objective} = {study.best_value:.6g} at {study.best_params}")
    log(study.overfitting().summary)
    sens = None
    sens_opts = cfg.robustness.get("sensitivity")
    if sens_opts is not None:
        try:
            sens = cerebro.sensitivity(cfg.strategy, study.best_params, objective=cfg.objective,
                                       maximize=cfg.maximize, **sens_opts)
        except TypeError as exc:
            raise ConfigError(f"{cfg.path}: [robustness] sensitivity: {exc}; see the options of "
                              "Cerebro.sensitivity") from None
        log(f"sensitivity around the best params: {sens.overall_class} ({sens.n_backtests} backtests)")
    if cfg.report is not None:
        study.report(cfg.report, sensitivity=sens, options=cfg.options)
        log(f"report: {cfg.report}")
    return study


def open_stored_study(cfg: StudyConfig, storage: Path, name: str) -> Any:
    """The stored study ``name`` with the data and broker of ``cfg``, opened without running any trial (for a
    report whose best params are re-run).

    Raises:
        StudyMismatchError: the stored study was set up with another strategy, space, objective or method.
    """
    from ..engine.runner import new_study, prepare
    from ..objective import make_objective
    from ..resolve import resolve_call
    from ..storage import get_storage

    cerebro = build_cerebro(cfg)
    setup = resolve_call(cerebro, cfg.strategy, dict(cfg.space))
    strategy, space = setup.strategy, setup.space
    obj = make_objective(cfg.objective, cfg.maximize, min_trades=cfg.options.get("min_trades"),
                         limits=cfg.options.get("limits"))
    payload, ex = prepare(cerebro, strategy, obj, executor="serial")
    ex.close()
    return new_study(payload, space, method=cfg.method, storage=get_storage(str(storage)), study_name=name,
                     constraint=cfg.constraint, progress=False)
