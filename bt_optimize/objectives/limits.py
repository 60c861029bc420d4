"""Trade-count floors and metric caps: ``min_trades=`` and ``limits=`` of the ``optimize_*`` methods.

A limit bounds one built-in metric (:data:`bt_optimize.BUILTIN_METRICS`) of a finished trial:

- ``{"max_drawdown": 0.25}``: a bare number bounds the metric on its bad side, so it is a cap for a metric where
  lower is better (``max_drawdown``) and a floor for every other metric (``{"sharpe_ratio": 0.5}`` means at
  least 0.5, ``{"n_trades": 30}`` at least 30 trades);
- ``{"profit_factor": (1.2, None)}``: an explicit ``(low, high)`` pair, ``None`` for an open side (both bounds
  are inclusive);
- ``min_trades=30`` is short for ``{"n_trades": (30, None)}``.

Checks run on the metrics of the measured window after the backtest (in the worker, so an infinite profit
factor counts as infinite), only for trials that completed at full fidelity. A trial that breaks a limit ends
``infeasible``: its ``error`` says which limit and by how much, ``user_attrs["limits"]`` lists the broken
metrics, ``user_attrs["value_without_limits"]`` keeps the objective value it would have had, and its metrics
are kept. It is never the best trial, and the searches learn from it as from any infeasible point (Bayes treats
it as the worst value seen, the genetic search gives it the worst fitness). A metric that is undefined for a
trial (a profit factor with no closed trade, ...) breaks any limit on it. With ``cv`` folds the limits apply to
the fold means of the metrics (``min_trades`` then counts trades per fold). In ``walk_forward`` the limits filter
each window's train search; the validation and test stretches are measured as they come.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..exceptions import ObjectiveError
from ..stats.metrics import LOWER_IS_BETTER, METRICS
from ..trial import TrialResult, TrialState

__all__ = ["Limits", "summarize_breaches"]

Bound = tuple[float | None, float | None]


def _number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(float(x))


def _fmt(x: float) -> str:
    return f"{x:g}"


class Limits:
    """Bounds on built-in metrics that a trial must meet to count (see the module docstring).

    Args:
        bounds: ``{metric: (low, high)}`` with ``None`` for an open side.

    Example:
        >>> lim = Limits.build(min_trades=30, limits={"max_drawdown": 0.25})
        >>> lim.describe()
        {'max_drawdown': [None, 0.25], 'n_trades': [30.0, None]}
        >>> lim.breaches({"n_trades": 2.0, "max_drawdown": 0.1})
        [['n_trades', 'n_trades=2 is below 30 (min_trades)']]
    """

    def __init__(self, bounds: Mapping[str, Bound], from_min_trades: bool = False) -> None:
        self.bounds: dict[str, Bound] = dict(sorted(bounds.items()))
        self._from_min_trades = from_min_trades

    @classmethod
    def build(cls, min_trades: Any = None, limits: Any = None) -> Limits | None:
        """Validate ``min_trades=`` and ``limits=`` as given to an ``optimize_*`` method (``None`` if both are).

        Raises:
            ObjectiveError: an unknown metric, a bound that is not a finite number, ``low > high``, a pair with
                no bound, ``min_trades`` not a whole number >= 1, or ``n_trades`` bounded twice.
        """
        bounds: dict[str, Bound] = {}
        if limits is not None:
            if not isinstance(limits, Mapping):
                raise ObjectiveError(f"limits={limits!r}: give a dict of metric name -> bound, e.g. "
                                     "limits={'max_drawdown': 0.25, 'profit_factor': (1.2, None)}")
            for name, spec in limits.items():
                bounds[name] = cls._parse(name, spec)
        if min_trades is not None:
            if not isinstance(min_trades, numbers.Integral) or isinstance(min_trades, bool) or min_trades < 1:
                raise ObjectiveError(f"min_trades={min_trades!r}: give a whole number of closed trades >= 1, or None")
            if "n_trades" in bounds:
                raise ObjectiveError("min_trades= and limits={'n_trades': ...} both bound n_trades; give one of them")
            bounds["n_trades"] = (float(min_trades), None)
        return cls(bounds, from_min_trades=min_trades is not None) if bounds else None

    @staticmethod
    def _parse(name: Any, spec: Any) -> Bound:
        if name not in METRICS:
            import difflib

            close = difflib.get_close_matches(str(name), METRICS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ObjectiveError(f"limits: {name!r} is not a built-in metric.{hint} Limits apply to "
                                 f"{', '.join(METRICS)}")
        if _number(spec):
            return (None, float(spec)) if name in LOWER_IS_BETTER else (float(spec), None)
        if isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 2:
            low, high = spec
            for side, v in (("low", low), ("high", high)):
                if v is not None and not _number(v):
                    raise ObjectiveError(f"limits[{name!r}]: the {side} bound {v!r} is not a finite number; give a "
                                         "number or None for an open side")
            if low is None and high is None:
                raise ObjectiveError(f"limits[{name!r}]=(None, None) bounds nothing; give a low or a high bound")
            if low is not None and high is not None and low > high:
                raise ObjectiveError(f"limits[{name!r}]=({low}, {high}): the low bound is above the high one")
            return (None if low is None else float(low), None if high is None else float(high))
        side = "cap" if name in LOWER_IS_BETTER else "floor"
        raise ObjectiveError(f"limits[{name!r}]={spec!r}: give a number (a {side} for {name}) or a (low, high) "
                             "pair with None for an open side, e.g. (1.2, None)")

    def label(self, name: str) -> str:
        """Readable form of the limit on ``name`` (``"n_trades >= 30"``, ``"0.1 <= win_rate <= 0.9"``)."""
        low, high = self.bounds[name]
        if low is not None and high is not None:
            return f"{_fmt(low)} <= {name} <= {_fmt(high)}"
        return f"{name} >= {_fmt(low)}" if low is not None else f"{name} <= {_fmt(high)}"  # type: ignore[arg-type]

    def breaches(self, metrics: Mapping[str, Any]) -> list[list[str]]:
        """The limits a trial's metrics break, as ``[[metric, message], ...]`` (empty when all hold).

        A metric that is missing, ``None`` or NaN breaks its limit (it cannot be shown to hold).
        """
        out: list[list[str]] = []
        for name, (low, high) in self.bounds.items():
            v = metrics.get(name)
            x = None if v is None else float(v)
            if x is None or math.isnan(x):
                out.append([name, f"{name} is undefined for this trial, so {self.label(name)} cannot hold"])
            elif low is not None and x < low:
                src = " (min_trades)" if name == "n_trades" and self._from_min_trades else ""
                out.append([name, f"{name}={_fmt(x)} is below {_fmt(low)}{src}"])
            elif high is not None and x > high:
                out.append([name, f"{name}={_fmt(x)} is above {_fmt(high)}"])
        return out

    def describe(self) -> dict[str, list[float | None]]:
        """JSON-safe form, part of the study's stored set-up (a changed limit is a different study)."""
        return {k: [lo, hi] for k, (lo, hi) in self.bounds.items()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and self.bounds == other.bounds

    def __repr__(self) -> str:
        return f"Limits({', '.join(self.label(k) for k in self.bounds)})"


def summarize_breaches(broken: Sequence[Sequence[str]], limits: Limits | None) -> str:
    """``"n_trades >= 30 removed 40 trials, max_drawdown <= 0.25 removed 3"`` from each trial's broken metrics."""
    counts: dict[str, int] = {}
    for names in broken:
        for n in names:
            counts[n] = counts.get(n, 0) + 1
    parts = []
    for n, c in sorted(counts.items(), key=lambda kv: -kv[1]):
        label = limits.label(n) if limits is not None and n in limits.bounds else n
        parts.append(f"{label} removed {c} trial{'s' if c != 1 else ''}")
    return ", ".join(parts)


def apply_limits(res: TrialResult, limits: Limits | None) -> TrialResult:
    """A worker result with its limits applied: a complete full-fidelity result that broke a limit becomes
    ``infeasible`` (see the module docstring); any other result is returned unchanged."""
    broken = res.breaches
    if limits is None or not broken or res.state is not TrialState.COMPLETE or res.fidelity not in (None, 1.0):
        return res
    return replace(res, state=TrialState.INFEASIBLE, value=None, value_without_limits=res.value,
                   error="limits: " + "; ".join(m for _n, m in broken))


def limits_message(records: Sequence[Any], limits: Limits | None) -> str | None:
    """Why nothing completed, when limits removed trials: ``"no trial passed the limits: ..."`` (else ``None``)."""
    broken = [t.user_attrs["limits"] for t in records if t.user_attrs.get("limits")]
    if not broken:
        return None
    others = len(records) - len(broken)
    return (f"no trial passed the limits: {summarize_breaches(broken, limits)} (of {len(records)} trials"
            + (f"; {others} failed or were infeasible for other reasons" if others else "")
            + "); loosen min_trades=/limits= or widen the space")
