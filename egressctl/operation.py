"""One operation on a site, from taking its lock to its last event.

The engine decides *whether* to run (plan refused, dry run, not confirmed); an :class:`Operation` runs it:
the site lock and its lease, resuming what a crash (or an interruption) left unfinished, the site and
device state machine (:mod:`egressctl.sitestate`), the executor, the outcome -> exit-code mapping of
:mod:`egressctl.exitcodes`, and verification of the same policy that was planned and sent. Every event
passes through the journal first: a step that cannot be journaled does not run.

Each change is stamped with this operation's id and its owner (``user@host``), the identity a second
controller with a journal of its own reads back from the device and names when it refuses to act.
"""

from __future__ import annotations

import getpass
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from egressctl import sitestate
from egressctl.allornothing import UndoPlan
from egressctl.driver import Stamp
from egressctl.errors import EgressError
from egressctl.events import Event, OperationFinished, OperationStarted, Sink
from egressctl.executor import DriverFactory, Execution, Executor
from egressctl.exitcodes import ExitCode
from egressctl.interrupts import Deferral, signals_cancel
from egressctl.inventory.models import Site
from egressctl.journal import Journal, OperationRecord, this_owner
from egressctl.planner import Plan
from egressctl.policy import Policy, compute_policy
from egressctl.results import OperationResult, operation_message
from egressctl.verification import ProofOptions, held_sessions, run_verification

_EXIT_BY_OUTCOME = {"ok": ExitCode.OK, "noop": ExitCode.OK, "dry-run": ExitCode.OK,
                    "rolled-back": ExitCode.ROLLED_BACK, "partial": ExitCode.PARTIAL,
                    "interrupted": ExitCode.INTERRUPTED, "aborted": ExitCode.USAGE,
                    "refused": ExitCode.LOCKED}
#: Outcomes of a finished operation that the next run of the same command carries on from.
RESUMABLE = ("interrupted", "refused")


def exit_code(execution: Execution) -> ExitCode:
    """An operation's exit code before verification: its outcome's, or 5 when it left warnings.

    Sessions an isolation could not end leave every device at the target (the site state says so), yet
    an intruder's established session may still be open: that needs an operator, like a partial cut.
    """
    code = _EXIT_BY_OUTCOME.get(execution.outcome, ExitCode.PARTIAL)
    return ExitCode.PARTIAL if code == ExitCode.OK and execution.warnings else code


def new_op_id() -> str:
    """A sortable, unique operation id."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@cache
def stamp_owner() -> str:
    """``user@host`` of this controller, as written into device markers (safe characters, bounded)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    host = socket.gethostname().split(".")[0]
    return f"{_safe(user)[:16]}@{_safe(host)[:31]}"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", text) or "-"


def next_state(kind: str, target: str, from_state: str, outcome: str) -> str:
    """The site state after an operation (see :func:`egressctl.sitestate.next_state`)."""
    return sitestate.next_state(kind, target, from_state, outcome)


def journal_emitter(journal: Journal, sink: Sink | None) -> Callable[[Event], None]:
    """Events go to the journal first (its errors stop the step), then to the display (its never do)."""

    def emit(event: Event) -> None:
        journal.record(event)  # raises: a step that cannot be journaled does not run
        if sink is not None:
            with suppress(Exception):  # a broken display must never stop an operation
                sink(event)

    return emit


@dataclass(frozen=True)
class Start:
    """Where an operation starts from: the chain's first state, this run's, and what it resumes."""

    from_state: str
    before: str
    resumed: str | None
    recorded: dict[str, str]


