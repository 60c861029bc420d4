"""Candidate sets over which :class:`~bt_optimize.search.bayes.BayesSearch` maximises its acquisition, and the
trust region around the incumbent."""

from __future__ import annotations

from collections.abc import Set

import numpy as np

from ..encoding import Encoder

__all__ = ["LOCAL_BOX", "near_incumbent", "perturbed_candidates"]

#: Half-width of the box around the incumbent from which the first point of each round is taken (``local_picks``),
#: as a share of each numeric dimension's range (at least one step of a discrete one).
LOCAL_BOX = 0.15


def near_incumbent(enc: Encoder, R: np.ndarray, best: np.ndarray, box: float = LOCAL_BOX) -> np.ndarray | None:
    """Which candidate rows ``R`` are neighbours of the incumbent's row ``best``.

    A neighbour lies within ``box`` of each numeric range (at least one step of a discrete dimension) with the
    same categories, or differs from the incumbent in one category only.

    Returns:
        A boolean mask over ``R``, or ``None`` when no candidate is a neighbour.
    """
    if not len(R):
        return None
    diff = np.abs(R - best)
    numeric = np.array([k != "cat" for k, *_ in enc.specs], dtype=bool)
    tol = np.array([max((hi - lo) * box, 0.0 if k == "real" else 1.0) for k, lo, hi, *_ in enc.specs])
    near = (diff[:, numeric] <= tol[numeric] + 1e-12).all(1)
    same_cat = (diff[:, ~numeric] == 0).all(1)
    one_cat = ((diff[:, ~numeric] != 0).sum(1) == 1) & (diff[:, numeric] == 0).all(1)
    mask = (near & same_cat) | one_cat
    return mask if mask.any() else None


def perturbed_candidates(enc: Encoder, rng: np.random.Generator, m: int, best_rows: np.ndarray,
                         seen_rows: Set[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """``m`` random rows plus 120 local perturbations of each row of ``best_rows``, minus the rows seen.

    Perturbations: Gaussian steps of 2, 5 and 15 % of each numeric range in the encoded space (reflected at the
    bounds), each categorical switched with probability 0.2.

    Returns:
        ``(rows, encoded rows)`` of the distinct unseen candidates.
    """
    parts = [enc.sample(rng, m)]
    if len(best_rows):
        base = enc.encode(best_rows)
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
    R = np.ascontiguousarray(np.unique(np.vstack(parts), axis=0))
    keep = np.array([r.tobytes() not in seen_rows for r in R], dtype=bool)
    R = R[keep]
    return R, enc.encode(R)
