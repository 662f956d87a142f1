"""The device and site parts of ``egressctl check``: one read-only session per device, nothing sent.

Per device, in order, each step only when the one before worked (a device that cannot be reached has no
state to compare): ``driver`` (its platform's driver loads), ``credential`` (the reference resolves),
``reachable`` (SSH with the pinned host key and the credential, privileges included: ``enable`` on IOS,
``sudo -s`` on Linux), ``read-state`` (egressctl's objects parse), ``pending`` (no change is waiting for
confirmation: the next run would roll back anything that does not match its target), ``drift`` (see
:mod:`egressctl.drift`), ``sessions`` (how established sessions fare in a cut) and then the driver's own
``preflight()`` checks: vendor prerequisites and what its dead-man switch does when it fires.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from egressctl.check import CheckContext, CheckResult, Status, Subject, fail, ok, timed, warn
from egressctl.describe import describe
from egressctl.drift import DRIFT, IN_SYNC, STALE, Drift, Expected, compare
from egressctl.driver import Capability, DeviceState, Driver, SafetyNet, SessionHandling
from egressctl.errors import EgressError
from egressctl.inventory.credentials import secret_for
from egressctl.inventory.models import Device, Site
from egressctl.preflight import check_device_credentials
from egressctl.sitestate import MIXED, describe_mixed

#: What a safety net does when it fires, for drivers that do not say it themselves (no ``preflight``).
DEFAULT_EFFECT = {
    SafetyNet.NATIVE_CONFIRM: "the device reverts the change by itself (the vendor's commit-confirm)",
    SafetyNet.CONTROLLER_TIMER: "a revert job egressctl armed on the device restores the earlier state",
    SafetyNet.GUARDED_SNAPSHOT: "no on-box revert: the controller rolls back from the snapshot; if the "
                                "controller dies first, the change stays until the next run",
}


def check_device(dev: Device, site: Site, factory: Callable[[Device], Driver], expected: Expected,
                 drift_only: bool = False) -> Subject:
    """Every check of one device over one read-only session (see the module docstring)."""
    def body(subject: Subject) -> None:
        subject.info.update({"platform": dev.platform, "exit": dev.exit, "safety_net": "",
                             "safety_net_effect": "", "held": None, "expected": expected.target,
                             "drift": None})
        drv = _connect(subject, dev, factory)
        if drv is None:
            return
        try:
            _on_session(subject, drv, dev, site, expected, drift_only)
        finally:
            drv.close()

    return timed("device", dev.name, body)


def _connect(subject: Subject, dev: Device, factory: Callable[[Device], Driver]) -> Driver | None:
    """``driver``, ``credential``, ``reachable``: an open session, or None (the failure is recorded)."""
    add = subject.checks.append
    try:
        drv = factory(dev)
    except Exception as exc:
        add(fail("driver", f"no driver for platform {dev.platform}: {describe(exc)}"))
        return None
    subject.info["safety_net"] = drv.safety_net.value
    try:
        check_device_credentials([dev])  # its references and SSH path, as an operation checks them
        secret = secret_for(dev)
    except (EgressError, KeyError, ValueError) as exc:
        lines = str(exc.args[0] if exc.args else exc).splitlines()
        add(fail("credential", "; ".join(ln.strip() for ln in lines[1:] or lines)))
        return None
    add(ok("credential", f"{dev.credential} resolves"))
    try:
        drv.open(secret)
    except Exception as exc:
        add(fail("reachable", describe(exc)))
        return None
    add(ok("reachable", f"SSH {dev.username}@{dev.host}:{dev.port}: host key matches the inventory's pin, "
                        "logged in with the credential"))
    return drv


def _on_session(subject: Subject, drv: Driver, dev: Device, site: Site, expected: Expected,
                drift_only: bool) -> None:
    add = subject.checks.append
    state = _read(subject, drv)
    if state is not None:
        drift = compare(dev.name, site, expected, state)
        subject.info["drift"] = drift.to_dict()
        add(pending_check(state))
        add(drift_check(drift))
    if drift_only:
        return
    add(sessions_check(drv))
    found = preflight_of(drv)
    subject.checks.extend(found)
    effect = next((c.safety_net_effect for c in found if c.safety_net_effect), "")
    subject.info["safety_net_effect"] = driver_effect(drv) or effect or DEFAULT_EFFECT.get(drv.safety_net, "")


def driver_effect(drv: Driver) -> str:
    """What the driver itself says its safety net does for this device (``net_description()``), if it can.

    A driver whose safety net depends on the device (FortiOS: revert scripts where the unit has them, a
    reboot otherwise) says so per device; ``plan`` shows the same words.
    """
    describe = getattr(drv, "net_description", None)
    if describe is None:
        return ""
    try:
        return str(describe().on_fire)
    except Exception:  # the preflight's own words stand
        return ""


def _read(subject: Subject, drv: Driver) -> DeviceState | None:
    try:
        state = drv.read_state()
    except Exception as exc:
        subject.checks.append(fail("read-state", f"cannot read egressctl's objects: {describe(exc)}"))
        return None
    subject.info["held"] = state.target
    what = "none of egressctl's objects" if state.is_normal else f"{state.target} ({state.fingerprint})"
    subject.checks.append(ok("read-state", f"holds {what}"))
    return state


def pending_check(state: DeviceState) -> CheckResult:
    """No change may wait for confirmation: the next run rolls back whatever does not match its target."""
    if not state.pending_commit:
        return ok("pending", "no change waiting for confirmation")
    return fail("pending", "a change is waiting for confirmation (an armed dead-man switch, or uncommitted "
                "candidate changes): the next operation rolls it back unless it already matches its target; "
                "finish it (egressctl status) or have its owner confirm or discard it")


def drift_check(drift: Drift) -> CheckResult:
    """The drift document as a check: drift fails, a stale or unknown expectation warns."""
    detail = drift.detail + (f" [{len(drift.diff)} rule atoms differ]" if drift.diff else "")
    if drift.status == IN_SYNC:
        return ok("drift", detail)
    if drift.status == STALE:
        detail = "stale: " + detail
    return (fail if drift.status == DRIFT else warn)("drift", detail)


def sessions_check(drv: Driver) -> CheckResult:
    """Whether established sessions outlive a cut on this device, and whether egressctl can end them."""
    try:
        how = SessionHandling(drv.session_handling()).value
    except Exception as exc:
        how = f"unknown ({describe(exc)})"
    if how == SessionHandling.STATELESS:
        return ok("sessions", "stateless: every packet meets the new rules, nothing outlives a cut")
    if Capability.SESSION_KILL in drv.capabilities:
        return ok("sessions", f"{how}: egressctl ends the sessions a cut denies (session-kill)")
    if how == SessionHandling.RECHECKED:
        return ok("sessions", "rechecked: the device re-evaluates established sessions on a policy change")
    return warn("sessions", f"{how}: established sessions may outlive a cut and the driver cannot end them")


def preflight_of(drv: Driver) -> list[CheckResult]:
    """The driver's own checks (``preflight()``), or a warning that it has none."""
    fn = getattr(drv, "preflight", None)
    if fn is None:
        return [warn("prerequisites", f"the {drv.platform} driver has no preflight: its vendor prerequisites "
                     "were not checked")]
    try:
        found = [c for c in fn() if isinstance(c, CheckResult)]
    except Exception as exc:
        return [fail("prerequisites", f"the driver's preflight failed: {describe(exc)}")]
    return found or [ok("prerequisites", "the driver reports nothing to check")]


