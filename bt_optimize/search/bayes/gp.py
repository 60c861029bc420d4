"""The Gaussian process of :class:`~bt_optimize.search.bayes.BayesSearch` and its batch posterior.

- :class:`GP`: a zero-mean GP on transformed targets, ``amp * Matern-5/2`` with one length scale per encoded column
  (ARD), plus a fitted white noise common to all points and a known noise per point. Hyperparameters are fitted by
  maximising the marginal likelihood (:meth:`GP.nll` gives its negative and the analytic gradient) with L-BFGS-B.
- :class:`Batch`: the posterior at a candidate set, conditioned one chosen point at a time by rank-one updates with
  the kernel fixed (so a batch of four costs one Cholesky factorisation and a few matrix-vector products).
- :func:`normal_scores`: the ``"rank"`` output transform.
- :func:`one_blas_thread`: the BLAS thread limit every surrogate computation runs under.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.stats import norm, rankdata
from threadpoolctl import ThreadpoolController

__all__ = ["GP", "Batch", "normal_scores", "one_blas_thread", "matern", "sqdist"]

_SQRT5 = math.sqrt(5.0)
_THREADPOOLS: ThreadpoolController | None = None


def one_blas_thread() -> Any:
    """A context limiting BLAS to one thread: the matrices are small (hundreds of rows), where a multi-threaded
    BLAS only adds overhead, often 10-100x. The controller is built once (it scans the loaded libraries)."""
    global _THREADPOOLS
    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1, user_api="blas")


def matern(r2: np.ndarray, amp: float) -> np.ndarray:
    """``amp * (1 + sqrt(5) r + 5/3 r^2) exp(-sqrt(5) r)`` of squared distances ``r2`` (overwritten)."""
    np.maximum(r2, 0.0, out=r2)
    r = np.sqrt(r2)
    r *= _SQRT5  # sqrt(5) r
    r2 *= 5.0 / 3.0
    r2 += r
    r2 += 1.0
    np.negative(r, out=r)
    np.exp(r, out=r)
    r2 *= r
    r2 *= amp
    return r2


def sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``A`` and ``B`` (clipped at 0)."""
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


