r"""Noise infusion as pure numpy: perturbed OHLCV bars and the summary of the re-run metrics.

Nothing here knows about backtrader; :class:`~bt_optimize.analyzers.NoiseInfusion` re-runs the backtests and
:func:`bt_optimize.engine.data.perturb_snapshot` applies :func:`perturb_ohlc` to a feed's arrays.

Perturbation models
-------------------
Both models draw one multiplicative factor ``f_t = 1 + e_t`` per bar ``t`` and multiply that bar's ``open``,
``high``, ``low`` and ``close`` by it, so the bar keeps its shape (its range and body scale with it) and
the noise does not accumulate from bar to bar (the series is not a new random walk: every bar is
the historical bar, jittered). ``std_pct`` is a fraction: ``0.01`` means a standard deviation of 1 %.

``gaussian``
    ``e_t ~ N(0, std_pct)``, independent across bars.
``bootstrap``
    ``e_t`` has the empirical shape (fat tails, skew) of the feed's own close-to-close log returns
    ``r_t = log(close_t / close_{t-1})`` (finite, positive closes only): the returns are demeaned and
    standardised to unit standard deviation (population std), ``z = (r - mean(r)) / std(r)``; one ``z`` is
    drawn with replacement per bar and ``e_t = std_pct * z``. So ``e`` has mean 0 and standard deviation
    ``std_pct`` like the Gaussian model, with the tails of the real returns. With fewer than two usable returns
    or returns of zero spread there is no shape to borrow and the draw falls back to the Gaussian model.

Factors are floored at :data:`MIN_FACTOR` so prices stay positive (only reachable with ``std_pct`` above
about 0.2). Afterwards :func:`enforce_ohlc` makes every bar valid, whatever the input data held:
``high >= max(open, close)``, ``low <= min(open, close)`` (hence ``high >= low``) and ``volume >= 0``.
``volume``, ``openinterest``, ``datetime`` and any other line are kept as they are.

Summary of the re-runs
----------------------
For each metric :func:`summarize_noise` reports the original value (the unperturbed run), the mean, the
sample standard deviation and the percentile interval of the simulated values, the ``worst_case`` (the 5th
percentile, or the 95th for a metric where lower is better such as ``max_drawdown``) and

``degradation_pct``
    ``(original - mean) / |original| * 100`` for a metric where higher is better; for a lower-is-better
    metric the sign is turned, ``(mean - original) / |original| * 100``, so a positive number always means
    the noisy runs did worse than the original (a deeper mean drawdown is a degradation). Negative numbers
    mean the noisy runs did better. ``None`` when the original is 0 or undefined, or no simulation gave a
    number.
``verdict``
    ``"robust"`` when ``degradation_pct < robust_below`` (default 20), ``"fragile"`` when it is above
    ``fragile_above`` (default 50), ``"moderate"`` in between, ``"undefined"`` when it is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "MODELS", "MIN_FACTOR", "PRICE_LINES", "noise_factors", "perturb_ohlc", "enforce_ohlc", "degradation_pct",
    "noise_verdict", "summarize_noise",
]

MODELS: tuple[str, ...] = ("gaussian", "bootstrap")
"""The perturbation models."""

MIN_FACTOR = 0.01
"""Smallest multiplicative factor applied to a bar (keeps prices positive)."""

PRICE_LINES: tuple[str, ...] = ("open", "high", "low", "close")
"""Lines multiplied by the noise factor."""


def _standardised_returns(close: np.ndarray) -> np.ndarray | None:
    """Demeaned close-to-close log returns with unit std, or ``None`` when there is no usable spread."""
    c = np.asarray(close, dtype=np.float64)
    ok = np.isfinite(c) & (c > 0)
    c = c[ok]
    if len(c) < 3:
        return None
    r = np.diff(np.log(c))
    sd = float(r.std())
    if not sd > 0.0 or not math.isfinite(sd):
        return None
    return (r - r.mean()) / sd


def noise_factors(close: np.ndarray, model: str, std_pct: float, rng: np.random.Generator) -> np.ndarray:
    """One multiplicative factor per bar, ``1 + e``, floored at :data:`MIN_FACTOR` (see the module docstring).

    Args:
        close: The feed's closing prices (their returns give the bootstrap shape).
        model: ``"gaussian"`` or ``"bootstrap"``.
        std_pct: Standard deviation of ``e`` as a fraction (``0.01``: 1 %); 0 gives factors of exactly 1.
        rng: The random generator; the draws consume it in a fixed order.

    Returns:
        A float64 array as long as ``close``.

    Raises:
        ValueError: an unknown model or a negative / non-finite ``std_pct``.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(map(repr, MODELS))}, got {model!r}")
    if isinstance(std_pct, bool) or not math.isfinite(float(std_pct)) or float(std_pct) < 0.0:
        raise ValueError(f"std_pct must be a finite number >= 0 (a fraction: 0.01 is 1 %), got {std_pct!r}")
    n = len(close)
    if model == "bootstrap":
        z = _standardised_returns(close)
        draws = rng.choice(z, size=n, replace=True) if z is not None else rng.standard_normal(n)
    else:
        draws = rng.standard_normal(n)
    return np.maximum(1.0 + float(std_pct) * draws, MIN_FACTOR)


