"""The search space: named dimensions (:class:`Space`), and the dimensions themselves (:class:`Int`, :class:`Real`,
:class:`Cat`, defined in :mod:`bt_optimize.dimensions`).

A :class:`Space` validates points, samples, enumerates its grid, encodes points to the unit hypercube and stores
points as JSON (:meth:`Space.encode_params`). :func:`params_key` keys a point; :func:`check_param_names` rejects
names a strategy does not have. The point encoder the searches share is
:class:`~bt_optimize.search.encoding.Encoder`, built on the same unit scale.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .dimensions import Cat, Dimension, Int, Real, as_dimension, choice_label, plain
from .exceptions import SpaceError

__all__ = ["Dimension", "Int", "Real", "Cat", "Space", "plain", "params_key", "choice_label", "as_dimension",
           "check_param_names"]


def params_key(params: Mapping[str, Any]) -> str:
    """A canonical text key for a parameter set: equal params give equal keys."""
    return json.dumps({k: plain(params[k]) for k in sorted(params)}, sort_keys=True, default=repr)


class Space:
    """An ordered set of named dimensions.

    Args:
        dims: Mapping of parameter name to a dimension or a shorthand (see :func:`as_dimension`).

    Example:
        >>> s = Space({"fast": range(5, 20, 5), "ma": ["sma", "ema"]})
        >>> s.cardinality
        6
    """

    def __init__(self, dims: Mapping[str, Any]) -> None:
        if not dims:
            raise SpaceError("the search space is empty; pass parameters to search, e.g. fast=bto.Int(5, 50)")
        self.dims: dict[str, Dimension] = {}
        for name, spec in dims.items():
            try:
                self.dims[name] = as_dimension(name, spec)
            except SpaceError as exc:
                msg = str(exc)
                raise SpaceError(msg if msg.startswith(f"{name}") else f"{name}: {msg}") from None

    @property
    def names(self) -> list[str]:
        """Parameter names, in declaration order."""
        return list(self.dims)

    def __iter__(self) -> Iterator[str]:
        return iter(self.dims)

    def __len__(self) -> int:
        return len(self.dims)

    def __getitem__(self, name: str) -> Dimension:
        return self.dims[name]

    @property
    def cardinality(self) -> float:
        """Number of distinct points (``math.inf`` when a dimension is continuous)."""
        out: float = 1
        for d in self.dims.values():
            out *= d.cardinality
        return out

    @property
    def is_finite(self) -> bool:
        """Whether every dimension is discrete."""
        return math.isfinite(self.cardinality)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One random point."""
        return {name: d.sample(rng, 1)[0] for name, d in self.dims.items()}

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every point, the last parameter varying fastest (like ``itertools.product``)."""
        names = self.names
        for combo in itertools.product(*(self.dims[n].grid() for n in names)):
            yield dict(zip(names, combo))

    def validate_point(self, params: Mapping[str, Any], what: str = "point") -> dict[str, Any]:
        """Check a full point against the space and return it with plain values.

        Raises:
            SpaceError: a name is missing or unknown, or a value lies outside its dimension.
        """
        missing = [n for n in self.names if n not in params]
        extra = [n for n in params if n not in self.dims]
        if missing or extra:
            raise SpaceError(f"{what} {dict(params)!r}: missing {missing}, unknown {extra}; "
                             f"give exactly the space's parameters {self.names}")
        out = {}
        for n in self.names:
            v = plain(params[n])
            if not self.dims[n].contains(v):
                raise SpaceError(f"{what}: {n}={v!r} is outside {self.dims[n]!r}")
            if isinstance(self.dims[n], Int):
                v = int(v)
            elif isinstance(self.dims[n], Real):
                v = float(v)
            out[n] = v
        return out

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """Encode a point into the unit hypercube."""
        return np.array([self.dims[n].to_unit(params[n]) for n in self.names], dtype=float)

    def from_unit(self, u: Iterable[float]) -> dict[str, Any]:
        """Decode a unit-hypercube vector into the nearest legal point."""
        return {n: self.dims[n].from_unit(x) for n, x in zip(self.names, u)}

    def encode_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` with every :class:`Cat` value JSON cannot hold replaced by its index and label."""
        return {k: self.dims[k].encode(v) if isinstance(self.dims.get(k), Cat) else v for k, v in params.items()}

    def decode_params(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The inverse of :meth:`encode_params`."""
        return {k: self.dims[k].decode(v) if isinstance(self.dims.get(k), Cat) else v for k, v in stored.items()}

    def describe(self) -> dict[str, Any]:
        """A JSON-safe description used to recognise the same space when a study resumes."""
        return {n: d.describe() for n, d in self.dims.items()}

    def diff(self, other: dict[str, Any]) -> list[str]:
        """Human-readable differences between this space and a stored description."""
        mine = self.describe()
        out = []
        for n in sorted(set(mine) | set(other)):
            if n not in other:
                out.append(f"parameter {n!r} is new ({mine[n]})")
            elif n not in mine:
                out.append(f"parameter {n!r} was in the stored study ({other[n]}) but is not searched now")
            elif mine[n] != other[n]:
                out.append(f"{n}: stored {other[n]} vs now {mine[n]}")
        return out

    def __repr__(self) -> str:
        return f"Space({', '.join(f'{n}={d!r}' for n, d in self.dims.items())})"


def check_param_names(strategy: type, names: Iterable[str]) -> None:
    """Reject names the strategy does not have, listing its params and a close match.

    Raises:
        SpaceError: an unknown parameter name.
    """
    known = list(strategy.params._getkeys())
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpaceError(
                f"{strategy.__name__} has no parameter {name!r}{hint}; "
                f"its parameters are: {', '.join(known) or '(none)'}"
            )
