"""The C capture engine (``engine.c``, an optional extension built at install time), driven via ctypes.

Why C and not more numpy: a capture's record offsets can only be found sequentially, and numpy's parse
touches each packet a dozen times; one compiled pass that walks, parses and looks up keeps each packet in
cache once and runs several times faster than ``tcpdump`` with a filter. The library is the extension
module ``egressctl.verify.capture._engine`` of this install, found and opened by :mod:`..native`; an
install built without a compiler has none, and ``scan`` then runs the numpy engine.

No numpy here: the policy tables are handed to C as :mod:`array` buffers built from the compiled
policy's lists, and ctypes calls release the GIL, so threads analysing parts of one file run in parallel.
"""

from __future__ import annotations

import ctypes
from array import array
from typing import Any

from egressctl.verify import native
from egressctl.verify.capture import defs as eng
from egressctl.verify.match_tables import FamilyTables
from egressctl.verify.matcher import CompiledPolicy

MODULE = "egressctl.verify.capture._engine"
OUT_CAP = 1 << 16  # leak records per call before control returns to Python to drain them
U64 = (1 << 64) - 1

P = ctypes.c_void_p
I64 = ctypes.c_int64


class _Family(ctypes.Structure):
    _fields_ = [(n, P) for n in ("inside_lo", "inside_hi", "bounds", "interval_class", "class_start",
                                 "class_len", "proto", "src_lo", "src_hi", "sp_lo", "sp_hi", "dp_lo",
                                 "dp_hi", "code")] + [("n_inside", I64), ("n_bounds", I64)]


class _Policy(ctypes.Structure):
    _fields_ = [("fam", _Family * 2), ("is_normal", I64)]


class _Iface(ctypes.Structure):
    _fields_ = [("linktype", I64), ("snaplen", I64), ("ts_mul", I64), ("ts_div", I64)]


class _State(ctypes.Structure):
    _fields_ = [("buf", P), ("len", I64), ("pos", I64), ("format", I64), ("swap", I64), ("ifaces", P),
                ("n_ifaces", I64), ("counters", P), ("rule_hits", P), ("out", P), ("out_cap", I64),
                ("out_n", I64), ("flows", P), ("no_memory", I64)]


class Sync(ctypes.Structure):
    """What ``eg_resync`` needs to recognise a record start (see ``resync.c``)."""

    _fields_ = [(n, I64) for n in ("format", "swap", "max_caplen", "frac_max", "ts_lo", "ts_hi", "n_ifaces",
                                   "chain", "at_eof")]


class Flow(ctypes.Structure):
    """One leak flow as ``flows.c`` exports it (``eg_flow``)."""

    _fields_ = [("family", ctypes.c_uint8), ("proto", ctypes.c_uint8), ("sport", ctypes.c_uint16),
                ("dport", ctypes.c_uint16), ("pad", ctypes.c_uint16), ("src", ctypes.c_uint8 * 16),
                ("dst", ctypes.c_uint8 * 16), ("packets", ctypes.c_uint64), ("bytes", ctypes.c_uint64),
                ("first_ns", I64), ("last_ns", I64)]


_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "eg_run": (I64, [ctypes.POINTER(_State), ctypes.POINTER(_Policy)]),
    "eg_flows_new": (P, []),
    "eg_flows_free": (None, [P]),
    "eg_flows_len": (I64, [P]),
    "eg_flows_merge": (I64, [P, P]),
    "eg_flows_export": (I64, [P, P, I64]),
    "eg_resync": (I64, [ctypes.c_char_p, I64, I64, I64, ctypes.POINTER(Sync)]),
}


def _check(lib: ctypes.CDLL) -> bool:
    """Declare the C signatures; True when the library's struct sizes are this module's."""
    for fn, (res, args) in _SIGNATURES.items():
        getattr(lib, fn).restype = res
        getattr(lib, fn).argtypes = args
    ours = {"eg_record_size": eng.LEAK_SIZE, "eg_state_size": ctypes.sizeof(_State),
            "eg_policy_size": ctypes.sizeof(_Policy), "eg_flow_size": ctypes.sizeof(Flow),
            "eg_sync_size": ctypes.sizeof(Sync), "eg_counter_count": len(eng.COUNTERS)}
    for fn, size in ours.items():
        if not hasattr(lib, fn):
            return False
        getattr(lib, fn).restype = I64
        if getattr(lib, fn)() != size:
            return False
    return True


def library() -> ctypes.CDLL | None:
    """The engine built into this install, or None (warned about once per process)."""
    return native.load(MODULE, "the C capture engine", "capture analysis runs the numpy path", _check)


def available() -> bool:
    """Whether this install has the C engine."""
    return library() is not None


def need_library() -> ctypes.CDLL:
    """The engine, or RuntimeError when this install has none."""
    lib = library()
    if lib is None:
        raise RuntimeError(f"the C capture engine is not built in this install ({MODULE})")
    return lib


def _pairs(values: list[int]) -> array[int]:
    """128-bit values as (low, high) uint64 pairs, the layout the C side reads."""
    out = array("Q")
    for v in values:
        out.append(v & U64)
        out.append(v >> 64)
    return out


