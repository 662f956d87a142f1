"""ASA extended ACEs and object-groups: what is typed, the canonical text the ASA shows, the matches.

ASA 9.x ACLs are unified: one ACL holds IPv4 and IPv6 entries; ``any`` matches both families, ``any4`` and
``any6`` one each; an IPv4 network is written ``A MASK``, an IPv6 one ``A/LEN``, a single host ``host A``.
An ``object-group network`` stands for its network-objects, an ``object-group service NAME tcp|udp|tcp-udp``
for its port-objects, and an entry using groups is expanded into every combination of the same family
when it is enforced (the ASA's own expansion, ``show access-list`` counts those as elements). Ports are
shown by name where the ASA has one (``eq ssh``). Line parsing reuses the IOS personality's tokenizer.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from egressctl_lab.emu.arista_eos.acl import Match, Ports
from egressctl_lab.emu.cisco_asa import constants as c
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
ANY4 = ipaddress.ip_network("0.0.0.0/0")
ANY6 = ipaddress.ip_network("::/0")
PROTOS: dict[str, int | None] = {"ip": None, "tcp": 6, "udp": 17, "icmp": 1, "icmp6": 58}


@dataclass
class ObjectGroup:
    """``object-group network NAME`` or ``object-group service NAME PROTO``; ``lines`` as shown."""

    kind: str
    name: str
    proto: str = ""
    lines: list[str] = field(default_factory=list)

    def head(self) -> str:
        """The line that opens the group."""
        return " ".join(["object-group", self.kind, self.name, *([self.proto] if self.proto else [])])

    def networks(self) -> list[Net]:
        """The networks of a network group."""
        out: list[Net] = []
        for line in self.lines:
            words = line.split()
            if words[0] != "network-object":
                continue
            if words[1] == "host":
                out.append(ipaddress.ip_network(words[2]))
            elif "/" in words[1]:
                out.append(ipaddress.ip_network(words[1], strict=False))
            else:
                out.append(ipaddress.ip_network(f"{words[1]}/{words[2]}", strict=False))
        return out

    def ports(self) -> list[Ports]:
        """The port operators of a service group."""
        out: list[Ports] = []
        for line in self.lines:
            words = line.split()
            if words[0] == "port-object":
                out.append(Ports(words[1], tuple(port_number(w) for w in words[2:])))
        return out


Groups = dict[str, ObjectGroup]


def port_number(word: str) -> int:
    """A port typed as a number or an ASA name."""
    return int(word) if word.isdigit() else c.PORT_INPUT[word]


def port_text(value: int) -> str:
    """How the ASA shows a port."""
    return c.PORT_NAMES.get(value, str(value))


def _port_word(cur: Cursor) -> int:
    tok = cur.word()
    if tok.text.isdigit() and 0 <= int(tok.text) <= 65535:
        return int(tok.text)
    if tok.text.lower() in c.PORT_INPUT:
        return c.PORT_INPUT[tok.text.lower()]
    raise CliError("invalid", tok.pos)


def parse_port_op(cur: Cursor) -> str:
    """``eq N`` / ``lt N`` / ``gt N`` / ``neq N`` / ``range A B`` in display form."""
    op = cur.keyword(["eq", "lt", "gt", "neq", "range"])
    values = [_port_word(cur)] + ([_port_word(cur)] if op == "range" else [])
    return " ".join([op, *map(port_text, values)])


def parse_address(cur: Cursor, groups: Groups) -> str:
    """One address operand in display form (``any4``, ``host A``, ``A MASK``, ``A/L``, ``object-group G``)."""
    tok = cur.word()
    low = tok.text.lower()
    if low in ("any", "any4", "any6"):
        return low
    if low == "host":
        addr = cur.word()
        try:
            return f"host {ipaddress.ip_address(addr.text)}"
        except ValueError:
            raise CliError("invalid", addr.pos) from None
    if low == "object-group":
        name = cur.word()
        group = groups.get(name.text)
        if group is None or group.kind != "network":
            raise CliError("message", message=c.GROUP_MISSING.format(name=name.text))
        return f"object-group {name.text}"
    try:
        if "/" in tok.text:
            net = ipaddress.ip_network(tok.text, strict=False)
            if net.version != 6:
                raise CliError("invalid", tok.pos)
            return f"{net}"
        addr4 = ipaddress.IPv4Address(tok.text)
        mask = cur.word()
        net4 = ipaddress.IPv4Network(f"{addr4}/{mask.text}", strict=False)
    except ValueError:
        raise CliError("invalid", tok.pos) from None
    return f"{net4.network_address} {net4.netmask}" if net4.prefixlen < 32 else f"host {addr4}"


def _service_group(cur: Cursor, groups: Groups) -> str | None:
    """``object-group SVC`` when the next words name a service group (a port operand), else None."""
    tok = cur.peek()
    if tok is None or tok.text.lower() != "object-group" or cur.i + 1 >= len(cur.tokens):
        return None
    group = groups.get(cur.tokens[cur.i + 1].text)
    if group is None or group.kind != "service":
        return None
    cur.i += 2
    return f"object-group {group.name}"


def _port_operand(cur: Cursor, groups: Groups) -> str:
    """A port operand (operator or service group) when one comes next, else ""."""
    svc = _service_group(cur, groups)
    if svc is not None:
        return svc
    tok = cur.peek()
    if tok is not None and tok.text.lower() in ("eq", "lt", "gt", "neq", "range"):
        return parse_port_op(cur)
    return ""


def parse_ace(cur: Cursor, groups: Groups) -> str:
    """The rest of ``access-list NAME extended ...`` in the ASA's display form (checked, not applied)."""
    action = cur.keyword(["permit", "deny"])
    proto_tok = cur.word()
    proto = proto_tok.text.lower()
    if proto not in PROTOS and not (proto.isdigit() and int(proto) < 256):
        raise CliError("invalid", proto_tok.pos)
    words = [action, proto, parse_address(cur, groups)]
    ported = proto in ("tcp", "udp")
    if ported and (port := _port_operand(cur, groups)):
        words.append(port)
    words.append(parse_address(cur, groups))
    if ported and (port := _port_operand(cur, groups)):
        words.append(port)
    if cur.optional_keyword(["log"]):
        words.append("log")
    cur.end()
    return " ".join(words)


