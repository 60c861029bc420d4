"""Multi-fidelity screening around any executor: a quick run on recent data first, the full run only if promising.

:class:`FidelityExecutor` wraps the study's executor. Every trial spec it receives is first run on a quick
window (the most recent share of the study's window, see :func:`~bt_optimize.engine.windows.recent_window`).
The quick value is compared with the quick values seen so far:

- **promoted** when it passes two tests (the best quick value so far always passes both, which also promotes the
  very first trial):

  1. *Quantile*: it is above the ``promote_quantile`` quantile of the quick values of this trial and of every
     trial numbered before it (0.6 keeps roughly the best 40 %).
  2. *Could it become the best?* Once :data:`MIN_PAIRS` promoted trials of earlier rounds have both a quick and
     a full value, a least-squares line ``full = a + b * quick`` is fitted through them. When the relation is
     real (slope > 0 and correlation at least :data:`MIN_CORRELATION`), the trial's predicted full value plus
     ``promote_z`` residual standard deviations must reach the best full value of the earlier rounds; a trial
     whose full run is unlikely to beat the incumbent is not given one. When the quick values say little about
     the full ones, only the quantile applies.

  The trial then runs on the full window and its result is that full run: ``user_attrs`` ``fidelity=1.0``,
  ``quick_value``, ``promote_threshold``; ``duration_s`` covers both runs.
- **pruned** otherwise: the trial ends in state ``pruned`` with ``value`` = its quick value, the quick window, and
  ``user_attrs`` ``fidelity=<share>``, ``quick_value``, ``promote_threshold``, ``pruned_by`` (``"quantile"`` or
  ``"bound"``) and, for test 2, ``promote_bound`` (the predicted full value plus ``promote_z`` deviations).

Why test 2: every candidate pays a quick run (the recent share plus its warmup, about 0.4 of a full run at
``fidelity=0.35``) and every promoted one a full run, so the quantile alone (0.6) costs about 0.4 + 0.4 = 0.8 of
screening nothing. Late in a search most candidates sit in the good region and pass the quantile, yet few can
beat the incumbent; test 2 spends full runs on those that can (``docs/benchmarks_search.md`` measures both).

A quick run that fails (an exception, or a NaN/inf objective such as a ratio with no trade in the short window)
cannot be screened: the trial is promoted and runs on the full data (``quick_value=None``). A quick run that is
infeasible (``StrategySkipError``) ends infeasible. Each trial is one trial of the study whatever its stages, so
``n_trials`` counts candidates, not backtests.

Decisions are taken in trial-number order (a quick result waits for the quick results of the trials numbered
before it), so a batch gets the same promotions whatever order its parallel quick runs finish in, and a resumed
study (seeded with the stored quick values) promotes as the uninterrupted one would. Test 2 uses only results of
earlier rounds (each call of :meth:`FidelityExecutor.imap_unordered` is one round of the study), so parallel
completion order cannot change it either; a study resumed in the middle of a round may see a few more pairs than
the uninterrupted run did. With ``folds``, the full runs
(not the quick ones) run once per fold (:attr:`~bt_optimize.engine.worker.TrialSpec.folds`); without a quick window
the wrapper only attaches the folds.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from ..exceptions import OptionError, SpaceError
from ..space import Int, Space
from ..trial import Screening, Trial, TrialResult, TrialState, Window
from ..walkforward.windows import expanding_folds
from .executors import Executor
from .windows import recent_window
from .worker import Payload, TrialSpec

__all__ = ["FidelityExecutor", "PromotionRule", "DEFAULT_PROMOTE_QUANTILE", "DEFAULT_PROMOTE_Z", "MIN_PAIRS",
           "MIN_CORRELATION", "promotion_threshold", "promotion_bound", "check_options", "default_warmup",
           "staged_executor"]

#: Default ``promote_quantile``: a quick value above the 0.6 quantile of those seen so far is promoted.
DEFAULT_PROMOTE_QUANTILE = 0.6

#: Default ``promote_z``: residual standard deviations added to a trial's predicted full value (test 2).
DEFAULT_PROMOTE_Z = 2.0

#: Promoted trials with both values needed before test 2 applies.
MIN_PAIRS = 5

#: Smallest correlation between quick and full values for test 2 to apply.
MIN_CORRELATION = 0.3


def promotion_threshold(values: Sequence[float], quantile: float) -> float:
    """The ``quantile`` of ``values`` (oriented so that larger is better), linear interpolation."""
    return float(np.quantile(np.asarray(values, dtype=float), quantile))


def promotion_bound(pairs: Sequence[tuple[float, float]], z: float) -> tuple[float, float, float] | None:
    """The line of test 2 (module docstring) through ``(quick, full)`` pairs oriented so that larger is better.

    Returns:
        ``(intercept, slope, z * residual_std)``, or ``None`` when there are fewer than :data:`MIN_PAIRS` pairs or
        the relation is too weak (slope <= 0, correlation below :data:`MIN_CORRELATION`).

    Example:
        >>> promotion_bound([(0, 1), (1, 3), (2, 5), (3, 7), (4, 9.5)], 1.0)[:2]
        (0.9, 2.1)
    """
    if len(pairs) < MIN_PAIRS:
        return None
    q, f = np.asarray(pairs, dtype=float).T
    if q.std() == 0 or f.std() == 0:
        return None
    r = float(np.corrcoef(q, f)[0, 1])
    if not r >= MIN_CORRELATION:
        return None
    slope, icpt = np.polyfit(q, f, 1)
    resid = f - (icpt + slope * q)
    sd = math.sqrt(float(resid @ resid) / (len(q) - 2))
    return round(float(icpt), 12), round(float(slope), 12), z * sd


class PromotionRule:
    """The screening decision of the module docstring, kept apart from running backtests (the benchmark replays
    it on cached values).

    Call :meth:`start_round` before each round, :meth:`decide` with each quick value in trial-number order, and
    :meth:`record` with each promoted trial's quick and full values.

    Args:
        promote_quantile: Quantile of the quick values seen so far that a quick value must beat, in ``[0, 1)``.
        promote_z: Residual standard deviations of test 2 (``None``: the quantile only).
        maximize: Direction of the objective (``False``: lower values are better).
        quick_values: Quick values of the study's stored trials, in trial-number order (resume).
        pairs: ``(quick, full)`` values of the study's stored promoted trials (resume).
        best_full: Best full value of the study's stored trials (resume).
    """

    def __init__(self, promote_quantile: float = DEFAULT_PROMOTE_QUANTILE,
                 promote_z: float | None = DEFAULT_PROMOTE_Z, maximize: bool = True,
                 quick_values: Sequence[float] = (), pairs: Sequence[tuple[float, float]] = (),
                 best_full: float | None = None) -> None:
        if not 0 <= promote_quantile < 1:
            raise OptionError(f"promote_quantile={promote_quantile!r}: give a quantile in [0, 1)")
        self.promote_quantile = float(promote_quantile)
        self.promote_z = promote_z
        self.sign = 1.0 if maximize else -1.0
        self._history: list[float] = [self.sign * float(v) for v in quick_values]
        self._pairs: list[tuple[float, float]] = [(self.sign * float(q), self.sign * float(f)) for q, f in pairs]
        self._best_full = -math.inf if best_full is None else self.sign * float(best_full)
        self._line: tuple[float, float, float] | None = None  # test 2's line, fixed for the round
        self._round_best = self._best_full

    def start_round(self) -> None:
        """Fix test 2's line and incumbent from the results recorded so far (earlier rounds)."""
        self._line = None if self.promote_z is None else promotion_bound(self._pairs, self.promote_z)
        self._round_best = self._best_full

    def decide(self, value: float) -> tuple[bool, Screening]:
        """Screen one finite quick value; ``(promote, screening)`` where the screening holds ``promote_threshold``
        and, for a pruned value, ``pruned_by`` (and ``promote_bound`` for test 2)."""
        q = self.sign * float(value)
        self._history.append(q)
        threshold = promotion_threshold(self._history, self.promote_quantile)
        decision = Screening(promote_threshold=self.sign * threshold)
        leader = q >= max(self._history)
        if not (q > threshold or leader):
            return False, replace(decision, pruned_by="quantile")
        if self._line is not None and not leader:
            icpt, slope, margin = self._line
            bound = icpt + slope * q + margin
            if bound < self._round_best:
                return False, replace(decision, pruned_by="bound", promote_bound=self.sign * bound)
        return True, decision

    def record(self, quick_value: float | None, full_value: float) -> None:
        """Learn from a promoted trial's full value (``quick_value`` ``None``: its quick run could not be scored)."""
        f = self.sign * float(full_value)
        self._best_full = max(self._best_full, f)
        if quick_value is not None:
            self._pairs.append((self.sign * float(quick_value), f))


