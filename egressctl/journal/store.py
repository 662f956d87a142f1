"""The journal: what egressctl did, is doing and left unfinished, per site.

It is a sink of the executor's event stream (every device step is written before and after it runs), plus
the records an event does not carry: operations, site states, config snapshots, verification results and
site locks. Every write also appends to the hash-chained audit trail, in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from egressctl.errors import EgressError
from egressctl.events import DeviceStep, Event, OperationFinished, VerificationDone
from egressctl.inventory.credentials import redact
from egressctl.journal import audit, lock
from egressctl.journal.audit import ChainCheck, JournalEntry
from egressctl.journal.db import Database
from egressctl.journal.lock import LockInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OperationRecord:
    """One operation (isolate, restore...) on a site. ``status``: running, finished or interrupted."""

    op_id: str
    site: str
    kind: str
    target: str
    from_state: str
    devices: tuple[str, ...]
    owner: str
    status: str = "running"
    outcome: str | None = None
    message: str = ""
    resumes: str | None = None
    started: float = 0.0
    finished: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "devices": list(self.devices)}


@dataclass(frozen=True)
class StepRecord:
    """One device step row."""

    op_id: str
    device: str
    step: str
    status: str
    detail: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _op(row: sqlite3.Row) -> OperationRecord:
    return OperationRecord(
        row["op_id"], row["site"], row["kind"], row["target"], row["from_state"],
        tuple(json.loads(row["devices"])), row["owner"], row["status"], row["outcome"], row["message"],
        row["resumes"], float(row["started"]), row["finished"],
    )


def _step(row: sqlite3.Row) -> StepRecord:
    return StepRecord(row["op_id"], row["device"], row["step"], row["status"], row["detail"],
                      float(row["at"]))


class Journal:
    """The SQLite journal in ``{state_dir}/journal.db``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / "journal.db"
        self.db = Database(self.path)

    # --- the event sink -------------------------------------------------------------------------------
    def record(self, event: Event) -> None:
        """Write one event (and its audit row) durably. Raises JournalError when it cannot."""
        payload = {k: v for k, v in event.to_dict().items() if k not in ("op_id", "site", "at")}
        with self.db.transaction() as cur:
            if isinstance(event, DeviceStep):
                cur.execute(
                    "INSERT INTO steps(op_id, site, device, step, status, detail, at) VALUES(?,?,?,?,?,?,?)",
                    (event.op_id, event.site, event.device, event.step.value, event.status.value,
                     redact(event.detail), event.at),
                )
            elif isinstance(event, VerificationDone):
                cur.execute(
                    "INSERT INTO verifications(op_id, site, verdict, summary, details, at)"
                    " VALUES(?,?,?,?,?,?)",
                    (event.op_id or None, event.site, event.verdict, redact(event.summary),
                     audit.canonical(event.details), event.at),
                )
            elif isinstance(event, OperationFinished):
                cur.execute(
                    "UPDATE operations SET status='finished', outcome=?, message=?, finished=? WHERE op_id=?",
                    (event.outcome, redact(event.message), event.at, event.op_id),
                )
            audit.append(cur, event.at, event.site, event.op_id or None, event.kind, payload)

    def __call__(self, event: Event) -> None:
        """Sink form of :meth:`record`: never raises (errors are logged)."""
        try:
            self.record(event)
        except EgressError as exc:
            log.error("journal: %s", exc)

    # --- operations and site state --------------------------------------------------------------------
    def start_operation(self, op: OperationRecord, site_state: str) -> None:
        """Create the operation row and move the site to ``site_state`` (e.g. ``isolating``)."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO operations(op_id, site, kind, target, from_state, devices, status, outcome,"
                " message, owner, resumes, started, finished) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (op.op_id, op.site, op.kind, op.target, op.from_state, json.dumps(list(op.devices)),
                 op.status, op.outcome, op.message, op.owner, op.resumes, op.started, op.finished),
            )
            audit.append(cur, op.started, op.site, op.op_id, "operation-created",
                         {k: v for k, v in op.to_dict().items() if k not in ("op_id", "site", "started")})
            self._set_state(cur, op.site, site_state, op.op_id)

    def mark_interrupted(self, op_id: str, site: str, resumed_by: str) -> None:
        """Close an operation a crash left running; the resuming one names it in ``resumes``."""
        with self.db.transaction() as cur:
            cur.execute("UPDATE operations SET status='interrupted', finished=? WHERE op_id=?",
                        (time.time(), op_id))
            audit.append(cur, time.time(), site, op_id, "operation-interrupted", {"resumed_by": resumed_by})

    def set_site_state(self, site: str, state: str, op_id: str | None) -> None:
        """Move the site's state machine (audited)."""
        with self.db.transaction() as cur:
            self._set_state(cur, site, state, op_id)

    @staticmethod
    def _set_state(cur: sqlite3.Cursor, site: str, state: str, op_id: str | None) -> None:
        now = time.time()
        old = cur.execute("SELECT state FROM sites WHERE site=?", (site,)).fetchone()
        cur.execute("INSERT OR REPLACE INTO sites(site, state, op_id, updated) VALUES(?,?,?,?)",
                    (site, state, op_id, now))
        audit.append(cur, now, site, op_id, "site-state", {"from": old[0] if old else "normal", "to": state})

    def set_device_states(self, site: str, states: dict[str, str], op_id: str | None) -> None:
        """Record where each of ``states``' devices now stands (audited), e.g. after ``--device X``."""
        if not states:
            return
        now = time.time()
        with self.db.transaction() as cur:
            for device, state in sorted(states.items()):
                cur.execute("INSERT OR REPLACE INTO device_states(site, device, state, op_id, updated)"
                            " VALUES(?,?,?,?,?)", (site, device, state, op_id, now))
            audit.append(cur, now, site, op_id, "device-states", dict(sorted(states.items())))

    def device_states(self, site: str) -> dict[str, str]:
        """Each device's recorded state (devices never operated on are absent)."""
        rows = self.db.query("SELECT device, state FROM device_states WHERE site=? ORDER BY device", (site,))
        return {r["device"]: r["state"] for r in rows}

    def probe_write(self) -> None:
        """Prove the journal takes a durable write now (see :meth:`Database.probe_write`)."""
        self.db.probe_write()

    def site_state(self, site: str) -> str:
        """The site's recorded state (``normal`` when never operated)."""
        rows = self.db.query("SELECT state FROM sites WHERE site=?", (site,))
        return str(rows[0]["state"]) if rows else "normal"

    def sites(self) -> dict[str, str]:
        """Every site the journal knows, with its state."""
        return {r["site"]: r["state"] for r in self.db.query("SELECT site, state FROM sites ORDER BY site")}

    def operation(self, op_id: str) -> OperationRecord | None:
        """One operation by id."""
        rows = self.db.query("SELECT * FROM operations WHERE op_id=?", (op_id,))
        return _op(rows[0]) if rows else None

    def operations(self, site: str | None = None, limit: int = 50) -> list[OperationRecord]:
        """Latest operations first."""
        if site is None:
            rows = self.db.query("SELECT * FROM operations ORDER BY started DESC LIMIT ?", (limit,))
        else:
            rows = self.db.query("SELECT * FROM operations WHERE site=? ORDER BY started DESC LIMIT ?",
                                 (site, limit))
        return [_op(r) for r in rows]

    def unfinished(self, site: str) -> OperationRecord | None:
        """The operation a crash left running on ``site``, if any."""
        rows = self.db.query("SELECT * FROM operations WHERE site=? AND status='running'"
                             " ORDER BY started DESC LIMIT 1", (site,))
        return _op(rows[0]) if rows else None

    def steps(self, op_id: str) -> list[StepRecord]:
        """Every step row of an operation, in order."""
        return [_step(r) for r in self.db.query("SELECT * FROM steps WHERE op_id=? ORDER BY id", (op_id,))]

    def last_steps(self, op_id: str) -> dict[str, StepRecord]:
        """The latest step row of each device of an operation."""
        out: dict[str, StepRecord] = {}
        for rec in self.steps(op_id):
            out[rec.device] = rec
        return out

    # --- snapshots and verifications ------------------------------------------------------------------
    def record_snapshot(self, op_id: str, site: str, device: str, text: str) -> None:
        """Keep a device's configuration as it was before a change (redacted)."""
        clean = redact(text)
        digest = hashlib.sha256(clean.encode()).hexdigest()
        now = time.time()
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO snapshots(op_id, site, device, at, sha256, text) VALUES(?,?,?,?,?,?)",
                        (op_id, site, device, now, digest, clean))
            audit.append(cur, now, site, op_id, "snapshot",
                         {"device": device, "sha256": digest, "bytes": len(clean)})

    def snapshots(self, op_id: str) -> dict[str, str]:
        """Snapshot text per device of an operation."""
        rows = self.db.query("SELECT device, text FROM snapshots WHERE op_id=? ORDER BY id", (op_id,))
        return {r["device"]: r["text"] for r in rows}

    def verifications(self, site: str, limit: int = 20) -> list[dict[str, Any]]:
        """Latest verification results of a site."""
        rows = self.db.query("SELECT * FROM verifications WHERE site=? ORDER BY id DESC LIMIT ?",
                             (site, limit))
        return [dict(zip(r.keys(), tuple(r), strict=True)) for r in rows]

    # --- audit trail ----------------------------------------------------------------------------------
    def history(self, site: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """Audit rows, oldest first (the last ``limit`` when given)."""
        rows = self.db.query(
            "SELECT * FROM audit WHERE (? IS NULL OR site=?) ORDER BY seq DESC LIMIT ?",
            (site, site, -1 if limit is None else limit),
        )
        return [audit.entry(r) for r in reversed(rows)]

    def verify_chain(self) -> ChainCheck:
        """Recompute the whole hash chain."""
        return audit.verify_rows(self.db.query("SELECT * FROM audit ORDER BY seq"))

    def note(self, site: str, op_id: str | None, kind: str, payload: dict[str, Any]) -> None:
        """Append a free-form audit row (e.g. an operator's unlock)."""
        with self.db.transaction() as cur:
            audit.append(cur, time.time(), site, op_id, kind, payload)

    # --- locks ----------------------------------------------------------------------------------------
    def acquire_lock(self, site: str, owner: str, op_id: str | None,
                     lease: float = lock.DEFAULT_LEASE) -> LockInfo:
        """Take the site lock (see :mod:`egressctl.journal.lock`)."""
        with self.db.transaction() as cur:
            return lock.acquire(cur, site, owner, op_id, lease)

    def renew_lock(self, site: str, owner: str, lease: float = lock.DEFAULT_LEASE) -> bool:
        """Extend our lease; False if the lock was taken from us."""
        with self.db.transaction() as cur:
            return lock.renew(cur, site, owner, lease)

    def release_lock(self, site: str, owner: str, op_id: str | None) -> None:
        """Release our lock."""
        with self.db.transaction() as cur:
            lock.release(cur, site, owner, op_id)

    def force_unlock(self, site: str, by: str) -> LockInfo | None:
        """Remove the site's lock whoever holds it."""
        with self.db.transaction() as cur:
            return lock.force(cur, site, by)

    def lock(self, site: str) -> LockInfo | None:
        """The site's lock, if held."""
        rows = self.db.query("SELECT * FROM locks WHERE site=?", (site,))
        if not rows:
            return None
        r = rows[0]
        return LockInfo(r["site"], r["owner"], r["op_id"], float(r["acquired"]), float(r["expires"]))

    def close(self) -> None:
        """Close the database."""
        self.db.close()

