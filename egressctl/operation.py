"""One operation on a site, from taking its lock to its last event.

The engine decides *whether* to run (plan refused, dry run, not confirmed); an :class:`Operation` runs it:
the site lock and its lease, resuming what a crash left running, the site state machine, the executor,
the outcome -> exit-code mapping of :mod:`egressctl.exitcodes`, and verification of the same policy that
was planned and sent. Every event passes through the journal first: a step that cannot be journaled does
not run.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from egressctl.errors import EgressError
from egressctl.events import Event, OperationFinished, OperationStarted, Sink
from egressctl.executor import DriverFactory, Execution, Executor
from egressctl.exitcodes import ExitCode
from egressctl.inventory.models import Site
from egressctl.journal import Journal, OperationRecord, this_owner
from egressctl.planner import Plan
from egressctl.results import OperationResult, operation_message
from egressctl.verification import run_verification

_EXIT_BY_OUTCOME = {"ok": ExitCode.OK, "noop": ExitCode.OK, "dry-run": ExitCode.OK,
                    "rolled-back": ExitCode.ROLLED_BACK, "partial": ExitCode.PARTIAL,
                    "interrupted": ExitCode.INTERRUPTED, "aborted": ExitCode.USAGE}


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


def next_state(kind: str, target: str, from_state: str, outcome: str) -> str:
    """The site state after an operation (the site state machine)."""
    reached = "isolated" if target == "isolated" else ("normal" if target == "normal" else f"stage:{target}")
    if outcome in ("ok", "noop"):
        return reached
    if kind == "restore" and outcome in ("rolled-back", "interrupted"):
        return from_state
    return "failed-partial"


def journal_emitter(journal: Journal, sink: Sink | None) -> Callable[[Event], None]:
    """Events go to the journal first (its errors stop the step), then to the display (its never do)."""

    def emit(event: Event) -> None:
        journal.record(event)  # raises: a step that cannot be journaled does not run
        if sink is not None:
            with suppress(Exception):  # a broken display must never stop an operation
                sink(event)

    return emit


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

    def run(self, *, force_unlock: bool = False, cancel: threading.Event | None = None) -> OperationResult:
        """Take the site lock, run the plan, release the lock.

        Raises:
            SiteLocked: another live operation holds the site.
        """
        name, op_id, owner = self.site.name, new_op_id(), this_owner()
        if force_unlock:
            self.journal.force_unlock(name, by=owner)
        self.journal.acquire_lock(name, owner, op_id, self.lease)
        cancel = cancel or threading.Event()
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(owner, stop, cancel), daemon=True)
        renewer.start()
        try:
            return self._run(op_id, owner, cancel)
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

    def _start(self, op_id: str, owner: str) -> tuple[str, str | None]:
        """Journal the operation (closing one a crash left running); returns (from state, resumed op)."""
        journal, s, p = self.journal, self.site, self.plan
        prev = journal.unfinished(s.name)
        from_state = journal.site_state(s.name)
        if prev is not None:
            journal.mark_interrupted(prev.op_id, s.name, op_id)
            from_state = prev.from_state
        journal.start_operation(
            OperationRecord(op_id, s.name, self.kind, p.target, from_state, self._names(), owner,
                            resumes=prev.op_id if prev else None, started=time.time()),
            site_state="isolating" if self.kind == "isolate" else "restoring",
        )
        return from_state, prev.op_id if prev else None

    def _names(self) -> tuple[str, ...]:
        return tuple(d.device for d in self.plan.devices)

    def _run(self, op_id: str, owner: str, cancel: threading.Event) -> OperationResult:
        journal, s, p = self.journal, self.site, self.plan
        from_state, resumed = self._start(op_id, owner)
        emit = journal_emitter(journal, self.sink)
        emit(OperationStarted(op_id, s.name, operation=self.kind, target=p.target, devices=self._names()))
        execution = Executor(
            s, p, op_id, factory=self.factory, emit=emit, revert_in=self.revert_in,
            snapshot=lambda dev, text: journal.record_snapshot(op_id, s.name, dev, text),
            all_or_nothing=self.kind == "restore", max_workers=self.max_workers, cancel=cancel,
        ).run()
        state = next_state(self.kind, p.target, from_state, execution.outcome)
        journal.set_site_state(s.name, state, op_id)
        scope = list(self._names()) if len(p.devices) < len(s.devices) else []
        result = OperationResult(op_id, s.name, self.kind, p.target, execution.outcome, state,
                                 exit_code(execution), devices=execution.results, resumed=resumed,
                                 scope=scope, warnings=execution.warnings)
        result.message = operation_message(result)
        if self.verify and execution.outcome in ("ok", "noop"):
            result.verification = run_verification(s, p.policy, op_id, emit, self.state_dir)
            if result.verification is not None and not result.verification.ok:
                result.exit_code = ExitCode.VERIFY_FAILED
                result.message += f"; verification failed: {result.verification.summary}"
        emit(OperationFinished(op_id, s.name, outcome=result.outcome, state=state, message=result.message))
        return result
