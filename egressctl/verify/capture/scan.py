"""Capture file walking: pcap and pcapng over bounded memory-mapped windows, with a pluggable engine.

Memory must not grow with the file: the file is mapped one window at a time (``WINDOW`` bytes, moved
forward as records are consumed, enlarged only for a single record larger than the window) and each
window is unmapped before the next, so resident memory stays near one window whatever the file's size.
Leak records leave the engine in bounded batches through the ``on_leaks`` callback.

File-level structure (pcap global header, pcapng section headers and interface descriptions, byte
order, timestamp resolution) is parsed here in Python; per-record work is the engine's
(``c_engine.CEngine`` or ``np_engine.NumpyEngine``, same results). A walk covers the whole file or, for
:mod:`parallel`, one part of it: it then stops at the part's end, and says whether it landed exactly there.

numpy is imported only with the numpy engine (or for records handed to ``on_leaks``): the C path of
``verify --pcap`` starts faster without it.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from egressctl.errors import VerificationError
from egressctl.verify.capture import c_engine
from egressctl.verify.capture import defs as d
from egressctl.verify.matcher import CompiledPolicy

WINDOW = 32 << 20
EngineName = Literal["auto", "c", "numpy"]
PCAP_MAGIC = {0xA1B2C3D4: 1000, 0xA1B23C4D: 1}  # magic -> timestamp fraction to ns
# Linux 5.14+: map a whole window's pages in one call rather than one fault per 16 pages (measured: the
# walk 3-7% faster); older kernels refuse it (EINVAL) and the pages are faulted in as they are read.
MADV_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22) if sys.platform == "linux" else None


@dataclass
class ScanResult:
    """Raw totals of one scan (``offline.py`` turns them into a report)."""

    engine: str
    fmt: str
    counters: dict[str, int]
    rule_hits: list[int]
    errors: list[str] = field(default_factory=list)
    unread_bytes: int = 0


def use_c(engine: EngineName) -> bool:
    """Whether ``engine`` means the C engine (``auto``: when this install has it)."""
    return engine == "c" or (engine == "auto" and c_engine.available())


def make_engine(cp: CompiledPolicy, engine: EngineName = "auto") -> d.Engine:
    """The C engine when requested or available (``auto``), else the numpy one."""
    if use_c(engine):
        return c_engine.CEngine(cp)
    from egressctl.verify.capture.np_engine import NumpyEngine

    return NumpyEngine(cp)


def _idb(body: memoryview, e: str) -> d.Iface:
    """Parse an interface description block body (after type and length)."""
    linktype, _res, snaplen = struct.unpack_from(e + "HHI", body, 0)
    mul, div = 1000, 1  # default resolution: microseconds
    pos = 8
    while pos + 4 <= len(body):
        code, olen = struct.unpack_from(e + "HH", body, pos)
        if code == 0:
            break
        if code == 9 and olen >= 1:
            v = body[pos + 4]
            exp = v & 0x7F
            if v & 0x80:
                mul, div = 1_000_000_000, 1 << exp
            elif exp <= 9:
                mul, div = 10 ** (9 - exp), 1
            else:
                mul, div = 1, 10 ** (exp - 9)
        pos += 4 + ((olen + 3) & ~3)
    return d.Iface(linktype, snaplen, mul, div)


class Walker:
    """Walks one file through windows, feeding the engine and handling file-level blocks."""

    def __init__(self, path: Path, engine: d.Engine, ctx: d.Context, on_leaks: Callable[[Any], None],
                 window: int) -> None:
        self.path, self.engine, self.ctx, self.on_leaks = path, engine, ctx, on_leaks
        self.window = window
        self.ifaces: list[d.Iface] = []
        self.errors: list[str] = []
        self.unread = 0
        self.end = 0  # where the walk stopped

    def header(self, f: Any, size: int) -> tuple[str, int]:
        """Parse the file header; returns (format name, first record offset)."""
        head = f.read(24)
        if len(head) < 4:
            raise VerificationError(f"{self.path}: too short for a capture file ({size} bytes)")
        (magic_le,) = struct.unpack("<I", head[:4])
        if magic_le == d.SHB_TYPE:
            self.ctx.fmt = d.PCAPNG
            return "pcapng", 0
        for swap, fmt in ((False, "<I"), (True, ">I")):
            (magic,) = struct.unpack(fmt, head[:4])
            if magic in PCAP_MAGIC:
                if len(head) < 24:
                    raise VerificationError(f"{self.path}: truncated pcap header")
                e = ">" if swap else "<"
                snaplen, linktype = struct.unpack_from(e + "II", head, 16)
                self.ctx.fmt, self.ctx.swap = d.PCAP, swap
                self.set_ifaces([d.Iface(linktype & 0xFFFF, snaplen, PCAP_MAGIC[magic], 1)])
                return "pcap", 24
        raise VerificationError(f"{self.path}: not a pcap or pcapng file (magic {head[:4].hex()})")

    def set_ifaces(self, ifaces: list[d.Iface]) -> None:
        """The interfaces in effect (a part of the file resumes with those its start assumes)."""
        self.ifaces = ifaces
        self.engine.set_ifaces(ifaces)

    def block(self, mv: memoryview, pos: int) -> int | None:
        """Handle a pcapng SHB or IDB at ``pos``; new position, or None if it does not fit the window."""
        if len(mv) - pos < 12:
            return None
        btype = struct.unpack_from(">I" if self.ctx.swap else "<I", mv, pos)[0]
        if btype == d.SHB_TYPE:  # palindromic: readable before the byte order is known
            bom = struct.unpack_from("<I", mv, pos + 8)[0]
            if bom not in (0x1A2B3C4D, 0x4D3C2B1A):
                raise _Corrupt(pos, "bad byte-order magic in section header")
            self.ctx.swap = bom != 0x1A2B3C4D
            self.set_ifaces([])
        e = ">" if self.ctx.swap else "<"
        blen: int = struct.unpack_from(e + "I", mv, pos + 4)[0]
        if blen < 12 or blen & 3 or blen > d.MAX_BLOCK:
            raise _Corrupt(pos, f"bad block length {blen}")
        if len(mv) - pos < blen:
            return None
        if btype == 1:
            if blen < 20:
                raise _Corrupt(pos, "interface description block too short")
            self.set_ifaces([*self.ifaces, _idb(mv[pos + 8: pos + blen - 4], e)])
        return pos + blen

    def walk(self, f: Any, start: int, size: int, stop: int | None = None) -> None:
        """Process records from ``start`` (a record boundary) to ``stop`` (default: the end of the file).

        A record that does not end by ``stop`` is the file's truncated tail when ``stop`` is the end of the
        file; before that, it means ``stop`` is not a record boundary, and ``end`` stays short of ``stop``.
        """
        stop = size if stop is None else stop
        pos, window = start, self.window
        while pos < stop:
            base = pos - pos % mmap.ALLOCATIONGRANULARITY
            wlen = min(max(window, pos - base + 1), stop - base)
            try:
                new, reason = self._window(f, base, wlen, pos)
            except _Corrupt as exc:
                self.errors.append(f"offset {base + exc.pos}: {exc.why}; the rest of the file was not read")
                self.unread = size - (base + exc.pos)
                self.end = base + exc.pos
                return
            if reason == d.NEED_DATA and new < stop:
                if base + wlen >= stop:
                    self.end = new
                    if stop == size:
                        self._truncated(new, size)
                    return
                if new == pos:
                    window *= 2  # one record larger than the window
            if new > pos:
                window = self.window
            pos = new
        self.end = pos

    def _truncated(self, pos: int, size: int) -> None:
        self.errors.append(f"offset {pos}: file ends inside a record (truncated capture)")
        self.unread = size - pos
        self.ctx.counters[d.C["truncated"]] += 1
        self.ctx.counters[d.C["packets"]] += 1

    def _window(self, f: Any, base: int, wlen: int, pos: int) -> tuple[int, int]:
        # A private mapping is writable, so ctypes can take its address; nothing ever writes to it, so
        # its pages stay the page cache's own.
        mm = mmap.mmap(f.fileno(), wlen, offset=base, access=mmap.ACCESS_COPY)
        try:
            if hasattr(mm, "madvise"):
                mm.madvise(mmap.MADV_SEQUENTIAL)
                if MADV_POPULATE_READ is not None:
                    with contextlib.suppress(OSError):
                        mm.madvise(MADV_POPULATE_READ)
            cview = (ctypes.c_char * wlen).from_buffer(mm)
            win = d.Window(memoryview(mm), ctypes.addressof(cview), pos - base)
            try:
                local, reason = self._run(win)
                return base + local, reason
            finally:
                win.array = None
                win.mv.release()
                del cview
        finally:
            # BufferError only when an exception still references the window; GC unmaps it later.
            with contextlib.suppress(BufferError):
                mm.close()

    def _run(self, win: d.Window) -> tuple[int, int]:
        while True:
            reason, win.pos, leaks = self.engine.run(win, self.ctx)
            if len(leaks):
                self.on_leaks(leaks)
            if reason == d.OUT_FULL:
                continue
            if reason == d.BLOCK:
                nxt = self.block(win.mv, win.pos)
                if nxt is None:
                    return win.pos, d.NEED_DATA
                win.pos = nxt
                continue
            if reason == d.CORRUPT:
                raise _Corrupt(win.pos, "corrupt record or block")
            if reason == d.NO_MEMORY:
                raise MemoryError("the capture engine ran out of memory")
            return win.pos, reason


class _Corrupt(Exception):
    def __init__(self, pos: int, why: str) -> None:
        super().__init__(why)
        self.pos, self.why = pos, why


def open_capture(path: str | Path) -> Any:
    """The capture file opened for reading (binary).

    Raises:
        VerificationError: it cannot be opened.
    """
    p = Path(path)
    try:
        return p.open("rb")
    except OSError as exc:
        raise VerificationError(f"cannot open capture {p}: {exc.strerror}") from exc


def result(engine: str, fmt: str, ctx: d.Context, n_rules: int, errors: list[str], unread: int) -> ScanResult:
    """A scan's totals from its counters."""
    return ScanResult(engine, fmt, {n: int(ctx.counters[i]) for i, n in enumerate(d.COUNTERS)},
                      [int(x) for x in ctx.rule_hits[:n_rules]], errors, unread)


