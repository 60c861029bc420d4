"""Bayesian optimisation with a Gaussian-process surrogate: cheap batches, adaptive acquisition, no duplicates.

This is the only module of bt_optimize that imports scikit-optimize. It borrows skopt's dimension transforms
(``normalize_dimensions``) and its tuned GP (``cook_estimator("GP")``: a constant times a Matern-5/2 kernel with a
length scale per transformed dimension, plus fitted Gaussian noise), and does the rest itself:

- **Cheap batches.** The GP hyperparameters are fitted once per round. The points of a batch are then chosen one
  after the other, each time conditioning the posterior on the points already chosen (and on any point still
  running) with the *fixed* kernel and a constant lie (the best value seen: skopt's ``"cl_min"``). Conditioning is a
  Cholesky update of at most a few hundred rows, so a round of four costs one fit plus milliseconds, where skopt's
  ``Optimizer.ask(n_points=4)`` refits the kernel hyperparameters for every lie. See ``docs/benchmarks_bayes.md``.
- **Acquisition over a candidate set.** The acquisition is maximised over ``n_candidates`` random points plus local
  perturbations of the best points; in a discrete space with few points left, over every point not yet seen.
- **No duplicates.** A point already told or proposed is never proposed again (keys from
  :func:`~bt_optimize.space.params_key`): when the acquisition's best is taken, the next best candidate is used.
  A finite space is exhausted when every point has been proposed.
- **Failed and infeasible points** (told with ``value=None``) enter the surrogate with the worst complete value
  seen at fitting time, so proposals move away from them.
- **Direction.** Values are minimised internally (negated when ``maximize``) and standardised before fitting;
  ``xi`` and ``kappa`` are therefore in units of the standard deviation of the values seen.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.stats import norm
from skopt.space import Categorical, Integer
from skopt.space import Real as SkReal
from skopt.utils import cook_estimator, normalize_dimensions
from threadpoolctl import threadpool_limits

from ..exceptions import SpaceError
from ..space import Cat, Int, Real, Space, params_key
from ..trial import TrialState
from .base import Search
from .refine import perturb

__all__ = ["BayesSearch", "Acquisition", "ACQUISITIONS", "AUTO_LADDER", "AUTO_START", "STALL_THRESHOLD",
           "default_n_initial_points", "default_window"]

Constraint = Callable[[dict[str, Any]], bool]

#: Accepted values of ``acquisition``.
ACQUISITIONS = ("auto", "EI", "PI", "LCB", "gp_hedge")

#: Relative improvement (of the best value, as a share of the range of values seen) below which ``"auto"`` calls
#: the last window stalled.
STALL_THRESHOLD = 0.01


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
#: exploitation after a window that improved; it never leaves the ladder.
AUTO_LADDER: tuple[Acquisition, ...] = (
    Acquisition("PI", xi=0.001),
    Acquisition("EI", xi=0.001),
    Acquisition("EI", xi=0.01),
    Acquisition("EI", xi=0.1),
    Acquisition("LCB", kappa=1.96),
    Acquisition("LCB", kappa=4.0),
)
AUTO_START = 2

_FIXED = {"EI": Acquisition("EI", xi=0.01), "PI": Acquisition("PI", xi=0.01), "LCB": Acquisition("LCB", kappa=1.96)}
_HEDGE = ("EI", "PI", "LCB")


def default_n_initial_points(n_dims: int, batch_size: int) -> int:
    """Random points before the surrogate is used: ``max(2 * batch_size, min(10, 2 * n_dims + 2))``."""
    return max(2 * batch_size, min(10, 2 * n_dims + 2))


def default_window(batch_size: int) -> int:
    """Trials per window of the ``"auto"`` acquisition: ``max(5, 2 * batch_size)`` (about two rounds)."""
    return max(5, 2 * batch_size)


class _Encoder:
    """Maps points of a :class:`Space` to skopt's transformed (``[0, 1]``, one-hot) representation.

    Fixed dimensions (one value) are left out. Stepped ``Int``/``Real`` become skopt ``Integer`` over their step
    indices, log dimensions keep a log-uniform prior (so the GP sees them in log space), ``Cat`` becomes a
    ``Categorical`` over choice indices (one-hot when it has more than two choices).
    """

    def __init__(self, space: Space) -> None:
        self.space = space
        self.names = [n for n in space.names if space[n].cardinality != 1]
        dims: list[Any] = []
        for n in self.names:
            d = space[n]
            if isinstance(d, Cat):
                dims.append(Categorical(list(range(len(d.choices)))))
            elif isinstance(d, Int) and d.step == 1:
                dims.append(Integer(d.low, d.high, prior="log-uniform" if d.log else "uniform"))
            elif isinstance(d, Real) and d.step is None:
                dims.append(SkReal(d.low, d.high, prior="log-uniform" if d.log else "uniform"))
            else:
                dims.append(Integer(0, int(d.cardinality) - 1))
        self.sk = normalize_dimensions(dims) if dims else None

    def _row(self, p: Mapping[str, Any]) -> list[Any]:
        row: list[Any] = []
        for n in self.names:
            d, v = self.space[n], p[n]
            if isinstance(d, Cat):
                row.append(d.index(v))
            elif isinstance(d, Int):
                row.append(int(v) if d.step == 1 else (int(v) - d.low) // d.step)
            elif d.step is None:
                row.append(float(v))
            else:
                row.append(int(round((float(v) - d.low) / d.step)))
        return row

    def transform(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The transformed matrix of ``points`` (one row per point)."""
        if self.sk is None:
            return np.zeros((len(points), 0))
        return np.asarray(self.sk.transform([self._row(p) for p in points]), dtype=float)


