"""The planner: pure, no I/O. What each device would be sent to reach a target, and whether it can.

One function, :func:`plan_device`, plans one device from (device, driver, state, policy): the rendered lines,
whether the device is already there (a no-op), its safety net, the diff between what it holds and the
target, and the warnings an operator must read before a cut. :func:`plan` runs it over a site for ``plan``
and ``--dry-run``; the executor runs it again on each device against the state it has just read on the
session that will change it, so the lines it loads and journals are those rendered against that state.

The neutral policy is an *input*: the engine computes it once per operation and hands the same object to the
plan, the executor and verification. Capability gaps across *all* devices are collected first and refused
together with :class:`PlanError`, so a policy a device cannot express is never half-applied. Gaps that do
not make a policy inexpressible (established sessions that survive a cut, a dead-man switch that lives in
the controller) are warnings carried per device in the plan.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from egressctl.driver import (
    Capability,
    DeviceState,
    Driver,
    NetDescription,
    SafetyNet,
    SessionHandling,
    missing_capabilities,
)
from egressctl.errors import PlanError
from egressctl.inventory.models import Device, Site
from egressctl.policy import Atom, Policy, atoms, equivalent
from egressctl.switchrole import switch_gaps, switch_note

UNKNOWN = "unknown"
"""``session_handling`` of a device whose driver could not say (not read, raised, or not implemented)."""

SESSIONS_SURVIVE = ("established sessions survive this cut: the device keeps them on a policy change and "
                    "its driver cannot end them (no session-kill)")
SESSIONS_MAY_SURVIVE = ("established sessions may survive this cut: how the device treats them is unknown "
                        "and its driver cannot end them (no session-kill)")
CONTROLLER_DEADMAN = ("the dead-man switch lives in the controller: a controller crash after commit leaves "
                      "the change until the next run")


@dataclass(frozen=True)
class TestFaults:
    """Test-only fault injection, reachable only through ``Engine.apply(..., faults=...)`` (never the CLI).

    ``drop_management_on``: devices whose *rendering* loses the management rules (the read-back and the
    fresh-session management check must catch it and roll the device back). ``skip_exit``: leave that
    exit's devices untouched (active verification must catch the leak). ``no_session_kill``: devices
    (``"*"``: all) planned and run as if their driver lacked ``session-kill``, so an established session
    survives an isolation and verification must name it.
    """

    __test__ = False  # not a pytest test class, despite the name
    drop_management_on: set[str] = field(default_factory=set)
    skip_exit: str | None = None
    no_session_kill: set[str] = field(default_factory=set)

    def capabilities(self, device: str, declared: frozenset[Capability]) -> frozenset[Capability]:
        """What ``device``'s driver is taken to declare under these faults."""
        if device in self.no_session_kill or "*" in self.no_session_kill:
            return declared - {Capability.SESSION_KILL}
        return declared


