"""Parse ASA running-config sections back into egressctl's neutral rules (pure).

Input is the read-back (``show running-config object-group``, ``access-list``, ``access-group``). The ASA
shows a single host as ``host A``, an IPv4 network as ``A MASK``, an IPv6 one as ``A/LEN``, ``any4`` and
``any6`` per family, and well-known ports by name (``eq ssh``); all of it is normalised here. An entry
naming object-groups is expanded, as the ASA expands it, into one atom per combination (sources outer,
then destinations, source ports, destination ports). egressctl's ACL is authoritative only when one slot
is bound ``out`` on every outside nameif and the other slot is gone; anything else (a change that stopped
half-way, a hand edit) reads as target ``unknown``, so the planner re-applies.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from egressctl_drivers.cisco_asa import constants as c
from egressctl_drivers.common.aclremarks import Remarks
from egressctl_drivers.common.state import atom_rule, build_state

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange, Protocol
from egressctl.policy import Action, Rule


class ParseError(ValueError):
    """An owned ACL holds an entry egressctl never writes."""


@dataclass
class Owned:
    """egressctl's objects found in a read-back: groups (head + lines), ACL lines per slot, bindings."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    acls: dict[str, list[str]] = field(default_factory=dict)
    bindings: dict[str, str] = field(default_factory=dict)  # outside nameif -> slot bound out there
    foreign: dict[str, str] = field(default_factory=dict)  # nameif -> site ACL bound out there

    def slot_letter(self, slot: str) -> str:
        """``A`` or ``B``."""
        return slot[-1]

    def groups_of(self, slot: str) -> list[str]:
        """The heads (``object-group network NAME``) of one slot's groups."""
        letter = self.slot_letter(slot)
        return [h for h in self.groups if c.GROUP_RE.match(h.split()[2]) and h.split()[2][4] == letter]


_GROUP_HEAD = re.compile(r"^object-group (network|service) (\S+)(?: (tcp|udp|tcp-udp))?\s*$")
_ACL = re.compile(r"^access-list (\S+) (.*)$")
_BIND = re.compile(r"^access-group (\S+) (in|out) interface (\S+)\s*$")


def owned(raw: str) -> Owned:
    """The groups, ACL lines and bindings of egressctl in ``raw``, and site ACLs bound ``out``."""
    out, head = Owned(), ""
    for line in raw.replace("\r", "").splitlines():
        g = _GROUP_HEAD.match(line.rstrip())
        if g:
            head = line.rstrip() if g.group(2).startswith(c.GROUP_PREFIX) else ""
            if head:
                out.groups[head] = []
            continue
        if line.startswith(" ") and head:
            out.groups[head].append(line.strip())
            continue
        head = ""
        a, b = _ACL.match(line.rstrip()), _BIND.match(line.rstrip())
        if a and a.group(1) in c.SLOTS:
            out.acls.setdefault(a.group(1), []).append(a.group(2))
        elif b and b.group(2) == c.DIRECTION:
            (out.bindings if b.group(1) in c.SLOTS else out.foreign)[b.group(3)] = b.group(1)
    return out


def _network(words: list[str]) -> Network:
    w = words.pop(0)
    if w == "host":
        return ipaddress.ip_network(words.pop(0).lower())
    if "/" in w:
        return ipaddress.ip_network(w.lower(), strict=False)
    return ipaddress.ip_network(f"{w}/{words.pop(0)}", strict=False)


def _port(tok: str) -> int:
    if tok.isdigit():
        return int(tok)
    if tok not in c.PORTS:
        raise ParseError(f"unknown port name {tok!r}")
    return c.PORTS[tok]


def _range(words: list[str]) -> PortRange:
    op = words.pop(0)
    if op not in ("eq", "range"):
        raise ParseError(f"port operator {op!r}: egressctl writes eq and range only")
    first = _port(words.pop(0))
    return PortRange(first=first, last=_port(words.pop(0)) if op == "range" else first)


def group_members(lines: list[str], kind: str) -> list[Network] | list[PortRange]:
    """The networks or port ranges of one group's lines."""
    if kind == "network":
        return [_network(ln.split()[1:]) for ln in lines if ln.startswith("network-object ")]
    return [_range(ln.split()[1:]) for ln in lines if ln.startswith("port-object ")]


