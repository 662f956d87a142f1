"""The Python reference of ``pktparse.h``: the same packet parse, step for step, one packet at a time.

Both C helpers (the capture engine and the watch's ring walker) include ``pktparse.h``; this module is its
line-by-line twin, so there is one definition of what a packet is (link layer, VLAN tags, IPv4/IPv6
header, IPv6 extension-header chain, fragments, ports) and one place to read it in Python. Tests hold the
C helpers, the numpy capture engine and this parser to the same results on the same packets; the live
watch uses it as its walker when the C helper is not built.

``status`` is the first problem found (:data:`OK` when none); ``family`` is non-zero once the addresses
were read, which is what lets a caller decide "not leaving the site" before caring about the rest. Ports
are required only for TCP and UDP (a verdict needs nothing else from the transport header). :func:`quote`
(``pp_quote``) parses the datagram an ICMP error quotes: an error related to an allowed flow is no leak.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

OK, NON_IP, TRUNCATED, FRAGMENT, MALFORMED, LINKTYPE = range(6)
STATUS_NAMES = ("ok", "non_ip", "truncated", "fragment", "malformed", "linktype")
ETHERNET, COOKED, COOKED_V2, RAW, RAW4, RAW6 = 1, 113, 276, 101, 228, 229
VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100})
V6_EXT = frozenset({0, 43, 44, 51, 60, 135, 139, 140})
MAX_TAGS, MAX_EXT = 8, 16
#: ICMP error types by family (their quote is the start of the datagram they answer; RFC 792, RFC 4443).
ICMP_ERRORS = {4: frozenset({3, 4, 5, 11, 12}), 6: frozenset({1, 2, 3, 4})}
ICMP_PROTO = {4: 1, 6: 58}
_H = struct.Struct("!H")


@dataclass
class Parsed:
    """One parsed packet; the fields of ``pp_pkt`` (addresses as whole integers)."""

    status: int = OK
    family: int = 0
    proto: int = 0
    src: int = 0
    dst: int = 0
    sport: int = 0
    dport: int = 0
    vlan: int = 0
    vflag: int = 0
    tags: int = 0
    et: int = 0
    l3: int = 0
    l4: int = 0

    def fail(self, status: int) -> bool:
        """Record the first problem; returns False so a step can ``return r.fail(...)``."""
        self.status = status
        return False

    def address_bytes(self, data: bytes) -> tuple[bytes, bytes]:
        """Packed source and destination addresses, as they are on the wire."""
        n = 4 if self.family == 4 else 16
        return self.src.to_bytes(n, "big"), self.dst.to_bytes(n, "big")


def _be16(data: bytes, at: int) -> int:
    return int(_H.unpack_from(data, at)[0])


def _tags(r: Parsed, data: bytes, off: int) -> bool:
    """In-frame VLAN tags from ``off`` (``r.et`` holds the first ethertype)."""
    tags = 0
    while r.et in VLAN_TYPES:
        tags += 1
        if tags > MAX_TAGS:
            return r.fail(MALFORMED)
        if len(data) < off + 4:
            return r.fail(TRUNCATED)
        if not r.vflag:
            r.vflag, r.vlan = 1, _be16(data, off) & 0x0FFF
        r.et = _be16(data, off + 2)
        off += 4
    r.tags, r.l3 = tags, off
    return True


def _link(r: Parsed, data: bytes, linktype: int) -> bool:
    """Link layer by pcap link type (``pp_link``)."""
    n = len(data)
    if linktype in (ETHERNET, COOKED):
        off = 14 if linktype == ETHERNET else 16
        if n < off:
            return r.fail(TRUNCATED)
        r.et = _be16(data, off - 2)
        return _tags(r, data, off)
    if linktype == COOKED_V2:
        if n < 20:
            return r.fail(TRUNCATED)
        r.et = _be16(data, 0)
        return _tags(r, data, 20)
    if linktype in (RAW, 12, 14):
        if n < 1:
            return r.fail(TRUNCATED)
        r.et = {4: 0x0800, 6: 0x86DD}.get(data[0] >> 4, 0)
        return r.et != 0 or r.fail(MALFORMED)
    if linktype in (RAW4, RAW6):
        r.et = 0x0800 if linktype == RAW4 else 0x86DD
        return True
    return r.fail(LINKTYPE)


def _ip(r: Parsed, data: bytes) -> bool:
    """IP version, header length, protocol and addresses (``pp_ip``)."""
    p, n = r.l3, len(data) - r.l3
    if r.et == 0x0800:
        if n < 20:
            return r.fail(TRUNCATED)
        if data[p] >> 4 != 4 or data[p] & 15 < 5:
            return r.fail(MALFORMED)
        r.family, r.proto, r.l4 = 4, data[p + 9], r.l3 + (data[p] & 15) * 4
        r.src = int.from_bytes(data[p + 12:p + 16], "big")
        r.dst = int.from_bytes(data[p + 16:p + 20], "big")
        return True
    if r.et == 0x86DD:
        if n < 40:
            return r.fail(TRUNCATED)
        if data[p] >> 4 != 6:
            return r.fail(MALFORMED)
        r.family, r.proto, r.l4 = 6, data[p + 6], r.l3 + 40
        r.src = int.from_bytes(data[p + 8:p + 24], "big")
        r.dst = int.from_bytes(data[p + 24:p + 40], "big")
        return True
    return r.fail(NON_IP)


def _v6_ext(r: Parsed, data: bytes) -> bool:
    """The IPv6 extension-header chain (``pp_v6_ext``); non-first fragments stop it."""
    p, n, pos = r.l3, len(data) - r.l3, r.l4 - r.l3
    i = 0
    while r.proto in V6_EXT:
        if i >= MAX_EXT:
            return r.fail(MALFORMED)
        if n < pos + 8:
            return r.fail(TRUNCATED)
        nxt = data[p + pos]
        if r.proto == 44:
            if _be16(data, p + pos + 2) & 0xFFF8:
                r.proto = nxt
                return r.fail(FRAGMENT)
            pos += 8
        elif r.proto == 51:
            pos += (data[p + pos + 1] + 2) * 4
        else:
            pos += (data[p + pos + 1] + 1) * 8
        r.proto = nxt
        i += 1
    r.l4 = r.l3 + pos
    return True


def _l4(r: Parsed, data: bytes) -> bool:
    """Fragments, extension headers and TCP/UDP ports (``pp_l4``)."""
    if r.family == 4 and _be16(data, r.l3 + 6) & 0x1FFF:
        return r.fail(FRAGMENT)
    if r.family == 6 and not _v6_ext(r, data):
        return False
    if r.proto in (6, 17):
        if len(data) - r.l4 < 4:
            return r.fail(TRUNCATED)
        r.sport, r.dport = _be16(data, r.l4), _be16(data, r.l4 + 2)
    return True


def parse(data: bytes, linktype: int = ETHERNET, vlan: int | None = None) -> Parsed:
    """Parse one captured packet of ``linktype``; ``vlan`` is a tag the capture already removed."""
    r = Parsed()
    if vlan is not None:
        r.vflag, r.vlan = 1, vlan & 0x0FFF
    if _link(r, data, linktype) and _ip(r, data):
        _l4(r, data)
    return r


def icmp_error(r: Parsed, data: bytes) -> bool:
    """Whether ``r`` (fully parsed) is an ICMP error with its ICMP header captured (``pp_icmp_error``)."""
    if r.status != OK or len(data) - r.l4 < 8 or r.proto != ICMP_PROTO.get(r.family):
        return False
    return data[r.l4] in ICMP_ERRORS[r.family]


def quote(r: Parsed, data: bytes) -> Parsed | None:
    """The datagram the ICMP error ``r`` quotes, parsed (``pp_quote``); None when there is none to trust.

    None unless the quote is a whole IP header of ``r``'s family (extension chain too), not a non-first
    fragment, with the ports of TCP and UDP, and sent by the error's destination (an error goes back to
    the sender of what it quotes, as conntrack demands). Offsets of the result are within the quote.
    """
    if not icmp_error(r, data):
        return None
    body = data[r.l4 + 8:]
    q = Parsed(et=0x86DD if r.family == 6 else 0x0800)
    if not (_ip(q, body) and _l4(q, body)) or q.l4 > len(body):
        return None
    return q if q.src == r.dst else None
