"""Trial states, data windows and the frozen :class:`Trial` record."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrialState", "Window", "Trial"]


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