class FidelityExecutor(Executor):
    """Runs a study's trials through a quick screen, then the promising ones on the full data (module docstring).

    Args:
        inner: The executor that runs the backtests.
        quick: The quick window (``None``: no screen; every trial runs at full fidelity).
        fidelity: The share of the data ``quick`` holds, recorded as ``user_attrs["fidelity"]`` of pruned trials.
        promote_quantile: Quantile of the quick values seen so far that a quick value must beat to be promoted,
            in ``[0, 1)``.
        promote_z: Residual standard deviations of test 2 (``None``: the quantile only).
        maximize: Direction of the objective (``False``: lower quick values are better).
        quick_values: Quick values of the study's stored trials, in trial-number order (resume).
        pairs: ``(quick, full)`` values of the study's stored promoted trials (resume).
        best_full: Best full value of the study's stored trials (resume).
        folds: Fold windows of the full-fidelity runs (``()``: one run over the trial's window).
    """

    def __init__(self, inner: Executor, *, quick: Window | None = None, fidelity: float | None = None,
                 promote_quantile: float = DEFAULT_PROMOTE_QUANTILE, promote_z: float | None = DEFAULT_PROMOTE_Z,
                 maximize: bool = True, quick_values: Sequence[float] = (),
                 pairs: Sequence[tuple[float, float]] = (), best_full: float | None = None,
                 folds: tuple[Window, ...] = ()) -> None:
        self.inner = inner
        self.quick = quick
        self.fidelity = fidelity
        self.folds = tuple(folds)
        self.rule = PromotionRule(promote_quantile, promote_z, maximize, quick_values, pairs, best_full)

    @property
    def n_workers(self) -> int:  # type: ignore[override]
        return self.inner.n_workers

    def start(self, payload: Payload) -> None:
        self.inner.start(payload)

    def close(self) -> None:
        self.inner.close()

    def _full(self, spec: TrialSpec) -> TrialSpec:
        return replace(spec, folds=self.folds) if self.folds else spec

    def imap_unordered(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        if self.quick is None:
            yield from self.inner.imap_unordered(self._full(s) for s in specs)
            return
        self.rule.start_round()  # test 2 sees the results of earlier rounds only
        outer = iter(specs)
        outer_done = [False]
        promoted: deque[TrialSpec] = deque()
        originals: dict[int, TrialSpec] = {}
        in_quick: set[int] = set()
        ready: dict[int, TrialResult] = {}
        waiting: dict[int, tuple[TrialResult, float | None]] = {}

        def feed() -> Iterator[TrialSpec]:
            while True:
                if promoted:
                    yield promoted.popleft()
                    continue
                if outer_done[0]:
                    return
                try:
                    spec = next(outer)
                except StopIteration:
                    outer_done[0] = True
                    return
                originals[spec.number] = spec
                in_quick.add(spec.number)
                yield replace(spec, window=self.quick, folds=())

        def decide() -> Iterator[TrialResult]:
            oldest_running = min(in_quick, default=None)
            for n in sorted(ready):
                if oldest_running is not None and n > oldest_running:
                    break
                res = ready.pop(n)
                out = self._screen(originals[n], res, promoted, waiting)
                if out is not None:
                    yield out

        while True:
            for res in self.inner.imap_unordered(feed()):
                n = res.number
                if n in in_quick:
                    in_quick.discard(n)
                    ready[n] = res
                    yield from decide()
                else:
                    quick_res, threshold = waiting.pop(n)
                    yield self._merge(res, quick_res, threshold)
            if not promoted:
                return

    def _screen(self, spec: TrialSpec, res: TrialResult, promoted: deque[TrialSpec],
                waiting: dict[int, tuple[TrialResult, float | None]]) -> TrialResult | None:
        """Decide one quick result: return the pruned/infeasible result, or queue the full run and return None."""
        if res.state is TrialState.INFEASIBLE:
            return replace(res, window=self.quick, fidelity=self.fidelity)
        threshold = None
        if res.state is TrialState.COMPLETE:
            promote, decision = self.rule.decide(res.value)
            threshold = decision.promote_threshold
            if not promote:
                return replace(res, state=TrialState.PRUNED, window=self.quick, values=None, fidelity=self.fidelity,
                               screening=replace(decision, quick_value=res.value))
        waiting[spec.number] = (res, threshold)
        promoted.append(self._full(spec))
        return None

    def _merge(self, full: TrialResult, quick: TrialResult, threshold: float | None) -> TrialResult:
        """The trial's result: the full run, with the quick stage's value and time added."""
        qv = quick.value if quick.state is TrialState.COMPLETE else None
        if full.state is TrialState.COMPLETE and full.value is not None:
            self.rule.record(qv, full.value)
        return replace(full, fidelity=1.0, screening=Screening(quick_value=qv, promote_threshold=threshold),
                       duration_s=full.duration_s + quick.duration_s)


def check_options(*, fidelity: float | None, promote_quantile: float, fidelity_warmup: int | None,
                  cv: int | None, promote_z: float | None = DEFAULT_PROMOTE_Z) -> None:
    """Validate the multi-fidelity and fold options of ``optimize_bayes`` (before anything runs).

    Raises:
        SpaceError: an option is out of range; the message names the fix.
    """
    if fidelity is not None and (isinstance(fidelity, bool) or not isinstance(fidelity, (int, float))
                                 or not 0 < fidelity < 1):
        raise SpaceError(f"fidelity={fidelity!r}: give the share of the data for the quick screen, between 0 and 1 "
                         "(e.g. 0.35), or None for no screen")
    if isinstance(promote_quantile, bool) or not isinstance(promote_quantile, (int, float)) or not (
            0 <= promote_quantile < 1):
        raise SpaceError(f"promote_quantile={promote_quantile!r}: give a quantile in [0, 1) (0.6 promotes about "
                         "the best 40 % of quick runs)")
    if promote_z is not None and (isinstance(promote_z, bool) or not isinstance(promote_z, (int, float))
                                  or not 0 <= promote_z < math.inf):
        raise SpaceError(f"promote_z={promote_z!r}: give a number of standard deviations >= 0 (2 by default; larger "
                         "promotes more), or None to promote on the quantile alone")
    if fidelity_warmup is not None and (isinstance(fidelity_warmup, bool) or not isinstance(fidelity_warmup, int)
                                        or fidelity_warmup < 0):
        raise SpaceError(f"fidelity_warmup={fidelity_warmup!r}: give a whole number of bars >= 0, or None")
    if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int) or cv < 2):
        raise SpaceError(f"cv={cv!r}: give the number of walk-forward folds, a whole number >= 2, or None")


