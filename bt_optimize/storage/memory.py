"""In-memory storage (the default): nothing survives the process."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..exceptions import StorageError
from ..trial import Trial
from .base import Storage, check_config

__all__ = ["InMemoryStorage"]


class InMemoryStorage(Storage):
    """Keeps studies in dictionaries; honours the whole contract (``load_trials`` leaves analysis out unless
    ``with_analysis``), so a study reads it exactly as it reads SQLite."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._config: dict[int, dict[str, Any]] = {}
        self._trials: dict[int, dict[int, Trial]] = {}
        self._light: dict[int, dict[int, Trial]] = {}
        self._attrs: dict[int, dict[str, Any]] = {}

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

    def add_trial(self, study_id: int, trial: Trial) -> None:
        if trial.number in self._trials[study_id]:
            raise StorageError(f"trial {trial.number} is already stored")
        self._trials[study_id][trial.number] = trial
        # made once, so every load returns the same objects (the full trial's other fields are shared)
        self._light[study_id][trial.number] = replace(trial, analysis={}) if trial.analysis else trial

    def load_trials(self, study_id: int, with_analysis: bool = False) -> list[Trial]:
        store = self._trials if with_analysis else self._light
        return [store[study_id][k] for k in sorted(store[study_id])]

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
