"""EOS access-list entries: parsing what is typed, the canonical text EOS shows, and the structured match.

EOS numbers every entry, remarks included (``10 remark ...``, ``20 permit tcp ...``), shows addresses as
``any``, ``host A`` or ``A/LEN`` (a contiguous IPv4 wildcard typed as ``A W`` is shown as a prefix) and
well-known ports by name (``eq ssh``). The same object feeds ``show running-config`` and the data plane,
so what is displayed and what is enforced never disagree. Line parsing (abbreviations, the parser's error
kinds) reuses the IOS personality's tokenizer: EOS's parser follows the same industry-standard rules.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from egressctl_lab.emu.arista_eos import constants as c
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor, match_keyword

__all__ = ["Acl", "CliError", "Cursor", "Entry", "Match", "Ports", "match_keyword", "parse_entry"]


@dataclass(frozen=True)
class Ports:
    """A port operator: eq (one or more), neq, lt, gt or range."""

    op: str
    values: tuple[int, ...]

    def text(self) -> str:
        """EOS display form (``eq ssh``, ``range 1000 2000``)."""
        return " ".join([self.op, *(c.PORT_NAMES.get(v, str(v)) for v in self.values)])


@dataclass(frozen=True)
class Match:
    """What a permit/deny entry matches; addresses are networks (``any`` = the family's /0)."""

    proto: int | None
    proto_name: str
    src: ipaddress.IPv4Network | ipaddress.IPv6Network
    dst: ipaddress.IPv4Network | ipaddress.IPv6Network
    sport: Ports | None = None
    dport: Ports | None = None
    icmp: tuple[int, int | None] | None = None
    log: bool = False


@dataclass
class Entry:
    """One numbered line of an ACL: ``permit``/``deny`` (with a match) or ``remark`` (text)."""

    seq: int
    action: str
    text: str
    match: Match | None = None

    def line(self) -> str:
        """``SEQ ACTION TEXT`` as EOS shows it."""
        return f"{self.seq} {self.action} {self.text}"


@dataclass
class Acl:
    """A named ACL of one family (4: ``ip access-list``, 6: ``ipv6 access-list``)."""

    name: str
    family: int
    entries: list[Entry] = field(default_factory=list)

    def rules(self) -> list[Entry]:
        """The entries that match packets (remarks excluded)."""
        return [e for e in self.entries if e.match is not None]

    def next_seq(self) -> int:
        """The default sequence number: 10 above the highest."""
        return max((e.seq for e in self.entries), default=0) + 10

    def add(self, entry: Entry) -> None:
        """Insert by sequence number; a number in use is refused."""
        if any(e.seq == entry.seq for e in self.entries):
            raise CliError("message", message=c.DUPLICATE_SEQ)
        self.entries.append(entry)
        self.entries.sort(key=lambda e: e.seq)


def parse_entry(cur: Cursor, family: int, seq: int) -> Entry:
    """``permit|deny|remark ...`` after an optional sequence number (already consumed)."""
    action = cur.keyword(["permit", "deny", "remark"])
    if action == "remark":
        return Entry(seq, "remark", cur.rest()[: c.REMARK_MAX])
    match = _match(cur, family)
    cur.end()
    return Entry(seq, action, _text(match, family), match)


def _match(cur: Cursor, family: int) -> Match:
    protos = c.PROTOCOLS4 if family == 4 else c.PROTOCOLS6
    tok = cur.word()
    proto: int | None
    if tok.text.isdigit() and int(tok.text) <= 255:
        pname, proto = tok.text, int(tok.text)
    else:
        pname = match_keyword(tok, list(protos))
        proto = protos[pname]
    ported = pname in ("tcp", "udp")
    src = _addr(cur, family)
    sport = _ports(cur) if ported else None
    dst = _addr(cur, family)
    dport = _ports(cur) if ported else None
    icmp = _icmp(cur, family) if pname in ("icmp", "icmpv6") else None
    log = cur.optional_keyword(["log"]) is not None
    return Match(proto, pname, src, dst, sport, dport, icmp, log)


def _text(m: Match, family: int) -> str:
    parts = [m.proto_name, _addr_text(m.src)]
    if m.sport:
        parts.append(m.sport.text())
    parts.append(_addr_text(m.dst))
    if m.dport:
        parts.append(m.dport.text())
    if m.icmp is not None:
        names = c.ICMP_TYPES if family == 4 else c.ICMP6_TYPES
        named = next((k for k, v in names.items() if v == m.icmp), None)
        parts.append(named or " ".join(str(v) for v in m.icmp if v is not None))
    if m.log:
        parts.append("log")
    return " ".join(parts)


def _addr_text(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    if net.prefixlen == 0:
        return "any"
    if net.prefixlen == net.max_prefixlen:
        return f"host {net.network_address}"
    return str(net)


def _addr(cur: Cursor, family: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    tok = cur.word()
    low = tok.text.lower()
    if low == "any":
        return ipaddress.ip_network("0.0.0.0/0" if family == 4 else "::/0")
    if low == "host":
        host = cur.word()
        return _net(f"{host.text}/{32 if family == 4 else 128}", host.pos, family)
    if "/" in low:
        return _net(low, tok.pos, family)
    if family == 6:
        raise CliError("invalid", tok.pos)
    wild = cur.word()
    try:
        mask = int(ipaddress.IPv4Address(wild.text)) ^ 0xFFFFFFFF
        return _net(f"{tok.text}/{ipaddress.IPv4Address(mask)}", tok.pos, 4)
    except ValueError:
        raise CliError("invalid", wild.pos) from None


def _net(text: str, pos: int, family: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise CliError("invalid", pos) from None
    if net.version != family:
        raise CliError("invalid", pos)
    return net


def _port(cur: Cursor) -> int:
    tok = cur.word()
    if tok.text.isdigit() and int(tok.text) <= 65535:
        return int(tok.text)
    return c.PORT_INPUT[match_keyword(tok, list(c.PORT_INPUT))]


def _ports(cur: Cursor) -> Ports | None:
    op = cur.optional_keyword(["eq", "neq", "lt", "gt", "range"])
    if op is None:
        return None
    if op == "range":
        return Ports(op, (_port(cur), _port(cur)))
    values = [_port(cur)]
    while op == "eq" and len(values) < 10 and _next_is_port(cur):
        values.append(_port(cur))
    return Ports(op, tuple(values))


def _next_is_port(cur: Cursor) -> bool:
    tok = cur.peek()
    return tok is not None and (tok.text.isdigit() or tok.text.lower() in c.PORT_INPUT)


def _icmp(cur: Cursor, family: int) -> tuple[int, int | None] | None:
    tok = cur.peek()
    if tok is None:
        return None
    if tok.text.isdigit():
        kind = cur.number(0, 255)
        nxt = cur.peek()
        return kind, cur.number(0, 255) if nxt is not None and nxt.text.isdigit() else None
    names = c.ICMP_TYPES if family == 4 else c.ICMP6_TYPES
    try:
        found = match_keyword(tok, list(names))
    except CliError as err:
        if err.kind == "ambiguous":
            raise
        return None
    cur.i += 1
    return names[found]
