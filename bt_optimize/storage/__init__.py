"""Where studies live: in memory (default) or in one SQLite file."""

from __future__ import annotations

from pathlib import Path

from .base import Storage
from .memory import InMemoryStorage
from .sqlite import SQLiteStorage

__all__ = ["Storage", "InMemoryStorage", "SQLiteStorage", "get_storage"]


def get_storage(storage: str | Path | Storage | None) -> Storage:
    """``None`` -> in memory; a path or ``"sqlite:///path"`` -> SQLite; a Storage passes through."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    return SQLiteStorage(storage)
