"""The journal's SQLite file: schema, connection settings and one write lock.

SQLite in WAL mode with ``synchronous=FULL``: a row is on disk before the step it records runs, so a crash
(even SIGKILL or power loss) leaves a journal that explains what was happening. One connection per
:class:`Database`, shared by the executor's threads behind a lock; other processes coordinate through
SQLite's own locking (``BEGIN IMMEDIATE`` + ``busy_timeout``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from egressctl.errors import JournalError

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sites(
    site TEXT PRIMARY KEY, state TEXT NOT NULL, op_id TEXT, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS operations(
    op_id TEXT PRIMARY KEY, site TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,
    from_state TEXT NOT NULL, devices TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT,
    message TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL, resumes TEXT,
    started REAL NOT NULL, finished REAL);
CREATE INDEX IF NOT EXISTS operations_site ON operations(site, started);
CREATE TABLE IF NOT EXISTS steps(
    id INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL, site TEXT NOT NULL, device TEXT NOT NULL,
    step TEXT NOT NULL, status TEXT NOT NULL, detail TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS steps_op ON steps(op_id, id);
CREATE TABLE IF NOT EXISTS snapshots(
    id INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL, site TEXT NOT NULL, device TEXT NOT NULL,
    at REAL NOT NULL, sha256 TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verifications(
    id INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT, site TEXT NOT NULL, verdict TEXT NOT NULL,
    summary TEXT NOT NULL, details TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS locks(
    site TEXT PRIMARY KEY, owner TEXT NOT NULL, op_id TEXT, acquired REAL NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit(
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, site TEXT NOT NULL, op_id TEXT, kind TEXT NOT NULL,
    payload TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


class Database:
    """One SQLite connection to ``journal.db``, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(path), timeout=10.0, isolation_level=None, check_same_thread=False
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=10000")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES('schema', ?)", (SCHEMA_VERSION,)
            )
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"cannot open journal {path}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction taken immediately (so the audit chain's tail cannot race another process)."""
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                yield cur
                cur.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise JournalError(f"journal write failed: {exc}") from exc
                raise
            finally:
                cur.close()

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Run a read query and return every row."""
        with self._lock:
            try:
                return list(self._conn.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise JournalError(f"journal read failed: {exc}") from exc

    def journal_mode(self) -> str:
        """The SQLite journal mode in force (``wal``)."""
        return str(self.query("PRAGMA journal_mode")[0][0])

    def close(self) -> None:
        """Close the connection. Never raises."""
        with self._lock, suppress(sqlite3.Error):
            self._conn.close()
