"""Where a worker trial's time goes: cProfile of whole trials, and the per-trial cost outside ``Cerebro.run``.

A trial in a worker is more than the backtest: it unpickles the Cerebro template, rebuilds the feeds from arrays,
adds the strategy and the ``Performance`` analyzer, runs, then turns the analyzers into plain data. This script
runs whole trials exactly as a worker does (``Runtime.run``) and measures:

1. **Per-trial overhead**: the time of ``Runtime.run`` spent outside ``bt.Cerebro.run``, as a share of the
   trial, on a small backtest (ORCL 2013-2014, about 500 bars) and a large one (ORCL 1995-2014, about 5,000 bars,
   about 0.3 s on an idle core). ``bt.Cerebro.run`` is wrapped by a timer for the measurement only.
2. **Profile**: the top entries of cProfile (cumulative time) over the large trials.

Both are measured for this tree and, with ``--before REV``, for the code at git revision ``REV`` (checked out into
a temporary worktree), each in its own subprocess, alternating, in one run. The markdown fragment is written to
``docs/benchmarks_trial.md``.

Usage::

    python benchmarks/trial_profile.py --before 91fbf3e
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pathlib
import pstats
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks_trial.md"
SIZES = {"small": ("2013-01-01", "2014-12-31"), "large": (None, None)}
POINTS = [(10, 60), (20, 90), (15, 120), (5, 200), (30, 150), (8, 40)]


def child(size: str, repeats: int) -> dict:
    """Run the trials of ``size`` in this process (whatever bt_optimize is first on sys.path) and measure."""
    import backtrader as bt

    import bt_optimize as bto
    from bt_optimize.engine.data import snapshot_feeds
    from bt_optimize.engine.worker import Payload, Runtime, TrialSpec, pack_template
    from bt_optimize.objective import Objective
    from sample_strategies import SmaCross

    fromdate, todate = SIZES[size]
    c = bto.Cerebro()
    kw = {k: v for k, v in (("fromdate", fromdate), ("todate", todate)) if v}
    c.adddata(bto.datasets.load("orcl", **kw))
    c.broker.setcash(100_000)
    c.addsizer(bt.sizers.PercentSizer, percents=95)
    payload = Payload(template=pack_template(c), feeds=snapshot_feeds(c), strategy=SmaCross,
                      objective=Objective("sharpe_ratio", None))
    rt = Runtime(pickle_roundtrip(payload))
    inside = [0.0]
    plain_run = bt.Cerebro.run

    def timed_run(self, *a, **k):
        t = time.perf_counter()
        try:
            return plain_run(self, *a, **k)
        finally:
            inside[0] += time.perf_counter() - t

    bt.Cerebro.run = timed_run
    specs = [TrialSpec(i, {"fast": f, "slow": s}) for i, (f, s) in enumerate(POINTS)]
    rt.run(specs[0])  # warm caches (imports, the sliced feeds) as a worker's first trial does
    totals, outs, values = [], [], []
    for _ in range(repeats):
        for spec in specs:
            inside[0] = 0.0
            t = time.perf_counter()
            res, _ = rt.run(spec)
            total = time.perf_counter() - t
            totals.append(total)
            outs.append(total - inside[0])
            values.append(res.value)
    bt.Cerebro.run = plain_run
    out = {"size": size, "bars": len(payload.feeds[0]), "trial_s": statistics.median(totals),
           "outside_s": statistics.median(outs), "values": values[:len(specs)]}
    if size == "large":
        prof = cProfile.Profile()
        prof.enable()
        for spec in specs:
            rt.run(spec)
        prof.disable()
        st = pstats.Stats(prof)
        total = max(v[3] for v in st.stats.values())
        rows = sorted(st.stats.items(), key=lambda kv: -kv[1][3])
        top = []
        for (fn, line, name), (_cc, nc, tt, ct, _callers) in rows:
            where = fn.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            if "/bt_optimize/" in fn:
                where = "bt_optimize/" + fn.split("/bt_optimize/")[-1]
            top.append([f"{where}:{line}({name})", nc, ct / total, tt / total])
            if len(top) == 16:
                break
        out["profile"] = top
    return out


def pickle_roundtrip(payload):
    """The payload as a worker receives it (pickled once)."""
    import pickle

    return pickle.dumps(payload)


def run_child(tree: pathlib.Path, size: str, repeats: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, str(pathlib.Path(__file__).resolve()), "--child", size, "--repeats", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tree, env=env)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"child {tree} {size} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


def report(res: dict[str, dict[str, list[dict]]], before: str | None, repeats: int) -> str:
    labels = ["after"] + (["before"] if before else [])
    lines = ["## Per-trial cost in a worker", "",
             "Measured by `python benchmarks/trial_profile.py" + (f" --before {before}" if before else "") + "`: "
             "whole trials run exactly as a worker runs them (`Runtime.run`: unpickle the template, rebuild the "
             "feeds from arrays, add the strategy and `Performance`, run, pack the results), `SmaCross` on ORCL, "
             f"{len(POINTS)} parameter points x {repeats} repeats, each tree in its own subprocess, alternating. "
             "'outside run()' is the time of a trial not spent in backtrader's `Cerebro.run`.", ""]
    lines += ["| code | backtest | bars | trial time, median (s) | outside run(), median (ms) | outside run() share |"
              " large trial time after / before |", "|---|---|---:|---:|---:|---:|---:|"]
    for lab in labels:
        for size in SIZES:
            rs = res[lab][size]
            trial = statistics.median(r["trial_s"] for r in rs)
            outside = statistics.median(r["outside_s"] for r in rs)
            ratio = ""
            if before and size == "large" and lab == "after":
                b = statistics.median(r["trial_s"] for r in res["before"][size])
                ratio = f"{trial / b:.2f}"
            lines.append(f"| {lab} | {size} | {rs[0]['bars']:,} | {trial:.3f} | {outside * 1e3:.2f} | "
                         f"{outside / trial:.1%} | {ratio} |")
    if before:
        same = all(res["after"][s][0]["values"] == res["before"][s][0]["values"] for s in SIZES)
        lines += ["", f"Objective values of every trial, after vs before: {'identical' if same else 'DIFFERENT'}."]
    for lab in labels:
        prof = res[lab]["large"][0]["profile"]
        lines += ["", f"Top of the cProfile of the large trials ({lab}; share of the total time, cumulative and own):",
                  "", "| function | calls | cumulative | own |", "|---|---:|---:|---:|"]
        for name, nc, cum, own in prof:
            lines.append(f"| `{name}` | {nc:,} | {cum:.1%} | {own:.1%} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", help="git revision to compare with (checked out into a temporary worktree)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of subprocesses")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=pathlib.Path, default=OUTPUT)
    args = ap.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.repeats)), flush=True)
        return 0
    trees = {"after": ROOT}
    tmp = None
    if args.before:
        tmp = tempfile.mkdtemp(prefix="bto-before-")
        subprocess.run(["git", "worktree", "add", "--detach", tmp, args.before], cwd=ROOT, check=True,
                       capture_output=True)
        trees["before"] = pathlib.Path(tmp)
    try:
        res: dict[str, dict[str, list[dict]]] = {lab: {s: [] for s in SIZES} for lab in trees}
        for r in range(args.rounds):
            for lab in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
                for size in SIZES:
                    out = run_child(trees[lab], size, args.repeats)
                    res[lab][size].append(out)
                    print(f"round {r + 1} {lab:<6} {size}: trial {out['trial_s']:.3f} s, outside run() "
                          f"{out['outside_s'] * 1e3:.2f} ms", flush=True)
    finally:
        if tmp:
            subprocess.run(["git", "worktree", "remove", "--force", tmp], cwd=ROOT, capture_output=True)
    text = report(res, args.before, args.repeats)
    print(text)
    args.out.write_text(text)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
