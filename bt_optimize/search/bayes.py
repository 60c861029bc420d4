"""Bayesian optimisation with a Gaussian-process surrogate: cheap batches, adaptive acquisition, no duplicates.

The encoding of points is scikit-optimize's (``normalize_dimensions``: ``[0, 1]`` per numeric dimension, log
dimensions in log space, one-hot categoricals; the tests check the two agree) and so is the kernel (a constant times
a Matern-5/2 with one length scale per encoded column, plus Gaussian noise). Both are computed here on whole arrays,
together with everything else, because doing it the generic way is what makes batches slow (skopt itself is no
longer imported at run time):

- **Initial design.** ``initial_points``, then a seeded Latin hypercube (every dimension's range cut into
  ``n_initial_points`` strata, one point per stratum), deterministic in ``seed``.
- **The surrogate** (:class:`_GP`) is fitted by maximising the marginal likelihood with an analytic gradient
  (L-BFGS-B, two starts: the previous fit and a default), on at most :data:`MAX_FIT_POINTS` points (a seeded
  subset beyond). The hyperparameters are refitted when the number of told points has grown by
  :data:`REFIT_GROWTH` since the last fit and kept in between; every round still conditions on every point told.
  Training points are sorted canonically, so the fit does not depend on the order in which parallel results
  arrived.
- **Cheap batches.** The points of a batch are chosen one after the other, each time conditioning the posterior on
  the points already chosen (and on any point still running) with the *fixed* kernel and a constant lie (the best
  value seen: skopt's ``"cl_min"``). Conditioning is a rank-one update of the candidates' posterior, so a round of
  four costs one Cholesky factorisation plus a few matrix-vector products, where skopt's
  ``Optimizer.ask(n_points=4)`` refits the kernel hyperparameters for every lie.
  See ``docs/benchmarks_search.md``.
- **Acquisition over a candidate set.** The acquisition is maximised over every point of a finite space not yet
  seen (up to ``4 * n_candidates`` points), else over ``n_candidates`` random points plus local perturbations of
  the best points.
- **A trust region and a share of random points** (real landscapes have plateaus, narrow peaks and integer grids,
  where a surrogate alone stalls). With ``local_picks`` the first point of every round (every other round with
  ``batch_size=1``) is the acquisition's best among the candidates near the incumbent: within
  :data:`LOCAL_BOX` of each numeric range (at least one step) with the same categories, or one category switched
  (recorded ``local=True``). ``random_share`` of the proposals (evenly spread, 1 in 8 by default) are uniform random
  points (recorded ``acquisition="random"``).
- **No duplicates.** A point already told or proposed is never proposed again (keys from
  :func:`~bt_optimize.space.params_key`). A finite space is exhausted when every point has been proposed.
- **Output transform.** Values are minimised internally (negated when ``maximize``). With
  ``output_transform="rank"`` (the default) they are replaced by normal scores of their ranks (ties share their
  mean rank) before fitting, which tames the wide plateaus (a parameter set that never trades scores exactly 0)
  and lone outliers of real strategy landscapes; ``"standard"`` only standardises them. ``xi`` and ``kappa`` are in
  units of the transformed values (one standard deviation).
- **Failed and infeasible points** (told with ``value=None``) enter the surrogate at the worst complete value
  seen, so proposals move away from them.
- **Observation noise per point.** A value told with ``noise_var`` (with ``cv=k`` folds: the variance of the fold
  values divided by ``k``, i.e. the squared standard error of their mean) adds that variance, divided by the
  variance of the values seen and floored at :data:`NOISE_FLOOR`, to the diagonal of the kernel at that point, on
  top of the fitted noise common to all points (a heteroscedastic GP).
- **Multi-fidelity** (``optimize_bayes(fidelity=...)``). The GP models the full-fidelity objective only. A point
  pruned by the quick screen (state ``pruned``, its told value the quick value) enters as a pessimistic stand-in:
  its quick value mapped to the full scale by a least-squares line through the promoted points (which have both
  values; the slope is clipped at 0), but never better than the median full value, with the line's residual
  variance as its own noise (at least :data:`PRUNED_NOISE_FLOOR`, in transformed units). Until three promoted
  points exist, a pruned point stands at the median full value with noise 1. Quick values never count as
  results: they cannot become the best value, move ``patience`` or the ``"auto"`` acquisition.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.stats import norm, qmc, rankdata
from threadpoolctl import ThreadpoolController

from ..exceptions import SpaceError
from ..space import Cat, Int, Real, Space, params_key
from ..trial import Trial, TrialState
from .base import Search, constraint_allows

__all__ = ["BayesSearch", "Acquisition", "ACQUISITIONS", "AUTO_LADDER", "AUTO_START", "STALL_THRESHOLD",
           "OUTPUT_TRANSFORMS", "NOISE_FLOOR", "PRUNED_NOISE_FLOOR", "REFIT_GROWTH", "MAX_FIT_POINTS", "LOCAL_BOX",
           "default_n_initial_points",
           "default_window", "fold_noise", "check_arguments"]

Constraint = Callable[[dict[str, Any]], bool]

#: Accepted values of ``acquisition``.
ACQUISITIONS = ("auto", "EI", "PI", "LCB", "gp_hedge")

#: Accepted values of ``output_transform``.
OUTPUT_TRANSFORMS = ("rank", "standard")

#: Relative improvement (of the best value, as a share of the range of values seen) below which ``"auto"`` calls
#: the last window stalled.
STALL_THRESHOLD = 0.01

#: Smallest per-point noise variance (in units of the variance of the values seen) of a point told with
#: ``noise_var``: a standard deviation of 3 % of the values' spread. Folds that agree exactly (e.g. a parameter set
#: that never trades scores 0 in every fold) still leave the GP a little room.
NOISE_FLOOR = 1e-3

#: Smallest noise variance (transformed units) of a pruned point's stand-in value.
PRUNED_NOISE_FLOOR = 0.05

#: Largest number of points the kernel hyperparameters are fitted to (a seeded random subset beyond it); the
#: posterior always conditions on every point.
MAX_FIT_POINTS = 200

#: The kernel hyperparameters are refitted once the number of told points has grown by this share since the last
#: fit (and at the first round); in between, rounds reuse them and only condition on the new points.
REFIT_GROWTH = 0.1


@dataclass(frozen=True)
class Acquisition:
    """An acquisition function and its parameter.

    Args:
        name: ``"EI"`` (expected improvement), ``"PI"`` (probability of improvement) or ``"LCB"`` (lower confidence
            bound of the minimised value).
        xi: Improvement margin of EI and PI, in standard deviations of the values seen.
        kappa: Weight of the posterior standard deviation in LCB.
    """

    name: str
    xi: float = 0.01
    kappa: float = 1.96

    def attrs(self) -> dict[str, Any]:
        """The attributes recorded with a trial proposed by this acquisition."""
        if self.name == "LCB":
            return {"acquisition": "LCB", "kappa": self.kappa}
        return {"acquisition": self.name, "xi": self.xi}

    def score(self, mu: np.ndarray, sd: np.ndarray, y_best: float) -> np.ndarray:
        """Acquisition values (larger is better) of a minimised posterior with mean ``mu`` and std ``sd``."""
        sd = np.maximum(sd, 1e-12)
        if self.name == "LCB":
            return -(mu - self.kappa * sd)
        imp = y_best - mu - self.xi
        z = imp / sd
        if self.name == "PI":
            return norm.cdf(z)
        return imp * norm.cdf(z) + sd * norm.pdf(z)


#: The ``"auto"`` ladder, from exploitation (index 0) to exploration (last). ``"auto"`` starts at
#: :data:`AUTO_START` (EI, xi=0.01), moves one rung toward exploration after a stalled window and one rung toward
#: exploitation after a window that improved; it never leaves the ladder. (Chosen on the benchmark problems of
#: ``benchmarks/search_quality.py``: a ladder reaching EI ``xi=0.1`` and LCB ``kappa=4`` explored too far once the
#: good region was found; see ``docs/benchmarks_search.md``.)
AUTO_LADDER: tuple[Acquisition, ...] = (
    Acquisition("PI", xi=0.001),
    Acquisition("EI", xi=0.01),
    Acquisition("LCB", kappa=1.0),
    Acquisition("LCB", kappa=1.96),
    Acquisition("LCB", kappa=3.0),
)
AUTO_START = 1

#: Half-width of the box around the incumbent from which the first point of each round is taken (``local_picks``),
#: as a share of each numeric dimension's range (at least one step of a discrete one).
LOCAL_BOX = 0.15

_FIXED = {"EI": Acquisition("EI", xi=0.01), "PI": Acquisition("PI", xi=0.01), "LCB": Acquisition("LCB", kappa=1.96)}
_HEDGE = ("EI", "PI", "LCB")


def default_n_initial_points(n_dims: int, batch_size: int) -> int:
    """Random points before the surrogate is used: ``max(2 * batch_size, min(10, 2 * n_dims + 2))``."""
    return max(2 * batch_size, min(10, 2 * n_dims + 2))


def default_window(batch_size: int) -> int:
    """Trials per window of the ``"auto"`` acquisition: ``max(5, 2 * batch_size)`` (about two rounds)."""
    return max(5, 2 * batch_size)


def fold_noise(folds: Sequence[float] | None) -> float | None:
    """Observation noise variance of a mean over folds: ``var(folds, ddof=1) / k`` (``None`` for fewer than 2)."""
    if folds is None or len(folds) < 2:
        return None
    xs = np.asarray(folds, dtype=float)
    if not np.all(np.isfinite(xs)):
        return None
    return float(xs.var(ddof=1) / len(xs))


class _Encoder:
    """Vectorised encoding of the points of a :class:`Space` into ``[0, 1]`` columns for the GP.

    The encoding is scikit-optimize's (``skopt.utils.normalize_dimensions``; the tests check they agree), computed
    on whole arrays at once. Each free dimension (fixed ones, with one value, are left out) has a *row value*: the
    value itself for ``Int`` (step 1) and continuous ``Real``, the step index for stepped ``Int``/``Real``, the
    choice index for ``Cat``. Numeric row values are scaled to ``[0, 1]`` (log dimensions in log space); a ``Cat``
    with two choices is one 0/1 column, with more it is one-hot.
    """

    def __init__(self, space: Space) -> None:
        self.space = space
        self.names = [n for n in space.names if space[n].cardinality != 1]
        self.fixed = {n: space[n].grid()[0] for n in space.names if space[n].cardinality == 1}
        # per free dimension: (kind, lo, hi, log, width); kind in "int", "real", "cat"
        self.specs: list[tuple[str, float, float, bool, int]] = []
        self._grids: dict[int, list[Any]] = {}
        for j, n in enumerate(self.names):
            d = self.space[n]
            if isinstance(d, Cat):
                k = len(d.choices)
                self.specs.append(("cat", 0.0, k - 1.0, False, 1 if k == 2 else k))
            elif (isinstance(d, Int) and d.step == 1) or (isinstance(d, Real) and d.step is None):
                self.specs.append(("int" if isinstance(d, Int) else "real", float(d.low), float(d.high), d.log, 1))
            else:
                self.specs.append(("int", 0.0, float(d.cardinality) - 1.0, False, 1))
                if isinstance(d, Real):
                    self._grids[j] = d.grid()
        self.width = sum(s[-1] for s in self.specs)

    @property
    def n_free(self) -> int:
        return len(self.names)

    def rows(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Row values of ``points``, shape ``(len(points), n_free)``."""
        out = np.empty((len(points), len(self.names)))
        for j, n in enumerate(self.names):
            d = self.space[n]
            for i, p in enumerate(points):
                v = p[n]
                if isinstance(d, Cat):
                    out[i, j] = d.index(v)
                elif isinstance(d, Int):
                    out[i, j] = int(v) if d.step == 1 else (int(v) - d.low) // d.step
                elif d.step is None:
                    out[i, j] = float(v)
                else:
                    out[i, j] = round((float(v) - d.low) / d.step)
        return out

    def encode(self, R: np.ndarray) -> np.ndarray:
        """The ``[0, 1]`` columns of row values ``R``."""
        cols = []
        for j, (kind, lo, hi, log, width) in enumerate(self.specs):
            r = R[:, j]
            if kind == "cat" and width > 1:
                cols.append(np.eye(width)[r.astype(int)])
                continue
            if log:
                u = (np.log(r) - math.log(lo)) / (math.log(hi) - math.log(lo))
            else:
                u = (r - lo) / (hi - lo)
            cols.append(u[:, None])
        return np.hstack(cols) if cols else np.zeros((len(R), 0))

    def transform(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The encoded matrix of ``points`` (one row per point)."""
        return self.encode(self.rows(points))

    def decode(self, U: np.ndarray) -> np.ndarray:
        """The legal row values nearest to encoded rows ``U`` (clipped, rounded, one-hot by its largest entry)."""
        out = np.empty((len(U), len(self.specs)))
        c = 0
        for j, (kind, lo, hi, log, width) in enumerate(self.specs):
            block = U[:, c: c + width]
            c += width
            if kind == "cat" and width > 1:
                out[:, j] = block.argmax(1)
                continue
            u = np.clip(block[:, 0], 0.0, 1.0)
            r = np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if log else lo + u * (hi - lo)
            out[:, j] = np.clip(np.round(r) if kind in ("int", "cat") else r, lo, hi)
        return out

    def sample(self, rng: np.random.Generator, m: int) -> np.ndarray:
        """``m`` random row values (uniform, or log-uniform for log dimensions)."""
        out = np.empty((m, len(self.specs)))
        for j, (kind, lo, hi, log, _) in enumerate(self.specs):
            if kind in ("int", "cat") and not log:
                out[:, j] = rng.integers(int(lo), int(hi) + 1, m)
                continue
            a, b = (lo - 0.4999, hi + 0.4999) if kind == "int" else (lo, hi)
            x = np.exp(rng.uniform(math.log(a), math.log(b), m)) if log else rng.uniform(a, b, m)
            out[:, j] = np.clip(np.round(x), lo, hi) if kind == "int" else x
        return out

    def point(self, row: np.ndarray) -> dict[str, Any]:
        """The parameter dict of one row (plain Python values, fixed dimensions included)."""
        out = dict(self.fixed)
        for j, n in enumerate(self.names):
            d, r = self.space[n], row[j]
            if isinstance(d, Cat):
                out[n] = d.choices[int(r)]
            elif isinstance(d, Int):
                out[n] = int(r) if d.step == 1 else d.low + int(r) * d.step
            elif d.step is None:
                out[n] = min(max(float(r), d.low), d.high)
            else:
                out[n] = self._grids[j][int(r)]
        return {n: out[n] for n in self.space.names}

    def latin_hypercube(self, n: int, seed: Any) -> list[dict[str, Any]]:
        """``n`` points of a seeded Latin hypercube: each dimension's range (choices) cut into ``n`` equal strata,
        one point per stratum, strata paired at random (scipy's ``LatinHypercube``)."""
        if not self.specs or n < 1:
            return []
        U = qmc.LatinHypercube(d=len(self.specs), seed=np.random.default_rng(seed)).random(n)
        R = np.empty_like(U)
        for j, (kind, lo, hi, log, _) in enumerate(self.specs):
            a, b = (lo - 0.5, hi + 0.5) if kind in ("int", "cat") else (lo, hi)
            x = np.exp(math.log(a) + U[:, j] * (math.log(b) - math.log(a))) if log else a + U[:, j] * (b - a)
            R[:, j] = np.clip(np.round(x), lo, hi) if kind in ("int", "cat") else np.clip(x, lo, hi)
        return [self.point(r) for r in R]

    def grid_rows(self) -> np.ndarray:
        """Row values of every point of a finite space."""
        axes = [np.arange(int(lo), int(hi) + 1) for _kind, lo, hi, _log, _w in self.specs]
        if not axes:
            return np.zeros((1, 0))
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.column_stack([m.ravel() for m in mesh]).astype(float)


_SQRT5 = math.sqrt(5.0)
_THREADPOOLS: ThreadpoolController | None = None


def _one_blas_thread() -> Any:
    """A context limiting BLAS to one thread: the matrices are small (hundreds of rows), where a multi-threaded
    BLAS only adds overhead, often 10-100x. The controller is built once (it scans the loaded libraries)."""
    global _THREADPOOLS
    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1, user_api="blas")


def _matern(r2: np.ndarray, amp: float) -> np.ndarray:
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


def _sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


class _GP:
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
        return float(np.exp(self.theta[0]))

    @property
    def ls(self) -> np.ndarray:
        return np.exp(self.theta[1:-1])

    @property
    def noise(self) -> float:
        return float(np.exp(self.theta[-1]))

    def kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Noise-free covariance between the rows of ``A`` and ``B``."""
        return _matern(_sqdist(A / self.ls, B / self.ls), self.amp)

    @classmethod
    def default_theta(cls, n_cols: int) -> np.ndarray:
        return np.array([0.0] + [math.log(0.5)] * n_cols + [math.log(1e-2)])

    @classmethod
    def bounds(cls, n_cols: int) -> list[tuple[float, float]]:
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
    def fit(cls, X: np.ndarray, y: np.ndarray, alpha: np.ndarray, starts: Sequence[np.ndarray]) -> _GP:
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


class _Batch:
    """The posterior at a candidate set, conditioned one chosen point at a time (rank-one updates)."""

    def __init__(self, gp: _GP, X: np.ndarray, y: np.ndarray, noise: np.ndarray, Xc: np.ndarray) -> None:
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


def _normal_scores(y: np.ndarray) -> np.ndarray:
    """Ranks of ``y`` (ties averaged) mapped to standard-normal quantiles."""
    ranks = rankdata(y, method="average")
    return norm.ppf((ranks - 0.5) / len(y))


class BayesSearch(Search):
    """Gaussian-process Bayesian optimisation behind ask/tell.

    The first ``n_initial_points`` proposals are ``initial_points`` (in the order given) followed by seeded random
    points; later ones maximise the acquisition of a GP fitted to every told value. ``ask(n)`` returns a batch of
    ``n`` distinct new points at the cost of one posterior factorisation (see the module docstring).

    Acquisition ``"auto"`` (the default) adapts along :data:`AUTO_LADDER`: it starts with EI (``xi=0.01``) and,
    every ``batch_size`` trials after the initial design, compares the best value of the last ``window`` trials
    with the best before them. A relative improvement (as a share of the range of values seen) below
    ``stall_threshold`` moves one rung toward exploration (LCB with ``kappa`` 1, 1.96, then 3); anything better
    moves one rung toward exploitation (PI with ``xi=0.001``). The rung is recomputed from the
    told history, so a resumed study uses the rung the uninterrupted one would. ``"EI"``, ``"PI"``, ``"LCB"`` use
    fixed parameters (``xi=0.01``, ``kappa=1.96``); ``"gp_hedge"`` picks one of them per round with probabilities
    that favour those whose past proposals the surrogate now rates best (as in skopt).

    Every proposal's acquisition and parameters are kept; :meth:`attrs_for` returns them (pass it as
    ``user_attrs`` to :meth:`~bt_optimize.study.Study.optimize` to record them with the trials).

    A resumed study tells its stored trials to a fresh search: the initial design, the rung of ``"auto"`` and the
    generator of each round are derived from the seed and the told history, and the kernel hyperparameters are
    refitted at the first round (an uninterrupted run may have kept older ones a little longer, so later proposals
    can differ slightly; no point is ever proposed twice).

    Args:
        space: The space to search.
        seed: Seed of the initial design and of every round (rounds draw from a generator derived from ``seed`` and
            the number of points told).
        maximize: Direction of the values told.
        acquisition: One of :data:`ACQUISITIONS`.
        batch_size: Points per round; sets the default initial design and window, and the adaptation period.
        n_initial_points: Points proposed before the surrogate is used (default
            :func:`default_n_initial_points`). ``initial_points`` and ``initial_values`` count toward it.
        initial_points: Points proposed first (validated against the space). With ``initial_values`` they are told,
            not proposed.
        initial_values: Objective values of ``initial_points`` (``None`` for a failed point), told to the surrogate
            at construction without running anything; they are not trials of any study.
        patience: Stop (``stop_reason = "patience"``) after this many ran trials without improving the best value
            by more than ``tol`` (``None``: never).
        tol: Smallest improvement that resets ``patience``, in the objective's units.
        window: Trials per window of ``"auto"`` (default :func:`default_window`).
        stall_threshold: Relative improvement below which ``"auto"`` calls a window stalled.
        n_candidates: Random candidates per round at which the acquisition is evaluated (plus local
            perturbations of the best points); finite spaces of up to ``4 * n_candidates`` points use every point
            not yet seen.
        constraint: Optional ``callable(params) -> bool``; candidates where it is false are not proposed (the study
            still checks every point).
        output_transform: ``"rank"`` (normal scores of the ranks) or ``"standard"`` (standardised values); see the
            module docstring.
        local_picks: Take the first point of each round from near the incumbent (module docstring).
        random_share: Share of the proposals after the initial design that are uniform random points, in ``[0, 1)``.

    Raises:
        ValueError: an argument is out of range (the message names the fix).
        SpaceError: an initial point lies outside the space.

    Example:
        >>> from bt_optimize.space import Int, Real, Space
        >>> s = BayesSearch(Space({"x": Real(-2.0, 2.0), "n": Int(1, 9)}), seed=0, maximize=False, batch_size=2)
        >>> for _ in range(8):
        ...     for p in s.ask(2):
        ...         s.tell(p, (p["x"] - 0.5) ** 2 + p["n"])
        >>> s.attrs_for(p)["acquisition"] in {"EI", "PI", "LCB"}
        True
    """

    name = "bayes"

    def __init__(self, space: Space, seed: int | None = None, *, maximize: bool = True, acquisition: str = "auto",
                 batch_size: int = 1, n_initial_points: int | None = None,
                 initial_points: Sequence[Mapping[str, Any]] | None = None,
                 initial_values: Sequence[float | None] | None = None, patience: int | None = None,
                 tol: float = 0.0, window: int | None = None, stall_threshold: float = STALL_THRESHOLD,
                 n_candidates: int = 2000, constraint: Constraint | None = None,
                 output_transform: str = "rank", local_picks: bool = True, random_share: float = 0.125) -> None:
        super().__init__(space, seed)
        check_arguments(acquisition=acquisition, batch_size=batch_size, n_initial_points=n_initial_points,
                        patience=patience, tol=tol, window=window)
        if not (isinstance(n_candidates, int) and n_candidates >= 10):
            raise ValueError(f"n_candidates={n_candidates!r}: give a whole number >= 10")
        if not (isinstance(stall_threshold, (int, float)) and stall_threshold >= 0):
            raise ValueError(f"stall_threshold={stall_threshold!r}: give a number >= 0")
        if output_transform not in OUTPUT_TRANSFORMS:
            raise ValueError(f"output_transform={output_transform!r}: use one of {', '.join(OUTPUT_TRANSFORMS)}")
        self.maximize = bool(maximize)
        self.acquisition = acquisition
        self.batch_size = batch_size
        self.n_initial_points = (default_n_initial_points(len(space), batch_size) if n_initial_points is None
                                 else n_initial_points)
        self.patience, self.tol = patience, float(tol)
        self.window = default_window(batch_size) if window is None else window
        self.stall_threshold = float(stall_threshold)
        self.n_candidates = n_candidates
        self.constraint = constraint
        self.output_transform = output_transform
        self.local_picks = bool(local_picks)
        if isinstance(random_share, bool) or not isinstance(random_share, (int, float)) or not 0 <= random_share < 1:
            raise ValueError(f"random_share={random_share!r}: give a share of the proposals in [0, 1)")
        self.random_share = float(random_share)
        self._sign = -1.0 if self.maximize else 1.0
        self._base = int(seed) if seed is not None else int(self.rng.integers(2**31))
        self._design_rng = np.random.default_rng([self._base, 0])
        self._enc = _Encoder(space)
        self._finite = space.is_finite
        # told history, in tell order: params, minimised full-fidelity value (None: failed, infeasible or pruned),
        # kind ("full", "fail", "infeasible", "pruned"), known noise variance (NaN: none), minimised quick value
        self._X: list[dict[str, Any]] = []
        self._keys: list[str] = []
        self._y: list[float | None] = []
        self._kind: list[str] = []
        self._noise: list[float] = []
        self._quick: list[float | None] = []
        self._seen: set[str] = set()
        self._seen_rows: set[bytes] = set()  # encoder rows (float64 bytes) of the seen points
        self._grid: tuple[np.ndarray, np.ndarray, dict[bytes, int], np.ndarray | None] | None = None
        self._pending: dict[str, dict[str, Any]] = {}
        self._attrs: dict[str, dict[str, Any]] = {}
        self._best: float | None = None
        self._since_best = 0
        self._hedge_gains = np.zeros(len(_HEDGE))
        self._hedge_prev: np.ndarray | None = None
        self._gp: _GP | None = None
        self._gp_n = 0
        #: Seconds spent fitting and proposing in the last ``ask`` (for benchmarks).
        self.last_ask_s = 0.0
        self._design: list[dict[str, Any]] | None = None
        self._queue = self._initial(initial_points, initial_values)

    # ------------------------------------------------------------------ set-up
    def _initial(self, points: Sequence[Mapping[str, Any]] | None,
                 values: Sequence[float | None] | None) -> list[dict[str, Any]]:
        if points is None:
            if values is not None:
                raise ValueError("initial_values given without initial_points; pass the points they belong to")
            return []
        if isinstance(points, Mapping) or not isinstance(points, Sequence):
            raise ValueError(f"initial_points={points!r}: give a list of parameter dicts")
        pts = [self.space.validate_point(p, f"initial_points[{i}]") for i, p in enumerate(points)]
        if values is not None:
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != len(pts):
                raise ValueError(f"initial_values must be a list with one value (or None) per initial point: "
                                 f"{len(pts)} points, got {values!r}")
            for i, (p, v) in enumerate(zip(pts, values)):
                if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool)
                                          and math.isfinite(v)):
                    raise ValueError(f"initial_values[{i}]={v!r}: give a finite number, or None for a failed point")
                self.tell(p, None if v is None else float(v))
            return []
        out, keys = [], set()
        for p in pts:
            k = params_key(p)
            if k not in keys:
                keys.add(k)
                out.append(p)
        return out

    # ------------------------------------------------------------------ tell
    def tell(self, params: dict[str, Any], value: float | None, state: TrialState = TrialState.COMPLETE, *,
             noise_var: float | None = None, quick_value: float | None = None) -> None:
        """Record a result.

        Args:
            params: The point.
            value: Its objective value; ``None`` (or NaN/inf) for a failed or infeasible point, which counts as the
                worst value seen. For a ``PRUNED`` point, its quick (low-fidelity) value.
            state: The trial's state.
            noise_var: Known observation-noise variance of ``value`` in the objective's units squared (e.g. from
                folds, see :func:`fold_noise`); ``None``: only the fitted common noise.
            quick_value: The point's quick-screen value when it was promoted to full fidelity (teaches the search
                how quick values relate to full ones).
        """
        key = params_key(params)
        self._see(params, key)
        self._pending.pop(key, None)
        finite = value is not None and math.isfinite(value)
        q = None if quick_value is None or not math.isfinite(quick_value) else self._sign * float(quick_value)
        if state is TrialState.PRUNED:
            kind, y, q = "pruned", None, (self._sign * float(value) if finite else q)  # type: ignore[arg-type]
        elif state is TrialState.INFEASIBLE:
            kind, y = "infeasible", None
        elif finite:
            kind, y = "full", self._sign * float(value)  # type: ignore[arg-type]
        else:
            kind, y = "fail", None
        self._X.append(dict(params))
        self._keys.append(key)
        self._y.append(y)
        self._kind.append(kind)
        self._noise.append(float(noise_var) if noise_var is not None and math.isfinite(noise_var) else math.nan)
        self._quick.append(q)
        if kind == "infeasible":
            return
        if y is not None and (self._best is None or y < self._best - self.tol):
            self._since_best = 0
        elif self._best is not None:
            self._since_best += 1
        if y is not None and (self._best is None or y < self._best):
            self._best = y
        if self.patience is not None and self._since_best >= self.patience:
            self.stop_reason = "patience"

    def tell_trial(self, trial: Trial) -> None:
        """Record a study's trial: its fold values become the point's noise (:func:`fold_noise`), a promoted
        trial's ``quick_value`` and a pruned trial's value teach the quick-to-full relation."""
        attrs = trial.user_attrs or {}
        if trial.state is TrialState.COMPLETE:
            self.tell(dict(trial.params), trial.value, trial.state, noise_var=fold_noise(attrs.get("folds")),
                      quick_value=attrs.get("quick_value"))
        elif trial.state is TrialState.PRUNED:
            self.tell(dict(trial.params), trial.value, trial.state)
        else:
            self.tell(dict(trial.params), None, trial.state)

    def attrs_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The attributes recorded with a proposed point: ``phase``, ``acquisition`` and its ``xi``/``kappa``."""
        return dict(self._attrs.get(params_key(params), {"phase": "bo"}))

    @property
    def exhausted(self) -> bool:
        return self._finite and len(self._seen) >= self.space.cardinality

    # ------------------------------------------------------------------ ask
    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """Up to ``n`` distinct points never told nor proposed before (none once stopped or exhausted)."""
        if self.stop_reason is not None:
            return []
        out: list[dict[str, Any]] = []
        while self._queue and len(out) < n:
            p = self._queue.pop(0)
            if params_key(p) not in self._seen:
                self._propose(p, {"phase": "bo", "acquisition": "initial"})
                out.append(p)
        while len(out) < n and len(self._seen) < self.n_initial_points and not self.exhausted:
            p = self._design_point()
            if p is None:
                break
            self._propose(p, {"phase": "bo", "acquisition": "random"})
            out.append(p)
        if len(out) < n and not self.exhausted:
            out.extend(self._model_batch(n - len(out)))
        return out

    def _see(self, p: Mapping[str, Any], key: str) -> None:
        self._seen.add(key)
        self._seen_rows.add(self._enc.rows([p])[0].tobytes())

    def _propose(self, p: dict[str, Any], attrs: dict[str, Any]) -> None:
        key = params_key(p)
        self._see(p, key)
        self._pending[key] = p
        self._attrs[key] = attrs

    def _feasible(self, p: dict[str, Any]) -> bool:
        return constraint_allows(self.constraint, p)

    def _design_point(self) -> dict[str, Any] | None:
        """The next point of the initial design not seen yet (a random point once the design is used up)."""
        if self._design is None:
            self._design = self._enc.latin_hypercube(self.n_initial_points, [self._base, 3])
        while self._design:
            p = self._design.pop(0)
            if params_key(p) not in self._seen and self._feasible(p):
                return p
        return self._random_point()

    def _random_point(self, rng: np.random.Generator | None = None) -> dict[str, Any] | None:
        """The next seeded random point not seen (feasible when possible within a few hundred draws), drawn from
        ``rng`` (default: the generator of the initial design)."""
        rng = self._design_rng if rng is None else rng
        if self.exhausted:
            return None
        if self._finite and self.space.cardinality - len(self._seen) <= 64:
            left = [p for p in self.space.grid() if params_key(p) not in self._seen]
            ok = [p for p in left if self._feasible(p)] or left
            return ok[int(rng.integers(len(ok)))]
        fallback = None
        for _ in range(500):
            p = self.space.sample(rng)
            if params_key(p) in self._seen:
                continue
            if self._feasible(p):
                return p
            fallback = fallback or p
        return fallback

    # ------------------------------------------------------------------ surrogate
    def _pruned_stand_ins(self, full: np.ndarray) -> tuple[Callable[[float], float], float]:
        """Map a minimised quick value to a pessimistic full-scale value; also the residual variance (raw units)."""
        cap = float(np.median(full))
        pairs = [(q, y) for q, y, k in zip(self._quick, self._y, self._kind) if k == "full" and q is not None]
        if len(pairs) < 3:
            return (lambda q: cap), math.inf
        qs, ys = np.array(pairs, dtype=float).T
        if qs.std() > 0:
            slope = max(0.0, float(np.cov(qs, ys, bias=True)[0, 1] / qs.var()))
        else:
            slope = 0.0
        icpt = float(ys.mean() - slope * qs.mean())
        resid = float(np.mean((ys - (icpt + slope * qs)) ** 2))
        return (lambda q: max(icpt + slope * q, cap)), resid

    def surrogate_data(self) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray] | None:
        """What the GP is fitted to: the told points, their transformed targets and per-point noise variances.

        Targets are minimised and transformed (``output_transform``); failed and infeasible points stand at the
        worst full-fidelity value, pruned points at their stand-in (module docstring). Noise variances are in
        units of the transformed targets: told ``noise_var`` over the variance of the raw values seen, floored at
        :data:`NOISE_FLOOR`; pruned stand-ins' as documented; 0 elsewhere (the fitted common noise applies to
        every point). Points come in a canonical order (sorted by their keys).

        Returns:
            ``(points, targets, noise)``, or ``None`` while fewer than two full-fidelity values are known.
        """
        full = np.array([y for y, k in zip(self._y, self._kind) if k == "full"], dtype=float)
        if len(full) < 2:
            return None
        worst = float(full.max())
        stand_in, resid = (None, 0.0)
        if "pruned" in self._kind:
            stand_in, resid = self._pruned_stand_ins(full)
        raw = np.empty(len(self._X))
        for i, (y, k, q) in enumerate(zip(self._y, self._kind, self._quick)):
            if k == "full":
                raw[i] = y  # type: ignore[assignment]
            elif k == "pruned" and stand_in is not None and q is not None:
                raw[i] = stand_in(q)
            else:
                raw[i] = worst
        var = float(raw.var())
        scale = var if var > 0 else 1.0
        if self.output_transform == "rank":
            z = _normal_scores(raw)
        else:
            z = (raw - raw.mean()) / math.sqrt(scale)
        alpha = np.zeros(len(raw))
        for i, (k, nv) in enumerate(zip(self._kind, self._noise)):
            if k == "full" and not math.isnan(nv):
                alpha[i] = max(nv / scale, NOISE_FLOOR)
            elif k == "pruned":
                alpha[i] = 1.0 if not math.isfinite(resid) else max(resid / scale, PRUNED_NOISE_FLOOR)
        order = sorted(range(len(self._X)), key=self._keys.__getitem__)
        return [self._X[i] for i in order], z[order], alpha[order]

    def fit_surrogate(self, data: tuple[list[dict[str, Any]], np.ndarray, np.ndarray] | None = None) -> _GP | None:
        """Fit (or reuse, see :data:`REFIT_GROWTH`) the kernel hyperparameters to :meth:`surrogate_data`.

        Returns:
            The GP (``None`` while :meth:`surrogate_data` is ``None`` or the space has no free dimension).
        """
        data = self.surrogate_data() if data is None else data
        if data is None or self._enc.width == 0:
            return None
        points, z, alpha = data
        n = len(points)
        if self._gp is None or n >= self._gp_n * (1.0 + REFIT_GROWTH):
            idx = np.arange(n)
            if n > MAX_FIT_POINTS:
                sub = np.random.default_rng([self._base, 2, n])
                idx = np.sort(sub.choice(n, MAX_FIT_POINTS, replace=False))
            Xt = self._enc.transform([points[i] for i in idx])
            starts = [_GP.default_theta(Xt.shape[1])]
            if self._gp is not None:
                starts.insert(0, self._gp.theta)
            self._gp = _GP.fit(Xt, z[idx], alpha[idx], starts)
            self._gp_n = n
        return self._gp

    def _model_batch(self, n: int) -> list[dict[str, Any]]:
        t0 = time.perf_counter()
        # positions k (counted over all points told or proposed) with floor((k + 1) * share) > floor(k * share)
        # get a random point: an even spread of ``random_share`` of the proposals
        base, share = len(self._X) + len(self._pending), self.random_share
        n_rand = sum(1 for k in range(base, base + n) if math.floor((k + 1) * share) > math.floor(k * share))
        with _one_blas_thread():
            out = self._model_batch_serial(n - n_rand) if n - n_rand else []
        out += self._random_batch(n - len(out), np.random.default_rng([self._base, 4, base]))
        self.last_ask_s = time.perf_counter() - t0
        return out

    def _random_batch(self, n: int, rng: np.random.Generator | None = None) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            p = self._random_point(rng)
            if p is None:
                break
            self._propose(p, {"phase": "bo", "acquisition": "random"})
            out.append(p)
        return out

    def _training(self) -> tuple[_GP, np.ndarray, np.ndarray, np.ndarray] | None:
        """The fitted GP, encoded training points, targets and each point's total noise variance (fitted common
        noise plus its own, see :meth:`surrogate_data`); ``None`` before the surrogate can be fitted."""
        data = self.surrogate_data()
        gp = self.fit_surrogate(data)
        if gp is None or data is None:
            return None
        points, z, alpha = data
        return gp, self._enc.transform(points), z, gp.noise + alpha

    def predict(self, points: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the surrogate at ``points``.

        Both are in the units of :meth:`surrogate_data`'s targets (minimised and transformed), from the GP the next
        round would use, without the points still pending.

        Raises:
            ValueError: fewer than two full-fidelity values have been told.
        """
        with _one_blas_thread():
            tr = self._training()
            if tr is None:
                raise ValueError("the surrogate needs at least two complete full-fidelity values")
            gp, X, z, noise = tr
            post = _Batch(gp, X, z, noise, self._enc.transform(points))
            return post.mu, post.sd

    def _model_batch_serial(self, n: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng([self._base, 1, len(self._X)])
        tr = self._training()
        if tr is None:
            return self._random_batch(n)
        gp, X, z, noise = tr
        y_best = float(z.min())
        lie = y_best
        if self._pending:
            Xp = self._enc.transform(list(self._pending.values()))
            X = np.vstack([X, Xp])
            z = np.concatenate([z, np.full(len(Xp), lie)])
            noise = np.concatenate([noise, np.full(len(Xp), gp.noise)])
        R, Xc = self._candidates(rng)
        if not len(R):
            return self._random_batch(n)
        batch = _Batch(gp, X, z, noise, Xc)
        acq = self._choose_acquisition(batch, gp, X, z, noise, y_best, rng)
        taken = np.zeros(len(R), dtype=bool)
        local = self._near_incumbent(R) if self.local_picks and (n > 1 or len(self._X) % 2) else None
        out: list[dict[str, Any]] = []
        check = self.constraint is not None and self._grid is None  # grid candidates are filtered already
        infeasible: list[int] = []
        while len(out) < n and not taken.all():
            here = local is not None and not out and bool((local & ~taken).any())
            score = acq.score(batch.mu, batch.sd, y_best)
            score[taken] = -np.inf
            if here:
                score[~local] = -np.inf
            j = int(np.argmax(score))
            taken[j] = True
            p = self._enc.point(R[j])
            if params_key(p) in self._seen:
                continue
            if check and not self._feasible(p):
                infeasible.append(j)
                continue
            self._propose(p, {"phase": "bo", **acq.attrs(), **({"local": True} if here else {})})
            out.append(p)
            batch.condition(j, lie)
        for j in infeasible[: n - len(out)] if not out else []:  # nothing feasible left: let the study record them
            p = self._enc.point(R[j])
            self._propose(p, {"phase": "bo", **acq.attrs()})
            out.append(p)
        return out

    def _near_incumbent(self, R: np.ndarray) -> np.ndarray | None:
        """Which candidate rows are neighbours of the best point: at most one step away in every numeric
        dimension (5 % of the range for a continuous one) with the same categories, or differing in one category
        only."""
        done = [(y, i) for i, y in enumerate(self._y) if y is not None]
        if not done or not len(R):
            return None
        best = self._enc.rows([self._X[min(done)[1]]])[0]
        diff = np.abs(R - best)
        numeric = np.array([k != "cat" for k, *_ in self._enc.specs], dtype=bool)
        tol = np.array([max((hi - lo) * LOCAL_BOX, 0.0 if k == "real" else 1.0) for k, lo, hi, *_ in self._enc.specs])
        near = (diff[:, numeric] <= tol[numeric] + 1e-12).all(1)
        same_cat = (diff[:, ~numeric] == 0).all(1)
        one_cat = ((diff[:, ~numeric] != 0).sum(1) == 1) & (diff[:, numeric] == 0).all(1)
        mask = (near & same_cat) | one_cat
        return mask if mask.any() else None

    def _grid_candidates(self) -> tuple[np.ndarray, np.ndarray]:
        if self._grid is None:
            R = self._enc.grid_rows()
            index = {r.tobytes(): i for i, r in enumerate(R)}
            feasible = None
            if self.constraint is not None:
                feasible = np.array([self._feasible(self._enc.point(r)) for r in R])
            self._grid = (R, self._enc.encode(R), index, feasible)
        R, U, index, feasible = self._grid
        free = np.ones(len(R), dtype=bool)
        for row in self._seen_rows:
            i = index.get(row)
            if i is not None:
                free[i] = False
        if feasible is not None and (free & feasible).any():
            free &= feasible
        idx = np.flatnonzero(free)
        return R[idx], U[idx]

    def _candidates(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Row values and encodings of new points at which to evaluate the acquisition (none seen before).

        Finite spaces of up to ``4 * n_candidates`` points: every point not seen. Otherwise ``n_candidates`` random
        points plus 120 local perturbations of each of the 5 best points (Gaussian steps of 2, 5 and 15 % of each
        numeric range in the encoded space, each categorical switched with probability 0.2).
        """
        m = self.n_candidates
        if self._finite and self.space.cardinality <= 4 * m:
            return self._grid_candidates()
        enc = self._enc
        parts = [enc.sample(rng, m)]
        done = sorted((y, i) for i, y in enumerate(self._y) if y is not None)[:5]
        if done:
            base = enc.transform([self._X[i] for _, i in done])
            numeric = np.zeros(enc.width, dtype=bool)
            c = 0
            for kind, _lo, _hi, _log, width in enc.specs:
                numeric[c: c + width] = kind != "cat"
                c += width
            for scale in (0.02, 0.05, 0.15):
                U = np.repeat(base, 40, axis=0)
                U[:, numeric] += rng.normal(0.0, scale, (len(U), int(numeric.sum())))
                U = np.abs(U)
                U = np.where(U > 1.0, 2.0 - U, U)  # reflect at the bounds
                R = enc.decode(U)
                for j, (kind, _lo, hi, _log, _w) in enumerate(enc.specs):
                    if kind == "cat":
                        k = int(hi) + 1
                        switch = rng.random(len(R)) < 0.2
                        shift = rng.integers(1, k, len(R))
                        R[switch, j] = (R[switch, j] + shift[switch]) % k
                parts.append(R)
        R = np.unique(np.vstack(parts), axis=0)
        R = np.ascontiguousarray(R)
        keep = np.array([r.tobytes() not in self._seen_rows for r in R], dtype=bool)
        R = R[keep]
        return R, enc.encode(R)

    def _choose_acquisition(self, batch: _Batch, gp: _GP, X: np.ndarray, z: np.ndarray, noise: np.ndarray,
                            y_best: float, rng: np.random.Generator) -> Acquisition:
        if self.acquisition in _FIXED:
            return _FIXED[self.acquisition]
        if self.acquisition == "auto":
            return AUTO_LADDER[self.auto_level()]
        # gp_hedge: reward each acquisition by how good the surrogate now thinks its last choice was
        if self._hedge_prev is not None:
            self._hedge_gains -= _Batch(gp, X, z, noise, self._hedge_prev).mu
        self._hedge_prev = np.vstack([batch.Xc[int(np.argmax(_FIXED[a].score(batch.mu, batch.sd, y_best)))]
                                      for a in _HEDGE])
        logits = self._hedge_gains - self._hedge_gains.max()
        probs = np.exp(logits) / np.exp(logits).sum()
        return _FIXED[_HEDGE[int(rng.choice(len(_HEDGE), p=probs))]]

    def auto_level(self) -> int:
        """The current rung of :data:`AUTO_LADDER`, recomputed from the told history.

        Starting at :data:`AUTO_START`, every ``batch_size`` told trials after the initial design one window is
        judged: the best value of the last ``window`` trials against the best before them, relative to the range
        of values seen; below ``stall_threshold`` -> one rung toward exploration, otherwise one toward exploitation.
        Only full-fidelity values count.
        """
        level = AUTO_START
        ys = self._y
        k = max(self.n_initial_points, self.window) + self.batch_size
        while k <= len(ys):
            before = [v for v in ys[: k - self.window] if v is not None]
            recent = [v for v in ys[k - self.window: k] if v is not None]
            if before:
                seen = before + recent
                spread = max(seen) - min(seen)
                gain = (min(before) - min(recent)) if recent else 0.0
                rel = gain / spread if spread > 0 else 0.0
                level = min(level + 1, len(AUTO_LADDER) - 1) if rel < self.stall_threshold else max(level - 1, 0)
            k += self.batch_size
        return level


def check_arguments(*, acquisition: str = "auto", batch_size: int = 1, n_initial_points: int | None = None,
                    patience: int | None = None, tol: float = 0.0, window: int | None = None) -> None:
    """Validate the options shared by :class:`BayesSearch` and ``Cerebro.optimize_bayes``.

    Raises:
        SpaceError: an option is out of range; the message names the fix.
    """
    if acquisition not in ACQUISITIONS:
        raise SpaceError(f"acquisition={acquisition!r}: use one of {', '.join(map(repr, ACQUISITIONS))}")
    for name, v, allow_none in (("batch_size", batch_size, False), ("n_initial_points", n_initial_points, True),
                                ("patience", patience, True), ("window", window, True)):
        if v is None and allow_none:
            continue
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise SpaceError(f"{name}={v!r}: give a positive whole number" + (" or None" if allow_none else ""))
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (tol >= 0 and math.isfinite(tol)):
        raise SpaceError(f"tol={tol!r}: give a number >= 0 (the smallest improvement that resets patience)")
