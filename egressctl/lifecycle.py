"""One device's lifecycle within an operation: the steps, their events, and undoing them on any doubt.

connect -> read state -> plan -> snapshot -> load -> diff -> commit (dead-man armed) -> read back and compare
-> management check on a *fresh* session -> confirm -> (isolate) end denied sessions -> done. Any failure
before the confirm rolls that device back. Failures are data (:class:`~egressctl.results.DeviceResult`),
never exceptions escaping a worker, as in Nornir; the site-level rules (parallelism, fail-closed isolation,
all-or-nothing restore) are the executor's.

Every step is emitted as an event *before* and *after* it runs; the first sink is the journal, whose write
errors abort the step (nothing is done that could not be recorded). State is always re-read from the
device, so running the same plan again after a crash resumes: devices already at target are skipped, a
pending commit that matches the target is checked then confirmed, any other pending commit is rolled back.

Each device is planned with the planner's one function (:func:`~egressctl.planner.plan_device`) against the
state read on the very session that changes it, so the lines loaded, counted and journaled are the lines
rendered for that state, never those of a plan made earlier against an unknown one.

Ending sessions: an isolation that only stops *new* connections leaves an intruder's open session alive. On
a device whose driver declares ``session-kill``, every isolation that leaves the device at the target (a
change, a resumed pending commit, or a re-run that finds it already there, since a crashed first run may
have stopped before this step) ends the sessions the cut denies, on the same session, as the ``sessions``
step. Its failure never rolls the cut back (the cut is the safe state): it is recorded on the device
(``warnings``, ``sessions``) and the engine reports the operation as needing attention. A restore ends
nothing.

A device's work is two calls: :meth:`Lifecycle.open` (connect, read, plan) and :meth:`Lifecycle.advance`
(everything that changes it). The executor opens every device first, so a site-level decision (another
controller's unconfirmed change on one device) can stop the operation before any device is touched. Each
call runs with the operation's :class:`~egressctl.driver.OperationContext` published, so drivers stamp
their marker with this operation's id and owner; the read-back refuses a stamp that is neither this
operation's nor one of this journal's (another controller changed the device in between).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from egressctl import recovery
from egressctl.describe import describe
from egressctl.driver import FOREIGN_CHANGE, DeviceState, Driver, OperationContext, Stamp, operation_context
from egressctl.errors import CommitError
from egressctl.events import CommitPending, Event, Step, StepStatus
from egressctl.inventory.credentials import Secret, redact
from egressctl.inventory.models import Device, Site
from egressctl.lifesteps import Interrupted, StepFailed, StepRunner, session_doc
from egressctl.persistence import ensure_saved
from egressctl.planner import DevicePlan, TestFaults, plan_device, state_diff
from egressctl.policy import equivalent
from egressctl.results import DeviceResult

DriverFactory = Callable[[Device], Driver]


@dataclass
class Live:
    """One device's open session, its current plan, what was read, and how far its change went."""

    plan: DevicePlan
    device: Device
    result: DeviceResult
    drv: Driver | None = None
    secret: Secret | None = None
    state: DeviceState | None = None
    loaded: bool = False
    committed: bool = False
    took_over: str = ""

    def close(self) -> None:
        """Close the session, if one was opened."""
        if self.drv is not None:
            self.drv.close()


