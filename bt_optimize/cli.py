"""The ``bt-optimize`` command: run a study from a TOML file, report on stored studies, a demo on bundled data.

Usage::

    bt-optimize run study.toml [--quiet] [--no-report]
    bt-optimize report runs.db --study NAME -o report.html [--config study.toml]
    bt-optimize show runs.db [--study NAME] [--top 10]
    bt-optimize demo [--trials 60] [--cpus 2] [--method bayes|random|grid]
    bt-optimize datasets

Errors in the input (a bad config key, a file that is not a study file) print one line, ``error: ...``, and exit
with status 2; ``--help`` on each command lists its options. The config file's layout is in ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from .exceptions import BtOptimizeError, StorageError

__all__ = ["main"]


#: The demo's trade-count floor: over ten years of daily bars, fewer closed trades than this is luck, not a strategy.
DEMO_MIN_TRADES = 10


def _demo(args: argparse.Namespace) -> int:
    import backtrader as bt
    import pandas as pd

    import bt_optimize as bto
    from sample_strategies import SmaCross

    cerebro = bto.Cerebro(maxcpus=args.cpus)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2005-01-01", todate="2014-12-31"))
    cerebro.broker.setcash(100_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    print(f"bt_optimize demo: SmaCross on ORCL daily 2005-2014 ({args.method}, maxcpus={args.cpus})")
    common = dict(objective="sharpe_ratio", constraint=_fast_below_slow, storage=args.storage,
                  study_name=f"demo-{args.method}" if args.storage else None, progress=not args.quiet)
    space = dict(fast=bto.Int(2, 60), slow=bto.Int(10, 250, step=5), stop=bto.Real(0.01, 0.2, log=True),
                 ma=bto.Cat(["sma", "ema"]))
    if args.method == "grid":
        study = cerebro.optimize_grid(SmaCross, fast=range(5, 55, 5), slow=range(20, 220, 20), **common)
    elif args.method == "random":
        study = cerebro.optimize_random(SmaCross, n_trials=args.trials, seed=args.seed, min_trades=DEMO_MIN_TRADES,
                                        **space, **common)
    else:  # Bayesian search with a trade-count floor: a lucky point with a handful of trades cannot win
        study = cerebro.optimize_bayes(SmaCross, n_trials=args.trials, batch_size=max(2, args.cpus), seed=args.seed,
                                       min_trades=DEMO_MIN_TRADES, **space, **common)
    df = study.trials
    if args.method != "grid":
        floored = int(df["error"].fillna("").str.startswith("limits:").sum())
        print(f"min_trades={DEMO_MIN_TRADES}: {floored} trial{'s' if floored != 1 else ''} with fewer closed trades "
              "set aside as infeasible (never the best)")
    done = df[df.state == "complete"].sort_values("value", ascending=False)
    cols = ["number", "value"] + [c for c in df.columns if c.startswith("params_")] + [
        "total_return", "max_drawdown", "n_trades"]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(f"\n{len(df)} trials ({(df.state == 'complete').sum()} complete, "
              f"{(df.state == 'infeasible').sum()} infeasible, {(df.state == 'fail').sum()} failed); "
              f"stop reason: {study.stop_reason}")
        print("\nTop 10 by Sharpe ratio:")
        print(done[cols].head(10).to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(f"\nbest params: {study.best_params}")
    print(f"best sharpe_ratio: {study.best_value:.4f}")
    print(study.overfitting().summary)
    strat = study.run_best()
    perf = strat.analyzers.getbyname("bto_performance").get_analysis()
    print(f"re-run of the best params: sharpe_ratio={perf['sharpe_ratio']:.4f}, total_return="
          f"{perf['total_return']:.2%}, max_drawdown={perf['max_drawdown']:.2%}, trades={perf['n_trades']:.0f}")
    # where the check matters: a wide grid on one short year (see docs/robustness.md)
    short = bto.Cerebro(maxcpus=args.cpus)
    short.adddata(bto.datasets.load("orcl", fromdate="2012-01-01", todate="2012-12-31"))
    short.broker.setcash(100_000)
    short.addsizer(bt.sizers.PercentSizer, percents=95)
    print("\nThe same strategy over a wide grid on one year (ORCL 2012):")
    fit = short.optimize_grid(SmaCross, fast=range(2, 40, 4), slow=range(10, 120, 10), progress=not args.quiet)
    print(f"best params: {fit.best_params}, best sharpe_ratio: {fit.best_value:.4f}")
    print(fit.overfitting().summary)
    return 0


def _fast_below_slow(p: dict) -> bool:
    return p["fast"] < p["slow"]


def _datasets(args: argparse.Namespace) -> int:
    from bt_optimize import datasets

    for name in datasets.available():
        print(f"{name:20s} {datasets.path(name)}")
    return 0


def _study_file(db: str) -> Any:
    """Open a study file read-only, after checking that it is one.

    Raises:
        StorageError: the file is missing, not SQLite, or SQLite without bt_optimize's tables.
    """
    import sqlite3
    from pathlib import Path

    path = Path(db)
    if not path.is_file():
        raise StorageError(f"{path} does not exist; give the SQLite file a study was stored in")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{path} is not a bt_optimize study file (not SQLite: {exc})") from None
    if not {"studies", "trials", "meta"} <= tables:
        conn.close()
        what = "an empty file" if not tables else "a SQLite file of another program"
        raise StorageError(f"{path} is not a bt_optimize study file ({what}: no studies table)")
    return conn


def _stored_studies(conn: Any, path: str, name: str | None) -> list[tuple[int, str, dict[str, Any]]]:
    import json

    every = conn.execute("SELECT id, name, config FROM studies ORDER BY id").fetchall()
    rows = [(sid, n, json.loads(cfg)) for sid, n, cfg in every]
    if name is not None:
        rows = [r for r in rows if r[1] == name]
        if not rows:
            names = [n for _, n, _ in every]
            raise StorageError(f"no study {name!r} in {path}; stored: {', '.join(names) or 'none'}")
    return rows


def _show(args: argparse.Namespace) -> int:
    conn = _study_file(args.db)
    try:
        studies = _stored_studies(conn, args.db, args.study)
        if not studies:
            print(f"{args.db}: no study stored yet")
        for sid, name, cfg in studies:
            counts = dict(conn.execute("SELECT state, count(*) FROM trials WHERE study_id=? GROUP BY state", (sid,)))
            maximize = cfg["objective"]["maximize"]
            print(f"study {name!r}: {cfg['strategy']} ({cfg['method']}), objective {cfg['objective']['objective']} "
                  f"({'max' if maximize else 'min'}), trials {counts}")
            order = "DESC" if maximize else "ASC"
            rows = conn.execute(f"SELECT number, value, params FROM trials WHERE study_id=? AND state='complete' "
                                f"ORDER BY value {order} LIMIT ?", (sid, args.top)).fetchall()
            for number, value, params in rows:
                print(f"  #{number:<6d} {value:12.6g}  {_readable_params(params)}")
    finally:
        conn.close()
    return 0


def _readable_params(stored: str) -> str:
    """A stored point as JSON, with each choice that JSON cannot hold (stored as ``{"cat_index": i, "label": ...}``)
    shown by its label."""
    import json

    try:
        params = json.loads(stored)
    except (TypeError, ValueError):
        return str(stored)
    if not isinstance(params, dict):
        return str(stored)
    return json.dumps({k: v["label"] if isinstance(v, dict) and "cat_index" in v and "label" in v else v
                       for k, v in params.items()})


def _run(args: argparse.Namespace) -> int:
    from .config import load_config, run_study

    cfg = load_config(args.config)
    if args.no_report:
        cfg.report = None
    progress = False if args.quiet else None
    log = (lambda _msg: None) if args.quiet else print
    run_study(cfg, progress=progress, log=log)
    return 0


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .storage import SQLiteStorage

    out = Path(args.output)
    if not out.parent.exists():
        raise StorageError(f"-o {args.output}: folder {str(out.parent)!r} does not exist; create it first")
    conn = _study_file(args.db)
    try:
        studies = _stored_studies(conn, args.db, args.study)
    finally:
        conn.close()
    if args.study is None:
        if len(studies) != 1:
            names = ", ".join(n for _, n, _ in studies) or "none"
            raise StorageError(f"{args.db} holds {len(studies)} studies ({names}); pick one with --study NAME")
    name, stored = studies[0][1], studies[0][2]
    if args.config is not None:
        from .config import load_config, open_stored_study

        cfg = load_config(args.config)
        study = open_stored_study(cfg, Path(args.db), name)
        study.report(out, options=cfg.options)
    else:
        from .report import stored_study_html

        storage = SQLiteStorage(args.db)
        try:
            out.write_text(stored_study_html(storage, name, stored), encoding="utf-8")
        finally:
            storage.close()
    if not args.quiet:
        print(f"report: {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bt-optimize`` command; returns the exit status (2 for bad input)."""
    parser = argparse.ArgumentParser(
        prog="bt-optimize", description="Parameter search for backtrader strategies: run a study from a TOML file, "
        "report on stored studies, or try the demo.", epilog="Config file layout and examples: docs/cli.md")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run (or resume) the study a TOML file describes and write its report",
                         description="Run the study described by a TOML file. A study of the same name in the same "
                         "storage resumes where it stopped: finished trials never run twice. When it ends, the HTML "
                         "report is written ([study] report, default <config>.html).")
    run.add_argument("config", help="the study file (TOML; layout in docs/cli.md)")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no status lines")
    run.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    run.set_defaults(func=_run)
    rep = sub.add_parser("report", help="write the HTML report of a stored study",
                         description="Write the HTML report of a study stored in a SQLite file. Without --config the "
                         "report is built from the file alone (nothing in it is executed) and has no equity curve; "
                         "with --config the data is loaded again and the best params are re-run.")
    rep.add_argument("db", help="the SQLite file the study is stored in")
    rep.add_argument("--study", "-s", default=None, help="the study's name (needed when the file holds several)")
    rep.add_argument("--output", "-o", default="report.html", help="the HTML file to write (default report.html)")
    rep.add_argument("--config", "-c", default=None,
                     help="the study's TOML file, to re-run the best params for the equity curve and trades")
    rep.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    rep.set_defaults(func=_report)
    show = sub.add_parser("show", help="summarise the studies stored in a SQLite file",
                          description="List the studies in a SQLite file with their trial counts and best trials.")
    show.add_argument("db", help="the SQLite file")
    show.add_argument("--study", "-s", default=None, help="show only this study")
    show.add_argument("--top", type=int, default=10, help="best trials listed per study (default 10)")
    show.set_defaults(func=_show)
    demo = sub.add_parser("demo", help="optimize a sample strategy on bundled ORCL data and print the results",
                          description="Optimize SmaCross on bundled ORCL daily bars and print the best trials.")
    demo.add_argument("--method", choices=["bayes", "random", "grid"], default="bayes",
                      help="search method (default bayes, with min_trades)")
    demo.add_argument("--trials", type=int, default=60, help="backtests for bayes and random search (default 60)")
    demo.add_argument("--cpus", type=int, default=2, help="worker processes (default 2)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument("--storage", default=None, help="SQLite file to keep (and resume) the study")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_demo)
    ds = sub.add_parser("datasets", help="list the bundled datasets", description="List the bundled datasets.")
    ds.set_defaults(func=_datasets)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BtOptimizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
