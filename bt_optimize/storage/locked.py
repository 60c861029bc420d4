"""A storage several threads may use at once: every call holds one lock (a walk-forward's window threads)."""

from __future__ import annotations

import functools
import threading
from typing import Any

from .base import Storage

__all__ = ["LockedStorage"]


class LockedStorage:
    """Stands in for a :class:`~bt_optimize.storage.base.Storage` so that calls from several threads run one at a
    time.

    Every method of the wrapped storage (the contract's and any a backend adds) is called under one lock; other
    attributes (``keeps_analysis_in_memory``) are read through. The wrapped storage must accept calls from threads
    other than the one that opened it (the SQLite backend shares its connection behind this lock).

    Args:
        inner: The storage to share.
    """

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return locked
