"""The single objective: turn a finished strategy into one number (or a failure), with its direction.

Its public home is :mod:`bt_optimize.objective` (``from bt_optimize.objective import Objective``).

Constraints are not here: the study applies ``constraint=`` to each proposed point before it runs
(:meth:`bt_optimize.study.Study.optimize`).

An objective is one of:

- a built-in metric name (``"sharpe_ratio"``, ...; see :data:`BUILTIN_METRICS`), computed by the
  :class:`~bt_optimize.analyzers.Performance` analyzer over the measured window only;
- the ``_name`` of an analyzer added with ``cerebro.addanalyzer``, optionally followed by a dotted path into
  its ``get_analysis()`` (``"trades.pnl.net.total"``); a bare name takes the first numeric value found;
- a module-level ``callable(strategy) -> float`` (module-level so it can be sent to worker processes).
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Mapping
from typing import Any

from ..exceptions import ObjectiveError
from ..stats.metrics import LOWER_IS_BETTER, METRICS
from .limits import Limits
from .paths import analyzer_value
from .score import Score

__all__ = ["Objective", "BUILTIN_METRICS", "analyzer_names"]

BUILTIN_METRICS: tuple[str, ...] = tuple(METRICS)


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
        spec: A built-in metric name, ``"analyzer_name[.key.path]"``, a :class:`~bt_optimize.Score` or a
            module-level ``callable(strategy) -> float``.
        maximize: Direction. ``None`` picks the natural one (``False`` for ``max_drawdown``, else ``True``; a
            Score's own direction). Giving a direction that contradicts a Score's is an error.
        limits: Optional :class:`~bt_optimize.objectives.Limits` a trial must meet to count
            (``min_trades=``/``limits=`` of the ``optimize_*`` methods).

    Example:
        >>> Objective("max_drawdown").maximize
        False
    """

    #: Whether this is a multi-objective (see :class:`bt_optimize.objectives.MultiObjective`).
    is_multi = False

    def __init__(self, spec: str | Score | Callable[[Any], float] = "sharpe_ratio", maximize: bool | None = None,
                 limits: Limits | None = None) -> None:
        self.func: Callable[[Any], float] | None = None
        self.score: Score | None = None
        if isinstance(spec, Score):
            self.kind, self.name, self.path, self.score = "score", spec.text, (), spec
            if maximize is not None and bool(maximize) != spec.maximize:
                raise ObjectiveError(
                    f"maximize={maximize!r} contradicts {spec!r}; a Score carries its own direction: drop maximize= "
                    f"or write Score({spec.expression!r}, maximize={bool(maximize)})")
            maximize = spec.maximize
        elif callable(spec):
            self.kind, self.name, self.path, self.func = "callable", getattr(spec, "__qualname__", repr(spec)), (), spec
        elif isinstance(spec, str) and spec.strip():
            if spec in BUILTIN_METRICS:
                self.kind, self.name, self.path = "metric", spec, ()
            else:
                head, *rest = spec.split(".")
                self.kind, self.name, self.path = "analyzer", head, tuple(rest)
        else:
            raise ObjectiveError(
                f"objective={spec!r}: give a built-in metric name ({', '.join(BUILTIN_METRICS)}), an analyzer's "
                "_name with an optional dotted path, a bto.Score(\"expression\"), a function taking the strategy "
                "and returning a float, or a list of 2 or 3 of these (multi-objective)"
            )
        self.spec = spec
        if maximize is not None and not isinstance(maximize, bool):
            raise ObjectiveError(f"maximize={maximize!r}: give True, False or None (the metric's natural direction)")
        if maximize is None:
            maximize = not (self.kind == "metric" and self.name in LOWER_IS_BETTER)
        self.maximize = bool(maximize)
        self.limits = limits

    def with_limits(self, limits: Limits | None) -> Objective:
        """A copy of this objective with ``limits`` (``None``: without any)."""
        out = copy.copy(self)
        out.limits = limits
        return out

    def validate(self, analyzer_names: list[str]) -> None:
        """Check the objective can be resolved in a run with these user analyzers.

        Raises:
            ObjectiveError: the name matches neither a built-in metric nor an analyzer; lists what exists.
        """
        if self.score is not None:
            self.score.validate(analyzer_names)
        if self.kind != "analyzer" or self.name in analyzer_names:
            return
        # a dotted path reads an analyzer's output: only analyzer names are sensible suggestions for its head
        available = list(analyzer_names) if self.path else list(BUILTIN_METRICS) + list(analyzer_names)
        close = difflib.get_close_matches(str(self.spec), available, n=1) or difflib.get_close_matches(
            self.name, available, n=1)
        if close:
            hint = f" Did you mean {close[0]!r}?"
        elif self.path:
            hint = (f" No analyzer named {self.name!r} is added: add the one whose output holds "
                    f"{'.'.join(self.path)!r} with cerebro.addanalyzer(<AnalyzerClass>, _name={self.name!r}).")
        else:
            hint = ""
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
        if self.kind == "score":
            return self.score.value(metrics, strategy)  # type: ignore[union-attr]
        if self.kind == "callable":
            v = self.func(strategy)  # type: ignore[misc]
            try:
                return float(v)
            except (TypeError, ValueError):
                raise ObjectiveError(f"objective function {self.name} returned {v!r}, not a number") from None
        return analyzer_value(strategy, self.name, self.path, str(self.spec))

    def evaluate_result(self, strategy: Any, metrics: Mapping[str, float]) -> tuple[float, dict[str, Any]]:
        """What a worker records for a finished strategy: the value, and extra result fields.

        The extra fields are ``"limits"`` (the broken limits, see
        :meth:`bt_optimize.objectives.Limits.breaches`) when the objective has limits, and ``"user_attrs"`` for
        objectives that record more than one number (multi-objective).
        """
        value = self.evaluate(strategy, metrics)
        return value, ({"limits": self.limits.breaches(metrics)} if self.limits is not None else {})

    def better(self, a: float, b: float | None) -> bool:
        """Whether value ``a`` beats ``b`` in this objective's direction (``b=None`` always loses)."""
        if b is None:
            return True
        return a > b if self.maximize else a < b

    def describe(self) -> dict[str, Any]:
        """JSON-safe description, used to recognise the same objective (and limits) on resume."""
        module = getattr(self.func, "__module__", "")
        if self.kind == "score":
            spec: Any = f"score:{self.name}"
        else:
            spec = self.spec if isinstance(self.spec, str) else f"callable:{module}.{self.name}"
        out: dict[str, Any] = {"objective": spec, "maximize": self.maximize}
        if self.limits is not None:
            out["limits"] = self.limits.describe()
        return out

    def __repr__(self) -> str:
        return f"Objective({self.describe()['objective']!r}, maximize={self.maximize})"
