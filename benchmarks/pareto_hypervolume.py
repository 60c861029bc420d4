"""Multi-objective search quality: hypervolume of the front found, against random search and Optuna's NSGA-II.

Two real problems, maximise the Sharpe ratio and minimise the maximum drawdown:

- ``SmaCross`` on ORCL 2008-2014: ``fast`` Int(4..40, step 4), ``slow`` Int(50..200, step 10), ``stop``
  Real(0..0.15, step 0.05) (640 points);
- ``DonchianBreakout`` on NVDA 2004-2010: ``entry`` Int(5..100, step 5), ``exit`` Int(4..32, step 4),
  ``exit_rule`` Cat(channel, atr, time) (480 points).

Every point was backtested once with ``optimize_grid(objective=["sharpe_ratio", "max_drawdown"])`` (100k cash, 95 %
of equity per trade, 0.1 % commission) and cached in ``benchmarks/cache/mo_<problem>.csv``; the searches then run
against that table, so every method sees exactly the same landscape and the comparison costs no backtest. Each
method gets the same budget of distinct points (a repeat costs nothing, as in a study), seeds 0..9:

- ``random``: :class:`~bt_optimize.search.random.RandomSearch`;
- ``nsga2``: :class:`~bt_optimize.search.nsga2.NSGA2Search` (``optimize_genetic``), population 16;
- ``parego``: :class:`~bt_optimize.search.parego.ParEgoSearch` (``optimize_bayes``), batches of 4;
- ``optuna-nsga2``: Optuna's ``NSGAIISampler``, population 16.

Score: the hypervolume of the front each method found, as a share of the hypervolume of the true front (all points
of the grid), with the reference point at the worst Sharpe ratio and the worst drawdown of the grid. Failed points
(a Sharpe ratio that is not a number) count as failures for every method.

Run: ``python benchmarks/pareto_hypervolume.py`` (needs ``pip install -e '.[bench]'``). Writes
``docs/benchmarks_pareto.md``.
"""

from __future__ import annotations

import math
import pathlib
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import search_quality  # noqa: E402
from search_quality import _typed, make_cerebro  # noqa: E402

import bt_optimize as bto  # noqa: E402
from bt_optimize.search.nsga2 import NSGA2Search  # noqa: E402
from bt_optimize.search.parego import ParEgoSearch  # noqa: E402
from bt_optimize.search.random import RandomSearch  # noqa: E402
from bt_optimize.space import Space, params_key  # noqa: E402
from bt_optimize.stats.pareto import hypervolume, non_dominated  # noqa: E402
from bt_optimize.trial import Trial, TrialState  # noqa: E402
from sample_strategies import DonchianBreakout, SmaCross  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / "cache"
OUTPUT = ROOT / "docs" / "benchmarks_pareto.md"
DIRECTIONS = [True, False]
BUDGET = 80
SEEDS = range(10)
METHODS = ("random", "nsga2", "parego", "optuna-nsga2")


class Problem(search_quality.Problem):
    """A problem of the search-quality benchmark, tabulated on two objectives."""

    def mo_table(self) -> dict[str, list[float] | None]:
        """``params_key`` -> [sharpe, max_drawdown] of every grid point (``None`` where the trial did not complete),
        from the cache or from a real ``optimize_grid`` run (then cached)."""
        path = CACHE / f"mo_{self.name}.csv"
        names = self.space.names
        if not path.exists():
            t0 = time.perf_counter()
            cerebro = make_cerebro(self.dataset, self.fromdate, self.todate, 2)
            study = cerebro.optimize_grid(self.strategy, objective=["sharpe_ratio", "max_drawdown"], progress=False,
                                          **self.dims)
            df = study.trials
            out = df[[f"params_{n}" for n in names] + ["values_0", "values_1", "state"]]
            out.columns = names + ["sharpe_ratio", "max_drawdown", "state"]
            out.to_csv(path, index=False, float_format="%.10g")
            print(f"grid {path.name}: {len(out)} backtests in {time.perf_counter() - t0:.0f} s", flush=True)
        rows = pd.read_csv(path).to_dict("records")
        table: dict[str, list[float] | None] = {}
        for r in rows:
            p = {n: _typed(self.space[n], r[n]) for n in names}
            ok = r["state"] == "complete" and math.isfinite(r["sharpe_ratio"]) and math.isfinite(r["max_drawdown"])
            table[params_key(p)] = [float(r["sharpe_ratio"]), float(r["max_drawdown"])] if ok else None
        return table


PROBLEMS = (
    Problem("sma_orcl", SmaCross, "orcl", "2008-01-01", "2014-12-31",
            dict(fast=bto.Int(4, 40, step=4), slow=bto.Int(50, 200, step=10), stop=bto.Real(0.0, 0.15, step=0.05))),
    Problem("donchian_nvda", DonchianBreakout, "nvda", "2004-01-01", "2010-12-31",
            dict(entry=bto.Int(5, 100, step=5), exit=bto.Int(4, 32, step=4),
                 exit_rule=bto.Cat(["channel", "atr", "time"]))),
)