class CPolicy:
    """A compiled policy in the C engine's layout; read-only in C, so one serves every thread."""

    def __init__(self, cp: CompiledPolicy) -> None:
        self._keep: list[array[int]] = []
        self.struct = _Policy()
        self.struct.is_normal = int(cp.is_normal)
        for i, t in enumerate((cp.v4, cp.v6)):
            self._fill(self.struct.fam[i], t)

    def _ptr(self, typecode: str, values: list[int] | array[int]) -> int:
        a = array(typecode, values)
        if not a:
            a = array(typecode, [0, 0])
        self._keep.append(a)
        return a.buffer_info()[0]

    def _fill(self, f: _Family, t: FamilyTables) -> None:
        src_lo, src_hi = [a.src_lo for a in t.atoms], [a.src_hi for a in t.atoms]
        for name, values in (("inside_lo", t.inside_lo), ("inside_hi", t.inside_hi), ("bounds", t.bounds),
                             ("src_lo", src_lo), ("src_hi", src_hi)):
            setattr(f, name, self._ptr("Q", _pairs(values)))
        for name, ints in (("interval_class", t.interval_class), ("class_start", t.class_start),
                           ("class_len", t.class_len)):
            setattr(f, name, self._ptr("i", ints))
        for name in ("sp_lo", "sp_hi", "dp_lo", "dp_hi", "code"):
            setattr(f, name, self._ptr("i", [getattr(a, name) for a in t.atoms]))
        f.proto = self._ptr("B", [a.proto for a in t.atoms])
        f.n_inside = len(t.inside_lo)
        f.n_bounds = len(t.bounds)


class CEngine:
    """Runs ``eg_run`` over mapped windows; leaks go to ``flows`` when given, else back as records."""

    name = "c"

    def __init__(self, cp: CompiledPolicy | CPolicy, flows: CFlows | None = None) -> None:
        self._lib = need_library()
        self._policy = cp if isinstance(cp, CPolicy) else CPolicy(cp)
        self._flows = flows
        self._out = (ctypes.c_char * (eng.LEAK_SIZE * (1 if flows is not None else OUT_CAP)))()
        self._iface_arr = (_Iface * 1)()
        self._n_ifaces = 0

    def set_ifaces(self, ifaces: list[eng.Iface]) -> None:
        """Interfaces of the current section (pcap: one)."""
        arr = (_Iface * max(1, len(ifaces)))()
        for i, f in enumerate(ifaces):
            arr[i] = _Iface(f.linktype, f.snaplen, f.ts_mul, f.ts_div)
        self._iface_arr = arr
        self._n_ifaces = len(ifaces)

    def run(self, win: eng.Window, ctx: eng.Context) -> tuple[int, int, bytes]:
        """Process ``win`` from ``win.pos``; returns (reason, new position, leak records)."""
        st = _State(buf=win.addr, len=len(win.mv), pos=win.pos, format=ctx.fmt, swap=int(ctx.swap),
                    ifaces=ctypes.addressof(self._iface_arr), n_ifaces=self._n_ifaces,
                    counters=ctypes.addressof(ctx.counters), rule_hits=ctypes.addressof(ctx.rule_hits),
                    out=ctypes.addressof(self._out), out_cap=0 if self._flows is not None else OUT_CAP,
                    flows=self._flows.handle if self._flows is not None else None)
        reason = int(self._lib.eg_run(ctypes.byref(st), ctypes.byref(self._policy.struct)))
        if reason == eng.NO_MEMORY:
            raise MemoryError("the C capture engine could not grow its leak-flow table")
        return reason, int(st.pos), ctypes.string_at(self._out, st.out_n * eng.LEAK_SIZE)


class CFlows:
    """A leak-flow table in C (``flows.c``); free it with :meth:`close` (or let it be collected)."""

    def __init__(self) -> None:
        self._lib = need_library()
        self.handle: int | None = self._lib.eg_flows_new()
        if not self.handle:
            raise MemoryError("cannot allocate a leak-flow table")

    def __len__(self) -> int:
        return int(self._lib.eg_flows_len(self.handle))

    def merge(self, other: CFlows) -> None:
        """Fold ``other``'s flows into this table (sums, earliest first, latest last)."""
        if self._lib.eg_flows_merge(self.handle, other.handle) < 0:
            raise MemoryError("cannot grow a leak-flow table")

    def export(self) -> list[Flow]:
        """Every flow, in table order."""
        out = (Flow * len(self))()
        n = self._lib.eg_flows_export(self.handle, ctypes.addressof(out), len(out))
        return list(out[:n])

    def close(self) -> None:
        """Free the C table (idempotent)."""
        if self.handle:
            self._lib.eg_flows_free(self.handle)
            self.handle = None

    def __del__(self) -> None:
        self.close()


def resync(buf: bytes, start: int, limit: int, sync: Sync) -> int:
    """First offset in ``buf[start:limit]`` where ``sync.chain`` records in a row parse, or -1."""
    return int(need_library().eg_resync(buf, len(buf), start, limit, ctypes.byref(sync)))
