"""The append-only audit trail and its hash chain.

Each row's hash is ``sha256(prev_hash + canonical JSON of the row)``, so changing, removing or reordering any
row breaks every hash after it; :func:`verify_chain` recomputes the chain from the first row. SQLite triggers
refuse UPDATE/DELETE on the table, which stops accidents; the chain is what detects deliberate tampering.
Payloads pass through :func:`~egressctl.inventory.credentials.redact` before they are written.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from egressctl.inventory.credentials import redact

GENESIS = "0" * 64


@dataclass(frozen=True)
class JournalEntry:
    """One audit row, as shown by ``egressctl history``."""

    seq: int
    at: float
    site: str
    op_id: str | None
    kind: str
    payload: dict[str, Any]
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ChainCheck:
    """Result of ``history --verify``: ``ok`` is False from the first row whose hash does not match."""

    ok: bool
    rows: int
    first_bad_seq: int | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def canonical(payload: dict[str, Any]) -> str:
    """Stable JSON text of a payload (sorted keys, no spaces), secrets redacted."""
    return redact(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str))


def row_hash(prev: str, seq: int, at: float, site: str, op_id: str | None, kind: str, payload: str) -> str:
    """The chained hash of one row."""
    body = json.dumps([seq, repr(at), site, op_id, kind, payload], separators=(",", ":"))
    return hashlib.sha256((prev + "\n" + body).encode()).hexdigest()


def append(cur: sqlite3.Cursor, at: float, site: str, op_id: str | None, kind: str,
           payload: dict[str, Any]) -> str:
    """Append one row inside the caller's (immediate) transaction and return its hash."""
    last = cur.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
    text = canonical(payload)
    digest = row_hash(prev, seq, at, site, op_id, kind, text)
    cur.execute(
        "INSERT INTO audit(seq, at, site, op_id, kind, payload, prev, hash) VALUES(?,?,?,?,?,?,?,?)",
        (seq, at, site, op_id, kind, text, prev, digest),
    )
    return digest


def verify_rows(rows: list[sqlite3.Row]) -> ChainCheck:
    """Recompute the chain over ``rows`` (ordered by seq) and report the first break."""
    prev = GENESIS
    expected_seq = 1
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            return ChainCheck(False, len(rows), seq, f"row {expected_seq} is missing (found {seq})")
        if row["prev"] != prev:
            return ChainCheck(False, len(rows), seq, f"row {seq}: previous-hash link is broken")
        digest = row_hash(prev, seq, float(row["at"]), row["site"], row["op_id"], row["kind"], row["payload"])
        if digest != row["hash"]:
            return ChainCheck(False, len(rows), seq, f"row {seq}: content does not match its hash")
        prev = digest
        expected_seq += 1
    return ChainCheck(True, len(rows), None, f"{len(rows)} rows, chain intact")


def entry(row: sqlite3.Row) -> JournalEntry:
    """Turn an audit row into a :class:`JournalEntry`."""
    try:
        payload = json.loads(row["payload"])
    except json.JSONDecodeError:
        payload = {"raw": row["payload"]}
    return JournalEntry(int(row["seq"]), float(row["at"]), row["site"], row["op_id"], row["kind"],
                        payload, row["hash"])
