"""The ask -> run -> tell loop of a :class:`~bt_optimize.Study`, and the runs that share a study.

One loop serves every search algorithm. Points are asked lazily, one at a time, whenever a worker becomes
free (``batch_size`` > 1 asks batches instead, for algorithms that propose in rounds); constraint checks and
cache hits happen here, before anything is sent to a worker; every finished trial is stored before the
next one is reported, so an interrupted or killed run loses nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .._warn import warn
from ..engine.executors import Executor
from ..engine.worker import TrialSpec
from ..exceptions import AllTrialsFailedError, ObjectiveError, ObjectiveReadError
from ..objectives.limits import apply_limits, limits_message
from ..search.base import Search
from ..storage.runs import RunInfo
from ..trial import Trial, TrialResult, TrialState
from .records import REJECTED, StudyRecords, point_key

if TYPE_CHECKING:
    from .core import Study

__all__ = ["StudyLoop", "MAX_INFEASIBLE_IN_A_ROW", "AWAIT_POLL_S"]

#: In an infinite space, this many proposals in a row rejected by the constraint stop the study
#: (``stop_reason="infeasible"``). A finite space is always enumerated to its end.
MAX_INFEASIBLE_IN_A_ROW = 10_000

#: Seconds between looks at the storage while waiting for points another run of the study is running.
AWAIT_POLL_S = 0.1


class StudyLoop(StudyRecords):
    """The loop part of :class:`~bt_optimize.Study`: :meth:`optimize` and what it needs."""

    def optimize(self, search: Search, executor: Executor, n_trials: int | None = None,
                 batch_size: int | None = None, user_attrs: Callable[[dict[str, Any]], dict[str, Any]] | None = None
                 ) -> Study:
        """Run ``search`` until ``n_trials`` backtests have started (resumed ones count) or it is exhausted.

        Every backtest started is one trial of the budget, whatever its outcome: a point the strategy skips
        (``StrategySkipError``) is recorded ``infeasible`` and counts (see :attr:`n_used`), so a search whose
        points are all skipped still ends. Points the constraint rejects are recorded ``infeasible`` without a
        backtest and are free: a finite space is then enumerated to its end, and only in an infinite space do
        :data:`MAX_INFEASIBLE_IN_A_ROW` rejections in a row stop the study (``stop_reason="infeasible"``).

        Whatever stops the loop, every finished trial is stored first. An exception raised here (Ctrl-C's
        ``KeyboardInterrupt``, an objective error found on the first trial that traded, ``AllTrialsFailedError``)
        carries the study as its ``study`` attribute, and a study in SQLite resumes from its file.

        Args:
            search: The algorithm proposing points.
            executor: Where the backtests run.
            n_trials: Budget of backtests (``None``: until the search is exhausted).
            batch_size: Ask points in rounds of this size and wait for each round (``None``: stream).
            user_attrs: Optional function giving extra attributes to record with each proposed point.

        Returns:
            self, with ``stop_reason`` set to ``"budget"``, ``"exhausted"``, ``"infeasible"`` or the search's own.

        Raises:
            KeyboardInterrupt: Ctrl-C; finished trials are stored and the workers stopped before it propagates.
            ObjectiveError: the constraint raised, or the objective cannot be read from a run that traded.
            AllTrialsFailedError: the study ended with no completed trial.
        """
        self.search = search
        for t in self.get_trials():
            search.tell_trial(t)
        self._begin_run(search)
        pending: dict[int, tuple[TrialSpec, dict[str, Any]]] = {}
        pending_keys: set[str] = set()
        guard = not self.space.is_finite  # a finite space always ends: no guard
        infeasible_run = [0]
        bar = self._progress_bar(n_trials, search)
        self.stop_reason = None
        started = time.perf_counter()

        def budget_left() -> bool:
            if n_trials is None:
                return True
            if self._shared:  # other runs spend the same budget: count it where they all write
                return self.storage.budget_used(self._study_id) < n_trials
            return self._n_used + len(pending) < n_trials

        def tick(uses_budget: bool = True) -> None:
            if bar is not None and (uses_budget or n_trials is None):
                bar.update(1)
                bar.set_postfix_str(self._postfix(), refresh=False)

        def next_points(n: int) -> list[dict[str, Any]]:
            pts = search.ask(n)
            if not pts:
                self.stop_reason = self.stop_reason or search.stop_reason or "exhausted"
            return pts

        def specs() -> Iterator[TrialSpec]:
            # with batch_size, one call yields one round (an executor may rely on that, e.g. FidelityExecutor)
            yielded = False
            while budget_left():
                room = (n_trials or 10**9) - self._n_used - len(pending)
                n = 1 if batch_size is None else max(1, min(batch_size, room))
                if batch_size is not None and (pending or yielded):
                    return  # a round is still running, or its results must be told before the next one
                if batch_size is not None:
                    self._await_elsewhere(search)  # a round's points running in another process are told first
                    if not budget_left():
                        return
                pts = next_points(n)
                if not pts:
                    return
                for p in pts:
                    key = point_key(p, self.window)
                    if key in self._cache or key in pending_keys:
                        hit = self._cache.get(key)
                        if hit is not None:
                            search.tell_trial(hit)
                        continue
                    ok = True
                    if self.constraint is not None:
                        try:
                            ok = bool(self.constraint(dict(p)))
                        except Exception as exc:
                            raise ObjectiveError(f"the constraint raised {type(exc).__name__}: {exc} for {p}") from exc
                    # a rejected point costs no budget; a point to run is claimed within the budget shared with
                    # other runs of the study (None: stored or running elsewhere, or the budget is spent)
                    number = self.storage.claim(self._study_id, key, self._run, retake=key in self._forgotten,
                                                budget=n_trials if ok else None)
                    if number is None:
                        self._shared = True
                        self._elsewhere.add(key)
                        self._sync(search)
                        if not budget_left():
                            return
                        continue
                    self._next_number = max(self._next_number, number + 1)
                    if not ok:
                        self._record(Trial(number=number, state=TrialState.INFEASIBLE, params=p,
                                           error=REJECTED, window=self.window))
                        search.tell(p, None, TrialState.INFEASIBLE)
                        tick(uses_budget=False)
                        infeasible_run[0] += 1
                        if guard and infeasible_run[0] >= MAX_INFEASIBLE_IN_A_ROW:
                            self.stop_reason = "infeasible"
                            return
                        continue
                    infeasible_run[0] = 0
                    spec = TrialSpec(number, p, self.window, self.keep_series, keep_returns=self.keep_returns)
                    pending[spec.number] = (spec, user_attrs(p) if user_attrs else {})
                    pending_keys.add(key)
                    yielded = True
                    yield spec

        try:
            while True:
                got_any = False
                for res in executor.imap_unordered(specs()):
                    got_any = True
                    spec, attrs = pending.pop(res.number)
                    pending_keys.discard(point_key(spec.params, spec.window))
                    t = self._record(self._to_trial(spec, res, attrs))
                    search.tell_trial(t)
                    tick()
                    self._check_objective(res, t)
                    if self._shared:
                        self._sync(search)
                if self.stop_reason or not budget_left() or (batch_size is None and not got_any):
                    break
                if batch_size is None:
                    break
            self._await_elsewhere(search, final=True)  # the other runs' last trials: every run ends with them
            if self.stop_reason is None:
                self.stop_reason = "budget" if not budget_left() else (search.stop_reason or "exhausted")
        except KeyboardInterrupt as exc:
            self._halt("interrupted", executor)
            exc.args = (self._interrupted_message(),)
            exc.study = self  # type: ignore[attr-defined]
            raise
        except Exception as exc:
            self._halt(self.stop_reason or "error", executor)
            if getattr(exc, "study", None) is None:
                try:
                    exc.study = self  # type: ignore[attr-defined]
                except AttributeError:
                    pass
            raise
        finally:
            self._end_run()
            if bar is not None:
                if self.stop_reason == "exhausted" and bar.total is not None and bar.n < bar.total:
                    bar.total = bar.n  # a space used up before the budget: the bar ends full
                bar.close()
            self._add_wall_time(time.perf_counter() - started)
        self.set_stop_reason(self.stop_reason)
        if self._best is None:
            self._raise_if_nothing_completed()
        return self

    def _add_wall_time(self, seconds: float) -> None:
        """Add to the study's stored wall time (every run and resume of the loop counts)."""
        total = float(self.storage.get_attr(self._study_id, "wall_time_s", 0.0) or 0.0) + seconds
        self.storage.set_attr(self._study_id, "wall_time_s", total)

    # ------------------------------------------------------------------ runs sharing the study
    def _begin_run(self, search: Search) -> None:
        """Register this run with the storage and say which other runs share the study."""
        self._run = RunInfo.this_process()
        self._elsewhere: set[str] = set()
        others = self.storage.begin_run(self._study_id, self._run)
        self._shared = bool(others)
        if others:
            warn(f"study {self.name!r} is also being run by " + "; ".join(o.describe() for o in others)
                 + ". The runs share it: each claims a point before running it, so none runs twice, and together "
                 "they spend the budget n_trials")
            self._sync(search)

    def _end_run(self) -> None:
        try:
            self.storage.end_run(self._study_id, self._run)
        except Exception:  # noqa: BLE001 - never hide the error that stopped the study
            pass

    def _sync(self, search: Search) -> None:
        """Take in the trials other runs stored since the last look."""
        new, self._cursor = self.storage.new_trials(self._study_id, self._cursor)
        for t in new:
            if t.number in self._numbers:
                continue
            self._next_number = max(self._next_number, t.number + 1)
            t = self._decoded(t)
            judged = self._judge(t)
            if judged is None:
                self._numbers.add(t.number)
                self._forgotten.add(point_key(t.params, t.window))
                continue
            self._remember(judged)
            self._elsewhere.discard(point_key(judged.params, judged.window))
            search.tell_trial(judged)

    def _await_elsewhere(self, search: Search, final: bool = False) -> None:
        """Wait until points other runs are running are stored (or those runs are gone), then take them in.

        Between rounds only the points this run left to others matter; at the end (``final``) every point
        other runs were running at that moment, so each run ends with the whole study as far as it went.
        """
        if not self._shared:
            return
        if final:
            then = self.storage.foreign_claims(self._study_id, self._run)
            while then & self.storage.foreign_claims(self._study_id, self._run):
                self._sync(search)
                time.sleep(AWAIT_POLL_S)
            self._sync(search)
        else:
            while True:
                self._sync(search)
                waiting = {k for k in self._elsewhere if k not in self._cache}
                if not waiting or not self.storage.foreign_claims(self._study_id, self._run):
                    break  # a run that died leaves its points to the next resume
                time.sleep(AWAIT_POLL_S)
        self._elsewhere.clear()

    def _halt(self, reason: str, executor: Executor) -> None:
        """Stop the workers and record why the study stopped; every finished trial is already stored."""
        self.stop_reason = reason
        try:
            executor.close()
        finally:
            try:
                self.set_stop_reason(reason)
            except Exception:  # noqa: BLE001 - the error that stopped the study is the one to report
                pass

    def _interrupted_message(self) -> str:
        where = getattr(self.storage, "path", None)
        if where is None:
            return (f"interrupted: {len(self._records)} finished trials of study {self.name!r} are in memory only, "
                    "reachable as the `study` attribute of this KeyboardInterrupt; pass storage='runs.db' to be "
                    "able to resume an interrupted study")
        return (f"interrupted: {len(self._records)} finished trials of study {self.name!r} are stored in {where}; "
                "run the same call again (same storage and study_name) to resume")

    def _check_objective(self, res: TrialResult, t: Trial) -> None:
        """Stop at the first trial whose objective cannot be read although the run traded (a typo in its path)."""
        if res.objective_error and (t.metrics.get("n_trades") or 0) > 0:
            raise ObjectiveReadError(
                f"{(t.error or '').splitlines()[0]} (trial {t.number}, which closed {t.metrics.get('n_trades')} "
                "trades). The study stopped; fix the objective and run again")

    def set_stop_reason(self, reason: str) -> None:
        """Record why the study ended (kept in storage with the study)."""
        self.stop_reason = reason
        self.storage.set_attr(self._study_id, "stop_reason", reason)

    def _raise_if_nothing_completed(self) -> None:
        limited = limits_message(self._records, self.objective.limits)
        failed = [t for t in self._records if t.state is TrialState.FAIL]
        infeasible = sum(1 for t in self._records if t.state is TrialState.INFEASIBLE)
        if limited:
            exc = AllTrialsFailedError(limited)
        elif failed:
            rest = f" ({infeasible} more were skipped or infeasible)" if infeasible else ""
            exc = AllTrialsFailedError(
                f"all {len(failed)} trials failed{rest}; the first error (trial {failed[0].number}, params "
                f"{failed[0].params}) was:\n{failed[0].error}")
        elif self._records:
            exc = AllTrialsFailedError(
                f"no trial completed: every one of the {len(self._records)} points was skipped by the strategy "
                "(StrategySkipError) or infeasible (rejected by the constraint); loosen the constraint or move the "
                "space to where the strategy runs")
        else:
            return
        exc.study = self  # type: ignore[attr-defined]
        raise exc

    def _to_trial(self, spec: TrialSpec, res: TrialResult, attrs: dict[str, Any]) -> Trial:
        """The trial to record from a result (its limits applied) and the search's attributes of the point."""
        res = apply_limits(res, self.objective.limits)
        return Trial(number=spec.number, state=res.state, params=dict(spec.params), value=res.value,
                     metrics=res.metrics, analysis=res.analysis, error=res.error, duration_s=float(res.duration_s),
                     window=res.window, user_attrs={**attrs, **res.user_attrs}, returns=res.returns)

    def _progress_bar(self, n_trials: int | None, search: Search) -> Any:
        if not self.progress:
            return None
        from tqdm.auto import tqdm

        # with a budget the bar counts the budget (n_used: skipped points too); without one (a grid) it counts every
        # point of the space, rejected ones included; either way it ends at its total, never short of it or past it
        total = n_trials
        if self.space.is_finite:
            size = int(self.space.cardinality)
            total = size if total is None else min(total, size)
        done = self._n_used if n_trials is not None else sum(1 for t in self._records if not t.cached)
        initial = done if total is None else min(done, total)
        return tqdm(total=total, initial=initial, desc=f"{self.method} {self.name}", unit="trial",
                    file=sys.stderr, dynamic_ncols=True)

    def _postfix(self) -> str:
        if self._best is None:
            return "best: -"
        return f"best {self.objective.describe()['objective']}={self._best.value:.4g} (trial {self._best.number})"
