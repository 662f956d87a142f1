"""The journal's SQLite file: schema, connection settings, private permissions and one write lock.

SQLite in WAL mode with ``synchronous=FULL``: a row is on disk before the step it records runs, so a crash
(even SIGKILL or power loss) leaves a journal that explains what was happening. One connection per
:class:`Database`, shared by the executor's threads behind a lock; other processes coordinate through
SQLite's own locking (``BEGIN IMMEDIATE`` + ``busy_timeout``).

The journal holds configuration snapshots, so its files are created ``0600`` (SQLite gives the ``-wal``
and ``-shm`` files the database file's permissions). :meth:`Database.probe_write` proves, before any
device is touched, that a write really reaches the disk: a full file system, a read-only mount or a lock
held by a hung process stops the operation there, with nothing changed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from egressctl.errors import JournalError, JournalUnusable

SCHEMA_VERSION = "1"
#: Files of the journal (the database and SQLite's WAL companions); each is kept private (0600).
SUFFIXES = ("", "-wal", "-shm")
#: Bytes the pre-operation probe writes: an operation journals a few hundred rows of about this size in
#: total, so a disk that cannot take them fails here rather than between a commit and its confirm.
PROBE_BYTES = 64 * 1024

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
CREATE TABLE IF NOT EXISTS device_states(
    site TEXT NOT NULL, device TEXT NOT NULL, state TEXT NOT NULL, op_id TEXT, updated REAL NOT NULL,
    PRIMARY KEY(site, device));
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

    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            private_files(path)
            self._conn = sqlite3.connect(
                str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES('schema', ?)", (SCHEMA_VERSION,)
            )
            private_files(path)
        except (sqlite3.Error, OSError) as exc:
            raise JournalUnusable(f"journal {path} cannot be opened: {exc}; nothing was changed") from exc

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

    def probe_write(self) -> None:
        """Write (and commit) a row of :data:`PROBE_BYTES` and remove it: the journal takes writes now.

        Raises:
            JournalUnusable: the disk is full, the file system is read-only, or another process holds the
                journal's write lock past the busy timeout (a hung run). Nothing was touched.
        """
        blob = os.urandom(PROBE_BYTES // 2).hex()
        try:
            with self.transaction() as cur:
                cur.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('probe', ?)", (blob,))
            with self.transaction() as cur:
                cur.execute("UPDATE meta SET value=? WHERE key='probe'", (repr(time.time()),))
        except JournalError as exc:
            raise JournalUnusable(f"journal {self.path} cannot be written ({exc.__cause__ or exc}); "
                                "nothing was changed") from exc

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


def private_files(path: Path) -> None:
    """Create ``path`` as ``0600`` if it is missing, and take group/other access from every journal file.

    Creating the database file first, private, is what makes SQLite create ``-wal``/``-shm`` private too.
    """
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for suffix in SUFFIXES:
        f = path.with_name(path.name + suffix)
        try:
            if f.stat().st_mode & 0o077:
                f.chmod(0o600)
        except FileNotFoundError:
            continue
