"""Exhaustive grid search in a deterministic order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._warn import warn
from ..exceptions import SpaceError
from ..space import Space
from .base import Search

__all__ = ["GridSearch", "GRID_WARN_SIZE"]

#: A grid larger than this triggers a warning suggesting random or Bayesian search.
GRID_WARN_SIZE = 10_000


class GridSearch(Search):
    """Every point of the space, the last parameter varying fastest (``itertools.product`` order).

    Raises:
        SpaceError: a continuous :class:`~bt_optimize.space.Real` without ``step``.
    """

    name = "grid"

    def __init__(self, space: Space, seed: int | None = None, warn_size: int = GRID_WARN_SIZE) -> None:
        super().__init__(space, seed)
        for name, dim in space.dims.items():
            try:
                dim.grid()
            except SpaceError as exc:
                raise SpaceError(f"{name}: {exc}") from None
        self.size = int(space.cardinality)
        if self.size > warn_size:
            warn(f"the grid has {self.size:,} points (more than {warn_size:,}); every one will be backtested. "
                 "Consider optimize_random(n_trials=...) or optimize_bayes(...), which need far fewer backtests")
        self._it: Iterator[dict[str, Any]] = space.grid()
        self._done = False

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            try:
                out.append(next(self._it))
            except StopIteration:
                self._done = True
                break
        return out

    @property
    def exhausted(self) -> bool:
        return self._done
