"""The IOS router's configuration model: interfaces, extended/IPv6 ACLs and the archive settings.

Entries are parsed into structured matches (for the data plane) and keep IOS's canonical text (for
``show running-config`` / ``show access-lists``), so what is displayed and what is enforced come from the
same object.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from egressctl_lab.emu.cisco_ios import constants as c
from egressctl_lab.emu.cisco_ios.generic import Block
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor, match_keyword


@dataclass(frozen=True)
class Addr:
    """An ACL address: ``any``, ``host X``, ``NET WILDCARD`` (v4) or ``PREFIX/LEN`` (v6)."""

    kind: str  # any | host | wild | prefix
    addr: str = ""
    wildcard: str = ""

    def text(self) -> str:
        """IOS display form."""
        if self.kind == "any":
            return "any"
        if self.kind == "host":
            return f"host {self.addr}"
        if self.kind == "wild":
            return f"{self.addr} {self.wildcard}"
        return self.addr


@dataclass(frozen=True)
class Ports:
    """A port operator: eq (one or more), neq, lt, gt or range."""

    op: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class Match:
    """What an ACE matches."""

    proto: int | None  # None = any IP
    proto_name: str
    src: Addr
    dst: Addr
    sport: Ports | None = None
    dport: Ports | None = None
    icmp_type: int | None = None
    established: bool = False
    log: bool = False
    icmp_code: int | None = None


@dataclass
class Entry:
    """One ACL line: an ACE (``seq`` set) or a remark (``seq`` None)."""

    seq: int | None
    action: str  # permit | deny | remark
    body: str  # canonical text after the action (remark text for remarks)
    match: Match | None = None


@dataclass
class Acl:
    """A named ACL; ``family`` 4 (ip access-list extended) or 6 (ipv6 access-list)."""

    name: str
    family: int
    entries: list[Entry] = field(default_factory=list)

    def aces(self) -> list[Entry]:
        """The entries that match packets (remarks excluded)."""
        return [e for e in self.entries if e.seq is not None]

    def next_seq(self) -> int:
        """Default sequence number: 10 above the highest."""
        return max((e.seq for e in self.aces() if e.seq is not None), default=0) + 10

    def insert(self, entry: Entry) -> None:
        """Place an ACE by sequence number (before the remarks that describe the following ACE)."""
        assert entry.seq is not None
        if any(e.seq == entry.seq for e in self.aces()):
            raise CliError("message", message=c.DUPLICATE_SEQ)
        idx = len(self.entries)
        for i, e in enumerate(self.entries):
            if e.seq is not None and e.seq > entry.seq:
                idx = i
                while idx > 0 and self.entries[idx - 1].seq is None:
                    idx -= 1
                break
        self.entries.insert(idx, entry)


@dataclass
class Interface:
    """A router interface and the filters applied to it."""

    name: str
    kernel: str
    description: str = ""
    shutdown: bool = False
    acl_in4: str | None = None
    acl_out4: str | None = None
    acl_in6: str | None = None
    acl_out6: str | None = None
    #: ``ip address A M`` as configured (display only: the lab's kernel addresses do not change).
    address: tuple[str, str] | None = None
    #: Sub-commands stored without interpretation (``ip ospf cost 10``, ``ip nat inside``).
    extra: list[str] = field(default_factory=list)
    #: Created by configuration (``interface Loopback0``): no kernel interface behind it.
    virtual: bool = False
    #: A switch's physical port: True a switch port (``switchport``), False a routed port (``no
    #: switchport``); None on a router and for SVIs (see :mod:`.switch`).
    layer2: bool | None = None


@dataclass
class Config:
    """A whole running (or startup, or archived) configuration."""

    hostname: str
    interfaces: dict[str, Interface] = field(default_factory=dict)
    acls: dict[tuple[int, str], Acl] = field(default_factory=dict)  # (family, name): separate namespaces
    archive_path: str | None = None
    archive_max: int = c.ARCHIVE_DEFAULT_MAX
    #: Valid lines the emulator stores without interpreting (see :mod:`.generic`).
    extra: list[Block] = field(default_factory=list)
    #: ``banner KIND`` texts.
    banners: dict[str, str] = field(default_factory=dict)
    #: The enable secret/password as typed (never printed: running-config shows a placeholder hash).
    enable_secret: str | None = field(default=None, repr=False)


# -- ACE parsing ------------------------------------------------------------------------------------------
def parse_ace(cur: Cursor, family: int) -> tuple[str, str, Match]:
    """Parse ``permit|deny PROTO SRC [ports] DST [ports] [extras]``; returns (action, body, match)."""
    action = cur.keyword(["permit", "deny"])
    protos = c.PROTOCOLS4 if family == 4 else c.PROTOCOLS6
    tok = cur.word()
    if tok.text.isdigit() and int(tok.text) <= 255:
        proto: int | None = int(tok.text)
        pname = tok.text
    else:
        pname = match_keyword(tok, list(protos))
        proto = protos[pname]
    src = _addr(cur, family)
    sport = _ports(cur, pname) if pname in ("tcp", "udp") else None
    dst = _addr(cur, family)
    dport = _ports(cur, pname) if pname in ("tcp", "udp") else None
    icmp_type, icmp_code = _icmp_type(cur, family) if pname == "icmp" else (None, None)
    established = pname == "tcp" and cur.optional_keyword(["established"]) is not None
    log = cur.optional_keyword(["log"]) is not None
    match = Match(proto, pname, src, dst, sport, dport, icmp_type, established, log, icmp_code)
    return action, body_text(match), match


def body_text(m: Match) -> str:
    """Canonical IOS text of a match (after permit/deny)."""
    parts = [m.proto_name, m.src.text()]
    if m.sport:
        parts.append(_ports_text(m.sport, m.proto_name))
    parts.append(m.dst.text())
    if m.dport:
        parts.append(_ports_text(m.dport, m.proto_name))
    if m.icmp_type is not None:
        names = c.ICMP_TYPES if m.proto == 1 else c.ICMP6_TYPES
        numeric = str(m.icmp_type) + ("" if m.icmp_code is None else f" {m.icmp_code}")
        parts.append(next((k for k, v in names.items() if v == (m.icmp_type, m.icmp_code)), numeric))
    if m.established:
        parts.append("established")
    if m.log:
        parts.append("log")
    return " ".join(parts)


def _addr(cur: Cursor, family: int) -> Addr:
    tok = cur.word()
    low = tok.text.lower()
    if low == "any":
        return Addr("any")
    if low == "host" or (len(low) >= 2 and "host".startswith(low)):
        host = cur.word()
        return Addr("host", _ip(host.text, host.pos, family))
    if family == 4:
        net = _ip(tok.text, tok.pos, 4)
        wild_tok = cur.word()
        wild = _ip(wild_tok.text, wild_tok.pos, 4)
        masked = int(ipaddress.IPv4Address(net)) & ~int(ipaddress.IPv4Address(wild)) & 0xFFFFFFFF
        return Addr("wild", str(ipaddress.IPv4Address(masked)), wild)
    try:
        prefix = ipaddress.IPv6Network(tok.text, strict=False)
    except ValueError:
        raise CliError("invalid", tok.pos) from None
    if "/" not in tok.text:
        raise CliError("invalid", tok.pos)
    return Addr("prefix", str(prefix).upper())


def _ip(text: str, pos: int, family: int) -> str:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise CliError("invalid", pos) from None
    if ip.version != family:
        raise CliError("invalid", pos)
    return str(ip).upper()


def _port(cur: Cursor, proto: str) -> int:
    tok = cur.word()
    if tok.text.isdigit():
        if not 0 <= int(tok.text) <= 65535:
            raise CliError("invalid", tok.pos)
        return int(tok.text)
    names = c.TCP_NAME_INPUT if proto == "tcp" else c.UDP_NAME_INPUT
    return names[match_keyword(tok, list(names))]


def _ports(cur: Cursor, proto: str) -> Ports | None:
    op = cur.optional_keyword(["eq", "neq", "lt", "gt", "range"])
    if op is None:
        return None
    if op == "range":
        low, high = _port(cur, proto), _port(cur, proto)
        return Ports("range", (low, high))
    values = [_port(cur, proto)]
    while op == "eq" and cur.more() and len(values) < 10 and _looks_like_port(cur, proto):
        values.append(_port(cur, proto))
    return Ports(op, tuple(values))


def _looks_like_port(cur: Cursor, proto: str) -> bool:
    tok = cur.peek()
    if tok is None:
        return False
    names = c.TCP_NAME_INPUT if proto == "tcp" else c.UDP_NAME_INPUT
    return tok.text.isdigit() or tok.text.lower() in names


def _ports_text(p: Ports, proto: str) -> str:
    names = c.TCP_PORT_NAMES if proto == "tcp" else c.UDP_PORT_NAMES
    return " ".join([p.op, *(names.get(v, str(v)) for v in p.values)])


def _icmp_type(cur: Cursor, family: int) -> tuple[int | None, int | None]:
    """``[TYPE [CODE] | MESSAGE-KEYWORD]`` after an ICMP destination: (type, code), None where absent."""
    tok = cur.peek()
    if tok is None:
        return None, None
    if tok.text.isdigit():
        icmp_type = cur.number(0, 255)
        nxt = cur.peek()
        return icmp_type, cur.number(0, 255) if nxt is not None and nxt.text.isdigit() else None
    names = c.ICMP_TYPES if family == 4 else c.ICMP6_TYPES
    try:
        kw = match_keyword(tok, list(names))
    except CliError as err:
        if err.kind == "ambiguous":  # "nd-n": IOS refuses it rather than guess
            raise
        return None, None  # not a message keyword: log, sequence, ... are parsed by the caller
    cur.i += 1
    return names[kw]
