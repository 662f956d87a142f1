"""Pure-Python twin of ``ring_walk.c``: the same records from a TPACKET_V3 block, or from one frame.

Frames are parsed by :mod:`egressctl.verify.pktparse` (the reference of the parser the C walker includes),
so this walker and the C one differ only in speed. Used when the C helper is not built, and by the tests to
parse frames built by scapy without a live ring.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from egressctl.verify import pktparse
from egressctl.verify.watch.records import FIELDS, RECORD, S_MALFORMED

TP_STATUS_VLAN_VALID = 1 << 4
_U64 = (1 << 64) - 1


def parse_frame(frame: bytes, vlan: int | None = None, wirelen: int | None = None,
                ts_ns: int = 0) -> dict[str, int]:
    """One record (as a dict of RECORD fields) for an Ethernet frame; ``vlan`` = a tag the kernel stripped."""
    p = pktparse.parse(frame, pktparse.ETHERNET, vlan)
    r = dict.fromkeys(FIELDS, 0)
    r.update(ts_ns=ts_ns, wirelen=len(frame) if wirelen is None else wirelen, status=p.status,
             family=p.family, proto=p.proto, sport=p.sport, dport=p.dport, vlan=p.vlan, vflag=p.vflag,
             src_h=p.src >> 64, src_l=p.src & _U64, dst_h=p.dst >> 64, dst_l=p.dst & _U64)
    q = pktparse.quote(p, frame)
    if q is not None:
        r.update(quote=1, q_proto=q.proto, q_dst_h=q.dst >> 64, q_dst_l=q.dst & _U64, q_sport=q.sport,
                 q_dport=q.dport)
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
        vlan = tci & 0x0FFF if status & TP_STATUS_VLAN_VALID else None
        ts = sec * 1_000_000_000 + nsec
        if off + mac + snap > len(b):
            r = dict.fromkeys(FIELDS, 0)
            r.update(ts_ns=ts, wirelen=length, status=S_MALFORMED, vflag=int(vlan is not None),
                     vlan=vlan or 0)
        else:
            r = parse_frame(b[off + mac:off + mac + snap], vlan, length, ts)
        rows.append(r)
        if nxt == 0:
            break
        off += nxt
    return records(rows)

