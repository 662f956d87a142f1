"""The engine over the Driver-Protocol test double (``engine_double.FakeDriver``): operations end to end.

Locks, the site state machine, resume after a crash, dry runs, exit codes, one policy computation per
operation, and what the journal keeps. The double is the one allowed fake (the Driver seam); the journal is
real SQLite. The executor's own rules are in ``test_executor.py``; the real drivers run against the lab in
``tests/e2e/test_engine.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import egressctl.policy
import egressctl.verification
from egressctl.engine import Engine, TestFaults
from egressctl.errors import CommitError, ConfirmError, DeviceError, RollbackError, SiteLocked
from egressctl.inventory.models import Site
from egressctl.planner import SESSIONS_MAY_SURVIVE
from egressctl.policy import Policy
from tests.support.engine_double import (
    PASSWORD,
    FakeNet,
    NoSessionKill,
    SimulatedCrash,
    engine_over,
    targets,
)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", PASSWORD)


def dead_owner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}"


def test_isolate_then_idempotent(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq")
    assert (res.outcome, res.exit_code, res.state) == ("ok", 0, "isolated")
    assert set(targets(net).values()) == {"isolated"}
    sent = len(net.mutations())
    again = eng.isolate("hq")
    assert (again.outcome, again.exit_code) == ("noop", 0)
    assert len(net.mutations()) == sent, "a second run must send nothing"
    assert eng.verify_history().ok


def test_parallel_and_bounded(tmp_path: Path) -> None:
    net = FakeNet(delay=0.05)
    eng = engine_over(tmp_path, net, devices=6, max_workers=3)
    assert eng.isolate("hq").outcome == "ok"
    assert 2 <= net.max_in_open <= 3


def test_steps_journaled_before_and_after(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net, devices=1)
    res = eng.isolate("hq")
    steps = [(s.step, s.status) for s in eng.journal.steps(res.op_id)]
    order = ["connect", "read-state", "snapshot", "load", "diff", "commit", "readback", "mgmt-check",
             "confirm", "sessions"]
    for name in order:
        assert (name, "started") in steps and (name, "ok") in steps
        assert steps.index((name, "started")) < steps.index((name, "ok"))
    assert [n for n, st in steps if st == "started"] == order
    assert steps[-1] == ("done", "ok")
    assert "dev1" in eng.journal.snapshots(res.op_id)


def test_isolation_is_fail_closed(tmp_path: Path) -> None:
    net = FakeNet()
    net.fail[("dev2", "commit")] = CommitError("dev2", "commit refused")
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq")
    assert (res.outcome, res.exit_code, res.state) == ("partial", 5, "failed-partial")
    assert targets(net) == {"dev1": "isolated", "dev2": "normal", "dev3": "isolated", "dev4": "isolated"}
    st = eng.status("hq")
    assert "dev2" in st.hint and "egressctl isolate hq" in st.hint
    del net.fail[("dev2", "commit")]
    fixed = eng.isolate("hq")
    assert fixed.outcome == "ok" and set(targets(net).values()) == {"isolated"}


def test_management_lockout_is_rolled_back(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq", faults=TestFaults(drop_management_on={"dev3"}))
    assert res.exit_code == 5
    dev3 = next(d for d in res.devices if d.device == "dev3")
    assert (dev3.outcome, dev3.failed_step) == ("rolled-back", "readback")
    assert targets(net)["dev3"] == "normal"


def test_fresh_session_failure_is_rolled_back(tmp_path: Path) -> None:
    net = FakeNet()
    net.fail[("dev1", "open")] = DeviceError("dev1", "connection timed out")
    net.fail_nth[("dev1", "open")] = 2  # the management check's fresh session
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq")
    dev1 = next(d for d in res.devices if d.device == "dev1")
    assert (dev1.outcome, dev1.failed_step) == ("rolled-back", "mgmt-check")
    assert targets(net)["dev1"] == "normal"


def test_rollback_failure_needs_an_operator(tmp_path: Path) -> None:
    net = FakeNet()
    net.fail[("dev1", "read_state")] = DeviceError("dev1", "garbled output")
    net.fail_nth[("dev1", "read_state")] = 2
    net.fail[("dev1", "rollback")] = RollbackError("dev1", "rollback refused")
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq")
    dev1 = next(d for d in res.devices if d.device == "dev1")
    assert dev1.outcome == "rollback-failed" and res.exit_code == 5


def test_skip_exit_fault_leaves_devices_untouched(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq", faults=TestFaults(skip_exit="primary"))
    assert {d.device: d.outcome for d in res.devices} == {
        "dev1": "skipped", "dev2": "changed", "dev3": "skipped", "dev4": "changed"}
    assert "dev1" not in net.boxes and "dev3" not in net.boxes


@pytest.mark.parametrize("fail", [("dev3", "open", 2), ("dev2", "confirm", 1), ("dev4", "commit", 1)])
def test_restore_is_all_or_nothing(tmp_path: Path, fail: tuple[str, str, int]) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    assert eng.isolate("hq").outcome == "ok"
    net.fail[fail[:2]] = ConfirmError(fail[0], "injected")
    net.fail_nth[fail[:2]] = fail[2] + net.calls[fail[:2]]
    res = eng.restore("hq", "ministry")
    assert (res.outcome, res.exit_code, res.state) == ("rolled-back", 1, "isolated")
    assert set(targets(net).values()) == {"isolated"}
    assert eng.journal.site_state("hq") == "isolated"


def test_restore_stage_by_stage_then_full(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    eng.isolate("hq")
    for stage in ("ministry", "allowlist"):
        res = eng.restore("hq", stage)
        assert res.outcome == "ok" and set(targets(net).values()) == {stage}
    res = eng.restore("hq", full=True)
    assert (res.outcome, res.state) == ("ok", "normal")
    assert set(targets(net).values()) == {"normal"}


def test_cancel_before_commit_changes_nothing(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    cancel = threading.Event()
    cancel.set()
    res = eng.isolate("hq", cancel=cancel)
    assert (res.outcome, res.exit_code) == ("interrupted", 130)
    assert not [m for m in net.mutations() if m[1] == "commit"]


def test_locked_site_is_refused(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    eng.journal.acquire_lock("hq", f"{socket.gethostname()}:{os.getppid()}", "other")
    with pytest.raises(SiteLocked):
        eng.isolate("hq")
    assert net.mutations() == []
    assert eng.isolate("hq", force_unlock=True).outcome == "ok"


def test_dry_run_sends_nothing(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq", dry_run=True)
    assert res.outcome == "dry-run" and res.plan is not None and not res.plan.noop
    assert net.mutations() == []
    assert eng.journal.operations("hq") == []


CRASH_POINTS = [
    ("open", "before", 1), ("read_state", "after", 1), ("snapshot", "before", 1),
    ("load_candidate", "after", 1), ("diff", "before", 1), ("commit", "before", 1), ("commit", "after", 1),
    ("read_state", "after", 2), ("open", "before", 2), ("confirm", "before", 1), ("confirm", "after", 1),
]


@pytest.mark.parametrize("who", ["*", "dev2"])
@pytest.mark.parametrize("point", CRASH_POINTS, ids=[f"{m}-{w}-{n}" for m, w, n in CRASH_POINTS])
@pytest.mark.parametrize("op", ["isolate", "restore"])
def test_resume_after_crash(tmp_path: Path, op: str, point: tuple[str, str, int], who: str) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    if op == "restore":
        eng.isolate("hq")
    target = "isolated" if op == "isolate" else "ministry"
    net.calls.clear()
    net.crash = (who, *point)
    with pytest.raises(SimulatedCrash):
        eng.apply("hq", target)
    crashed = eng.journal.unfinished("hq")
    assert crashed is not None
    # A real crash leaves its lock behind, owned by a dead process on this host.
    eng.journal.force_unlock("hq", by="test")
    eng.journal.acquire_lock("hq", dead_owner(), crashed.op_id)
    st = eng.status("hq")
    assert st.running and "interrupted" in st.hint and crashed.op_id in st.hint
    net.crash = None
    res = eng.apply("hq", target)
    assert res.outcome in ("ok", "noop") and res.exit_code == 0, res.message
    assert res.resumed == crashed.op_id
    assert set(targets(net).values()) == {target}
    assert eng.journal.operation(crashed.op_id).status == "interrupted"  # type: ignore[union-attr]
    sent = len(net.mutations())
    assert eng.apply("hq", target).outcome == "noop"
    assert len(net.mutations()) == sent
    assert eng.verify_history().ok


def test_other_targets_pending_commit_is_rolled_back(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    eng.isolate("hq")
    net.calls.clear()
    net.crash = ("*", "commit", "after", 1)
    with pytest.raises(SimulatedCrash):
        eng.restore("hq", "ministry")
    net.crash = None
    assert set(targets(net).values()) == {"ministry*"}
    res = eng.isolate("hq", force_unlock=True)
    assert res.outcome == "ok" and set(targets(net).values()) == {"isolated"}
    assert ("dev1", "rollback") in net.sent


# --- one policy computation per operation -------------------------------------------------------------------
@pytest.fixture
def computations(monkeypatch: pytest.MonkeyPatch) -> list[Policy]:
    """Every policy computed anywhere in egressctl while the test runs."""
    made: list[Policy] = []
    real = egressctl.policy.compute_policy

    def counting(site: Site, target: str) -> Policy:
        made.append(real(site, target))
        return made[-1]

    for mod in [m for name, m in sys.modules.items() if name.startswith("egressctl")]:
        if getattr(mod, "compute_policy", None) is real:
            monkeypatch.setattr(mod, "compute_policy", counting)
    return made


class FakeReport:
    ok, verdict, summary = True, "cut-confirmed", "all probes as expected"

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict}


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[Policy]:
    """Stand in for the probe room (no held-session room); records the policy each verification was handed."""
    seen: list[Policy] = []

    def verify_active(site: Site, target: str, *, policy: Policy, exec_prefix: object = None) -> FakeReport:
        assert policy.target == target
        seen.append(policy)
        return FakeReport()

    finder: Callable[[], Any] = lambda: verify_active  # noqa: E731
    monkeypatch.setattr(egressctl.verification, "_verify_active", finder)
    monkeypatch.setattr(egressctl.verification, "_netns_prefix", lambda state_dir: None)
    monkeypatch.setattr(egressctl.verification, "_held_module", lambda: None)
    return seen


@pytest.mark.parametrize("call", ["isolate", "isolate-dry-run", "restore", "restore-dry-run", "plan"])
def test_policy_is_computed_once_per_operation(tmp_path: Path, computations: list[Policy],
                                               verified: list[Policy], call: str) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net, vantage=True)
    if call.startswith("restore"):
        assert eng.isolate("hq").exit_code == 0
    computations.clear()
    verified.clear()
    if call == "plan":
        eng.plan("hq", "isolated")
    elif call.startswith("isolate"):
        res = eng.isolate("hq", dry_run=call.endswith("dry-run"))
    else:
        res = eng.restore("hq", "ministry", dry_run=call.endswith("dry-run"))
    assert len(computations) == 1, f"{call} computed the policy {len(computations)} times"
    if call in ("isolate", "restore"):
        assert res.exit_code == 0 and res.verification is not None
        assert verified == computations, "verification must judge the very policy that was planned"


# --- the journal records the lines actually loaded ----------------------------------------------------------
def loads(eng: Engine, op_id: str) -> dict[str, dict[str, Any]]:
    """The ``load`` step's closing audit payload per device."""
    return {e.payload["device"]: e.payload for e in eng.history("hq")
            if e.op_id == op_id and e.kind == "DeviceStep" and e.payload["step"] == "load"
            and e.payload["status"] == "ok"}


