"""Time the Monte Carlo trade simulations: 10,000 simulations of 500 trades, permutation and bootstrap.

Two timings per method, each the median of 5 repeats after one warm-up run:

* ``simulate``: drawing every simulated trade sequence and computing the five metrics on each
  (:func:`bt_optimize.stats.montecarlo.simulate`);
* ``full analysis``: ``simulate`` plus what the ``MonteCarlo`` analyzer does with it at ``stop()``: the
  observed metrics, the summaries (CI, p-value, percentile, verdict) and the histograms.

The 500 trade returns are drawn once from a seeded normal distribution (mean 0.3 %, std 2 %); the run time
does not depend on their values, only on their number. The markdown table is printed and also written to
``docs/benchmarks_montecarlo.md``.

Usage::

    python benchmarks/montecarlo_speed.py
"""

from __future__ import annotations

import os
import pathlib
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from bt_optimize.stats.montecarlo import (
    METHODS,
    TRADE_LOWER_IS_BETTER,
    TRADE_METRICS,
    compute_trade_metrics,
    histogram,
    simulate,
    summarize,
    verdict,
)

N_SIMULATIONS = 10_000
N_TRADES = 500
REPEATS = 5
OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks_montecarlo.md"


def full_analysis(returns: np.ndarray, method: str, seed: int) -> dict[str, dict]:
    """Do what ``MonteCarlo.stop()`` does after collecting the trades."""
    simulated = simulate(returns, N_SIMULATIONS, method, np.random.default_rng(seed))
    observed = compute_trade_metrics(returns)
    out = {}
    for name in TRADE_METRICS:
        summary = summarize(float(observed[name]), simulated[name], 0.95, name in TRADE_LOWER_IS_BETTER)
        summary["verdict"] = verdict(name, summary, method, 0.95)
        summary["hist"] = histogram(simulated[name], 40)
        out[name] = summary
    return out


def median_seconds(func: Callable[[], object]) -> float:
    """Run ``func`` once to warm up, then ``REPEATS`` times; return the median wall time in seconds."""
    func()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> str:
    """Run the benchmark, print the markdown fragment, write it to ``docs/``, and return it."""
    returns = np.random.default_rng(2024).normal(0.003, 0.02, size=N_TRADES)
    rows = []
    for method in METHODS:
        sim = median_seconds(lambda m=method: simulate(returns, N_SIMULATIONS, m, np.random.default_rng(1)))
        full = median_seconds(lambda m=method: full_analysis(returns, m, 1))
        rows.append(f"| {method} | {N_TRADES} | {N_SIMULATIONS:,} | {sim:.3f} | {full:.3f} |")

    lines = [
        "## Monte Carlo analyzer: simulation speed",
        "",
        f"{N_SIMULATIONS:,} simulated sequences of {N_TRADES} trades, median of {REPEATS} runs after a "
        "warm-up (`python benchmarks/montecarlo_speed.py`). *simulate* draws the sequences and computes "
        "the five metrics on each; *full analysis* adds what `MonteCarlo.stop()` does with them (observed "
        "metrics, intervals, p-values, verdicts, histograms).",
        "",
        "| method | trades | simulations | simulate (s) | full analysis (s) |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__}; single-threaded numpy code.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
