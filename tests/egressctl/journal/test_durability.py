"""A journal that cannot be written stops egressctl before any device is touched (exit 2).

Full file system (a small tmpfs filled up), read-only file system (a tmpfs remounted read-only: root
ignores file modes, not a read-only mount), and a write lock held by a hung process. The engine runs over
the Driver-Protocol double, which counts every session opened: none may be. The CLI case checks the exit
code the operator gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from egressctl.cli.common import exit_code_for
from egressctl.engine import Engine
from egressctl.errors import JournalError, JournalUnusable, StateDirError
from egressctl.exitcodes import ExitCode
from tests.support.engine_double import PASSWORD, FakeNet, write_inventory

pytestmark = pytest.mark.root


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", PASSWORD)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs of this test's own, unmounted however the test ends."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt: Path) -> None:
    """Write until the file system is full."""
    with open(mnt / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def refused_untouched(eng: Engine, net: FakeNet) -> StateDirError:
    """The operation stops on the journal, exit 2, with no device session opened."""
    with pytest.raises(StateDirError) as ei:
        eng.isolate("hq")
    assert net.opens == {} and net.mutations() == [], "a device was touched"
    assert exit_code_for(ei.value) == ExitCode.USAGE
    return ei.value


def test_full_disk_before_the_journal_exists(tmp_path: Path, tmpfs: Path) -> None:
    fill(tmpfs)
    net = FakeNet()
    eng = Engine(write_inventory(tmp_path), state_dir=tmpfs / "state", driver_factory=net.factory)
    err = refused_untouched(eng, net)
    assert isinstance(err, JournalUnusable) and isinstance(err, JournalError)
    assert "nothing was changed" in str(err)


def test_full_disk_under_an_existing_journal(tmp_path: Path, tmpfs: Path) -> None:
    net = FakeNet()
    eng = Engine(write_inventory(tmp_path), state_dir=tmpfs / "state", driver_factory=net.factory)
    eng.journal.note("hq", None, "test", {"hello": 1})  # the journal exists, with room to spare
    fill(tmpfs)
    err = refused_untouched(eng, net)
    assert "full" in str(err)


def test_read_only_journal(tmp_path: Path, tmpfs: Path) -> None:
    net = FakeNet()
    eng = Engine(write_inventory(tmp_path), state_dir=tmpfs / "state", driver_factory=net.factory)
    eng.journal.note("hq", None, "test", {"hello": 1})
    eng.close()
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    eng = Engine(write_inventory(tmp_path), state_dir=tmpfs / "state", driver_factory=net.factory)
    assert "not writable" in str(refused_untouched(eng, net))


HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('hung', 'yes')")
    print("holding", flush=True)
    time.sleep(120)
""")


def test_journal_locked_by_a_hung_process(tmp_path: Path) -> None:
    net = FakeNet()
    eng = Engine(write_inventory(tmp_path), state_dir=tmp_path / "state", driver_factory=net.factory)
    eng.journal.note("hq", None, "test", {"hello": 1})
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(eng.journal.path)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        err = refused_untouched(eng, net)
        assert "locked" in str(err)
    finally:
        holder.kill()
        holder.wait()
    assert eng.isolate("hq").exit_code == 0, "once the hung process is gone the journal works"


def test_cli_exit_code_on_a_full_disk(tmp_path: Path, tmpfs: Path) -> None:
    fill(tmpfs)
    inv = write_inventory(tmp_path)
    res = subprocess.run([sys.executable, "-m", "egressctl.cli.main", "-i", str(inv), "--state-dir",
                          str(tmpfs / "state"), "isolate", "hq", "--yes"], capture_output=True, text=True,
                         env={**os.environ, "EGTEST_PASSWORD": PASSWORD}, timeout=120, check=False)
    assert res.returncode == 2, res.stderr
    assert "journal" in res.stderr and "nothing was changed" in res.stderr
