"""``cmd:`` credential references: a password manager's CLI, run without a shell, bounded, never shown.

The commands are small Python scripts run by this interpreter, standing in for ``pass``, ``vault``, ``op``
or ``secret-tool``. Failures must name the reference and never what the command printed; the value must
be remembered for redaction and must not reach the journal, logs or output of a whole CLI run.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egressctl.cli.main import app
from egressctl.errors import CredentialError
from egressctl.inventory import cmdsecret
from egressctl.inventory.credentials import redact, resolve, validate_reference
from egressctl.preflight import check_references
from tests.support.engine_double import PASSWORD, FakeNet, write_inventory


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    cmdsecret.forget()
    yield
    cmdsecret.forget()


def _script(tmp_path: Path, name: str, body: str) -> str:
    """``cmd:`` reference running ``body`` with this interpreter."""
    path = tmp_path / f"{name}.py"
    path.write_text(body)
    return f"cmd:{sys.executable} {path}"


def test_first_line_stripped_and_remembered(tmp_path: Path) -> None:
    ref = _script(tmp_path, "vault", "print('  cmd-s3cret-value-1  ')\nprint('second line')\n")
    secret = resolve(ref)
    assert secret.password == "cmd-s3cret-value-1"
    assert redact("log: cmd-s3cret-value-1") == "log: ***"
    assert "cmd-s3cret" not in repr(secret)


def test_arguments_are_split_without_a_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGRESSCTL_STATE_DIR", str(tmp_path / "st"))
    echo = tmp_path / "echo.py"
    echo.write_text("import sys\nprint('|'.join(sys.argv[1:]))\n")
    ref = f"cmd:{sys.executable} {echo} 'two words' $HOME;id {{state}}/x `id`"
    assert resolve(ref).password == f"two words|$HOME;id|{tmp_path}/st/x|`id`"


def test_runs_once_per_reference(tmp_path: Path) -> None:
    count = tmp_path / "count"
    ref = _script(tmp_path, "counted", f"open({str(count)!r}, 'a').write('x')\nprint('cmd-once-value')\n")
    assert resolve(ref).password == resolve(ref).password == "cmd-once-value"
    assert count.read_text() == "x"


@pytest.mark.parametrize(("body", "why"), [
    ("import sys\nprint('cmd-leaky-output')\nsys.stderr.write('cmd-leaky-stderr')\nsys.exit(3)\n",
     "exited with status 3"),
    ("print('')\nprint('cmd-leaky-output')\n", "printed no secret on its first line"),
    ("", "printed no secret on its first line"),
])
def test_failures_name_the_reference_not_the_output(tmp_path: Path, body: str, why: str) -> None:
    ref = _script(tmp_path, "bad", body)
    with pytest.raises(KeyError) as ei:
        resolve(ref)
    message = ei.value.args[0]
    assert message.startswith(f"credential {ref}: ") and why in message
    assert "leaky" not in message


def test_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match=r"cannot run .*/nope \(No such file or directory\)"):
        resolve(f"cmd:{tmp_path}/nope show x")


def test_time_out_kills_the_command_and_its_children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cmdsecret, "TIMEOUT", 0.5)
    pidfile = tmp_path / "child.pid"
    ref = _script(tmp_path, "slow", (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"))
    start = time.monotonic()
    with pytest.raises(KeyError, match=r"did not finish within 0\.5 s"):
        resolve(ref)
    assert time.monotonic() - start < 5
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        stat = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if stat == "Z":
            break
        time.sleep(0.05)
    else:
        assert not Path(f"/proc/{child}").exists(), "the command's child outlived the time-out"


@pytest.mark.parametrize("ref", ["cmd:", "cmd: ", "cmd:pass 'unbalanced", "cmd:a\nb"])
def test_malformed_references_are_refused(ref: str) -> None:
    with pytest.raises(ValueError, match=r"cmd:|literal passwords"):
        validate_reference(ref)


def test_preflight_names_the_reference_only(tmp_path: Path) -> None:
    ref = _script(tmp_path, "fails", "print('cmd-leaky-output')\nraise SystemExit(1)\n")
    with pytest.raises(CredentialError) as ei:
        check_references([("device fw", ref)])
    assert f"device fw: credential {ref}: the command exited with status 1" in str(ei.value)
    assert "leaky" not in str(ei.value)


def test_cmd_secret_never_reaches_journal_logs_or_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """The engine double's devices echo their password in snapshots, diffs and errors; all redacted."""
    net = FakeNet()
    monkeypatch.setattr("egressctl.engine.default_factory", net.factory)
    ref = _script(tmp_path, "pass", f"print({PASSWORD!r})\n")
    inv = write_inventory(tmp_path, credential=ref)
    state = tmp_path / "state"
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    for argv in (["isolate", "hq", "--yes"], ["status", "hq"], ["history", "--json"],
                 ["restore", "hq", "--full", "--yes", "--json"]):
        res = CliRunner().invoke(app, ["-i", str(inv), "--state-dir", str(state), *argv])
        assert res.exit_code == 0, res.output
        outputs += [res.stdout, res.stderr]
    assert PASSWORD in net.passwords, "the command's answer was the password the devices got"
    assert all(PASSWORD not in text for text in outputs) and PASSWORD not in caplog.text
    for f in state.rglob("*"):
        if f.is_file():
            assert PASSWORD.encode() not in f.read_bytes(), f


def test_a_failing_command_stops_the_cli_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = FakeNet()
    monkeypatch.setattr("egressctl.engine.default_factory", net.factory)
    ref = _script(tmp_path, "locked", "print('cmd-leaky-output')\nraise SystemExit(1)\n")
    inv = write_inventory(tmp_path, credential=ref)
    argv = ["-i", str(inv), "--state-dir", str(tmp_path / "st"), "isolate", "hq", "--yes"]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2, res.output
    assert f"credential {ref}: the command exited with status 1" in res.stderr
    assert "leaky" not in res.output and "Traceback" not in res.output
    assert sum(net.opens.values()) == 0, "nothing was contacted"