@dataclass(frozen=True)
class DevicePlan:
    """One device's part of a plan.

    ``capabilities`` are the driver's declared ones (less any a test fault removes): the executor acts on
    them, so what the plan promised and what the run does cannot differ. ``safety_net`` is the dead-man
    switch this device's change gets and ``on_fire`` what it does if it fires (a reboot is not a detail).
    """

    device: str
    platform: str
    exit: str
    policy: Policy
    render_policy: Policy
    lines: tuple[str, ...]
    noop: bool
    safety_net: str
    current_target: str | None
    pending_commit: bool = False
    diff: tuple[str, ...] = ()
    skipped: str = ""
    error: str = ""
    capabilities: frozenset[Capability] = frozenset()
    session_handling: str = UNKNOWN
    warnings: tuple[str, ...] = ()
    on_fire: str = ""

    @property
    def changes(self) -> bool:
        """True when this device would be sent something."""
        return not self.noop and not self.skipped

    @property
    def ends_sessions(self) -> bool:
        """True when the run ends established sessions on this device (an isolation, with session kill)."""
        return self.policy.target == "isolated" and Capability.SESSION_KILL in self.capabilities

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``plan --json``)."""
        return {
            "device": self.device, "platform": self.platform, "exit": self.exit, "target": self.policy.target,
            "fingerprint": self.policy.fingerprint(), "noop": self.noop, "safety_net": self.safety_net,
            "on_fire": self.on_fire,
            "current": self.current_target, "pending_commit": self.pending_commit, "lines": list(self.lines),
            "diff": list(self.diff), "skipped": self.skipped, "error": self.error,
            "session_handling": self.session_handling, "ends_sessions": self.ends_sessions,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Plan:
    """The whole site's plan for one target (``faults`` travel with it to the executor)."""

    site: str
    target: str
    policy: Policy
    devices: tuple[DevicePlan, ...]
    faults: TestFaults | None = None

    def device(self, name: str) -> DevicePlan:
        """The plan of device ``name`` (KeyError if absent)."""
        for d in self.devices:
            if d.device == name:
                return d
        raise KeyError(name)

    @property
    def noop(self) -> bool:
        """True when no device would be sent anything."""
        return not any(d.changes for d in self.devices)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``plan --json``)."""
        return {"site": self.site, "target": self.target, "fingerprint": self.policy.fingerprint(),
                "noop": self.noop, "devices": [d.to_dict() for d in self.devices]}


def atom_text(at: Atom) -> str:
    """One atom as a readable line (used in diffs)."""
    ports = "" if at.dst_ports == "any" else f" dport {at.dst_ports}"
    sports = "" if at.src_ports == "any" else f" sport {at.src_ports}"
    return f"v{at.family} {at.action} {at.protocol} {at.source} -> {at.destination}{sports}{ports}"


def state_diff(current: DeviceState | None, policy: Policy) -> tuple[str, ...]:
    """Ordered rule diff between what a device holds and the target (``+`` added, ``-`` removed)."""
    def lines(rules: Any) -> list[str]:
        return [atom_text(a) for fam in (4, 6) for a in atoms(rules)[fam]]

    old = lines(current.rules) if current is not None else []
    new = lines(policy.rules)
    out = [ln for ln in difflib.unified_diff(old, new, lineterm="", n=0)
           if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return tuple(out)


def is_noop(current: DeviceState | None, policy: Policy) -> bool:
    """True when ``current`` already behaves as ``policy`` and nothing waits for confirmation."""
    if current is None or current.pending_commit:
        return False
    return equivalent(current.rules, policy.rules) and policy.is_normal == current.is_normal


def render_policy(policy: Policy, device: str, faults: TestFaults | None) -> Policy:
    """The policy actually rendered for ``device`` (differs from ``policy`` only under test faults)."""
    if faults is None or device not in faults.drop_management_on:
        return policy
    return Policy(policy.site, policy.target, tuple(r for r in policy.rules if r.kind != "management"))


def capabilities_of(drv: Driver, device: str, faults: TestFaults | None) -> frozenset[Capability]:
    """The capabilities ``drv`` declares, less those a test fault takes away from ``device``."""
    declared = frozenset(drv.capabilities)
    return faults.capabilities(device, declared) if faults else declared


def capability_gaps(site: Site, policy: Policy, drivers: Mapping[str, Driver | str],
                    faults: TestFaults | None = None) -> list[str]:
    """Every gap on every device: a driver that is missing (given as an error string) or cannot express."""
    gaps: list[str] = []
    for dev in site.devices:
        drv = drivers.get(dev.name)
        if drv is None:
            continue
        if isinstance(drv, str):
            gaps.append(f"device {dev.name}: {drv}")
            continue
        caps = capabilities_of(drv, dev.name, faults)
        gaps.extend(f"device {dev.name}: {g}" for g in missing_capabilities(caps, policy))
    return gaps + switch_gaps(site, policy, drivers)  # a switch mode's gaps (see egressctl/switchrole.py)


def check_capabilities(site: Site, policy: Policy, drivers: Mapping[str, Driver | str],
                       faults: TestFaults | None = None) -> None:
    """Refuse the whole plan when any device has a gap, before any device is contacted.

    Raises:
        PlanError: every gap of every device, together.
    """
    gaps = capability_gaps(site, policy, drivers, faults)
    if gaps:
        raise PlanError(gaps)


def plan_warnings(policy: Policy, caps: frozenset[Capability], handling: str,
                  changes: bool) -> tuple[str, ...]:
    """What an operator must know before this device's change, though it does not stop the plan.

    An isolation meant to stop an intruder's open command-and-control session does not, on a device that
    keeps established sessions and cannot end them; and a device without its own revert depends on the
    controller staying alive until it confirms or rolls back.
    """
    out: list[str] = []
    if policy.target == "isolated" and Capability.SESSION_KILL not in caps:
        if handling == SessionHandling.KEPT:
            out.append(SESSIONS_SURVIVE)
        elif handling == UNKNOWN:
            out.append(SESSIONS_MAY_SURVIVE)
    if changes and Capability.NATIVE_REVERT not in caps:
        out.append(CONTROLLER_DEADMAN)
    return tuple(out)


#: What each kind of dead-man switch does when it fires, for drivers that do not say more.
ON_FIRE = {
    SafetyNet.NATIVE_CONFIRM: "the device itself reverts to its configuration before the change",
    SafetyNet.CONTROLLER_TIMER: "a job armed on the device restores the configuration before the change",
    SafetyNet.GUARDED_SNAPSHOT: "the controller rolls back from the snapshot; if the controller is gone, "
                                "nothing reverts until the next run",
    SafetyNet.ONBOX_SCRIPT: "a script on the device undoes the change (no reboot)",
    SafetyNet.REBOOT_REVERT: "the device reboots to its saved configuration",
    SafetyNet.REMOTE_JOB: "a job on another host logs in and restores the snapshot",
}


def describe_net(drv: Driver) -> NetDescription:
    """The driver's own account of its safety net (``net_description()``), else its class's generic one."""
    own = getattr(drv, "net_description", None)
    found: object = None
    if callable(own):
        with suppress(Exception):  # a plan never fails because a description could not be read
            found = own()
    if isinstance(found, NetDescription):
        return found
    return NetDescription(drv.safety_net, ON_FIRE.get(drv.safety_net, ""))


def plan_device(device: Device, drv: Driver, state: DeviceState | None, policy: Policy, *,
                faults: TestFaults | None = None, error: str = "", handling: str = UNKNOWN) -> DevicePlan:
    """Plan one device: what it would be sent to go from ``state`` (None: unknown) to ``policy``.

    The only planning path: ``plan`` and ``--dry-run`` call it over the site, and the executor calls it
    on each device against the state it has just read, so no second copy of these rules can drift.
    """
    rpol = render_policy(policy, device.name, faults)
    skipped = "test fault: exit skipped" if faults and faults.skip_exit == device.exit else ""
    noop = is_noop(state, policy)
    caps = capabilities_of(drv, device.name, faults)
    net = describe_net(drv)
    return DevicePlan(
        device=device.name, platform=device.platform, exit=device.exit, policy=policy, render_policy=rpol,
        lines=tuple(drv.render(rpol, state)), noop=noop, safety_net=net.net.value, on_fire=net.on_fire,
        current_target=state.target if state else None, pending_commit=bool(state and state.pending_commit),
        diff=state_diff(state, policy), skipped=skipped, error=error, capabilities=caps,
        session_handling=handling, warnings=plan_warnings(policy, caps, handling, not noop and not skipped)
        + switch_note(device, policy),
    )


def plan(site: Site, policy: Policy, drivers: Mapping[str, Driver | str], *,
         states: Mapping[str, DeviceState | None] | None = None, faults: TestFaults | None = None,
         errors: Mapping[str, str] | None = None, handling: Mapping[str, str] | None = None) -> Plan:
    """Plan ``site`` to ``policy`` for the devices present in ``drivers``.

    Args:
        site: the site.
        policy: the neutral policy of the target, computed once by the caller.
        drivers: one driver per device to plan, or an error string when its driver cannot be loaded.
        states: what each device holds now; ``None`` (or absent) means unknown, rendered as from normal.
        faults: test-only fault injection.
        errors: per-device read errors to show in the plan (the device could not be read).
        handling: per-device session handling read from the device (``unknown`` when absent).

    Raises:
        PlanError: any device lacks a capability the policy needs (all gaps listed).
    """
    check_capabilities(site, policy, drivers, faults)
    out: list[DevicePlan] = []
    for dev in site.devices:
        drv = drivers.get(dev.name)
        if drv is None or isinstance(drv, str):
            continue
        out.append(plan_device(dev, drv, (states or {}).get(dev.name), policy, faults=faults,
                               error=(errors or {}).get(dev.name, ""),
                               handling=(handling or {}).get(dev.name, UNKNOWN)))
    return Plan(site.name, policy.target, policy, tuple(out), faults)