# --- the site itself -------------------------------------------------------------------------------------
def site_checks(site: Site, devices: Sequence[Device], ctx: CheckContext) -> Subject:
    """``inventory``, ``coverage`` (each exit has a vantage point and a capture) and ``journal``."""
    def body(subject: Subject) -> None:
        subject.checks += [_inventory(site, devices), *_coverage(site), _journal(site, ctx)]

    return timed("site", site.name, body)


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _inventory(site: Site, devices: Sequence[Device]) -> CheckResult:
    platforms = sorted({d.platform for d in devices})
    return ok("inventory", f"valid: {_count(len(devices), 'device')} ({', '.join(platforms)}), "
                           f"{_count(len(site.vantage_points), 'vantage point')}, "
                           f"{_count(len(site.canaries), 'canary', 'canaries')}, "
                           f"{_count(len(site.captures), 'capture point')}")


def _coverage(site: Site) -> list[CheckResult]:
    """An exit nobody probes from cannot be proven cut; one without a capture point cannot be watched."""
    out: list[CheckResult] = []
    for ex in site.exits:
        vps = [v.name for v in site.vantage_points if v.exit == ex]
        caps = [f"{c.netns or 'host'}:{c.interface}" for c in site.captures if c.exit == ex]
        words = (f"exit {ex}: devices {', '.join(d.name for d in site.devices if d.exit == ex)}; vantage "
                 f"points {', '.join(vps) or 'none'}; capture points {', '.join(caps) or 'none'}")
        if not vps or not site.canaries:
            out.append(warn("coverage", words + ": no probe can prove this exit cut"))
        else:
            out.append(ok("coverage", words) if caps else warn("coverage", words + ": no live leak watch"))
    return out


def _journal(site: Site, ctx: CheckContext) -> CheckResult:
    from egressctl.preflight import check_state_dir

    try:
        check_state_dir(ctx.state_dir)
        state, lock = ctx.journal.site_state(site.name), ctx.journal.lock(site.name)
    except Exception as exc:
        return fail("journal", describe(exc))
    where = f"{ctx.state_dir}: site {state}"
    if lock is not None:
        return warn("journal", f"{where}, locked by {lock.owner}: an operation may be running")
    if state == MIXED:  # devices deliberately taken to different places (--device)
        return ok("journal", f"{where}: {describe_mixed(ctx.journal.device_states(site.name))}")
    settled = state in ("normal", "isolated") or state.startswith("stage:")
    return ok("journal", where) if settled else warn("journal", f"{where}: `egressctl status {site.name}` "
                                                                "says how to finish it")


__all__ = ["Status", "check_device", "site_checks"]
