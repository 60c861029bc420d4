"""Objectives: turn a finished strategy into one number, and constraints that filter before running.

An objective is one of:

- a built-in metric name (``"sharpe_ratio"``, ...; see :data:`BUILTIN_METRICS`), computed by the
  :class:`~bt_optimize.analyzers.Performance` analyzer over the measured window only;
- the ``_name`` of an analyzer added with ``cerebro.addanalyzer``, optionally followed by a dotted path into
  its ``get_analysis()`` (``"trades.pnl.net.total"``); a bare name takes the first numeric value found;
- a module-level ``callable(strategy) -> float`` (module-level so it can be sent to worker processes).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .exceptions import ObjectiveError
from .stats.metrics import LOWER_IS_BETTER, METRICS

__all__ = ["Objective", "BUILTIN_METRICS", "to_plain", "analyzer_names"]

BUILTIN_METRICS: tuple[str, ...] = tuple(METRICS)


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


def analyzer_names(analyzers: list[tuple[type, tuple, dict]]) -> list[str]:
    """The names backtrader gives to analyzers registered with ``cerebro.addanalyzer`` (suffixes included)."""
    names: list[str] = []
    counts: dict[str, int] = {}
    for cls, _args, kwargs in analyzers:
        base = kwargs.get("_name") or cls.__name__.lower()
        k = counts.get(base, 0)
        counts[base] = k + 1
        names.append(base + (str(k) if k else ""))
    return names


class Objective:
    """What an optimization maximises or minimises.

    Args:
        spec: A built-in metric name, ``"analyzer_name[.key.path]"``, or a module-level
            ``callable(strategy) -> float``.
        maximize: Direction. ``None`` picks the natural one (``False`` for ``max_drawdown``, else ``True``).

    Example:
        >>> Objective("max_drawdown").maximize
        False
    """

    def __init__(self, spec: str | Callable[[Any], float] = "sharpe_ratio", maximize: bool | None = None) -> None:
        if callable(spec):
            self.kind, self.name, self.path, self.func = "callable", getattr(spec, "__qualname__", repr(spec)), (), spec
        elif isinstance(spec, str) and spec.strip():
            self.func = None
            if spec in BUILTIN_METRICS:
                self.kind, self.name, self.path = "metric", spec, ()
            else:
                head, *rest = spec.split(".")
                self.kind, self.name, self.path = "analyzer", head, tuple(rest)
        else:
            raise ObjectiveError(
                f"objective={spec!r}: give a built-in metric name ({', '.join(BUILTIN_METRICS)}), an analyzer's "
                "_name with an optional dotted path, or a function taking the strategy and returning a float"
            )
        self.spec = spec
        if maximize is None:
            maximize = not (self.kind == "metric" and self.name in LOWER_IS_BETTER)
        self.maximize = bool(maximize)

    def validate(self, analyzer_names: list[str]) -> None:
        """Check the objective can be resolved in a run with these user analyzers.

        Raises:
            ObjectiveError: the name matches neither a built-in metric nor an analyzer; lists what exists.
        """
        if self.kind != "analyzer" or self.name in analyzer_names:
            return
        available = list(BUILTIN_METRICS) + list(analyzer_names)
        close = difflib.get_close_matches(str(self.spec), available, n=1) or difflib.get_close_matches(
            self.name, available, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ObjectiveError(
            f"objective {self.spec!r} matches no built-in metric and no analyzer.{hint} Available: built-in "
            f"metrics {', '.join(BUILTIN_METRICS)}; analyzers added to the Cerebro: "
            f"{', '.join(analyzer_names) or '(none; add one with cerebro.addanalyzer(..., _name=...))'}"
        )

    def evaluate(self, strategy: Any, metrics: Mapping[str, float]) -> float:
        """The objective value of a finished strategy (may be NaN or inf; the caller judges)."""
        if self.kind == "metric":
            v = metrics.get(self.name)
            return float("nan") if v is None else float(v)
        if self.kind == "callable":
            v = self.func(strategy)
            try:
                return float(v)
            except (TypeError, ValueError):
                raise ObjectiveError(f"objective function {self.name} returned {v!r}, not a number") from None
        an = strategy.analyzers.getbyname(self.name)
        node: Any = an.get_analysis()
        for i, part in enumerate(self.path):
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                try:
                    node = node[int(part)]
                except (KeyError, IndexError, TypeError, ValueError):
                    keys = list(node.keys()) if isinstance(node, Mapping) else []
                    where = ".".join((self.name,) + self.path[:i]) or self.name
                    raise ObjectiveError(
                        f"objective {self.spec!r}: {where} has no key {part!r}; its keys are {keys}"
                    ) from None
        if self.path:
            if node is None:
                return float("nan")
            if isinstance(node, Mapping):
                x = _first_number(node)
                if x is None:
                    raise ObjectiveError(f"objective {self.spec!r} points at {to_plain(node)!r}, which holds no number")
                return x
            try:
                return float(node)
            except (TypeError, ValueError):
                raise ObjectiveError(f"objective {self.spec!r} points at {node!r}, not a number") from None
        x = _first_number(node)
        if x is None:
            if _has_none(node):
                return float("nan")
            raise ObjectiveError(f"analyzer {self.name!r} returned no number: {to_plain(node)!r}")
        return x

    def better(self, a: float, b: float | None) -> bool:
        """Whether value ``a`` beats ``b`` in this objective's direction (``b=None`` always loses)."""
        if b is None:
            return True
        return a > b if self.maximize else a < b

    def describe(self) -> dict[str, Any]:
        """JSON-safe description, used to recognise the same objective on resume."""
        module = getattr(self.func, "__module__", "")
        spec = self.spec if isinstance(self.spec, str) else f"callable:{module}.{self.name}"
        return {"objective": spec, "maximize": self.maximize}

    def __repr__(self) -> str:
        return f"Objective({self.describe()['objective']!r}, maximize={self.maximize})"


def _has_none(node: Any) -> bool:
    if node is None:
        return True
    if isinstance(node, Mapping):
        return any(_has_none(v) for v in node.values())
    return False
