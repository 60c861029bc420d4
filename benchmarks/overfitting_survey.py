"""How often does ``study.overfitting()`` flag a wide grid fitted to one short stretch? A survey, not a pick.

The real-data check of issue 14 asks that ``SmaCross`` over a wide grid on a year or two of data come out as
likely overfit. Showing that on one hand-picked year proves little (the year could be chosen to make the point),
so this script runs the same grid on **every** calendar year of the bundled daily stocks (ORCL 1995-2014, NVDA
2000-2014) and on every two-year stretch, and reports how the statistics are distributed:

- the deflated Sharpe ratio (DSR) of the grid's best, its probabilistic Sharpe ratio (PSR) before deflation,
- the probability of backtest overfitting (PBO) from CSCV with 16 blocks,
- the verdict (``likely_overfit`` when PBO >= 0.5 or DSR < 0.5),
- and, as the check that the verdict means something, the best's Sharpe ratio over the **next** year, which the
  search never saw, next to the median trial's.

Grids: ``narrow`` (the docs example: fast 2..38 step 4, slow 10..110 step 10, 94 trials after the skip of
fast >= slow) and ``wide`` (fast 2..50 step 2, slow 10..200 step 5, 878 trials). The wide grid costs nine times
as much, so by default it runs on every fourth one-year ORCL stretch only (1995, 1999, ..., 2011;
``--wide-limit all --wide-step 1`` for everything).

Usage::

    python benchmarks/overfitting_survey.py            # writes docs/benchmarks_overfitting_survey.md
    python benchmarks/overfitting_survey.py --grids narrow --stocks orcl --no-docs
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import statistics
import sys
import warnings

import backtrader as bt
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bt_optimize as bto  # noqa: E402
from bt_optimize.robustness.overfitting import overfitting_report  # noqa: E402
from sample_strategies import SmaCross  # noqa: E402

OUTPUT = ROOT / "docs" / "benchmarks_overfitting_survey.md"
GRIDS = {
    "narrow": dict(fast=range(2, 40, 4), slow=range(10, 120, 10)),
    "wide": dict(fast=range(2, 52, 2), slow=range(10, 205, 5)),
}
YEARS = {"orcl": range(1995, 2015), "nvda": range(2000, 2015)}


def cerebro(stock: str, start: str, end: str) -> bto.Cerebro:
    """The docs example's set-up: one stock, 100k cash, 95 % of equity per position."""
    c = bto.Cerebro(maxcpus=2)
    c.adddata(bto.datasets.load(stock, fromdate=start, todate=end))
    c.broker.setcash(100_000)
    c.addsizer(bt.sizers.PercentSizer, percents=95)
    return c


def annual_sharpe(r: np.ndarray) -> float:
    """Annualised (252 bars) Sharpe ratio of per-bar returns; 0 for flat returns."""
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    return float(np.mean(r)) / sd * math.sqrt(252) if sd > 0 else 0.0


def next_year(stock: str, year: int, grid: str, best: dict[str, int]) -> tuple[float, float, float]:
    """The whole grid over ``year`` (warmed up on the year before): the fitted best's annualised Sharpe ratio, its
    rank among the grid's points as a fraction (1 = the best of them, 0.5 = the median), and the grid's median."""
    df = bto.datasets.load_dataframe(stock)
    n_prev = int(((df.index >= f"{year - 1}-01-01") & (df.index < f"{year}-01-01")).sum())
    c = cerebro(stock, f"{year - 1}-01-01", f"{year}-12-31")
    study = c.optimize_grid(SmaCross, progress=False, window=bto.Window(n_prev, None, warmup=n_prev), **GRIDS[grid])
    trials = {t.number: t.params for t in study.get_trials((bto.TrialState.COMPLETE,))}
    sharpes = {n: annual_sharpe(r) for n, r in study.trial_returns(list(trials)).items()}
    key = next(n for n, p in trials.items() if p == best)
    values = np.array(list(sharpes.values()))
    rank = (float((values < sharpes[key]).sum()) + (float((values == sharpes[key]).sum()) + 1) / 2) / (len(values) + 1)
    return sharpes[key], rank, float(np.median(values))


def one(stock: str, first: int, years: int, grid: str) -> dict[str, object]:
    """Fit ``grid`` on ``years`` calendar years from ``first``; the report and the next year's out-of-sample check."""
    last = first + years - 1
    study = cerebro(stock, f"{first}-01-01", f"{last}-12-31").optimize_grid(SmaCross, progress=False, **GRIDS[grid])
    rep = study.overfitting()
    row: dict[str, object] = dict(stock=stock, stretch=f"{first}" if years == 1 else f"{first}-{last}", grid=grid,
                                  n=rep.n_trials, n_eff=rep.n_effective, sr=rep.sr_best, psr=rep.psr, dsr=rep.dsr,
                                  pbo=rep.pbo, verdict=rep.verdict, oos_best=None, oos_rank=None, oos_median=None,
                                  best=study.best_params)
    if last + 1 <= max(YEARS[stock]):
        row["oos_best"], row["oos_rank"], row["oos_median"] = next_year(stock, last + 1, grid, study.best_params)
    return row


