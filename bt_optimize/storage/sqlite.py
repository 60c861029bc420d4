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
from .runs import CONSTRAINT_REJECTED, RunInfo

__all__ = ["SQLiteStorage", "SCHEMA_VERSION", "APPLICATION_ID", "inspect_file"]

#: Version 2 added the ``trial_returns`` table, version 3 the ``runs`` and ``claims`` tables (runs sharing a
#: study). Versions listed in ``_UPGRADABLE`` are upgraded in place when opened for writing: the tables they lack
#: are created empty (their trials simply have no stored returns, no claims).
SCHEMA_VERSION = 3
_UPGRADABLE = {1, 2}

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
CREATE TABLE IF NOT EXISTS runs (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    owner TEXT NOT NULL,
    heartbeat TEXT NOT NULL,
    PRIMARY KEY (study_id, owner)
);
CREATE TABLE IF NOT EXISTS claims (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    key TEXT NOT NULL,
    number INTEGER NOT NULL,
    owner TEXT NOT NULL,
    done INTEGER NOT NULL,
    PRIMARY KEY (study_id, key)
);
CREATE INDEX IF NOT EXISTS claims_number ON claims (study_id, number);
"""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


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


#: SQLite's ``application_id`` header field of a bt_optimize store ("BTOP"); stores written before it was set
#: are recognised by their tables.
APPLICATION_ID = 0x42544F50

#: Tables every bt_optimize store has (later versions may add more).
_OUR_TABLES = frozenset({"meta", "studies", "study_attrs", "trials"})

_SQLITE_MAGIC = b"SQLite format 3\x00"


def inspect_file(path: Path) -> str:
    """What ``path`` holds, found without writing a byte: ``"missing"``, ``"empty"`` (0 bytes or a SQLite
    database without tables) or ``"store"`` (a bt_optimize store).

    Raises:
        StorageError: the file is not a SQLite database, or a SQLite database of another application; the
            message says the file was left untouched.
    """
    if not path.exists():
        return "missing"
    if path.is_dir():
        raise StorageError(f"storage={str(path)!r} is a folder; give a file name such as {str(path / 'runs.db')!r}")
    if path.stat().st_size == 0:
        return "empty"
    with open(path, "rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        raise StorageError(f"{path} is not a usable SQLite database: it holds other data (no SQLite header), and "
                           "bt_optimize left it untouched. Give storage= a new file name, e.g. 'runs.db'")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{path} is not a usable SQLite database ({exc}); bt_optimize left it untouched") from exc
    if app_id == APPLICATION_ID or (app_id == 0 and _OUR_TABLES <= tables):
        return "store"
    if app_id == 0 and not tables:
        return "empty"
    owner = f"tables {', '.join(sorted(tables)[:5])}{', ...' if len(tables) > 5 else ''}" if tables else \
        f"application id {app_id:#x}"
    raise StorageError(f"{path} is a SQLite database of another application ({owner}), not a bt_optimize study "
                       "file; bt_optimize left it untouched. Give storage= a new file name, e.g. 'runs.db'")


class SQLiteStorage(Storage):
    """Studies in one SQLite file.

    A file that exists is first inspected without writing anything (:func:`inspect_file`): only a bt_optimize
    store, an empty file or a SQLite database without tables is opened; anything else raises
    :class:`StorageError` and is left byte for byte as it was.

    Args:
        path: The database file (created if missing), or ``"sqlite:///path.db"``.
        read_only: Open an existing store for reading only (``bt-optimize show``): a missing or empty file
            raises :class:`StorageError` too, and nothing is ever written.

    Raises:
        StorageError: a missing folder, a file that is not a bt_optimize store, another schema version.
    """

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = parse_url(path)
        self.read_only = read_only
        self._run: RunInfo | None = None  # the run of this process, set by begin_run (heartbeats)
        if self.path.parent and not self.path.parent.exists():
            raise StorageError(
                f"storage={str(path)!r}: folder {str(self.path.parent)!r} does not exist; create it first")
        kind = inspect_file(self.path)
        if read_only and kind != "store":
            raise StorageError(f"{self.path} {'does not exist' if kind == 'missing' else 'is empty'}: it holds no "
                               "bt_optimize study")
        try:
            if read_only:
                self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0,
                                            isolation_level=None, check_same_thread=False)
            else:
                # check_same_thread=False: a walk-forward's window threads share this connection, one call at a
                # time behind bt_optimize.storage.locked.LockedStorage
                self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                            check_same_thread=False)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                if kind != "store":
                    self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        self.conn.execute(stmt)
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is not None and int(row[0]) in _UPGRADABLE:
                if not read_only:  # additive: the tables it lacks were created above
                    self.conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
                row = (str(SCHEMA_VERSION),)  # (a reader of an older store finds the added tables missing or empty)
            if row is None or int(row[0]) != SCHEMA_VERSION:
                raise StorageError(f"{self.path} uses storage schema {None if row is None else row[0]}, this "
                                   f"version of bt_optimize reads {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self.path} is not a usable SQLite database: {exc}") from exc

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            if self.conn.in_transaction:  # left open by a Ctrl-C between BEGIN and the body: nothing was written
                self.conn.execute("ROLLBACK")
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

    # ------------------------------------------------------------------ runs sharing a study
    def _heartbeat(self, c: sqlite3.Connection, study_id: int, run: RunInfo | None) -> None:
        """Note that ``run`` (registered by :meth:`begin_run`) is alive; nothing for an unregistered run."""
        if run is not None:
            c.execute("UPDATE runs SET heartbeat=? WHERE study_id=? AND owner=?", (_now(), study_id, run.owner))

    def _live(self, c: sqlite3.Connection, study_id: int) -> dict[str, RunInfo]:
        """The runs of the study that are not gone, by owner."""
        out = {}
        for owner, beat in c.execute("SELECT owner, heartbeat FROM runs WHERE study_id=?", (study_id,)):
            run = RunInfo.parse(owner)
            if not run.is_gone(beat):
                out[owner] = run
        return out

    def begin_run(self, study_id: int, run: RunInfo) -> list[RunInfo]:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?)", (study_id, run.owner, _now()))
            self._run = run
            return [r for owner, r in self._live(c, study_id).items() if owner != run.owner]

    def _budget_used(self, c: sqlite3.Connection, study_id: int) -> int:
        ran = c.execute("SELECT count(*) FROM trials WHERE study_id=? AND cached=0 AND "
                        "(error IS NULL OR error != ?)", (study_id, CONSTRAINT_REJECTED)).fetchone()[0]
        live = list(self._live(c, study_id))
        marks = ",".join("?" * len(live))
        running = c.execute(f"SELECT count(*) FROM claims WHERE study_id=? AND done=0 AND owner IN ({marks})",
                            (study_id, *live)).fetchone()[0] if live else 0
        return int(ran) + int(running)

    def budget_used(self, study_id: int) -> int:
        return self._budget_used(self.conn, study_id)

    def claim(self, study_id: int, key: str, run: RunInfo, retake: bool = False,
              budget: int | None = None) -> int | None:
        with self._tx() as c:
            if budget is not None and self._budget_used(c, study_id) >= budget:
                return None
            row = c.execute("SELECT number, owner, done FROM claims WHERE study_id=? AND key=?",
                            (study_id, key)).fetchone()
            if row is not None:
                number, owner, done = row
                if (done and not retake) or (not done and owner in self._live(c, study_id)):
                    return None
                if done:  # retake: the stored trial keeps its number, the new run gets the next one
                    number = self._top(c, study_id) + 1
                c.execute("UPDATE claims SET owner=?, number=?, done=0 WHERE study_id=? AND key=?",
                          (run.owner, number, study_id, key))
            else:
                number = self._lowest_free(c, study_id)
                c.execute("INSERT INTO claims VALUES (?, ?, ?, ?, 0)", (study_id, key, number, run.owner))
            self._heartbeat(c, study_id, run)
            return int(number)

    @staticmethod
    def _top(c: sqlite3.Connection, study_id: int) -> int:
        """The largest trial number stored or claimed in the study (-1: none)."""
        top = c.execute("SELECT max(n) FROM (SELECT max(number) AS n FROM trials WHERE study_id=? UNION ALL "
                        "SELECT max(number) FROM claims WHERE study_id=?)", (study_id, study_id)).fetchone()[0]
        return -1 if top is None else int(top)

    @staticmethod
    def _lowest_free(c: sqlite3.Connection, study_id: int) -> int:
        """The smallest trial number neither stored nor claimed: the next one, or a hole an interrupted run left
        when it dropped the claims of trials it never finished (so a resumed study is numbered 0..n-1 again)."""
        used = "SELECT number FROM trials WHERE study_id=? UNION SELECT number FROM claims WHERE study_id=?"
        top, count = c.execute(f"SELECT max(number), count(*) FROM ({used})", (study_id, study_id)).fetchone()
        if top is None:
            return 0
        if int(count) == int(top) + 1:  # no hole: the cheap, usual case
            return int(top) + 1
        return int(c.execute(f"SELECT min(n) FROM (SELECT 0 AS n UNION SELECT number + 1 FROM ({used})) "
                             f"WHERE n NOT IN ({used})", (study_id, study_id) * 2).fetchone()[0])

    def foreign_claims(self, study_id: int, run: RunInfo) -> set[int]:
        live = [o for o in self._live(self.conn, study_id) if o != run.owner]
        if not live:
            return set()
        marks = ",".join("?" * len(live))
        return {int(n) for (n,) in self.conn.execute(
            f"SELECT number FROM claims WHERE study_id=? AND done=0 AND owner IN ({marks})", (study_id, *live))}

    def new_trials(self, study_id: int, cursor: int) -> tuple[list[Trial], int]:
        top = self.conn.execute("SELECT max(rowid) FROM trials WHERE study_id=?", (study_id,)).fetchone()[0]
        if top is None or int(top) <= cursor:
            return [], cursor
        return self._load(study_id, "AND rowid > ? AND rowid <= ?", (cursor, int(top))), int(top)

    def end_run(self, study_id: int, run: RunInfo) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM claims WHERE study_id=? AND owner=? AND done=0", (study_id, run.owner))
            c.execute("DELETE FROM runs WHERE study_id=? AND owner=?", (study_id, run.owner))
        if self._run == run:
            self._run = None

    # ------------------------------------------------------------------ trials
    def add_trial(self, study_id: int, trial: Trial) -> None:
        try:
            with self._tx() as c:
                c.execute("UPDATE claims SET done=1 WHERE study_id=? AND number=?", (study_id, trial.number))
                self._heartbeat(c, study_id, self._run)
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
        return self._load(study_id, "", (), with_analysis)

    def _load(self, study_id: int, where: str, args: tuple[Any, ...], with_analysis: bool = False) -> list[Trial]:
        cols = "number, state, value, params, metrics, {}, error, duration_s, window, user_attrs, cached".format(
            "analysis" if with_analysis else "'{}'")
        rows = self.conn.execute(f"SELECT {cols} FROM trials WHERE study_id=? {where} ORDER BY number",
                                 (study_id, *args))
        out = []
        for r in rows:
            out.append(Trial(
                number=int(r[0]), state=TrialState(r[1]), value=r[2], params=json.loads(r[3]),
                metrics=json.loads(r[4]), analysis=json.loads(r[5]), error=r[6], duration_s=float(r[7]),
                window=Window(**json.loads(r[8])), user_attrs=json.loads(r[9]), cached=bool(r[10]),
            ))
        return out

    def load_trial(self, study_id: int, number: int, with_analysis: bool = False) -> Trial:
        found = self._load(study_id, "AND number=?", (int(number),), with_analysis)
        if not found:
            raise KeyError(number)
        return found[0]

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

