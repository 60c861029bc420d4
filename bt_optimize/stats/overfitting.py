r"""Overfitting statistics: how likely is the best of many backtests a fluke?

Pure numpy/scipy; nothing here knows about backtrader or studies. Every Sharpe ratio in this module is
**per bar** (not annualised): ``mean(r) / std(r, ddof=1)`` of the simple bar returns ``r``.

Two questions, two statistics:

``deflated_sharpe_ratio`` (Bailey & López de Prado, 2014, *The Deflated Sharpe Ratio: Correcting for
Selection Bias, Backtest Overfitting and Non-Normality*, J. Portfolio Management 40(5))
    The probability that the best trial's true Sharpe ratio is above the Sharpe ratio that the best of
    ``N`` worthless trials would show by luck alone. It is the probabilistic Sharpe ratio
    (:func:`probabilistic_sharpe_ratio`) measured against the benchmark
    ``SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))`` (:func:`expected_max_sharpe`), where
    ``V`` is the variance of the trials' Sharpe ratios, ``g`` the Euler-Mascheroni constant and ``Z^-1`` the
    standard normal quantile. Skewness and kurtosis come from the best trial's returns, so a strategy with
    fat left tails needs more evidence.

``pbo_cscv`` (Bailey, Borwein, López de Prado & Zhu, 2015, *The Probability of Backtest Overfitting*,
J. Computational Finance 20(4))
    Combinatorially symmetric cross-validation: cut the bars into ``S`` blocks, and for each of the
    ``C(S, S/2)`` ways to pick half of them as the in-sample set (the rest out of sample), take the trial that
    is best in sample and see where it ranks out of sample. PBO is the share of splits where the in-sample
    winner ends in the bottom half out of sample.

Effective number of trials
    Trials of one grid are strongly correlated (``fast=10`` and ``fast=11`` trade almost the same days), so
    ``N`` independent trials overstates the search. :func:`effective_n_trials` answers "how many independent
    trials would luck treat the same way?": it simulates the trials' Sharpe ratios under the null (jointly normal,
    with the correlation of the trials' returns), measures how far their best stands above the pack, and returns
    the ``N`` for which the DSR formula expects the same. That makes the DSR's benchmark match, on average, the
    best these correlated trials reach with no edge. The paper suggests clustering or an eigenvalue count; both
    were measured on price paths with no edge (``benchmarks/overfitting_neff.py``) and both undercount on wide
    grids (the median DSR of a worthless 878-trial grid's best came out at 0.64 to 0.79 where 0.5 is right), as the
    maximum of many correlated trials depends on more than the number of directions they span. The
    simulation uses the same eigen-decomposition and needs no threshold; it is seeded, so it is deterministic.

``minimum_backtest_length`` (Bailey, Borwein, López de Prado & Zhu, 2014, *Pseudo-Mathematics and Financial
Charlatanism*, Notices of the AMS 61(5))
    How many years of data are needed so that the best of ``N`` independent trials with no skill is not
    expected to show an annualised Sharpe ratio of ``target``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq
from scipy.stats import norm

__all__ = [
    "EULER_GAMMA", "PBOResult", "sharpe_ratio", "return_moments", "probabilistic_sharpe_ratio",
    "expected_max_sharpe", "deflated_sharpe_ratio", "effective_n_trials", "distinct_columns", "pbo_cscv",
    "minimum_backtest_length",
    "PBO_METRICS",
]

EULER_GAMMA = 0.5772156649015329
"""The Euler-Mascheroni constant."""

Array = npt.NDArray[np.float64]


def sharpe_ratio(returns: npt.ArrayLike) -> float:
    """Per-bar Sharpe ratio ``mean / std(ddof=1)`` of simple returns; ``0.0`` for flat returns, ``nan`` if < 2."""
    r = np.asarray(returns, dtype=float)
    if r.size < 2:
        return math.nan
    sd = float(r.std(ddof=1))
    if sd == 0.0 or not math.isfinite(sd):
        return 0.0
    return float(r.mean()) / sd


def return_moments(returns: npt.ArrayLike) -> tuple[float, float]:
    """Skewness and (non-excess, normal = 3) kurtosis of ``returns``; ``(0, 3)`` when they are flat."""
    r = np.asarray(returns, dtype=float)
    if r.size < 3:
        return 0.0, 3.0
    d = r - r.mean()
    m2 = float(np.mean(d * d))
    if m2 <= 0.0:
        return 0.0, 3.0
    return float(np.mean(d**3)) / m2**1.5, float(np.mean(d**4)) / m2**2


def probabilistic_sharpe_ratio(sr: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0,
                               sr_benchmark: float = 0.0) -> float:
    """Probability that the true per-bar Sharpe ratio exceeds ``sr_benchmark``, given ``sr`` observed on ``n_obs``.

    ``PSR = Z[(sr - sr*) sqrt(n - 1) / sqrt(1 - skew sr + (kurtosis - 1) / 4 sr^2)]`` (Bailey & López de Prado,
    2012, and eq. 2 of the 2014 DSR paper).

    Args:
        sr: Observed per-bar (not annualised) Sharpe ratio.
        n_obs: Number of returns it was measured on.
        skew: Skewness of the returns.
        kurtosis: Kurtosis of the returns (3 for normal returns; not the excess).
        sr_benchmark: Per-bar Sharpe ratio to beat.

    Returns:
        A probability in [0, 1].

    Raises:
        ValueError: ``n_obs < 2`` or a non-finite input.
    """
    if n_obs < 2:
        raise ValueError(f"n_obs={n_obs}: the probabilistic Sharpe ratio needs at least 2 returns")
    if not all(math.isfinite(x) for x in (sr, skew, kurtosis, sr_benchmark)):
        raise ValueError(f"non-finite input: sr={sr}, skew={skew}, kurtosis={kurtosis}, benchmark={sr_benchmark}")
    var = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    var = max(var, 1e-12)  # only absurd moment combinations get here
    return float(norm.cdf((sr - sr_benchmark) * math.sqrt(n_obs - 1.0) / math.sqrt(var)))


def expected_max_sharpe(n_trials: float, sr_variance: float, sr_mean: float = 0.0) -> float:
    """Expected maximum of ``n_trials`` independent Sharpe ratios with mean ``sr_mean`` and variance ``sr_variance``.

    ``sr_mean + sqrt(V) ((1 - g) Z^-1(1 - 1/N) + g Z^-1(1 - 1/(N e)))``; ``sr_mean`` for ``N <= 1``. ``N`` may be
    fractional (an effective number of trials).
    """
    if not (math.isfinite(n_trials) and math.isfinite(sr_variance)) or sr_variance < 0:
        raise ValueError(f"n_trials={n_trials}, sr_variance={sr_variance}: give finite values, variance >= 0")
    if n_trials <= 1.0:
        return float(sr_mean)
    return float(sr_mean + math.sqrt(sr_variance) * _expected_max_z(n_trials))


def deflated_sharpe_ratio(sr: float, n_obs: int, n_trials: float, sr_variance: float, skew: float = 0.0,
                          kurtosis: float = 3.0) -> float:
    """Deflated Sharpe ratio: :func:`probabilistic_sharpe_ratio` against :func:`expected_max_sharpe`.

    Args:
        sr: Per-bar Sharpe ratio of the selected (best) trial.
        n_obs: Number of returns of the selected trial.
        n_trials: Number of (effectively independent) trials the selection was made from.
        sr_variance: Variance of the trials' per-bar Sharpe ratios.
        skew: Skewness of the selected trial's returns.
        kurtosis: Kurtosis (normal = 3) of the selected trial's returns.

    Returns:
        The probability, in [0, 1], that the selected trial's true Sharpe ratio beats what luck gives the best of
        ``n_trials`` trials with no skill. Above 0.95 is the paper's bar for a real finding.
    """
    return probabilistic_sharpe_ratio(sr, n_obs, skew, kurtosis, expected_max_sharpe(n_trials, sr_variance))


def distinct_columns(returns_matrix: npt.ArrayLike) -> Array:
    """The columns of ``returns_matrix`` (bars x trials) with identical returns kept once, in first-seen order.

    Two configurations that trade exactly alike (every one that never traded, for one) are one trial for the
    statistics of this module: the spread of the trials' Sharpe ratios and the effective number of trials are
    measured over distinct return streams.
    """
    m = np.asarray(returns_matrix, dtype=float)
    if m.ndim != 2 or m.shape[1] == 0:
        raise ValueError("returns_matrix must be a 2-D array of bars x trials with at least one trial")
    # a random projection of each column, summed in the same order for every column, finds candidate twins cheaply
    keys = (m * np.random.default_rng(0).standard_normal(m.shape[0])[:, None]).sum(axis=0)
    kept: dict[float, list[int]] = {}
    keep = []
    for j, key in enumerate(keys.tolist()):
        twins = kept.setdefault(key, [])
        if not any(np.array_equal(m[:, i], m[:, j]) for i in twins):
            twins.append(j)
            keep.append(j)
    return m[:, keep]


def _expected_max_z(n_trials: float) -> float:
    """The factor ``(1 - g) Z^-1(1 - 1/N) + g Z^-1(1 - 1/(N e))`` of :func:`expected_max_sharpe`."""
    return float((1 - EULER_GAMMA) * norm.ppf(1 - 1.0 / n_trials)
                 + EULER_GAMMA * norm.ppf(1 - 1.0 / (n_trials * math.e)))


def effective_n_trials(returns_matrix: npt.ArrayLike, n_draws: int = 2000, seed: int = 0) -> float:
    """How many independent trials the columns of ``returns_matrix`` (bars x trials) amount to, for the DSR.

    The deflated Sharpe ratio measures the best trial against ``sqrt(V) z(N)``: ``V`` the variance of the trials'
    Sharpe ratios, ``z(N)`` the expected maximum of ``N`` independent standard normals (the factor of
    :func:`expected_max_sharpe`). Correlated trials reach a smaller maximum than independent ones, so they amount
    to fewer trials; this function finds how many, by simulation:

    1. Under the null (no trial has an edge) the trials' Sharpe ratios, times ``sqrt(bars)``, are jointly normal
       with zero mean and the correlation matrix ``C`` of the trials' returns.
    2. Draw ``n_draws`` such vectors (from the eigen-decomposition of ``C``; seeded, so the answer is
       deterministic), and measure how far the largest stands above the average, in units of the spread
       across trials: ``E[max - mean] / sqrt(E[var])``.
    3. The effective number of trials is the ``N`` whose ``z(N)`` equals that ratio.

    So the DSR's benchmark is, on average, what the best of *these* trials shows with no edge. It is ``N`` for
    independent trials (up to the formula's approximation for small ``N``), 1 for identical ones, and in between
    it depends on how the trials are correlated, not only on how many directions they span. Columns with
    identical returns count once (:func:`distinct_columns`); a trial that never traded is one of them.

    Args:
        returns_matrix: Per-bar returns, one column per trial, all on the same bars.
        n_draws: Simulated Sharpe-ratio vectors (Monte Carlo error of the count is about 3 % at 2000).
        seed: Seed of the simulation.

    Returns:
        A number in ``[1, N]``, ``N`` the number of distinct columns.
    """
    m = distinct_columns(returns_matrix)
    n_bars, n_cols = m.shape
    if n_cols < 2:
        return 1.0
    sd = m.std(axis=0)
    live = m[:, sd > 0]
    n_flat = n_cols - live.shape[1]  # distinct constant columns (a never-traded one at most once): Sharpe 0
    z = (live - live.mean(axis=0)) / live.std(axis=0)
    if live.shape[1] <= n_bars:  # the factor from the smaller of the two Gram matrices
        lam, vec = np.linalg.eigh(z.T @ z / n_bars)
        keep = lam > 1e-10 * lam.max()
        factor = np.sqrt(lam[keep])[:, None] * vec[:, keep].T
    else:
        lam, vec = np.linalg.eigh(z @ z.T / n_bars)
        keep = lam > 1e-10 * lam.max()
        factor = vec[:, keep].T @ z / math.sqrt(n_bars)
    if factor.shape[0] <= 1 and not n_flat:  # every trial moves as one (scaled copies have one Sharpe ratio)
        return 1.0
    rng = np.random.default_rng(seed)
    tops, spreads = [], []
    for start in range(0, n_draws, 500):
        x = rng.standard_normal((min(500, n_draws - start), factor.shape[0])) @ factor
        if n_flat:
            x = np.concatenate([x, np.zeros((x.shape[0], n_flat))], axis=1)
        tops.append(x.max(axis=1) - x.mean(axis=1))
        spreads.append(x.var(axis=1, ddof=1))
    ratio = float(np.concatenate(tops).mean()) / math.sqrt(float(np.concatenate(spreads).mean()))
    lo, hi = 1.0 + 1e-9, float(n_cols)
    if ratio >= _expected_max_z(hi):
        return hi
    if ratio <= _expected_max_z(lo):
        return 1.0
    return float(math.exp(brentq(lambda ln: _expected_max_z(math.exp(ln)) - ratio, math.log(lo), math.log(hi))))


# ---------------------------------------------------------------------------------------------- CSCV / PBO
BlockStats = dict[str, Array]


def _block_stats(m: Array, edges: list[tuple[int, int]]) -> BlockStats:
    """Per block and column: count, sum, sum of squares, downside sum of squares, sum of log growth."""
    n = np.array([[b - a] for a, b in edges], dtype=float)
    s1 = np.stack([m[a:b].sum(axis=0) for a, b in edges])
    s2 = np.stack([(m[a:b] ** 2).sum(axis=0) for a, b in edges])
    dn = np.stack([(np.minimum(m[a:b], 0.0) ** 2).sum(axis=0) for a, b in edges])
    lg = np.stack([np.log1p(np.maximum(m[a:b], -0.999999)).sum(axis=0) for a, b in edges])
    return {"n": np.broadcast_to(n, s1.shape), "s1": s1, "s2": s2, "dn": dn, "lg": lg}


def _sharpe_from(st: BlockStats) -> Array:
    n, s1, s2 = st["n"], st["s1"], st["s2"]
    mean = s1 / n
    var = np.maximum(s2 - n * mean * mean, 0.0) / np.maximum(n - 1.0, 1.0)
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 1e-15, mean / np.where(sd > 1e-15, sd, 1.0), 0.0)
    return out


def _sortino_from(st: BlockStats) -> Array:
    mean = st["s1"] / st["n"]
    dd = np.sqrt(st["dn"] / st["n"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dd > 1e-15, mean / np.where(dd > 1e-15, dd, 1.0), 0.0)


PBO_METRICS: dict[str, Callable[[BlockStats], Array]] = {
    "sharpe_ratio": _sharpe_from,
    "sortino_ratio": _sortino_from,
    "mean_return": lambda st: st["s1"] / st["n"],
    "total_return": lambda st: np.expm1(st["lg"]),
}
"""Metrics :func:`pbo_cscv` computes from block sums (fast); any other metric is a callable on a return matrix."""


@dataclass(frozen=True)
class PBOResult:
    """What :func:`pbo_cscv` found.

    Attributes:
        pbo: Share of splits where the in-sample best ranks at or below the out-of-sample median.
        logits: ``ln(w / (1 - w))`` per split, ``w`` the in-sample best's relative out-of-sample rank.
        is_best: In-sample metric of the in-sample best, per split.
        oos_of_best: Out-of-sample metric of the same trial, per split.
        degradation_slope: Slope of ``oos_of_best`` regressed on ``is_best`` (negative: the better it looked in
            sample, the worse it did out of sample).
        degradation_intercept: Intercept of that regression.
        prob_oos_loss: Share of splits where the in-sample best loses out of sample (metric below 0).
        n_splits: Number of splits, ``C(n_blocks, n_blocks / 2)``.
        n_blocks: Number of blocks the bars were cut into.
    """

    pbo: float
    logits: Array
    is_best: Array
    oos_of_best: Array
    degradation_slope: float
    degradation_intercept: float
    prob_oos_loss: float
    n_splits: int
    n_blocks: int


def _check_blocks(n_blocks: int, n_bars: int) -> None:
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"n_blocks={n_blocks!r}: give an even whole number >= 2 (16 is the paper's choice)")
    if n_bars < 2 * n_blocks:
        raise ValueError(f"{n_bars} bars cannot be cut into {n_blocks} blocks of at least 2 bars; use fewer blocks")


def pbo_cscv(returns_matrix: npt.ArrayLike, n_blocks: int = 16,
             metric: str | Callable[[Array], Array] = "sharpe_ratio") -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation.

    The bars are cut into ``n_blocks`` consecutive blocks of (nearly) equal length. For every choice of half the
    blocks as the in-sample set (the other half is out of sample), the trial with the best in-sample metric is
    found and its out-of-sample metric is ranked among all trials' (ties share their average rank):
    ``w = rank / (N + 1)`` and the logit ``ln(w / (1 - w))``. PBO is the share of splits with a logit <= 0.

    Args:
        returns_matrix: Per-bar returns, bars x trials (every trial on the same bars).
        n_blocks: Even number of blocks (the paper uses 16: 12,870 splits).
        metric: ``"sharpe_ratio"``, ``"sortino_ratio"``, ``"mean_return"``, ``"total_return"`` (computed from
            block sums, fast), or a callable taking a bars x trials array and returning one value per trial
            (higher is better).

    Returns:
        A :class:`PBOResult`.

    Raises:
        ValueError: fewer than 2 trials, too few bars for ``n_blocks``, an odd ``n_blocks``, non-finite returns or
            an unknown metric name.
    """
    m = np.asarray(returns_matrix, dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("returns_matrix must be bars x trials with at least 2 trials")
    if not np.isfinite(m).all():
        raise ValueError("returns_matrix holds NaN or inf; drop those trials or bars first")
    t, n = m.shape
    _check_blocks(n_blocks, t)
    if isinstance(metric, str) and metric not in PBO_METRICS:
        raise ValueError(f"metric={metric!r}: use one of {sorted(PBO_METRICS)} or a callable")
    bounds = np.linspace(0, t, n_blocks + 1).round().astype(int)
    edges = [(int(bounds[i]), int(bounds[i + 1])) for i in range(n_blocks)]
    splits = np.array([[1.0 if b in c else 0.0 for b in range(n_blocks)]
                       for c in combinations(range(n_blocks), n_blocks // 2)])
    st = _block_stats(m, edges) if isinstance(metric, str) else None
    blocks = [np.arange(a, b) for a, b in edges]
    is_best = np.empty(len(splits))
    oos_best = np.empty(len(splits))
    rank = np.empty(len(splits))
    chunk = max(1, 4_000_000 // max(n, 1))  # splits per pass: bounded memory however many trials
    for lo in range(0, len(splits), chunk):
        part = splits[lo:lo + chunk]
        if st is not None:
            fn = PBO_METRICS[str(metric)]
            is_perf = fn({k: part @ v for k, v in st.items()})
            oos_perf = fn({k: (1.0 - part) @ v for k, v in st.items()})
        else:
            is_perf = np.empty((len(part), n))
            oos_perf = np.empty((len(part), n))
            for i, row in enumerate(part):
                ins = np.concatenate([blocks[j] for j in range(n_blocks) if row[j]])
                out = np.concatenate([blocks[j] for j in range(n_blocks) if not row[j]])
                is_perf[i] = np.asarray(metric(m[ins]), dtype=float)  # type: ignore[operator]
                oos_perf[i] = np.asarray(metric(m[out]), dtype=float)  # type: ignore[operator]
        best = np.argmax(is_perf, axis=1)
        rows = np.arange(len(part))
        ob = oos_perf[rows, best]
        # average rank (1 = worst) of the in-sample best among the out-of-sample values, ties shared
        below = (oos_perf < ob[:, None]).sum(axis=1)
        equal = (oos_perf == ob[:, None]).sum(axis=1)
        rank[lo:lo + len(part)] = below + (equal + 1) / 2.0
        is_best[lo:lo + len(part)] = is_perf[rows, best]
        oos_best[lo:lo + len(part)] = ob
    w = rank / (n + 1.0)
    logits = np.log(w / (1.0 - w))
    if np.ptp(is_best) > 0:
        slope, intercept = np.polyfit(is_best, oos_best, 1)
    else:
        slope, intercept = 0.0, float(oos_best.mean())
    return PBOResult(pbo=float((logits <= 0).mean()), logits=logits, is_best=is_best, oos_of_best=oos_best,
                     degradation_slope=float(slope), degradation_intercept=float(intercept),
                     prob_oos_loss=float((oos_best < 0).mean()), n_splits=len(splits), n_blocks=n_blocks)


def minimum_backtest_length(n_trials: float, target_sharpe: float = 1.0) -> float:
    """Years of data below which the best of ``n_trials`` skill-less trials is expected to reach ``target_sharpe``.

    ``MinBTL = (E[max_N] / SR)^2`` with ``E[max_N]`` the expected maximum of ``N`` standard normals (annualised
    Sharpe ratios of zero-skill strategies have about unit variance over one year).

    Args:
        n_trials: Number of independent trials.
        target_sharpe: Annualised Sharpe ratio the best trial shows.

    Returns:
        Years (0.0 for a single trial).
    """
    if not (isinstance(target_sharpe, (int, float)) and target_sharpe > 0):
        raise ValueError(f"target_sharpe={target_sharpe!r}: give a positive annualised Sharpe ratio")
    return (expected_max_sharpe(n_trials, 1.0) / float(target_sharpe)) ** 2
