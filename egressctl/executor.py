"""The executor: drives a plan over a site's devices in parallel, one device lifecycle each.

Per device: connect -> read state -> snapshot -> load -> diff -> commit (dead-man armed) -> read back and
compare -> management check on a *fresh* session -> confirm. Any failure rolls that device back. Failures are
data (:class:`DeviceResult`), never exceptions escaping a worker, as in Nornir.

Two site-level rules sit on top:

* **isolation is fail-closed**: each device confirms as soon as it is proven; a device that fails is rolled
  back on its own and the others stay cut (outcome ``partial``).
* **a restore is all-or-nothing**: every device is committed and proven first; only then are all confirmed.
  If any device fails (or a confirm fails), every changed device is rolled back (outcome ``rolled-back``).

Every step is emitted as an event *before* and *after* it runs; the first sink is the journal, whose write
errors abort the step (nothing is done that could not be recorded). State is always re-read from the
device, so running the same plan again after a crash resumes: devices already at target are skipped, a
pending commit that matches the target is checked then confirmed, any other pending commit is rolled back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from egressctl.driver import DeviceState, Driver
from egressctl.errors import CommitError, EgressError
from egressctl.events import CommitPending, DeviceStep, Event, Step, StepStatus
from egressctl.inventory.credentials import Secret, redact, resolve
from egressctl.inventory.models import Device, Site
from egressctl.planner import DevicePlan, Plan, is_noop, state_diff
from egressctl.policy import equivalent

T = TypeVar("T")
R = TypeVar("R")
DriverFactory = Callable[[Device], Driver]
SUCCESS = frozenset({"changed", "noop", "skipped"})


@dataclass
class DeviceResult:
    """What happened on one device.

    ``outcome``: changed, noop, skipped, failed (untouched), rolled-back, rollback-failed, interrupted, or
    pending (committed and proven, not yet confirmed: only seen between the two phases of a restore).
    """

    device: str
    outcome: str = "failed"
    before: str | None = None
    after: str | None = None
    failed_step: str | None = None
    error: str = ""
    diff: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class Execution:
    """The executor's report: per-device results and the site-level outcome."""

    results: list[DeviceResult]
    outcome: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"outcome": self.outcome, "devices": [r.to_dict() for r in self.results]}


@dataclass
class _Live:
    """One device's open session and how far its change went."""

    plan: DevicePlan
    device: Device
    result: DeviceResult
    drv: Driver | None = None
    secret: Secret | None = None
    loaded: bool = False
    committed: bool = False


class _StepFailed(Exception):
    def __init__(self, step: Step, message: str) -> None:
        super().__init__(message)
        self.step = step
        self.message = message


class _Interrupted(Exception):
    pass


def describe(exc: BaseException) -> str:
    """One-line, redacted description of an error (no traceback, no secrets)."""
    text = str(exc) if isinstance(exc, EgressError) else f"{type(exc).__name__}: {exc}"
    return redact(" ".join(text.split()))[:500]


def secret_for(device: Device) -> Secret:
    """Resolve a device's credential reference at connect time."""
    return resolve(device.credential)