def fmt(x: object, d: int = 2) -> str:
    """A number for the table, blank when missing."""
    return "" if x is None else f"{x:.{d}f}" if isinstance(x, float) else str(x)


def no_edge_cerebro(seed: int, n_bars: int = 250) -> bto.Cerebro:
    """A Cerebro on a price path with no edge to find: ORCL's daily log returns, demeaned and redrawn with
    replacement (no drift, no serial dependence), 150 warm-up bars plus ``n_bars`` measured ones, added as a plain
    backtrader ``PandasData`` feed. Measure on ``bto.Window(150, None, warmup=150)``."""
    import pandas as pd

    r = np.diff(np.log(bto.datasets.load_dataframe("orcl")["close"].to_numpy()))
    rng = np.random.default_rng(seed)
    n = n_bars + 150
    close = 30 * np.exp(np.cumsum(rng.choice(r - r.mean(), size=n)))
    df = pd.DataFrame({"open": close * np.exp(rng.normal(0, 0.002, n)), "close": close},
                      index=pd.bdate_range("2001-01-01", periods=n))
    df["high"] = df[["open", "close"]].max(axis=1) * 1.005
    df["low"] = df[["open", "close"]].min(axis=1) * 0.995
    df["volume"] = 1e6
    c = bto.Cerebro(maxcpus=2)
    c.adddata(bt.feeds.PandasData(dataname=df))
    c.broker.setcash(100_000)
    c.addsizer(bt.sizers.PercentSizer, percents=95)
    return c


def null_matrix(seed: int, grid: str, cache: pathlib.Path | None = None) -> tuple[np.ndarray, int]:
    """The trials' returns (bars x trials) of ``grid`` on :func:`no_edge_cerebro`'s path of ``seed``, and the best
    trial's column.

    With ``cache``, the matrix is read from (or written to) ``cache / f"{grid}-{seed}.npz"``, so that it can be
    measured again without re-running the backtests."""
    path = cache / f"{grid}-{seed}.npz" if cache is not None else None
    if path is not None and path.exists():
        with np.load(path) as z:
            return z["m"], int(z["best"])
    study = no_edge_cerebro(seed).optimize_grid(SmaCross, progress=False, window=bto.Window(150, None, warmup=150),
                                                **GRIDS[grid])
    numbers = sorted(t.number for t in study.get_trials((bto.TrialState.COMPLETE,)))
    assert study.n_ran == len(numbers), "every trial of a grid on this path completes"
    returns = study.trial_returns(numbers)
    m, best = np.column_stack([returns[n] for n in numbers]), numbers.index(study.best_trial.number)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, m=m, best=best)
    return m, best


def null_run(seed: int, grid: str = "narrow", cache: pathlib.Path | None = None) -> dict[str, object]:
    """``grid`` on :func:`no_edge_cerebro`'s path: the overfitting report of a search with nothing to find (what
    ``study.overfitting()`` reports, computed from the study's returns matrix)."""
    m, best = null_matrix(seed, grid, cache)
    rep = overfitting_report(m, best, n_trials=m.shape[1])
    return dict(seed=seed, grid=grid, dsr=rep.dsr, psr=rep.psr, pbo=rep.pbo, n_eff=rep.n_effective,
                verdict=rep.verdict)


def _median(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f}" if xs else ""


def _share(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)}" if flags else ""


