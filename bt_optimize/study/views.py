"""What a :class:`~bt_optimize.Study` shows of its trials: the best, the trials table, analyzer output, returns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._warn import warn
from ..engine.worker import Runtime, TrialSpec
from ..exceptions import ObjectiveError
from ..frames import trials_frame
from ..stats.returns import unpack_returns
from ..trial import Trial, TrialState
from .records import StudyRecords

__all__ = ["StudyViews"]


class StudyViews(StudyRecords):
    """The results part of :class:`~bt_optimize.Study`."""

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
        return self._view(self._load(self._best.number)) or self._best

    @property
    def best_trials(self) -> list[Trial]:
        """The Pareto front of a multi-objective study: complete full-fidelity trials no other dominates (see
        :mod:`bt_optimize.objectives.multi`); ``[best_trial]`` for a single objective."""
        if not self.objective.is_multi:
            return [self.best_trial]
        from ..objectives.multi import pareto_front

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

    @property
    def wall_time_s(self) -> float | None:
        """Wall-clock seconds the study's runs have taken, summed over every run of a resumed study (``None``
        before the first run has finished)."""
        wall = self.storage.get_attr(self._study_id, "wall_time_s")
        return None if wall is None else float(wall)

    def get_trials(self, states: tuple[TrialState, ...] | None = None) -> list[Trial]:
        """The recorded trials, optionally by state, read from storage: without analyzer output (see
        :meth:`analysis`) unless the storage keeps it in memory, and without returns unless the storage keeps them
        with the trials (see :meth:`trial_returns`)."""
        known = {t.number for t in self._records}  # the trials this study object has seen
        stored = self.storage.load_trials(self._study_id, with_analysis=self.storage.keeps_analysis_in_memory)
        judged = (self._view(t) for t in stored if t.number in known)
        return sorted((t for t in judged if t is not None and (states is None or t.state in states)),
                      key=lambda t: t.number)

    def _load(self, number: int) -> Trial:
        """Trial ``number`` as stored (with its analysis when the storage keeps it in memory)."""
        return self.storage.load_trial(self._study_id, number, with_analysis=self.storage.keeps_analysis_in_memory)

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
        if not any(t.number == number for t in self._records):
            raise KeyError(f"study {self.name!r} has no trial {number}; numbers run from 0 to {self._next_number - 1}")
        return {**self.storage.load_analysis(self._study_id, number), "performance": dict(self._load(number).metrics)}

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
            raise RuntimeError(f"re-running {merged} did not produce a strategy: {res.error}")
        strat.bto_result = res.as_dict()  # the plain dict users read (its keys are the public ones)
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
