"""Parse IOS running-config text back into egressctl's neutral rules (pure).

Input is what :class:`~egressctl_drivers.cisco_ios.driver.CiscoIosDriver` reads: the ``access-list``
section of the running config followed by the interface lines that bind ACLs. IOS prints well-known
ports by keyword (``eq www``) and IPv6 addresses in upper case; both are normalised here.

egressctl's ACL of a family lives in one of two slots (``EGRESSCTL-V4-A`` / ``-B``, see ``constants``); the
slot bound inbound on the inside interfaces is the authoritative one. Entries under egressctl's
infrastructure remark (IPv6 neighbour discovery) are the router's needs, not policy, and are skipped.
"""

from __future__ import annotations

import ipaddress
import re

from egressctl_drivers.cisco_ios import constants as c
from egressctl_drivers.common.aclremarks import Remarks
from egressctl_drivers.common.state import atom_rule, build_state

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange, Protocol
from egressctl.policy import Action, Rule


class ParseError(ValueError):
    """An owned ACL holds an entry egressctl never writes."""


_HEAD = re.compile(r"^(?:ip access-list extended|ipv6 access-list)\s+(\S+)\s*$")


def acl_blocks(raw: str) -> dict[str, list[str]]:
    """ACL name -> its indented entry lines (remarks included), for every ACL in ``raw``."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in raw.splitlines():
        m = _HEAD.match(line.rstrip())
        if m:
            current = blocks.setdefault(m.group(1), [])
        elif line.startswith(" ") and current is not None:
            current.append(line.strip())
        else:
            current = None
    return blocks


def owned_names(fam: int) -> tuple[str, ...]:
    """Every name egressctl's ACL of family ``fam`` may have: the two slots, then the legacy name."""
    return (*c.ACL4_SLOTS, c.ACL4_LEGACY) if fam == 4 else (*c.ACL6_SLOTS, c.ACL6_LEGACY)


def existing(raw: str, fam: int) -> list[str]:
    """The owned ACLs of that family present in ``raw`` (slot order)."""
    blocks = acl_blocks(raw)
    return [n for n in owned_names(fam) if n in blocks]


#: Where an ACL is applied: (interface, direction ``in`` | ``out``).
Point = tuple[str, str]


def points(device: Device) -> list[Point]:
    """Where egressctl's ACLs are bound on this device.

    A router: inbound on its inside interfaces. A switch in mode ``acl``: inbound on its SVIs (traffic from
    the VLANs' hosts) and outbound on its uplinks (traffic leaving the closet). A switch in mode
    ``shutdown-uplink``: nowhere (its ACLs only record the policy; the shut uplinks enforce it).
    """
    sw = device.switch
    if device.role != "switch" or sw is None:
        return [(i, "in") for i in device.inside]
    if sw.mode != "acl":
        return []
    return [*((i, "in") for i in sw.svis), *((u, "out") for u in sw.uplinks)]


def applied(device: Device, bound: dict[Point, set[str]], fam: int) -> str | None:
    """The owned ACL of that family bound at *every* point of the device, else None."""
    names = [bound.get(pt, set()) & set(owned_names(fam)) for pt in points(device)]
    if not names or any(len(n) != 1 for n in names):
        return None
    first = next(iter(names[0]))
    return first if all(n == {first} for n in names) else None


def bindings(raw: str) -> dict[Point, set[str]]:
    """(interface, direction) -> names of the ACLs applied there (IPv4 access-group, IPv6 traffic-filter)."""
    out: dict[Point, set[str]] = {}
    itf: str | None = None
    for line in raw.splitlines():
        m = re.match(r"^interface\s+(\S+)", line)
        if m:
            itf = m.group(1)
            out.setdefault((itf, "in"), set())
            continue
        m = re.match(r"^\s+(?:ip access-group|ipv6 traffic-filter)\s+(\S+)\s+(in|out)\b", line)
        if m and itf is not None:
            out.setdefault((itf, m.group(2)), set()).add(m.group(1))
        elif not line.startswith(" "):
            itf = None
    return out


def shut(raw: str) -> set[str]:
    """Interfaces administratively down (`` shutdown`` under ``interface X`` in the read-back)."""
    out: set[str] = set()
    itf: str | None = None
    for line in raw.splitlines():
        m = re.match(r"^interface\s+(\S+)", line)
        if m:
            itf = m.group(1)
        elif line.strip() == "shutdown" and line.startswith(" ") and itf is not None:
            out.add(itf)
        elif not line.startswith(" "):
            itf = None
    return out


def _address(tokens: list[str], fam: int) -> Network | None:
    tok = tokens.pop(0)
    if tok == "any":
        return None
    if tok == "host":
        return ipaddress.ip_network(tokens.pop(0).lower())
    if fam == 4:
        wildcard = ipaddress.IPv4Address(tokens.pop(0))
        mask = ipaddress.IPv4Address(int(wildcard) ^ 0xFFFFFFFF)
        return ipaddress.ip_network(f"{tok}/{mask}")
    return ipaddress.ip_network(tok.lower())


