"""Time one batch round of Bayesian optimisation: ``BayesSearch.ask(4)`` vs skopt's ``Optimizer.ask(n_points=4)``.

Both surrogates see the same 100 told points of a 4-dimensional mixed space (integer, stepped integer, log-real,
3-way categorical) with a cheap synthetic objective, and both use the same GP model (skopt's encoding, a constant
times a Matern 5/2 with one length scale per column, fitted noise; skopt fits it with ``cook_estimator("GP")``,
``BayesSearch`` with its own analytic-gradient code). One *round* is what a parallel optimiser pays between two
batches of backtests:

* ``BayesSearch``: ``ask(4)`` -- the GP (hyperparameters refitted when the data grew by 10 %, else reused), then four
  points chosen by conditioning on constant lies with the fixed kernel (rank-one updates); the acquisition is
  maximised over ~2,600 candidates.
* skopt: ``tell(previous 4 points)`` -- one fit -- plus ``ask(n_points=4)`` -- a constant-liar batch that fits a GP
  (hyperparameters included) for every lie. Both parts are reported.

Each number is the median of ``ROUNDS`` rounds; between rounds the four proposed points are evaluated and told.
BLAS is limited to one thread for both (on small matrices a multi-threaded BLAS only adds overhead; ``BayesSearch``
does this itself); skopt with the default BLAS threading is reported as well. The markdown table is printed and
written to ``docs/benchmarks_bayes.md``.

Usage::

    python benchmarks/bayes_batch_overhead.py
"""

from __future__ import annotations

import os
import pathlib
import platform
import statistics
import time
import warnings

import numpy as np
import skopt
from skopt import Optimizer
from skopt.space import Categorical, Integer
from skopt.space import Real as SkReal
from threadpoolctl import threadpool_limits

from bt_optimize.search.bayes import BayesSearch
from bt_optimize.space import Cat, Int, Real, Space

N_TOLD = 100
BATCH = 4
ROUNDS = 5
OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks_bayes.md"

SPACE = Space({"fast": Int(2, 40), "slow": Int(20, 120, step=5), "stop": Real(0.01, 0.2, log=True),
               "ma": Cat(["sma", "ema", "wma"])})
SK_DIMS = [Integer(2, 40), Integer(0, 20), SkReal(0.01, 0.2, prior="log-uniform"), Categorical(["sma", "ema", "wma"])]


def objective(p: dict) -> float:
    """A smooth value to maximise, with an optimum inside the space."""
    return (-((p["fast"] - 12) / 38) ** 2 - ((p["slow"] - 80) / 100) ** 2 - np.log(p["stop"] / 0.05) ** 2 / 4
            + (0.1 if p["ma"] == "ema" else 0.0))


def to_sk(p: dict) -> list:
    return [p["fast"], (p["slow"] - 20) // 5, p["stop"], p["ma"]]


def from_sk(x: list) -> dict:
    return {"fast": int(x[0]), "slow": 20 + 5 * int(x[1]), "stop": float(x[2]), "ma": x[3]}


def told_points() -> list[dict]:
    rng = np.random.default_rng(0)
    return [SPACE.sample(rng) for _ in range(N_TOLD)]


def time_ours() -> float:
    s = BayesSearch(SPACE, seed=0, batch_size=BATCH)
    for p in told_points():
        s.tell(p, objective(p))
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        pts = s.ask(BATCH)
        times.append(time.perf_counter() - t0)
        assert len(pts) == BATCH
        for p in pts:
            s.tell(p, objective(p))
    return statistics.median(times)


def time_skopt(one_thread: bool) -> tuple[float, float]:
    opt = Optimizer(SK_DIMS, base_estimator="GP", n_initial_points=10, random_state=0)
    pts = told_points()
    with threadpool_limits(limits=1 if one_thread else None, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt.tell([to_sk(p) for p in pts], [-objective(p) for p in pts])
        tells, asks = [], []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            xs = opt.ask(n_points=BATCH)
            asks.append(time.perf_counter() - t0)
            ys = [-objective(from_sk(x)) for x in xs]
            t0 = time.perf_counter()
            opt.tell(xs, ys)
            tells.append(time.perf_counter() - t0)
    return statistics.median(tells), statistics.median(asks)


def main() -> str:
    ours = time_ours()
    sk_tell, sk_ask = time_skopt(one_thread=True)
    sk_tell_mt, sk_ask_mt = time_skopt(one_thread=False)
    rows = [
        ("bt_optimize `BayesSearch.ask(4)` (GP + 4 conditioned picks)", "1", "0 (records only)", f"{ours:.3f}",
         f"{ours:.3f}"),
        ("skopt `Optimizer`: `tell(4)` + `ask(n_points=4)`", "1", f"{sk_tell:.3f}", f"{sk_ask:.3f}",
         f"{sk_tell + sk_ask:.3f}"),
        ("skopt `Optimizer`: same, default BLAS threads", "default", f"{sk_tell_mt:.3f}", f"{sk_ask_mt:.3f}",
         f"{sk_tell_mt + sk_ask_mt:.3f}"),
    ]
    lines = [
        "## Bayesian optimisation: cost of one batch round",
        "",
        f"{N_TOLD} told points, batches of {BATCH}, 4-dimensional mixed space (int, stepped int, log-real, 3-way "
        f"categorical), the same GP model for both; median of {ROUNDS} rounds "
        "(`python benchmarks/bayes_batch_overhead.py`). "
        "A round is the time between two batches of backtests: for skopt the `tell` of the previous batch (one "
        "fit) plus `ask(n_points=4)` (a constant-liar batch that refits the GP, hyperparameters included, per lie); "
        "for `BayesSearch` `ask(4)` alone (its `tell` only records).",
        "",
        "| method | BLAS threads | fit in tell (s) | ask (s) | round (s) |",
        "|---|---|---:|---:|---:|",
        *[f"| {' | '.join(r)} |" for r in rows],
        "",
        f"Speed-up per round at equal BLAS threads: {(sk_tell + sk_ask) / ours:.1f}x.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__}, scikit-optimize {skopt.__version__}. Timings vary with machine load; the ratio "
        "is the point.",
        "",
    ]
    text = "\n".join(lines)
    OUT.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    print(main())
