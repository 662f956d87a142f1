"""The CLI end to end in-process (typer's CliRunner), over the Driver-Protocol test double."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from egressctl.cli.main import app
from egressctl.errors import CommitError
from tests.support.engine_double import PASSWORD, FakeNet, write_inventory


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> FakeNet:
    fake = FakeNet()
    monkeypatch.setattr("egressctl.engine.default_factory", fake.factory)
    return fake


@pytest.fixture
def run(tmp_path: Path, net: FakeNet):  # type: ignore[no-untyped-def]
    inv = write_inventory(tmp_path)
    state = tmp_path / "state"

    def invoke(*argv: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, ["-i", str(inv), "--state-dir", str(state), *argv], input=input,
                                  env={"EGRESSCTL_PASSWORD": None, "EGTEST_PASSWORD": PASSWORD,
                                       "EGRESSCTL_STATE_DIR": str(state), "EGRESSCTL_INVENTORY": str(inv)})

    invoke.state = state  # type: ignore[attr-defined]
    return invoke


def test_help_has_examples_and_exit_codes() -> None:
    out = CliRunner().invoke(app, ["--help"]).output
    assert "Exit codes:" in out and "130  interrupted" in out and "egressctl isolate" in out
    for cmd in ("isolate", "restore", "plan", "status", "history", "unlock", "verify", "probe", "lab", "tui"):
        assert cmd in out
    iso = CliRunner().invoke(app, ["isolate", "--help"]).output
    assert "--dry-run" in iso and "--revert-in" in iso and "4    site locked" in iso
    assert "6    plan or --dry-run incomplete" in iso


def test_isolate_yes(run, net: FakeNet) -> None:  # type: ignore[no-untyped-def]
    res = run("isolate", "hq", "--yes")
    assert res.exit_code == 0, res.output
    assert "ok: hq is isolated (exit 0)" in res.stdout
    assert "dev1" in res.stdout and "commit" in res.stdout  # one line per event when not a TTY
    assert {b.state.target for b in net.boxes.values()} == {"isolated"}


def test_wrong_site_name_aborts(run, net: FakeNet) -> None:  # type: ignore[no-untyped-def]
    res = run("isolate", "hq", input="hospital\n")
    assert res.exit_code == 2
    assert net.mutations() == [] and sum(net.opens.values()) == 0
    status = json.loads(run("status", "hq", "--json").stdout)
    assert status["state"] == "normal" and status["operation"] is None


def test_typed_site_name_confirms(run, net: FakeNet) -> None:  # type: ignore[no-untyped-def]
    res = run("isolate", "hq", input="hq\n")
    assert res.exit_code == 0, res.output
    assert "Type the site name (hq)" in res.stderr


def test_dry_run_says_so_and_sends_nothing(run, net: FakeNet) -> None:  # type: ignore[no-untyped-def]
    res = run("isolate", "hq", "--dry-run")
    assert res.exit_code == 0
    assert "Nothing was sent." in res.stdout and "dry run" in res.stdout
    assert net.mutations() == []


def test_json_lines_stream(run) -> None:  # type: ignore[no-untyped-def]
    res = run("isolate", "hq", "--yes", "--json")
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert docs[0]["event"] == "OperationStarted" and docs[0]["schema"] == "egressctl.event/1"
    assert any(d["event"] == "DeviceStep" and d["step"] == "commit" for d in docs)
    assert docs[-1]["event"] == "result" and docs[-1]["outcome"] == "ok" and docs[-1]["exit_code"] == 0
    assert docs[-1]["schema"] == "egressctl.operation/1"


def test_partial_is_exit_5_and_rollback_is_exit_1(run, net: FakeNet) -> None:  # type: ignore[no-untyped-def]
    net.fail[("dev2", "commit")] = CommitError("dev2", "refused")
    assert run("isolate", "hq", "--yes").exit_code == 5
    del net.fail[("dev2", "commit")]
    assert run("isolate", "hq", "--yes").exit_code == 0
    net.fail[("dev3", "confirm")] = CommitError("dev3", "refused")
    res = run("restore", "hq", "--stage", "ministry", "--yes")
    assert res.exit_code == 1, res.output
    assert {b.state.target for b in net.boxes.values()} == {"isolated"}


def test_locked_is_exit_4(run) -> None:  # type: ignore[no-untyped-def]
    from egressctl.journal import Journal

    j = Journal(run.state)
    j.acquire_lock("hq", f"{socket.gethostname()}:1", "someone")
    j.close()
    res = run("isolate", "hq", "--yes")
    assert res.exit_code == 4
    assert len(res.stderr.strip().splitlines()) == 1 and "locked" in res.stderr
    assert run("unlock", "hq").exit_code == 0
    assert run("isolate", "hq", "--yes").exit_code == 0


def test_usage_errors_are_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    for argv in (("isolate", "nosuch", "--yes"), ("restore", "hq", "--yes"), ("plan", "hq", "--to", "bogus"),
                 ("isolate", "hq", "--yes", "--device", "nope")):
        res = run(*argv)
        assert res.exit_code == 2, (argv, res.output)
        assert "Traceback" not in res.output


def test_plan_offline_and_online(run, net: FakeNet) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(run("plan", "hq", "--to", "isolated", "--offline", "--json").stdout)
    assert doc["target"] == "isolated" and len(doc["devices"]) == 4
    assert sum(net.opens.values()) == 0
    human = run("plan", "hq", "--to", "ministry")
    assert human.exit_code == 0 and "Nothing was sent." in human.stdout and "safety net" in human.stdout
    assert net.mutations() == []


def test_status_history_verify(run) -> None:  # type: ignore[no-untyped-def]
    run("isolate", "hq", "--yes")
    overview = json.loads(run("status", "--json").stdout)
    assert overview["schema"] == "egressctl.status-overview/1"
    assert overview["sites"][0]["site"] == "hq" and overview["sites"][0]["state"] == "isolated"
    st = run("status", "hq")
    assert "isolated" in st.stdout and "egressctl restore hq --stage" in st.stdout
    hist = json.loads(run("history", "hq", "--json").stdout)
    assert hist["schema"] == "egressctl.history/1"
    assert any(e["kind"] == "DeviceStep" for e in hist["entries"])
    ok = run("history", "--verify")
    assert ok.exit_code == 0 and "chain intact" in ok.stdout
    conn = sqlite3.connect(str(run.state / "journal.db"))
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET payload='{}' WHERE seq=5")
    conn.commit()
    conn.close()
    bad = run("history", "--verify")
    assert bad.exit_code == 5 and "CHAIN BROKEN" in bad.stdout


def test_live_table_renders_events() -> None:
    import io

    from rich.console import Console

    from egressctl.cli.progress import LiveTable
    from egressctl.events import CommitPending, DeviceStep, OperationFinished, Step, StepStatus

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    with LiveTable(console, ["dev1", "dev2"]) as table:
        table(DeviceStep("op", "hq", device="dev1", step=Step.COMMIT, status=StepStatus.STARTED))
        table(CommitPending("op", "hq", device="dev1", revert_in=120, deadline=0.0))
        table(OperationFinished("op", "hq", outcome="ok", state="isolated"))
    text = buf.getvalue()
    assert "dev1" in text and "reverts in 120s" in text and "finished: ok" in text