class Executor:
    """Runs one plan. Construct per operation; :meth:`run` returns an :class:`Execution`."""

    def __init__(self, site: Site, plan: Plan, op_id: str, *, factory: DriverFactory,
                 emit: Callable[[Event], None], snapshot: Callable[[str, str], None],
                 revert_in: int = 120, all_or_nothing: bool = False, max_workers: int = 8,
                 cancel: threading.Event | None = None,
                 secrets: Callable[[Device], Secret] = secret_for) -> None:
        self.site = site
        self.plan = plan
        self.op_id = op_id
        self.factory = factory
        self.emit = emit
        self.snapshot = snapshot
        self.revert_in = revert_in
        self.all_or_nothing = all_or_nothing
        self.max_workers = max(1, max_workers)
        self.cancel = cancel or threading.Event()
        self.secrets = secrets

    # --- events ---------------------------------------------------------------------------------------
    def _event(self, device: str, step: Step, status: StepStatus, detail: str = "") -> None:
        self.emit(DeviceStep(self.op_id, self.site.name, device=device, step=step, status=status,
                             detail=redact(detail)))

    @contextmanager
    def _step(self, device: str, step: Step, detail: str = "") -> Iterator[list[str]]:
        """Journal the step as started, run the body, journal how it ended."""
        self._event(device, step, StepStatus.STARTED, detail)
        note: list[str] = []
        try:
            yield note
        except _Interrupted:
            self._event(device, step, StepStatus.SKIPPED, "interrupted by the operator")
            raise
        except Exception as exc:
            msg = describe(exc)
            self._event(device, step, StepStatus.FAILED, msg)
            raise _StepFailed(step, msg) from exc
        self._event(device, step, StepStatus.OK, "; ".join(note))

    # --- one device -----------------------------------------------------------------------------------
    def _prepare(self, dp: DevicePlan) -> _Live:
        """Phase 1: take the device to the target under its dead-man switch and prove it. Never raises."""
        live = _Live(dp, self.site.device(dp.device), DeviceResult(dp.device))
        try:
            self._advance(live)
        except _Interrupted:
            live.result.outcome = "interrupted"
            self._undo(live, "interrupted before commit")
        except Exception as exc:
            step = exc.step if isinstance(exc, _StepFailed) else None
            live.result.failed_step = step.value if step else None
            live.result.error = exc.message if isinstance(exc, _StepFailed) else describe(exc)
            self._undo(live, live.result.error)
        return live

    def _checkpoint(self, live: _Live) -> None:
        if self.cancel.is_set():
            raise _Interrupted

    def _advance(self, live: _Live) -> None:
        name, dp = live.device.name, live.plan
        self._checkpoint(live)
        with self._step(name, Step.CONNECT, f"{live.device.host}:{live.device.port}"):
            live.secret = self.secrets(live.device)
            live.drv = self.factory(live.device)
            live.drv.open(live.secret)
        drv = live.drv
        state = self._read(live)
        if state.pending_commit:
            if equivalent(state.rules, dp.policy.rules):
                live.committed = True
                self._prove(live)
                return
            with self._step(name, Step.ROLLBACK, "pending commit left by an interrupted operation"):
                drv.rollback()
            state = self._read(live)
            if is_noop(state, dp.policy):
                live.result.outcome, live.result.after = "changed", state.target
                self._event(name, Step.DONE, StepStatus.OK, f"back at {dp.policy.target} after the rollback")
                return
        if is_noop(state, dp.policy):
            live.result.outcome, live.result.after = "noop", state.target
            self._event(name, Step.DONE, StepStatus.SKIPPED, f"already at {dp.policy.target}; nothing sent")
            return
        self._change(live, drv, state)

    def _read(self, live: _Live) -> DeviceState:
        assert live.drv is not None
        with self._step(live.device.name, Step.READ_STATE) as note:
            state = live.drv.read_state()
            note.append(f"holds {state.target}" + (" (commit pending)" if state.pending_commit else ""))
        if live.result.before is None:
            live.result.before = state.target
        return state

    def _change(self, live: _Live, drv: Driver, state: DeviceState) -> None:
        name = live.device.name
        with self._step(name, Step.SNAPSHOT) as note:
            text = drv.snapshot()
            self.snapshot(name, text)
            note.append(f"{len(text)} bytes")
        with self._step(name, Step.LOAD, f"{len(live.plan.lines)} lines") as note:
            drv.load_candidate(live.plan.render_policy, state)
            live.loaded = True
        with self._step(name, Step.DIFF) as note:
            live.result.diff = redact(drv.diff())
            changes = state_diff(state, live.plan.policy)
            added = sum(1 for ln in changes if ln.startswith("+"))
            note.append(f"{added} rule atoms added, {len(changes) - added} removed")
        self._checkpoint(live)
        with self._step(name, Step.COMMIT, f"revert in {self.revert_in}s unless confirmed"):
            drv.commit(self.revert_in)
            live.committed = True
        self.emit(CommitPending(self.op_id, self.site.name, device=name, revert_in=self.revert_in,
                                deadline=time.time() + self.revert_in))
        self._prove(live)

    def _prove(self, live: _Live) -> None:
        """Read back and compare, then check management on a brand-new session."""
        assert live.drv is not None and live.secret is not None
        name, policy = live.device.name, live.plan.policy
        with self._step(name, Step.READBACK) as note:
            after = live.drv.read_state()
            if not equivalent(after.rules, policy.rules):
                diff = "; ".join(state_diff(after, policy)[:6])
                raise CommitError(name, f"read-back differs from target {policy.target}: {diff}")
            note.append(f"matches {policy.target} ({policy.fingerprint()})")
            live.result.after = after.target
        with self._step(name, Step.MGMT_CHECK, "fresh session") as note:
            fresh = self.factory(live.device)
            try:
                fresh.open(live.secret)
                fresh.read_state()
            finally:
                fresh.close()
            note.append("management path works")
        live.result.outcome = "pending"

    def _confirm(self, live: _Live) -> _Live:
        """Phase 2: confirm a proven pending commit. Never raises."""
        if live.result.outcome != "pending" or live.drv is None:
            return live
        try:
            with self._step(live.device.name, Step.CONFIRM):
                live.drv.confirm()
            live.result.outcome = "changed"
            self._event(live.device.name, Step.DONE, StepStatus.OK, f"now at {live.plan.policy.target}")
        except Exception as exc:
            live.result.failed_step, live.result.error = Step.CONFIRM.value, describe(exc)
            live.result.outcome = "failed"
            self._undo(live, live.result.error)
        return live

    def _undo(self, live: _Live, why: str) -> None:
        """Roll back a committed change (or discard a loaded candidate). Records the outcome."""
        drv, name = live.drv, live.device.name
        interrupted = live.result.outcome == "interrupted"
        try:
            if drv is not None and live.committed:
                with self._step(name, Step.ROLLBACK, why):
                    drv.rollback()
                live.committed = False
                live.result.after = live.result.before
                live.result.outcome = "rolled-back" if not interrupted else "interrupted"
            elif drv is not None and live.loaded:
                with self._step(name, Step.ROLLBACK, f"discard candidate: {why}"):
                    drv.discard()
            self._event(name, Step.DONE, StepStatus.FAILED, why)
        except Exception as exc:
            live.result.outcome = "rollback-failed"
            live.result.error = f"{live.result.error}; rollback: {describe(exc)}".strip("; ")
            self._event(name, Step.DONE, StepStatus.FAILED, "rollback failed: needs an operator")

    def _rollback_changed(self, live: _Live) -> _Live:
        if live.committed or live.result.outcome in ("pending", "changed"):
            live.committed = True
            why = "restore is all-or-nothing: another device failed"
            live.result.error = live.result.error or why
            self._undo(live, why)
        return live

    # --- the site -------------------------------------------------------------------------------------
    def _gather(self, pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Map ``fn`` over ``items`` in the pool; a first Ctrl-C stops new commits, then waits."""
        futures: list[Future[R]] = [pool.submit(fn, it) for it in items]
        while True:
            try:
                wait(futures)
                break
            except KeyboardInterrupt:
                if self.cancel.is_set():
                    raise
                self.cancel.set()
        return [f.result() for f in futures]

    def _prepare_and_confirm(self, dp: DevicePlan) -> _Live:
        live = self._confirm(self._prepare(dp))
        self._close(live)
        return live

    @staticmethod
    def _close(live: _Live) -> None:
        if live.drv is not None:
            live.drv.close()

    def run(self) -> Execution:
        """Run the plan and return per-device results and the site outcome."""
        todo = [dp for dp in self.plan.devices if not dp.skipped]
        skipped = [DeviceResult(dp.device, "skipped", error=dp.skipped)
                   for dp in self.plan.devices if dp.skipped]
        for r in skipped:
            self._event(r.device, Step.DONE, StepStatus.SKIPPED, r.error)
        with ThreadPoolExecutor(max_workers=min(self.max_workers, max(1, len(todo)))) as pool:
            if not self.all_or_nothing:
                lives = self._gather(pool, self._prepare_and_confirm, todo)
            else:
                lives = self._run_all_or_nothing(pool, todo)
        results = [lv.result for lv in lives] + skipped
        return Execution(sorted(results, key=lambda r: r.device), self._outcome(results))

    def _run_all_or_nothing(self, pool: ThreadPoolExecutor, todo: list[DevicePlan]) -> list[_Live]:
        lives = self._gather(pool, self._prepare, todo)
        try:
            if self._all_proven(lives) and not self.cancel.is_set():
                lives = self._gather(pool, self._confirm, lives)
            if not all(lv.result.outcome in SUCCESS for lv in lives):
                lives = self._gather(pool, self._rollback_changed, lives)
        finally:
            for lv in lives:
                self._close(lv)
        return lives

    @staticmethod
    def _all_proven(lives: list[_Live]) -> bool:
        return all(lv.result.outcome in ("pending", "noop") for lv in lives)

    def _outcome(self, results: list[DeviceResult]) -> str:
        outcomes = {r.outcome for r in results}
        if outcomes <= {"noop", "skipped"}:
            return "noop"
        if outcomes <= SUCCESS:
            return "ok"
        if "rollback-failed" in outcomes:
            return "partial"
        if self.cancel.is_set():
            return "interrupted"
        return "rolled-back" if self.all_or_nothing else "partial"


__all__ = ["DeviceResult", "DriverFactory", "Execution", "Executor", "describe", "secret_for"]
