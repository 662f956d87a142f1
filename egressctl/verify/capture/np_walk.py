"""The sequential step of the numpy capture engine: find each record of a window, in Python.

Record offsets can only be found one after another, so this is the one per-packet Python loop of the numpy
path; it collects per-packet columns (offset, captured and wire length, timestamp, link type, interface)
that :mod:`np_engine` then parses vectorised. pcap header fields are read vectorised once the offsets are
known. Stop reasons and limits are exactly ``engine.c``'s.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from egressctl.verify.capture import defs as d

Arr = np.ndarray[Any, Any]
BATCH = 1 << 18  # packets per run(): bounds the temporaries of one vectorised pass


def _u32(buf: Arr, i: Arr, swap: bool) -> Arr:
    """Unsigned 32-bit file fields (host order unless ``swap``) as int64."""
    b = [buf[i + k].astype(np.int64) for k in range(4)]
    if swap:
        b.reverse()
    return np.asarray(b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24))


def _ts_ng(iface: d.Iface, hi: int, lo: int) -> int:
    v = (((hi << 32) | lo) * iface.ts_mul // iface.ts_div) & 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= 1 << 63 else v


class Batch:
    """Per-packet columns collected by the walk."""

    def __init__(self) -> None:
        # off, caplen, wirelen, ts, linktype, iface
        self.cols: tuple[list[int], ...] = ([], [], [], [], [], [])
        self.arrays: tuple[Arr, ...] | None = None  # the same columns, when a walker built them vectorised

    def add(self, *vals: int) -> None:
        """Append one packet's columns (walkers that go record by record)."""
        for col, v in zip(self.cols, vals, strict=True):
            col.append(v)

    def columns(self) -> tuple[Arr, ...]:
        """The columns as int64 arrays, in the order of ``cols``."""
        if self.arrays is not None:
            return self.arrays
        return tuple(np.array(c, dtype=np.int64) for c in self.cols)

    def __len__(self) -> int:
        return len(self.arrays[0]) if self.arrays is not None else len(self.cols[0])


def walk_pcap(win: d.Window, ctx: d.Context, ifaces: list[d.Iface], batch: Batch) -> tuple[int, int]:
    """Only the sequential step runs in Python (record lengths); header fields are read vectorised."""
    incl_at = struct.Struct(">I" if ctx.swap else "<I").unpack_from
    mv, n, pos = win.mv, len(win.mv), win.pos
    starts: list[int] = []
    add = starts.append
    reason = d.OUT_FULL
    while len(starts) < BATCH:
        if n - pos < 16:
            reason = d.NEED_DATA
            break
        incl = incl_at(mv, pos + 8)[0]
        if incl > d.MAX_PCAP_RECORD:
            reason = d.CORRUPT
            break
        if n - pos < 16 + incl:
            reason = d.NEED_DATA
            break
        add(pos)
        pos += 16 + incl
    if starts:
        at = np.array(starts, dtype=np.int64)
        sec, frac, incl_v, orig = (_u32(win.array, at + k, ctx.swap) for k in (0, 4, 8, 12))
        f = ifaces[0]
        batch.arrays = (at + 16, incl_v, orig, sec * 1_000_000_000 + frac * f.ts_mul,
                        np.full(len(at), f.linktype, dtype=np.int64), np.zeros(len(at), dtype=np.int64))
    return reason, pos

def walk_ng(win: d.Window, ctx: d.Context, ifaces: list[d.Iface], batch: Batch) -> tuple[int, int]:
    """Pcapng blocks: packets (EPB, SPB, obsolete PB) into ``batch``; section/interface blocks stop."""
    e = ">" if ctx.swap else "<"
    u32, two, epb, opb = (struct.Struct(e + f).unpack_from for f in ("I", "II", "IIIII", "HHIIII"))
    mv, n, pos = win.mv, len(win.mv), win.pos
    while len(batch) < BATCH:
        if n - pos < 8:
            return d.NEED_DATA, pos
        btype, blen = two(mv, pos)
        if btype == d.SHB_TYPE:
            return d.BLOCK, pos
        if blen < 12 or blen & 3 or blen > d.MAX_BLOCK:
            return d.CORRUPT, pos
        if n - pos < blen:
            return d.NEED_DATA, pos
        if u32(mv, pos + blen - 4)[0] != blen:
            return d.CORRUPT, pos
        if btype == 1:
            return d.BLOCK, pos
        if btype in (6, 2):
            if blen < 32:
                return d.CORRUPT, pos
            if btype == 6:
                ifid, hi, lo, caplen, wire = epb(mv, pos + 8)
            else:
                ifid, _drops, hi, lo, caplen, wire = opb(mv, pos + 8)
            if caplen > blen - 32:
                return d.CORRUPT, pos
            if ifid >= len(ifaces):
                bad_iface(ctx, wire)
            else:
                f = ifaces[ifid]
                batch.add(pos + 28, caplen, wire, _ts_ng(f, hi, lo), f.linktype, ifid)
        elif btype == 3:
            if blen < 16:
                return d.CORRUPT, pos
            wire = u32(mv, pos + 8)[0]
            caplen = min(blen - 16, wire)
            if not ifaces:
                bad_iface(ctx, wire)
            else:
                f = ifaces[0]
                if 0 < f.snaplen < caplen:
                    caplen = f.snaplen
                batch.add(pos + 12, caplen, wire, 0, f.linktype, 0)
        pos += blen
    return d.OUT_FULL, pos

def bad_iface(ctx: d.Context, wire: int) -> None:
    """Count a packet of an interface the section never described (unverified)."""
    for name, inc in (("packets", 1), ("bytes", wire), ("interface", 1)):
        ctx.counters[d.C[name]] += inc
