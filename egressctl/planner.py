"""The planner: pure, no I/O. What each device would be sent to reach a target, and whether it can.

Given a site, what each device holds now (``DeviceState`` read from it, or ``None`` when unknown) and one
driver instance per device, :func:`plan` computes the neutral policy, each driver's rendered lines, whether
the device is already there (a no-op), its safety net, and the diff between what it holds and the target.
Capability gaps across *all* devices are collected first and refused together with :class:`PlanError`, so
a policy a device cannot express is never half-applied.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from egressctl.driver import DeviceState, Driver, missing_capabilities
from egressctl.errors import PlanError
from egressctl.inventory.models import Site
from egressctl.policy import Atom, Policy, atoms, compute_policy, equivalent


@dataclass(frozen=True)
class TestFaults:
    """Test-only fault injection, reachable only through ``Engine.apply(..., faults=...)`` (never the CLI).

    ``drop_management_on``: devices whose *rendering* loses the management rules (the read-back and the
    fresh-session management check must catch it and roll the device back). ``skip_exit``: leave that
    exit's devices untouched (active verification must catch the leak).
    """

    __test__ = False  # not a pytest test class, despite the name
    drop_management_on: set[str] = field(default_factory=set)
    skip_exit: str | None = None


@dataclass(frozen=True)
class DevicePlan:
    """One device's part of a plan."""

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

    @property
    def changes(self) -> bool:
        """True when this device would be sent something."""
        return not self.noop and not self.skipped

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``plan --json``)."""
        return {
            "device": self.device, "platform": self.platform, "exit": self.exit, "target": self.policy.target,
            "fingerprint": self.policy.fingerprint(), "noop": self.noop, "safety_net": self.safety_net,
            "current": self.current_target, "pending_commit": self.pending_commit, "lines": list(self.lines),
            "diff": list(self.diff), "skipped": self.skipped, "error": self.error,
        }


@dataclass(frozen=True)
class Plan:
    """The whole site's plan for one target."""

    site: str
    target: str
    policy: Policy
    devices: tuple[DevicePlan, ...]

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


def capability_gaps(site: Site, policy: Policy, drivers: Mapping[str, Driver | str]) -> list[str]:
    """Every gap on every device: a driver that is missing (given as an error string) or cannot express."""
    gaps: list[str] = []
    for dev in site.devices:
        drv = drivers.get(dev.name)
        if drv is None:
            continue
        if isinstance(drv, str):
            gaps.append(f"device {dev.name}: {drv}")
            continue
        gaps.extend(f"device {dev.name}: {g}" for g in missing_capabilities(drv.capabilities, policy))
    return gaps


def plan(site: Site, states: Mapping[str, DeviceState | None], target: str,
         drivers: Mapping[str, Driver | str], *, faults: TestFaults | None = None,
         errors: Mapping[str, str] | None = None) -> Plan:
    """Plan ``site`` to ``target`` for the devices present in ``drivers``.

    Args:
        site: the site.
        states: what each device holds now; ``None`` (or absent) means unknown, rendered as from normal.
        target: ``isolated``, a stage name or ``normal``.
        drivers: one driver per device to plan, or an error string when its driver cannot be loaded.
        faults: test-only fault injection.
        errors: per-device read errors to show in the plan (the device could not be read).

    Raises:
        PolicyError: unknown target.
        PlanError: any device lacks a capability the policy needs (all gaps listed).
    """
    policy = compute_policy(site, target)
    gaps = capability_gaps(site, policy, drivers)
    if gaps:
        raise PlanError(gaps)
    out: list[DevicePlan] = []
    for dev in site.devices:
        drv = drivers.get(dev.name)
        if drv is None or isinstance(drv, str):
            continue
        current = states.get(dev.name)
        rpol = render_policy(policy, dev.name, faults)
        skipped = "test fault: exit skipped" if faults and faults.skip_exit == dev.exit else ""
        out.append(DevicePlan(
            device=dev.name, platform=dev.platform, exit=dev.exit, policy=policy, render_policy=rpol,
            lines=tuple(drv.render(rpol, current)), noop=is_noop(current, policy),
            safety_net=drv.safety_net.value, current_target=current.target if current else None,
            pending_commit=bool(current and current.pending_commit), diff=state_diff(current, policy),
            skipped=skipped, error=(errors or {}).get(dev.name, ""),
        ))
    return Plan(site.name, target, policy, tuple(out))