def write(rows: list[dict[str, object]], null: list[dict[str, object]] | None = None) -> str:
    """The docs fragment."""
    out = ["## Overfitting statistics on short stretches: a survey of every year",
           "",
           "`python benchmarks/overfitting_survey.py`: `SmaCross` fitted by `optimize_grid` on every calendar year "
           "(and every two-year stretch) of the bundled ORCL and NVDA daily data, then `study.overfitting()` "
           "(16 CSCV blocks). Then the whole grid runs on the following year, which the search never saw: "
           "`next-year rank` is where the fitted best lands among the grid's points there (1 = best, 0.5 = the "
           "median; PBO is the chance it lands below 0.5). No stretch was chosen: every one is listed.",
           ""]
    out += ["| grid | stretch | stretches | median DSR | DSR < 0.5 | median PBO | PBO >= 0.5 | likely_overfit "
            "| best below the median next year: flagged | : not flagged |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for grid in GRIDS:
        for span in ("1 year", "2 years"):
            sel = [r for r in rows if r["grid"] == grid and ("-" in str(r["stretch"])) == (span == "2 years")]
            if not sel:
                continue
            dsr = [float(r["dsr"]) for r in sel if r["dsr"] is not None]
            pbo = [float(r["pbo"]) for r in sel if r["pbo"] is not None]
            flagged = [r["verdict"] == "likely_overfit" for r in sel]
            ranked = [r for r in sel if r["oos_rank"] is not None]
            below = {f: [float(r["oos_rank"]) < 0.5 for r in ranked if (r["verdict"] == "likely_overfit") == f]
                     for f in (True, False)}
            out.append(f"| {grid} | {span} | {len(sel)} | {_median(dsr)} | {_share([d < 0.5 for d in dsr])} | "
                       f"{_median(pbo)} | {_share([p >= 0.5 for p in pbo])} | {_share(flagged)} | "
                       f"{_share(below[True])} | {_share(below[False])} |")
    if null:
        out += ["", "**Calibration on paths with nothing to find.** The grids on synthetic one-year paths (ORCL's "
                "daily returns demeaned and redrawn at random: no drift, no configuration has an edge; `null_run` in "
                "the script). Under this null the grid's best should look about as good as luck predicts, so a "
                "calibrated DSR sits near 0.5 and rarely reaches 0.95, while the PSR (no deflation) is fooled:",
                "",
                "| grid | paths | median effective trials | median PSR | PSR >= 0.95 | median DSR | DSR < 0.5 "
                "| DSR >= 0.95 | median PBO | PBO >= 0.5 | likely_overfit |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for grid in GRIDS:
            sel = [r for r in null if r.get("grid", "narrow") == grid]
            if not sel:
                continue
            dsr = [float(r["dsr"]) for r in sel]
            pbo = [float(r["pbo"]) for r in sel]
            psr = [float(r["psr"]) for r in sel]
            n_eff = statistics.median(float(r["n_eff"]) for r in sel)
            out.append(f"| {grid} | {len(sel)} | {n_eff:.0f} | {_median(psr)} | "
                       f"{_share([p >= 0.95 for p in psr])} | {_median(dsr)} | {_share([d < 0.5 for d in dsr])} | "
                       f"{_share([d >= 0.95 for d in dsr])} | {_median(pbo)} | {_share([p >= 0.5 for p in pbo])} | "
                       f"{_share([r['verdict'] == 'likely_overfit' for r in sel])} |")
    out += ["", "Every stretch:", "",
            "| stock | stretch | grid | trials (effective) | best Sharpe | PSR | DSR | PBO | verdict "
            "| next-year Sharpe: best | : grid median | next-year rank |",
            "|---|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['stock']} | {r['stretch']} | {r['grid']} | {r['n']} ({fmt(r['n_eff'], 1)}) | "
                   f"{fmt(r['sr'])} | {fmt(r['psr'])} | {fmt(r['dsr'])} | {fmt(r['pbo'])} | {r['verdict']} | "
                   f"{fmt(r['oos_best'])} | {fmt(r['oos_median'])} | {fmt(r['oos_rank'])} |")
    return "\n".join(out) + "\n"


def main() -> None:
    """Run the survey and write the fragment."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", default="narrow,wide")
    ap.add_argument("--stocks", default="orcl,nvda")
    ap.add_argument("--spans", default="1,2")
    ap.add_argument("--wide-limit", default="orcl:1",
                    help="stock:spans the wide grid runs on (it costs 9x the narrow one); 'all' for every one")
    ap.add_argument("--wide-step", type=int, default=4, help="the wide grid runs on every k-th stretch only")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--from-json", help="rebuild the fragment from a saved run's rows")
    ap.add_argument("--null-paths", type=int, default=40, help="synthetic no-edge paths for the narrow grid")
    ap.add_argument("--null-wide-paths", type=int, default=20, help="synthetic no-edge paths for the wide grid")
    ap.add_argument("--cache", type=pathlib.Path, default=None,
                    help="directory for the no-edge paths' returns (shared with overfitting_neff.py)")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    if a.from_json:
        saved = json.loads(pathlib.Path(a.from_json).read_text())
        OUTPUT.write_text(write(saved["rows"], saved["null"]))
        return
    rows = []
    for grid in filter(None, a.grids.split(",")):
        for stock in a.stocks.split(","):
            for span in (int(s) for s in a.spans.split(",")):
                if grid == "wide" and a.wide_limit != "all" and f"{stock}:{span}" not in a.wide_limit.split(","):
                    continue
                for first in YEARS[stock]:
                    if first + span - 1 > max(YEARS[stock]):
                        continue
                    if grid == "wide" and (first - min(YEARS[stock])) % a.wide_step:
                        continue
                    row = one(stock, first, span, grid)
                    rows.append(row)
                    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    null = []
    for grid, paths in (("narrow", a.null_paths), ("wide", a.null_wide_paths)):
        for seed in range(paths):
            null.append(null_run(seed, grid, a.cache))
            print(null[-1], flush=True)
    text = write(rows, null)
    print(text)
    if not a.no_docs:
        saved = ROOT / "benchmarks" / "results" / "overfitting_survey.json"
        saved.parent.mkdir(exist_ok=True)
        saved.write_text(json.dumps(dict(rows=rows, null=null), indent=1))
        OUTPUT.write_text(text)


if __name__ == "__main__":
    main()