def _take_addr(words: list[str], groups: Groups) -> list[Net]:
    w = words.pop(0)
    if w == "any":
        return [ANY4, ANY6]
    if w in ("any4", "any6"):
        return [ANY4 if w == "any4" else ANY6]
    if w == "host":
        return [ipaddress.ip_network(words.pop(0))]
    if w == "object-group":
        return groups[words.pop(0)].networks()
    if "/" in w:
        return [ipaddress.ip_network(w, strict=False)]
    return [ipaddress.ip_network(f"{w}/{words.pop(0)}", strict=False)]


def _service_group_named(name: str, groups: Groups) -> ObjectGroup | None:
    group = groups.get(name)
    return group if group is not None and group.kind == "service" else None


def _take_ports(words: list[str], groups: Groups) -> list[Ports | None]:
    if not words or words[0] not in ("eq", "lt", "gt", "neq", "range", "object-group"):
        return [None]
    if words[0] == "object-group" and _service_group_named(words[1], groups) is None:
        return [None]  # a network group: the next address, not a port operand (as parse_ace reads it)
    op = words.pop(0)
    if op == "object-group":
        return list(groups[words.pop(0)].ports())
    count = 2 if op == "range" else 1
    values = tuple(port_number(words.pop(0)) for _ in range(count))
    return [Ports(op, values)]


def matches(text: str, groups: Groups) -> tuple[str, list[Match]]:
    """``(action, matches)`` of one ACE in display form, expanded over its groups (same family only)."""
    words = text.split()
    action, proto = words.pop(0), words.pop(0)
    ported = proto in ("tcp", "udp")
    srcs = _take_addr(words, groups)
    sports = _take_ports(words, groups) if ported else [None]
    dsts = _take_addr(words, groups)
    dports = _take_ports(words, groups) if ported else [None]
    number = PROTOS.get(proto, int(proto) if proto.isdigit() else None)
    out: list[Match] = []
    for s in srcs:
        for d in dsts:
            if s.version != d.version:
                continue
            if (proto == "icmp" and s.version != 4) or (proto == "icmp6" and s.version != 6):
                continue
            name = {"icmp6": "icmpv6"}.get(proto, proto)
            out += [Match(number, name, s, d, sp, dp) for sp in sports for dp in dports]
    return action, out
