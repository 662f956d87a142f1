"""The engine facade: the one object the CLI, the TUI and library users drive.

It ties the inventory, the planner, the journal and verification together: it plans, refuses what cannot
be done before anything is touched (unknown targets, capability gaps, unresolvable credentials), asks for
confirmation, then hands a confirmed plan to an :class:`~egressctl.operation.Operation` (lock, resume,
executor, site state machine, exit code). Results are the dataclasses of :mod:`egressctl.results`.

The neutral policy is computed once per operation, here: the plan, each device's plan inside the executor
and verification all receive that one object (``plan``, ``--dry-run`` and ``isolate`` compute it once
each), so what is shown, what is sent and what is proven are the same policy.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

from egressctl.check import CheckContext, CheckReport, run_check
from egressctl.describe import describe
from egressctl.driver import DeviceState, Driver, OperationContext, SessionHandling, operation_context
from egressctl.errors import PolicyError
from egressctl.events import Sink
from egressctl.executor import DriverFactory
from egressctl.exitcodes import ExitCode
from egressctl.interrupts import signals_interrupt
from egressctl.inventory import credentials
from egressctl.inventory.credentials import secret_for
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Inventory, Site
from egressctl.journal import ChainCheck, Journal, JournalEntry, LockInfo, this_owner
from egressctl.journal.explain import hint, sessions_not_ended
from egressctl.operation import Operation, journal_emitter
from egressctl.planner import UNKNOWN, Plan, TestFaults, check_capabilities, plan
from egressctl.policy import Policy, compute_policy
from egressctl.preflight import check_device_credentials, check_state_dir, check_vantage_credentials
from egressctl.results import DeviceResult, OperationResult, SiteOverview, SiteStatus, VerifyResult
from egressctl.sitestate import describe_mixed
from egressctl.verification import ProofOptions, run_verification


def plan_exit_code(p: Plan) -> ExitCode:
    """``plan`` and ``--dry-run``: incomplete (not "success") when any device could not be read.

    A plan with an unread device shows commands rendered against an unknown state; a script that gates
    an isolation on ``plan`` must not mistake that for a complete one.
    """
    return ExitCode.PLAN_INCOMPLETE if any(d.error for d in p.devices) else ExitCode.OK


def default_factory(device: Device, timeout: float = 30.0) -> Driver:
    """Build the registered driver of ``device``'s platform."""
    from egressctl.registry import driver_class

    ctor: Callable[..., Driver] = driver_class(device.platform)
    return ctor(device, timeout=timeout)


