"""Render and parse the sample box's access list: pure functions, no session.

The box holds named access lists in its running configuration::

    hostname edge-1
    acl egressctl
     remark egressctl target=isolated fingerprint=0123456789ab
     permit tcp 10.10.1.50/32 any 10.99.0.1/32 22 mgmt-ops-ssh
     deny any 0.0.0.0/0 any 0.0.0.0/0 any deny-egress

One entry is one rule atom: ``ACTION PROTOCOL SOURCE SOURCE-PORTS DESTINATION DESTINATION-PORTS NAME``, in
evaluation order, so the neutral policy's atoms map one to one and comparison needs no vendor knowledge.
egressctl owns the list named ``egressctl`` and nothing else; its first remark is the marker.
"""

from __future__ import annotations

import ipaddress
import re

from egressctl_drivers.common.state import atom_rule, build_state, holds, marker

from egressctl.driver import DeviceState
from egressctl.inventory.models import PortRange, Protocol
from egressctl.policy import Action, Policy, Rule, atoms

ACL = "egressctl"
ENTRY_RE = re.compile(
    r"^ (?P<action>permit|deny) (?P<proto>any|tcp|udp|icmp) (?P<src>\S+) (?P<sport>\S+) (?P<dst>\S+) "
    r"(?P<dport>\S+) (?P<name>[A-Za-z][A-Za-z0-9_-]*)$"
)


PROTOCOLS: dict[str, Protocol] = {"any": "any", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}


class ParseError(ValueError):
    """The owned access list holds a line the driver did not write."""


def entries(policy: Policy) -> list[str]:
    """The entry lines of ``policy``: each rule's atoms, in rule order, IPv4 before IPv6 within a rule."""
    lines: list[str] = []
    for rule in policy.rules:
        for family_atoms in atoms([rule]).values():
            lines += [f" {a.action} {a.protocol} {a.source} {a.src_ports} {a.destination} {a.dst_ports} "
                      f"{rule.name}" for a in family_atoms]
    return lines


def render(policy: Policy, current: DeviceState | None) -> list[str]:
    """The configuration lines taking the box from ``current`` to ``policy`` ([] when already there).

    The list is rebuilt whole (``no acl`` first): the box applies a commit atomically, so no half-built list
    ever filters traffic.
    """
    if holds(policy, current):
        return []
    if policy.is_normal:
        return [f"no acl {ACL}"]
    return [f"no acl {ACL}", f"acl {ACL}", f" remark {marker(policy)}", *entries(policy)]


def _ports(text: str) -> PortRange | None:
    if text == "any":
        return None
    first, _, last = text.partition("-")
    return PortRange(first=int(first), last=int(last or first))


def parse_entry(line: str) -> Rule:
    """One entry line back to a neutral rule (``ParseError`` for anything egressctl would not write)."""
    m = ENTRY_RE.match(line)
    if m is None:
        raise ParseError(f"not an egressctl entry: {line.strip()!r}")
    src, dst = ipaddress.ip_network(m["src"]), ipaddress.ip_network(m["dst"])
    if src.version != dst.version:
        raise ParseError(f"mixed address families: {line.strip()!r}")
    action: Action = "permit" if m["action"] == "permit" else "deny"
    proto: Protocol = PROTOCOLS[m["proto"]]
    return atom_rule(m["name"], action, proto, src.version, src, dst, _ports(m["sport"]), _ports(m["dport"]))


def owned_block(raw: str) -> list[str] | None:
    """The indented lines of ``acl egressctl`` in a running configuration, or None when there is none."""
    block: list[str] | None = None
    for line in raw.splitlines():
        if line == f"acl {ACL}":
            block = []
        elif block is not None and line.startswith(" "):
            block.append(line)
        elif block is not None:
            break
    return block


def parse_state(raw: str, *, pending: bool) -> DeviceState:
    """What egressctl owns in the running configuration ``raw``."""
    block = owned_block(raw)
    if block is None:
        return build_state("", [], pending=pending, raw=raw, owned=False)
    remarks = [ln for ln in block if ln.startswith(" remark ")]
    rules = [parse_entry(ln) for ln in block if not ln.startswith(" remark ")]
    return build_state(remarks[0] if remarks else "", rules, pending=pending, raw=raw, owned=True)
