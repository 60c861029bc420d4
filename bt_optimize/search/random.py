"""Random search: independent draws (uniform or log-uniform per dimension), no duplicates in discrete spaces."""

from __future__ import annotations

from typing import Any

from ..space import Space, params_key
from .base import Search

__all__ = ["RandomSearch"]


class RandomSearch(Search):
    """Draw points at random from the space.

    In a finite space a point is never proposed twice and the search is exhausted once every point has
    been proposed. The sequence of proposals depends only on ``seed``, so a resumed study replays it and
    continues exactly where it stopped.
    """

    name = "random"

    def __init__(self, space: Space, seed: int | None = None) -> None:
        super().__init__(space, seed)
        self._seen: set[str] = set()
        self._finite = space.is_finite
        self._size = space.cardinality
        self._remaining: list[dict[str, Any]] | None = None

    def _draw(self) -> dict[str, Any] | None:
        if not self._finite:
            return self.space.sample(self.rng)
        if len(self._seen) >= self._size:
            return None
        if self._remaining is None and len(self._seen) > 0.5 * self._size:
            # most points are taken: switch to drawing from what is left, still driven by the same generator
            self._remaining = [p for p in self.space.grid() if params_key(p) not in self._seen]
        if self._remaining is not None:
            return self._remaining.pop(int(self.rng.integers(len(self._remaining))))
        while True:
            p = self.space.sample(self.rng)
            if params_key(p) not in self._seen:
                return p

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            p = self._draw()
            if p is None:
                break
            self._seen.add(params_key(p))
            out.append(p)
        return out

    @property
    def exhausted(self) -> bool:
        return self._finite and len(self._seen) >= self._size
