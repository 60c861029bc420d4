"""What keeping every trial's returns costs: bytes per trial, SQLite file size and run time, side by side.

Runs the same SmaCross grid on ORCL twice per data length, with ``keep_returns=True`` and ``False``, alternating
the order, into SQLite files; reports the packed size per trial (against raw float32 and float64), the file
size ratio, the run-time ratio, and the time of ``study.overfitting()``. Writes
``docs/benchmarks_overfitting.md``. Usage: ``python benchmarks/overfitting_storage.py`` (about a minute on an
idle 2-core machine).
"""

from __future__ import annotations

import os
import platform
import sqlite3
import tempfile
import time
from pathlib import Path

import backtrader as bt
import numpy as np

import bt_optimize as bto
from bt_optimize.stats.returns import pack_returns
from sample_strategies import SmaCross

DOCS = Path(__file__).resolve().parents[1] / "docs"
CASES = [("2 years (2011-2012)", "2011-01-01", "2012-12-31"), ("20 years (1995-2014)", None, None)]
GRID = dict(fast=[5, 10, 20, 40], slow=[50, 100, 200])


def _cerebro(fromdate: str | None, todate: str | None) -> bto.Cerebro:
    c = bto.Cerebro(maxcpus=2)
    c.adddata(bto.datasets.load("orcl", fromdate=fromdate, todate=todate))
    c.broker.setcash(100_000)
    c.addsizer(bt.sizers.PercentSizer, percents=95)
    return c


def _run(fromdate: str | None, todate: str | None, keep: bool, folder: str) -> tuple[float, int, object]:
    db = Path(folder) / f"{'keep' if keep else 'drop'}-{fromdate}.db"
    t0 = time.perf_counter()
    study = _cerebro(fromdate, todate).optimize_grid(SmaCross, storage=db, keep_returns=keep, progress=False, **GRID)
    elapsed = time.perf_counter() - t0
    study.storage.close()
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return elapsed, db.stat().st_size, study


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for case, (label, a, b) in enumerate(CASES):
            times = {True: [], False: []}
            sizes = {}
            kept = None
            for order in ((True, False), (False, True)):
                for keep in order:
                    sub = os.path.join(folder, f"{case}-{int(keep)}{len(times[keep])}")
                    os.makedirs(sub)
                    t, size, study = _run(a, b, keep, sub)
                    times[keep].append(t)
                    sizes[keep] = size
                    if keep:
                        kept = (study, sub)
            study, sub = kept
            db = next(Path(sub).glob("*.db"))
            with sqlite3.connect(db) as c:
                n, total, bars = c.execute(
                    "SELECT count(*), sum(length(data)), max(n_bars) FROM trial_returns").fetchone()
            reopened = _cerebro(a, b).optimize_grid(SmaCross, storage=db, progress=False, **GRID)  # resumes: no runs
            t0 = time.perf_counter()
            rep = reopened.overfitting()
            t_of = time.perf_counter() - t0
            # the work keep_returns adds in the worker, timed alone, against the trial's own backtest time
            series = next(iter(reopened.trial_returns().values()))
            t0 = time.perf_counter()
            for _ in range(200):
                pack_returns(series)
            t_pack = (time.perf_counter() - t0) / 200
            backtest = float(np.mean([t.duration_s for t in reopened.get_trials() if t.duration_s > 0]))
            rows.append((label, int(bars), int(n), total / n, total / n / (4 * bars), sizes[True] / sizes[False],
                         float(np.median(times[True]) / np.median(times[False])), t_pack * 1e3, t_pack / backtest,
                         t_of, rep.verdict))
    lines = [
        "## Overfitting statistics: what keeping every trial's returns costs",
        "",
        "`python benchmarks/overfitting_storage.py`: a SmaCross grid of "
        f"{len(GRID['fast']) * len(GRID['slow'])} points on ORCL daily bars, stored in SQLite, run with "
        "`keep_returns=True` and `keep_returns=False` side by side (twice each, alternating; medians). Returns are "
        "packed as float32 with the bytes of each value regrouped, then zlib "
        "(`bt_optimize/stats/returns.py`); they live in their own table and are read back only by "
        "`study.overfitting()` / `study.trial_returns()`, so a study's memory does not grow with them.",
        "",
        "| data | bars | trials with returns | packed bytes / trial | vs raw float32 "
        "| SQLite file size, kept / not kept | run time, kept / not kept | packing (ms / trial) "
        "| packing / backtest time | `study.overfitting()` (s) | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, bars, n, per, ratio32, fsize, tratio, t_pack, share, t_of, verdict in rows:
        lines.append(f"| {label} | {bars:,} | {n} | {per:,.0f} | {ratio32:.2f} | {fsize:.2f} | {tratio:.2f} | "
                     f"{t_pack:.3f} | {share:.4f} | {t_of:.2f} | {verdict} |")
    lines += ["", f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
              f"numpy {np.__version__}; load average at the end {os.getloadavg()[0]:.1f} (shared machine: the run-time "
              "ratio of whole studies is noisy; the packing time is measured alone and compared with the trials' own "
              "backtest time, which is the overhead that matters; the sizes are exact). The SQLite file of a small "
              "study is mostly fixed overhead, so its ratio overstates what returns add to a large one: the bytes per "
              "trial are the number to scale by.", ""]
    (DOCS / "benchmarks_overfitting.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
