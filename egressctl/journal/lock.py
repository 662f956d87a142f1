"""Site locks: one operation per site, as a lease in the journal.

The owner is ``host:pid``. A running operation renews its lease; a lock is free when its lease expired,
or when its owner is a process on this host that no longer exists (a crashed run), so re-running the same
command after a crash takes the lock over instead of waiting for an operator.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from dataclasses import asdict, dataclass
from typing import Any

from egressctl.errors import SiteLocked
from egressctl.journal import audit

DEFAULT_LEASE = 60.0


def this_owner() -> str:
    """The lock owner string of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str) -> bool | None:
    """True/False when ``owner`` is a process on this host; None when it lives elsewhere (unknown)."""
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class LockInfo:
    """Who holds a site's lock and until when."""

    site: str
    owner: str
    op_id: str | None
    acquired: float
    expires: float

    @property
    def stale(self) -> bool:
        """True when the lease ran out or the owner is a dead process on this host."""
        return self.expires < time.time() or owner_alive(self.owner) is False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with ``stale``)."""
        return {**asdict(self), "stale": self.stale}


def _info(row: sqlite3.Row | None) -> LockInfo | None:
    if row is None:
        return None
    return LockInfo(row["site"], row["owner"], row["op_id"], float(row["acquired"]), float(row["expires"]))


def read(cur: sqlite3.Cursor, site: str) -> LockInfo | None:
    """The current lock row of ``site``, if any."""
    return _info(cur.execute("SELECT * FROM locks WHERE site=?", (site,)).fetchone())


def acquire(cur: sqlite3.Cursor, site: str, owner: str, op_id: str | None, lease: float) -> LockInfo:
    """Take the lock (inside an immediate transaction), taking over a stale one.

    Raises:
        SiteLocked: another live owner holds an unexpired lease.
    """
    now = time.time()
    held = read(cur, site)
    if held is not None and held.owner != owner and not held.stale:
        raise SiteLocked(site, held.owner, time.strftime("%H:%M:%S", time.localtime(held.expires)))
    cur.execute("INSERT OR REPLACE INTO locks(site, owner, op_id, acquired, expires) VALUES(?,?,?,?,?)",
                (site, owner, op_id, now, now + lease))
    payload: dict[str, Any] = {"owner": owner, "lease": lease}
    if held is not None and held.owner != owner:
        payload["took_over"] = held.owner
    audit.append(cur, now, site, op_id, "lock-acquired", payload)
    return LockInfo(site, owner, op_id, now, now + lease)


def renew(cur: sqlite3.Cursor, site: str, owner: str, lease: float) -> bool:
    """Extend the lease if ``owner`` still holds it; False when the lock was lost."""
    res = cur.execute("UPDATE locks SET expires=? WHERE site=? AND owner=?",
                      (time.time() + lease, site, owner))
    return res.rowcount == 1


def release(cur: sqlite3.Cursor, site: str, owner: str, op_id: str | None) -> None:
    """Drop the lock if ``owner`` holds it."""
    res = cur.execute("DELETE FROM locks WHERE site=? AND owner=?", (site, owner))
    if res.rowcount:
        audit.append(cur, time.time(), site, op_id, "lock-released", {"owner": owner})


def force(cur: sqlite3.Cursor, site: str, by: str) -> LockInfo | None:
    """Remove the lock whoever holds it (operator's ``unlock``); returns what was removed."""
    held = read(cur, site)
    if held is not None:
        cur.execute("DELETE FROM locks WHERE site=?", (site,))
        audit.append(cur, time.time(), site, held.op_id, "lock-forced",
                     {"owner": held.owner, "by": by, "was_stale": held.stale})
    return held
