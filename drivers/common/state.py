"""Markers and state comparison shared by every driver.

Each driver writes a marker (target + ``Policy.fingerprint()``) next to the objects it owns and parses it
back in ``read_state``. Whether a device already holds a policy is decided here, once, so every driver's
``render(policy, current)`` returns no lines for the same reason: same target, same fingerprint and the
same rule atoms read back from the device.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from egressctl.driver import DeviceState
from egressctl.inventory.models import Network, PortRange, Protocol
from egressctl.policy import ANY_V4, ANY_V6, Action, Policy, Rule, RuleKind, equivalent, fingerprint

MARKER_RE = re.compile(
    r"egressctl target=(?P<target>[A-Za-z][A-Za-z0-9_-]{0,31}) fingerprint=(?P<fp>[0-9a-f]{12})"
)
UNKNOWN_TARGET = "unknown"


def marker(policy: Policy) -> str:
    """The marker text a driver stores with its objects."""
    return f"egressctl target={policy.target} fingerprint={policy.fingerprint()}"


def parse_marker(text: str) -> tuple[str, str] | None:
    """``(target, fingerprint)`` from the first marker in ``text``, or None."""
    m = MARKER_RE.search(text)
    return (m.group("target"), m.group("fp")) if m else None


def holds(policy: Policy, current: DeviceState | None) -> bool:
    """True when ``current`` (a device read-back) already is ``policy``: nothing needs to be sent."""
    if current is None:
        return False
    if policy.is_normal:
        return current.is_normal
    return (
        current.target == policy.target
        and current.fingerprint == policy.fingerprint()
        and equivalent(current.rules, policy.rules)
    )


def build_state(
    marker_text: str, rules: Iterable[Rule], *, pending: bool, raw: str, owned: bool
) -> DeviceState:
    """Assemble a ``DeviceState`` from what a parser found.

    ``owned`` says whether any egressctl object exists. Without any, the device is ``normal``. With objects
    but no readable marker, the target is ``unknown`` and the fingerprint is recomputed from the rules read
    back, so the planner sees a state that matches no target and re-applies.
    """
    rules = tuple(rules)
    if not owned:
        return DeviceState("normal", "", (), pending, raw)
    found = parse_marker(marker_text)
    if found is None:
        return DeviceState(UNKNOWN_TARGET, fingerprint(rules), rules, pending, raw)
    return DeviceState(found[0], found[1], rules, pending, raw)


def kind_for(name: str, action: str) -> RuleKind:
    """The neutral rule kind implied by an owned rule's name (kinds are informative, not compared)."""
    if action == "deny":
        return "deny"
    if name.startswith("mgmt-"):
        return "management"
    if name.startswith("always-"):
        return "always"
    return "stage"


def atom_rule(
    name: str,
    action: Action,
    protocol: Protocol,
    family: int | None,
    source: Network | None = None,
    destination: Network | None = None,
    src_port: PortRange | None = None,
    dst_port: PortRange | None = None,
) -> Rule:
    """A neutral rule for one device entry (one source, destination and port range at most).

    A missing address within a known ``family`` becomes that family's any-prefix, so the rule keeps
    applying to that family only (an empty tuple would mean both families).
    """
    any_net = {4: ANY_V4, 6: ANY_V6}
    srcs: tuple[Network, ...] = ()
    dsts: tuple[Network, ...] = ()
    if family is not None:
        srcs = (source if source is not None else any_net[family],)
        dsts = (destination if destination is not None else any_net[family],)
    return Rule(
        name, kind_for(name, action), action, protocol, srcs, dsts,
        (src_port,) if src_port else (), (dst_port,) if dst_port else (),
    )
