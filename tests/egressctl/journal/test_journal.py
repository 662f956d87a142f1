"""The journal on real SQLite: WAL, hash-chain verification and tampering, site lock semantics."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from egressctl.errors import JournalError, SiteLocked
from egressctl.events import DeviceStep, OperationFinished, Step, StepStatus
from egressctl.journal import Journal, OperationRecord
from egressctl.journal.explain import hint


def _fill(j: Journal, n: int = 5) -> None:
    j.start_operation(OperationRecord("op1", "hq", "isolate", "isolated", "normal", ("a", "b"), "me",
                                      started=time.time()), "isolating")
    for i in range(n):
        j.record(DeviceStep("op1", "hq", device="a", step=Step.CONNECT, status=StepStatus.STARTED,
                            detail=str(i)))
    j.record_snapshot("op1", "hq", "a", "hostname a\n")
    j.record(OperationFinished("op1", "hq", outcome="ok", state="isolated"))


def raw(j: Journal) -> sqlite3.Connection:
    return sqlite3.connect(str(j.path), isolation_level=None)


def test_wal_mode_and_file(state_dir: Path) -> None:
    j = Journal(state_dir)
    assert j.db.journal_mode() == "wal"
    assert (state_dir / "journal.db").exists()
    assert raw(j).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_chain_intact_then_tampering_detected(state_dir: Path) -> None:
    j = Journal(state_dir)
    _fill(j)
    check = j.verify_chain()
    assert check.ok and check.rows >= 8
    conn = raw(j)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET payload='{}' WHERE seq=3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq=3")
    # A determined attacker drops the trigger: the chain still catches the edit.
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET payload=replace(payload, 'isolat', 'restor') WHERE seq=2")
    bad = j.verify_chain()
    assert not bad.ok and bad.first_bad_seq == 2


def test_deleted_row_detected(state_dir: Path) -> None:
    j = Journal(state_dir)
    _fill(j)
    conn = raw(j)
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("DELETE FROM audit WHERE seq=4")
    bad = j.verify_chain()
    assert not bad.ok and bad.first_bad_seq == 5


def test_rehashed_forgery_breaks_the_next_link(state_dir: Path) -> None:
    from egressctl.journal.audit import row_hash

    j = Journal(state_dir)
    _fill(j)
    conn = raw(j)
    conn.execute("DROP TRIGGER audit_no_update")
    row = conn.execute("SELECT seq, at, site, op_id, kind, prev FROM audit WHERE seq=3").fetchone()
    forged = row_hash(row[5], row[0], row[1], row[2], row[3], row[4], "{}")
    conn.execute("UPDATE audit SET payload='{}', hash=? WHERE seq=3", (forged,))
    bad = j.verify_chain()
    assert not bad.ok and bad.first_bad_seq == 4


def test_concurrent_writers_keep_the_chain(state_dir: Path) -> None:
    j = Journal(state_dir)
    j2 = Journal(state_dir)  # a second connection, as a second process would have

    def work(jj: Journal, dev: str) -> None:
        for i in range(40):
            jj.record(DeviceStep("op", "hq", device=dev, step=Step.LOAD, status=StepStatus.OK, detail=str(i)))

    threads = [threading.Thread(target=work, args=(jj, f"d{k}")) for k, jj in enumerate((j, j, j2, j2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check = j.verify_chain()
    assert check.ok and check.rows == 160


def test_lock_semantics(state_dir: Path) -> None:
    j = Journal(state_dir)
    host = socket.gethostname()
    j.acquire_lock("hq", f"{host}:1", "opA", lease=60)  # pid 1 is alive: a live owner
    with pytest.raises(SiteLocked) as info:
        j.acquire_lock("hq", "me:2", "opB")
    assert f"{host}:1" in str(info.value)
    assert not j.renew_lock("hq", "me:2")
    assert j.renew_lock("hq", f"{host}:1")
    j.release_lock("hq", "me:2", "opB")  # not ours: no effect
    assert j.lock("hq") is not None
    removed = j.force_unlock("hq", by="operator")
    assert removed is not None and removed.owner == f"{host}:1"
    assert j.lock("hq") is None
    assert j.acquire_lock("hq", "me:2", "opB").owner == "me:2"
    kinds = [e.kind for e in j.history("hq")]
    assert kinds.count("lock-acquired") == 2 and "lock-forced" in kinds


def test_dead_owner_on_this_host_is_stale(state_dir: Path) -> None:
    j = Journal(state_dir)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = f"{socket.gethostname()}:{proc.pid}"
    j.acquire_lock("hq", dead, "crashed", lease=600)
    lock = j.lock("hq")
    assert lock is not None and lock.stale
    taken = j.acquire_lock("hq", "me:9", "resume")
    assert taken.owner == "me:9"
    assert any(e.payload.get("took_over") == dead for e in j.history("hq"))


def test_other_host_lock_waits_for_lease(state_dir: Path) -> None:
    j = Journal(state_dir)
    j.acquire_lock("hq", "elsewhere.example:123", "x", lease=0.2)
    with pytest.raises(SiteLocked):
        j.acquire_lock("hq", "me:1", "y")
    time.sleep(0.3)
    assert j.acquire_lock("hq", "me:1", "y").owner == "me:1"


def test_unfinished_operation_is_explained(state_dir: Path) -> None:
    j = Journal(state_dir)
    j.start_operation(OperationRecord("op9", "hq", "restore", "ministry", "isolated", ("a", "b"), "h:1",
                                      started=time.time()), "restoring")
    j.record(DeviceStep("op9", "hq", device="a", step=Step.COMMIT, status=StepStatus.STARTED))
    op = j.unfinished("hq")
    assert op is not None and op.op_id == "op9"
    assert j.site_state("hq") == "restoring"
    text = hint("hq", j.site_state("hq"), op, True, None, j.last_steps("op9"))
    assert "op9" in text and "a at commit (started)" in text
    assert "egressctl restore hq --stage ministry" in text


def test_unwritable_journal_is_a_journal_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError):
        Journal(blocker / "sub")
