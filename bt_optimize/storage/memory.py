"""In-memory storage (the default): nothing survives the process."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..exceptions import StorageError
from ..trial import Trial
from .base import Storage, check_config
from .runs import RunInfo

__all__ = ["InMemoryStorage"]


class InMemoryStorage(Storage):
    """Keeps studies in dictionaries; honours the whole contract (``load_trials`` and ``load_trial`` leave the
    analysis out unless ``with_analysis``), so a study reads it exactly as it reads SQLite.

    Every load hands out the same objects: the trial as stored (``with_analysis=True``) or one light copy of it
    made when it was stored, so a trial keeps its identity across calls.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._config: dict[int, dict[str, Any]] = {}
        self._trials: dict[int, dict[int, Trial]] = {}
        self._light: dict[int, dict[int, Trial]] = {}
        self._attrs: dict[int, dict[str, Any]] = {}
        self._claims: dict[int, dict[str, int]] = {}
        self._next: dict[int, int] = {}  # next free trial number of each study
        self._holes: dict[int, set[int]] = {}  # numbers below it that an ended run claimed and never stored

    def open_study(self, name: str, config: dict[str, Any]) -> tuple[int, list[Trial]]:
        if name in self._ids:
            sid = self._ids[name]
            check_config(name, self._config[sid], config)
            return sid, self.load_trials(sid)
        sid = len(self._ids) + 1
        self._ids[name] = sid
        self._config[sid] = dict(config)
        self._trials[sid] = {}
        self._light[sid] = {}
        self._attrs[sid] = {}
        return sid, []

    def claim(self, study_id: int, key: str, run: RunInfo, retake: bool = False,
              budget: int | None = None) -> int | None:  # one process: the study counts its budget itself
        claims = self._claims.setdefault(study_id, {})
        if key in claims and not (retake and claims[key] in self._trials[study_id]):
            return None
        holes = self._holes.get(study_id)
        if holes:  # numbers an interrupted run left unused go first, as in SQLite
            number = min(holes)
            holes.discard(number)
        else:
            number = self._next.get(study_id, 0)
            self._next[study_id] = number + 1
        claims[key] = number
        return number

    def end_run(self, study_id: int, run: RunInfo) -> None:
        claims = self._claims.get(study_id, {})
        for key in [k for k, n in claims.items() if n not in self._trials[study_id]]:
            self._holes.setdefault(study_id, set()).add(claims.pop(key))

    def add_trial(self, study_id: int, trial: Trial) -> None:
        if trial.number in self._trials[study_id]:
            raise StorageError(f"trial {trial.number} is already stored")
        self._trials[study_id][trial.number] = trial
        self._next[study_id] = max(self._next.get(study_id, 0), trial.number + 1)
        # made once, so every load returns the same objects (the full trial's other fields are shared)
        self._light[study_id][trial.number] = replace(trial, analysis={}) if trial.analysis else trial

    def load_trials(self, study_id: int, with_analysis: bool = False) -> list[Trial]:
        store = self._trials if with_analysis else self._light
        return [store[study_id][k] for k in sorted(store[study_id])]

    def load_trial(self, study_id: int, number: int, with_analysis: bool = False) -> Trial:
        return (self._trials if with_analysis else self._light)[study_id][number]

    def load_analysis(self, study_id: int, number: int) -> dict[str, Any]:
        return self._trials[study_id][number].analysis

    def set_attr(self, study_id: int, key: str, value: Any) -> None:
        self._attrs[study_id][key] = value

    def get_attr(self, study_id: int, key: str, default: Any = None) -> Any:
        return self._attrs[study_id].get(key, default)

    def study_names(self) -> list[str]:
        return list(self._ids)

    @property
    def keeps_analysis_in_memory(self) -> bool:
        return True
