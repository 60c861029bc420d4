"""A density-ratio proposer (tree-structured-Parzen style) for :class:`~bt_optimize.search.bayes.BayesSearch`.

The told points are split into a *good* set (the ``n_good`` best values, see :func:`n_good`) and the rest. Each set
gets a Parzen density over the space: an equal-weight mixture of one product kernel per point plus one uniform
"prior" component. Candidates are drawn from the good density, and the one with the largest ratio
``l(x) / g(x)`` (good over rest) that was never seen is proposed. Kernels, per free dimension:

- numeric (``Int``, ``Real``, stepped or not) on the unit scale of :class:`~bt_optimize.search.encoding.Encoder`:
  a Gaussian truncated to ``[0, 1]`` with bandwidth ``max(bandwidth * m ** (-1 / (d + 4)), half a step)`` (``m``
  points in the mixture, ``d`` free dimensions); a discrete dimension weighs each grid value by the Gaussian's
  mass over its cell (half a step either side), so a one-step grid is not mistaken for a continuum;
- categorical: the point's own choice with probability ``1 - CAT_SMOOTHING`` plus ``CAT_SMOOTHING`` spread evenly
  over all choices.

Unlike the GP it needs no hyperparameter fit and does not extrapolate, so it keeps working on plateaus (many equal
values), steps and spikes, where a stationary kernel struggles; with few good points it samples close to them, i.e.
exploits the incumbent's neighbourhood first. Everything here is written on numpy/scipy for this package.
"""

from __future__ import annotations

import math
from collections.abc import Set

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

from ..encoding import Encoder

__all__ = ["ParzenProposer", "n_good", "CAT_SMOOTHING", "GOOD_SHARE", "BANDWIDTH", "N_SAMPLES"]

#: Share of the told points in the good set (at least one, at most :data:`MAX_GOOD`).
GOOD_SHARE = 0.1
#: Largest good set.
MAX_GOOD = 25
#: Bandwidth of a numeric kernel on the unit scale before the ``m ** (-1 / (d + 4))`` shrinkage.
BANDWIDTH = 0.2
#: Probability mass a categorical kernel spreads evenly over all choices.
CAT_SMOOTHING = 0.2
#: Candidates drawn from the good density per proposal.
N_SAMPLES = 24


def n_good(n: int, share: float = GOOD_SHARE) -> int:
    """Size of the good set among ``n`` told values: ``min(MAX_GOOD, max(1, ceil(share * n)))``."""
    return min(MAX_GOOD, max(1, math.ceil(share * n)))