def enforce_ohlc(lines: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return copies of the lines with valid bars: high >= max(open, close), low <= min(open, close), volume >= 0.

    NaN values are left alone (``np.fmax``/``np.fmin`` ignore them); missing lines are skipped.
    """
    out = {k: np.array(v, dtype=np.float64) for k, v in lines.items()}
    body = [out[k] for k in ("open", "close") if k in out]
    if body:
        top = body[0] if len(body) == 1 else np.fmax(body[0], body[1])
        bottom = body[0] if len(body) == 1 else np.fmin(body[0], body[1])
        if "high" in out:
            out["high"] = np.fmax(out["high"], top)
        if "low" in out:
            out["low"] = np.fmin(out["low"], bottom)
    if "high" in out and "low" in out:
        out["high"] = np.fmax(out["high"], out["low"])
    if "volume" in out:
        v = out["volume"]
        out["volume"] = np.where(v < 0.0, 0.0, v)
    return out


def perturb_ohlc(lines: Mapping[str, np.ndarray], model: str, std_pct: float,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A perturbed copy of one feed's lines (the input is not modified).

    Args:
        lines: Line name -> array; needs ``close``; ``open``/``high``/``low`` are scaled when present.
        model: ``"gaussian"`` or ``"bootstrap"``.
        std_pct: Noise standard deviation as a fraction.
        rng: The random generator.

    Returns:
        New arrays for every line, the OHLC constraints holding on every bar.

    Raises:
        ValueError: no ``close`` line, an unknown model or a bad ``std_pct``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> bars = {"open": np.array([10.0, 11]), "high": np.array([12.0, 12]), "low": np.array([9.0, 10]),
        ...         "close": np.array([11.0, 10.5]), "volume": np.array([100.0, 90])}
        >>> noisy = perturb_ohlc(bars, "gaussian", 0.01, rng)
        >>> bool((noisy["high"] >= noisy["low"]).all())
        True
    """
    if "close" not in lines:
        raise ValueError(f"a feed needs a 'close' line to be perturbed; it has {sorted(lines)}")
    f = noise_factors(np.asarray(lines["close"], dtype=np.float64), model, std_pct, rng)
    out = {k: (np.asarray(v, dtype=np.float64) * f if k in PRICE_LINES else np.array(v, dtype=np.float64))
           for k, v in lines.items()}
    return enforce_ohlc(out)


def degradation_pct(original: float | None, mean: float | None, lower_is_better: bool = False) -> float | None:
    """Percentage by which the noisy mean is worse than the original (positive: worse; see the module docstring).

    Example:
        >>> degradation_pct(2.0, 1.5), round(degradation_pct(0.10, 0.15, lower_is_better=True), 6)
        (25.0, 50.0)
    """
    if original is None or mean is None or not math.isfinite(original) or not math.isfinite(mean) or original == 0:
        return None
    diff = (mean - original) if lower_is_better else (original - mean)
    return float(diff / abs(original) * 100.0)


def noise_verdict(degradation: float | None, robust_below: float = 20.0, fragile_above: float = 50.0) -> str:
    """``"robust"`` (< robust_below), ``"moderate"``, ``"fragile"`` (> fragile_above) or ``"undefined"``.

    Example:
        >>> noise_verdict(10.0), noise_verdict(20.0), noise_verdict(50.0), noise_verdict(51.0), noise_verdict(None)
        ('robust', 'moderate', 'moderate', 'fragile', 'undefined')
    """
    if degradation is None:
        return "undefined"
    if degradation < robust_below:
        return "robust"
    if degradation > fragile_above:
        return "fragile"
    return "moderate"


def _plain(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def summarize_noise(original: float | None, samples: Sequence[float | None], confidence: float = 0.95,
                    lower_is_better: bool = False, robust_below: float = 20.0, fragile_above: float = 50.0,
                    worst_percentile: float = 5.0) -> dict[str, Any]:
    """Summarise one metric over the noisy re-runs (JSON-safe; ``None`` where undefined).

    Args:
        original: The metric of the unperturbed run.
        samples: The metric of each re-run (``None``/NaN where undefined: left out).
        confidence: Level of the percentile interval ``ci``.
        lower_is_better: Direction of the metric (``max_drawdown``).
        robust_below: Degradation (%) under which the verdict is ``"robust"``.
        fragile_above: Degradation (%) above which the verdict is ``"fragile"``.
        worst_percentile: The ``worst_case`` percentile on the bad side (5: the 5th percentile of a
            higher-is-better metric, the 95th of a lower-is-better one).

    Returns:
        ``{"original", "mean", "std", "ci", "worst_case", "degradation_pct", "verdict", "lower_is_better",
        "n_valid"}``.

    Example:
        >>> s = summarize_noise(1.0, [0.9, 1.1, 0.5, 0.7])
        >>> s["mean"], s["degradation_pct"], s["verdict"]
        (0.8, 19.999999999999996, 'robust')
    """
    x = np.array([np.nan if v is None else float(v) for v in samples], dtype=np.float64)
    x = x[np.isfinite(x)]
    orig = _plain(original) if original is not None else None
    if len(x) == 0:
        mean = std = None
        ci: list[float | None] = [None, None]
        worst = None
    else:
        mean = float(x.mean())
        std = float(x.std(ddof=1)) if len(x) > 1 else 0.0
        a = (1.0 - confidence) / 2.0 * 100.0
        lo, hi = np.percentile(x, [a, 100.0 - a])
        ci = [float(lo), float(hi)]
        worst = float(np.percentile(x, 100.0 - worst_percentile if lower_is_better else worst_percentile))
    deg = degradation_pct(orig, mean, lower_is_better)
    return {
        "original": orig,
        "mean": mean,
        "std": std,
        "ci": ci,
        "worst_case": worst,
        "degradation_pct": deg,
        "verdict": noise_verdict(deg, robust_below, fragile_above),
        "lower_is_better": bool(lower_is_better),
        "n_valid": int(len(x)),
    }