def _records(on_leaks: Callable[[Any], None]) -> Callable[[Any], None]:
    """``on_leaks`` fed numpy ``LEAK_DTYPE`` arrays whichever engine produced the records."""
    def deliver(leaks: Any) -> None:
        if len(leaks):
            if isinstance(leaks, bytes):
                import numpy as np

                leaks = np.frombuffer(leaks, dtype=d.LEAK_DTYPE)
            on_leaks(leaks)

    return deliver


def scan(path: str | Path, cp: CompiledPolicy, on_leaks: Callable[[Any], None], *,
         engine: EngineName = "auto", window: int = WINDOW) -> ScanResult:
    """Check every packet of a pcap/pcapng file against ``cp``; leak records go to ``on_leaks`` in batches.

    One thread, leak records as numpy arrays: the reference walk (tests, the numpy engine). ``verify
    --pcap`` runs :func:`parallel.scan_flows`, same totals.

    Raises:
        VerificationError: the file cannot be opened or is not a capture file at all. Damage inside the
            file is not an exception: it is counted (unverified) and described in ``errors``.
    """
    p = Path(path)
    eng = make_engine(cp, engine)
    ctx = d.Context.new(len(cp.rule_names))
    with open_capture(p) as f:
        size = os.fstat(f.fileno()).st_size
        walker = Walker(p, eng, ctx, _records(on_leaks), window)
        fmt, start = walker.header(f, size)
        walker.walk(f, start, size)
    return result(eng.name, fmt, ctx, len(cp.rule_names), walker.errors, walker.unread)
