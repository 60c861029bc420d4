"""Monte Carlo statistics over a list of closed-trade returns (pure numpy).

A strategy's closed trades are turned into a trade-by-trade equity path by compounding their returns from a
starting capital of 1: after trade ``i`` the equity is ``prod(1 + r[:i + 1])``. The simulations rebuild that
path many times from reshuffled (``"permutation"``) or resampled (``"bootstrap"``) trades, and
:func:`summarize` places the observed value of each metric inside its simulated distribution.

Metrics (computed by :func:`compute_trade_metrics`, vectorised over rows). They are measured on the closed-trade
path, not on the bar-by-bar equity curve of :mod:`bt_optimize.stats.metrics` (the one ``METRICS`` vocabulary of the
package): the per-trade Sharpe ratio is named ``trade_sharpe`` so it is never mistaken for the annualised
``sharpe_ratio`` of bar returns, and the constants here are :data:`TRADE_METRICS` and
:data:`TRADE_LOWER_IS_BETTER`.

* ``trade_sharpe``: per-trade Sharpe ratio, ``mean(r) / std(r, ddof=1)`` of the trade returns, with no
  risk-free rate and no annualisation (trades have no fixed length, so there is no honest annualising
  factor). Undefined (NaN) when the returns have zero spread.
* ``total_return``: ``prod(1 + r) - 1``.
* ``max_drawdown``: the largest fall of the equity path from its running peak, as a positive fraction; the
  starting capital counts as the first peak. Lower is better.
* ``win_rate``: share of trades with a return above zero (a zero return is not a win).
* ``profit_factor``: sum of the positive returns over the absolute sum of the negative ones; ``inf`` when
  there are gains and no losses, undefined (NaN) when there are neither.

This module imports nothing from ``bt_optimize``.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(42)
    >>> returns = np.array([0.02, -0.01, 0.03, -0.02, 0.01, 0.015, -0.005, 0.02, -0.01, 0.005])
    >>> sims = simulate(returns, n_simulations=1000, method="permutation", rng=rng)
    >>> observed = compute_trade_metrics(returns)
    >>> summary = summarize(observed["max_drawdown"], sims["max_drawdown"], 0.95, lower_is_better=True)
    >>> round(float(observed["total_return"]), 4), round(float(observed["win_rate"]), 2)
    (0.0551, 0.6)
    >>> sorted(summary)
    ['ci', 'mean', 'n_valid', 'observed', 'p_value', 'percentile', 'robust', 'significant', 'std']
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "METHODS",
    "TRADE_LOWER_IS_BETTER",
    "TRADE_METRICS",
    "compute_trade_metrics",
    "histogram",
    "simulate",
    "summarize",
    "verdict",
]

TRADE_METRICS: tuple[str, ...] = ("trade_sharpe", "total_return", "max_drawdown", "win_rate", "profit_factor")
"""The metrics computed for every simulated path, in output order."""

TRADE_LOWER_IS_BETTER: frozenset[str] = frozenset({"max_drawdown"})
"""Metrics for which a smaller value is the better one."""

METHODS: tuple[str, ...] = ("permutation", "bootstrap")
"""Simulation methods: reorder the trades, or resample them with replacement."""

# Two values closer than this (relative to their size, floored at an absolute 1e-12) count as equal.
# Reordering trades changes the order of floating-point products and sums, so metrics that are invariant
# under permutation come back with differences of a few ulps; they must still tie with the observed value.
_REL_TOL = 1e-9
_ABS_TOL = 1e-12

# Upper bound on the number of float64 cells materialised at once (about 16 MB per array).
_CHUNK_CELLS = 2_000_000


def _as_returns(trade_returns: Any) -> np.ndarray:
    """Validate trade returns and return them as a 1-D float64 array."""
    returns = np.asarray(trade_returns, dtype=np.float64)
    if returns.ndim != 1:
        raise ValueError(f"trade_returns must be one-dimensional, got shape {returns.shape}.")
    if returns.size == 0:
        raise ValueError("trade_returns is empty; at least one closed trade is needed.")
    if not np.all(np.isfinite(returns)):
        raise ValueError("trade_returns contains NaN or infinite values; drop or fix those trades first.")
    return returns


def compute_trade_metrics(returns: np.ndarray) -> dict[str, np.ndarray]:
    """Compute every metric of :data:`TRADE_METRICS` for one or many sequences of trade returns.

    Args:
        returns: Trade returns as fractions (``0.01`` is +1 %), shape ``(n_trades,)`` for one path or
            ``(n_paths, n_trades)`` for many; each row is compounded from a capital of 1.

    Returns:
        ``{metric: values}`` where ``values`` is a 0-d array for a 1-D input and has shape ``(n_paths,)``
        for a 2-D input. Undefined values are NaN (see the module docstring); ``profit_factor`` may be
        ``inf``.

    Raises:
        ValueError: If ``returns`` is not 1-D or 2-D or has no trades.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim not in (1, 2) or r.shape[-1] == 0:
        raise ValueError(f"returns must have shape (n_trades,) or (n_paths, n_trades), got {r.shape}.")
    single = r.ndim == 1
    r2 = r[np.newaxis, :] if single else r
    n_trades = r2.shape[1]

    equity = np.cumprod(1.0 + r2, axis=1)
    ratio = np.maximum.accumulate(equity, axis=1)
    np.maximum(ratio, 1.0, out=ratio)  # the starting capital is the first peak
    np.divide(equity, ratio, out=ratio)  # equity / running peak, <= 1
    drawdown = 1.0 - ratio.min(axis=1)
    total_return = equity[:, -1] - 1.0
    del equity, ratio

    mean = r2.mean(axis=1)
    std = r2.std(axis=1, ddof=1) if n_trades > 1 else np.zeros_like(mean)
    gains = np.maximum(r2, 0.0).sum(axis=1)
    losses = -np.minimum(r2, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # A spread that is pure rounding noise (identical returns) leaves the ratio undefined.
        sharpe = np.where(std > _REL_TOL * np.abs(mean), mean / std, np.nan)
        profit_factor = np.where(losses > 0.0, gains / losses, np.where(gains > 0.0, np.inf, np.nan))

    out = {
        "trade_sharpe": sharpe,
        "total_return": total_return,
        "max_drawdown": np.maximum(drawdown, 0.0),
        "win_rate": np.count_nonzero(r2 > 0.0, axis=1) / n_trades,
        "profit_factor": profit_factor,
    }
    if single:
        return {name: values[0, ...] for name, values in out.items()}
    return out


def simulate(
    trade_returns: Any,
    n_simulations: int,
    method: str,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Simulate many alternative trade sequences and compute every metric on each.

    ``"permutation"`` reorders all trades (each simulation uses every trade exactly once);
    ``"bootstrap"`` draws as many trades as there are, with replacement. Every simulated sequence is
    compounded into an equity path from a capital of 1, so the order of trades matters for the drawdown.
    The work is vectorised: all index rows of a chunk are drawn at once, and chunks bound the memory used
    for very large runs. The result depends only on the inputs and the state of ``rng``.

    Args:
        trade_returns: The returns of the closed trades in their actual order, as fractions.
        n_simulations: How many sequences to simulate (at least 1).
        method: ``"permutation"`` or ``"bootstrap"``.
        rng: The random generator, e.g. ``np.random.default_rng(seed)``.

    Returns:
        ``{metric: array of shape (n_simulations,)}`` for every metric of :data:`TRADE_METRICS`.

    Raises:
        ValueError: If the returns are empty, not 1-D or not finite, ``n_simulations`` is below 1, or
            ``method`` is unknown.
        TypeError: If ``rng`` is not a ``numpy.random.Generator``.
    """
    returns = _as_returns(trade_returns)
    if isinstance(n_simulations, bool) or not isinstance(n_simulations, (int, np.integer)):
        raise ValueError(f"n_simulations must be an integer >= 1, got {n_simulations!r}.")
    if n_simulations < 1:
        raise ValueError(f"n_simulations must be >= 1, got {n_simulations}; use e.g. n_simulations=1000.")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}.")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), not {rng!r}.")

    n_trades = returns.size
    n_simulations = int(n_simulations)
    rows_per_chunk = max(1, _CHUNK_CELLS // n_trades)
    results: dict[str, list[np.ndarray]] = {name: [] for name in TRADE_METRICS}
    for start in range(0, n_simulations, rows_per_chunk):
        rows = min(rows_per_chunk, n_simulations - start)
        if method == "permutation":
            paths = rng.permuted(np.broadcast_to(returns, (rows, n_trades)), axis=1)
        else:
            paths = returns[rng.integers(0, n_trades, size=(rows, n_trades))]
        for name, values in compute_trade_metrics(paths).items():
            results[name].append(values)
    return {name: np.concatenate(chunks) for name, chunks in results.items()}


def _tolerance(value: float) -> float:
    """Return the tie tolerance around ``value``."""
    return max(_ABS_TOL, _REL_TOL * abs(value)) if math.isfinite(value) else 0.0


def _quantile(sorted_values: np.ndarray, q: float) -> float:
    """Linear-interpolation quantile of sorted values that may hold +-inf at the ends.

    Interpolating between a finite value and an infinite one is not defined, so in that case the
    nearest order statistic on the side of ``q`` is returned instead.
    """
    position = q * (sorted_values.size - 1)
    lo = int(math.floor(position))
    hi = min(lo + 1, sorted_values.size - 1)
    frac = position - lo
    a, b = float(sorted_values[lo]), float(sorted_values[hi])
    if frac == 0.0 or a == b:
        return a
    if not (math.isfinite(a) and math.isfinite(b)):
        return b if frac >= 0.5 else a
    return a + (b - a) * frac


def _plain(value: float) -> float | None:
    """Return a JSON-safe float: NaN and +-inf become ``None``."""
    value = float(value)
    return value if math.isfinite(value) else None


def summarize(
    observed: float,
    simulated: np.ndarray,
    confidence: float,
    lower_is_better: bool,
) -> dict[str, Any]:
    """Place an observed metric inside its simulated distribution.

    Simulations where the metric is undefined (NaN) are dropped. Infinite values (a profit factor with no
    losing trade) take part in the ranks, the p-value and the confidence interval, but not in ``mean``,
    ``std`` or the histogram.

    * ``ci``: percentile interval ``[q(a/2), q(1 - a/2)]`` of the simulations, ``a = 1 - confidence``
      (linear interpolation between order statistics).
    * ``p_value``: the empirical, one-sided, direction-aware p-value ``(k + 1) / (n + 1)``, where ``k``
      counts the simulations at least as good as the observed value (``>=`` it, or ``<=`` it when
      ``lower_is_better``) and ``n`` is the number of simulations. The ``+1`` counts the observed sequence as
      one of the possible outcomes, so the p-value is never 0 and is exact for a random-ordering test.
    * ``percentile``: where the observed value sits among the simulations, on the metric's own axis
      (``100 * (below + ties / 2) / n``): 0 means below every simulation, 100 above every one, whichever
      direction is better.
    * ``significant``: ``p_value < 1 - confidence``.
    * ``robust``: the observed value lies outside the confidence interval on the good side (above the upper
      bound, or below the lower bound when ``lower_is_better``).

    Values that differ by less than a relative 1e-9 (absolute 1e-12 near zero) count as ties, so that
    metrics that reordering cannot change are not reported as better or worse because of rounding.

    Args:
        observed: The metric of the actual trade sequence (NaN if undefined).
        simulated: The metric of every simulation, shape ``(n_simulations,)``.
        confidence: Confidence level in ``(0, 1)``, e.g. ``0.95``.
        lower_is_better: True for metrics such as ``max_drawdown``.

    Returns:
        A dict of plain Python values (``float``, ``int``, ``bool``, ``list``, ``None``): ``observed``,
        ``mean``, ``std``, ``ci`` (``[lo, hi]``), ``p_value``, ``percentile``, ``significant``, ``robust``,
        ``n_valid`` (simulations where the metric is defined). Undefined or infinite numbers are ``None``;
        everything that needs the observed value is ``None`` when it is undefined.

    Raises:
        ValueError: If ``confidence`` is not in ``(0, 1)`` or ``simulated`` is not 1-D.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}; e.g. 0.95.")
    sims = np.asarray(simulated, dtype=np.float64)
    if sims.ndim != 1:
        raise ValueError(f"simulated must be one-dimensional, got shape {sims.shape}.")
    obs = float(observed)
    valid = np.sort(sims[~np.isnan(sims)])
    finite = valid[np.isfinite(valid)]
    n = int(valid.size)

    summary: dict[str, Any] = {
        "observed": _plain(obs),
        "mean": _plain(finite.mean()) if finite.size else None,
        "std": _plain(finite.std(ddof=1)) if finite.size > 1 else (0.0 if finite.size == 1 else None),
        "ci": [None, None],
        "p_value": None,
        "percentile": None,
        "significant": None,
        "robust": None,
        "n_valid": n,
    }
    if n == 0:
        return summary

    alpha = 1.0 - confidence
    ci_lo = _quantile(valid, alpha / 2.0)
    ci_hi = _quantile(valid, 1.0 - alpha / 2.0)
    summary["ci"] = [_plain(ci_lo), _plain(ci_hi)]
    if math.isnan(obs):
        return summary

    if math.isinf(obs):
        below = int(np.count_nonzero(valid < obs))
        ties = int(np.count_nonzero(valid == obs))
    else:
        tol = _tolerance(obs)
        below = int(np.count_nonzero(valid < obs - tol))
        ties = int(np.count_nonzero(np.abs(valid - obs) <= tol))
    above = n - below - ties
    at_least_as_good = (below if lower_is_better else above) + ties
    p_value = (at_least_as_good + 1) / (n + 1)

    if lower_is_better:
        robust = obs < ci_lo - _tolerance(ci_lo)
    else:
        robust = obs > ci_hi + _tolerance(ci_hi)

    summary.update(
        p_value=float(p_value),
        percentile=float(100.0 * (below + 0.5 * ties) / n),
        significant=bool(p_value < alpha),
        robust=bool(robust),
    )
    return summary


def histogram(simulated: np.ndarray, bins: int = 40) -> dict[str, list[float] | list[int]]:
    """Bin the finite simulated values into a compact, JSON-safe histogram.

    When all the values are equal (up to rounding) a single bin centred on them is returned, so a metric
    that the simulation cannot change still draws as one bar.

    Args:
        simulated: The metric of every simulation; NaN and infinite values are left out.
        bins: Number of equal-width bins (at least 1).

    Returns:
        ``{"edges": [...], "counts": [...]}`` with ``len(edges) == len(counts) + 1``; both lists are empty
        when no simulated value is finite.

    Raises:
        ValueError: If ``bins`` is below 1.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}.")
    values = np.asarray(simulated, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"edges": [], "counts": []}
    lo, hi = float(values.min()), float(values.max())
    centre = (lo + hi) / 2.0
    if hi - lo <= _tolerance(centre):
        half = max(1e-6, 1e-3 * abs(centre))
        return {"edges": [centre - half, centre + half], "counts": [int(values.size)]}
    counts, edges = np.histogram(values, bins=int(bins), range=(lo, hi))
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def _fmt(metric: str, value: float | None) -> str:
    """Format a metric value for a sentence (``None`` stands for an infinite or undefined value)."""
    if value is None:
        return "inf" if metric == "profit_factor" else "undefined"
    if metric in ("total_return", "max_drawdown", "win_rate"):
        return f"{value:.2%}"
    return f"{value:.3g}"


def verdict(metric: str, summary: dict[str, Any], method: str, confidence: float) -> str:
    """Describe a :func:`summarize` result in one plain-language line.

    Args:
        metric: The metric name, e.g. ``"max_drawdown"``.
        summary: The dict returned by :func:`summarize` for that metric.
        method: ``"permutation"`` or ``"bootstrap"``.
        confidence: The confidence level used for the summary.

    Returns:
        One sentence, without a trailing newline.
    """
    obs = summary.get("observed")
    p_value = summary.get("p_value")
    if p_value is None:
        if summary.get("n_valid", 0) == 0:
            return f"{metric} is undefined in every simulation; there is nothing to compare."
        return f"{metric} is undefined for the actual trades; there is nothing to compare."

    # p == 1 with the observed value at the 50th percentile happens only when every simulation ties it.
    if p_value == 1.0 and summary.get("percentile") == 50.0:
        if method == "permutation":
            return (
                f"{metric} = {_fmt(metric, obs)} does not depend on the order of the trades, so a "
                "permutation test cannot judge it; use method='bootstrap'."
            )
        return f"{metric} = {_fmt(metric, obs)} in every simulation; there is nothing to compare."

    alpha = 1.0 - confidence
    lo, hi = summary["ci"]
    shuffled = "reordered" if method == "permutation" else "resampled"
    head = (
        f"{metric} = {_fmt(metric, obs)} against a {confidence:.0%} interval of [{_fmt(metric, lo)}, "
        f"{_fmt(metric, hi)}] over {shuffled} trades (p = {p_value:.3g})"
    )
    if summary["significant"]:
        if method == "permutation":
            return (
                f"{head}: better than almost every random order of the same trades, so the actual sequence "
                "was favourable; expect it to be worse when the order is not repeated."
            )
        return f"{head}: better than almost every resample of the trades, so it leans on a favourable draw."
    luck = "order" if method == "permutation" else "draw"
    if p_value > 1.0 - alpha:
        return f"{head}: worse than almost every simulation, so the actual {luck} was unlucky."
    return f"{head}: typical of the simulations, not the product of a lucky {luck}."