@dataclass
class Lifecycle:
    """The steps of one operation's devices (shared by the executor's workers; holds no per-device state)."""

    site: Site
    op_id: str
    factory: DriverFactory
    emit: Callable[[Event], None]
    snapshot: Callable[[str, str], None]
    secrets: Callable[[Device], Secret]
    revert_in: int = 120
    faults: TestFaults | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    stamp: Stamp | None = None
    is_ours: Callable[[str], bool] = lambda op_id: True

    def __post_init__(self) -> None:
        self.steps = StepRunner(self.op_id, self.site.name, self.emit)
        self.event = self.steps.event
        self._step = self.steps.step
        self.context = OperationContext(site=self.site, stamp=self.stamp)

    # --- phase 0: connect and read --------------------------------------------------------------------
    def open(self, dp: DevicePlan) -> Live:
        """Connect, read the device and plan it against what it holds. Never raises."""
        live = Live(dp, self.site.device(dp.device), DeviceResult(dp.device))
        with operation_context(self.context):
            self._guarded(live, self._open)
        return live

    def _open(self, live: Live) -> None:
        self._checkpoint()
        with self._step(live.device.name, Step.CONNECT, f"{live.device.host}:{live.device.port}"):
            live.secret = self.secrets(live.device)
            live.drv = self.factory(live.device)
            live.drv.open(live.secret)
        live.state = self._read(live)

    # --- phase 1: change and prove --------------------------------------------------------------------
    def advance(self, live: Live) -> Live:
        """Take an opened device to the target under its dead-man switch and prove it. Never raises."""
        if live.state is None:
            return live  # the open failed (already reported)
        with operation_context(self.context):
            self._guarded(live, self._advance)
        return live

    def prepare(self, dp: DevicePlan) -> Live:
        """:meth:`open` then :meth:`advance` (one device on its own)."""
        return self.advance(self.open(dp))

    def _guarded(self, live: Live, body: Callable[[Live], None]) -> None:
        """Run ``body``; an interruption or any failure undoes what it did and is recorded on the result."""
        try:
            body(live)
        except Interrupted:
            live.result.outcome = "interrupted"
            self._undo(live, "interrupted before commit")
        except Exception as exc:
            step = exc.step if isinstance(exc, StepFailed) else None
            live.result.failed_step = step.value if step else None
            live.result.error = exc.message if isinstance(exc, StepFailed) else describe(exc)
            # a management check fails on a *new* session: the device's own may well work (and must undo)
            self._undo(live, live.result.error, cause=None if step is Step.MGMT_CHECK else exc)

    def _checkpoint(self) -> None:
        if self.cancel.is_set():
            raise Interrupted

    def take_over(self, live: Live) -> None:
        """Journal that this operation acts on another controller's unconfirmed change (``--take-over``).

        A change no egressctl made (an administrator's uncommitted PAN-OS candidate) is only discarded,
        never committed nor rolled back to an old snapshot; its lines are journaled first.
        """
        assert live.state is not None
        live.took_over = holder(live.state)
        self.event(live.device.name, Step.READ_STATE, StepStatus.OK,
                   f"taking over the unconfirmed change of {live.took_over}")
        if live.state.op_id == FOREIGN_CHANGE and live.drv is not None:
            with operation_context(self.context):
                self._guarded(live, self._discard_foreign)
            if live.result.error:
                live.state = None  # not discarded: the device is left as it is (reported failed)

    def _discard_foreign(self, live: Live) -> None:
        assert live.drv is not None
        with self._step(live.device.name, Step.ROLLBACK, "discard the candidate egressctl did not load "
                        "(--take-over)"):
            live.drv.discard()
        live.state = self._read(live)

    def _advance(self, live: Live) -> None:
        assert live.drv is not None and live.state is not None
        name, target, drv, state = live.device.name, live.plan.policy.target, live.drv, live.state
        self._checkpoint()
        if state.pending_commit:
            if equivalent(state.rules, live.plan.policy.rules):
                live.committed = True
                self._prove(live)
                return
            with self._step(name, Step.ROLLBACK, "pending commit left by an interrupted operation"):
                drv.rollback()
            state = live.state = self._read(live)
            if live.plan.noop:
                live.result.outcome, live.result.after = "changed", state.target
                self._finish(live, f"back at {target} after the rollback")
                return
        if live.plan.noop:
            live.result.outcome, live.result.after = "noop", state.target
            self._finish(live, f"already at {target}; no change sent", StepStatus.SKIPPED)
            return
        self._change(live, drv, state)

    def _read(self, live: Live) -> DeviceState:
        """Read the device's state, then plan it against what was read (the plan the run acts on)."""
        assert live.drv is not None
        with self._step(live.device.name, Step.READ_STATE) as note:
            state = live.drv.read_state()
            note.add(f"holds {state.target}" + (" (commit pending)" if state.pending_commit else "")
                     + (f" of {holder(state)}" if state.op_id else ""))
        if live.result.before is None:
            live.result.before = state.target
        live.plan = plan_device(live.device, live.drv, state, live.plan.policy, faults=self.faults,
                                handling=live.plan.session_handling)
        return state

    def _change(self, live: Live, drv: Driver, state: DeviceState) -> None:
        name, dp = live.device.name, live.plan
        with self._step(name, Step.SNAPSHOT) as note:
            text = drv.snapshot()
            self.snapshot(name, text)
            note.add(f"{len(text)} bytes")
        with self._step(name, Step.LOAD, f"{len(dp.lines)} lines") as note:
            live.loaded = True  # a load that fails half-way may have left lines: undo discards them
            drv.load_candidate(dp.render_policy, state)
            live.result.lines = len(dp.lines)
            note.add(f"{len(dp.lines)} lines loaded")
            note.data["lines"] = [redact(ln) for ln in dp.lines]
        with self._step(name, Step.DIFF) as note:
            live.result.diff = redact(drv.diff())
            added = sum(1 for ln in dp.diff if ln.startswith("+"))
            note.add(f"{added} rule atoms added, {len(dp.diff) - added} removed")
        self._checkpoint()
        self._commit(live, drv)
        self.emit(CommitPending(self.op_id, self.site.name, device=name, revert_in=self.revert_in,
                                deadline=time.time() + self.revert_in))
        self._prove(live)

    def _commit(self, live: Live, drv: Driver) -> None:
        """Commit under the dead-man switch; a commit that raised may still have taken (see :meth:`_took`)."""
        try:
            with self._step(live.device.name, Step.COMMIT, f"revert in {self.revert_in}s unless confirmed"):
                drv.commit(self.revert_in)
                live.committed = True
        except Exception:
            live.committed = live.committed or self._took(live, drv)
            raise

    def _took(self, live: Live, drv: Driver) -> bool:
        """Whether a commit whose call failed took effect on the device all the same.

        The call can fail after the device accepted the commit (the session dropped while the prompt came
        back, the controller's own output broke when its terminal closed): the undo must then roll the
        pending commit back, not merely discard a candidate, or the device waits for its dead-man switch
        while the journal says it was undone. A device that cannot be read is taken as committed: the
        undo reads it again (on a fresh session if need be) and rolls back only what is pending.
        """
        assert live.state is not None
        try:
            with self._step(live.device.name, Step.READ_STATE, "the commit failed: did it take?") as note:
                state = drv.read_state()
                note.add(f"holds {state.target}" + (" (commit pending)" if state.pending_commit else ""))
        except Exception:  # not read (or not journaled): in doubt, undo it as a commit
            return True
        return state.pending_commit or not equivalent(state.rules, live.state.rules)

    def _prove(self, live: Live) -> None:
        """Read back and compare, then check management on a brand-new session."""
        assert live.drv is not None and live.secret is not None
        name, policy = live.device.name, live.plan.policy
        with self._step(name, Step.READBACK) as note:
            after = live.drv.read_state()
            if not equivalent(after.rules, policy.rules):
                diff = "; ".join(state_diff(after, policy)[:6])
                raise CommitError(name, f"read-back differs from target {policy.target}: {diff}")
            self._check_stamp(live, after)
            note.add(f"matches {policy.target} ({policy.fingerprint()})")
            live.result.after = after.target
        with self._step(name, Step.MGMT_CHECK, "fresh session") as note:
            fresh = self.factory(live.device)
            try:
                fresh.open(live.secret)
                fresh.read_state()
            finally:
                fresh.close()
            note.add("management path works")
        live.result.outcome = "pending"

    def _check_stamp(self, live: Live, after: DeviceState) -> None:
        """Another controller's stamp in the read-back means it changed the device since it was read."""
        if not after.op_id or after.op_id == self.op_id or live.took_over or self.is_ours(after.op_id):
            return
        raise CommitError(live.device.name, f"another controller changed the device meanwhile (operation "
                          f"{after.op_id} by {after.owner})")

    # --- phase 2: confirm, end sessions, or undo ------------------------------------------------------
    def confirm(self, live: Live) -> Live:
        """Confirm a proven pending commit, then end denied sessions. Never raises."""
        if live.result.outcome != "pending" or live.drv is None:
            return live
        with operation_context(self.context):
            try:
                with self._step(live.device.name, Step.CONFIRM):
                    live.drv.confirm()
                live.result.outcome = "changed"
            except Exception as exc:
                live.result.failed_step, live.result.error = Step.CONFIRM.value, describe(exc)
                live.result.outcome = "failed"
                self._undo(live, live.result.error, cause=exc)
                return live
            self._finish(live, f"now at {live.plan.policy.target}")
        return live

    def _finish(self, live: Live, detail: str, status: StepStatus = StepStatus.OK) -> None:
        """The device is at the target for good: keep it there, end the sessions the cut denies, say so.

        Keeping it there: saved, on platforms that boot from a saved configuration (:mod:`.persistence`).
        """
        saved = ensure_saved(live.drv, live.result.warnings)
        self._end_sessions(live)
        self.event(live.device.name, Step.DONE, status, "; ".join([detail, *filter(None, [saved]),
                                                                   *live.result.warnings]))

    def _end_sessions(self, live: Live) -> None:
        """The ``sessions`` step (isolations, on drivers with session kill). Never rolls the cut back."""
        if live.drv is None or not live.plan.ends_sessions:
            return
        policy = live.plan.policy
        try:
            with self._step(live.device.name, Step.SESSIONS, f"end sessions {policy.target} denies") as note:
                doc = session_doc(live.drv.clear_sessions(policy, self.site.inside))
                live.result.sessions = note.data["sessions"] = doc
                note.add(f"{doc['matched']} matched, {doc['cleared']} cleared ({doc['handling']})")
        except StepFailed as exc:
            live.result.sessions = {"ok": False, "error": exc.message}
            live.result.warnings.append(f"sessions could not be ended (the cut stays): {exc.message}")

    def _undo(self, live: Live, why: str, cause: BaseException | None = None) -> None:
        """Roll back a committed change (or discard a loaded candidate). Records the outcome.

        See :func:`egressctl.recovery.undo`: a lost session (``cause``, or the undo's own failure) is
        replaced by a fresh one; a device it cannot bring back is ``rollback-failed`` with what is known.
        """
        recovery.undo(self, live, why, cause)

    def undo(self, live: Live, why: str) -> None:
        """:meth:`_undo` with the operation's context published (for the executor's site-level rules)."""
        with operation_context(self.context):
            self._undo(live, why)


def holder(state: DeviceState) -> str:
    """Whose change a device holds, in words: ``operation ID by OWNER``, or what a foreign change is."""
    if state.op_id == FOREIGN_CHANGE:
        return state.owner
    return f"operation {state.op_id} by {state.owner}"
