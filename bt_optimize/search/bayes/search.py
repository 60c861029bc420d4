"""The :class:`BayesSearch` class and its argument checks (the method: :mod:`bt_optimize.search.bayes`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ...exceptions import SpaceError
from ...space import Space, params_key
from ...trial import Trial, TrialState
from ..base import Search, constraint_allows, pick_unseen
from ..encoding import Encoder
from .acquisition import ACQUISITIONS, HEDGE, STALL_THRESHOLD
from .gp import GP
from .parzen import ParzenProposer
from .rounds import SurrogateRounds
from .targets import OUTPUT_TRANSFORMS

__all__ = ["BayesSearch", "default_n_initial_points", "default_parzen_share", "default_window",
           "fold_noise", "check_arguments"]

Constraint = Callable[[dict[str, Any]], bool]

def default_n_initial_points(n_dims: int, batch_size: int) -> int:
    """Random points before the surrogate is used: ``max(2 * batch_size, min(10, 2 * n_dims + 2))``.

    (Five points won on the search suite's tune half but lost on its holdout half at 10 % and 20 trials, so this
    default stays; see ``docs/benchmarks_suite.md``.)
    """
    return max(2 * batch_size, min(10, 2 * n_dims + 2))


def default_parzen_share(space: Space) -> float:
    """Share of the proposals after the initial design made by the density-ratio proposer (:mod:`.parzen`):
    ``0.5`` on a finite space (a grid), ``0`` on a space with a continuous dimension.

    On the search suite's grids (``docs/benchmarks_suite.md``) half the proposals from it, half from the GP, beat
    the GP alone on both the tune and the holdout half (plateaus, steps and optima on an edge); on a smooth
    continuous function the GP alone did better (``tests/search/test_bayes.py``), so it is off there.
    """
    return 0.5 if space.is_finite else 0.0


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


class BayesSearch(SurrogateRounds, Search):
    """Gaussian-process Bayesian optimisation behind ask/tell.

    The first ``n_initial_points`` proposals are ``initial_points`` (in the order given) followed by the points of a
    seeded Latin hypercube (random points once it is used up or already seen); later ones maximise the acquisition
    of a GP fitted to every told value. ``ask(n)`` returns a batch of ``n`` distinct new points at the cost of one
    posterior factorisation (see the module docstring).

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
        local_picks: Take the first of the GP's points in each round from near the incumbent (module docstring).
        random_share: Share of the proposals after the initial design that are uniform random points, in ``[0, 1)``.
        parzen_share: Share of the proposals after the initial design made by the density-ratio proposer
            (:mod:`~bt_optimize.search.bayes.parzen`, recorded ``acquisition="parzen"``), in ``[0, 1]``; ``None``:
            :func:`default_parzen_share` (half on a finite space, none on a continuous one).

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
                 output_transform: str = "rank", local_picks: bool = True, random_share: float = 0.125,
                 parzen_share: float | None = None) -> None:
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
        if parzen_share is None:
            parzen_share = default_parzen_share(space)
        if isinstance(parzen_share, bool) or not isinstance(parzen_share, (int, float)) or not 0 <= parzen_share <= 1:
            raise ValueError(f"parzen_share={parzen_share!r}: give a share of the proposals in [0, 1], or None")
        self.parzen_share = float(parzen_share)
        self._sign = -1.0 if self.maximize else 1.0
        self._base = int(seed) if seed is not None else int(self.rng.integers(2**31))
        self._design_rng = np.random.default_rng([self._base, 0])
        self._enc = Encoder(space)
        self._parzen = ParzenProposer(self._enc)
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
        self._hedge_gains = np.zeros(len(HEDGE))
        self._hedge_prev: np.ndarray | None = None
        self._gp: GP | None = None
        self._gp_n = 0
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
        return pick_unseen((self.space.sample(rng) for _ in range(500)), self._seen, self._feasible)


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