class _Posterior:
    """GP posterior with a fixed (already fitted) kernel; conditioning on one more point is cheap."""

    def __init__(self, kernel: Any, noise: float, X: np.ndarray, y: np.ndarray) -> None:
        self.kernel, self.noise = kernel, noise
        self.X, self.y = X, y
        self.K = kernel(X) + noise * np.eye(len(X))
        self.Xc: np.ndarray | None = None
        self.C: np.ndarray | None = None
        self.diag: np.ndarray | None = None

    def set_candidates(self, Xc: np.ndarray) -> None:
        self.Xc, self.C, self.diag = Xc, self.kernel(Xc, self.X), self.kernel.diag(Xc)

    def add(self, x: np.ndarray, y: float) -> None:
        x = x.reshape(1, -1)
        k = self.kernel(self.X, x)
        kxx = self.kernel(x) + self.noise
        self.K = np.block([[self.K, k], [k.T, kxx]])
        self.X = np.vstack([self.X, x])
        self.y = np.append(self.y, y)
        if self.Xc is not None:
            self.C = np.hstack([self.C, self.kernel(self.Xc, x)])

    def predict(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation at the candidates."""
        jitter = 1e-10
        while True:
            try:
                L = cholesky(self.K + jitter * np.eye(len(self.K)), lower=True)
                break
            except np.linalg.LinAlgError:
                jitter *= 100
                if jitter > 1.0:
                    raise
        alpha = cho_solve((L, True), self.y)
        mu = self.C @ alpha
        v = solve_triangular(L, self.C.T, lower=True)
        var = self.diag - np.einsum("ij,ij->j", v, v)
        return mu, np.sqrt(np.maximum(var, 1e-12))


class BayesSearch(Search):
    """Gaussian-process Bayesian optimisation behind ask/tell.

    The first ``n_initial_points`` proposals are ``initial_points`` (in the order given) followed by seeded random
    points; later ones maximise the acquisition of a GP fitted to every told value. ``ask(n)`` returns a batch of
    ``n`` distinct new points at the cost of one GP fit (see the module docstring).

    Acquisition ``"auto"`` (the default) adapts along :data:`AUTO_LADDER`: it starts with EI (``xi=0.01``) and,
    every ``batch_size`` trials after the initial design, compares the best value of the last ``window`` trials
    with the best before them. A relative improvement (as a share of the range of values seen) below
    ``stall_threshold`` moves one rung toward exploration (larger ``xi``, then LCB with ``kappa`` 1.96 and 4);
    anything better moves one rung toward exploitation (smaller ``xi``, then PI). The rung is recomputed from the
    told history, so a resumed study uses the rung the uninterrupted one would. ``"EI"``, ``"PI"``, ``"LCB"`` use
    fixed parameters (``xi=0.01``, ``kappa=1.96``); ``"gp_hedge"`` picks one of them per round with probabilities
    that favour those whose past proposals the surrogate now rates best (as in skopt).

    Every proposal's acquisition and parameters are kept; :meth:`attrs_for` returns them (pass it as
    ``user_attrs`` to :meth:`~bt_optimize.study.Study.optimize` to record them with the trials).

    Args:
        space: The space to search.
        seed: Seed of the initial design and of every round (rounds draw from a generator derived from ``seed`` and
            the number of points told, so a resumed study continues as the uninterrupted one would).
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
            perturbations of the best points).
        constraint: Optional ``callable(params) -> bool``; candidates where it is false are not proposed (the study
            still checks every point).

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
                 n_candidates: int = 2000, constraint: Constraint | None = None) -> None:
        super().__init__(space, seed)
        check_arguments(acquisition=acquisition, batch_size=batch_size, n_initial_points=n_initial_points,
                        patience=patience, tol=tol, window=window)
        if not (isinstance(n_candidates, int) and n_candidates >= 10):
            raise ValueError(f"n_candidates={n_candidates!r}: give a whole number >= 10")
        if not (isinstance(stall_threshold, (int, float)) and stall_threshold >= 0):
            raise ValueError(f"stall_threshold={stall_threshold!r}: give a number >= 0")
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
        self._sign = -1.0 if self.maximize else 1.0
        self._base = int(seed) if seed is not None else int(self.rng.integers(2**31))
        self._design_rng = np.random.default_rng([self._base, 0])
        self._enc = _Encoder(space)
        self._finite = space.is_finite
        # told history, in tell order: (params, minimised value or None)
        self._X: list[dict[str, Any]] = []
        self._y: list[float | None] = []
        self._seen: set[str] = set()
        self._pending: dict[str, dict[str, Any]] = {}
        self._attrs: dict[str, dict[str, Any]] = {}
        self._n_proposed_design = 0
        self._best: float | None = None
        self._since_best = 0
        self._hedge_gains = np.zeros(len(_HEDGE))
        self._hedge_prev: list[np.ndarray] | None = None
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
    def tell(self, params: dict[str, Any], value: float | None, state: TrialState = TrialState.COMPLETE) -> None:
        """Record a result (``value=None``: failed or infeasible; it counts as the worst value seen)."""
        key = params_key(params)
        self._seen.add(key)
        self._pending.pop(key, None)
        y = None if value is None or not math.isfinite(value) else self._sign * float(value)
        self._X.append(dict(params))
        self._y.append(y)
        if state is TrialState.INFEASIBLE:
            return
        if y is not None and (self._best is None or y < self._best - self.tol):
            self._since_best = 0
        elif self._best is not None:
            self._since_best += 1
        if y is not None and (self._best is None or y < self._best):
            self._best = y
        if self.patience is not None and self._since_best >= self.patience:
            self.stop_reason = "patience"

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
            p = self._random_point()
            if p is None:
                break
            self._propose(p, {"phase": "bo", "acquisition": "random"})
            out.append(p)
        if len(out) < n and not self.exhausted:
            out.extend(self._model_batch(n - len(out)))
        return out

    def _propose(self, p: dict[str, Any], attrs: dict[str, Any]) -> None:
        key = params_key(p)
        self._seen.add(key)
        self._pending[key] = p
        self._attrs[key] = attrs

    def _feasible(self, p: dict[str, Any]) -> bool:
        if self.constraint is None:
            return True
        try:
            return bool(self.constraint(dict(p)))
        except Exception:  # noqa: BLE001 - the study reports a raising constraint; here it only filters
            return True

    def _random_point(self) -> dict[str, Any] | None:
        """The next seeded random point not seen (feasible when possible within a few hundred draws)."""
        if self.exhausted:
            return None
        if self._finite and self.space.cardinality - len(self._seen) <= 64:
            left = [p for p in self.space.grid() if params_key(p) not in self._seen]
            ok = [p for p in left if self._feasible(p)] or left
            return ok[int(self._design_rng.integers(len(ok)))]
        fallback = None
        for _ in range(500):
            p = self.space.sample(self._design_rng)
            if params_key(p) in self._seen:
                continue
            if self._feasible(p):
                return p
            fallback = fallback or p
        return fallback

    def _history(self) -> tuple[list[dict[str, Any]], np.ndarray] | None:
        """Told points with failed/infeasible ones at the worst complete value; ``None`` with < 2 values."""
        done = [y for y in self._y if y is not None]
        if len(done) < 2:
            return None
        worst = max(done)
        return self._X, np.array([worst if y is None else y for y in self._y], dtype=float)

    def _model_batch(self, n: int) -> list[dict[str, Any]]:
        # the matrices are small (hundreds of rows): a multi-threaded BLAS only adds overhead, often 10-100x
        with threadpool_limits(limits=1, user_api="blas"):
            return self._model_batch_serial(n)

    def _model_batch_serial(self, n: int) -> list[dict[str, Any]]:
        hist = self._history()
        rng = np.random.default_rng([self._base, 1, len(self._X)])
        if hist is None or self._enc.sk is None:
            out = []
            for _ in range(n):
                p = self._random_point()
                if p is None:
                    break
                self._propose(p, {"phase": "bo", "acquisition": "random"})
                out.append(p)
            return out
        X, y = hist
        mean, std = float(y.mean()), float(y.std())
        ys = (y - mean) / (std if std > 0 else 1.0)
        Xt = self._enc.transform(X)
        gp = cook_estimator("GP", space=self._enc.sk, random_state=int(rng.integers(2**31)), noise="gaussian")
        gp.set_params(normalize_y=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter of the kernel optimiser
            gp.fit(Xt, ys)
        post = _Posterior(gp.kernel_, float(gp.noise_ or 0.0), Xt, ys)
        y_best = float(ys.min())
        lie = y_best
        if self._pending:
            pend = list(self._pending.values())
            for row in self._enc.transform(pend):
                post.add(row, lie)
        cands = self._candidates(rng, X, y)
        if not cands:
            return []
        Xc = self._enc.transform(cands)
        post.set_candidates(Xc)
        acq = self._choose_acquisition(post, rng)
        taken = np.zeros(len(cands), dtype=bool)
        out = []
        for _ in range(min(n, len(cands))):
            mu, sd = post.predict()
            score = acq.score(mu, sd, y_best)
            score[taken] = -np.inf
            j = int(np.argmax(score))
            if taken[j]:
                break
            taken[j] = True
            self._propose(cands[j], {"phase": "bo", **acq.attrs()})
            out.append(cands[j])
            post.add(Xc[j], lie)
        return out

    def _candidates(self, rng: np.random.Generator, X: list[dict[str, Any]], y: np.ndarray) -> list[dict[str, Any]]:
        """New points at which to evaluate the acquisition (never one already seen)."""
        m = self.n_candidates
        if self._finite and self.space.cardinality <= 4 * m:
            pool = list(self.space.grid())
        else:
            cols = [d.sample(rng, m) for d in self.space.dims.values()]
            pool = [dict(zip(self.space.names, vals)) for vals in zip(*cols)]
            order = np.argsort(y, kind="stable")[:5]
            for i in order:
                for scale in (0.02, 0.05, 0.15):
                    pool.extend(perturb(self.space, X[int(i)], rng, scale) for _ in range(40))
        out, keys = [], set(self._seen)
        for p in pool:
            k = params_key(p)
            if k not in keys:
                keys.add(k)
                out.append(p)
        if self.constraint is not None:
            ok = [p for p in out if self._feasible(p)]
            out = ok or out
        return out

    def _choose_acquisition(self, post: _Posterior, rng: np.random.Generator) -> Acquisition:
        if self.acquisition in _FIXED:
            return _FIXED[self.acquisition]
        if self.acquisition == "auto":
            return AUTO_LADDER[self.auto_level()]
        # gp_hedge: reward each acquisition by how good the surrogate now thinks its last choice was
        mu_c, _ = post.predict()
        if self._hedge_prev is not None:
            saved = post.Xc, post.C, post.diag
            post.set_candidates(np.vstack(self._hedge_prev))
            mu, _ = post.predict()
            self._hedge_gains -= mu
            post.Xc, post.C, post.diag = saved
        _, sd_c = post.predict()
        y_best = float(post.y.min())
        self._hedge_prev = [post.Xc[int(np.argmax(_FIXED[a].score(mu_c, sd_c, y_best)))] for a in _HEDGE]
        logits = self._hedge_gains - self._hedge_gains.max()
        probs = np.exp(logits) / np.exp(logits).sum()
        return _FIXED[_HEDGE[int(rng.choice(len(_HEDGE), p=probs))]]

    def auto_level(self) -> int:
        """The current rung of :data:`AUTO_LADDER`, recomputed from the told history.

        Starting at :data:`AUTO_START`, every ``batch_size`` told trials after the initial design one window is
        judged: the best value of the last ``window`` trials against the best before them, relative to the range
        of values seen; below ``stall_threshold`` -> one rung toward exploration, otherwise one toward exploitation.
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
