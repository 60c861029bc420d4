"""The ``bt-optimize`` command: a demo on bundled data, and a look into stored studies.

Usage::

    bt-optimize demo [--trials 60] [--cpus 2] [--method random|grid]
    bt-optimize datasets
    bt-optimize show runs.db [--study NAME] [--top 10]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


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
    if args.method == "grid":
        study = cerebro.optimize_grid(SmaCross, fast=range(5, 55, 5), slow=range(20, 220, 20), **common)
    else:
        study = cerebro.optimize_random(SmaCross, fast=bto.Int(2, 60), slow=bto.Int(10, 250, step=5),
                                        stop=bto.Real(0.01, 0.2, log=True), ma=bto.Cat(["sma", "ema"]),
                                        n_trials=args.trials, seed=args.seed, **common)
    df = study.trials
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
    strat = study.run_best()
    perf = strat.analyzers.getbyname("bto_performance").get_analysis()
    print(f"re-run of the best params: sharpe_ratio={perf['sharpe_ratio']:.4f}, total_return="
          f"{perf['total_return']:.2%}, max_drawdown={perf['max_drawdown']:.2%}, trades={perf['n_trades']:.0f}")
    return 0


def _fast_below_slow(p: dict) -> bool:
    return p["fast"] < p["slow"]


def _datasets(args: argparse.Namespace) -> int:
    from bt_optimize import datasets

    for name in datasets.available():
        print(f"{name:20s} {datasets.path(name)}")
    return 0


def _show(args: argparse.Namespace) -> int:
    import json
    import sqlite3
    from pathlib import Path

    path = Path(args.db)
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return 2
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    studies = conn.execute("SELECT id, name, config FROM studies ORDER BY id").fetchall()
    if args.study:
        studies = [s for s in studies if s[1] == args.study]
        if not studies:
            print(f"error: no study {args.study!r} in {path}", file=sys.stderr)
            return 2
    for sid, name, config in studies:
        cfg = json.loads(config)
        counts = dict(conn.execute("SELECT state, count(*) FROM trials WHERE study_id=? GROUP BY state", (sid,)))
        maximize = cfg["objective"]["maximize"]
        print(f"study {name!r}: {cfg['strategy']} ({cfg['method']}), objective {cfg['objective']['objective']} "
              f"({'max' if maximize else 'min'}), trials {counts}")
        order = "DESC" if maximize else "ASC"
        rows = conn.execute(f"SELECT number, value, params FROM trials WHERE study_id=? AND state='complete' "
                            f"ORDER BY value {order} LIMIT ?", (sid, args.top)).fetchall()
        for number, value, params in rows:
            print(f"  #{number:<6d} {value:12.6g}  {params}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bt-optimize`` command."""
    parser = argparse.ArgumentParser(prog="bt-optimize", description="Parameter search for backtrader strategies")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="optimize a sample strategy on bundled ORCL data and print the results")
    demo.add_argument("--method", choices=["random", "grid"], default="random")
    demo.add_argument("--trials", type=int, default=60, help="backtests for random search (default 60)")
    demo.add_argument("--cpus", type=int, default=2, help="worker processes (default 2)")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--storage", default=None, help="SQLite file to keep (and resume) the study")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_demo)
    ds = sub.add_parser("datasets", help="list the bundled datasets")
    ds.set_defaults(func=_datasets)
    show = sub.add_parser("show", help="summarise the studies stored in a SQLite file")
    show.add_argument("db")
    show.add_argument("--study", default=None)
    show.add_argument("--top", type=int, default=10)
    show.set_defaults(func=_show)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
