"""SRX policy lookup for one session, and ``policy-rematch`` on commit.

An SRX keeps established sessions across a policy change by default. With ``set security policies
policy-rematch`` (Junos CLI reference, "policy-rematch") a commit re-evaluates the sessions whose
associated policy was *modified*: a session stays only if the new lookup still finds that same policy and
it permits; a session whose policy was renamed, deactivated or deleted is closed. ``policy-rematch
extensive`` replaces both by a fully new lookup (any permitting policy keeps the session). Sessions of
policies the commit did not touch are not re-evaluated at all, even under a new deny inserted above them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egressctl_lab.emu.juniper_junos import constants as c
from egressctl_lab.emu.juniper_junos.compile import zone_interfaces
from egressctl_lab.emu.juniper_junos.tree import Tree
from egressctl_lab.emu.juniper_junos.validate import address_book, policies
from egressctl_lab.emu.sessions import Bindings, Crossing, Flow, SessionTable, crossings, prune


@dataclass(frozen=True)
class Verdict:
    """The policy a lookup found (``None``: the default policy) and whether it permits."""

    from_zone: str | None
    to_zone: str | None
    policy: str | None
    permit: bool
    index: int = 0


def zone_of(tree: Tree, kernel: Mapping[str, str], iface: str | None) -> str | None:
    """The security zone of a kernel interface, or None."""
    for zone, ifaces in zone_interfaces(tree, dict(kernel)).items():
        if iface is not None and iface in ifaces:
            return zone
    return None


def _address_ok(tree: Tree, names: list[str], addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    addrs, sets = address_book(tree)
    for name in names:
        if name == "any" or name == f"any-ipv{ip.version}":
            return True
        for member in sets.get(name, [name]):
            if member in addrs and ip in ipaddress.ip_network(addrs[member], strict=False):
                return True
    return False


def _application_ok(tree: Tree, names: list[str], flow: Flow) -> bool:
    custom: dict[str, Any] = tree.get("applications", {}).get("application", {})
    proto = "icmp6" if flow.proto in ("icmpv6", "ipv6-icmp") else flow.proto
    for name in names:
        if name == "any":
            return True
        if name in custom:
            app = custom[name]
            ports = app.get("destination-port")
            wanted = [(app.get("protocol", ""), _range(ports) if ports else None)]
        else:
            wanted = c.PREDEFINED_APPS.get(name, [])
        for wproto, span in wanted:
            if wproto == proto and (span is None or proto not in ("tcp", "udp")
                                    or (flow.dport is not None and span[0] <= flow.dport <= span[1])):
                return True
    return False


def _range(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")

    def num(p: str) -> int:
        return c.PORT_NAMES[p] if p in c.PORT_NAMES else int(p)

    return num(lo), num(hi or lo)


def _matches(tree: Tree, match: dict[str, Any], flow: Flow) -> bool:
    return (_address_ok(tree, match.get("source-address", []), flow.src)
            and _address_ok(tree, match.get("destination-address", []), flow.dst)
            and _application_ok(tree, match.get("application", []), flow))


def lookup(tree: Tree, kernel: Mapping[str, str], flow: Flow, iif: str, oif: str) -> Verdict:
    """First policy of the (ingress zone, egress zone) pair matching ``flow``; else the default policy."""
    fz, tz = zone_of(tree, kernel, iif), zone_of(tree, kernel, oif)
    for index, (pfz, ptz, name, pol) in enumerate(policies(tree), start=4):
        match = pol.get("match", {})
        if (pfz, ptz) == (fz, tz) and _matches(tree, match, flow):
            return Verdict(fz, tz, name, "permit" in pol.get("then", {}), index)
    default = tree.get("security", {}).get("policies", {}).get("default-policy", {})
    return Verdict(fz, tz, None, "permit-all" in default)


def _policy(tree: Tree, v: Verdict) -> dict[str, Any] | None:
    wanted = (v.from_zone, v.to_zone, v.policy)
    return next((p for fz, tz, n, p in policies(tree) if (fz, tz, n) == wanted), None)


def rematch_mode(tree: Tree) -> str | None:
    """``None`` (off), ``"on"`` or ``"extensive"``."""
    node = tree.get("security", {}).get("policies", {}).get("policy-rematch")
    if node is None:
        return None
    return "extensive" if node.get("extensive") else "on"


def rematch(table: SessionTable, before: Tree, after: Tree, kernel: Mapping[str, str],
            bound: Bindings[Verdict]) -> int:
    """Apply ``policy-rematch`` of the new configuration to the sessions; returns how many were closed."""
    found = crossings(table)

    def opened_under(x: Crossing) -> Verdict:
        assert x.iif is not None and x.oif is not None
        return lookup(before, kernel, x.flow, x.iif, x.oif)

    bound.refresh(found, opened_under)
    mode = rematch_mode(after)
    if mode is None:
        return 0

    def keep(x: Crossing) -> bool:
        assert x.iif is not None and x.oif is not None
        old = bound.get(x.flow) or opened_under(x)
        if old.policy is None or _policy(after, old) == _policy(before, old):
            return True  # the session's policy was not touched: not re-evaluated
        new = lookup(after, kernel, x.flow, x.iif, x.oif)
        if mode == "extensive":
            return new.permit
        return _policy(after, old) is not None and new.policy == old.policy and new.permit

    return prune(table, list(kernel.values()), keep, found)