class GP:
    """A zero-mean GP on transformed targets: ``amp * Matern52(ARD)`` + white noise + known per-point noise.

    Hyperparameters (``theta``, all logarithms): amplitude, one length scale per column, white-noise variance.
    """

    AMP = (1e-2, 1e2)
    LENGTH = (1e-2, 1e2)
    NOISE = (1e-6, 1.0)

    def __init__(self, theta: np.ndarray) -> None:
        self.theta = np.asarray(theta, dtype=float)

    @property
    def amp(self) -> float:
        """Kernel amplitude (prior variance)."""
        return float(np.exp(self.theta[0]))

    @property
    def ls(self) -> np.ndarray:
        """Length scales, one per encoded column."""
        return np.exp(self.theta[1:-1])

    @property
    def noise(self) -> float:
        """Fitted white-noise variance common to all points."""
        return float(np.exp(self.theta[-1]))

    def kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Noise-free covariance between the rows of ``A`` and ``B``."""
        return matern(sqdist(A / self.ls, B / self.ls), self.amp)

    @classmethod
    def default_theta(cls, n_cols: int) -> np.ndarray:
        """Start of the fit: amplitude 1, length scales 0.5, noise 0.01."""
        return np.array([0.0] + [math.log(0.5)] * n_cols + [math.log(1e-2)])

    @classmethod
    def bounds(cls, n_cols: int) -> list[tuple[float, float]]:
        """L-BFGS-B bounds of ``theta`` (logarithms of :attr:`AMP`, :attr:`LENGTH` and :attr:`NOISE`)."""
        b = [tuple(math.log(v) for v in cls.AMP)]
        b += [tuple(math.log(v) for v in cls.LENGTH)] * n_cols
        b += [tuple(math.log(v) for v in cls.NOISE)]
        return b  # type: ignore[return-value]

    @staticmethod
    def nll(theta: np.ndarray, D: np.ndarray, y: np.ndarray, alpha: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood and its gradient in ``theta``.

        ``D`` holds the squared differences per column, shape ``(n * n, n_cols)``.
        """
        n = len(y)
        amp, ls2, noise = math.exp(theta[0]), np.exp(2 * theta[1:-1]), math.exp(theta[-1])
        r2 = (D @ (1.0 / ls2)).reshape(n, n)
        r = np.sqrt(r2)
        e = np.exp(-_SQRT5 * r)
        Kf = amp * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * e
        K = Kf + np.diag(noise + alpha)
        try:
            L = cholesky(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        a = cho_solve((L, True), y, check_finite=False)
        f = 0.5 * float(y @ a) + float(np.log(np.diag(L)).sum()) + 0.5 * n * math.log(2 * math.pi)
        W = np.outer(a, a) - cho_solve((L, True), np.eye(n), check_finite=False)
        G = amp * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * e
        grad = np.empty_like(theta)
        grad[0] = -0.5 * float((W * Kf).sum())
        grad[1:-1] = -0.5 * ((W * G).ravel() @ D) / ls2
        grad[-1] = -0.5 * float(np.trace(W)) * noise
        return f, grad

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, alpha: np.ndarray, starts: Sequence[np.ndarray]) -> GP:
        """Maximise the marginal likelihood from each start; keep the best."""
        D = ((X[:, None, :] - X[None, :, :]) ** 2).reshape(len(X) * len(X), X.shape[1])
        bounds = cls.bounds(X.shape[1])
        best: tuple[float, np.ndarray] | None = None
        for t0 in starts:
            t0 = np.clip(t0, [b[0] for b in bounds], [b[1] for b in bounds])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = minimize(cls.nll, t0, args=(D, y, alpha), jac=True, method="L-BFGS-B", bounds=bounds,
                               options={"maxiter": 200})
            if best is None or res.fun < best[0]:
                best = (float(res.fun), np.asarray(res.x))
        assert best is not None
        return cls(best[1])


class Batch:
    """The posterior at a candidate set, conditioned one chosen point at a time (rank-one updates)."""

    def __init__(self, gp: GP, X: np.ndarray, y: np.ndarray, noise: np.ndarray, Xc: np.ndarray) -> None:
        K = gp.kernel(X, X) + np.diag(noise)
        jitter = 0.0
        while True:
            try:
                L = cholesky(K + jitter * np.eye(len(K)), lower=True, check_finite=False)
                break
            except np.linalg.LinAlgError:
                jitter = 1e-10 if jitter == 0.0 else jitter * 100
                if jitter > 1.0:
                    raise
        Kc = gp.kernel(Xc, X)
        self.gp, self.Xc = gp, Xc
        self.mu = Kc @ cho_solve((L, True), y, check_finite=False)
        self.V = solve_triangular(L, Kc.T, lower=True, check_finite=False)
        self.var = np.maximum(gp.amp - np.einsum("ij,ij->j", self.V, self.V), 1e-12)
        self._us: list[np.ndarray] = []

    @property
    def sd(self) -> np.ndarray:
        """Posterior standard deviations at the candidates."""
        return np.sqrt(np.maximum(self.var, 1e-12))

    def condition(self, j: int, value: float) -> None:
        """Condition on candidate ``j`` having been observed (with the fitted noise) at ``value``."""
        cov = self.gp.kernel(self.Xc, self.Xc[j: j + 1])[:, 0] - self.V.T @ self.V[:, j]
        for u in self._us:
            cov -= u * u[j]
        denom = self.var[j] + self.gp.noise
        self.mu = self.mu + cov * (value - self.mu[j]) / denom
        u = cov / math.sqrt(denom)
        self.var = np.maximum(self.var - u * u, 1e-12)
        self._us.append(u)


def normal_scores(y: np.ndarray) -> np.ndarray:
    """Ranks of ``y`` (ties averaged) mapped to standard-normal quantiles."""
    ranks = rankdata(y, method="average")
    return norm.ppf((ranks - 0.5) / len(y))

