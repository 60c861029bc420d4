"""Search quality and cost of ``optimize_bayes`` against random search, the genetic search and Optuna's TPE.

Four measurements, written to ``docs/benchmarks_search.md``:

1. **Search quality on real landscapes** (lookup objective). Three problems built from ``sample_strategies`` on the
   bundled real data, each a discrete space of 960 to 2,940 points whose *every* point was backtested once with
   ``optimize_grid(maxcpus=2)`` and cached as a CSV under ``benchmarks/cache/`` (delete a file to recompute it).
   The searches are then driven against the cached table instead of re-running backtests: ``BayesSearch``,
   ``RandomSearch`` and ``GeneticSearch`` through their ask/tell interface exactly as ``Study.optimize`` drives them
   (Bayes in rounds of 4; the genetic search with ``population_size`` = budget / 5 in rounds of one generation;
   points already evaluated are served from cache and cost nothing), Optuna's ``TPESampler`` (default settings)
   through ``study.ask``/``study.tell`` with ``IntDistribution``/``FloatDistribution(step=...)``/
   ``CategoricalDistribution`` over the same discrete space, with repeated points told from cache too. This
   measures search quality (which points each method chooses), not engine speed. Budgets are 5 % and 10 % of the
   grid, in distinct evaluated points. Score: normalised regret ``(grid_best - found_best) / (grid_best -
   grid_median)`` (0 = found the grid's best, 1 = no better than the median point). Bayes, random and TPE do not
   depend on the budget, so the 5 % result is the prefix of the 10 % run; the genetic search runs per budget.
2. **Optimizer overhead** with real backtests: ``optimize_bayes`` on the demo problem (``SmaCross`` on ORCL daily
   2005-2014, ``fast`` Int(2, 60), ``slow`` Int(10, 250, step=5), ``stop`` Real(0.01, 0.2, log), ``ma`` Cat(sma,
   ema), constraint fast < slow), 200 trials, ``batch_size=4``, ``maxcpus=2``. ``BayesSearch.ask`` and
   ``BayesSearch.tell_trial`` are wrapped with timers; overhead = their time / wall time of the whole call.
3. **One batch proposal with 500 observations told** (demo space, a smooth synthetic objective): the first
   ``ask(4)`` (hyperparameters fitted from scratch) and a later one (hyperparameters reused), against
   scikit-optimize's plain ``Optimizer.tell`` + ``ask(n_points=4)`` at 200 observations (one BLAS thread for both).
4. **Multi-fidelity** (``fidelity=0.35``). (a) The quick window of every grid point is backtested once too and
   cached (``benchmarks/cache/<problem>_quick35.csv``); ``BayesSearch`` and the ``PromotionRule`` of
   ``FidelityExecutor`` are replayed against both tables for several screening rules on all three problems
   (work measured in bars fed). (b) ``optimize_bayes`` on the Donchian problem with real backtests,
   ``n_trials`` = 10 % of its grid, the default screen and two alternatives against ``fidelity=None``, same
   seeds: total backtest time (sum of the trials' ``duration_s``), bars fed, and the regret of the best (always
   full-fidelity) value against the cached grid.

Usage::

    python benchmarks/search_quality.py            # 10 seeds (5 for part 4b), everything (20-40 minutes on 2 CPUs)
    python benchmarks/search_quality.py --quick    # 2 seeds, smaller real-backtest runs (under 5 minutes)
    python benchmarks/search_quality.py --grids-only
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import platform
import statistics
import time
import warnings
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

import bt_optimize as bto
from bt_optimize.engine.fidelity import PromotionRule, default_warmup
from bt_optimize.engine.windows import recent_window
from bt_optimize.search.bayes import BayesSearch
from bt_optimize.search.genetic import GeneticSearch
from bt_optimize.search.random import RandomSearch
from bt_optimize.space import Int, Real, Space, params_key
from bt_optimize.trial import TrialState
from sample_strategies import DonchianBreakout, RsiMeanReversion, SmaCross

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / "cache"
OUTPUT = ROOT / "docs" / "benchmarks_search.md"
METHODS = ("bayes", "random", "genetic", "tpe")
QUICK_FIDELITY = 0.35
BATCH = 4


@dataclass(frozen=True)
class Problem:
    """A strategy, its data and a discrete space whose every point is backtested once and cached."""

    name: str
    strategy: type
    dataset: str
    fromdate: str
    todate: str
    dims: dict[str, Any]

    def cerebro(self, maxcpus: int = 2) -> bto.Cerebro:
        """The problem's Cerebro: 100k cash, 95 % of equity per trade, 0.1 % commission."""
        return make_cerebro(self.dataset, self.fromdate, self.todate, maxcpus)

    @property
    def space(self) -> Space:
        return Space(self.dims)

    @property
    def cache_path(self) -> pathlib.Path:
        return CACHE / f"{self.name}.csv"

    def n_bars(self) -> int:
        """Bars of the problem's data (one backtest to build the study's snapshot)."""
        first = {n: (d.choices[0] if isinstance(d, bto.Cat) else d.low) for n, d in self.dims.items()}
        study = self.cerebro(1).optimize_grid(self.strategy, progress=False, **{n: [v] for n, v in first.items()})
        return len(study.payload.feeds[0])

    def quick_window(self, fidelity: float = QUICK_FIDELITY) -> bto.Window:
        """The quick window ``optimize_bayes(fidelity=...)`` screens on (default warmup)."""
        n = self.n_bars()
        return recent_window(bto.Window(), n, fidelity, min(default_warmup(self.space), round(fidelity * n)))

    def describe(self) -> str:
        dims = ", ".join(f"`{n}` {_dim_text(d)}" for n, d in self.space.dims.items())
        return (f"`{self.strategy.__name__}` on {self.dataset.upper()} {self.fromdate[:4]}-{self.todate[:4]}: {dims} "
                f"({int(self.space.cardinality)} points)")

    def grid(self, quick: bool = False) -> pd.DataFrame:
        """Every point and its Sharpe ratio (``NaN`` when the trial did not complete), from the cache or computed
        with ``optimize_grid(maxcpus=2)`` and cached; ``quick``: on :meth:`quick_window` (the screen of
        ``fidelity=0.35``)."""
        path = CACHE / f"{self.name}_quick35.csv" if quick else self.cache_path
        if not path.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            window = self.quick_window() if quick else None
            study = self.cerebro(2).optimize_grid(self.strategy, objective="sharpe_ratio", progress=False,
                                                  window=window, **self.dims)
            df = study.trials
            cols = [f"params_{n}" for n in self.space.names]
            out = df[cols + ["value", "state"]].rename(columns={c: c[len("params_"):] for c in cols})
            out.to_csv(path, index=False, float_format="%.10g")
            print(f"grid {path.name}: {len(out)} backtests in {time.perf_counter() - t0:.0f} s -> {path}", flush=True)
        return pd.read_csv(path)

    def table(self, quick: bool = False) -> dict[str, float | None]:
        """``params_key`` -> Sharpe ratio (``None`` when the point failed) of every point of the space (``quick``:
        on the quick window)."""
        space = self.space
        out: dict[str, float | None] = {}
        for row in self.grid(quick).to_dict("records"):
            p = {n: _typed(space[n], row[n]) for n in space.names}
            v = row["value"]
            out[params_key(p)] = float(v) if row["state"] == "complete" and math.isfinite(v) else None
        missing = [p for p in space.grid() if params_key(p) not in out]
        if missing:
            raise RuntimeError(f"{self.cache_path} lacks {len(missing)} points (e.g. {missing[0]}); delete it")
        return out


