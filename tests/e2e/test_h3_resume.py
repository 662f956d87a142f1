"""Issue 14's last resume gaps on the whole lab (H3; prefix ``h3-``, ports 27100-27105), real everything.

The lab's emulators run under ``egressctl_lab.faultemu`` (a restart is a reboot to the saved configuration;
one-shot commit failures in the vendor's words). The engine runs in this process; faults are injected from
its event sink, on the worker thread, right when a device reaches a step.

1. A device's SSH session is reset (``ss -K`` on the operators' station) or the device reboots while its
   change waits at the read-back: the rollback runs on a **fresh session** and the device is back where it
   was with nothing pending (before: the rollback went down the dead session and failed).
2. PAN-OS: an administrator committed a change after egressctl's snapshot and left another one uncommitted
   in the shared candidate. A restore is refused before any change (exit 4, the candidate's lines named);
   the administrator's committed change is never undone by egressctl's stale snapshot (before: the
   "pending commit" was rolled back by loading and committing the snapshot); ``--take-over`` discards only
   the uncommitted candidate. A rollback whose snapshot would undo a change committed since is refused.
   IOS and Junos whose own dead-man switch fired while the confirm waited are found back, not rolled back
   again (before: IOS refused the rollback, rollback-failed).
3. An all-or-nothing restore in which devices were confirmed when another one fails: every confirmed device
   returns to its pre-restore state, IOS included (before: IOS cannot revert once confirmed and was left
   restored, rollback-failed), each platform checked on the lab.

Every test leaves every device at normal.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab import faults

from egressctl.engine import Engine
from egressctl.events import DeviceStep, Event, Step, StepStatus
from egressctl.exitcodes import ExitCode
from tests.support.labkit import running_lab
from tests.support.site_e2e_support import with_session

pytestmark = [pytest.mark.lab, pytest.mark.slow]
PREFIX, PORT_BASE, SITE = "h3-", 27100, "lab"
DEVICES = ("fw-a", "ce-a", "core-b", "fw-b", "ce-b")
WAIT = 120.0  # seconds a hook waits for other devices' steps (bounded)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EGRESSCTL_LAB_EMU_CMD", f"{sys.executable} -m egressctl_lab.faultemu")
        with running_lab(tmp_path_factory, PREFIX, PORT_BASE) as instance:
            yield instance


@pytest.fixture
def engine(lab: Any, tmp_path: Path) -> Iterator[Engine]:
    """An engine with a journal of its own; the site is taken back to normal however the test ends."""
    eng = Engine(lab.inventory_path, state_dir=tmp_path / "journal")
    try:
        yield eng
    finally:
        faults_clear(lab)
        res = eng.restore(SITE, full=True, verify=False, take_over=True, force_unlock=True)
        eng.close()
        assert res.exit_code == 0, res.message


def faults_clear(lab: Any) -> None:
    for dev in DEVICES:
        if dev != "core-b":
            faults.disarm_emulator_fault(lab, dev)


def device(lab: Any, name: str) -> Any:
    from egressctl.inventory.loader import load_inventory

    return load_inventory(lab.inventory_path).site(SITE).device(name)


def read(lab: Any, name: str) -> Any:
    return with_session(device(lab, name), lambda drv: drv.read_state())


class Hooks:
    """An event sink running ``action`` once when ``dev`` reaches ``step``/``status``; records every event."""

    def __init__(self) -> None:
        self.events: list[DeviceStep] = []
        self.actions: list[tuple[str, Step, StepStatus, Callable[[], object]]] = []
        self.fired: list[str] = []
        self.errors: list[str] = []
        self.watchers: list[Callable[[], None]] = []
        self.lock = threading.Lock()

    def on(self, dev: str, step: Step, status: StepStatus, action: Callable[[], object]) -> Hooks:
        self.actions.append((dev, step, status, action))
        return self

    def __call__(self, ev: Event) -> None:
        if not isinstance(ev, DeviceStep):
            return
        with self.lock:
            self.events.append(ev)
            due = [a for a in self.actions if a[:3] == (ev.device, ev.step, ev.status)]
            self.actions = [a for a in self.actions if a not in due]
        for watch in list(self.watchers):
            watch()
        for dev, step, status, action in due:
            try:
                action()
                self.fired.append(f"{dev}:{step}/{status}")
            except Exception as exc:  # shown by the test's assertion
                self.errors.append(f"{dev}:{step}: {type(exc).__name__}: {exc}")

    def steps(self, dev: str) -> list[tuple[str, str, str]]:
        return [(str(e.step), str(e.status), e.detail) for e in self.events if e.device == dev]


# --- 1. a session lost mid-change: the rollback runs on a fresh session -----------------------------------
@pytest.mark.parametrize("fault", ["reset", "reboot"])
@pytest.mark.parametrize("dev", ["ce-a", "fw-a", "ce-b", "core-b", "fw-b"])
def test_rollback_on_a_fresh_session_after_the_session_died(lab: Any, engine: Engine, dev: str,
                                                            fault: str) -> None:
    if fault == "reboot" and dev in ("fw-b", "core-b"):
        pytest.skip("FortiOS boots for a minute of device time; core-b loses its ruleset on a reboot (H2)")
    act = (lambda: faults.reset_management(lab, dev)) if fault == "reset" else (lambda: lab.restart(dev))
    hooks = Hooks().on(dev, Step.READBACK, StepStatus.STARTED, act)
    res = engine.isolate(SITE, devices=[dev], verify=False, revert_in=60, sink=hooks)
    assert hooks.fired and not hooks.errors, hooks.errors
    result = next(d for d in res.devices if d.device == dev)
    steps = hooks.steps(dev)
    assert result.outcome == "rolled-back", (result, steps)
    assert res.exit_code == ExitCode.PARTIAL
    fresh = [i for i, (s, st, d) in enumerate(steps) if s == "connect" and "fresh session" in d]
    assert fresh and steps[fresh[-1] + 1][:2] == ("connect", "ok"), steps
    print(dev, fault, *steps, sep="\n  ")
    state = read(lab, dev)
    assert state.is_normal and not state.pending_commit, state
    assert engine.journal.device_states(SITE)[dev] == "normal"
    assert engine.verify_history().ok


@pytest.mark.parametrize("dev", ["ce-a", "ce-b"])
def test_a_dead_man_switch_that_fired_before_the_confirm_is_not_rolled_back_again(lab: Any, engine: Engine,
                                                                                   dev: str) -> None:
    """IOS and Junos revert by themselves (one device minute: 15 s here) while the confirm waits: the
    confirm fails, and the undo finds the device back (before: IOS refused the rollback, rollback-failed).
    The polling reads land on the revert itself: Junos's read-back is several commands, read again when a
    commit came between them (before: one in five runs, a policy naming an address already gone)."""
    def until_reverted() -> None:
        for _ in range(90):  # bounded: 90 fresh reads, one a second at most
            if not read(lab, dev).pending_commit:
                return
            time.sleep(1.0)
        raise AssertionError(f"{dev}'s dead-man switch never fired")

    hooks = Hooks().on(dev, Step.CONFIRM, StepStatus.STARTED, until_reverted)
    res = engine.isolate(SITE, devices=[dev], verify=False, revert_in=60, sink=hooks)
    assert hooks.fired and not hooks.errors, hooks.errors
    result = next(d for d in res.devices if d.device == dev)
    assert (result.outcome, result.failed_step) == ("rolled-back", "confirm"), (result, hooks.steps(dev))
    state = read(lab, dev)
    assert state.is_normal and not state.pending_commit, state
    assert engine.journal.device_states(SITE)[dev] == "normal"


# --- 2. PAN-OS: a candidate egressctl did not load ------------------------------------------------------
def admin(lab: Any, *lines: str, commit: bool = False) -> None:
    """An administrator's own session on fw-a: configure-mode lines, committed or left in the candidate."""
    def body(drv: Any) -> None:
        drv._config(list(lines))
        if commit:
            drv._commit_now()
    with_session(device(lab, "fw-a"), body)