def _addresses(words: list[str], groups: dict[str, list[str]]) -> list[Network | None]:
    w = words[0]
    if w in ("any", "any4", "any6"):
        words.pop(0)
        return [None]
    if w == "object-group":
        words.pop(0)
        return list(_group(words.pop(0), groups, "network"))  # type: ignore[arg-type]
    return [_network(words)]


def _group(name: str, groups: dict[str, list[str]], kind: str) -> list[Network] | list[PortRange]:
    head = next((h for h in groups if h.split()[1:3] == [kind, name]), None)
    if head is None:
        raise ParseError(f"object-group {name} is not one of egressctl's {kind} groups")
    return group_members(groups[head], kind)


def _ports(words: list[str], groups: dict[str, list[str]]) -> list[PortRange | None]:
    if not words or words[0] not in ("eq", "range", "object-group"):
        return [None]
    if words[0] == "object-group" and len(words) > 1 and any(
            h.split()[1:3] == ["service", words[1]] for h in groups):
        words.pop(0)
        return list(_group(words.pop(0), groups, "service"))  # type: ignore[arg-type]
    if words[0] == "object-group":
        return [None]
    return [_range(words)]


def _family(word: str, nets: list[Network | None]) -> int:
    known = {n.version for n in nets if n is not None}
    if word in ("any4", "any6"):
        return 4 if word == "any4" else 6
    if len(known) == 1:
        return known.pop()
    raise ParseError("an entry without a family (any) or mixing families: egressctl writes neither")


def parse_entry(text: str, name: str, groups: dict[str, list[str]]) -> list[Rule]:
    """One ``extended ...`` entry -> its atoms (object-groups expanded) as neutral rules."""
    words = text.split()
    if words.pop(0) != "extended":
        raise ParseError(f"unexpected entry {text!r}")
    action: Action = "permit" if words.pop(0) == "permit" else "deny"
    proto: Protocol = {"ip": "any", "icmp6": "icmp"}.get(words[0], words[0])  # type: ignore[assignment]
    words.pop(0)
    if proto not in ("any", "tcp", "udp", "icmp"):
        raise ParseError(f"unexpected protocol in {text!r}")
    src_word, srcs = words[0], _addresses(words, groups)
    sports = _ports(words, groups)
    dst_word, dsts = words[0], _addresses(words, groups)
    dports = _ports(words, groups)
    if [w for w in words if w != "log"]:
        raise ParseError(f"unexpected options {' '.join(words)!r} in {text!r}")
    fam = _family(src_word if src_word.startswith("any") else dst_word, [*srcs, *dsts])
    return [atom_rule(name, action, proto, fam, s, d, sp, dp)
            for s in srcs for d in dsts for sp in sports for dp in dports]


def parse_acl(lines: list[str], groups: dict[str, list[str]]) -> tuple[str, list[Rule]]:
    """(marker text, followed by the stamp remark's words when there is one; rules) of one owned ACL."""
    seen = Remarks()
    rules: list[Rule] = []
    for line in lines:
        if line.startswith("remark "):
            seen.read(line.removeprefix("remark ").strip(), rules_seen=bool(rules))
        else:
            rules += parse_entry(line, seen.name, groups)
    return seen.marker_text(), rules


def bound_slot(device: Device, found: Owned) -> str:
    """The slot bound ``out`` on every outside nameif, "" when none is (or they differ)."""
    slots = {found.bindings.get(n, "") for n in device.outside}
    return slots.pop() if len(slots) == 1 else ""


def parse_state(device: Device, raw: str, *, pending: bool) -> DeviceState:
    """Read-back text -> neutral ``DeviceState`` (see the module docstring for when it is ``unknown``)."""
    found = owned(raw)
    any_owned = bool(found.groups or found.acls or found.bindings)
    slot = bound_slot(device, found)
    marker_text, rules = parse_acl(found.acls.get(slot, []), found.groups) if slot else ("", [])
    clean = bool(slot) and set(found.acls) == {slot}
    return build_state(marker_text if clean else "", rules, pending=pending, raw=raw, owned=any_owned)
