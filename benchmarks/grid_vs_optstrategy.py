"""Grid search: ``bto.Cerebro.optimize_grid`` against backtrader's own ``optstrategy``, side by side in one run.

Three measurements:

1. **Speed against optstrategy.** The same 60-point grid (``SmaCross`` fast=range(5, 55, 5) x
   slow=range(60, 240, 30); every point has fast < slow, so no constraint is needed and both run exactly the
   same points) on the full ORCL data (1995-2014), broker cash 100,000, ``PercentSizer(percents=95)``:

   * backtrader: ``bt.Cerebro(maxcpus=2)`` (and ``maxcpus=1``) + ``optstrategy`` + ``run()`` with
     ``bto.analyzers.Performance`` (``_name="perf"``) to read each point's Sharpe ratio (default ``optreturn=True``);
   * bt_optimize: ``bto.Cerebro(maxcpus=2).optimize_grid(..., objective="sharpe_ratio",
     storage=<fresh tmp SQLite file>)``, every trial committed to the file.

   The Sharpe ratios must agree point by point (absolute tolerance 1e-9) or the script stops with an error.
   Only ``run()`` / ``optimize_grid()`` is timed; both include loading the CSV.
2. **Parallel speed-up.** ``optimize_grid`` with ``maxcpus=2`` against ``maxcpus=1`` (serial, in the main
   process) on the same grid.

   The runs of 1 and 2 alternate in one loop (the order rotates every repeat) and medians are taken.
3. **Main-process memory.** Peak RSS (``ru_maxrss`` of ``RUSAGE_SELF``: the main process only, workers are
   separate) of ``optimize_grid`` over a 20,000-point grid against a 200-point grid, on one year of ORCL
   (2014), ``objective="total_return"``, SQLite storage, ``maxcpus=2``. Each run is a fresh subprocess. The
   20,000-point grid is ``fast=Int(2, 51) x slow=Int(52, 151) x stop=[0, 0.05] x ma=["sma", "ema"]`` (every
   point has fast < slow and a slow average shorter than the year, so every trial completes); the 200- and
   2,000-point grids are coarser versions of it. For context, backtrader's ``optstrategy`` is measured the
   same way on the small grids, and on the largest one only if a linear projection from the 2,000-point run
   stays reasonable (see ``--bt-memory``).

The markdown fragment is printed and written to ``docs/benchmarks_grid.md`` (with ``--quick`` only when
``--out`` is given, so a quick check never overwrites the full results).

Usage::

    python benchmarks/grid_vs_optstrategy.py            # full: 3 repeats, 20,000 vs 200 points (~40 min)
    python benchmarks/grid_vs_optstrategy.py --quick    # 1 repeat, 2,000 vs 200 points
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import backtrader as bt

import bt_optimize as bto
from sample_strategies import SmaCross

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks_grid.md"
TOL = 1e-9
CASH = 100_000
PERCENTS = 95

# Part 1 and 2: the 60-point grid on the full ORCL data.
SPEED_GRID = {"fast": range(5, 55, 5), "slow": range(60, 240, 30)}

# Part 3: nested grids on ORCL 2014. ("int", low, high, step) -> bto.Int / range; a list -> bto.Cat / list.
MEM_FROMDATE, MEM_TODATE = "2014-01-01", "2014-12-31"
MEM_OBJECTIVE = "total_return"
_CATS = {"stop": [0.0, 0.05], "ma": ["sma", "ema"]}
MEM_GRIDS: dict[str, dict[str, Any]] = {
    "200": {"fast": ("int", 2, 42, 10), "slow": ("int", 52, 142, 10), **_CATS},
    "2000": {"fast": ("int", 2, 51, 1), "slow": ("int", 52, 142, 10), **_CATS},
    "20000": {"fast": ("int", 2, 51, 1), "slow": ("int", 52, 151, 1), **_CATS},
}


# ---------------------------------------------------------------------------------------------- helpers
def grid_size(grid: dict[str, Any]) -> int:
    n = 1
    for v in grid.values():
        n *= len(range(v[1], v[2] + 1, v[3])) if isinstance(v, tuple) else len(v)
    return n


def bto_space(grid: dict[str, Any]) -> dict[str, Any]:
    return {k: bto.Int(v[1], v[2], step=v[3]) if isinstance(v, tuple) else bto.Cat(list(v)) for k, v in grid.items()}


def bt_space(grid: dict[str, Any]) -> dict[str, Any]:
    return {k: range(v[1], v[2] + 1, v[3]) if isinstance(v, tuple) else list(v) for k, v in grid.items()}


def configure(cerebro: bt.Cerebro, **load_kw: Any) -> bt.Cerebro:
    cerebro.adddata(bto.datasets.load("orcl", **load_kw))
    cerebro.broker.setcash(CASH)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=PERCENTS)
    return cerebro


def maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def vm_hwm_mb() -> float | None:
    """Peak RSS of this process's current address space (Linux ``VmHWM``), a cross-check of ``ru_maxrss``."""
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def machine_busy_seconds() -> float | None:
    """CPU seconds spent busy by the whole machine so far (Linux ``/proc/stat``), every process included."""
    try:
        fields = pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def reap_children(timeout: float = 30.0) -> None:
    """Wait for finished worker processes (backtrader closes its Pool without joining it) so their CPU time
    is counted in ``RUSAGE_CHILDREN``."""
    deadline = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.02)