def running_and_candidate(lab: Any) -> tuple[str, str]:
    return with_session(device(lab, "fw-a"), lambda d: (d._op("show config running"),
                                                        d._op("show config candidate")))


def test_panos_foreign_candidate_is_refused_and_never_committed(lab: Any, engine: Engine) -> None:
    assert engine.isolate(SITE, devices=["fw-a"], verify=False).exit_code == 0  # snapshot: before this
    admin(lab, "set address adm-committed ip-netmask 198.51.100.10/32", commit=True)
    admin(lab, "set address adm-pending ip-netmask 198.51.100.11/32")
    try:
        res = engine.restore(SITE, stage="ministry", devices=["fw-a"], verify=False)
        running, candidate = running_and_candidate(lab)
        assert "adm-committed" in running, "egressctl's stale snapshot undid the administrator's commit"
        assert "adm-pending" not in running and "adm-pending" in candidate, "the foreign candidate moved"
        assert (res.outcome, res.exit_code) == ("refused", ExitCode.LOCKED), res.message
        assert "adm-pending" in res.message and "did not load" in res.message, res.message
        assert read(lab, "fw-a").target == "isolated"

        hooks = Hooks()
        res = engine.restore(SITE, stage="ministry", devices=["fw-a"], verify=False, take_over=True,
                             sink=hooks)
        assert res.exit_code == 0, res.message
        running, candidate = running_and_candidate(lab)
        assert "adm-committed" in running and "adm-pending" not in candidate
        assert read(lab, "fw-a").target == "ministry"
        assert any(s == "rollback" and st == "ok" for s, st, _ in hooks.steps("fw-a")), hooks.steps("fw-a")
    finally:
        with_session(device(lab, "fw-a"), lambda d: d.discard())
        admin(lab, "delete address adm-committed", commit=True)


