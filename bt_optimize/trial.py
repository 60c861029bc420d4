"""Trial states, data windows, the frozen :class:`Trial` record and the :class:`TrialResult` of one run."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["TrialState", "Window", "Trial", "TrialResult", "Screening"]


class TrialState(str, enum.Enum):
    """How a trial ended.

    ``complete``: ran and gave a finite objective value. ``pruned``: stopped at low fidelity.
    ``fail``: raised, returned NaN/inf, or its worker died (the error text is kept).
    ``infeasible``: the constraint rejected it (never run) or the strategy raised ``StrategySkipError``.
    """

    COMPLETE = "complete"
    PRUNED = "pruned"
    FAIL = "fail"
    INFEASIBLE = "infeasible"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Window:
    """A stretch of the study's data, in bar positions of the first feed.

    Bars ``[start - warmup, start)`` are fed so indicators are primed, but no order is placed and no
    analyzer records anything before bar ``start``. ``end`` is exclusive; ``None`` means the last bar.

    Attributes:
        start: First measured bar (0-based position in the first feed).
        end: One past the last bar, or ``None`` for all remaining bars.
        warmup: Bars fed before ``start`` (clipped at the first bar of the data).
    """

    start: int = 0
    end: int | None = None
    warmup: int = 0

    def __post_init__(self) -> None:
        if self.start < 0 or self.warmup < 0:
            raise ValueError(f"{self}: start and warmup must be >= 0")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"{self}: end must be greater than start")

    @property
    def is_full(self) -> bool:
        """Whether the window is the whole data with no warmup (a plain run)."""
        return self.start == 0 and self.end is None

    def to_dict(self) -> dict[str, Any]:
        """Plain form for storage."""
        return {"start": self.start, "end": self.end, "warmup": self.warmup}


@dataclass(frozen=True)
class Trial:
    """One evaluated (or rejected) parameter set.

    Attributes:
        number: Position in the study, from 0.
        state: How it ended.
        params: The parameters handed to the strategy (plain Python values).
        value: Objective value (``None`` unless complete or pruned).
        metrics: The built-in metrics over the measured window.
        analysis: Every analyzer's ``get_analysis()`` as plain data, by analyzer name.
        error: Error text for failed or infeasible trials.
        duration_s: Wall time of the backtest in the worker.
        window: The data window the trial ran on.
        user_attrs: Extra information an algorithm recorded (phase, fidelity, folds, ...).
        cached: Always ``False`` for the trials bt_optimize records: a point the study has already run is served
            from its cache to the search without a new trial. Kept so stored studies and code that read it still
            work.
        returns: The per-bar returns of the measured window, packed by
            :func:`bt_optimize.stats.returns.pack_returns` (``None`` when not kept, and in a study's lean
            in-memory records; :meth:`bt_optimize.Study.trial_returns` reads them back).
    """

    number: int
    state: TrialState
    params: dict[str, Any]
    value: float | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0
    window: Window = field(default_factory=Window)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    returns: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether the trial completed with a finite value."""
        return self.state is TrialState.COMPLETE and self.value is not None and math.isfinite(self.value)


@dataclass(frozen=True)
class Screening:
    """How the quick screen of a multi-fidelity study decided a trial (see :mod:`bt_optimize.engine.fidelity`).

    Attributes:
        quick_value: The objective on the quick window (``None``: the quick run could not be scored, so the trial
            was promoted unscreened).
        promote_threshold: The quantile of the quick values the quick value had to beat (``None`` when unscored).
        pruned_by: ``"quantile"`` or ``"bound"`` for a pruned trial, ``None`` for a promoted one.
        promote_bound: For ``pruned_by="bound"``, the predicted full value plus ``promote_z`` deviations.
    """

    quick_value: float | None = None
    promote_threshold: float | None = None
    pruned_by: str | None = None
    promote_bound: float | None = None


