"""Search quality on a rugged problem: the genetic search against Bayesian and random search, at equal budgets.

Problem: ``DonchianBreakout`` on NVIDIA daily bars 2004-2010, maximising the Sharpe ratio over

* ``entry`` Int(5, 120), ``exit`` Int(3, 60), ``atr_mult`` Real(0.5, 5),
* ``exit_rule`` Cat(["channel", "atr", "time"]) -- a categorical that switches which of the other
  parameters matter (``exit`` for channel/time, ``atr_mult`` for atr), so the landscape is conditional,
  discontinuous and full of plateaus.

Protocol:

* Budgets of 60 and 120 backtests (cache hits, which the genetic search gets for elites and duplicates, cost
  nothing and are not counted). Each method runs once per seed with the larger budget; the result at the
  smaller budget is the best value among its first 60 backtests. Both searches are deterministic functions
  of the seed and the results, so this equals a separate run capped at 60.
* Genetic search: ``population_size=12`` (so 60 backtests span several generations), ``elite_size=2``,
  every other option at its default (tournament of 3, crossover 0.8, mutation 0.2), ``generations=500``
  so that only the budget stops it. Bayesian search: ``optimize_bayes`` with its defaults (``batch_size=4``).
  Random search: ``optimize_random``.
* Regret = best known value - best value found (Sharpe ratio units; 0 is best). The best known value is the
  maximum of a larger reference random run (400 backtests, seed 999) and of every value any run below found.
* The table reports the median (and mean, worst) regret over the seeds, and how often the genetic search
  beat the other two on the same seed.

Results are printed and written to ``docs/benchmarks_genetic.md``.

Usage::

    python benchmarks/genetic_rugged.py            # 5 seeds
    python benchmarks/genetic_rugged.py --quick    # 2 seeds, reference of 200
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import time
import warnings

import backtrader as bt
import deap

import bt_optimize as bto
from bt_optimize import TrialState
from sample_strategies import DonchianBreakout

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks_genetic.md"
BUDGETS = (60, 120)
REFERENCE_SEED = 999
GA_OPTIONS = dict(population_size=12, elite_size=2, generations=500)
SPACE = dict(entry=bto.Int(5, 120), exit=bto.Int(3, 60), atr_mult=bto.Real(0.5, 5.0),
             exit_rule=bto.Cat(["channel", "atr", "time"]))


METHODS = ("genetic", "bayes", "random")


def make_cerebro(maxcpus: int) -> bto.Cerebro:
    """NVDA 2004-2010, 100k cash, 95 % of equity per trade, 0.1 % commission."""
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load("nvda", fromdate="2004-01-01", todate="2010-12-31"))
    cerebro.broker.setcash(100_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    return cerebro


def best_within(study: bto.Study, budget: int) -> float:
    """Best value among the first ``budget`` backtests of a study (trial numbers follow the ask order)."""
    ran = [t for t in study.get_trials() if t.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)]
    values = [t.value for t in ran[:budget] if t.ok]
    return max(values) if values else float("-inf")


def run(method: str, seed: int, maxcpus: int) -> tuple[dict[int, float], float, list[float], int]:
    """One run of ``method`` with the largest budget: best per budget, seconds, all values, generations."""
    cerebro = make_cerebro(maxcpus)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the diversity warning is expected on some seeds
        if method == "genetic":
            study = cerebro.optimize_genetic(DonchianBreakout, n_trials=max(BUDGETS), seed=seed, progress=False,
                                             **GA_OPTIONS, **SPACE)
        elif method == "bayes":
            study = cerebro.optimize_bayes(DonchianBreakout, n_trials=max(BUDGETS), batch_size=4, seed=seed,
                                           progress=False, **SPACE)
        else:
            study = cerebro.optimize_random(DonchianBreakout, n_trials=max(BUDGETS), seed=seed, progress=False,
                                            **SPACE)
    seconds = time.perf_counter() - start
    values = [t.value for t in study.get_trials() if t.ok]
    n_gen = len(study.generations) if method == "genetic" else 0
    return {b: best_within(study, b) for b in BUDGETS}, seconds, values, n_gen


def fmt(x: float) -> str:
    return f"{x:.3f}"


def main(argv: list[str] | None = None) -> str:
    """Run the benchmark and return the markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds and a reference of 200 backtests")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5, 2 with --quick)")
    parser.add_argument("--reference", type=int, default=None, help="backtests of the reference random run")
    parser.add_argument("--maxcpus", type=int, default=2)
    parser.add_argument("--out", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args(argv)
    n_seeds = args.seeds or (2 if args.quick else 5)
    n_reference = args.reference or (200 if args.quick else 400)
    seeds = list(range(1, n_seeds + 1))
    t0 = time.perf_counter()

    ref_start = time.perf_counter()
    reference = make_cerebro(args.maxcpus).optimize_random(DonchianBreakout, n_trials=n_reference,
                                                           seed=REFERENCE_SEED, progress=False, **SPACE)
    ref_seconds = time.perf_counter() - ref_start
    print(f"reference: {n_reference} random backtests, best {reference.best_value:.4f} "
          f"{reference.best_params} ({ref_seconds:.0f} s)", flush=True)

    results: dict[str, dict[int, dict[int, float]]] = {m: {} for m in METHODS}
    seconds: dict[str, list[float]] = {m: [] for m in METHODS}
    generations: list[int] = []
    best_seen = reference.best_value
    for seed in seeds:
        for method in METHODS:
            best, secs, values, n_gen = run(method, seed, args.maxcpus)
            results[method][seed] = best
            seconds[method].append(secs)
            if method == "genetic":
                generations.append(n_gen)
            best_seen = max([best_seen, *values])
            print(f"seed {seed} {method:7s}: " + ", ".join(f"best@{b}={best[b]:.4f}" for b in BUDGETS)
                  + f" ({secs:.0f} s)", flush=True)

    best_known = best_seen
    lines = [
        "## Genetic search vs Bayesian and random search on a rugged problem",
        "",
        "`python benchmarks/genetic_rugged.py" + (" --quick" if args.quick else "") + "`: `DonchianBreakout` on "
        "NVDA daily bars 2004-2010 (100k cash, 95 % sizer, 0.1 % commission), maximising `sharpe_ratio` over "
        "`entry` Int(5, 120), `exit` Int(3, 60), `atr_mult` Real(0.5, 5) and `exit_rule` Cat(channel, atr, time). "
        f"{n_seeds} seeds ({', '.join(map(str, seeds))}), `maxcpus={args.maxcpus}`.",
        "",
        f"Regret = best known Sharpe ratio ({best_known:.4f}) - best found within the budget; lower is better, 0 "
        f"is the best known. The best known value is the maximum over a reference random run of {n_reference} "
        f"backtests (seed {REFERENCE_SEED}, best {reference.best_value:.4f}) and every run below. Budgets count "
        "backtests only (the genetic search's cache hits are free). The 60-backtest figures are the first 60 "
        "backtests of the 120-backtest runs, which equals a run capped at 60 since the searches are "
        "deterministic in seed and results.",
        "",
        "Genetic search: `population_size=12, elite_size=2, generations=500` (the budget stops it), other "
        "options at their defaults (tournament of 3, crossover 0.8, mutation 0.2). Bayesian search: "
        "`optimize_bayes` defaults, `batch_size=4`.",
        "",
        "| budget | method | median regret | mean regret | worst regret | seeds better than random | seeds better "
        "than bayes |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]

    def beats(m: str, other: str, b: int) -> str:
        if m == other:
            return ""
        wins = sum(results[m][s][b] > results[other][s][b] for s in seeds)
        ties = sum(results[m][s][b] == results[other][s][b] for s in seeds)
        return f"{wins}/{n_seeds}" + (f" ({ties} ties)" if ties else "")

    for b in BUDGETS:
        regrets = {m: [best_known - results[m][s][b] for s in seeds] for m in results}
        for m in METHODS:
            r = regrets[m]
            lines.append(f"| {b} | {m} | {fmt(statistics.median(r))} | {fmt(statistics.mean(r))} | "
                         f"{fmt(max(r))} | {beats(m, 'random', b)} | {beats(m, 'bayes', b)} |")
    lines += ["", "Per seed, best Sharpe ratio found (60 / 120 backtests):", "",
              "| seed | " + " | ".join(METHODS) + " |", "|---:|" + "---|" * len(METHODS)]
    for s in seeds:
        cells = [" / ".join(fmt(results[m][s][b]) for b in BUDGETS) for m in METHODS]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    total = time.perf_counter() - t0
    lines += [
        "",
        f"Generations evaluated by the genetic search for 120 backtests: {', '.join(map(str, generations))}. "
        "Wall time per 120-backtest run (median): "
        + ", ".join(f"{m} {statistics.median(seconds[m]):.0f} s" for m in METHODS)
        + f"; reference {ref_seconds:.0f} s; whole benchmark "
        f"{total / 60:.1f} min.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"DEAP {deap.__version__}, backtrader {bt.__version__}.",
        "",
    ]
    report = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    return report


if __name__ == "__main__":
    main()
