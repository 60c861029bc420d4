"""Reading a number out of an analyzer's ``get_analysis()`` by dotted path (shared by objectives and scores)."""

from __future__ import annotations

import datetime as _dt
import difflib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..exceptions import ObjectiveError

__all__ = ["to_plain", "analyzer_value"]


def to_plain(obj: Any, _depth: int = 0) -> Any:
    """Convert an analyzer's output into JSON-safe plain data.

    Mappings become dicts with string keys (datetimes as ISO text), sequences become lists, numpy scalars
    become Python numbers, NaN and infinities become ``None``, anything else becomes its ``repr``.
    """
    if _depth > 50:
        return repr(obj)
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (np.generic,)):
        obj = obj.item()
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {_key(k): to_plain(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset, np.ndarray)):
        return [to_plain(v, _depth + 1) for v in obj]
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    return repr(obj)


def _key(k: Any) -> str:
    if isinstance(k, (_dt.datetime, _dt.date, _dt.time)):
        return k.isoformat()
    return str(k)


def _first_number(obj: Any) -> float | None:
    if isinstance(obj, (bool, np.bool_)):
        return None
    if isinstance(obj, (int, float, np.integer, np.floating)):
        return float(obj)
    if isinstance(obj, Mapping):
        for v in obj.values():
            x = _first_number(v)
            if x is not None:
                return x
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            x = _first_number(v)
            if x is not None:
                return x
    return None


def _has_none(node: Any) -> bool:
    if node is None:
        return True
    if isinstance(node, Mapping):
        return any(_has_none(v) for v in node.values())
    return False


def analyzer_value(strategy: Any, name: str, path: tuple[str, ...], spec: str) -> float:
    """The number at ``name[.path]`` in a finished strategy's analyzers (NaN where the analyzer holds ``None``).

    A bare name (empty ``path``), or a path ending at a mapping, takes the first number found in it.

    Args:
        strategy: The finished strategy.
        name: The analyzer's ``_name``.
        path: Keys into its ``get_analysis()``; a key that is not found is tried as an integer index.
        spec: The text the user wrote, for error messages.

    Raises:
        ObjectiveError: a key is missing, or the node holds no number; the message lists the keys there.
    """
    node: Any = strategy.analyzers.getbyname(name).get_analysis()
    for i, part in enumerate(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            try:
                node = node[int(part)]
            except (KeyError, IndexError, TypeError, ValueError):
                keys = [str(k) for k in node.keys()] if isinstance(node, Mapping) else []
                where = ".".join((name,) + path[:i]) or name
                close = difflib.get_close_matches(part, keys, n=1)
                raise ObjectiveError(f"objective {spec!r}: {where} has no key {part!r}"
                                     + (f"; did you mean {close[0]!r}?" if close else "")
                                     + f"; its keys are {keys}") from None
    if path:
        if node is None:
            return float("nan")
        if isinstance(node, Mapping):
            x = _first_number(node)
            if x is None:
                raise ObjectiveError(f"objective {spec!r} points at {to_plain(node)!r}, which holds no number")
            return x
        try:
            return float(node)
        except (TypeError, ValueError):
            raise ObjectiveError(f"objective {spec!r} points at {node!r}, not a number") from None
    x = _first_number(node)
    if x is None:
        if _has_none(node):
            return float("nan")
        raise ObjectiveError(f"analyzer {name!r} returned no number: {to_plain(node)!r}")
    return x
