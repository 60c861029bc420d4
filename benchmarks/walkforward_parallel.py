"""Walk-forward parallelism: how busy the workers are, before and after windows shared one pool.

One walk-forward, 8 windows x 40 random trials, ``maxcpus=2``: ``SmaCross`` (fast Int(5, 60), slow Int(40, 200,
step=5)) on ORCL daily bars 2004-2009, train 400 bars, test 125 bars, warmup 100, ``select="train"`` (each
window: 40 trials on train, then the pick once on test), objective ``sharpe_ratio``, seed 7, in-memory storage.

Utilisation = (sum of every trial's backtest time / 2 workers) / wall time of the ``walk_forward`` call: 1.0
means both workers ran backtests all the time; what is left is set-up (snapshot, worker start-up), main-process
work between trials and idle cores at window boundaries.

Three variants, each in a fresh process, alternating within every repeat, medians reported:

- **old**: the code as it was before the walk-forward became a package (``git archive`` of the parent of the
  commit that removed ``bt_optimize/walkforward.py``): every window snapshots the feeds and starts its own
  workers, windows one after another, validation/test runs in fresh pools or in the main process.
- **new, one window at a time**: today's code with ``parallel=False``: feeds and workers set up once, windows
  still one after another through the same pool.
- **new**: today's code: windows side by side through one shared pool (two-level parallelism).

The three must choose the same parameters and give the same out-of-sample values (checked; the script stops
otherwise). Writes ``docs/benchmarks_walkforward.md``.

Usage: ``python benchmarks/walkforward_parallel.py [--repeats 3] [--out docs/benchmarks_walkforward.md]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks_walkforward.md"
N_TRIALS = 40
SETUP = dict(train=400, test=125, warmup=100, select="train")
SPACE = "fast=bto.Int(5, 60), slow=bto.Int(40, 200, step=5)"


def child(variant: str) -> None:
    """Run one walk-forward in this process (with whichever bt_optimize is on the path) and print JSON."""
    import backtrader as bt

    import bt_optimize as bto
    from sample_strategies import SmaCross

    if variant == "sequential":
        import functools

        import bt_optimize.walkforward.run as wf_run

        wf_run.run_walk_forward = functools.partial(wf_run.run_walk_forward, parallel=False)
    cerebro = bto.Cerebro(maxcpus=2)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2004-01-01", todate="2009-12-31"))
    cerebro.broker.setcash(100_000)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    t0 = time.perf_counter()
    wf = cerebro.walk_forward(SmaCross, method="random", n_trials=N_TRIALS, seed=7, progress=False,
                              fast=bto.Int(5, 60), slow=bto.Int(40, 200, step=5), **SETUP)
    wall = time.perf_counter() - t0
    studies = list(wf.studies) + [s for s in wf.validation_studies if s is not None] + list(wf.test_studies)
    busy = sum(t.duration_s for s in studies for t in s.get_trials())
    n = sum(len(s.get_trials()) for s in studies)
    picks = wf.windows[["params_fast", "params_slow", "oos_value"]].round(10).values.tolist()
    print(json.dumps({"wall": wall, "busy": busy, "n_backtests": n, "n_windows": len(wf.windows),
                      "picks": picks}))


def old_tree(tmp: Path) -> tuple[Path, str]:
    """Extract the code before the walk-forward package into ``tmp``; returns the path and the commit."""
    gone = subprocess.check_output(["git", "rev-list", "-1", "HEAD", "--", "bt_optimize/walkforward.py"], cwd=ROOT,
                                   text=True).strip()
    ref = subprocess.check_output(["git", "rev-parse", f"{gone}^"], cwd=ROOT, text=True).strip()
    archive = tmp / "old.tar"
    with open(archive, "wb") as f:
        subprocess.check_call(["git", "archive", ref, "bt_optimize", "sample_strategies"], cwd=ROOT, stdout=f)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp / "old", filter="data")
    return tmp / "old", ref


def run(variant: str, path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.check_output([sys.executable, __file__, "--child", variant], cwd=path, env=env, text=True)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--child", choices=["old", "sequential", "new"])
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    variants = ["old", "sequential", "new"]
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    load = []
    with tempfile.TemporaryDirectory() as tmp:
        old_path, _ = old_tree(Path(tmp))
        paths = {"old": old_path, "sequential": ROOT, "new": ROOT}
        for r in range(args.repeats):
            order = variants[r % 3:] + variants[:r % 3]
            for v in order:
                load.append(os.getloadavg()[0])
                res = run(v, paths[v])
                runs[v].append(res)
                print(f"repeat {r + 1} {v:>10}: wall {res['wall']:.1f} s, busy {res['busy']:.1f} s, "
                      f"utilisation {res['busy'] / 2 / res['wall']:.3f}", flush=True)
    picks = {v: runs[v][0]["picks"] for v in variants}
    if not (picks["old"] == picks["sequential"] == picks["new"]):
        raise SystemExit(f"the variants chose differently: {picks}")

    def med(v: str, key: str) -> float:
        return statistics.median(x[key] for x in runs[v])

    def util(v: str) -> float:
        return statistics.median(x["busy"] / 2 / x["wall"] for x in runs[v])

    names = {"old": "old: per-window set-up, windows one after another",
             "sequential": "new, `parallel=False`: one set-up, windows one after another",
             "new": "new: one set-up, windows side by side in one pool"}
    lines = [
        "# Walk-forward: windows side by side",
        "",
        f"`python benchmarks/walkforward_parallel.py`: one walk-forward of {runs['new'][0]['n_windows']} windows x "
        f"{N_TRIALS} random trials, `maxcpus=2`: `SmaCross` ({SPACE}) on ORCL daily bars 2004-2009, train 400 bars, "
        "test 125, warmup 100, `select=\"train\"` (40 trials on train, then the pick once on test), seed 7. "
        "Utilisation = (sum of the trials' backtest times / 2 workers) / wall time of the `walk_forward` call. Each "
        f"run in a fresh process, the three variants alternating, {args.repeats} repeats, medians. All three chose "
        "the same parameters and gave the same out-of-sample values. \"old\" is the code just before the walk-forward "
        "became a package (the parent of the commit that removed `bt_optimize/walkforward.py`).",
        "",
        "| variant | backtests | busy (s) | wall (s) | utilisation |",
        "|---|---:|---:|---:|---:|",
    ]
    for v in variants:
        lines.append(f"| {names[v]} | {runs[v][0]['n_backtests']} | {med(v, 'busy'):.1f} | {med(v, 'wall'):.1f} | "
                     f"{util(v):.3f} |")
    lines += [
        "",
        f"Utilisation new / old: **{util('new') / util('old'):.2f}x**; wall time old / new: "
        f"**{med('old', 'wall') / med('new', 'wall'):.2f}x**.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}; load "
        f"average during the runs {min(load):.1f} to {max(load):.1f} (other work shared the machine, so the "
        "backtest times themselves vary; the utilisation ratio is the point).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