class ParzenProposer:
    """Density-ratio proposals over the rows of an :class:`~bt_optimize.search.encoding.Encoder`.

    Args:
        enc: The encoder of the space.
        share: Share of the told points in the good set (:func:`n_good`).
        bandwidth: Numeric kernel width before shrinkage (unit scale).
        n_samples: Candidates drawn from the good density per proposal.

    Example:
        >>> import numpy as np
        >>> from bt_optimize.space import Int, Space
        >>> enc = Encoder(Space({"a": Int(0, 20), "b": Int(0, 20)}))
        >>> rows = np.array([[a, b] for a in range(0, 21, 5) for b in range(0, 21, 5)], dtype=float)
        >>> y = np.array([(a - 15) ** 2 + (b - 5) ** 2 for a, b in rows], dtype=float)  # minimised
        >>> pick = ParzenProposer(enc).propose(rows, y, np.random.default_rng(0), set(), 1)[0]
        >>> bool(abs(pick[0] - 15) <= 5 and abs(pick[1] - 5) <= 5)
        True
    """

    def __init__(self, enc: Encoder, share: float = GOOD_SHARE, bandwidth: float = BANDWIDTH,
                 n_samples: int = N_SAMPLES) -> None:
        self.enc = enc
        self.share, self.bandwidth, self.n_samples = float(share), float(bandwidth), int(n_samples)
        # per free dimension: column offset in the unit encoding, kind, number of steps (0: continuous) or choices
        self._dims: list[tuple[int, str, int]] = []
        c = 0
        for kind, lo, hi, _log, width in enc.specs:
            if kind == "cat":
                self._dims.append((c, "cat", int(hi) + 1))
            else:
                self._dims.append((c, "num", int(hi - lo) if kind == "int" else 0))
            c += width

    # ------------------------------------------------------------------ views
    def units(self, R: np.ndarray) -> np.ndarray:
        """Per free dimension: the unit value of a numeric one, the choice index of a categorical one."""
        U = self.enc.encode(R)
        out = np.empty((len(R), len(self._dims)))
        for j, (c, kind, k) in enumerate(self._dims):
            out[:, j] = U[:, c: c + k].argmax(1) if kind == "cat" and k > 2 else U[:, c]
        return out

    def _sigma(self, m: int, steps: int) -> float:
        d = max(1, len(self._dims))
        s = self.bandwidth * max(m, 1) ** (-1.0 / (d + 4))
        return min(1.0, max(s, 0.5 / steps if steps else 1e-3))

    # ------------------------------------------------------------------ densities
    def log_density(self, centres: np.ndarray, Q: np.ndarray) -> np.ndarray:
        """Log density at query points ``Q`` (unit view) of the mixture over ``centres`` (unit view) plus the
        uniform prior component, all weighted equally."""
        m = len(centres)
        logk = np.zeros((len(Q), m))
        prior = np.zeros(len(Q))
        for j, (_c, kind, k) in enumerate(self._dims):
            q, ctr = Q[:, j][:, None], centres[:, j][None, :]
            if kind == "cat":
                p = np.where(q == ctr, 1.0 - CAT_SMOOTHING, 0.0) + CAT_SMOOTHING / k
                logk += np.log(p)
                prior -= math.log(k)
                continue
            sig = self._sigma(m, k)
            h = 0.5 / k if k else 0.0
            total = norm.cdf((1.0 + h - ctr) / sig) - norm.cdf((-h - ctr) / sig)
            if k:
                mass = norm.cdf((q + h - ctr) / sig) - norm.cdf((q - h - ctr) / sig)
                logk += np.log(np.maximum(mass, 1e-300)) - np.log(total)
                prior -= math.log(k + 1)
            else:
                logk += norm.logpdf(q, ctr, sig) - np.log(total)
        both = np.hstack([logk, prior[:, None]])
        return logsumexp(both, axis=1) - math.log(m + 1)

    def _sample(self, centres: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
        """Row values drawn from the good mixture (prior component included)."""
        m = len(centres)
        comp = rng.integers(0, m + 1, size)
        R = self.enc.sample(rng, size)  # the prior component's draws (kept where comp == m)
        own = comp < m
        for j, (_c, kind, k) in enumerate(self._dims):
            spec = self.enc.specs[j]
            ctr = centres[comp[own], j]
            if kind == "cat":
                keep = rng.random(len(ctr)) >= CAT_SMOOTHING
                R[own, j] = np.where(keep, ctr, rng.integers(0, k, len(ctr)))
                continue
            sig = self._sigma(m, k)
            h = 0.5 / k if k else 0.0
            a, b = norm.cdf((-h - ctr) / sig), norm.cdf((1.0 + h - ctr) / sig)
            u = ctr + sig * norm.ppf(a + rng.random(len(ctr)) * (b - a))
            u = np.clip(u, 0.0, 1.0)
            R[own, j] = self._unit_to_row(u, spec)
        return R

    @staticmethod
    def _unit_to_row(u: np.ndarray, spec: tuple[str, float, float, bool, int]) -> np.ndarray:
        kind, lo, hi, log, _w = spec
        r = np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if log else lo + u * (hi - lo)
        r = np.clip(np.round(r), lo, hi) if kind == "int" else np.clip(r, lo, hi)
        return r + 0.0  # no negative zeros: rows are compared by their bytes

    # ------------------------------------------------------------------ proposals
    def propose(self, R: np.ndarray, y: np.ndarray, rng: np.random.Generator, seen_rows: Set[bytes],
                n: int) -> list[np.ndarray]:
        """Up to ``n`` distinct unseen rows, each the best density ratio among :attr:`n_samples` draws.

        Args:
            R: Row values of the told points.
            y: Their minimised values (a failed point at the worst value).
            rng: Generator of the draws.
            seen_rows: Row bytes never to propose (rows proposed here are added to a private copy).
            n: How many rows.

        Returns:
            The rows (fewer than ``n`` when the draws keep landing on seen points).
        """
        if len(R) < 2 or n < 1:
            return []
        order = np.argsort(y, kind="stable")
        k = n_good(len(R), self.share)
        V = self.units(R)
        good, bad = V[order[:k]], V[order[k:]]
        seen = set(seen_rows)
        out: list[np.ndarray] = []
        for _ in range(4 * n):
            if len(out) == n:
                break
            S = np.unique(self._sample(good, rng, self.n_samples), axis=0)
            S = S[np.array([s.tobytes() not in seen for s in S], dtype=bool)]
            if not len(S):
                continue
            Q = self.units(S)
            ratio = self.log_density(good, Q) - self.log_density(bad, Q)
            row = np.ascontiguousarray(S[int(np.argmax(ratio))])
            seen.add(row.tobytes())
            out.append(row)
        return out
