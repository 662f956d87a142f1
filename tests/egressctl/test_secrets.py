"""A known password must never reach the journal, logs, stdout or stderr.

The Driver-Protocol test double deliberately echoes the password in its snapshot, its diff and one error's
device output (as a careless device would); the engine must redact it everywhere it writes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egressctl.cli.main import app
from egressctl.errors import CommitError
from tests.support.engine_double import PASSWORD, FakeNet, write_inventory


def test_password_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                caplog: pytest.LogCaptureFixture) -> None:
    net = FakeNet()
    monkeypatch.setattr("egressctl.engine.default_factory", net.factory)
    net.fail[("dev2", "commit")] = CommitError("dev2", "commit failed",
                                               device_output=f"bad secret {PASSWORD}")
    net.fail_nth[("dev2", "commit")] = 2  # the first restore fails on dev2; the next one passes
    inv = write_inventory(tmp_path)
    state = tmp_path / "state"
    env = {"EGTEST_PASSWORD": PASSWORD, "EGRESSCTL_STATE_DIR": str(state)}
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    commands = (
        ["isolate", "hq", "--yes"], ["isolate", "hq", "--yes", "--json"], ["plan", "hq", "--to", "ministry"],
        ["restore", "hq", "--stage", "ministry", "--yes"],
        ["restore", "hq", "--stage", "ministry", "--yes", "--json"], ["status", "hq"], ["status", "--json"],
        ["history", "--json"], ["history", "hq"], ["restore", "hq", "--full", "--yes", "--dry-run"],
    )
    for argv in commands:
        res = CliRunner().invoke(app, ["-i", str(inv), "--state-dir", str(state), *argv], env=env)
        outputs += [res.stdout, res.stderr]
    assert PASSWORD in net.passwords, "the secret was really resolved and used"
    assert any("***" in o for o in outputs), "the device's echo of the secret was shown redacted"
    for text in outputs:
        assert PASSWORD not in text
    assert PASSWORD not in caplog.text
    files = list(state.rglob("*"))
    assert any(f.name == "journal.db" for f in files)
    for f in files:
        if f.is_file():
            assert PASSWORD.encode() not in f.read_bytes(), f