def point_key(params: dict[str, Any]) -> tuple:
    return tuple(sorted(params.items()))


# ---------------------------------------------------------------------------------------------- part 1 and 2
Timing = tuple[float, float, float | None]  # wall s, CPU s (main process + workers), other processes' cores


def timing(wall: float, cpu: float, m0: float | None, m1: float | None) -> Timing:
    """Wall and CPU seconds of a run, and the cores other processes kept busy meanwhile on average."""
    others = None if m0 is None or m1 is None else max(0.0, (m1 - m0 - cpu) / wall)
    return wall, cpu, others


def run_optstrategy(maxcpus: int) -> tuple[Timing, dict[tuple, float | None]]:
    cerebro = configure(bt.Cerebro(maxcpus=maxcpus))
    cerebro.optstrategy(SmaCross, **SPEED_GRID)
    cerebro.addanalyzer(bto.analyzers.Performance, _name="perf")
    reap_children()
    c0, m0, t0 = cpu_seconds(), machine_busy_seconds(), time.perf_counter()
    results = cerebro.run()
    wall = time.perf_counter() - t0
    m1 = machine_busy_seconds()
    reap_children()
    elapsed = timing(wall, cpu_seconds() - c0, m0, m1)
    values = {}
    for res in results:
        r = res[0]
        values[point_key({k: getattr(r.params, k) for k in SPEED_GRID})] = r.analyzers.perf.get_analysis()[
            "sharpe_ratio"]
    return elapsed, values


def run_optimize_grid(maxcpus: int) -> tuple[Timing, dict[tuple, float | None]]:
    cerebro = configure(bto.Cerebro(maxcpus=maxcpus))
    reap_children()
    with tempfile.TemporaryDirectory(prefix="bto-bench-") as tmp:
        c0, m0, t0 = cpu_seconds(), machine_busy_seconds(), time.perf_counter()
        study = cerebro.optimize_grid(SmaCross, objective="sharpe_ratio", storage=os.path.join(tmp, "grid.db"),
                                      progress=False, **SPEED_GRID)
        wall = time.perf_counter() - t0
        m1 = machine_busy_seconds()
        reap_children()
        elapsed = timing(wall, cpu_seconds() - c0, m0, m1)
        trials = study.get_trials()
        study.storage.close()
    bad = [t for t in trials if t.state is not bto.TrialState.COMPLETE]
    if bad:
        raise SystemExit(f"optimize_grid(maxcpus={maxcpus}): {len(bad)} trials did not complete, e.g. "
                         f"{bad[0].params}: {bad[0].state} {bad[0].error}")
    return elapsed, {point_key(t.params): t.value for t in trials}


def check_equal(label: str, ref: dict[tuple, float | None], got: dict[tuple, float | None]) -> None:
    """Stop the benchmark if ``got`` does not hold the same points with the same Sharpe ratios as ``ref``."""
    if set(ref) != set(got):
        raise SystemExit(f"MISMATCH {label}: different points; only in optstrategy: {sorted(set(ref) - set(got))[:5]}"
                         f", only in optimize_grid: {sorted(set(got) - set(ref))[:5]}")
    wrong = []
    for k, a in ref.items():
        b = got[k]
        if a is None or b is None:
            if a is not b:
                wrong.append((k, a, b))
        elif abs(a - b) > TOL:
            wrong.append((k, a, b))
    if wrong:
        lines = "\n".join(f"  {dict(k)}: optstrategy {a!r} vs optimize_grid {b!r}" for k, a, b in wrong[:10])
        raise SystemExit(f"MISMATCH {label}: {len(wrong)} of {len(ref)} Sharpe ratios differ by more than "
                         f"{TOL}:\n{lines}")


