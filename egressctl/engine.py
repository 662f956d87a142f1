"""The engine facade: the one object the CLI, the TUI and library users drive.

It ties the inventory, the planner, the executor, the journal and verification together and owns the
site-level rules: one operation per site (lock), a site state machine, resume after a crash, and the
outcome -> exit-code mapping documented in the README. Results are dataclasses with ``to_dict()``.
"""

from __future__ import annotations

import importlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egressctl.driver import DeviceState, Driver
from egressctl.errors import EgressError, PolicyError
from egressctl.events import Event, OperationFinished, OperationStarted, Sink, VerificationDone
from egressctl.executor import DeviceResult, DriverFactory, Executor, describe, secret_for
from egressctl.inventory import credentials
from egressctl.inventory.credentials import redact
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Inventory, Site
from egressctl.journal import ChainCheck, Journal, JournalEntry, LockInfo, OperationRecord, this_owner
from egressctl.journal.explain import hint
from egressctl.planner import Plan, TestFaults, plan
from egressctl.policy import compute_policy

EXIT_OK, EXIT_ROLLED_BACK, EXIT_USAGE, EXIT_VERIFY, EXIT_LOCKED, EXIT_PARTIAL, EXIT_INTERRUPTED = (
    0, 1, 2, 3, 4, 5, 130)
_EXIT_BY_OUTCOME = {"ok": EXIT_OK, "noop": EXIT_OK, "dry-run": EXIT_OK, "rolled-back": EXIT_ROLLED_BACK,
                    "partial": EXIT_PARTIAL, "interrupted": EXIT_INTERRUPTED, "aborted": EXIT_USAGE}


def default_factory(device: Device, timeout: float = 30.0) -> Driver:
    """Build the registered driver of ``device``'s platform."""
    from egressctl.registry import driver_class

    ctor: Callable[..., Driver] = driver_class(device.platform)
    return ctor(device, timeout=timeout)


@dataclass
class OperationResult:
    """The result of ``apply`` (isolate/restore), also for dry runs and aborted confirmations."""

    op_id: str
    site: str
    operation: str
    target: str
    outcome: str
    state: str
    exit_code: int
    message: str = ""
    devices: list[DeviceResult] = field(default_factory=list)
    plan: Plan | None = None
    verification: VerifyResult | None = None
    dry_run: bool = False
    resumed: str | None = None
    scope: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "op_id": self.op_id, "site": self.site, "operation": self.operation, "target": self.target,
            "outcome": self.outcome, "state": self.state, "exit_code": self.exit_code,
            "message": self.message, "dry_run": self.dry_run, "resumed": self.resumed, "scope": self.scope,
            "devices": [d.to_dict() for d in self.devices],
            "plan": self.plan.to_dict() if self.plan else None,
            "verification": self.verification.to_dict() if self.verification else None,
        }


@dataclass
class SiteStatus:
    """``egressctl status SITE``: state, lock, last operation, where each device got to, what to do."""

    site: str
    state: str
    hint: str
    operation: OperationRecord | None = None
    running: bool = False
    lock: LockInfo | None = None
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    verification: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"site": self.site, "state": self.state, "hint": self.hint, "running": self.running,
                "operation": self.operation.to_dict() if self.operation else None,
                "lock": self.lock.to_dict() if self.lock else None, "devices": self.devices,
                "verification": self.verification}