def _dim_text(d: Any) -> str:
    if isinstance(d, (Int, Real)):
        step = f", step {d.step:g}" if d.step not in (None, 1) else ""
        return f"{type(d).__name__}({d.low:g}..{d.high:g}{step}{', log' if d.log else ''})"
    return f"Cat({', '.join(map(str, d.choices))})"


def _typed(dim: Any, v: Any) -> Any:
    if isinstance(dim, Int):
        return int(v)
    if isinstance(dim, Real):
        return dim.clip(float(v))
    return next(c for c in dim.choices if str(c) == str(v))


def make_cerebro(dataset: str, fromdate: str, todate: str, maxcpus: int) -> bto.Cerebro:
    """100k cash, 95 % of equity per trade, 0.1 % commission."""
    cerebro = bto.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bto.datasets.load(dataset, fromdate=fromdate, todate=todate))
    cerebro.broker.setcash(100_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
    return cerebro


PROBLEMS = (
    Problem("sma_orcl", SmaCross, "orcl", "2008-01-01", "2014-12-31",
            dict(fast=bto.Int(4, 40, step=4), slow=bto.Int(50, 200, step=10), stop=bto.Real(0.0, 0.15, step=0.03),
                 ma=bto.Cat(["sma", "ema"]))),
    Problem("donchian_nvda", DonchianBreakout, "nvda", "2004-01-01", "2010-12-31",
            dict(entry=bto.Int(5, 100, step=5), exit=bto.Int(2, 32, step=2),
                 exit_rule=bto.Cat(["channel", "atr", "time"]))),
    Problem("rsi_orcl", RsiMeanReversion, "orcl", "2005-01-01", "2014-12-31",
            dict(period=bto.Int(4, 30, step=2), lower=bto.Real(15.0, 40.0, step=5.0),
                 upper=bto.Real(55.0, 85.0, step=5.0), hold=bto.Int(0, 40, step=10))),
)


# ------------------------------------------------------------------------------------------------ 1. quality
def drive(search: Any, table: dict[str, float | None], budget: int, batch: int | None) -> list[float | None]:
    """Run ``search`` against the table as ``Study.optimize`` would; the values of the distinct points evaluated,
    in order (repeats are told from cache and cost nothing)."""
    values: list[float | None] = []
    known: dict[str, float | None] = {}
    idle = 0
    while len(values) < budget and idle < 50:
        room = budget - len(values)
        pts = search.ask(1 if batch is None else max(1, min(batch, room)))
        if not pts:
            break
        fresh = 0
        results = []
        for p in pts:
            key = params_key(p)
            if key in known:
                results.append((p, known[key]))
                continue
            v = table[key]
            known[key] = v
            values.append(v)
            fresh += 1
            results.append((p, v))
        for p, v in results:
            search.tell(p, v, TrialState.COMPLETE if v is not None else TrialState.FAIL)
        idle = 0 if fresh else idle + 1
    return values


def run_tpe(space: Space, table: dict[str, float | None], budget: int, seed: int,
            multivariate: bool = False) -> list[float | None]:
    """Optuna's TPE (default settings, or ``multivariate=True``) over the same discrete space; repeated points are
    told from cache."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists: dict[str, Any] = {}
    for n, d in space.dims.items():
        if isinstance(d, Int):
            dists[n] = IntDistribution(d.low, d.high, step=d.step, log=d.log)
        elif isinstance(d, Real):
            dists[n] = FloatDistribution(d.low, d.high, step=d.step, log=d.log)
        else:
            dists[n] = CategoricalDistribution(d.choices)
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    values: list[float | None] = []
    known: dict[str, float | None] = {}
    asks = 0
    while len(values) < budget and asks < 50 * budget:
        asks += 1
        trial = study.ask(dists)
        p = {n: _typed(space[n], trial.params[n]) for n in space.names}
        key = params_key(p)
        if key not in known:
            known[key] = table[key]
            values.append(known[key])
        v = known[key]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if v is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, v)
    return values


def run_method(method: str, space: Space, table: dict[str, float | None], budget: int,
               seed: int) -> list[float | None]:
    if method == "bayes":
        return drive(BayesSearch(space, seed, maximize=True, batch_size=BATCH), table, budget, BATCH)
    if method == "random":
        return drive(RandomSearch(space, seed), table, budget, None)
    if method == "genetic":
        pop = max(4, budget // 5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # low-diversity warnings are expected late in a run
            ga = GeneticSearch(space, seed, maximize=True, population_size=pop, generations=10_000,
                               elite_size=max(1, pop // 10))
            return drive(ga, table, budget, pop)
    if method == "tpe":
        return run_tpe(space, table, budget, seed)
    raise ValueError(method)


def regret(values: list[float | None], best: float, median: float) -> float:
    found = max((v for v in values if v is not None), default=-math.inf)
    return max(0.0, (best - found) / (best - median)) if math.isfinite(found) else 1.0


def quality(seeds: list[int], methods: tuple[str, ...]) -> tuple[list[dict[str, Any]], float]:
    rows = []
    t0 = time.perf_counter()
    for prob in PROBLEMS:
        table = prob.table()
        ok = np.array([v for v in table.values() if v is not None])
        best, median = float(ok.max()), float(np.median(ok))
        n = len(table)
        budgets = {"5%": round(0.05 * n), "10%": round(0.10 * n)}
        for method in methods:
            for seed in seeds:
                t1 = time.perf_counter()
                if method == "genetic":
                    res = {b: regret(run_method(method, prob.space, table, k, seed), best, median)
                           for b, k in budgets.items()}
                else:
                    vals = run_method(method, prob.space, table, budgets["10%"], seed)
                    res = {b: regret(vals[:k], best, median) for b, k in budgets.items()}
                secs = time.perf_counter() - t1
                rows.append({"problem": prob.name, "method": method, "seed": seed, **res, "seconds": secs})
                print(f"{prob.name:14s} {method:8s} seed {seed}: " + ", ".join(f"{b} {r:.3f}" for b, r in res.items())
                      + f" ({secs:.1f} s)", flush=True)
    return rows, time.perf_counter() - t0


# ------------------------------------------------------------------------------------------------ 2. overhead
DEMO = dict(fast=bto.Int(2, 60), slow=bto.Int(10, 250, step=5), stop=bto.Real(0.01, 0.2, log=True),
            ma=bto.Cat(["sma", "ema"]))


def _fast_below_slow(p: dict[str, Any]) -> bool:
    return p["fast"] < p["slow"]


class _Timed:
    """Wraps ``BayesSearch.ask`` and ``BayesSearch.tell_trial`` with timers for the duration of a ``with``."""

    def __enter__(self) -> _Timed:
        self.ask_s = self.tell_s = 0.0
        self.n_ask = 0
        self._ask, self._tell = BayesSearch.ask, BayesSearch.tell_trial
        timer = self

        def ask(search: BayesSearch, n: int = 1) -> list[dict[str, Any]]:
            t0 = time.perf_counter()
            try:
                return timer._ask(search, n)
            finally:
                timer.ask_s += time.perf_counter() - t0
                timer.n_ask += 1

        def tell_trial(search: BayesSearch, trial: Any) -> None:
            t0 = time.perf_counter()
            try:
                timer._tell(search, trial)
            finally:
                timer.tell_s += time.perf_counter() - t0

        BayesSearch.ask = ask  # type: ignore[method-assign]
        BayesSearch.tell_trial = tell_trial  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        BayesSearch.ask = self._ask  # type: ignore[method-assign]
        BayesSearch.tell_trial = self._tell  # type: ignore[method-assign]


def overhead(n_trials: int) -> dict[str, Any]:
    cerebro = make_cerebro("orcl", "2005-01-01", "2014-12-31", 2)
    with _Timed() as timer:
        t0 = time.perf_counter()
        study = cerebro.optimize_bayes(SmaCross, n_trials=n_trials, batch_size=BATCH, seed=1, progress=False,
                                       constraint=_fast_below_slow, **DEMO)
        wall = time.perf_counter() - t0
    backtest = float(study.trials.duration_s.sum())
    out = {"n_trials": n_trials, "wall": wall, "ask": timer.ask_s, "tell": timer.tell_s, "rounds": timer.n_ask,
           "backtest_cpu": backtest, "best": study.best_value}
    print(f"overhead: {out}", flush=True)
    return out


# ------------------------------------------------------------------------------------------------ 3. proposal time
def _smooth(p: dict[str, Any]) -> float:
    return (-((p["fast"] - 12) / 38) ** 2 - ((p["slow"] - 80) / 100) ** 2 - math.log(p["stop"] / 0.05) ** 2 / 4
            + (0.1 if p["ma"] == "ema" else 0.0))


def proposal_time(n_told: int, n_skopt: int) -> dict[str, float]:
    from skopt import Optimizer
    from skopt.space import Categorical, Integer
    from skopt.space import Real as SkReal
    from threadpoolctl import threadpool_limits

    space = Space(DEMO)
    rng = np.random.default_rng(0)
    pts = [space.sample(rng) for _ in range(max(n_told, n_skopt))]
    s = BayesSearch(space, seed=0, batch_size=BATCH)
    for p in pts[:n_told]:
        s.tell(p, _smooth(p))
    t0 = time.perf_counter()
    new = s.ask(BATCH)
    first = time.perf_counter() - t0
    later = []
    for _ in range(3):
        for p in new:
            s.tell(p, _smooth(p))
        t0 = time.perf_counter()
        new = s.ask(BATCH)
        later.append(time.perf_counter() - t0)
    dims = [Integer(2, 60), Integer(0, 48), SkReal(0.01, 0.2, prior="log-uniform"), Categorical(["sma", "ema"])]
    opt = Optimizer(dims, base_estimator="GP", n_initial_points=10, random_state=0)
    xs = [[p["fast"], (p["slow"] - 10) // 5, p["stop"], p["ma"]] for p in pts[:n_skopt]]
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        opt.tell(xs, [-_smooth(p) for p in pts[:n_skopt]])
        sk_tell = time.perf_counter() - t0
        t0 = time.perf_counter()
        opt.ask(n_points=BATCH)
        sk_ask = time.perf_counter() - t0
    out = {"n_told": n_told, "first": first, "later": statistics.median(later), "n_skopt": n_skopt,
           "skopt_tell": sk_tell, "skopt_ask": sk_ask}
    print(f"proposal: {out}", flush=True)
    return out


# ------------------------------------------------------------------------------------------------ 4. fidelity
SIM_RULES: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("fidelity=None", None),
    ("quantile 0.6 alone (promote_z=None)", {"promote_quantile": 0.6, "promote_z": None}),
    ("quantile 0.6 + bound z=2 (the default)", {"promote_quantile": 0.6, "promote_z": 2.0}),
    ("quantile 0.6 + bound z=1", {"promote_quantile": 0.6, "promote_z": 1.0}),
    ("quantile 0.8 alone", {"promote_quantile": 0.8, "promote_z": None}),
)


def screen_on_tables(prob: Problem, seed: int, rule_kw: dict[str, Any] | None, budget: int,
                     full: dict[str, float | None], quick: dict[str, float | None],
                     bars: tuple[int, int]) -> tuple[float, int]:
    """``optimize_bayes(fidelity=0.35)`` replayed on the cached grids: the same ``BayesSearch`` in rounds of 4 and
    the same :class:`PromotionRule` as ``FidelityExecutor`` (decisions in trial order, test 2 fixed per round),
    told as the study tells it. Returns the best full value found and the bars fed."""
    search = BayesSearch(prob.space, seed, maximize=True, batch_size=BATCH)
    rule = PromotionRule(maximize=True, **rule_kw) if rule_kw is not None else None
    n_full, n_quick = bars
    found, fed, n = -math.inf, 0, 0
    while n < budget:
        pts = search.ask(min(BATCH, budget - n))
        if not pts:
            break
        if rule is not None:
            rule.start_round()
        told = []
        for p in pts:
            key = params_key(p)
            n += 1
            q = None
            if rule is not None:
                q = quick[key]
                fed += n_quick
                if q is not None and not rule.decide(q)[0]:
                    told.append((p, q, TrialState.PRUNED, None))
                    continue
            v = full[key]
            fed += n_full
            if v is not None:
                found = max(found, v)
                if rule is not None:
                    rule.record(q, v)
            told.append((p, v, TrialState.COMPLETE if v is not None else TrialState.FAIL, q))
        for p, v, state, q in told:
            search.tell(p, v, state, quick_value=q)
    return found, fed


def fidelity_sim(seeds: list[int]) -> list[dict[str, Any]]:
    """Every screening rule on every problem and seed, against the cached full and quick grids."""
    rows = []
    for prob in PROBLEMS:
        full, quick = prob.table(), prob.table(quick=True)
        ok = np.array([v for v in full.values() if v is not None])
        best, median = float(ok.max()), float(np.median(ok))
        n, w = prob.n_bars(), prob.quick_window()
        bars = (n, n - (w.start - w.warmup))
        budget = round(0.1 * len(full))
        for label, kw in SIM_RULES:
            for seed in seeds:
                found, fed = screen_on_tables(prob, seed, kw, budget, full, quick, bars)
                rows.append({"problem": prob.name, "rule": label, "seed": seed, "bars": fed,
                             "cut": 1 - fed / (budget * bars[0]),
                             "regret": max(0.0, (best - found) / (best - median)) if math.isfinite(found) else 1.0})
            g = [r for r in rows if r["problem"] == prob.name and r["rule"] == label]
            print(f"fidelity sim {prob.name:14s} {label:42s} cut {_median([r['cut'] for r in g]):.2f} regret "
                  f"{_median([r['regret'] for r in g]):.3f} (mean {statistics.fmean(r['regret'] for r in g):.3f})",
                  flush=True)
    return rows


def _bars_fed(study: bto.Study, kw: dict[str, Any]) -> int:
    """Bars fed to backtrader over the study's backtests (quick runs with their warmup, full runs): a measure of
    backtest work that machine load does not change."""
    n_bars = len(study.payload.feeds[0])
    quick_bars = 0
    if kw.get("fidelity") is not None:
        f = kw["fidelity"]
        warm = kw.get("fidelity_warmup")
        warm = min(default_warmup(study.space) if warm is None else warm, round(f * n_bars))
        w = recent_window(bto.Window(), n_bars, f, warm)
        quick_bars = n_bars - max(0, w.start - w.warmup)
    total = 0
    for t in study.get_trials():
        if t.state is TrialState.PRUNED:
            total += quick_bars
        elif t.state in (TrialState.COMPLETE, TrialState.FAIL):
            total += n_bars + quick_bars
    return total


def fidelity(seeds: list[int], variants: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every variant on every seed, variants alternating within each seed (so load drifts hit them alike)."""
    prob = PROBLEMS[1]
    table = prob.table()
    ok = np.array([v for v in table.values() if v is not None])
    best, median = float(ok.max()), float(np.median(ok))
    n_trials = round(0.1 * len(table))
    rows = []
    for seed in seeds:
        for label, kw in variants:
            t0 = time.perf_counter()
            study = prob.cerebro(2).optimize_bayes(prob.strategy, n_trials=n_trials, batch_size=BATCH, seed=seed,
                                                   progress=False, **kw, **prob.dims)
            wall = time.perf_counter() - t0
            df = study.trials
            row = {"variant": label, "seed": seed, "backtest_s": float(df.duration_s.sum()), "wall": wall,
                   "bars": _bars_fed(study, kw),
                   "regret": max(0.0, (best - study.best_value) / (best - median)),
                   "n_full": int(((df.state == "complete") & (df.get("attr_fidelity", 1.0) == 1.0)).sum()),
                   "n_pruned": int((df.state == "pruned").sum())}
            rows.append(row)
            print(f"fidelity {label}: {row}", flush=True)
    return rows


# ------------------------------------------------------------------------------------------------ report
def _median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def report(args: argparse.Namespace, seeds: list[int], qrows: list[dict[str, Any]], qsecs: float,
           ov: dict[str, Any], prop: dict[str, float], srows: list[dict[str, Any]], frows: list[dict[str, Any]],
           total: float) -> str:
    q = pd.DataFrame(qrows)
    lines = [
        "## Search quality and cost of `optimize_bayes`",
        "",
        f"`python benchmarks/search_quality.py{' --quick' if args.quick else ''}`; the protocol is in the script's "
        f"docstring. {len(seeds)} seeds ({', '.join(map(str, seeds))}). Everything below ran side by side in one "
        f"run of {total / 60:.1f} min.",
        "",
        "### 1. Normalised regret on real landscapes (lower is better; 0 = the grid's best)",
        "",
        "Each space was backtested exhaustively once (cached in `benchmarks/cache/`); the searches ran against those "
        "cached values (search quality, not engine speed). Regret = (grid best - best found) / (grid best - grid "
        "median). Each cell: median regret over the seeds / mean regret / seeds with regret <= 0.02.",
        "",
    ]
    for prob in PROBLEMS:
        table = prob.table()
        ok = np.array([v for v in table.values() if v is not None])
        lines.append(f"- **{prob.name}**: {prob.describe()}; Sharpe ratio best {ok.max():.3f}, median "
                     f"{np.median(ok):.3f}, {int((ok == 0).sum())} points at exactly 0 (no trade), "
                     f"{len(table) - len(ok)} failed.")
    lines += ["", "| problem | budget | " + " | ".join(METHODS) + " | bayes meets target |",
              "|---|---|" + "---:|" * len(METHODS) + "---|"]
    verdicts = []
    for prob in PROBLEMS:
        n = int(prob.space.cardinality)
        for b in ("5%", "10%"):
            cells, med = [], {}
            for m in METHODS:
                r = q[(q.problem == prob.name) & (q.method == m)][b].tolist()
                med[m] = _median(r)
                cells.append(f"{med[m]:.3f} / {statistics.fmean(r):.3f} / {sum(x <= 0.02 for x in r)}/{len(r)}")
            if b == "10%":
                why, ties = [], []
                if med["bayes"] > 0.02:
                    why.append(f"median {med['bayes']:.3f} > 0.02")
                for other in ("random", "tpe"):
                    if med["bayes"] == med[other] == 0.0:
                        ties.append(f"ties {other} at 0")
                    elif not med["bayes"] < med[other]:
                        why.append(f"not below {other}")
                verdicts.append((prob.name, not why, why + ties))
                mark = ("yes" if not why else "no: " + ", ".join(why)) + (f" ({', '.join(ties)})" if ties else "")
            else:
                mark = ""
            lines.append(f"| {prob.name} | {b} ({round((0.05 if b == '5%' else 0.1) * n)}) | "
                         + " | ".join(cells) + f" | {mark} |")
    met = sum(ok for _, ok, _ in verdicts)
    lines += ["", "Target at 10 %: median regret <= 0.02 and lower than random search's and TPE's. A tie at a median "
              "of 0 (both found the grid's best on most seeds) cannot be beaten; it is counted as met and marked. "
              f"Met on {met} of {len(verdicts)} problems; the mean regret and the seed counts show the differences "
              "the medians hide."]
    secs = q.groupby("method").seconds.median()
    lines += ["", "Median seconds per run at the 10 % budget (search only, no backtests): "
              + ", ".join(f"{m} {secs[m]:.1f}" for m in METHODS) + ".", ""]
    lines += [
        "### 2. Optimizer overhead with real backtests (demo problem)",
        "",
        f"`optimize_bayes` on the demo problem, {ov['n_trials']} trials, `batch_size=4`, `maxcpus=2`: wall time "
        f"{ov['wall']:.1f} s, of which `ask` {ov['ask']:.2f} s ({ov['rounds']} calls) and `tell` {ov['tell']:.3f} s: "
        f"**overhead {100 * (ov['ask'] + ov['tell']) / ov['wall']:.1f} % of wall time** (target <= 5 %). Backtests: "
        f"{ov['backtest_cpu']:.1f} s of worker time over 2 workers.",
        "",
        "### 3. One batch proposal (`ask(4)`)",
        "",
        "| surrogate | observations told | seconds |",
        "|---|---:|---:|",
        f"| `BayesSearch.ask(4)`, hyperparameters fitted in this round | {prop['n_told']} | {prop['first']:.3f} |",
        f"| `BayesSearch.ask(4)`, hyperparameters reused (most rounds) | {prop['n_told']} | {prop['later']:.3f} |",
        f"| skopt `Optimizer.tell` (one fit) | {prop['n_skopt']} | {prop['skopt_tell']:.3f} |",
        f"| skopt `Optimizer.ask(n_points=4)` | {prop['n_skopt']} | {prop['skopt_ask']:.3f} |",
        "",
        "Target: under 1 s with 500 observations told. One BLAS thread for both.",
        "",
        "### 4. Multi-fidelity (`fidelity=0.35`)",
        "",
        "Every candidate first runs on the most recent 35 % of the bars plus a warmup (the largest `Int` of the "
        "space: 200 bars for sma_orcl, 100 for donchian_nvda, 30 for rsi_orcl); only the promoted ones also run on "
        "all the bars. Promotion (`bt_optimize/engine/fidelity.py`): the quick value must beat the "
        "`promote_quantile` (0.6) quantile of the quick values so far and, once the promoted trials show that "
        "quick values predict full ones (a fitted line, correlation >= 0.3), its predicted full value plus "
        "`promote_z` (2) residual deviations must reach the best full value so far.",
        "",
        f"**4a. Screening rules replayed on cached grids** ({len(set(r['seed'] for r in srows))} seeds, all three "
        "problems, `n_trials` = 10 % of the grid). The quick window of every point was backtested once too "
        "(`benchmarks/cache/*_quick35.csv`); `optimize_bayes`'s search and promotion rule (the same "
        "`BayesSearch` and `PromotionRule` objects) are replayed against both tables. Work = bars fed to "
        "backtrader (quick windows with their warmup, full runs), against `fidelity=None` at the same `n_trials`. "
        "Cells: median work cut / median regret (mean regret).",
        "",
        "| rule | " + " | ".join(p.name for p in PROBLEMS) + " |",
        "|---|" + "---:|" * len(PROBLEMS),
    ]
    sr = pd.DataFrame(srows)
    for label, _ in SIM_RULES:
        cells = []
        for prob in PROBLEMS:
            g = sr[(sr.problem == prob.name) & (sr.rule == label)]
            cells.append(f"{100 * _median(g.cut.tolist()):.0f} % / {_median(g.regret.tolist()):.3f} "
                         f"({statistics.fmean(g.regret):.3f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"**4b. Real backtests** on `{PROBLEMS[1].name}`, `n_trials` = 10 % of its grid, `batch_size=4`, "
        "`maxcpus=2`; backtest time = sum of the trials' `duration_s` (quick and full runs); bars fed as above; cuts "
        "are per seed against the same seed's `fidelity=None` run (variants alternate within each seed); regret of "
        "the study's best (always full-fidelity) against the cached grid. Medians over seeds (mean regret in "
        "brackets).",
        "",
        "| variant | backtest time (s) | time cut | bars-fed cut | regret | regret vs full | full runs | pruned |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    f = pd.DataFrame(frows)
    base = f[f.variant == "fidelity=None"].set_index("seed")
    base_r = _median(base.regret.tolist())
    for label in dict.fromkeys(f.variant):
        g = f[f.variant == label].set_index("seed")
        t_cut = _median((1 - g.backtest_s / base.backtest_s.loc[g.index]).tolist())
        b_cut = _median((1 - g.bars / base.bars.loc[g.index]).tolist())
        r = _median(g.regret.tolist())
        lines.append(f"| {label} | {_median(g.backtest_s.tolist()):.1f} | {100 * t_cut:.0f} % | {100 * b_cut:.0f} % | "
                     f"{r:.3f} ({statistics.fmean(g.regret):.3f}) | {r - base_r:+.3f} | "
                     f"{_median(g.n_full.tolist()):.0f} | {_median(g.n_pruned.tolist()):.0f} |")
    lines += [
        "", "Target: `fidelity=0.35` cuts backtest time by >= 40 % with median regret no more than 0.02 higher.", "",
        "The arithmetic behind the cut: each candidate pays a quick run (35 % of the bars plus the warmup: 41 % of a "
        "full run on donchian_nvda, 46 % on sma_orcl) and each promoted one a full run. With the quantile alone, "
        "at least 40 % are promoted, and more in practice, because the search keeps proposing better candidates "
        "than the ones seen so far: the cut cannot exceed about 20 %. The bound (test 2) spends full runs only on "
        "candidates that could become the best. Smaller `promote_z` cuts more but prunes good points when quick "
        "and full values agree only loosely (correlation 0.6 on sma_orcl, 0.8 on donchian_nvda): see the z=1 row. "
        "Time and bar cuts differ by a few points: a windowed run costs a little more per bar (its warmup gating), "
        "every run has a fixed setup cost, and the machine's load varies between runs.",
        "",
        "### Notes on the design",
        "",
        "Real strategy landscapes have plateaus (a third of the RSI space never trades), narrow peaks and integer "
        "grids. `BayesSearch` answers with: a rank (normal-score) output transform; a Latin-hypercube initial "
        "design; the first point of each round taken from a box around the incumbent (a trust region); one proposal "
        "in 8 uniformly random; and an `\"auto\"` acquisition ladder limited to PI, EI and LCB with kappa up to 3 "
        "(a ladder reaching LCB kappa 4 kept exploring far away after the good region was found and missed the "
        "Donchian peak on about half the seeds during development).",
        "", f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
              f"numpy {np.__version__}. Other processes shared the machine during the run (load average "
              f"{os.getloadavg()[0]:.1f} at the end); timings vary with load, the ratios are the point.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds and smaller real-backtest runs")
    parser.add_argument("--grids-only", action="store_true", help="compute the cached grids and stop")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--out", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    for prob in PROBLEMS:
        prob.grid()
        prob.grid(quick=True)
    if args.grids_only:
        return ""
    seeds = list(range(args.seeds or (2 if args.quick else 10)))
    qrows, qsecs = quality(seeds, METHODS)
    ov = overhead(60 if args.quick else 200)
    prop = proposal_time(500, 100 if args.quick else 200)
    srows = fidelity_sim(seeds)
    variants: list[tuple[str, dict[str, Any]]] = [("fidelity=None", {}), ("fidelity=0.35", {"fidelity": 0.35})]
    if not args.quick:
        variants.append(("fidelity=0.35, promote_z=None", {"fidelity": 0.35, "promote_z": None}))
        variants.append(("fidelity=0.35, promote_quantile=0.8, promote_z=None",
                         {"fidelity": 0.35, "promote_quantile": 0.8, "promote_z": None}))
    frows = fidelity(seeds[:1] if args.quick else seeds[:5], variants)
    text = report(args, seeds, qrows, qsecs, ov, prop, srows, frows, time.perf_counter() - t0)
    args.out.write_text(text, encoding="utf-8")
    return text



if __name__ == "__main__":
    print(main())
