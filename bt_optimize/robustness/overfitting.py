"""The overfitting report of a study: is its best trial a fluke of the search?

:func:`study_overfitting` (behind :meth:`bt_optimize.Study.overfitting`) reads back the per-bar returns every
trial kept and computes, with :mod:`bt_optimize.stats.overfitting`:

- the **deflated Sharpe ratio** (DSR) of the best trial: the probability that its true Sharpe ratio beats what
  the luckiest of the trials would show with no skill at all;
- the **probability of backtest overfitting** (PBO) by combinatorially symmetric cross-validation: how often
  the trial that looks best on half of the data lands in the bottom half on the other half;
- the degradation slope (out-of-sample against in-sample performance of the in-sample best) and the
  probability of an out-of-sample loss.

Which trials count
    The returns matrix holds the complete, full-fidelity trials (every trial of a grid or random study; the
    promoted ones of a study with ``fidelity``). The number of trials ``N`` is every backtest that ran (pruned and
    failed ones included: they were tried too). Trials whose returns are identical (every configuration that
    never traded, for one) count once in the spread of the Sharpe ratios. The effective number of trials
    (:func:`~bt_optimize.stats.overfitting.effective_n_trials`) is how many independent trials luck would treat
    like these correlated ones, found by simulating their Sharpe ratios under the null; it is scaled from the
    matrix's columns to all ``N`` trials.

Grid and random studies
    Their trials are a sample of the space fixed before looking at results: the statistics hold as the papers
    state them, and the DSR uses the effective number of trials.

Bayesian and genetic studies
    Their trials are not a random sample: the search chose each point after seeing earlier results on the same
    data, and crowds around its best. Two consequences. The trials are strongly correlated by design, so the
    effective count would make the search look smaller than it was: the DSR uses the raw count ``N`` instead
    (more demanding). And the spread of the trials' Sharpe ratios is narrower than a random sample's, which
    lowers the luck benchmark; PBO is computed over the trials the search chose, so it does not see the
    selection that chose them. Read both as optimistic for an adaptive search: a ``likely_overfit`` verdict is
    strong evidence, a ``credible`` one is weaker evidence than for a grid.

Verdict
    ``insufficient`` (fewer than 2 complete trials with returns, fewer bars than ``2 * n_blocks``, or no two
    trials with different returns; every number that could not be computed is ``None``, never NaN);
    ``likely_overfit`` (PBO >= 0.5 or DSR < 0.5); ``credible`` (DSR >= 0.95 and PBO <= 0.25); ``doubtful``
    otherwise.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..stats.metrics import periods_per_year
from ..stats.overfitting import (
    PBO_METRICS,
    deflated_sharpe_ratio,
    distinct_columns,
    effective_n_trials,
    expected_max_sharpe,
    pbo_cscv,
    probabilistic_sharpe_ratio,
    return_moments,
    sharpe_ratio,
)
from ..trial import TrialState

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..study import Study

__all__ = ["OverfittingReport", "WalkForwardOverfitting", "study_overfitting", "overfitting_report", "verdict_for",
           "walk_forward_overfitting", "walk_forward_studies_overfitting", "ADAPTIVE_METHODS"]

#: Search methods whose trials are chosen after seeing earlier results (see the module docstring).
ADAPTIVE_METHODS = frozenset({"bayes", "genetic"})

VERDICTS = ("credible", "doubtful", "likely_overfit", "insufficient")


def verdict_for(dsr: float | None, pbo: float | None) -> str:
    """The verdict from the two headline numbers (rules in the module docstring); ``insufficient`` if either is
    missing."""
    if dsr is None or pbo is None:
        return "insufficient"
    if pbo >= 0.5 or dsr < 0.5:
        return "likely_overfit"
    if dsr >= 0.95 and pbo <= 0.25:
        return "credible"
    return "doubtful"


@dataclass(frozen=True)
class OverfittingReport:
    """How likely a study's best result is a fluke of the search.

    Sharpe ratios are annualised (per-bar value times ``sqrt(periods_per_year)``); the statistics are computed per
    bar. Every number is ``None`` when it could not be computed (then ``verdict`` is ``"insufficient"`` and
    ``reason`` says why).

    Attributes:
        dsr: Deflated Sharpe ratio of the best trial (probability, 0 to 1; 0.95 and above is a real finding).
        psr: Probabilistic Sharpe ratio of the best trial against zero (no correction for the number of trials).
        sr_best: The best trial's annualised Sharpe ratio over the measured window.
        sr_expected_max: Annualised Sharpe ratio the best of the trials would show by luck alone.
        n_trials: Backtests that ran (complete, pruned and failed).
        n_effective: Effective number of independent trials (see the module docstring).
        pbo: Probability of backtest overfitting (0 to 1; 0.5 and above: the in-sample best is no better than a
            coin flip out of sample).
        degradation_slope: Slope of out-of-sample against in-sample performance of the in-sample best.
        prob_oos_loss: Share of cross-validation splits where the in-sample best loses out of sample.
        verdict: ``"credible"``, ``"doubtful"``, ``"likely_overfit"`` or ``"insufficient"``.
        summary: One line for people.
        n_for_dsr: The number of trials the DSR was deflated for (``n_effective``, or ``n_trials`` for an adaptive
            search).
        n_bars: Bars of returns per trial.
        n_columns: Trials in the returns matrix.
        n_blocks: Blocks of the cross-validation.
        metric: Performance the cross-validation ranks trials by.
        method: The study's search method.
        periods_per_year: Bars per year used to annualise.
        best_number: Number of the best trial.
        reason: Why the verdict is ``insufficient`` (``None`` otherwise).
        logits: Per split, the logit of the in-sample best's out-of-sample relative rank (for the histogram).
        is_best: Per split, the in-sample best's in-sample performance.
        oos_of_best: Per split, its out-of-sample performance.
    """

    dsr: float | None
    psr: float | None
    sr_best: float | None
    sr_expected_max: float | None
    n_trials: int
    n_effective: float | None
    pbo: float | None
    degradation_slope: float | None
    prob_oos_loss: float | None
    verdict: str
    summary: str
    n_for_dsr: float | None = None
    n_bars: int = 0
    n_columns: int = 0
    n_blocks: int = 16
    metric: str = "sharpe_ratio"
    method: str = ""
    periods_per_year: float = 252.0
    best_number: int | None = None
    reason: str | None = None
    logits: list[float] = field(default_factory=list, repr=False)
    is_best: list[float] = field(default_factory=list, repr=False)
    oos_of_best: list[float] = field(default_factory=list, repr=False)

    def to_dict(self, with_splits: bool = False) -> dict[str, Any]:
        """Plain, JSON-safe data (no NaN); the per-split arrays only when ``with_splits``."""
        d = asdict(self)
        if not with_splits:
            for k in ("logits", "is_best", "oos_of_best"):
                d.pop(k)
        out = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
        json.dumps(out, allow_nan=False)  # the promise of this method: fails loudly here, not in a caller
        return out

    def plot(self, path: str | None = None) -> Any:
        """Draw the logit histogram and the in-sample vs out-of-sample scatter; see
        :func:`bt_optimize.plotting.overfitting.plot_overfitting`. Returns the matplotlib Figure."""
        from ..plotting.overfitting import plot_overfitting

        return plot_overfitting(self, path)

    def __str__(self) -> str:
        return self.summary


def _fmt(x: float | None, nd: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def _summary(verdict: str, dsr: float | None, pbo: float | None, sr_best: float | None, sr0: float | None,
             n_trials: int, n_eff: float | None, reason: str | None) -> str:
    if verdict == "insufficient":
        return f"overfitting check: insufficient ({reason})"
    label = {"credible": "credible", "doubtful": "doubtful", "likely_overfit": "LIKELY OVERFIT"}[verdict]
    return (f"overfitting check: {label} - deflated Sharpe {_fmt(dsr)} (best Sharpe {_fmt(sr_best)} vs "
            f"{_fmt(sr0)} expected from luck over {n_trials} trials, ~{_fmt(n_eff, 0)} independent), "
            f"PBO {_fmt(pbo)} (in-sample best lands in the bottom half out of sample in {_fmt(100 * pbo, 0)}% "
            "of splits)")


def overfitting_report(matrix: np.ndarray, best_col: int, *, n_trials: int, n_blocks: int = 16,
                       metric: str = "sharpe_ratio", periods: float = 252.0, adaptive: bool = False,
                       method: str = "", best_number: int | None = None) -> OverfittingReport:
    """Build the report from a returns matrix (bars x trials) and the column of the selected trial.

    Args:
        matrix: Per-bar returns, one column per complete trial, all on the same bars.
        best_col: Column of the trial the user selects (the study's best).
        n_trials: Every trial that ran (``>=`` the number of columns).
        n_blocks: Even number of blocks for the cross-validation.
        metric: Performance to rank by in the cross-validation (a name of
            :data:`bt_optimize.stats.overfitting.PBO_METRICS`).
        periods: Bars per year, to annualise the Sharpe ratios shown.
        adaptive: The trials come from an adaptive search (DSR deflated for ``n_trials``, not the effective count).
        method: The search method, recorded.
        best_number: The selected trial's number, recorded.

    Raises:
        ValueError: a bad ``n_blocks`` or ``metric``.
    """
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"n_blocks={n_blocks!r}: give an even whole number >= 2 (16 is the paper's choice)")
    if metric not in PBO_METRICS:
        raise ValueError(f"metric={metric!r}: use one of {sorted(PBO_METRICS)}")
    t, k = matrix.shape if matrix.ndim == 2 else (0, 0)
    n_trials = max(int(n_trials), k)
    scale = math.sqrt(periods)
    base: dict[str, Any] = dict(n_trials=n_trials, n_bars=int(t), n_columns=int(k), n_blocks=n_blocks, metric=metric,
                                method=method, periods_per_year=float(periods), best_number=best_number)
    reason = None
    distinct = distinct_columns(matrix) if k >= 2 else matrix  # trials that traded exactly alike count once
    if k < 2:
        reason = f"{k} complete trial(s) kept returns; at least 2 are needed (keep_returns=True, the default)"
    elif t < 2 * n_blocks:
        reason = f"{t} bars of returns; at least {2 * n_blocks} are needed for n_blocks={n_blocks} (use fewer blocks)"
    elif distinct.shape[1] < 2:
        reason = ("every trial has the same returns (none traded, or all traded alike): there was no choice to judge; "
                  "check that the strategy trades on this data")
    if reason is not None:
        return OverfittingReport(dsr=None, psr=None, sr_best=None, sr_expected_max=None, n_effective=None, pbo=None,
                                 degradation_slope=None, prob_oos_loss=None, verdict="insufficient",
                                 summary=_summary("insufficient", None, None, None, None, n_trials, None, reason),
                                 reason=reason, **base)
    best = matrix[:, best_col]
    srs = np.array([sharpe_ratio(distinct[:, j]) for j in range(distinct.shape[1])])
    sr_best = sharpe_ratio(best)
    skew, kurt = return_moments(best)
    n_eff = min(float(n_trials), effective_n_trials(distinct) * n_trials / k)
    n_dsr = float(n_trials) if adaptive else n_eff
    var = float(np.var(srs, ddof=1)) if len(srs) > 1 else 0.0
    sr0 = expected_max_sharpe(n_dsr, var)
    dsr = deflated_sharpe_ratio(sr_best, t, n_dsr, var, skew, kurt)
    psr = probabilistic_sharpe_ratio(sr_best, t, skew, kurt)
    cv = pbo_cscv(matrix, n_blocks=n_blocks, metric=metric)
    verdict = verdict_for(dsr, cv.pbo)
    return OverfittingReport(
        dsr=dsr, psr=psr, sr_best=sr_best * scale, sr_expected_max=sr0 * scale, n_effective=n_eff, pbo=cv.pbo,
        degradation_slope=cv.degradation_slope, prob_oos_loss=cv.prob_oos_loss, verdict=verdict,
        summary=_summary(verdict, dsr, cv.pbo, sr_best * scale, sr0 * scale, n_trials, n_eff, None),
        n_for_dsr=n_dsr, logits=[float(x) for x in cv.logits], is_best=[float(x) for x in cv.is_best],
        oos_of_best=[float(x) for x in cv.oos_of_best], **base)


def study_overfitting(study: Study, n_blocks: int = 16, metric: str = "sharpe_ratio") -> OverfittingReport:
    """The :class:`OverfittingReport` of ``study`` (see :meth:`bt_optimize.Study.overfitting`)."""
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"n_blocks={n_blocks!r}: give an even whole number >= 2 (16 is the paper's choice)")
    if metric not in PBO_METRICS:
        raise ValueError(f"metric={metric!r}: use one of {sorted(PBO_METRICS)}")
    feed = study.payload.feeds[0]
    periods = periods_per_year(int(feed.timeframe), int(feed.compression))
    full = [t for t in study.get_trials((TrialState.COMPLETE,)) if t.user_attrs.get("fidelity", 1.0) == 1.0]
    best_number = study.best_trial.number if full else None
    returns = study.trial_returns([t.number for t in full])
    n_bars = len(returns[best_number]) if best_number in returns else 0
    cols = [n for n, r in returns.items() if len(r) == n_bars and n_bars > 0]
    if best_number not in returns:
        cols = []
    matrix = np.column_stack([returns[n] for n in cols]) if cols else np.zeros((n_bars, 0))
    best_col = cols.index(best_number) if cols else 0
    return overfitting_report(matrix, best_col, n_trials=study.n_ran, n_blocks=n_blocks, metric=metric,
                              periods=periods, adaptive=study.method in ADAPTIVE_METHODS, method=study.method,
                              best_number=best_number)


@dataclass(frozen=True)
class WalkForwardOverfitting:
    """The deflated Sharpe ratio of a walk-forward's stitched out-of-sample returns.

    Every window's search tried configurations before picking one, so the out-of-sample record is deflated for
    all of them: ``n_trials`` is the number of backtests run by the train searches of every window (validation and
    test runs re-run picked configurations and add none). The variance of the trials' Sharpe ratios is the mean,
    over windows, of the variance of the per-bar Sharpe ratios of that window's complete train trials. The
    out-of-sample returns were not themselves selected, so this is a demanding test: it asks whether the
    out-of-sample record would stand out even as the best of every configuration tried.

    Attributes:
        dsr: Deflated Sharpe ratio of the stitched out-of-sample returns (``None`` when insufficient).
        psr: Its probabilistic Sharpe ratio against zero.
        sr_oos: Annualised Sharpe ratio of the stitched out-of-sample returns.
        sr_expected_max: Annualised Sharpe ratio the best of ``n_trials`` skill-less configurations would show.
        n_trials: Configurations tried across windows.
        n_bars: Out-of-sample bars.
        verdict: ``"credible"`` (DSR >= 0.95), ``"doubtful"`` (0.5 to 0.95), ``"likely_overfit"`` (below 0.5) or
            ``"insufficient"``.
        summary: One line for people.
        reason: Why it is insufficient (``None`` otherwise).
    """

    dsr: float | None
    psr: float | None
    sr_oos: float | None
    sr_expected_max: float | None
    n_trials: int
    n_bars: int
    verdict: str
    summary: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe data."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}

    def __str__(self) -> str:
        return self.summary


def walk_forward_overfitting(oos_returns: np.ndarray, n_trials: int, window_sharpes: list[np.ndarray],
                             periods: float = 252.0) -> WalkForwardOverfitting:
    """Build :class:`WalkForwardOverfitting` from plain data.

    Args:
        oos_returns: Per-bar returns of the stitched out-of-sample equity.
        n_trials: Configurations tried by the train searches of every window.
        window_sharpes: Per window, the per-bar Sharpe ratios of the complete train trials.
        periods: Bars per year, to annualise what is shown.
    """
    r = np.asarray(oos_returns, dtype=float)
    r = r[np.isfinite(r)]
    variances = [float(np.var(s, ddof=1)) for s in window_sharpes if len(s) >= 2 and np.isfinite(s).all()]
    reason = None
    if len(r) < 30:
        reason = f"{len(r)} out-of-sample bars; at least 30 are needed"
    elif not variances:
        reason = "no window's search has two complete trials to measure how much their Sharpe ratios spread"
    if reason is not None:
        return WalkForwardOverfitting(dsr=None, psr=None, sr_oos=None, sr_expected_max=None, n_trials=int(n_trials),
                                      n_bars=len(r), verdict="insufficient",
                                      summary=f"out-of-sample deflated Sharpe: insufficient ({reason})", reason=reason)
    scale = math.sqrt(periods)
    sr = sharpe_ratio(r)
    skew, kurt = return_moments(r)
    var = float(np.mean(variances))
    sr0 = expected_max_sharpe(max(1, int(n_trials)), var)
    dsr = deflated_sharpe_ratio(sr, len(r), max(1, int(n_trials)), var, skew, kurt)
    psr = probabilistic_sharpe_ratio(sr, len(r), skew, kurt)
    verdict = "credible" if dsr >= 0.95 else "doubtful" if dsr >= 0.5 else "likely_overfit"
    summary = (f"out-of-sample deflated Sharpe {dsr:.2f} ({verdict}): out-of-sample Sharpe {sr * scale:.2f} vs "
               f"{sr0 * scale:.2f} expected from luck over {int(n_trials)} configurations tried")
    return WalkForwardOverfitting(dsr=dsr, psr=psr, sr_oos=sr * scale, sr_expected_max=sr0 * scale,
                                  n_trials=int(n_trials), n_bars=len(r), verdict=verdict, summary=summary)


def walk_forward_studies_overfitting(oos_equity: np.ndarray, start_value: float, studies: list[Study],
                                     periods: float = 252.0) -> WalkForwardOverfitting:
    """:func:`walk_forward_overfitting` of a walk-forward: its stitched out-of-sample equity and train studies.

    Args:
        oos_equity: The stitched out-of-sample equity values, in time order.
        start_value: The account value before the first out-of-sample bar.
        studies: Each window's train study (the configurations tried are their trials that ran).
        periods: Bars per year (the trials' ``sharpe_ratio`` metric is annualised with it).
    """
    from ..stats.returns import equity_returns

    scale = math.sqrt(periods)
    sharpes = []
    for s in studies:
        v = [t.metrics.get("sharpe_ratio") for t in s.get_trials((TrialState.COMPLETE,))]
        sharpes.append(np.array([x / scale for x in v if isinstance(x, (int, float)) and math.isfinite(x)]))
    return walk_forward_overfitting(equity_returns(np.asarray(oos_equity, dtype=float), start_value),
                                    sum(s.n_ran for s in studies), sharpes, periods)