@dataclass
class Operation:
    """Runs one confirmed plan on a site (construct per operation, then :meth:`run`)."""

    site: Site
    kind: str
    plan: Plan
    journal: Journal
    factory: DriverFactory
    state_dir: Path
    max_workers: int = 8
    lease: float = 60.0
    revert_in: int = 120
    verify: bool = True
    sink: Sink | None = None
    proof: ProofOptions | None = None
    take_over: bool = False

    def run(self, *, force_unlock: bool = False, cancel: threading.Event | None = None) -> OperationResult:
        """Take the site lock, run the plan, release the lock.

        Raises:
            SiteLocked: another live operation holds the site.
        """
        cancel = cancel or threading.Event()
        # from here to the end, Ctrl-C, SIGTERM and SIGHUP only set ``cancel``: the operation ends through
        # its journaled path whatever line the signal lands on (see egressctl.interrupts)
        with signals_cancel(cancel) as signals:
            name, op_id, owner = self.site.name, new_op_id(), this_owner()
            if force_unlock:
                self.journal.force_unlock(name, by=owner)
            self.journal.acquire_lock(name, owner, op_id, self.lease)
            stop = threading.Event()
            renewer = threading.Thread(target=self._renew, args=(owner, stop, cancel), daemon=True)
            renewer.start()
            try:
                return self._run(op_id, owner, cancel, signals)
            finally:
                stop.set()
                renewer.join(timeout=5)
                self.journal.release_lock(name, owner, op_id)

    def _renew(self, owner: str, stop: threading.Event, cancel: threading.Event) -> None:
        """Keep our lease alive; if the lock was taken from us, stop before the next commit."""
        while not stop.wait(self.lease / 3):
            try:
                if not self.journal.renew_lock(self.site.name, owner, self.lease):
                    cancel.set()
            except EgressError:
                cancel.set()

    def _start(self, op_id: str, owner: str) -> Start:
        """Journal the operation, carrying on from one a crash left running or one that was interrupted."""
        journal, s, p = self.journal, self.site, self.plan
        before = journal.site_state(s.name)
        recorded = journal.device_states(s.name)
        prev = journal.unfinished(s.name)
        if prev is not None:
            journal.mark_interrupted(prev.op_id, s.name, op_id)
        else:
            last = next(iter(journal.operations(s.name, limit=1)), None)
            if last is not None and last.outcome in RESUMABLE and (last.kind, last.target) == (self.kind,
                                                                                              p.target):
                prev = last
        from_state = prev.from_state if prev is not None else before
        journal.start_operation(
            OperationRecord(op_id, s.name, self.kind, p.target, from_state, self._names(), owner,
                            resumes=prev.op_id if prev else None, started=time.time()),
            site_state="isolating" if self.kind == "isolate" else "restoring",
        )
        return Start(from_state, before, prev.op_id if prev else None, recorded)

    def _names(self) -> tuple[str, ...]:
        return tuple(d.device for d in self.plan.devices)

    def _undo_plan(self, start: Start) -> UndoPlan | None:
        """For a resumed restore: what to take each device back to (see :class:`UndoPlan`).

        Policies are computed only when a device needs one: a restore that succeeds computes none.
        """
        if self.kind != "restore" or start.resumed is None:
            return None
        fallback = start.from_state
        memo: dict[str, Policy | None] = {}

        def undo(device: str) -> Policy | None:
            target = sitestate.target_of(start.recorded.get(device, fallback))
            if device not in memo:
                memo[device] = compute_policy(self.site, target) if target is not None else None
            return memo[device]

        return UndoPlan(undo, self._confirmed_in_chain(start.resumed))

    def _confirmed_in_chain(self, op_id: str | None) -> frozenset[str]:
        """Devices ``op_id`` or an operation it resumed may have confirmed.

        Their ``confirm`` step ended ok, or started and never ended: the process died in it.
        """
        found: set[str] = set()
        while op_id is not None:
            found |= {r.device for r in self.journal.steps(op_id)
                      if r.step == "confirm" and r.status in ("started", "ok")}
            op = self.journal.operation(op_id)
            op_id = op.resumes if op is not None else None
        return frozenset(found)

    def _executor(self, op_id: str, emit: Callable[[Event], None], cancel: threading.Event,
                  start: Start) -> Executor:
        journal, s = self.journal, self.site
        return Executor(
            s, self.plan, op_id, factory=self.factory, emit=emit, revert_in=self.revert_in,
            snapshot=lambda dev, text: journal.record_snapshot(op_id, s.name, dev, text),
            all_or_nothing=self.kind == "restore", max_workers=self.max_workers, cancel=cancel,
            stamp=Stamp(op_id, stamp_owner()), is_ours=lambda op: journal.operation(op) is not None,
            take_over=self.take_over, undo=self._undo_plan(start),
        )

    def _settle(self, op_id: str, start: Start, execution: Execution) -> tuple[str, dict[str, str]]:
        """Journal where each device and the site now stand; returns (site state, device states)."""
        s, p = self.site, self.plan
        fallback = start.from_state if sitestate.target_of(start.from_state) else sitestate.UNKNOWN
        states = sitestate.device_states_after([d.name for d in s.devices], start.recorded, fallback,
                                               execution.results)
        if len(p.devices) < len(s.devices):
            state = sitestate.scoped_state(self.kind, p.target, start.from_state, execution.outcome,
                                           start.before, states)
        else:
            state = sitestate.next_state(self.kind, p.target, start.from_state, execution.outcome,
                                         start.before)
        if execution.outcome != "refused":
            self.journal.set_device_states(s.name, states, op_id)
        self.journal.set_site_state(s.name, state, op_id)
        return state, states

    def _run(self, op_id: str, owner: str, cancel: threading.Event, signals: Deferral) -> OperationResult:
        s, p = self.site, self.plan
        start = self._start(op_id, owner)
        emit = journal_emitter(self.journal, self.sink)
        emit(OperationStarted(op_id, s.name, operation=self.kind, target=p.target, devices=self._names()))
        proof = self.proof if self.verify else None
        # Sessions held open across the change (verification judges them) open before any device is touched.
        with held_sessions(s, p.policy, start.before, self.state_dir, proof) as held:
            execution = self._executor(op_id, emit, cancel, start).run()
            state, states = self._settle(op_id, start, execution)
            scope = list(self._names()) if len(p.devices) < len(s.devices) else []
            result = OperationResult(op_id, s.name, self.kind, p.target, execution.outcome, state,
                                     exit_code(execution), devices=execution.results, resumed=start.resumed,
                                     scope=scope, warnings=execution.warnings, detail=execution.detail,
                                     device_states=states)
            result.message = operation_message(result)
            if self.verify and execution.outcome in ("ok", "noop") and state != sitestate.MIXED:
                self._verify(op_id, emit, result, signals, held)
        emit(OperationFinished(op_id, s.name, outcome=result.outcome, state=state, message=result.message))
        return result

    def _verify(self, op_id: str, emit: Callable[[Event], None], result: OperationResult,
                signals: Deferral, held: object = None) -> None:
        """Prove the policy with packets; an interruption here ends the operation as interrupted (130).

        Verification changes nothing, so a signal stops it at once; one that came after the last device
        had already finished (the change was done anyway) skips it: the operator asked to stop.
        """
        watch = self.proof.watch_for(self.plan.target) if self.proof else 0.0
        try:
            if signals.received:
                raise KeyboardInterrupt(signals.received[0])
            with signals.raising():
                result.verification = run_verification(self.site, self.plan.policy, op_id, emit,
                                                       self.state_dir, held=held, watch_after=watch)
        except KeyboardInterrupt:
            result.exit_code = ExitCode.INTERRUPTED
            result.message += "; verification interrupted (re-run `egressctl verify` to prove the state)"
            return
        if result.verification is not None and not result.verification.ok:
            result.exit_code = ExitCode.VERIFY_FAILED
            result.message += f"; verification failed: {result.verification.summary}"