@dataclass(frozen=True)
class TrialResult:
    """What running one trial spec gave: produced by the worker, passed on by the executors, read by the study.

    Plain data only (no strategy object), so it pickles cheaply: it travels back from every worker process and Ray
    actor. The study turns it into a :class:`Trial`; the extra facts below become that trial's ``user_attrs``
    (:attr:`user_attrs` builds them, with the key names stored studies already use).

    Attributes:
        number: The trial number of the spec.
        state: How the run ended.
        window: The data window of the run the result describes (a pruned trial's quick window).
        value: The objective value (``None`` unless complete or pruned).
        metrics: The built-in metrics over the measured window; with ``keep_series`` also ``"equity"`` and
            ``"trades"`` (see :attr:`equity`, :attr:`trades`).
        analysis: Every user analyzer's ``get_analysis()`` as plain data, by analyzer name.
        error: Error text of a failed or infeasible run.
        duration_s: Wall time of the backtest(s) in the worker (a screened trial: both stages).
        returns: The per-bar returns of the measured window, packed (``None`` unless ``keep_returns``).
        values: Every objective's value of a multi-objective run (``None`` for one objective; a non-finite value
            is ``None``).
        folds: The fold values of a run over ``cv`` folds, in fold order (the value is their mean).
        fidelity: Share of the data of the run recorded, in a screened study (1.0: the full run); ``None``
            when no screen ran.
        screening: What the quick screen decided (``None``: no decision, e.g. no screen or an infeasible quick
            run).
        breaches: The limits the metrics break, ``[[metric, message], ...]`` (``None``: the objective has none).
        value_without_limits: The value a complete run had before broken limits made it infeasible (``None``
            otherwise; see :func:`bt_optimize.objectives.limits.apply_limits`).
        objective_error: The run finished but its objective could not be read (the study stops on it when the run
            traded).
        attempts: Runs it took when a cluster worker died under it (``None``: the first run).
        actor_errors: Why each dead worker died.
    """

    number: int
    state: TrialState
    window: Window = field(default_factory=Window)
    value: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0
    returns: bytes | None = field(default=None, repr=False)
    values: tuple[float | None, ...] | None = None
    folds: tuple[float, ...] | None = None
    fidelity: float | None = None
    screening: Screening | None = None
    breaches: tuple[tuple[str, str], ...] | None = None
    value_without_limits: float | None = None
    objective_error: bool = False
    attempts: int | None = None
    actor_errors: tuple[str, ...] | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # the values alone, in field order (no field names): the smallest pickle, sent once per trial by every worker
        state = self.__dict__
        return _rebuild_result, (tuple(state[name] for name in _RESULT_FIELDS),)

    @property
    def equity(self) -> list[list[Any]] | None:
        """``[[iso date, portfolio value], ...]`` over the measured window (only with ``keep_series``)."""
        return self.metrics.get("equity")

    @property
    def trades(self) -> list[dict[str, Any]] | None:
        """The closed trades of the measured window (only with ``keep_series``)."""
        return self.metrics.get("trades")

    @property
    def user_attrs(self) -> dict[str, Any]:
        """The facts above as the ``user_attrs`` of the trial (``values``, ``folds``, ``fidelity``, ``quick_value``,
        ``promote_threshold``, ``pruned_by``, ``promote_bound``, ``attempts``, ``actor_errors``, ``limits``,
        ``value_without_limits``), each only when it applies: the keys stored studies hold."""
        out: dict[str, Any] = {}
        if self.values is not None:
            out["values"] = list(self.values)
        if self.folds is not None:
            out["folds"] = list(self.folds)
        if self.fidelity is not None:
            out["fidelity"] = self.fidelity
        s = self.screening
        if s is not None:
            out["quick_value"] = s.quick_value
            out["promote_threshold"] = s.promote_threshold
            if s.pruned_by is not None:
                out["pruned_by"] = s.pruned_by
            if s.promote_bound is not None:
                out["promote_bound"] = s.promote_bound
        if self.attempts is not None:
            out["attempts"] = self.attempts
        if self.actor_errors is not None:
            out["actor_errors"] = list(self.actor_errors)
        if self.value_without_limits is not None:
            out["limits"] = [name for name, _ in self.breaches or ()]
            out["value_without_limits"] = self.value_without_limits
        return out

    def as_dict(self) -> dict[str, Any]:
        """The result as the plain dict of earlier versions (``strategy.bto_result`` of :meth:`Study.run_best`):
        ``number``, ``state`` (its text), ``value``, ``metrics``, ``analysis``, ``error``, ``duration_s``, and when
        they apply ``returns``, ``limits`` (the breaches), ``objective_error`` and ``user_attrs``."""
        out: dict[str, Any] = {"number": self.number, "value": self.value, "metrics": self.metrics,
                               "analysis": self.analysis, "error": self.error, "state": self.state.value,
                               "duration_s": self.duration_s}
        if self.returns is not None:
            out["returns"] = self.returns
        if self.breaches is not None:
            out["limits"] = [list(b) for b in self.breaches]
        if self.objective_error:
            out["objective_error"] = True
        attrs = self.user_attrs
        if attrs:
            out["user_attrs"] = attrs
        return out


_RESULT_FIELDS = tuple(f.name for f in fields(TrialResult))


def _rebuild_result(values: tuple[Any, ...]) -> TrialResult:
    """Unpickle a :class:`TrialResult` (see ``TrialResult.__reduce__``) without running ``__init__`` again."""
    result = object.__new__(TrialResult)
    result.__dict__.update(zip(_RESULT_FIELDS, values))
    return result
