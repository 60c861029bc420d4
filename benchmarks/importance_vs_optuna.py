"""Parameter importance: ``study.importances()`` against Optuna's ``get_param_importances`` on the same trials.

Three real problems, the ones of ``benchmarks/search_quality.py`` (SMA cross on ORCL, Donchian breakout on NVDA,
RSI mean reversion on ORCL), whose every grid point was backtested once with ``optimize_grid`` and cached in
``benchmarks/cache/<problem>.csv``. For each problem, trial count ``n`` and seed, ``n`` grid points are drawn at
random (the trials of a random search of ``n`` trials; failed points are left out, as a study leaves them out)
and both importance evaluators run on exactly those ``(params, value)`` pairs:

- ours: :func:`bt_optimize.importance.param_importances` (fANOVA main effects of a 64-tree random forest,
  averaged over the trees before the variance is taken);
- Optuna's default ``FanovaImportanceEvaluator`` (64 trees, max depth 64), with the same seed.

Reported per problem and ``n``, as means over the seeds: the Spearman rank correlation between the two
rankings, how often both name the same most important parameter, and, because the grid is a full factorial,
each evaluator's Spearman correlation with the exact answer: the variance over its levels of the grid mean of
each parameter (its main-effect variance over the whole grid).

Run: ``python benchmarks/importance_vs_optuna.py`` (needs ``pip install -e '.[bench]'``; no backtest runs when
the cached grids exist). Writes ``docs/benchmarks_importance.md``.
"""

from __future__ import annotations

import pathlib
import sys
import time
import warnings

import pandas as pd
from scipy.stats import spearmanr

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from search_quality import PROBLEMS, _typed  # noqa: E402  (the problems and their cached grids)

from bt_optimize.importance import param_importances  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks_importance.md"
SIZES = (30, 60, 120)
SEEDS = range(10)


def optuna_importances(space, params: list[dict], values: list[float], seed: int) -> pd.Series:
    """Optuna's fANOVA importances of the same trials (a study built with ``create_trial``)."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    import bt_optimize as bto

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {}
    for n in space.names:
        d = space[n]
        if isinstance(d, bto.Cat):
            dists[n] = CategoricalDistribution(list(d.choices))
        elif isinstance(d, bto.Int):
            dists[n] = IntDistribution(d.low, d.high, step=d.step, log=d.log)
        else:
            dists[n] = FloatDistribution(d.low, d.high, step=d.step, log=d.log)
    study = optuna.create_study()
    for p, v in zip(params, values):
        study.add_trial(optuna.trial.create_trial(params=p, distributions=dists, value=v))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed), normalize=True)
    return pd.Series(imp, dtype=float)


def exact(grid: pd.DataFrame, names: list[str]) -> pd.Series:
    """Main-effect variance of each parameter over the full factorial grid (complete points)."""
    return pd.Series({n: grid.groupby(n)["value"].mean().var(ddof=0) for n in names})


def main() -> None:
    rows = []
    t_ours = t_optuna = 0.0
    for prob in PROBLEMS:
        space = prob.space
        grid = prob.grid()
        grid = grid[grid["state"] == "complete"].dropna(subset=["value"])
        truth = exact(grid, space.names)
        for n in SIZES:
            for seed in SEEDS:
                sample = grid.sample(n, random_state=seed)
                params = [{k: _typed(space[k], r[k]) for k in space.names} for r in sample.to_dict("records")]
                values = sample["value"].astype(float).tolist()
                t0 = time.perf_counter()
                ours = param_importances(space, params, values, seed=seed)[space.names]
                t1 = time.perf_counter()
                theirs = optuna_importances(space, params, values, seed)[space.names]
                t2 = time.perf_counter()
                t_ours += t1 - t0
                t_optuna += t2 - t1
                rows.append({"problem": prob.name, "n": n, "seed": seed,
                             "rho": spearmanr(ours, theirs).statistic,
                             "top1": ours.idxmax() == theirs.idxmax(),
                             "rho_ours_exact": spearmanr(ours, truth[space.names]).statistic,
                             "rho_optuna_exact": spearmanr(theirs, truth[space.names]).statistic,
                             "ours_top": ours.idxmax(), "optuna_top": theirs.idxmax()})
        print(f"{prob.name}: done", flush=True)
    df = pd.DataFrame(rows)
    table = df.groupby(["problem", "n"], sort=False).agg(
        rho=("rho", "mean"), top1=("top1", "mean"), ours_exact=("rho_ours_exact", "mean"),
        optuna_exact=("rho_optuna_exact", "mean")).reset_index()
    lines = [
        "# Parameter importance vs Optuna",
        "",
        "`python benchmarks/importance_vs_optuna.py`: `study.importances()` (fANOVA main effects of a random "
        "forest, see `bt_optimize/importance.py`) and Optuna's `get_param_importances` (its default "
        "`FanovaImportanceEvaluator`) on exactly the same trials: `n` points drawn at random from the cached, "
        "fully backtested grids of the three search-quality problems, "
        f"{len(SEEDS)} draws per row. Spearman correlations are means over the draws; \"same top\" is the share of "
        "draws where both name the same most important parameter. Because each grid is a full factorial, the "
        "exact answer is known: the variance over its levels of each parameter's grid mean (its main effect "
        "over the whole space); the last two columns compare each evaluator's ranking with it.",
        "",
    ]
    for prob in PROBLEMS:
        g = prob.grid()
        g = g[g["state"] == "complete"]
        tr = exact(g, prob.space.names)
        share = (tr / tr.sum()).sort_values(ascending=False)
        lines.append(f"- {prob.describe()}; exact main-effect shares: "
                     + ", ".join(f"`{k}` {v:.0%}" for k, v in share.items()))
    lines += ["", "| problem | trials | rank agreement with Optuna (Spearman) | same top parameter | "
              "ours vs exact (Spearman) | Optuna vs exact (Spearman) |", "|---|---:|---:|---:|---:|---:|"]
    for r in table.itertuples():
        lines.append(f"| {r.problem} | {r.n} | {r.rho:.2f} | {r.top1:.0%} | {r.ours_exact:.2f} | "
                     f"{r.optuna_exact:.2f} |")
    overall = df[["rho", "top1", "rho_ours_exact", "rho_optuna_exact"]].mean()
    lines += ["", f"Over all {len(df)} draws: rank agreement with Optuna {overall['rho']:.2f}, same top parameter "
              f"{overall['top1']:.0%}; against the exact ranking ours {overall['rho_ours_exact']:.2f}, Optuna "
              f"{overall['rho_optuna_exact']:.2f}. Time for all draws, side by side in this run: ours "
              f"{t_ours / max(t_optuna, 1e-9):.2f}x Optuna's.", ""]
    OUTPUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