def default_warmup(space: Space) -> int:
    """Bars fed before a quick window by default: the largest ``Int`` value in the space (look-back periods are
    usually integer parameters), 0 when there is none."""
    highs = [d.high for d in space.dims.values() if isinstance(d, Int)]
    return int(max(highs)) if highs else 0


def staged_executor(inner: Executor, *, window: Window, n_bars: int, space: Space, stored: Sequence[Trial],
                    maximize: bool, fidelity: float | None = None,
                    promote_quantile: float = DEFAULT_PROMOTE_QUANTILE, promote_z: float | None = DEFAULT_PROMOTE_Z,
                    fidelity_warmup: int | None = None, cv: int | None = None) -> Executor:
    """The executor of an ``optimize_bayes`` study: ``inner`` itself, or a :class:`FidelityExecutor` around it.

    The quick window is :func:`~bt_optimize.engine.windows.recent_window` of the study's ``window`` with
    ``fidelity_warmup`` bars of warmup (default :func:`default_warmup`, at most the quick window's own length);
    the folds are :func:`~bt_optimize.walkforward.windows.expanding_folds`. Stored trials seed the quick values (a
    resumed study promotes as before) and must have been run with the same ``fidelity`` and ``cv``.

    Raises:
        SpaceError: the data is too short for ``cv`` folds, or the stored trials were run with another
            ``fidelity`` or ``cv``.
    """
    folds = expanding_folds(window, n_bars, cv) if cv is not None else ()
    for t in stored:
        if t.state is TrialState.COMPLETE and len(t.user_attrs.get("folds") or ()) != (cv or 0):
            raise SpaceError(f"the stored study was run with cv={len(t.user_attrs.get('folds') or ()) or None} "
                             f"(trial {t.number}); resume it with that value, or use another study_name")
        f = t.user_attrs.get("fidelity")
        if t.state is TrialState.PRUNED and f != fidelity:
            raise SpaceError(f"the stored study was run with fidelity={f} (trial {t.number}); resume it with that "
                             "value, or use another study_name")
    if fidelity is None:
        return FidelityExecutor(inner, folds=folds) if folds else inner
    quick_len = max(1, round(fidelity * ((window.end or n_bars) - window.start)))
    warmup = min(default_warmup(space) if fidelity_warmup is None else fidelity_warmup, quick_len)
    quick = recent_window(window, n_bars, fidelity, warmup)
    values, pairs, full = [], [], []
    for t in sorted(stored, key=lambda t: t.number):
        q = t.value if t.state is TrialState.PRUNED else t.user_attrs.get("quick_value")
        if q is not None and math.isfinite(q):
            values.append(q)
        if t.state is TrialState.COMPLETE and t.value is not None:
            full.append(t.value)
            if q is not None and math.isfinite(q):
                pairs.append((q, t.value))
    best = None if not full else (max(full) if maximize else min(full))
    return FidelityExecutor(inner, quick=quick, fidelity=fidelity, promote_quantile=promote_quantile,
                            promote_z=promote_z, maximize=maximize, quick_values=values, pairs=pairs,
                            best_full=best, folds=folds)
