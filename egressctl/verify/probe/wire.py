"""Probe packets on the wire: one template per kind, patched per probe, and reply parsing.

Building each probe with scapy costs about 0.8 ms per packet, and importing scapy alone about 0.25 s of
CPU per probe run. So one template per (family, protocol, payload) is packed here once (the bytes scapy
would build; a test compares them), and each probe copies the template and patches addresses, ports,
sequence/identifier and checksums in place, in a few microseconds.

Replies are parsed from raw L3 bytes into :class:`Reply` records keyed the same way as the probes, so the
engine matches each reply to its probe with one dict lookup as it arrives (ICMP errors carry the original
header, which gives the key of the probe they refuse).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from functools import cache
from typing import Literal

Proto = Literal["tcp", "udp", "icmp"]
PROTO_NUM = {"tcp": 6, "udp": 17, "icmp": 1}
ICMP6 = 58
TCP_SYN, TCP_RST, TCP_ACK = 0x02, 0x04, 0x10
# A valid DNS query (id 0x4567, RD, "egressctl-probe.invalid. A"): DNS servers only answer real queries.
DNS_QUERY = bytes.fromhex("456701000001000000000000" "0f65677265737363746c2d70726f6265"
                          "07696e76616c6964" "0000010001")
PAYLOAD = b"egressctl-probe\n"
# Linux starts replies with TTL 64; other stacks use 128 or 255. The smallest one above a TTL is its start.
_INITIAL_TTLS = (64, 128, 255)


def hop_distance(ttl: int) -> int:
    """Routers between the sender of a packet and us, from its received TTL/hop limit."""
    for start in _INITIAL_TTLS:
        if ttl <= start:
            return start - ttl
    return 0


def checksum(data: bytes) -> int:
    """Internet checksum (RFC 1071).

    The ones'-complement sum of 16-bit words equals the whole buffer read as one big integer modulo 65535
    (since 65536 = 1 mod 65535), which CPython computes far faster than a loop over words.
    """
    if len(data) % 2:
        data += b"\0"
    n = int.from_bytes(data, "big")
    s = n % 0xFFFF
    if s == 0 and n:
        s = 0xFFFF
    return ~s & 0xFFFF


@dataclass(frozen=True)
class Template:
    """Bytes of one probe packet (addresses and ports zero) and where its patchable fields are."""

    family: int
    proto: Proto
    data: bytes
    l3len: int

    @property
    def l4num(self) -> int:
        """IP protocol number carried by the template."""
        return ICMP6 if (self.family == 6 and self.proto == "icmp") else PROTO_NUM[self.proto]


@cache
def template(family: int, proto: Proto, dns: bool = False) -> Template:
    """Build (once) the template for a family, protocol and UDP payload kind.

    Packed here with :mod:`struct`, byte for byte what scapy builds for the same layers (IPv4 DF, TTL
    64, id 0; IPv6 hop limit 64; TCP SYN, window 64240, MSS 1460; the same payloads; a test compares the
    two). Importing scapy costs a probe run about 0.25 s of CPU, more than the whole run costs otherwise.
    """
    if proto == "tcp":
        l4 = struct.pack("!HHIIBBHHH", 1, 1, 0, 0, 6 << 4, TCP_SYN, 64240, 0, 0) + bytes.fromhex("020405b4")
    elif proto == "udp":
        data = DNS_QUERY if dns else PAYLOAD
        l4 = struct.pack("!HHHH", 1, 1, 8 + len(data), 0) + data
    else:
        l4 = struct.pack("!BBHHH", 8 if family == 4 else 128, 0, 0, 0, 0) + PAYLOAD
    num = ICMP6 if (family == 6 and proto == "icmp") else PROTO_NUM[proto]
    zero = bytes(4 if family == 4 else 16)
    csum_at = {"tcp": 16, "udp": 6, "icmp": 2}[proto]
    if family == 4 and proto == "icmp":
        value = checksum(l4)
    else:
        value = checksum(zero + zero + struct.pack("!HH", num, len(l4)) + l4)
    l4 = l4[:csum_at] + value.to_bytes(2, "big") + l4[csum_at + 2:]
    if family == 4:
        head = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, num, 0) + zero + zero
        head = head[:10] + checksum(head).to_bytes(2, "big") + head[12:]
    else:
        head = struct.pack("!IHBB", 6 << 28, len(l4), num, 64) + zero + zero
    return Template(family, proto, head + l4, len(head))


def build(tpl: Template, src: bytes, dst: bytes, a: int, b: int, seq: int) -> bytes:
    """Patch a copy of ``tpl``: addresses, ports (``a`` sport, ``b`` dport) or ICMP id/seq, checksums.

    For ICMP ``a`` is the echo identifier and ``b`` the echo sequence; ``seq`` is the TCP sequence number.
    """
    buf = bytearray(tpl.data)
    h = tpl.l3len
    if tpl.family == 4:
        buf[12:16], buf[16:20] = src, dst
        buf[10:12] = b"\0\0"
        buf[10:12] = checksum(bytes(buf[:20])).to_bytes(2, "big")
    else:
        buf[8:24], buf[24:40] = src, dst
    struct.pack_into("!HH", buf, h + 4 if tpl.proto == "icmp" else h, a, b)
    if tpl.proto == "tcp":
        struct.pack_into("!I", buf, h + 4, seq)
    csum_at = {"tcp": h + 16, "udp": h + 6, "icmp": h + 2}[tpl.proto]
    buf[csum_at:csum_at + 2] = b"\0\0"
    seg = bytes(buf[h:])
    if tpl.proto == "icmp" and tpl.family == 4:
        value = checksum(seg)
    else:
        value = checksum(src + dst + struct.pack("!HH", tpl.l4num, len(seg)) + seg)
        if tpl.proto == "udp" and value == 0:
            value = 0xFFFF
    buf[csum_at:csum_at + 2] = value.to_bytes(2, "big")
    return bytes(buf)


ReplyKind = Literal["syn-ack", "rst", "udp-reply", "echo-reply", "icmp-error"]


@dataclass(frozen=True)
class Reply:
    """One parsed reply; ``key`` equals the key of the probe it answers or refuses."""

    key: tuple[int, bytes, int, int]
    kind: ReplyKind
    sender: bytes
    ttl: int
    icmp: tuple[int, int] | None = None  # (type, code) for ICMP errors


def probe_key(proto: Proto, dst: bytes, a: int, b: int) -> tuple[int, bytes, int, int]:
    """Key of a probe: (protocol, destination, local port or echo id, remote port or echo seq)."""
    return PROTO_NUM[proto], dst, a, b


def l4_key(proto: int, remote: bytes, l4: bytes, outbound: bool) -> tuple[int, bytes, int, int] | None:
    """Key from the first 8 bytes of a TCP/UDP/ICMP header, as seen in a reply or in a quoted probe."""
    if len(l4) < 8:
        return None
    if proto in (6, 17):
        sport, dport = struct.unpack_from("!HH", l4)
        return (proto, remote, sport, dport) if outbound else (proto, remote, dport, sport)
    if proto in (1, ICMP6):
        ident, seq = struct.unpack_from("!HH", l4, 4)
        return 1, remote, ident, seq
    return None


def split_l3(pkt: bytes) -> tuple[int, bytes, bytes, int, bytes] | None:
    """(protocol, source, destination, ttl, L4 bytes) of an IPv4/IPv6 packet; None for non-first fragments."""
    if len(pkt) < 20:
        return None
    version = pkt[0] >> 4
    if version == 4:
        ihl = (pkt[0] & 15) * 4
        if ihl < 20 or struct.unpack_from("!H", pkt, 6)[0] & 0x1FFF:
            return None
        return pkt[9], pkt[12:16], pkt[16:20], pkt[8], pkt[ihl:]
    if version == 6 and len(pkt) >= 40:
        nxt, off = pkt[6], 40
        while nxt in (0, 43, 60, 44) and off + 8 <= len(pkt):
            if nxt == 44 and struct.unpack_from("!H", pkt, off + 2)[0] & 0xFFF8:
                return None
            nxt, off = pkt[off], off + (8 if nxt == 44 else (pkt[off + 1] + 1) * 8)
        return nxt, pkt[8:24], pkt[24:40], pkt[7], pkt[off:]
    return None


def parse_reply(pkt: bytes) -> Reply | None:
    """Parse one received L3 packet into a :class:`Reply`, or None when it cannot answer a probe."""
    parts = split_l3(pkt)
    if parts is None:
        return None
    proto, src, _dst, ttl, l4 = parts
    if proto == 6 and len(l4) >= 14:
        flags = l4[13]
        kind: ReplyKind
        if flags & TCP_RST:
            kind = "rst"
        elif flags & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK:
            kind = "syn-ack"
        else:
            return None
        key = l4_key(6, src, l4, outbound=False)
        return Reply(key, kind, src, ttl) if key else None
    if proto == 17:
        key = l4_key(17, src, l4, outbound=False)
        return Reply(key, "udp-reply", src, ttl) if key else None
    if proto in (1, ICMP6) and len(l4) >= 8:
        icmp_type, code = l4[0], l4[1]
        if (proto, icmp_type) in ((1, 0), (ICMP6, 129)):
            key = l4_key(proto, src, l4, outbound=False)
            return Reply(key, "echo-reply", src, ttl) if key else None
        if (proto, icmp_type) in ((1, 3), (1, 11), (ICMP6, 1), (ICMP6, 3)):
            inner = split_l3(l4[8:])
            if inner is None:
                return None
            iproto, _isrc, idst, _ittl, il4 = inner
            key = l4_key(iproto, idst, il4, outbound=True)
            return Reply(key, "icmp-error", src, ttl, (icmp_type, code)) if key else None
    return None


def icmp_port_unreachable(family: int, icmp: tuple[int, int]) -> bool:
    """True for 'port unreachable', which only the destination itself sends."""
    return icmp == ((3, 3) if family == 4 else (1, 4))


def describe_icmp(family: int, icmp: tuple[int, int]) -> str:
    """Short human name of an ICMP/ICMPv6 error."""
    names4 = {0: "net-unreachable", 1: "host-unreachable", 3: "port-unreachable", 9: "net-prohibited",
              10: "host-prohibited", 13: "admin-prohibited"}
    names6 = {0: "no-route", 1: "admin-prohibited", 3: "addr-unreachable", 4: "port-unreachable",
              5: "policy-failed", 6: "reject-route"}
    t, c = icmp
    if (family, t) in ((4, 11), (6, 3)):
        return "ttl-exceeded"
    return (names4 if family == 4 else names6).get(c, f"unreachable-code-{c}")


def packed(address: str) -> bytes:
    """Packed bytes of an IPv4/IPv6 address."""
    return ipaddress.ip_address(address).packed


def unpacked(raw: bytes) -> str:
    """Text form of a packed address."""
    return str(ipaddress.ip_address(raw))
