"""The capture engines' reference: packets judged one at a time by the Python parser and the scalar matcher.

The C capture engine and the numpy engine are fast because they are not simple; this is the simple
version of the same contract, built from the two definitions everything else must agree with:
:func:`egressctl.verify.pktparse.parse` (the reference of ``pktparse.h``) and
:meth:`egressctl.verify.matcher.CompiledPolicy.code` (the scalar lookup). Tests write a packet list with
:func:`pcapng`, scan it with each engine, and demand the counters, rule hits and leak records of
:func:`judge`, byte for byte.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from egressctl.verify import pktparse
from egressctl.verify.capture import defs
from egressctl.verify.matcher import LEAK, CompiledPolicy

Packet = tuple[int, bytes]  # (pcap link type, captured bytes); the wire length is the captured length
_STATUS_COUNTER = {pktparse.NON_IP: "non_ip", pktparse.TRUNCATED: "truncated", pktparse.FRAGMENT: "fragment",
                   pktparse.MALFORMED: "malformed", pktparse.LINKTYPE: "linktype"}


def _block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def interfaces(packets: Sequence[Packet]) -> list[int]:
    """Link types in order of first use: the pcapng interface ids :func:`pcapng` gives them."""
    return list(dict.fromkeys(lt for lt, _ in packets))


def pcapng(packets: Sequence[Packet]) -> bytes:
    """A well-formed pcapng: one interface per link type, one EPB per packet at ``index`` microseconds."""
    ifaces = interfaces(packets)
    out = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += b"".join(_block(1, struct.pack("<HHI", lt, 0, 0)) for lt in ifaces)
    for i, (lt, data) in enumerate(packets):
        out += _block(6, struct.pack("<IIIII", ifaces.index(lt), 0, i, len(data), len(data)) + data)
    return out


def pcap_packets(path: Path) -> Iterator[Packet]:
    """The packets of a little-endian microsecond pcap file (the capture generator's default)."""
    raw = path.read_bytes()
    linktype = struct.unpack_from("<I", raw, 20)[0] & 0xFFFF
    pos = 24
    while pos + 16 <= len(raw):
        incl = struct.unpack_from("<I", raw, pos + 8)[0]
        yield linktype, raw[pos + 16:pos + 16 + incl]
        pos += 16 + incl


class Judge:
    """Counters, rule hits and leak records of a packet list, exactly as the engines must report them."""

    def __init__(self, cp: CompiledPolicy, packets: Sequence[Packet]) -> None:
        self.cp, self.ifaces = cp, interfaces(packets)
        self.counters = dict.fromkeys(defs.COUNTERS, 0)
        self.rule_hits = [0] * max(1, len(cp.rule_names))
        self.leaks: list[tuple[Any, ...]] = []
        for i, packet in enumerate(packets):
            self.packet(i, *packet)

    def packet(self, index: int, linktype: int, data: bytes) -> None:
        """One packet, in the order of ``engine.c``'s ``packet()``: parse, subject, status, verdict."""
        c = self.counters
        c["packets"] += 1
        c["bytes"] += len(data)
        r = pktparse.parse(data, linktype)
        if r.tags:
            c["vlan"] += 1
        if not r.family:
            c[_STATUS_COUNTER[r.status]] += 1
            return
        c["ipv4" if r.family == 4 else "ipv6"] += 1
        if not self.cp.inside(r.family, r.src) or self.cp.inside(r.family, r.dst):
            c["not_subject"] += 1
        elif r.status != pktparse.OK:
            c[_STATUS_COUNTER[r.status]] += 1
        else:
            self.verdict(index, linktype, data, r)

    def verdict(self, index: int, linktype: int, data: bytes, r: pktparse.Parsed) -> None:
        """A parsed packet leaving the site: permitted (which rule) or a leak record."""
        c = self.counters
        c["subject"] += 1
        if self.cp.is_normal:
            c["permitted"] += 1
            return
        code = self.cp.code(r.family, r.proto, r.src, r.dst, r.sport, r.dport)
        if code != LEAK:
            c["permitted"] += 1
            self.rule_hits[code] += 1
            return
        q = pktparse.quote(r, data)
        if q is not None and self.cp.related(r.family, q.proto, q.src, q.dst, q.sport, q.dport):
            c["related"] += 1  # an ICMP error of an allowed flow: not a leak
            return
        c["leaks"] += 1
        c["leak_bytes"] += len(data)
        src, dst = r.address_bytes(data)
        self.leaks.append((index * 1000, len(data), r.sport, r.dport, r.family, r.proto,
                           self.ifaces.index(linktype), src.ljust(16, b"\0"), dst.ljust(16, b"\0"), 0))

    def records(self) -> np.ndarray[Any, Any]:
        """The leak records in the engines' binary layout (``LEAK_DTYPE``), in packet order."""
        out = np.zeros(len(self.leaks), dtype=defs.LEAK_DTYPE)
        for i, (ts, wire, sp, dp, fam, proto, iface, src, dst, pad) in enumerate(self.leaks):
            out[i] = (ts, wire, sp, dp, fam, proto, iface, np.frombuffer(src, np.uint8),
                      np.frombuffer(dst, np.uint8), pad)
        return out
