"""One encoding of the points of a :class:`~bt_optimize.space.Space` as numbers, shared by the searches.

Three views of a point:

- **Row values** (:meth:`Encoder.rows`): one number per free dimension (dimensions with a single value are left
  out): the value itself for ``Int`` (step 1) and continuous ``Real``, the step index for stepped ``Int``/``Real``,
  the choice index for ``Cat``. Rows of a finite space are whole numbers, so they key points exactly.
- **Unit columns** (:meth:`Encoder.encode`): scikit-optimize's ``normalize_dimensions`` (the tests check they
  agree): numeric row values scaled to ``[0, 1]`` (log dimensions in log space), a two-choice ``Cat`` as one 0/1
  column, a larger one one-hot. The Gaussian process and the tree surrogate work on these.

- **Genes** (:meth:`Encoder.genes`): one number per dimension of the space, fixed ones included: the unit value
  of a numeric dimension (as in the unit columns) and the choice index of a ``Cat``. The genetic search evolves
  these, the refinement search jitters them, and parameter importance splits on them; :meth:`Encoder.from_genes`
  maps any gene vector back to the nearest legal point.

The unit scale itself (linear, or logarithmic for ``log=True``) is :func:`~bt_optimize.dimensions.unit_scale` and
its inverse, which :meth:`Dimension.to_unit <bt_optimize.space.Dimension.to_unit>` uses too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import qmc

from ..dimensions import unit_scale, unit_unscale
from ..space import Cat, Int, Real, Space

__all__ = ["Encoder"]


class Encoder:
    """Vectorised encoding of the points of a :class:`Space` (row values and ``[0, 1]`` columns).

    See the module docstring for the two views (row values and unit columns).

    Args:
        space: The space whose points are encoded.
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
        #: Position of each free dimension among the space's dimensions (the gene columns).
        self.positions = [space.names.index(n) for n in self.names]

    @property
    def n_free(self) -> int:
        """Number of free dimensions (columns of the row values)."""
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

    def _unit(self, j: int, r: np.ndarray) -> np.ndarray:
        """Row values of free dimension ``j`` on the ``[0, 1]`` scale (a ``Cat``: index over the largest index)."""
        _kind, lo, hi, log, _width = self.specs[j]
        return unit_scale(r, lo, hi, log)

    def _row(self, j: int, u: np.ndarray) -> np.ndarray:
        """The legal row values of free dimension ``j`` nearest to unit values ``u`` (clipped, rounded)."""
        kind, lo, hi, log, _width = self.specs[j]
        r = unit_unscale(np.clip(u, 0.0, 1.0), lo, hi, log)
        return np.clip(np.round(r) if kind in ("int", "cat") else r, lo, hi)

    def encode(self, R: np.ndarray) -> np.ndarray:
        """The ``[0, 1]`` columns of row values ``R``."""
        cols = []
        for j, (kind, _lo, _hi, _log, width) in enumerate(self.specs):
            r = R[:, j]
            if kind == "cat" and width > 1:
                cols.append(np.eye(width)[r.astype(int)])
                continue
            cols.append(self._unit(j, r)[:, None])
        return np.hstack(cols) if cols else np.zeros((len(R), 0))

    def transform(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The encoded matrix of ``points`` (one row per point)."""
        return self.encode(self.rows(points))

    def decode(self, U: np.ndarray) -> np.ndarray:
        """The legal row values nearest to encoded rows ``U`` (clipped, rounded, one-hot by its largest entry)."""
        out = np.empty((len(U), len(self.specs)))
        c = 0
        for j, (kind, _lo, _hi, _log, width) in enumerate(self.specs):
            block = U[:, c: c + width]
            c += width
            out[:, j] = block.argmax(1) if kind == "cat" and width > 1 else self._row(j, block[:, 0])
        return out

    def genes(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Gene vectors of ``points``, shape ``(len(points), len(space))``: per dimension of the space, the unit
        value of a numeric dimension, the choice index of a ``Cat`` (0 for a dimension with one value)."""
        R = self.rows(points)
        G = np.zeros((len(points), len(self.space.names)))
        for j, pos in enumerate(self.positions):
            G[:, pos] = R[:, j] if isinstance(self.space[self.names[j]], Cat) else self._unit(j, R[:, j])
        return G

    def from_genes(self, G: np.ndarray) -> list[dict[str, Any]]:
        """The legal points nearest to gene vectors ``G`` (one per row): numeric genes clipped to ``[0, 1]`` and
        snapped to the dimension's step, category indices rounded and clipped."""
        G = np.atleast_2d(np.asarray(G, dtype=float))
        R = np.empty((len(G), len(self.specs)))
        for j, pos in enumerate(self.positions):
            g = G[:, pos]
            if isinstance(self.space[self.names[j]], Cat):
                R[:, j] = np.clip(np.round(g), 0, self.specs[j][2])
            else:
                R[:, j] = self._row(j, g)
        return [self.point(r) for r in R]

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