def test_panos_rollback_refuses_a_stale_snapshot(lab: Any, engine: Engine) -> None:
    from egressctl.errors import RollbackError
    from egressctl.inventory.credentials import secret_for
    from egressctl.policy import compute_policy

    fw = device(lab, "fw-a")
    drv = engine.factory(fw)
    drv.open(secret_for(fw))
    try:
        drv.snapshot()
        drv.load_candidate(compute_policy(engine.inventory.site(SITE), "isolated"), drv.read_state())
        drv.commit(60)
        admin(lab, "set address adm-later ip-netmask 198.51.100.12/32", commit=True)
        with pytest.raises(RollbackError) as ei:
            drv.rollback()
        assert "stale" in str(ei.value) and "adm-later" in (ei.value.device_output or "")
        running, candidate = running_and_candidate(lab)
        assert "adm-later" in running and running.split() == candidate.split(), "nothing else was touched"
        admin(lab, "delete address adm-later", commit=True)
        drv.rollback()  # the snapshot now differs in egressctl's objects only
        assert read(lab, "fw-a").is_normal
    finally:
        drv.close()


# --- 3. all-or-nothing: confirmed devices return when a later one fails ---------------------------------
def _hold_until_confirmed(hooks: Hooks, others: list[str]) -> Callable[[], None]:
    """Block the failing device's confirm until every other device's confirm ended ok (bounded)."""
    done = threading.Event()

    def watch() -> None:
        with hooks.lock:
            ok = {e.device for e in hooks.events if e.step == Step.CONFIRM and e.status == StepStatus.OK}
        if set(others) <= ok:
            done.set()

    def wait() -> None:
        hooks.watchers.append(watch)
        watch()
        assert done.wait(WAIT), "the other devices never confirmed"

    return wait


@pytest.mark.parametrize(("failing", "fault"), [("ce-b", "fail-commit"), ("ce-a", "reset")])
def test_all_or_nothing_returns_devices_confirmed_before_another_failed(lab: Any, engine: Engine,
                                                                         failing: str, fault: str) -> None:
    assert engine.isolate(SITE, verify=False).exit_code == 0
    others = [d for d in DEVICES if d != failing]
    hooks = Hooks()
    hold = _hold_until_confirmed(hooks, others)

    def fail() -> None:
        hold()
        if fault == "fail-commit":
            faults.arm_emulator_fault(lab, failing, "fail-commit")
        else:
            faults.reset_management(lab, failing)

    hooks.on(failing, Step.CONFIRM, StepStatus.STARTED, fail)
    res = engine.restore(SITE, full=True, verify=False, revert_in=60, sink=hooks)
    assert not hooks.errors, hooks.errors
    outcome = {d.device: (d.outcome, d.after) for d in res.devices}
    assert (res.outcome, res.exit_code) == ("rolled-back", ExitCode.ROLLED_BACK), (res.message, outcome)
    for dev in others:
        confirmed = [(s, st) for s, st, _ in hooks.steps(dev) if s == "confirm" and st == "ok"]
        assert confirmed, f"{dev} was not confirmed before {failing} failed"
        assert outcome[dev] == ("rolled-back", "isolated"), (dev, outcome[dev], hooks.steps(dev))
    for dev in DEVICES:
        state = read(lab, dev)
        assert (state.target, state.pending_commit) == ("isolated", False), (dev, state)
    assert set(engine.journal.device_states(SITE).values()) == {"isolated"}
    assert engine.verify_history().ok
