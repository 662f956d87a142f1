"""Undo on a fresh session: the SSH session to a device died (connection reset, reboot) mid-change.

A rollback sent down a dead session fails, and the device is then left as the dead session left it: a
commit waiting for a dead-man switch that may live in the controller, a loaded candidate, or a change that
a reboot already threw away. So when the failure that triggers the undo (or the undo itself) says the
session is gone, the device is reached again over a *new* session (bounded: :data:`ATTEMPTS` logins, each
with the one transient retry of :mod:`egressctl.ssh.retry`, within :data:`WINDOW` seconds) and read:

* a pending commit or a candidate of egressctl's is rolled back (the drivers find both on a fresh
  instance: the device's own pending state or their controller-side marker);
* then the device must hold the state read before the change, with nothing pending: a device that reverted
  by itself (its dead-man switch fired, a reboot to the saved configuration) is back, and that is said;
* a device that holds anything else, or that cannot be reached at all, is ``rollback-failed``: the
  journal's ``done`` step says what is known (last state read, how it failed) and ``status`` names it.

A rollback the device refuses on a live session (IOS: "no pending change to revert"; Junos: nothing
waiting) is checked the same way before it counts as failed: a dead-man switch that fired while the other
devices of a restore were still being proven has already put the device back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from egressctl.describe import describe
from egressctl.driver import FOREIGN_CHANGE, DeviceState, Driver
from egressctl.errors import AuthError, ConnectError, DeviceTimeout, HostKeyMismatch, RollbackError
from egressctl.events import Step, StepStatus
from egressctl.policy import equivalent
from egressctl.ssh.retry import BACKOFF

if TYPE_CHECKING:
    from egressctl.lifecycle import Lifecycle, Live

#: Logins tried for a fresh session (each retries once by itself after a transient failure).
ATTEMPTS = 4
#: Seconds within which the logins are tried (a device rebooting may need them).
WINDOW = 90.0


def session_lost(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it was raised from) says the session itself is gone or unusable.

    A reset, a closed channel or a time-out: the commands after it cannot be trusted to reach the device.
    An authentication or host-key failure is not a lost session (retrying would not help, or be unsafe).
    """
    seen = 0
    while exc is not None and seen < 16:
        if isinstance(exc, AuthError | HostKeyMismatch):
            return False
        if isinstance(exc, ConnectError | DeviceTimeout | EOFError | ConnectionError | TimeoutError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def reconnect(lc: Lifecycle, live: Live, sleep: Callable[[float], None] = time.sleep) -> Driver:
    """A new, open session to the device (the dead one closed), or the last failure raised."""
    assert live.secret is not None
    if live.drv is not None:
        live.drv.close()
        live.drv = None
    deadline = time.monotonic() + WINDOW
    last: BaseException | None = None
    for attempt in range(1, ATTEMPTS + 1):
        fresh = lc.factory(live.device)
        try:
            with lc._step(live.device.name, Step.CONNECT, f"fresh session (attempt {attempt}): the last "
                          "one was lost") as note:
                fresh.open(live.secret)
                note.add("reconnected")
            live.drv = fresh
            return fresh
        except Exception as exc:
            fresh.close()
            last = exc
            pause = BACKOFF * attempt
            if isinstance(exc, AuthError | HostKeyMismatch) or time.monotonic() + pause > deadline:
                break
            sleep(pause)
    raise last if last is not None else ConnectError(live.device.name, "no fresh session")


def undo_fresh(lc: Lifecycle, live: Live, why: str) -> str:
    """Roll the device back on a fresh session; returns what was found. Raises when it is not back."""
    name = live.device.name
    before = live.state
    drv = reconnect(lc, live)
    with lc._step(name, Step.ROLLBACK, f"on a fresh session: {why}") as note:
        state = drv.read_state()
        if state.pending_commit and state.op_id != FOREIGN_CHANGE:
            drv.rollback()
            state = drv.read_state()
            note.add(f"rolled back; holds {state.target}")
        else:
            note.add(f"nothing pending; holds {state.target}")
        _check_back(name, state, before)
    return f"holds {state.target} again (checked on a fresh session)"


def _check_back(name: str, state: DeviceState, before: DeviceState | None) -> None:
    """The device holds what it held before the change, with nothing pending."""
    if state.pending_commit:
        raise RollbackError(name, f"a change is still pending after the rollback (holds {state.target})")
    if before is not None and not equivalent(state.rules, before.rules):
        raise RollbackError(name, f"holds {state.target} with nothing pending, not {before.target} as "
                            "before the change: the change stayed")


def unreachable(live: Live, exc: BaseException) -> str:
    """What is known of a device no fresh session could reach (for the journal and the operator)."""
    held = live.state.target if live.state is not None else "unknown"
    stage = "its change was committed" if live.committed else "a candidate may be loaded"
    return (f"no fresh session to roll back on ({describe(exc)}); it held {held} before, {stage}; its "
            "dead-man switch reverts an unconfirmed commit by itself where it lives on the device")


def undo(lc: Lifecycle, live: Live, why: str, cause: BaseException | None = None) -> None:
    """Undo what this run did to the device (never raises); records the outcome and the ``done`` step."""
    name = live.device.name
    interrupted = live.result.outcome == "interrupted"
    touched = live.drv is not None and (live.committed or live.loaded)
    try:
        if touched and session_lost(cause):
            why = f"{why}; {undo_fresh(lc, live, why)}"
        elif touched:
            why = f"{why}{_undo_here(lc, live, why)}"
        if live.committed:
            live.committed = False
            live.result.after = live.result.before
            live.result.outcome = "rolled-back" if not interrupted else "interrupted"
        lc.event(name, Step.DONE, StepStatus.FAILED, why)
    except Exception as exc:
        known = unreachable(live, exc) if session_lost(exc) else describe(exc)
        live.result.outcome = "rollback-failed"
        live.result.error = f"{live.result.error}; rollback: {known}".strip("; ")
        lc.event(name, Step.DONE, StepStatus.FAILED, f"rollback failed: needs an operator: {known}")


def _rollback_unless_back(live: Live) -> str:
    """Roll back, unless the device's dead-man switch already did.

    A rollback after the device's own revert may redo the change (Junos ``rollback 1`` is then the change).
    """
    assert live.drv is not None
    state = live.drv.read_state()
    if not state.pending_commit and live.state is not None and equivalent(state.rules, live.state.rules):
        return f"nothing pending and back at {state.target}: its dead-man switch had reverted it"
    live.drv.rollback()
    return ""


def _undo_here(lc: Lifecycle, live: Live, why: str) -> str:
    """The undo on the device's own session; returns what a failed one found (the device already back)."""
    assert live.drv is not None
    name = live.device.name
    try:
        if live.committed:
            with lc._step(name, Step.ROLLBACK, why) as note:
                note.add(_rollback_unless_back(live))
        else:
            with lc._step(name, Step.ROLLBACK, f"discard candidate: {why}"):
                live.drv.discard()
        return ""
    except Exception as failure:
        if session_lost(failure):
            return f"; {undo_fresh(lc, live, why)}"
        try:
            with lc._step(name, Step.READ_STATE, "the rollback failed: is the device back already?") as note:
                state = live.drv.read_state()
                note.add(f"holds {state.target}" + (" (commit pending)" if state.pending_commit else ""))
        except Exception as exc:
            if session_lost(exc):
                return f"; {undo_fresh(lc, live, why)}"
            raise failure from exc
        try:
            _check_back(name, state, live.state)
        except RollbackError:
            raise failure from None
        return f"; it had reverted by itself (holds {state.target}, nothing pending)"
