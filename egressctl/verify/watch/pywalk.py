"""Pure-Python twin of ``ring_walk.c``: the same records from a TPACKET_V3 block, or from one frame.

Used when no C compiler is available (slower, same results; the tests compare both), and by the tests to
parse frames built by scapy without a live ring.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from egressctl.verify.watch.records import (
    FIELDS,
    RECORD,
    S_FRAGMENT,
    S_MALFORMED,
    S_NON_IP,
    S_OK,
    S_TRUNCATED,
)

_V6_EXT = (0, 43, 44, 51, 60, 135, 139, 140)
_VLAN = (0x8100, 0x88A8, 0x9100)
TP_STATUS_VLAN_VALID = 1 << 4


def _ports(r: dict[str, int], l4: bytes) -> None:
    if r["proto"] in (6, 17):
        if len(l4) < 4:
            r["status"] = S_TRUNCATED
            return
        r["sport"], r["dport"] = struct.unpack_from("!HH", l4)


def _ipv4(r: dict[str, int], p: bytes) -> None:
    if len(p) < 20:
        r["status"] = S_TRUNCATED
        return
    ihl = (p[0] & 15) * 4
    if p[0] >> 4 != 4 or ihl < 20:
        r["status"] = S_MALFORMED
        return
    r.update(family=4, proto=p[9], src_l=int.from_bytes(p[12:16], "big"),
             dst_l=int.from_bytes(p[16:20], "big"))
    if struct.unpack_from("!H", p, 6)[0] & 0x1FFF:
        r["status"] = S_FRAGMENT
    elif len(p) < ihl:
        r["status"] = S_TRUNCATED
    else:
        _ports(r, p[ihl:])


def _ipv6(r: dict[str, int], p: bytes) -> None:
    if len(p) < 40:
        r["status"] = S_TRUNCATED
        return
    if p[0] >> 4 != 6:
        r["status"] = S_MALFORMED
        return
    src_h, src_l, dst_h, dst_l = struct.unpack_from("!QQQQ", p, 8)
    r.update(family=6, src_h=src_h, src_l=src_l, dst_h=dst_h, dst_l=dst_l)
    nh, pos = p[6], 40
    for i in range(17):
        if nh not in _V6_EXT:
            break
        if i >= 16:
            r["status"] = S_MALFORMED
            return
        if len(p) < pos + 8:
            r.update(proto=nh, status=S_TRUNCATED)
            return
        nxt = p[pos]
        if nh == 44:
            if struct.unpack_from("!H", p, pos + 2)[0] & 0xFFF8:
                r.update(proto=nxt, status=S_FRAGMENT)
                return
            pos += 8
        elif nh == 51:
            pos += (p[pos + 1] + 2) * 4
        else:
            pos += (p[pos + 1] + 1) * 8
        nh = nxt
    r["proto"] = nh
    if len(p) < pos:
        r["status"] = S_TRUNCATED
    else:
        _ports(r, p[pos:])


def parse_frame(frame: bytes, vlan: int | None = None, wirelen: int | None = None,
                ts_ns: int = 0) -> dict[str, int]:
    """One record (as a dict of RECORD fields) for an Ethernet frame; ``vlan`` = a tag the kernel stripped."""
    r = dict.fromkeys(FIELDS, 0)
    r.update(ts_ns=ts_ns, wirelen=len(frame) if wirelen is None else wirelen, status=S_OK)
    if vlan is not None:
        r.update(vflag=1, vlan=vlan & 0x0FFF)
    if len(frame) < 14:
        r["status"] = S_TRUNCATED
        return r
    et, off, tags = struct.unpack_from("!H", frame, 12)[0], 14, 0
    while et in _VLAN:
        tags += 1
        if tags > 8:
            r["status"] = S_MALFORMED
            return r
        if len(frame) < off + 4:
            r["status"] = S_TRUNCATED
            return r
        if not r["vflag"]:
            r.update(vflag=1, vlan=struct.unpack_from("!H", frame, off)[0] & 0x0FFF)
        et = struct.unpack_from("!H", frame, off + 2)[0]
        off += 4
    if et == 0x0800:
        _ipv4(r, frame[off:])
    elif et == 0x86DD:
        _ipv6(r, frame[off:])
    else:
        r["status"] = S_NON_IP
    return r


def records(rows: list[dict[str, int]]) -> np.ndarray[Any, Any]:
    """RECORD array from parsed dicts."""
    out = np.zeros(len(rows), dtype=RECORD)
    for i, r in enumerate(rows):
        out[i] = tuple(r[name] for name in FIELDS)
    return out


def walk_block_py(block: memoryview) -> np.ndarray[Any, Any] | None:
    """Records of one TPACKET_V3 block (None when malformed), like ``wr_block`` in C."""
    b = bytes(block)
    if len(b) < 48:
        return None
    num, off = struct.unpack_from("=II", b, 12)
    rows: list[dict[str, int]] = []
    for _ in range(num):
        if off < 48 or off + 48 > len(b):
            return None
        nxt, sec, nsec, snap, length, status, mac = struct.unpack_from("=IIIIIIH", b, off)
        tci = struct.unpack_from("=I", b, off + 32)[0]
        vlan = tci if status & TP_STATUS_VLAN_VALID else None
        if off + mac + snap > len(b):
            r = dict.fromkeys(FIELDS, 0)
            r.update(wirelen=length, status=S_MALFORMED)
        else:
            r = parse_frame(b[off + mac:off + mac + snap], vlan, length, sec * 1_000_000_000 + nsec)
        rows.append(r)
        if nxt == 0:
            break
        off += nxt
    return records(rows)