@pytest.mark.parametrize("target", ["isolated", "ministry"])
def test_journaled_lines_are_the_lines_loaded(tmp_path: Path, target: str) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    if target != "isolated":
        eng.isolate("hq")
    offline = eng.plan("hq", target, offline=True)
    res = eng.apply("hq", target)
    assert res.exit_code == 0
    journaled = loads(eng, res.op_id)
    assert set(journaled) == set(net.loaded) == {d.device for d in res.devices}
    for dev in res.devices:
        sent = net.loaded[dev.device]
        assert journaled[dev.device]["data"]["lines"] == sent
        assert journaled[dev.device]["detail"] == f"{len(sent)} lines loaded" and dev.lines == len(sent)
        assert len(offline.device(dev.device).lines) != len(sent), "the double renders by state"


# --- sessions: what the operation makes of them -------------------------------------------------------------
def test_isolate_ends_sessions_and_reports_them(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    net.box("dev2").sessions = 3
    res = eng.isolate("hq")
    assert (res.exit_code, res.warnings) == (0, [])
    dev2 = next(d for d in res.devices if d.device == "dev2")
    assert dev2.sessions == {"ok": True, "handling": "kept", "matched": 3, "cleared": 3,
                             "detail": "cleared 3 on dev2"}
    assert res.to_dict()["devices"][1]["sessions"]["cleared"] == 3
    assert {d for d, _, _ in net.cleared} == {"dev1", "dev2", "dev3", "dev4"}
    assert all(inside == ("10.10.0.0/16",) for _, _, inside in net.cleared)


def test_sessions_that_cannot_be_ended_need_attention(tmp_path: Path) -> None:
    net = FakeNet()
    net.fail[("dev3", "clear_sessions")] = DeviceError("dev3", "clear refused")
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq")
    assert (res.outcome, res.state, res.exit_code) == ("ok", "isolated", 5)
    assert set(targets(net).values()) == {"isolated"}, "the cut stays"
    [warning] = res.warnings
    assert warning.startswith("dev3: sessions could not be ended (the cut stays)")
    assert "clear refused" in warning
    assert "needs attention" in res.message and "dev3" in res.message
    st = eng.status("hq")
    assert st.devices["dev3"]["detail"].endswith("clear refused")
    assert "sessions could not be ended on dev3" in st.hint and "egressctl isolate hq" in st.hint
    del net.fail[("dev3", "clear_sessions")]
    assert eng.isolate("hq").exit_code == 0 and "could not" not in eng.status("hq").hint


def test_a_rerun_at_the_target_still_ends_sessions(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    eng.isolate("hq")
    net.box("dev1").sessions = 2  # e.g. the first run crashed before its sessions step
    sent = len(net.mutations())
    again = eng.isolate("hq")
    assert (again.outcome, again.exit_code) == ("noop", 0) and len(net.mutations()) == sent
    assert next(d for d in again.devices if d.device == "dev1").sessions["cleared"] == 2  # type: ignore[index]


def test_restore_ends_no_sessions(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    eng.isolate("hq")
    net.cleared.clear()
    res = eng.restore("hq", full=True)
    assert res.exit_code == 0 and net.cleared == [] and all(d.sessions is None for d in res.devices)


def test_plan_reads_session_handling_and_tolerates_drivers_without_it(tmp_path: Path) -> None:
    net = FakeNet()
    net.fail[("dev2", "session_handling")] = DeviceError("dev2", "show command unknown")
    eng = engine_over(tmp_path, net)
    p = eng.plan("hq", "isolated")
    assert {d.device: d.session_handling for d in p.devices} == {
        "dev1": "kept", "dev2": "unknown", "dev3": "kept", "dev4": "kept"}
    assert p.to_dict()["devices"][0]["session_handling"] == "kept"
    assert eng.plan("hq", "isolated", offline=True).device("dev1").session_handling == "unknown"

    class Older(NoSessionKill):
        session_handling = None  # a driver written before the contract had it

    net.driver = Older
    old = eng.plan("hq", "isolated")
    assert {d.session_handling for d in old.devices} == {"unknown"}
    assert all(SESSIONS_MAY_SURVIVE in d.warnings for d in old.devices)