def drive(search: Any, table: dict[str, list[float] | None], budget: int, batch: int) -> list[list[float] | None]:
    """Run an ask/tell search against the table as a study would; the values of the distinct points evaluated."""
    out: list[list[float] | None] = []
    known: dict[str, list[float] | None] = {}
    n, idle = 0, 0
    while len(out) < budget and idle < 50:
        pts = search.ask(max(1, min(batch, budget - len(out))) if not isinstance(search, NSGA2Search) else batch)
        if not pts:
            break
        fresh = 0
        for p in pts:
            key = params_key(p)
            if key not in known:
                if len(out) >= budget:
                    return out
                known[key] = table[key]
                out.append(table[key])
                fresh += 1
            v = known[key]
            state = TrialState.COMPLETE if v is not None else TrialState.FAIL
            search.tell_trial(Trial(number=n, state=state, params=p, value=None if v is None else v[0],
                                    user_attrs={"values": v} if v is not None else {}))
            n += 1
        idle = 0 if fresh else idle + 1
    return out


def run_optuna(space: Space, table: dict[str, list[float] | None], budget: int, seed: int) -> list[list[float] | None]:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists: dict[str, Any] = {}
    for name in space.names:
        d = space[name]
        if isinstance(d, bto.Cat):
            dists[name] = CategoricalDistribution(list(d.choices))
        elif isinstance(d, bto.Int):
            dists[name] = IntDistribution(d.low, d.high, step=d.step)
        else:
            dists[name] = FloatDistribution(d.low, d.high, step=d.step)
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(population_size=16, seed=seed))
    out: list[list[float] | None] = []
    seen: set[str] = set()
    for _ in range(budget * 5):
        if len(out) >= budget:
            break
        trial = study.ask(dists)
        p = {n: _typed(space[n], trial.params[n]) for n in space.names}
        v = table[params_key(p)]
        if params_key(p) not in seen:
            seen.add(params_key(p))
            out.append(v)
        if v is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, v)
    return out


def run(method: str, space: Space, table: dict[str, list[float] | None], seed: int) -> list[list[float] | None]:
    if method == "random":
        return drive(RandomSearch(space, seed), table, BUDGET, 1)
    if method == "nsga2":
        return drive(NSGA2Search(space, seed, directions=DIRECTIONS, population_size=16, generations=100),
                     table, BUDGET, 16)
    if method == "parego":
        return drive(ParEgoSearch(space, seed, directions=DIRECTIONS, batch_size=4), table, BUDGET, 4)
    return run_optuna(space, table, BUDGET, seed)


def main() -> None:
    rows = []
    notes = []
    for prob in PROBLEMS:
        table = prob.mo_table()
        every = [v for v in table.values() if v is not None]
        ref = [min(v[0] for v in every), max(v[1] for v in every)]
        true_hv = hypervolume(every, ref, DIRECTIONS)
        n_front = int(non_dominated(every, DIRECTIONS).sum())
        notes.append(f"- {prob.name}: {len(table)} points ({len(every)} complete), {n_front} of them on the true "
                     f"front; reference point Sharpe {ref[0]:.3f}, drawdown {ref[1]:.1%}; true front hypervolume "
                     f"{true_hv:.4f}")
        for method in METHODS:
            for seed in SEEDS:
                t0 = time.perf_counter()
                found = [v for v in run(method, prob.space, table, seed) if v is not None]
                secs = time.perf_counter() - t0
                hv = hypervolume(found, ref, DIRECTIONS) if found else 0.0
                rows.append({"problem": prob.name, "method": method, "seed": seed, "share": hv / true_hv,
                             "seconds": secs})
            print(prob.name, method, flush=True)
    df = pd.DataFrame(rows)
    table = df.groupby(["problem", "method"], sort=False)["share"].agg(["mean", "std", "min"]).reset_index()
    lines = ["# Multi-objective search: hypervolume against random search and Optuna's NSGA-II", "",
             "`python benchmarks/pareto_hypervolume.py`: maximise the Sharpe ratio and minimise the maximum drawdown "
             f"on two real, fully backtested grids; every method gets {BUDGET} distinct points, seeds "
             f"{SEEDS.start}..{SEEDS.stop - 1}. The score is the hypervolume of the front found as a share of the "
             "true front's (1.0: the whole front found). Method details in the script's docstring.", "", *notes, "",
             "| problem | method | hypervolume share, mean | sd | worst seed |", "|---|---|---:|---:|---:|"]
    for r in table.itertuples():
        lines.append(f"| {r.problem} | {r.method} | {r.mean:.3f} | {r.std:.3f} | {r.min:.3f} |")
    means = df.groupby("method")["share"].mean()
    lines += ["", "Mean over both problems: " + ", ".join(f"{m} {means[m]:.3f}" for m in METHODS) + ".", ""]
    OUTPUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