def speed(repeats: int) -> dict[str, Any]:
    runners: dict[str, Callable[[], tuple[Timing, dict]]] = {
        "optstrategy": lambda: run_optstrategy(2),
        "optstrategy1": lambda: run_optstrategy(1),
        "grid2": lambda: run_optimize_grid(2),
        "grid1": lambda: run_optimize_grid(1),
    }
    names = list(runners)
    times: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    others: list[float] = []
    ref: dict[tuple, float | None] | None = None
    unchecked: list[tuple[str, dict[tuple, float | None]]] = []
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            (wall, cpu, other), values = runners[name]()
            times[name].append(wall)
            cpus[name].append(cpu)
            if other is not None:
                others.append(other)
            print(f"  repeat {r + 1}/{repeats} {name:<12} wall {wall:7.2f} s  cpu {cpu:7.2f} s  other processes "
                  f"{'?' if other is None else f'{other:.2f}'} cores", flush=True)
            if ref is None and name == "optstrategy":
                ref = values  # every run, of either kind, must match the first optstrategy run
            unchecked.append((f"{name} repeat {r + 1}", values))
            if ref is not None:
                for label, vals in unchecked:
                    check_equal(label, ref, vals)
                unchecked.clear()
    assert ref is not None and not unchecked
    med = {n: statistics.median(v) for n, v in times.items()}
    cpu_med = {n: statistics.median(v) for n, v in cpus.items()}
    return {"times": times, "cpus": cpus, "median": med, "cpu_median": cpu_med, "n_points": len(ref),
            "others": others, "ratio_grid_vs_bt": med["grid2"] / med["optstrategy"],
            "ratio_grid_vs_bt_1": med["grid1"] / med["optstrategy1"],
            "cpu_ratio_grid_vs_bt": cpu_med["grid2"] / cpu_med["optstrategy"],
            "cpu_ratio_2_vs_1": cpu_med["grid2"] / cpu_med["grid1"],
            "speedup_2_vs_1": med["grid1"] / med["grid2"]}


# ---------------------------------------------------------------------------------------------- part 3
def child(spec: dict[str, Any]) -> None:
    """Run one optimization in this (fresh) process and print its peak RSS as a JSON line."""
    warnings.filterwarnings("ignore", message="the grid has")
    grid = MEM_GRIDS[spec["grid"]]
    kind = spec["kind"]
    cerebro = configure((bt.Cerebro if kind == "optstrategy" else bto.Cerebro)(maxcpus=2),
                        fromdate=MEM_FROMDATE, todate=MEM_TODATE)
    base = maxrss_mb()
    t0 = time.perf_counter()
    if kind == "optstrategy":
        cerebro.addanalyzer(bto.analyzers.Performance, _name="perf")
        cerebro.optstrategy(SmaCross, **bt_space(grid))
        results = cerebro.run()
        peak, hwm = maxrss_mb(), vm_hwm_mb()
        elapsed = time.perf_counter() - t0
        n_done = sum(1 for r in results if r and r[0].analyzers.perf.get_analysis().get(MEM_OBJECTIVE) is not None)
        n = len(results)
    else:
        with tempfile.TemporaryDirectory(prefix="bto-bench-") as tmp:
            study = cerebro.optimize_grid(SmaCross, objective=MEM_OBJECTIVE, storage=os.path.join(tmp, "mem.db"),
                                          progress=False, **bto_space(grid))
            peak, hwm = maxrss_mb(), vm_hwm_mb()
            elapsed = time.perf_counter() - t0
            trials = study.get_trials()
            n, n_done = len(trials), sum(1 for t in trials if t.state is bto.TrialState.COMPLETE)
            study.storage.close()
    print("RESULT " + json.dumps({"kind": kind, "grid": spec["grid"], "n": n, "complete": n_done, "base_mb": base,
                                  "peak_mb": peak, "vm_hwm_mb": hwm, "seconds": elapsed}), flush=True)


