"""The :class:`Study`: the ask -> run -> tell loop, and the results object users read.

One loop serves every search algorithm. Points are asked lazily, one at a time, whenever a worker becomes
free (``batch_size`` > 1 asks batches instead, for algorithms that propose in rounds); constraint checks and
cache hits happen here, before anything is sent to a worker; every finished trial is stored before the
next one is reported, so an interrupted or killed run loses nothing.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._warn import warn
from .engine.executors import Executor
from .engine.fingerprint import describe_setup
from .engine.worker import Payload, Runtime, TrialSpec
from .exceptions import AllTrialsFailedError, ObjectiveError, ObjectiveReadError
from .objective import Objective
from .objectives.limits import apply_limits, limits_message
from .search.base import Search
from .space import Space, params_key
from .stats.metrics import METRICS
from .stats.returns import unpack_returns
from .storage.base import Storage
from .storage.runs import CONSTRAINT_REJECTED, RunInfo
from .trial import Trial, TrialState, Window

if TYPE_CHECKING:
    from .robustness.overfitting import OverfittingReport

__all__ = ["Study", "MAX_INFEASIBLE_IN_A_ROW", "trials_frame"]

#: In an infinite space, this many proposals in a row rejected by the constraint stop the study
#: (``stop_reason="infeasible"``). A finite space is always enumerated to its end.
MAX_INFEASIBLE_IN_A_ROW = 10_000

_RAN = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
#: Error text of a point the constraint rejected (recorded ``infeasible``, never run, free for the budget).
REJECTED = CONSTRAINT_REJECTED

#: Seconds between looks at the storage while waiting for points another run of the study is running.
AWAIT_POLL_S = 0.1


def _key(params: dict[str, Any], window: Window) -> str:
    return params_key(params) + f"|{window.start}:{window.end}:{window.warmup}"


def trials_frame(trials: list[Trial], names: list[str]) -> pd.DataFrame:
    """The :attr:`Study.trials` table of ``trials`` (parameters ``names``), also used for stored studies."""
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.value,
                               "value": math.nan if t.value is None else t.value}
        for k in names:
            row[f"params_{k}"] = t.params.get(k)
        row["duration_s"] = t.duration_s
        for m in METRICS:
            v = t.metrics.get(m)
            row[m] = math.nan if v is None else v
        row["error"] = t.error
        row["cached"] = t.cached
        for k, v in t.user_attrs.items():
            if k == "values" and isinstance(v, list):  # multi-objective: one column per objective
                row.update({f"values_{i}": math.nan if x is None else x for i, x in enumerate(v)})
                continue
            row[f"attr_{k}"] = v if not isinstance(v, (list, dict)) else repr(v)
        rows.append(row)
    cols = ["number", "state", "value", *[f"params_{k}" for k in names], "duration_s", *METRICS,
            "error", "cached"]
    df = pd.DataFrame(rows, columns=None if rows else cols)
    return df.sort_values("number").reset_index(drop=True) if rows else df


class Study:
    """Results of an optimization, and the loop that produces them.

    Created by the ``optimize_*`` methods of :class:`bt_optimize.Cerebro`; users read it:

    Example:
        >>> study = cerebro.optimize_random(SmaCross, fast=(5, 50), slow=(20, 200), n_trials=50)  # doctest: +SKIP
        >>> study.best_params, study.best_value  # doctest: +SKIP
        >>> study.trials.head()  # doctest: +SKIP
    """

    def __init__(self, *, name: str, space: Space, objective: Objective, strategy: type, payload: Payload,
                 storage: Storage, method: str, constraint: Callable[[dict[str, Any]], bool] | None = None,
                 window: Window | None = None, progress: bool | None = None, keep_series: bool = False,
                 keep_returns: bool = True, options: dict[str, Any] | None = None) -> None:
        self.name = name
        self.space = space
        self.objective = objective
        self.strategy = strategy
        self.payload = payload
        self.storage = storage
        self.method = method
        self.constraint = constraint
        self.window = window or Window()
        self.progress = sys.stderr.isatty() if progress is None else bool(progress)
        self.keep_series = keep_series
        self.keep_returns = bool(keep_returns)
        self.stop_reason: str | None = None
        self.search: Search | None = None
        config = {"strategy": f"{strategy.__module__}.{strategy.__qualname__}", "space": space.describe(),
                  "objective": objective.describe(), "method": method,
                  "setup": describe_setup(payload, self.window, options)}
        self._study_id, stored = storage.open_study(name, config)
        self._keep = storage.keeps_analysis_in_memory
        self._records: list[Trial] = []
        self._cache: dict[str, Trial] = {}
        self._best: Trial | None = None
        self._next_number = 0
        self._n_ran = 0
        self._n_used = 0
        self._n_resumed = len(stored)
        self._numbers: set[int] = set()
        self._cursor = 0
        self._run = RunInfo.this_process()
        self._shared = False
        self._elsewhere = set()
        self._forgotten: set[str] = set()  # stored points an earlier constraint rejected that may run now
        for t in stored:
            self._numbers.add(t.number)
            self._next_number = max(self._next_number, t.number + 1)
            t = self._decoded(t)
            judged = self._judge(t)
            if judged is not None:
                self._remember(judged)
            else:
                self._forgotten.add(_key(t.params, t.window))
        self._runtime: Runtime | None = None

    # ------------------------------------------------------------------ bookkeeping
    def _judge(self, t: Trial) -> Trial | None:
        """A stored trial as the current constraint sees it (the constraint is not part of the fingerprint).

        A point an earlier constraint rejected that the current one accepts is forgotten (``None``): the search
        may propose it again and it runs as a new trial. A point that ran but the current constraint rejects is
        shown ``infeasible`` (its stored value stays in storage), so it is never the best and never runs again.
        """
        if self.constraint is None and t.error != REJECTED:
            return t
        try:
            ok = True if self.constraint is None else bool(self.constraint(dict(t.params)))
        except Exception:  # noqa: BLE001 - the loop reports a raising constraint with its point
            return t
        if t.state is TrialState.INFEASIBLE and t.error == REJECTED:
            return None if ok else t
        if not ok and t.state is not TrialState.INFEASIBLE:
            return replace(t, state=TrialState.INFEASIBLE, value=None,
                           error=f"{REJECTED} (changed since this trial ran; its stored result is kept in storage)")
        return t

    def _remember(self, t: Trial) -> None:
        self._numbers.add(t.number)
        self._next_number = max(self._next_number, t.number + 1)
        if t.state in _RAN:
            self._n_ran += 1
        if t.state in _RAN or (t.state is TrialState.INFEASIBLE and t.error != REJECTED):
            self._n_used += 1
        # With a storage that keeps trials on disk, the in-memory record is lean (no metrics, no analysis):
        # memory stays flat however many trials run; full records are read back from storage when asked.
        light = t if self._keep else replace(t, analysis={}, metrics={}, returns=None)
        self._records.append(light)
        self._cache[_key(t.params, t.window)] = light
        if t.ok and t.user_attrs.get("fidelity", 1.0) == 1.0 and self.objective.better(
                t.value, None if self._best is None else self._best.value):
            self._best = t if self._keep else replace(t, analysis={}, returns=None)

    def _decoded(self, t: Trial) -> Trial:
        """A stored trial with its params rebuilt from the space (see :meth:`Space.encode_params`)."""
        return replace(t, params=self.space.decode_params(t.params))

    def _record(self, t: Trial) -> Trial:
        # storage holds JSON only: Cat values JSON cannot hold are stored as their index and label
        self.storage.add_trial(self._study_id, replace(t, params=self.space.encode_params(t.params)))
        self._remember(t)
        return t

    @property
    def n_ran(self) -> int:
        """Trials that ran a backtest (complete, failed or pruned), resumed ones included."""
        return self._n_ran

    @property
    def n_used(self) -> int:
        """Trials that used the budget ``n_trials``: every backtest started, resumed ones included. That is
        :attr:`n_ran` plus the points the strategy skipped (``StrategySkipError``); points the constraint rejects
        never reach a backtest and, like cache hits, are free."""
        return self._n_used

    # ------------------------------------------------------------------ the loop
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
                    key = _key(p, self.window)
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
                    spec, attrs = pending.pop(res["number"])
                    pending_keys.discard(_key(spec.params, spec.window))
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
                self._forgotten.add(_key(t.params, t.window))
                continue
            self._remember(judged)
            self._elsewhere.discard(_key(judged.params, judged.window))
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

    def _check_objective(self, res: dict[str, Any], t: Trial) -> None:
        """Stop at the first trial whose objective cannot be read although the run traded (a typo in its path)."""
        if res.get("objective_error") and (t.metrics.get("n_trades") or 0) > 0:
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

    def _to_trial(self, spec: TrialSpec, res: dict[str, Any], attrs: dict[str, Any]) -> Trial:
        res = apply_limits(res, self.objective.limits)
        return Trial(number=spec.number, state=TrialState(res["state"]), params=dict(spec.params),
                     value=res.get("value"), metrics=res.get("metrics") or {}, analysis=res.get("analysis") or {},
                     error=res.get("error"), duration_s=float(res.get("duration_s") or 0.0),
                     window=res.get("window") or spec.window, user_attrs={**attrs, **(res.get("user_attrs") or {})},
                     returns=res.get("returns"))

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

    # ------------------------------------------------------------------ results
    @property
    def best_trial(self) -> Trial:
        """The complete full-fidelity trial with the best value.

        Raises:
            ValueError: no trial has completed.
        """
        if self.objective.is_multi:
            raise ObjectiveError(
                f"study {self.name!r} has {len(self.objective.parts)} objectives ({', '.join(self.objective.names)}), "
                "so no single best trial: use study.best_trials (the Pareto front), pick one of them, and run it "
                "with study.run_best(**trial.params); or combine the objectives with bto.Score(...)")
        if self._best is None:
            raise ValueError(f"study {self.name!r} has no completed trial yet")
        return self._best

    @property
    def best_trials(self) -> list[Trial]:
        """The Pareto front of a multi-objective study: complete full-fidelity trials no other dominates (see
        :mod:`bt_optimize.objectives.multi`); ``[best_trial]`` for a single objective."""
        if not self.objective.is_multi:
            return [self.best_trial]
        from .objectives.multi import pareto_front

        return pareto_front(self.get_trials((TrialState.COMPLETE,)), self.objective.directions)

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of the best trial (plain Python values)."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        """Objective value of the best trial."""
        return float(self.best_trial.value)  # type: ignore[arg-type]

    @property
    def n_trials(self) -> int:
        """Number of recorded trials, every state included."""
        return len(self._records)

    def get_trials(self, states: tuple[TrialState, ...] | None = None) -> list[Trial]:
        """The recorded trials (without analyzer output unless stored in memory), optionally by state."""
        if self._keep:
            source = self._records
        else:  # full records from storage, limited to the trials this study object has seen
            known = {t.number for t in self._records}
            judged = (self._judge(self._decoded(t)) for t in self.storage.load_trials(self._study_id)
                      if t.number in known)
            source = [t for t in judged if t is not None]
        return sorted((t for t in source if states is None or t.state in states), key=lambda t: t.number)

    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial: ``number``, ``state``, ``value``, ``params_<name>``, ``duration_s``, the built-in
        metrics, ``error`` and ``cached``, plus any algorithm attributes as ``attr_<name>`` (and, in a
        multi-objective study, each objective's value as ``values_0``, ``values_1``, ...)."""
        return trials_frame(self.get_trials(), self.space.names)

    def analysis(self, number: int) -> dict[str, Any]:
        """Every user analyzer's ``get_analysis()`` of trial ``number``, as plain data, plus ``"performance"``
        (the built-in metrics).

        Raises:
            KeyError: no trial with that number.
        """
        hit = next((t for t in self._records if t.number == number), None)
        if hit is not None and not self._keep:
            hit = next(t for t in self.get_trials() if t.number == number)
        if hit is None:
            raise KeyError(f"study {self.name!r} has no trial {number}; numbers run from 0 to {self._next_number - 1}")
        data = hit.analysis if self._keep else self.storage.load_analysis(self._study_id, number)
        return {**data, "performance": dict(hit.metrics)}

    def trial_returns(self, numbers: list[int] | None = None) -> dict[int, np.ndarray]:
        """The per-bar returns of the measured window of each trial that kept them (``keep_returns=True``).

        Read back from storage on each call (a SQLite study keeps none in memory).

        Args:
            numbers: Only these trials (``None``: every trial this study object has seen).

        Returns:
            ``{trial number: float64 array}``; trials without stored returns are left out.
        """
        known = {t.number for t in self._records}
        wanted = sorted(known if numbers is None else set(numbers) & known)
        blobs = self.storage.load_returns(self._study_id, wanted)
        return {n: unpack_returns(b) for n, b in sorted(blobs.items())}

    def overfitting(self, n_blocks: int = 16, metric: str = "sharpe_ratio") -> OverfittingReport:
        """How likely the best trial is a fluke: deflated Sharpe ratio and probability of backtest overfitting.

        Uses the per-bar returns every trial kept (``keep_returns=True``, the default). See
        :mod:`bt_optimize.robustness.overfitting` for what each number means and what it assumes (in particular
        for Bayesian and genetic studies, whose trials are not a random sample of the space).

        Args:
            n_blocks: Even number of blocks the bars are cut into for the probability of backtest overfitting.
            metric: ``"sharpe_ratio"``, ``"sortino_ratio"``, ``"mean_return"`` or ``"total_return"``: the
                performance the cross-validation ranks trials by.

        Returns:
            An :class:`~bt_optimize.robustness.overfitting.OverfittingReport`; its ``verdict`` is
            ``"insufficient"`` (never NaN) when too few trials or bars kept returns.

        Raises:
            ValueError: a bad ``n_blocks`` or ``metric``.
            ObjectiveError: a multi-objective study (no single best trial to judge; combine the objectives with
                ``bto.Score(...)``).

        Example:
            >>> rep = study.overfitting()  # doctest: +SKIP
            >>> rep.verdict, rep.dsr, rep.pbo  # doctest: +SKIP
        """
        from .robustness.overfitting import study_overfitting

        return study_overfitting(self, n_blocks=n_blocks, metric=metric)

    def run_best(self, **params: Any) -> Any:
        """Run the best parameters once more as a normal backtrader run in this process; returns the strategy.

        The run uses the same data, broker, sizers, analyzers and window as the trials, so its objective value
        equals ``best_value`` (except in a study with ``cv`` folds, whose values are fold means: it warns). Keyword
        arguments override parameters (e.g. to inspect a neighbour). A multi-objective study has no single best:
        pass the parameters of one of ``best_trials`` (``study.run_best(**study.best_trials[0].params)``).
        """
        t = self._best if self.objective.is_multi and params else self.best_trial
        if t is None:
            raise ValueError(f"study {self.name!r} has no completed trial yet")
        folds = t.user_attrs.get("folds")
        if folds:
            warn(f"the study's values are means over {len(folds)} walk-forward folds (cv={len(folds)}); "
                 "run_best() runs the whole window once, so its value is not best_value. The fold values "
                 "are in study.best_trial.user_attrs['folds'].")
        merged = {**t.params, **params}
        if self._runtime is None:
            self._runtime = Runtime(self.payload)
        res, strat = self._runtime.run(TrialSpec(t.number, merged, t.window, keep_series=True, keep_observers=True))
        if strat is None:
            raise RuntimeError(f"re-running {merged} did not produce a strategy: {res.get('error')}")
        strat.bto_result = res
        return strat

    @property
    def generations(self) -> pd.DataFrame:
        """Per-generation statistics of a genetic study (``generation``, ``best``, ``mean``, ``std``,
        ``diversity``, ``n_evaluated``, ``n_cached``, ...).

        Raises:
            AttributeError: the study's search has no generations (only ``optimize_genetic`` records them).
        """
        frame = getattr(self.search, "generations_frame", None)
        if frame is None:
            raise AttributeError(f"study {self.name!r} (method {self.method!r}) has no generations; only studies "
                                 "from optimize_genetic record per-generation statistics")
        return frame()

    def plot_generations(self, path: str | None = None) -> Any:
        """Draw best/mean fitness and diversity per generation (see :func:`bt_optimize.plotting.plot_generations`);
        returns the matplotlib Figure and saves it when ``path`` is given."""
        from .plotting import plot_generations

        return plot_generations(self.generations, path)

    def importances(self, target: int | str | None = None) -> pd.Series:
        """Each parameter's share of the objective's variance (fANOVA on a random forest; sums to 1, most
        important first). See :mod:`bt_optimize.importance` for the method and why it was chosen.

        Args:
            target: In a multi-objective study, which objective (index or name; default the first).

        Raises:
            SpaceError: fewer than :data:`bt_optimize.importance.MIN_TRIALS` complete trials.
        """
        from .importance import study_importances

        return study_importances(self, target)

    def plot_importances(self, path: str | None = None, target: int | str | None = None) -> Any:
        """Draw :meth:`importances` as horizontal bars; returns the matplotlib Figure, saved when ``path`` is given."""
        from .plotting.objectives import plot_importances

        return plot_importances(self.importances(target), path)

    def plot_pareto(self, path: str | None = None) -> Any:
        """Draw a multi-objective study's complete trials in objective space with :attr:`best_trials` highlighted
        (see :func:`bt_optimize.plotting.objectives.plot_pareto`).

        Raises:
            ObjectiveError: the study has a single objective.
        """
        from .objectives.multi import front_points
        from .plotting.objectives import plot_pareto

        points, on_front = front_points(self)
        return plot_pareto(points, on_front, self.objective.names, self.objective.directions, path)

    def plot_convergence(self, path: str | None = None) -> Any:
        """Draw each trial's value and the best so far (see :func:`bt_optimize.plotting.plot_convergence`)."""
        from .plotting import plot_convergence

        return plot_convergence(self.trials, self.objective.maximize, path)

    def plot_objective(self, path: str | None = None) -> Any:
        """Draw the objective against each parameter (see :func:`bt_optimize.plotting.plot_objective`)."""
        from .plotting import plot_objective

        return plot_objective(self.trials, self.space.names, self.objective.maximize, path)

    def plot_evaluations(self, path: str | None = None) -> Any:
        """Draw where the search looked, by trial (see :func:`bt_optimize.plotting.plot_evaluations`)."""
        from .plotting import plot_evaluations

        return plot_evaluations(self.trials, self.space.names, path)

    def report(self, path: str | Path = "report.html", *, sensitivity: Any = None,
               analyses: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
               run_best: bool = True, title: str | None = None) -> Path:
        """Write one self-contained HTML page about this study (see :mod:`bt_optimize.report`).

        Sections: set-up; best result (params, metrics, and the equity and drawdown of :meth:`run_best` against
        buy-and-hold, with its trades); trials (convergence, top 50, objective per parameter, importances and the
        heatmap of the two most important parameters); robustness (every Monte Carlo and noise-infusion analyzer
        among the best trial's analyzers and ``analyses``, ``sensitivity``, and the overfitting statistics when the
        study has them). Figures are embedded; the page loads nothing from the network.

        Args:
            path: The HTML file to write.
            sensitivity: A :class:`~bt_optimize.robustness.SensitivityResult` to include.
            analyses: More analyzer outputs to include, by name (e.g. a MonteCarlo run on the best params).
            options: The method's options, shown in the set-up.
            run_best: Re-run the best params for the equity curve and trades (one backtest).
            title: The page title (default: the study name).

        Returns:
            The path written.

        Example:
            >>> study.report("report.html")  # doctest: +SKIP
        """
        from .report import study_html

        out = Path(path)
        out.write_text(study_html(self, sensitivity=sensitivity, analyses=analyses, options=options,
                                  run_best=run_best, title=title), encoding="utf-8")
        return out

    def __repr__(self) -> str:
        best = f", best_value={self._best.value:.6g}" if self._best is not None else ""
        return f"<Study {self.name!r} method={self.method} trials={len(self._records)}{best} stop={self.stop_reason}>"