def read_session_handling(drv: Driver) -> str:
    """How ``drv``'s device treats established sessions, or ``unknown`` when the driver cannot say.

    Read during the planning read, on its session. A driver that does not implement it yet, or whose
    read fails, must not turn a plan into an error: the plan says ``unknown`` and warns accordingly.
    """
    try:
        return SessionHandling(drv.session_handling()).value
    except Exception:
        return UNKNOWN


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
        """The journal (opened on first use, so read-only commands on a bad inventory touch nothing).

        A state directory egressctl creates is private (``0700``): the journal holds configuration
        snapshots. One the operator made keeps its permissions; the journal's own files are ``0600``.
        """
        if self._journal is None:
            with suppress(OSError):  # check_state_dir reports what is wrong with it
                self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._journal = Journal(check_state_dir(self.state_dir))
        return self._journal

    def close(self) -> None:
        """Close the journal."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def fork(self) -> Engine:
        """This engine (inventory, state directory, drivers) with its own journal connection.

        An estate runs one site per thread, each on a fork, so no SQLite connection is shared by threads.
        """
        twin = copy.copy(self)
        twin._journal = None
        return twin

    def site_of(self, device: Device) -> Site | None:
        """The site ``device`` belongs to (drivers whose safety net uses another host of it need it)."""
        return next((s for s in self.inventory.sites if any(d is device for d in s.devices)), None)

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

    def _read_one(self, dev: Device) -> tuple[str, DeviceState | None, str, str]:
        """(device, state, read error, session handling) over one read-only session."""
        drv = self.factory(dev)
        try:
            drv.open(secret_for(dev))
            with operation_context(OperationContext(site=self.site_of(dev))):
                return dev.name, drv.read_state(), "", read_session_handling(drv)
        except Exception as exc:
            return dev.name, None, describe(exc), UNKNOWN
        finally:
            drv.close()

    def plan(self, site: str, target: str, *, offline: bool = False, devices: Sequence[str] | None = None,
             faults: TestFaults | None = None) -> Plan:
        """Plan ``site`` to ``target``: read each device's state (read-only) unless ``offline``.

        Raises:
            PolicyError: unknown site, target or device.
            PlanError: capability gaps (before any device is contacted).
            CredentialError: a device's credential reference does not resolve (unless ``offline``).
        """
        s = self.site(site)
        return self._plan(s, compute_policy(s, target), self._devices(s, devices), offline, faults)

    def _plan(self, s: Site, policy: Policy, devs: list[Device], offline: bool,
              faults: TestFaults | None) -> Plan:
        """Plan ``devs`` to ``policy`` (computed by the caller, once per operation)."""
        drivers = self._drivers(devs)
        check_capabilities(s, policy, drivers, faults)  # refuses gaps before any connection
        if offline:
            return plan(s, policy, drivers, faults=faults)
        check_device_credentials(devs)
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            found = list(pool.map(self._read_one, [d for d in devs if not isinstance(drivers[d.name], str)]))
        return plan(s, policy, drivers, faults=faults, states={name: st for name, st, _, _ in found},
                    errors={name: err for name, _, err, _ in found if err},
                    handling={name: how for name, _, _, how in found})

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
              cancel: threading.Event | None = None, held_sessions: bool = True,
              watch_after: float = 3.0, take_over: bool = False) -> OperationResult:
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
            cancel: set it to stop before the next commit (what Ctrl-C, SIGTERM and SIGHUP do).
            held_sessions: with ``verify``, hold flows open across the change and require the denied ones
                dead and the allowed ones alive afterwards.
            watch_after: with ``verify``, seconds of passive watch on every capture point after an
                isolation, while the probes run (0: none).
            take_over: act on another controller's unconfirmed change (refused, exit 4, without it).

        Raises:
            PolicyError, PlanError, CredentialError: nothing was touched.
            JournalUnusable: the journal cannot be written (full, read-only, locked); nothing was touched.
            SiteLocked: another live operation holds the site.
        """
        with signals_interrupt():  # SIGTERM and SIGHUP take Ctrl-C's path (see egressctl.interrupts)
            return self._apply(site, target, dry_run=dry_run, verify=verify, yes=yes, revert_in=revert_in,
                               sink=sink, faults=faults, devices=devices, force_unlock=force_unlock,
                               confirm=confirm, cancel=cancel, take_over=take_over,
                               proof=ProofOptions(held_sessions, watch_after))

    def _apply(self, site: str, target: str, *, dry_run: bool, verify: bool, yes: bool, revert_in: int,
               sink: Sink | None, faults: TestFaults | None, devices: Sequence[str] | None,
               force_unlock: bool, confirm: Callable[[Plan], bool] | None,
               cancel: threading.Event | None, take_over: bool, proof: ProofOptions) -> OperationResult:
        s = self.site(site)
        kind = "isolate" if target == "isolated" else "restore"
        devs = self._devices(s, devices)
        policy = compute_policy(s, target)  # the one computation of this operation's policy
        if dry_run:
            p = self._plan(s, policy, devs, False, faults)
            unread = [d.device for d in p.devices if d.error]
            note = f"; could not read {', '.join(unread)}" if unread else ""
            return OperationResult("", site, kind, target, "dry-run", self.journal_state(site),
                                   plan_exit_code(p), "dry run: nothing was sent" + note, plan=p,
                                   dry_run=True)
        offline = self._plan(s, policy, devs, True, faults)
        check_device_credentials(devs)
        self.journal.probe_write()  # before any device is touched
        if not yes and (confirm is None or not confirm(offline)):
            return OperationResult("", site, kind, target, "aborted", self.journal_state(site),
                                   ExitCode.USAGE, "not confirmed: nothing was changed")
        return Operation(s, kind, offline, self.journal, self.factory, self.state_dir, self.max_workers,
                         self.lease, revert_in, verify, sink, proof, take_over=take_over
                         ).run(force_unlock=force_unlock, cancel=cancel)

    def journal_state(self, site: str) -> str:
        """The site's state as journaled (``normal`` when never operated)."""
        return self.journal.site_state(site)

    # --- reading --------------------------------------------------------------------------------------
    def status(self, site: str) -> SiteStatus:
        """Where ``site`` stands and what the operator should do."""
        s = self.site(site)
        j = self.journal
        state, lock = j.site_state(s.name), j.lock(s.name)
        ops = j.operations(s.name, limit=1)
        op = ops[0] if ops else None
        running = op is not None and op.status == "running"
        every = j.steps(op.op_id) if op else []
        steps = {r.device: r for r in every}  # each device's latest step
        vers = j.verifications(s.name, limit=1)
        recorded = j.device_states(s.name)
        fallback = state if state in ("isolated", "normal") or state.startswith("stage:") else "unknown"
        per_device = {d.name: recorded.get(d.name, fallback) for d in s.devices}
        return SiteStatus(
            s.name, state, hint(s.name, state, op, running, lock, steps, sessions_not_ended(every),
                                per_device), op,
            running, lock,
            {d: {"step": r.step, "status": r.status, "detail": r.detail, "at": r.at}
             for d, r in steps.items()},
            vers[0] if vers else None, per_device,
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

    def check(self, site: str, *, devices: Sequence[str] | None = None, strict: bool = False,
              drift_only: bool = False) -> CheckReport:
        """Preflight ``site``, changing nothing (see :mod:`egressctl.check`); ``drift_only``: only drift."""
        s = self.site(site)
        ctx = CheckContext(self.factory, self.journal, self.state_dir)
        return run_check(s, self._devices(s, devices), ctx, strict=strict, drift_only=drift_only)

    def verify(self, site: str, **kw: Any) -> VerifyResult:
        """Verify the site's current state with packets and journal the result."""
        s = self.site(site)
        state = self.journal.site_state(s.name)
        target = state.removeprefix("stage:")
        if state == "mixed":
            where = describe_mixed(self.journal.device_states(s.name))
            raise PolicyError(f"site {site!r} is mixed ({where}): verification proves one state; "
                              "bring every device to it first")
        if target not in ("isolated", "normal") and not state.startswith("stage:"):
            raise PolicyError(f"site {site!r} is {state}: finish or resume the operation before verifying")
        check_vantage_credentials(s)
        emit = journal_emitter(self.journal, kw.get("sink"))
        res = run_verification(s, compute_policy(s, target), "", emit, self.state_dir)
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


__all__ = ["DeviceResult", "Engine", "OperationResult", "SiteOverview", "SiteStatus", "TestFaults",
           "VerifyResult", "plan_exit_code", "run_verification"]
