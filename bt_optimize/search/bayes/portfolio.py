"""A portfolio of proposers inside each batch of :class:`~bt_optimize.search.bayes.BayesSearch`, with shares set
by a bandit on realised results.

Proposers (:data:`PROPOSERS`):

- ``"gp"``: the Gaussian process and its acquisition (the first pick of a round may come from the trust region
  around the incumbent, see :mod:`.candidates`);
- ``"trees"``: an ensemble of extremely randomised trees (scikit-learn's ``ExtraTreesRegressor``) on the same
  encoded points and transformed targets; its expected improvement uses the mean and spread of the trees'
  predictions. Trees cope with plateaus, steps and categorical switches where a smooth kernel does not;
- ``"random"``: a uniform random point.

**Credit** (:func:`credit`): each point a proposer chose earns, once its value is told, the share of the values
told before it that it beats (1 = a new best, 0 = the worst yet); failed points earn 0. **Shares**
(:func:`shares`): a proposer's mean credit is shrunk toward the overall mean by :data:`PRIOR_WEIGHT` pseudo-points,
shares are proportional to ``exp(mean / TEMPERATURE)`` and floored at :data:`MIN_SHARE`. Everything is recomputed
from the told history (proposers are recorded with each trial), so a resumed search allocates as the uninterrupted
one would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import norm

__all__ = ["PROPOSERS", "MIN_SHARE", "PRIOR_WEIGHT", "TEMPERATURE", "credit", "shares", "allocate",
           "tree_scores", "check_portfolio"]

#: Proposer names accepted in ``portfolio``.
PROPOSERS = ("gp", "trees", "random")

#: Smallest share of any proposer in the portfolio.
MIN_SHARE = 0.1

#: Pseudo-observations at the overall mean credit added to each proposer's record.
PRIOR_WEIGHT = 3.0

#: Softmax temperature of the shares, in units of credit.
TEMPERATURE = 0.15

#: Trees of the ensemble.
N_TREES = 48


def credit(values: Sequence[float | None], proposers: Sequence[str | None]) -> dict[str, list[float]]:
    """Credit per proposer of a told history (minimised values in tell order; ``None``: failed).

    Points whose proposer is ``None`` (initial design, initial points) earn nothing but count as earlier values.

    Returns:
        Proposer name -> the credits of its points, in tell order.
    """
    out: dict[str, list[float]] = {}
    seen: list[float] = []
    for v, who in zip(values, proposers):
        if who is not None:
            if v is None or not seen:
                c = 0.0 if v is None else 1.0
            else:
                c = float(np.mean(np.asarray(seen) > v)) if len(seen) else 1.0
            out.setdefault(who, []).append(c)
        if v is not None:
            seen.append(v)
    return out


def shares(names: Sequence[str], credits: Mapping[str, Sequence[float]], min_share: float = MIN_SHARE,
           prior_weight: float = PRIOR_WEIGHT, temperature: float = TEMPERATURE) -> np.ndarray:
    """The share of each proposer in ``names`` given their credits (see the module docstring)."""
    allc = [c for n in names for c in credits.get(n, [])]
    prior = float(np.mean(allc)) if allc else 0.5
    means = np.array([(sum(credits.get(n, [])) + prior_weight * prior) / (len(credits.get(n, [])) + prior_weight)
                      for n in names])
    w = np.exp((means - means.max()) / temperature)
    p = w / w.sum()
    floor = min(min_share, 1.0 / len(names))
    p = floor + (1.0 - floor * len(names)) * p
    return p / p.sum()


def allocate(names: Sequence[str], p: np.ndarray, n: int, offset: float) -> list[str]:
    """``n`` slots shared out by ``p`` with a systematic draw: slot ``i`` goes to the proposer whose cumulative
    share interval holds ``(offset + i) / n`` (``offset`` in ``[0, 1)``; the order of ``names`` is kept)."""
    cum = np.cumsum(p)
    out = []
    for i in range(n):
        u = (offset + i) / n
        out.append(names[min(int(np.searchsorted(cum, u, side="right")), len(names) - 1)])
    return out


def tree_scores(X: np.ndarray, z: np.ndarray, Xc: np.ndarray, seed: int, xi: float = 0.01) -> np.ndarray:
    """Expected improvement (minimising) of an extra-trees ensemble fitted to ``(X, z)``, at candidates ``Xc``.

    The predictive mean and standard deviation are those of the trees' predictions; a floor of 1e-6 keeps the EI
    defined where every tree agrees.
    """
    from sklearn.ensemble import ExtraTreesRegressor

    model = ExtraTreesRegressor(n_estimators=N_TREES, min_samples_leaf=2, max_features=1.0, random_state=seed,
                                n_jobs=1)
    model.fit(X, z)
    preds = np.stack([t.predict(Xc) for t in model.estimators_])
    mu, sd = preds.mean(0), np.maximum(preds.std(0), 1e-6)
    imp = float(z.min()) - mu - xi
    u = imp / sd
    return imp * norm.cdf(u) + sd * norm.pdf(u)


def check_portfolio(portfolio: Sequence[str]) -> None:
    """Reject a portfolio that is empty, repeats a name or names an unknown proposer (``ValueError``)."""
    if isinstance(portfolio, str) or not portfolio or len(set(portfolio)) != len(portfolio) or any(
            p not in PROPOSERS for p in portfolio):
        raise ValueError(f"portfolio={portfolio!r}: give a tuple of distinct names among {', '.join(PROPOSERS)}")