def measure(kind: str, grid: str) -> dict[str, Any]:
    cmd = [sys.executable, str(pathlib.Path(__file__).resolve()), "--child", json.dumps({"kind": kind, "grid": grid})]
    if os.name == "posix":
        # Linux keeps ru_maxrss across fork + exec, so a direct child would start at this process's peak.
        # A shell in between (which forks, not execs, the command) gives the child a clean count.
        cmd = ["/bin/sh", "-c", '"$0" "$@"; exit $?', *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"memory child {kind}/{grid} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    res = json.loads(line[len("RESULT "):])
    expected = grid_size(MEM_GRIDS[grid])
    if res["n"] != expected or res["complete"] != expected:
        raise SystemExit(f"memory child {kind}/{grid}: {res['complete']} of {res['n']} points complete, "
                         f"expected {expected}")
    print(f"  {kind:<12} {expected:>6,} points: peak {res['peak_mb']:.1f} MB (before the run "
          f"{res['base_mb']:.1f} MB, VmHWM {res['vm_hwm_mb']}) in {res['seconds']:.0f} s", flush=True)
    if res["vm_hwm_mb"] is not None and abs(res["vm_hwm_mb"] - res["peak_mb"]) > 0.05 * res["peak_mb"]:
        raise SystemExit(f"memory child {kind}/{grid}: ru_maxrss {res['peak_mb']:.1f} MB disagrees with VmHWM "
                         f"{res['vm_hwm_mb']:.1f} MB; the peak is polluted")
    return res


def mem_available_mb() -> float | None:
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def memory(quick: bool, bt_memory: str) -> dict[str, Any]:
    big = "2000" if quick else "20000"
    sizes = ["200", "2000"] if quick else ["200", "2000", "20000"]
    out: dict[str, Any] = {"big": big, "bto": {}, "bt": {}, "bt_note": ""}
    for g in sizes:
        out["bto"][g] = measure("optimize_grid", g)
    if bt_memory == "skip":
        out["bt_note"] = "skipped (--bt-memory skip)"
        return out
    for g in ("200", "2000"):
        out["bt"][g] = measure("optstrategy", g)
    if big != "2000":
        r = out["bt"]["2000"]
        slope = (r["peak_mb"] - r["base_mb"]) / 2000
        projected = r["base_mb"] + slope * grid_size(MEM_GRIDS[big])
        avail = mem_available_mb()
        limit = min(4096.0, 0.4 * avail) if avail else 4096.0
        if bt_memory == "run" or projected <= limit:
            out["bt"][big] = measure("optstrategy", big)
            out["bt_note"] = f"run: projected {projected:,.0f} MB from the 2,000-point run, limit {limit:,.0f} MB"
        else:
            out["bt_note"] = (f"{big}-point run skipped: projected {projected:,.0f} MB from the 2,000-point run "
                              f"exceeds the limit of {limit:,.0f} MB")
    return out


# ---------------------------------------------------------------------------------------------- report
def fmt_grid(grid: dict[str, Any]) -> str:
    parts = []
    for k, v in grid.items():
        if isinstance(v, tuple):
            parts.append(f"{k}=Int({v[1]}, {v[2]}" + (f", step={v[3]})" if v[3] != 1 else ")"))
        else:
            parts.append(f"{k}={v}")
    return " x ".join(parts)


def report(sp: dict[str, Any] | None, mem: dict[str, Any] | None, repeats: int, quick: bool,
           load: tuple[float, float]) -> str:
    lines = ["## Grid search: `optimize_grid` vs backtrader's `optstrategy`", ""]
    lines.append(f"Measured side by side in one run by `python benchmarks/grid_vs_optstrategy.py"
                 f"{' --quick' if quick else ''}`. The machine is shared and noisy, so only ratios are reported.")
    lines += ["", "| measure | result | target | met |", "|---|---:|---:|:-:|"]
    if sp:
        r, s = sp["ratio_grid_vs_bt"], sp["speedup_2_vs_1"]
        r1 = sp["ratio_grid_vs_bt_1"]
        lines.append(f"| time `optimize_grid` / `optstrategy` (both maxcpus=2) | {r:.2f} | <= 0.80 | "
                     f"{'yes' if r <= 0.8 else 'no'} |")
        lines.append(f"| time `optimize_grid` / `optstrategy` (both maxcpus=1) | {r1:.2f} | <= 0.80 | "
                     f"{'yes' if r1 <= 0.8 else 'no'} |")
        lines.append(f"| speed-up of `optimize_grid`, maxcpus=2 vs maxcpus=1 | {s:.2f}x | >= 1.8x | "
                     f"{'yes' if s >= 1.8 else 'no'} |")
        lines.append(f"| (context) CPU time, main process + workers: `optimize_grid` / `optstrategy` | "
                     f"{sp['cpu_ratio_grid_vs_bt']:.2f} | - | - |")
        lines.append(f"| (context) CPU time of `optimize_grid`, maxcpus=2 / maxcpus=1 | {sp['cpu_ratio_2_vs_1']:.2f} "
                     "| - | - |")
    if mem:
        big, small = mem["big"], "200"
        m = mem["bto"][big]["peak_mb"] / mem["bto"][small]["peak_mb"]
        mem["ratio"] = m
        lines.append(f"| main-process peak RSS, `optimize_grid` {int(big):,} / {int(small):,} points | {m:.2f} | "
                     f"< 1.5 | {'yes' if m < 1.5 else 'no'} |")
        if big in mem["bt"]:
            b = mem["bt"][big]["peak_mb"] / mem["bt"][small]["peak_mb"]
            lines.append(f"| (context) main-process peak RSS, `optstrategy` {int(big):,} / {int(small):,} points | "
                         f"{b:.2f} | - | - |")
    lines.append("")
    lines.append("Readings:")
    if sp:
        r, s = sp["ratio_grid_vs_bt"], sp["speedup_2_vs_1"]
        r1 = sp["ratio_grid_vs_bt_1"]
        met = r <= 0.8 and r1 <= 0.8
        lines.append(f"- Speed: target {'met' if met else 'NOT met'}: `optimize_grid` takes {r:.2f}x the "
                     f"time of `optstrategy` with 2 processes and {r1:.2f}x with one, on the same {sp['n_points']} "
                     "points, storing every trial in SQLite; the Sharpe ratios agree point by point (tolerance "
                     f"{TOL:g}) in every run. Trials leave out backtrader's default observers, which only record for "
                     "plots (see `benchmarks/trial_profile.py` for the profile before and after).")
        busy = statistics.median(sp["others"]) if sp["others"] else 0.0
        note = ""
        if s < 1.8 and busy > 0.25:
            note = (f" Other jobs kept a median {busy:.2f} of the {os.cpu_count()} cores busy, so the second worker "
                    "had little free CPU; the CPU-time ratio shows how much extra work the parallel run does.")
        elif s < 1.8 and sp["cpu_ratio_2_vs_1"] > 1.1:
            note = (f" The machine was otherwise idle, but the same backtests cost {sp['cpu_ratio_2_vs_1']:.2f}x the "
                    "CPU time when two processes run at once (the logical CPUs share one host's caches and cores), "
                    "which caps the speed-up near "
                    f"{2 / sp['cpu_ratio_2_vs_1']:.2f}x; `optstrategy` with 2 processes pays the same (its CPU "
                    "time is in the Setup line). Per-repeat ratios are listed there too.")
        lines.append(f"- Parallelism: target {'met' if s >= 1.8 else 'NOT met'}: two workers are {s:.2f}x as fast "
                     f"as the serial run on {os.cpu_count()} cores.{note}")
    if mem:
        m = mem["ratio"]
        big = mem["big"]
        lines.append(f"- Memory: target {'met' if m < 1.5 else 'NOT met'}: the main process peaks at {m:.2f}x "
                     f"with {int(big):,} points what it does with 200.")
    lines += ["", "Setup:"]
    if sp:
        lines.append(f"- Speed: ORCL daily bars 1995-2014 (bundled `orcl`), cash {CASH:,}, "
                     f"`PercentSizer(percents={PERCENTS})`, `SmaCross` fast=range(5, 55, 5) x slow=range(60, 240, 30) "
                     f"= {sp['n_points']} points, all with fast < slow (no constraint). backtrader: "
                     "`bt.Cerebro(maxcpus=2 or 1)` + `optstrategy` + `run()` (optreturn=True) with "
                     "`bto.analyzers.Performance` for the Sharpe ratio; bt_optimize: `optimize_grid(objective="
                     "\"sharpe_ratio\", storage=<new SQLite file>, progress=False)`. Only `run()` / "
                     "`optimize_grid()` is timed (CSV loading included in both).")
        med, cmed = sp["median"], sp["cpu_median"]
        lines.append(f"- {repeats} repeat(s) of the four runs, alternating (order rotated each repeat); medians. "
                     f"Median wall / CPU seconds, for reference only: optstrategy {med['optstrategy']:.1f} / "
                     f"{cmed['optstrategy']:.1f}, optstrategy maxcpus=1 {med['optstrategy1']:.1f} / "
                     f"{cmed['optstrategy1']:.1f}, optimize_grid maxcpus=2 {med['grid2']:.1f} / {cmed['grid2']:.1f}, "
                     f"maxcpus=1 {med['grid1']:.1f} / {cmed['grid1']:.1f}. Per repeat, `optimize_grid` / "
                     "`optstrategy`: " + ", ".join(f"{a / b:.2f}" for a, b in zip(sp["times"]["grid2"],
                                                                              sp["times"]["optstrategy"]))
                     + "; maxcpus=1 / maxcpus=2: " + ", ".join(f"{a / b:.2f}" for a, b in zip(sp["times"]["grid1"],
                                                                                         sp["times"]["grid2"]))
                     + ".")
        if sp["others"]:
            lines.append(f"- Other processes on the machine kept {min(sp['others']):.2f} to {max(sp['others']):.2f} "
                         f"cores busy on average during the runs (median {statistics.median(sp['others']):.2f}, "
                         f"from `/proc/stat`); with {os.cpu_count()} cores, wall times and the speed-up depend on "
                         "it, and CPU times too, less strongly (shared caches, the host).")
    if mem:
        big = mem["big"]
        lines.append(f"- Memory: ORCL 2014 (one year), objective `{MEM_OBJECTIVE}`, SQLite storage, maxcpus=2, each "
                     "run in a fresh subprocess; `ru_maxrss` of `RUSAGE_SELF` (main process only) after the "
                     f"optimization. {int(big):,}-point grid: {fmt_grid(MEM_GRIDS[big])}; 200-point grid: "
                     f"{fmt_grid(MEM_GRIDS['200'])}. Every trial completes.")
        lines += ["", "| run | points | peak RSS (MB) | RSS before the run (MB) | growth per point (KB) |",
                  "|---|---:|---:|---:|---:|"]
        for kind, label in (("bto", "`optimize_grid`"), ("bt", "`optstrategy` (context)")):
            for res in mem[kind].values():
                per = (res["peak_mb"] - res["base_mb"]) * 1024 / res["n"]
                lines.append(f"| {label} | {res['n']:,} | {res['peak_mb']:.1f} | {res['base_mb']:.1f} | {per:.1f} |")
        if mem["bt_note"]:
            lines.append("")
            lines.append(f"`optstrategy` at {int(big):,} points: {mem['bt_note']}.")
    lines.append("")
    lines.append(f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python "
                 f"{platform.python_version()}, backtrader {bt.__version__}, bt_optimize {bto.__version__}; "
                 f"1-minute load average {load[0]:.2f} at the start, {load[1]:.2f} at the end.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat; memory with 2,000 vs 200 points")
    ap.add_argument("--repeats", type=int, default=None, help="repeats of the speed runs (default 3, quick 1)")
    ap.add_argument("--bt-memory", choices=("auto", "run", "skip"), default="auto",
                    help="backtrader's optstrategy memory on the largest grid: run when the projection from the "
                         "2,000-point run stays reasonable (auto), always (run) or never (skip)")
    ap.add_argument("--skip-speed", action="store_true", help="only the memory measurement")
    ap.add_argument("--skip-memory", action="store_true", help="only the speed measurements")
    ap.add_argument("--out", type=pathlib.Path, default=None,
                    help=f"markdown output (default {OUTPUT.relative_to(ROOT)}; with --quick: not written)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    repeats = args.repeats or (1 if args.quick else 3)
    load0 = os.getloadavg()[0]
    sp = mem = None
    if not args.skip_speed:
        print(f"speed: {repeats} repeat(s) of optstrategy / optimize_grid maxcpus=2 / maxcpus=1", flush=True)
        sp = speed(repeats)
    if not args.skip_memory:
        print("memory: main-process peak RSS, each run in a fresh subprocess", flush=True)
        mem = memory(args.quick, args.bt_memory)
    text = report(sp, mem, repeats, args.quick, (load0, os.getloadavg()[0]))
    print()
    print(text)
    out = args.out or (None if args.quick else OUTPUT)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
