"""The surrogate rounds of :class:`~bt_optimize.search.bayes.BayesSearch`: fitting the GP to the told history,
building candidate sets and choosing a batch by the acquisition (a mixin over the search's state)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...space import params_key
from .acquisition import AUTO_LADDER, FIXED, HEDGE, Acquisition, auto_level
from .candidates import near_incumbent, perturbed_candidates
from .gp import GP, Batch, one_blas_thread
from .targets import surrogate_targets

__all__ = ["SurrogateRounds", "MAX_FIT_POINTS", "REFIT_GROWTH"]

#: Largest number of points the kernel hyperparameters are fitted to (a seeded random subset beyond it); the
#: posterior always conditions on every point.
MAX_FIT_POINTS = 200

#: The kernel hyperparameters are refitted once the number of told points has grown by this share since the last
#: fit (and at the first round); in between, rounds reuse them and only condition on the new points.
REFIT_GROWTH = 0.1


def _spread(base: int, n: int, share: float) -> int:
    """How many of the positions ``base .. base + n - 1`` fall on an even spread of ``share`` of all positions
    (those ``k`` where ``floor((k + 1) * share) > floor(k * share)``)."""
    return sum(1 for k in range(base, base + n) if math.floor((k + 1) * share) > math.floor(k * share))


class SurrogateRounds:
    """Surrogate-driven proposals; mixed into :class:`~bt_optimize.search.bayes.BayesSearch`, whose state
    (``_X``, ``_y``, ``_kind``, ``_seen``, ...) it reads and whose ``_propose`` records what it proposes."""

    # ------------------------------------------------------------------ surrogate
    def surrogate_data(self) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray] | None:
        """What the GP is fitted to: the told points, their transformed targets and per-point noise variances.

        Targets are minimised and transformed (``output_transform``); failed and infeasible points stand at the
        worst full-fidelity value, pruned points at their stand-in (:func:`~.targets.surrogate_targets`). Noise
        variances are in units of the transformed targets: told ``noise_var`` over the variance of the raw values
        seen, floored at :data:`NOISE_FLOOR`; pruned stand-ins' as documented; 0 elsewhere (the fitted common noise
        applies to every point). Points come in a canonical order (sorted by their keys).

        Returns:
            ``(points, targets, noise)``, or ``None`` while fewer than two full-fidelity values are known.
        """
        out = surrogate_targets(self._y, self._kind, self._noise, self._quick, self.output_transform)
        if out is None:
            return None
        z, alpha = out
        order = sorted(range(len(self._X)), key=self._keys.__getitem__)
        return [self._X[i] for i in order], z[order], alpha[order]

    def fit_surrogate(self, data: tuple[list[dict[str, Any]], np.ndarray, np.ndarray] | None = None) -> GP | None:
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
            starts = [GP.default_theta(Xt.shape[1])]
            if self._gp is not None:
                starts.insert(0, self._gp.theta)
            self._gp = GP.fit(Xt, z[idx], alpha[idx], starts)
            self._gp_n = n
        return self._gp

    def _model_batch(self, n: int) -> list[dict[str, Any]]:
        # positions k (counted over all points told or proposed) with floor((k + 1) * share) > floor(k * share)
        # get a random point: an even spread of ``random_share`` of the proposals
        base = len(self._X) + len(self._pending)
        n_rand = _spread(base, n, self.random_share)
        n_parzen = min(n - n_rand, _spread(base, n, self.parzen_share))
        out = self._parzen_batch(n_parzen, np.random.default_rng([self._base, 5, base])) if n_parzen else []
        with one_blas_thread():
            out += self._model_batch_serial(n - n_rand - len(out)) if n - n_rand - len(out) else []
        out += self._random_batch(n - len(out), np.random.default_rng([self._base, 4, base]))
        return out

    def _parzen_batch(self, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
        """Up to ``n`` points of the density-ratio proposer (:mod:`.parzen`), from the full-fidelity values told
        (failed and infeasible points at the worst value; pruned points left out)."""
        # canonical order (by key), so ties on a plateau split the same way whatever order results arrived in
        idx = sorted((i for i, k in enumerate(self._kind) if k != "pruned"), key=self._keys.__getitem__)
        full = [self._y[i] for i in idx if self._y[i] is not None]
        if len(full) < 2:
            return []
        worst = max(full)  # type: ignore[type-var]
        y = np.array([worst if self._y[i] is None else self._y[i] for i in idx], dtype=float)
        R = self._enc.rows([self._X[i] for i in idx])
        out = []
        for row in self._parzen.propose(R, y, rng, self._seen_rows, n):
            p = self._enc.point(row)
            if params_key(p) in self._seen or not self._feasible(p):
                continue
            self._propose(p, {"phase": "bo", "acquisition": "parzen"})
            out.append(p)
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

    def _training(self) -> tuple[GP, np.ndarray, np.ndarray, np.ndarray] | None:
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
        with one_blas_thread():
            tr = self._training()
            if tr is None:
                raise ValueError("the surrogate needs at least two complete full-fidelity values")
            gp, X, z, noise = tr
            post = Batch(gp, X, z, noise, self._enc.transform(points))
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
        batch = Batch(gp, X, z, noise, Xc)
        acq = self._choose_acquisition(batch, gp, X, z, noise, y_best, rng)
        taken = np.zeros(len(R), dtype=bool)
        local = self._near_incumbent(R) if self.local_picks else None
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
        """Which candidate rows are neighbours of the best point (:func:`~.candidates.near_incumbent`)."""
        # ties (plateaus) broken by key, not by the order in which parallel results arrived
        done = sorted((y, self._keys[i], i) for i, y in enumerate(self._y) if y is not None)
        if not done:
            return None
        return near_incumbent(self._enc, R, self._enc.rows([self._X[done[0][2]]])[0])

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
        done = sorted((y, self._keys[i], i) for i, y in enumerate(self._y) if y is not None)[:5]
        best = self._enc.rows([self._X[i] for _, _, i in done]) if done else np.zeros((0, self._enc.n_free))
        return perturbed_candidates(self._enc, rng, m, best, self._seen_rows)

    def _choose_acquisition(self, batch: Batch, gp: GP, X: np.ndarray, z: np.ndarray, noise: np.ndarray,
                            y_best: float, rng: np.random.Generator) -> Acquisition:
        if self.acquisition in FIXED:
            return FIXED[self.acquisition]
        if self.acquisition == "auto":
            return AUTO_LADDER[self.auto_level()]
        # gp_hedge: reward each acquisition by how good the surrogate now thinks its last choice was
        if self._hedge_prev is not None:
            self._hedge_gains -= Batch(gp, X, z, noise, self._hedge_prev).mu
        self._hedge_prev = np.vstack([batch.Xc[int(np.argmax(FIXED[a].score(batch.mu, batch.sd, y_best)))]
                                      for a in HEDGE])
        logits = self._hedge_gains - self._hedge_gains.max()
        probs = np.exp(logits) / np.exp(logits).sum()
        return FIXED[HEDGE[int(rng.choice(len(HEDGE), p=probs))]]

    def auto_level(self) -> int:
        """The current rung of :data:`AUTO_LADDER`, recomputed from the told history.

        Starting at :data:`AUTO_START`, every ``batch_size`` told trials after the initial design one window is
        judged: the best value of the last ``window`` trials against the best before them, relative to the range
        of values seen; below ``stall_threshold`` -> one rung toward exploration, otherwise one toward exploitation.
        Only full-fidelity values count.
        """
        start = max(self.n_initial_points, self.window)
        return auto_level(self._y, start, self.window, self.batch_size, self.stall_threshold)
