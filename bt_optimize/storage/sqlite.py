"""SQLite storage: one file holds many studies; every finished trial is committed at once (WAL mode)."""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from ..exceptions import StorageError
from ..stats.returns import packed_length
from ..trial import Trial, TrialState, Window
from .base import Storage, check_config

__all__ = ["SQLiteStorage", "SCHEMA_VERSION"]

#: Version 2 added the ``trial_returns`` table; a version-1 file is upgraded in place when opened (the new table
#: is created empty: its trials simply have no stored returns).
SCHEMA_VERSION = 2
_UPGRADABLE = {1}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS study_attrs (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (study_id, key)
);
CREATE TABLE IF NOT EXISTS trials (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    value REAL,
    params TEXT NOT NULL,
    metrics TEXT NOT NULL,
    analysis TEXT NOT NULL,
    error TEXT,
    duration_s REAL NOT NULL,
    window TEXT NOT NULL,
    user_attrs TEXT NOT NULL,
    cached INTEGER NOT NULL,
    finished TEXT NOT NULL,
    PRIMARY KEY (study_id, number)
);
CREATE TABLE IF NOT EXISTS trial_returns (
    study_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    n_bars INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (study_id, number)
);
"""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, allow_nan=False, default=repr)


def parse_url(storage: str | Path) -> Path:
    """``"runs.db"``, ``Path("runs.db")`` or ``"sqlite:///runs.db"`` -> a path."""
    s = str(storage)
    if s.startswith("sqlite:///"):
        s = s[len("sqlite:///"):]
    elif "://" in s:
        raise StorageError(f"storage={storage!r}: only SQLite is supported; give a file path or 'sqlite:///path.db'")
    return Path(s)


class SQLiteStorage(Storage):
    """Studies in one SQLite file.

    Args:
        path: The database file (created if missing), or ``"sqlite:///path.db"``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = parse_url(path)
        if self.path.parent and not self.path.parent.exists():
            raise StorageError(
                f"storage={str(path)!r}: folder {str(self.path.parent)!r} does not exist; create it first")
        try:
            # check_same_thread=False: a walk-forward's window threads share this connection, one call at a time
            # behind bt_optimize.storage.locked.LockedStorage
            self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    self.conn.execute(stmt)
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) in _UPGRADABLE:  # additive upgrade: the new tables were created above
                self.conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise StorageError(
                    f"{self.path} uses storage schema {row[0]}, this version of bt_optimize reads {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self.path} is not a usable SQLite database: {exc}") from exc

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, et: Any, *_: Any) -> None:
            self.conn.execute("ROLLBACK" if et else "COMMIT")

    def _tx(self) -> SQLiteStorage._Tx:
        return SQLiteStorage._Tx(self.conn)

    def open_study(self, name: str, config: dict[str, Any]) -> tuple[int, list[Trial]]:
        row = self.conn.execute("SELECT id, config FROM studies WHERE name=?", (name,)).fetchone()
        if row is not None:
            check_config(name, json.loads(row[1]), config)
            return int(row[0]), self.load_trials(int(row[0]))
        with self._tx() as c:
            cur = c.execute("INSERT INTO studies (name, created, config) VALUES (?, ?, ?)",
                            (name, _dt.datetime.now(_dt.timezone.utc).isoformat(), _dumps(config)))
            return int(cur.lastrowid), []

    def add_trial(self, study_id: int, trial: Trial) -> None:
        try:
            with self._tx() as c:
                c.execute(
                    "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (study_id, trial.number, trial.state.value, trial.value, _dumps(trial.params),
                     _dumps(trial.metrics), _dumps(trial.analysis), trial.error, float(trial.duration_s),
                     _dumps(trial.window.to_dict()), _dumps(trial.user_attrs), int(trial.cached),
                     _dt.datetime.now(_dt.timezone.utc).isoformat()),
                )
                if trial.returns is not None:
                    c.execute("INSERT INTO trial_returns VALUES (?, ?, ?, ?)",
                              (study_id, trial.number, packed_length(trial.returns), sqlite3.Binary(trial.returns)))
        except sqlite3.IntegrityError as exc:
            raise StorageError(f"trial {trial.number} is already stored in {self.path}") from exc

    def load_trials(self, study_id: int, with_analysis: bool = False) -> list[Trial]:
        cols = "number, state, value, params, metrics, {}, error, duration_s, window, user_attrs, cached".format(
            "analysis" if with_analysis else "'{}'")
        rows = self.conn.execute(f"SELECT {cols} FROM trials WHERE study_id=? ORDER BY number", (study_id,))
        out = []
        for r in rows:
            out.append(Trial(
                number=int(r[0]), state=TrialState(r[1]), value=r[2], params=json.loads(r[3]),
                metrics=json.loads(r[4]), analysis=json.loads(r[5]), error=r[6], duration_s=float(r[7]),
                window=Window(**json.loads(r[8])), user_attrs=json.loads(r[9]), cached=bool(r[10]),
            ))
        return out

    def load_analysis(self, study_id: int, number: int) -> dict[str, Any]:
        row = self.conn.execute("SELECT analysis FROM trials WHERE study_id=? AND number=?",
                                (study_id, number)).fetchone()
        if row is None:
            raise KeyError(number)
        return json.loads(row[0])

    def load_returns(self, study_id: int, numbers: list[int] | None = None) -> dict[int, bytes]:
        rows = self.conn.execute("SELECT number, data FROM trial_returns WHERE study_id=? ORDER BY number",
                                 (study_id,))
        wanted = None if numbers is None else set(numbers)
        return {int(n): bytes(d) for n, d in rows if wanted is None or int(n) in wanted}

    def set_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO study_attrs VALUES (?, ?, ?)", (study_id, key, _dumps(value)))

    def get_attr(self, study_id: int, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM study_attrs WHERE study_id=? AND key=?",
                                (study_id, key)).fetchone()
        return default if row is None else json.loads(row[0])

    def study_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM studies ORDER BY id")]

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

