"""A storage several threads may use at once: every call holds one lock (a walk-forward's window threads)."""

from __future__ import annotations

import functools
import threading
from typing import Any

from ..trial import Trial
from .base import Storage

__all__ = ["LockedStorage"]


class LockedStorage(Storage):
    """Wraps a storage so that calls from several threads run one at a time, in the order they take the lock.

    Methods a backend adds beyond the :class:`~bt_optimize.storage.base.Storage` contract are passed through under
    the same lock. The wrapped storage must accept calls from threads other than the one that opened it (the
    SQLite backend does; its connection is shared behind this lock).

    Args:
        inner: The storage to share.
    """

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self._lock = threading.RLock()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return getattr(self.inner, name)(*args, **kwargs)

    def open_study(self, name: str, config: dict[str, Any]) -> tuple[int, list[Trial]]:
        return self._call("open_study", name, config)

    def add_trial(self, study_id: int, trial: Trial) -> None:
        self._call("add_trial", study_id, trial)

    def load_trials(self, study_id: int, with_analysis: bool = False) -> list[Trial]:
        return self._call("load_trials", study_id, with_analysis)

    def load_analysis(self, study_id: int, number: int) -> dict[str, Any]:
        return self._call("load_analysis", study_id, number)

    def set_attr(self, study_id: int, key: str, value: Any) -> None:
        self._call("set_attr", study_id, key, value)

    def get_attr(self, study_id: int, key: str, default: Any = None) -> Any:
        return self._call("get_attr", study_id, key, default)

    def study_names(self) -> list[str]:
        return self._call("study_names")

    def close(self) -> None:
        self._call("close")

    @property
    def keeps_analysis_in_memory(self) -> bool:
        return self.inner.keeps_analysis_in_memory

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return locked
