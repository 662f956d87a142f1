"""Issue 14's known gaps, closed, over the Driver-Protocol double (``engine_double``) and a real journal.

* a restore is all-or-nothing across a crash in its confirm phase: the resumed run that fails takes the
  devices the dead run already confirmed back to where they were;
* ``--device`` journals each device's state and leaves the site ``mixed``, which ``status`` explains;
* SIGTERM and SIGHUP mid-operation take Ctrl-C's path (exit 130, the journal says interrupted, a re-run
  carries on from it), also when the operator's terminal really closes (a pty, its master closed);
* another controller's unconfirmed change (its stamp's operation is not in this journal) refuses the
  operation before anything is sent (exit 4, owner named), unless ``take_over``;
* the state directory egressctl creates is 0700 and the journal's files 0600.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from egressctl.driver import DeviceState
from egressctl.engine import Engine
from egressctl.errors import ConnectError, PolicyError
from egressctl.policy import compute_policy
from tests.support.engine_double import (
    PASSWORD,
    FakeDriver,
    FakeNet,
    SimulatedCrash,
    engine_over,
    targets,
)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", PASSWORD)


# --- a restore is all-or-nothing, also across a crash in its confirm phase ----------------------------------
def _crash_in_confirm_phase(tmp_path: Path, net: FakeNet) -> tuple[Engine, str]:
    """Isolate, then a restore whose controller dies right after dev2's confirm (dev1, dev2 confirmed;
    dev3, dev4 committed and waiting), its lock left behind; returns the engine and the dead operation."""
    eng = engine_over(tmp_path, net)
    eng.max_workers = 1  # devices confirm in order: the crash at dev2 leaves dev3, dev4 unconfirmed
    assert eng.isolate("hq").exit_code == 0
    net.calls.clear()
    net.crash = ("dev2", "confirm", "after", 1)
    with pytest.raises(SimulatedCrash):
        eng.restore("hq", "ministry")
    net.crash = None
    assert targets(net) == {"dev1": "ministry", "dev2": "ministry", "dev3": "ministry*", "dev4": "ministry*"}
    crashed = eng.journal.unfinished("hq")
    assert crashed is not None
    eng.journal.force_unlock("hq", by="test")
    return eng, crashed.op_id


def test_failed_resume_of_a_restore_crashed_while_confirming_returns_every_device(tmp_path: Path) -> None:
    net = FakeNet(halt_on_crash=True)
    eng, crashed = _crash_in_confirm_phase(tmp_path, net)
    net.fail[("dev4", "open")] = ConnectError("dev4", "connection timed out")  # its management check
    net.fail_nth[("dev4", "open")] = net.calls[("dev4", "open")] + 2
    res = eng.restore("hq", "ministry")
    assert (res.outcome, res.exit_code, res.state, res.resumed) == ("rolled-back", 1, "isolated", crashed)
    assert set(targets(net).values()) == {"isolated"}, targets(net)
    outcome = {d.device: (d.outcome, d.after) for d in res.devices}
    assert outcome["dev1"] == outcome["dev2"] == ("rolled-back", "isolated"), "confirmed before the crash"
    assert eng.journal.device_states("hq") == {f"dev{i}": "isolated" for i in range(1, 5)}
    assert eng.verify_history().ok


def test_a_confirmed_device_the_resume_cannot_reach_needs_an_operator(tmp_path: Path) -> None:
    net = FakeNet(halt_on_crash=True)
    eng, _ = _crash_in_confirm_phase(tmp_path, net)
    net.fail[("dev2", "open")] = ConnectError("dev2", "connection refused")
    res = eng.restore("hq", "ministry")
    assert (res.outcome, res.exit_code) == ("partial", 5)
    dev2 = next(d for d in res.devices if d.device == "dev2")
    assert dev2.outcome == "rollback-failed" and "unreachable" in dev2.error
    assert targets(net) == {"dev1": "isolated", "dev2": "ministry", "dev3": "isolated", "dev4": "isolated"}
    assert eng.journal.device_states("hq")["dev2"] == "unknown" and eng.status("hq").state == "failed-partial"


def test_a_confirmed_device_that_cannot_go_back_needs_an_operator(tmp_path: Path) -> None:
    net = FakeNet(halt_on_crash=True)
    eng, _ = _crash_in_confirm_phase(tmp_path, net)
    net.fail[("dev4", "open")] = ConnectError("dev4", "connection timed out")
    net.fail_nth[("dev4", "open")] = net.calls[("dev4", "open")] + 2
    net.fail[("dev1", "commit")] = ConnectError("dev1", "session lost")  # its way back fails
    res = eng.restore("hq", "ministry")
    dev1 = next(d for d in res.devices if d.device == "dev1")
    assert (res.outcome, res.exit_code) == ("partial", 5)
    assert dev1.outcome == "rollback-failed" and "could not return to isolated" in dev1.error
    assert eng.journal.device_states("hq")["dev1"] == "unknown"


# --- --device: per-device states, the site mixed ------------------------------------------------------------
def test_device_scoped_isolation_leaves_the_site_mixed(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq", devices=["dev1"])
    assert (res.outcome, res.exit_code, res.state) == ("ok", 0, "mixed")
    assert res.device_states == {"dev1": "isolated", "dev2": "normal", "dev3": "normal", "dev4": "normal"}
    st = eng.status("hq")
    assert st.state == "mixed" and st.device_states == res.device_states
    assert "dev1: isolated" in st.hint and "dev2, dev3, dev4: normal" in st.hint
    assert st.to_dict()["device_states"]["dev1"] == "isolated"
    with pytest.raises(PolicyError, match="mixed"):
        eng.verify("hq")
    assert eng.isolate("hq", devices=["dev2", "dev3", "dev4"]).state == "isolated"
    assert eng.status("hq").device_states == {f"dev{i}": "isolated" for i in range(1, 5)}


def test_device_scoped_restore_of_an_isolated_site(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    eng.isolate("hq")
    res = eng.restore("hq", full=True, devices=["dev4"])
    assert res.state == "mixed" and res.device_states["dev4"] == "normal"
    assert res.device_states["dev1"] == "isolated"
    assert eng.restore("hq", full=True).state == "normal"


# --- SIGTERM and SIGHUP are Ctrl-C --------------------------------------------------------------------------
class SignalOnCommit(FakeDriver):
    """Sends this process a signal right after dev2's commit (the operator's terminal closing, ``kill``)."""

    signum = signal.SIGTERM

    def commit(self, revert_in: int) -> None:
        super().commit(revert_in)
        if self.device.name == "dev2" and not getattr(self.net, "signalled", False):
            self.net.signalled = True  # type: ignore[attr-defined]
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                         ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_sigterm_and_sighup_mid_operation_are_like_ctrl_c(tmp_path: Path, signum: int) -> None:
    """SIGINT is Ctrl-C itself: the three take one path."""
    net = FakeNet(delay=0.05)
    net.driver = type("Signalling", (SignalOnCommit,), {"signum": signum})
    eng = engine_over(tmp_path, net, devices=6)
    eng.max_workers = 2  # devices after the signal have not committed yet: they must not start
    handlers = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)]
    res = eng.isolate("hq")
    assert (res.outcome, res.exit_code) == ("interrupted", 130), res.message
    assert [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)] == handlers
    op = eng.journal.operation(res.op_id)
    assert op is not None and (op.status, op.outcome) == ("finished", "interrupted")
    assert not [t for t in targets(net).values() if t.endswith("*")], "nothing is left waiting for a confirm"
    assert "normal" in set(targets(net).values()) | ({"normal"} if len(net.boxes) < 6 else set())
    net.driver = None
    again = eng.isolate("hq")
    assert (again.outcome, again.exit_code, again.resumed) == ("ok", 0, res.op_id)
    assert set(targets(net).values()) == {"isolated"} and len(net.boxes) == 6


def test_an_ignored_sighup_stays_ignored(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup egressctl ...
    try:
        seen: list[Any] = []

        class Peek(FakeDriver):
            def commit(self, revert_in: int) -> None:
                seen.append(signal.getsignal(signal.SIGHUP))
                super().commit(revert_in)

        net.driver = Peek
        assert eng.isolate("hq").exit_code == 0
        assert set(seen) == {signal.SIG_IGN}
    finally:
        signal.signal(signal.SIGHUP, old)


# --- another controller's unconfirmed change ----------------------------------------------------------------
def _foreign(net: FakeNet, eng: Engine, device: str) -> None:
    iso = compute_policy(eng.site("hq"), "isolated")
    net.box(device).state = DeviceState("isolated", iso.fingerprint(), iso.rules, pending_commit=True,
                                        op_id="20250301-101500-d4e5f6", owner="cert@laptop-2")


def test_another_controllers_unconfirmed_change_refuses_with_exit_4(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    _foreign(net, eng, "dev3")
    res = eng.isolate("hq")
    assert (res.outcome, res.exit_code, res.state) == ("refused", 4, "normal")
    assert all(word in res.message for word in ("cert@laptop-2", "20250301-101500-d4e5f6", "dev3"))
    assert net.mutations() == [], "nothing may be sent"
    dev3 = next(d for d in res.devices if d.device == "dev3")
    assert dev3.failed_step == "read-state" and "--take-over" in dev3.error
    op = eng.journal.operation(res.op_id)
    assert op is not None and op.outcome == "refused"
    assert "refused" in eng.status("hq").hint and eng.journal.device_states("hq") == {}


def test_take_over_acts_on_it_and_carries_on_from_the_refused_run(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    _foreign(net, eng, "dev3")
    refused = eng.isolate("hq")
    res = eng.isolate("hq", take_over=True)
    assert (res.outcome, res.exit_code, res.resumed) == ("ok", 0, refused.op_id)
    assert set(targets(net).values()) == {"isolated"}
    steps = [(s.step, s.detail) for s in eng.journal.steps(res.op_id) if s.device == "dev3"]
    assert ("read-state", "taking over the unconfirmed change of operation 20250301-101500-d4e5f6 by "
                          "cert@laptop-2") in steps


def test_a_confirmed_change_of_another_controller_is_no_obstacle(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    iso = compute_policy(eng.site("hq"), "isolated")
    for i in range(1, 5):
        net.box(f"dev{i}").state = DeviceState("isolated", iso.fingerprint(), iso.rules,
                                               op_id="20250301-101500-d4e5f6", owner="cert@laptop-2")
    res = eng.isolate("hq")
    assert (res.outcome, res.exit_code) == ("noop", 0) and net.mutations() == []


# --- private state ------------------------------------------------------------------------------------------
def test_state_dir_and_journal_are_private(tmp_path: Path) -> None:
    net = FakeNet()
    old = os.umask(0o022)
    try:
        eng = engine_over(tmp_path, net)
        assert eng.isolate("hq").exit_code == 0
    finally:
        os.umask(old)
    state = tmp_path / "state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    files = [p for p in state.iterdir() if p.name.startswith("journal.db")]
    assert {p.name for p in files} >= {"journal.db", "journal.db-wal"}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}


# --- the operator's terminal closes -------------------------------------------------------------------------
CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from tests.support.engine_double import FakeDriver, FakeNet, write_inventory
from pathlib import Path
from egressctl.engine import Engine

class Slow(FakeDriver):
    def commit(self, revert_in):
        super().commit(revert_in)
        print("COMMITTED", self.device.name, flush=True)
        time.sleep(0.5)

tmp = Path(sys.argv[2])
net = FakeNet(driver=Slow)
eng = Engine(write_inventory(tmp, devices=6), state_dir=tmp / "state", driver_factory=net.factory,
             max_workers=1)
res = eng.isolate("hq", verify=False)
(tmp / "result.json").write_text(json.dumps({"outcome": res.outcome, "exit": int(res.exit_code),
                                             "pending": [k for k, b in net.boxes.items()
                                                         if b.state.pending_commit]}))
sys.exit(int(res.exit_code))
"""


def test_closing_the_terminal_is_like_ctrl_c(tmp_path: Path) -> None:
    """The controlling terminal goes away (SSH drops, the window closes): the kernel's SIGHUP.

    The child's driver prints to that terminal after each commit: once it is gone, the print fails
    (EIO) after the device took the commit, so the commit step fails with the device pending (about
    1 run in 4). That is a commit in doubt, which the lifecycle must roll back, not merely discard.
    """
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader on the pty, as a login shell's command would be
        root = str(Path(__file__).resolve().parents[2])  # the repository: the child imports tests.support
        os.execve(sys.executable, [sys.executable, "-c", CHILD, root, str(tmp_path)],
                  {**os.environ, "EGTEST_PASSWORD": PASSWORD})
    seen = b""
    while b"COMMITTED" not in seen:
        seen += os.read(fd, 1024)
    os.close(fd)  # the terminal is gone
    _, status = os.waitpid(pid, 0)
    doc = json.loads((tmp_path / "result.json").read_text())
    assert os.waitstatus_to_exitcode(status) == 130 and doc["exit"] == 130, doc
    assert doc["outcome"] == "interrupted" and doc["pending"] == []
