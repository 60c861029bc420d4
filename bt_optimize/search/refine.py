"""Local refinement: perturb the best points found so far and keep what improves.

Usable after any search (``optimize_bayes(refine=0.1)`` runs it after the main loop): the study tells it every
stored trial, it proposes Gaussian jitters of the current top points (scaled to each dimension's range, integers
snapped to their step, categoricals occasionally switched), and the study keeps whatever improves. The jitter
shrinks when a round brings no improvement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..exceptions import OptionError
from ..space import Cat, Space, params_key
from ..trial import TrialState
from .base import Search, constraint_allows, pick_unseen
from .encoding import Encoder

__all__ = ["RefineSearch", "perturb"]

Constraint = Callable[[dict[str, Any]], bool]


def _reflect(u: float) -> float:
    """Fold a number back into ``[0, 1]`` by reflection at the borders."""
    u = abs(u) % 2.0
    return 2.0 - u if u > 1.0 else u


def _other_choice(d: Cat, value: Any, rng: np.random.Generator) -> int:
    """The index of a random choice of ``d`` other than ``value``'s."""
    others = [i for i in range(len(d.choices)) if i != d.index(value)]
    return others[int(rng.integers(len(others)))]


def _neighbour(enc: Encoder, params: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Move one randomly chosen non-fixed dimension by one grid step (or to another category)."""
    space = enc.space
    names = [n for n in space.names if space[n].cardinality != 1]
    if not names:
        return dict(params)
    name = names[int(rng.integers(len(names)))]
    d, j = space[name], space.names.index(name)
    g = enc.genes([params])[0]
    if isinstance(d, Cat):
        g[j] = _other_choice(d, params[name], rng)
        return enc.from_genes(g)[0]
    delta = 1.0 / (d.cardinality - 1) if math.isfinite(d.cardinality) else 0.01
    sign = 1.0 if rng.random() < 0.5 else -1.0
    if not 0.0 <= g[j] + sign * delta <= 1.0:
        sign = -sign
    g[j] = min(1.0, max(0.0, g[j] + sign * delta))
    return enc.from_genes(g)[0]


def perturb(space: Space, params: Mapping[str, Any], rng: np.random.Generator, scale: float,
            p_switch: float = 0.2, encoder: Encoder | None = None) -> dict[str, Any]:
    """A random neighbour of ``params``.

    Numeric dimensions get Gaussian noise of standard deviation ``scale`` in the dimension's unit encoding
    (so log dimensions move multiplicatively), reflected at the bounds and snapped to a legal value (integers
    to their step); each categorical switches to another choice with probability ``p_switch``. When this leaves
    the point unchanged (common in small integer ranges), one dimension moves by one step instead. The genes
    are those of the shared encoding (:meth:`~bt_optimize.search.encoding.Encoder.genes`).

    Args:
        space: The space the point belongs to.
        params: The point to perturb.
        rng: Random generator.
        scale: Standard deviation of the jitter, as a share of each dimension's range.
        p_switch: Probability of switching each categorical.
        encoder: The space's :class:`~bt_optimize.search.encoding.Encoder` (default: a new one).

    Returns:
        A new point with plain values (it may still equal a point seen before).
    """
    enc = Encoder(space) if encoder is None else encoder
    g = enc.genes([params])[0]
    for j, (name, d) in enumerate(space.dims.items()):
        if d.cardinality == 1:
            continue
        if isinstance(d, Cat):
            if rng.random() < p_switch:
                g[j] = _other_choice(d, params[name], rng)
        else:
            g[j] = _reflect(g[j] + rng.normal(0.0, scale))
    out = enc.from_genes(g)[0]
    if params_key(out) == params_key(params):
        out = _neighbour(enc, params, rng)
    return out


class RefineSearch(Search):
    """Propose perturbations of the best points told so far.

    Each ``ask(n)`` spreads ``n`` proposals over the ``top`` best complete points (best first). The jitter starts at
    ``scale`` (share of each dimension's range) and is multiplied by ``shrink`` after every round that did not
    improve the best value, down to ``min_scale``. A point already told or proposed is never proposed again; the
    search is exhausted when no new neighbour can be found (a small discrete space fully explored).

    Args:
        space: The space to search.
        seed: Seed of the random generator; each round draws from a generator derived from ``seed`` and the
            number of points told, so a resumed study proposes what the uninterrupted one would have.
        maximize: Direction of the objective values told.
        top: Number of best points to perturb.
        scale: Initial jitter (share of each dimension's range).
        min_scale: Smallest jitter.
        shrink: Factor applied to the jitter after a round without improvement.
        p_switch: Probability of switching each categorical.
        constraint: Optional ``callable(params) -> bool``; proposals where it is false are avoided (the study
            still checks it).
        max_tries: Draws per proposal before the jitter is widened.

    Example:
        >>> from bt_optimize.space import Int, Space
        >>> s = RefineSearch(Space({"x": Int(0, 100)}), seed=0)
        >>> s.tell({"x": 50}, 1.0)
        >>> len(s.ask(3))
        3
    """

    name = "refine"

    def __init__(self, space: Space, seed: int | None = None, *, maximize: bool = True, top: int = 3,
                 scale: float = 0.1, min_scale: float = 0.01, shrink: float = 0.6, p_switch: float = 0.2,
                 constraint: Constraint | None = None, max_tries: int = 200) -> None:
        super().__init__(space, seed)
        if not (isinstance(top, int) and top >= 1):
            raise OptionError(f"top={top!r}: give a positive whole number of points to refine around")
        if not (0 < min_scale <= scale <= 1):
            raise OptionError(f"scale={scale!r}, min_scale={min_scale!r}: need 0 < min_scale <= scale <= 1")
        if not 0 < shrink <= 1:
            raise OptionError(f"shrink={shrink!r}: give a factor in (0, 1]")
        self.maximize = bool(maximize)
        self.top, self.scale, self.min_scale, self.shrink = top, float(scale), float(min_scale), float(shrink)
        self.p_switch, self.constraint, self.max_tries = float(p_switch), constraint, int(max_tries)
        self._base = int(seed) if seed is not None else int(self.rng.integers(2**31))
        self._seen: set[str] = set()
        self._done: list[tuple[float, int, dict[str, Any]]] = []  # (minimised value, tell order, params)
        self._n_told = 0
        self._best_at_last_ask: float | None = None
        self._attrs: dict[str, dict[str, Any]] = {}
        self._stuck = False
        self._enc = Encoder(space)

    def tell(self, params: dict[str, Any], value: float | None, state: TrialState = TrialState.COMPLETE) -> None:
        """Record a result; complete values become candidate parents (pruned ones, measured at low fidelity,
        do not)."""
        self._seen.add(params_key(params))
        self._n_told += 1
        if state is not TrialState.PRUNED and value is not None and math.isfinite(value):
            self._done.append((-value if self.maximize else value, self._n_told, dict(params)))

    def attrs_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Attributes recorded with a proposed point: ``phase="refine"`` and the jitter used."""
        return dict(self._attrs.get(params_key(params), {"phase": "refine"}))

    def _feasible(self, p: dict[str, Any]) -> bool:
        return constraint_allows(self.constraint, p)

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """Up to ``n`` new neighbours of the best points (none before a complete point has been told)."""
        if not self._done:
            return []
        best = min(v for v, _, _ in self._done)
        if self._best_at_last_ask is not None and not best < self._best_at_last_ask:
            self.scale = max(self.min_scale, self.scale * self.shrink)
        self._best_at_last_ask = best
        parents = [p for _, _, p in sorted(self._done, key=lambda r: (r[0], r[1]))[: self.top]]
        rng = np.random.default_rng([self._base, self._n_told])
        out: list[dict[str, Any]] = []
        for i in range(n):
            parent = parents[i % len(parents)]
            p = self._one(parent, rng)
            if p is None:
                break
            key = params_key(p)
            self._seen.add(key)
            self._attrs[key] = {"phase": "refine", "scale": round(self.scale, 6)}
            out.append(p)
        self._stuck = not out
        return out

    @property
    def exhausted(self) -> bool:
        """Whether the last ``ask`` found no new neighbour (a small discrete space fully explored)."""
        return self._stuck

    def _one(self, parent: dict[str, Any], rng: np.random.Generator) -> dict[str, Any] | None:
        def draws() -> Any:
            scale = self.scale
            for attempt in range(self.max_tries * 3):
                if attempt and attempt % self.max_tries == 0:
                    scale = min(1.0, scale * 3)  # locally exhausted: look further away
                yield perturb(self.space, parent, rng, scale, self.p_switch, encoder=self._enc)

        return pick_unseen(draws(), self._seen, self._feasible)