@dataclass
class SiteOverview:
    """One line of ``egressctl status`` without a site."""

    site: str
    state: str
    devices: int
    exits: list[str]
    locked_by: str | None
    last_operation: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class VerifyResult:
    """An active verification's verdict, as journaled (``ok`` False means exit 3)."""

    site: str
    target: str
    ok: bool
    verdict: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when the verification passed, 3 otherwise."""
        return EXIT_OK if self.ok else EXIT_VERIFY

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"site": self.site, "target": self.target, "ok": self.ok, "verdict": self.verdict,
                "summary": self.summary, "details": self.details}


def _netns_prefix(state_dir: Path) -> Callable[[str], list[str]]:
    from egressctl.registry import netns_exec

    return netns_exec(state_dir)


def run_verification(site: Site, target: str, op_id: str, emit: Callable[[Event], None],
                     state_dir: Path) -> VerifyResult | None:
    """Prove ``target`` on ``site`` with packets (VERIFY-B's ``verify_active``) and journal the verdict.

    Returns None (journaled as ``unavailable``) when the site has no vantage point or the active
    verification module is not installed; a verification that cannot run is a failed one (``error``).
    """
    try:
        active = importlib.import_module("egressctl.verify.probe.active")
    except ImportError:
        active = None
    verify_active = getattr(active, "verify_active", None)
    if verify_active is None or not site.vantage_points:
        why = ("no vantage points" if verify_active is not None
               else "egressctl.verify.probe.active not installed")
        emit(VerificationDone(op_id, site.name, verdict="unavailable", summary=why))
        return None
    try:
        report = verify_active(site, target, exec_prefix=_netns_prefix(state_dir))
        res = VerifyResult(site.name, target, bool(report.ok), str(report.verdict),
                           redact(str(report.summary)), dict(report.to_dict()))
    except Exception as exc:
        res = VerifyResult(site.name, target, False, "error", f"verification could not run: {describe(exc)}")
    emit(VerificationDone(op_id, site.name, verdict=res.verdict, summary=res.summary, details=res.details))
    return res


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


class Engine:
    """egressctl's engine over one inventory file and one state directory."""

    def __init__(self, inventory_path: Path | str, *, state_dir: Path | None = None,
                 driver_factory: DriverFactory | None = None, max_workers: int = 8,
                 lease: float = 60.0) -> None:
        self.inventory_path = Path(inventory_path)
        self.inventory: Inventory = load_inventory(self.inventory_path)
        self.state_dir = Path(state_dir) if state_dir else credentials.state_dir()
        self.factory: DriverFactory = driver_factory or default_factory
        self.max_workers = max_workers
        self.lease = lease
        self._journal: Journal | None = None

    @property
    def journal(self) -> Journal:
        """The journal (opened on first use, so read-only commands on a bad inventory touch nothing)."""
        if self._journal is None:
            self._journal = Journal(self.state_dir)
        return self._journal

    def close(self) -> None:
        """Close the journal."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def site(self, name: str) -> Site:
        """The site called ``name``. Raises PolicyError (a usage error) when absent."""
        try:
            return self.inventory.site(name)
        except KeyError as exc:
            raise PolicyError(str(exc.args[0])) from None

    # --- planning -------------------------------------------------------------------------------------
    def _devices(self, site: Site, only: Sequence[str] | None) -> list[Device]:
        if not only:
            return list(site.devices)
        names = {d.name for d in site.devices}
        unknown = [n for n in only if n not in names]
        if unknown:
            raise PolicyError(f"site {site.name!r} has no device {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(names))}")
        return [d for d in site.devices if d.name in set(only)]

    def _drivers(self, devices: list[Device]) -> dict[str, Driver | str]:
        out: dict[str, Driver | str] = {}
        for dev in devices:
            try:
                out[dev.name] = self.factory(dev)
            except Exception as exc:
                out[dev.name] = f"driver for platform {dev.platform} unavailable: {describe(exc)}"
        return out

    def _read_one(self, dev: Device) -> tuple[str, DeviceState | None, str]:
        drv = self.factory(dev)
        try:
            drv.open(secret_for(dev))
            return dev.name, drv.read_state(), ""
        except Exception as exc:
            return dev.name, None, describe(exc)
        finally:
            drv.close()

    def plan(self, site: str, target: str, *, offline: bool = False, devices: Sequence[str] | None = None,
             faults: TestFaults | None = None) -> Plan:
        """Plan ``site`` to ``target``: read each device's state (read-only) unless ``offline``.

        Raises:
            PolicyError: unknown site, target or device.
            PlanError: capability gaps (before any device is contacted).
        """
        s = self.site(site)
        devs = self._devices(s, devices)
        drivers = self._drivers(devs)
        plan(s, {}, target, drivers, faults=faults)  # refuses gaps before any connection
        if offline:
            return plan(s, {}, target, drivers, faults=faults)
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            found = list(pool.map(self._read_one, [d for d in devs if not isinstance(drivers[d.name], str)]))
        states = {name: st for name, st, _ in found}
        errors = {name: err for name, _, err in found if err}
        return plan(s, states, target, drivers, faults=faults, errors=errors)

    # --- operations -----------------------------------------------------------------------------------
    def isolate(self, site: str, **kw: Any) -> OperationResult:
        """Cut ``site`` off (fail-closed). Same keywords as :meth:`apply`."""
        return self.apply(site, "isolated", **kw)

    def restore(self, site: str, stage: str | None = None, full: bool = False, **kw: Any) -> OperationResult:
        """Restore ``site`` to ``stage`` or fully (all-or-nothing). Same keywords as :meth:`apply`."""
        if full == (stage is not None):
            raise PolicyError("restore needs exactly one of --stage NAME or --full")
        return self.apply(site, "normal" if full else str(stage), **kw)

    def apply(self, site: str, target: str, *, dry_run: bool = False, verify: bool = True, yes: bool = True,
              revert_in: int = 120, sink: Sink | None = None, faults: TestFaults | None = None,
              devices: Sequence[str] | None = None, force_unlock: bool = False,
              confirm: Callable[[Plan], bool] | None = None,
              cancel: threading.Event | None = None) -> OperationResult:
        """Take ``site`` to ``target``.

        Args:
            site: site name.
            target: ``isolated``, a stage name or ``normal``.
            dry_run: plan (reading device state) and return without sending anything.
            verify: run active verification afterwards (exit 3 when it fails).
            yes: proceed without asking; when False, ``confirm(plan)`` must return True.
            revert_in: dead-man switch delay in seconds.
            sink: extra event sink (CLI printer, TUI); the journal is always attached first.
            faults: test-only fault injection.
            devices: restrict the operation to these devices.
            force_unlock: remove any lock first (operator override).
            confirm: asked when ``yes`` is False.
            cancel: set it to stop before the next commit (what Ctrl-C does).

        Raises:
            PolicyError, PlanError: nothing was touched.
            SiteLocked: another live operation holds the site.
        """
        s = self.site(site)
        kind = "isolate" if target == "isolated" else "restore"
        devs = self._devices(s, devices)
        compute_policy(s, target)
        offline = plan(s, {}, target, self._drivers(devs), faults=faults)
        if dry_run:
            p = self.plan(site, target, devices=devices, faults=faults)
            return OperationResult("", site, kind, target, "dry-run", self.journal_state(site), EXIT_OK,
                                   "dry run: nothing was sent", plan=p, dry_run=True)
        if not yes and (confirm is None or not confirm(offline)):
            return OperationResult("", site, kind, target, "aborted", self.journal_state(site), EXIT_USAGE,
                                   "not confirmed: nothing was changed")
        op_id, owner = new_op_id(), this_owner()
        if force_unlock:
            self.journal.force_unlock(site, by=owner)
        self.journal.acquire_lock(site, owner, op_id, self.lease)
        cancel = cancel or threading.Event()
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(site, owner, stop, cancel), daemon=True)
        renewer.start()
        try:
            return self._run(s, kind, target, op_id, owner, offline, verify, revert_in, sink, cancel)
        finally:
            stop.set()
            renewer.join(timeout=5)
            self.journal.release_lock(site, owner, op_id)

    def journal_state(self, site: str) -> str:
        """The site's state as journaled (``normal`` when never operated)."""
        return self.journal.site_state(site)

    def _renew(self, site: str, owner: str, stop: threading.Event, cancel: threading.Event) -> None:
        """Keep our lease alive; if the lock was taken from us, stop before the next commit."""
        while not stop.wait(self.lease / 3):
            try:
                if not self.journal.renew_lock(site, owner, self.lease):
                    cancel.set()
            except EgressError:
                cancel.set()

    def _emitter(self, sink: Sink | None) -> Callable[[Event], None]:
        journal = self.journal

        def emit(event: Event) -> None:
            journal.record(event)  # raises: a step that cannot be journaled does not run
            if sink is not None:
                with suppress(Exception):  # a broken display must never stop an operation
                    sink(event)

        return emit

    def _run(self, s: Site, kind: str, target: str, op_id: str, owner: str, p: Plan, verify: bool,
             revert_in: int, sink: Sink | None, cancel: threading.Event) -> OperationResult:
        journal = self.journal
        prev = journal.unfinished(s.name)
        from_state = journal.site_state(s.name)
        if prev is not None:
            journal.mark_interrupted(prev.op_id, s.name, op_id)
            from_state = prev.from_state
        names = tuple(d.device for d in p.devices)
        journal.start_operation(
            OperationRecord(op_id, s.name, kind, target, from_state, names, owner,
                            resumes=prev.op_id if prev else None, started=time.time()),
            site_state="isolating" if kind == "isolate" else "restoring",
        )
        emit = self._emitter(sink)
        emit(OperationStarted(op_id, s.name, operation=kind, target=target, devices=names))
        execution = Executor(
            s, p, op_id, factory=self.factory, emit=emit, revert_in=revert_in,
            snapshot=lambda dev, text: journal.record_snapshot(op_id, s.name, dev, text),
            all_or_nothing=kind == "restore", max_workers=self.max_workers, cancel=cancel,
        ).run()
        state = next_state(kind, target, from_state, execution.outcome)
        journal.set_site_state(s.name, state, op_id)
        partial_scope = len(names) < len(s.devices)
        result = OperationResult(op_id, s.name, kind, target, execution.outcome, state,
                                 _EXIT_BY_OUTCOME.get(execution.outcome, EXIT_PARTIAL),
                                 devices=execution.results, resumed=prev.op_id if prev else None,
                                 scope=list(names) if partial_scope else [])
        result.message = _message(result)
        if verify and execution.outcome in ("ok", "noop"):
            result.verification = run_verification(s, target, op_id, emit, self.state_dir)
            if result.verification is not None and not result.verification.ok:
                result.exit_code = EXIT_VERIFY
                result.message += f"; verification failed: {result.verification.summary}"
        emit(OperationFinished(op_id, s.name, outcome=result.outcome, state=state, message=result.message))
        return result

    # --- reading --------------------------------------------------------------------------------------
    def status(self, site: str) -> SiteStatus:
        """Where ``site`` stands and what the operator should do."""
        s = self.site(site)
        j = self.journal
        state, lock = j.site_state(s.name), j.lock(s.name)
        ops = j.operations(s.name, limit=1)
        op = ops[0] if ops else None
        running = op is not None and op.status == "running"
        steps = j.last_steps(op.op_id) if op else {}
        vers = j.verifications(s.name, limit=1)
        return SiteStatus(
            s.name, state, hint(s.name, state, op, running, lock, steps), op, running, lock,
            {d: {"step": r.step, "status": r.status, "detail": r.detail, "at": r.at}
             for d, r in steps.items()},
            vers[0] if vers else None,
        )

    def sites_overview(self) -> list[SiteOverview]:
        """One overview per inventory site."""
        out = []
        for s in self.inventory.sites:
            lock = self.journal.lock(s.name)
            ops = self.journal.operations(s.name, limit=1)
            out.append(SiteOverview(s.name, self.journal.site_state(s.name), len(s.devices), s.exits,
                                    lock.owner if lock else None, ops[0].op_id if ops else None))
        return out

    def verify(self, site: str, **kw: Any) -> VerifyResult:
        """Verify the site's current state with packets and journal the result."""
        s = self.site(site)
        state = self.journal.site_state(s.name)
        target = state.removeprefix("stage:")
        if target not in ("isolated", "normal") and not state.startswith("stage:"):
            raise PolicyError(f"site {site!r} is {state}: finish or resume the operation before verifying")
        res = run_verification(s, target, "", self._emitter(kw.get("sink")), self.state_dir)
        if res is None:
            raise PolicyError(f"site {site!r} has no vantage points (or verification is not installed)")
        return res

    def history(self, site: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """The audit trail, oldest first."""
        return self.journal.history(site, limit)

    def verify_history(self) -> ChainCheck:
        """Check the audit trail's hash chain."""
        return self.journal.verify_chain()

    def unlock(self, site: str) -> LockInfo | None:
        """Remove ``site``'s lock (operator override); returns what was removed."""
        return self.journal.force_unlock(self.site(site).name, by=this_owner())


def _message(r: OperationResult) -> str:
    bad = [d for d in r.devices if d.outcome not in ("changed", "noop", "skipped")]
    if r.outcome == "noop":
        return f"every device already at {r.target}; nothing sent"
    if r.outcome == "ok":
        return f"{r.site} is {r.state}" + (f" (devices: {', '.join(r.scope)})" if r.scope else "")
    detail = "; ".join(f"{d.device}: {d.outcome}" + (f" at {d.failed_step}" if d.failed_step else "")
                       + (f": {d.error}" if d.error else "") for d in bad)
    if r.outcome == "rolled-back":
        return f"restore failed and every device was rolled back to {r.state} ({detail})"
    if r.outcome == "interrupted":
        return f"interrupted; site is {r.state} ({detail})"
    return f"partial: {detail}"


__all__ = ["Engine", "OperationResult", "SiteOverview", "SiteStatus", "TestFaults", "VerifyResult"]
