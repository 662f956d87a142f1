"""Where to cut a capture so that threads can analyse its parts: guessed record boundaries.

A pcap record's place is known only from the previous record's length, and a pcapng block's from the
previous block's, so finding the true boundaries means reading the whole file once more, one cache miss
per record: as slow as the analysis itself. Instead each cut is a guess made near an even split
(``resync.c``: the first offset from which 16 records in a row parse plausibly) and proven afterwards by
the thread that analyses the part before it (:mod:`parallel`), which must end exactly on it.

pcapng parts after the first also need the section state at their start (byte order, interfaces): they
assume the state of the file's opening blocks (:func:`prologue`); that too is proven, by the state the
previous part ends in.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any

from egressctl.verify.capture import c_engine
from egressctl.verify.capture import defs as d

CHAIN = 16                                 # records in a row that must parse from a guessed cut
SEARCH = (256 << 10, 16 << 20)             # bytes read to look for a cut: a first try, then a wide one
TS_SLACK = 1 << 26                         # pcap: a record within ~2 years of the first one is plausible
PROLOGUE_READ = 1 << 20                    # pcapng: the opening blocks are looked for in the first MiB


@dataclass
class Start:
    """Where a part starts and the state the walk must have there."""

    pos: int
    swap: bool
    ifaces: list[d.Iface] = field(default_factory=list)


def prologue(fd: int, walker: Any) -> Start:
    """pcapng: the state after the file's opening section header and interface blocks (via ``walker``).

    ``walker`` is a fresh ``scan._Walker`` whose ``block`` parses those blocks into its context and
    interfaces; whatever it cannot read (a damaged or oversized block) ends the prologue early, which at
    worst makes the next part's assumption wrong and is then caught like any wrong guess.
    """
    head = os.pread(fd, PROLOGUE_READ, 0)
    mv, pos = memoryview(head), 0
    try:
        while len(head) - pos >= 12:
            btype = struct.unpack_from(">I" if walker.ctx.swap else "<I", head, pos)[0]
            if btype not in (d.SHB_TYPE, 1):
                break
            nxt = walker.block(mv, pos)
            if nxt is None:
                break
            pos = nxt
    except Exception:  # any damage: the parts' proof decides, as for a wrong guess
        pos = 0
    return Start(pos, walker.ctx.swap, list(walker.ifaces))


def _sync(fmt: int, first: Start, fd: int, snaplen: int) -> c_engine.Sync | None:
    """The plausibility bounds for ``eg_resync``, or None when the file gives nothing to go by."""
    q = c_engine.Sync(format=fmt, swap=int(first.swap), chain=CHAIN, n_ifaces=len(first.ifaces),
                      max_caplen=snaplen if 0 < snaplen <= d.MAX_PCAP_RECORD else d.MAX_PCAP_RECORD)
    if fmt == d.PCAP:
        rec = os.pread(fd, 16, first.pos)
        if len(rec) < 16:
            return None
        sec = struct.unpack_from(">I" if first.swap else "<I", rec)[0]
        q.frac_max = 1_000_000 if first.ifaces[0].ts_mul == 1000 else 1_000_000_000
        q.ts_lo, q.ts_hi = max(1, sec - TS_SLACK), sec + TS_SLACK
    elif not first.ifaces:
        return None
    return q


def _cut_near(fd: int, at: int, size: int, q: c_engine.Sync) -> int | None:
    """The first plausible record start at or after ``at``, or None."""
    for span in SEARCH:
        buf = os.pread(fd, span, at)
        q.at_eof = int(at + len(buf) >= size)
        found = c_engine.resync(buf, 0, len(buf), q)
        if found >= 0:
            return at + found
        if q.at_eof:
            return None
    return None


def plan(fd: int, size: int, fmt: int, first: Start, snaplen: int, parts: int) -> list[int]:
    """Guessed cuts for about ``parts`` equal parts after ``first`` (increasing; fewer when none is found)."""
    q = _sync(fmt, first, fd, snaplen)
    if q is None or parts < 2:
        return []
    cuts: list[int] = []
    span = size - first.pos
    for k in range(1, parts):
        at = first.pos + span * k // parts
        at -= at % 4  # pcapng blocks start 4-byte aligned from the start of the file
        cut = _cut_near(fd, at, size, q)
        if cut is not None and cut > (cuts[-1] if cuts else first.pos) and cut < size:
            cuts.append(cut)
    return cuts