def _port_value(tok: str, proto: str) -> int:
    if tok.isdigit():
        return int(tok)
    table = c.TCP_PORTS if proto == "tcp" else c.UDP_PORTS
    if tok not in table:
        raise ParseError(f"unknown {proto} port keyword {tok!r}")
    return table[tok]


def _ports(tokens: list[str], proto: str) -> PortRange | None:
    if not tokens or tokens[0] not in ("eq", "range"):
        return None
    op = tokens.pop(0)
    first = _port_value(tokens.pop(0), proto)
    last = _port_value(tokens.pop(0), proto) if op == "range" else first
    return PortRange(first=first, last=last)


def parse_ace(text: str, fam: int, name: str) -> Rule:
    """One entry (``permit tcp host A any eq 22``, optionally numbered) -> one neutral rule."""
    tokens = text.split()
    if tokens and tokens[0] == "sequence":
        tokens = tokens[2:]
    elif tokens and tokens[0].isdigit():
        tokens = tokens[1:]
    action: Action = "permit" if tokens.pop(0) == "permit" else "deny"
    word = tokens.pop(0)
    proto: Protocol = "any" if word in ("ip", "ipv6") else word  # type: ignore[assignment]
    if proto not in ("any", "tcp", "udp", "icmp"):
        raise ParseError(f"unexpected protocol in {text!r}")
    src = _address(tokens, fam)
    sport = _ports(tokens, proto)
    dst = _address(tokens, fam)
    dport = _ports(tokens, proto)
    tokens = [t for t in tokens if t != "log" and not t.startswith("(")]
    if tokens and not re.fullmatch(r"\d+", tokens[0]):
        raise ParseError(f"unexpected options {' '.join(tokens)!r} in {text!r}")
    return atom_rule(name, action, proto, fam, src, dst, sport, dport)


def _infra(text: str) -> bool:
    """Whether an entry (as displayed, maybe numbered) is one of egressctl's infrastructure entries."""
    tokens = text.split()
    if tokens and tokens[0] == "sequence":
        tokens = tokens[2:]
    elif tokens and tokens[0].isdigit():
        tokens = tokens[1:]
    return " ".join(tokens) in c.ND_ACES


def parse_acl(lines: list[str], fam: int) -> tuple[str, list[Rule]]:
    """(marker remark text, rules) of one owned ACL; infrastructure entries are skipped, not rules.

    The marker text ends with the stamp remark's words when the ACL has one (see ``render.acl_lines``).
    """
    seen = Remarks()
    rules: list[Rule] = []
    for line in lines:
        if line.startswith("remark "):
            seen.read(line.removeprefix("remark ").strip(), rules_seen=bool(rules))
        elif seen.name == c.INFRA_REMARK:
            if not _infra(line):
                raise ParseError(f"unexpected entry {line!r} under egressctl's infrastructure remark")
        else:
            rules.append(parse_ace(line, fam, seen.name))
    return seen.marker_text(), rules


def _enforced(device: Device, raw: str, bound: dict[Point, set[str]], fam: int) -> tuple[str | None, bool]:
    """(the slot that holds the policy, whether it is enforced as the device's role says).

    Bound ACLs: the slot bound at every point. Mode ``shutdown-uplink``: the one record ACL, enforced when
    every uplink is shut.
    """
    present = existing(raw, fam)
    if device.switch is not None and device.role == "switch" and device.switch.mode != "acl":
        down = shut(raw)
        record = present[0] if len(present) == 1 else None
        return record, record is not None and all(u in down for u in device.switch.uplinks)
    active = applied(device, bound, fam)
    return active, active is not None and present == [active]


def parse_state(device: Device, raw: str, *, pending: bool) -> DeviceState:
    """Read-back text -> neutral ``DeviceState``.

    The rules come from the slot bound at every point (see :func:`points`). The target is ``unknown``
    unless both families are enforced, their markers agree and no other owned ACL lingers (a change that
    stopped half-way): the planner then re-applies, which also removes the leftover.
    """
    blocks = acl_blocks(raw)
    bound = bindings(raw)
    every = {n for fam in (4, 6) for n in owned_names(fam)}
    owned = any(n in blocks for n in every) or any(n & every for n in bound.values())
    found: list[tuple[str, list[Rule]]] = []
    clean = True
    for fam in (4, 6):
        active, enforced = _enforced(device, raw, bound, fam)
        present = existing(raw, fam)
        source = active if active in blocks else (present[0] if present else None)
        found.append(parse_acl(blocks.get(source, []) if source else [], fam))
        clean = clean and enforced
    (m4, rules4), (m6, rules6) = found
    marker_text = m4 if clean and m4 == m6 else ""
    return build_state(marker_text, [*rules4, *rules6], pending=pending, raw=raw, owned=owned)
