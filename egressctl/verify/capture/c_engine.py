"""The C capture engine (``engine.c``, an optional extension built at install time), driven via ctypes.

Why C and not more numpy: a capture's record offsets can only be found sequentially, and numpy's parse
touches each packet a dozen times; one compiled pass that walks, parses and looks up keeps each packet in
cache once and runs several times faster than ``tcpdump`` with a filter. The library is the extension
module ``egressctl.verify.capture._engine`` of this install, found and opened by :mod:`..native`; an
install built without a compiler has none, and ``scan`` then runs the numpy engine.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from egressctl.verify import native
from egressctl.verify.capture import defs as eng
from egressctl.verify.matcher import CompiledPolicy, FamilyTables

MODULE = "egressctl.verify.capture._engine"
OUT_CAP = 1 << 16  # leak records per call before control returns to Python to drain them

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
                ("out_n", I64)]


def _check(lib: ctypes.CDLL) -> bool:
    """Declare the C signatures; True when the library's struct sizes are this module's."""
    lib.eg_run.restype = I64
    lib.eg_run.argtypes = [ctypes.POINTER(_State), ctypes.POINTER(_Policy)]
    for fn in ("eg_record_size", "eg_state_size", "eg_policy_size"):
        getattr(lib, fn).restype = I64
    sizes = (lib.eg_record_size(), lib.eg_state_size(), lib.eg_policy_size())
    return bool(sizes == (eng.LEAK_DTYPE.itemsize, ctypes.sizeof(_State), ctypes.sizeof(_Policy)))


def library() -> ctypes.CDLL | None:
    """The engine built into this install, or None (warned about once per process)."""
    return native.load(MODULE, "the C capture engine", "capture analysis runs the numpy path", _check)


def available() -> bool:
    """Whether this install has the C engine."""
    return library() is not None


def _pairs(t: FamilyTables, name: str) -> np.ndarray[Any, Any]:
    """128-bit values as (low, high) uint64 pairs, the layout the C side reads."""
    arr = t.arrays()
    if t.family == 4:
        lo = arr[name].astype(np.uint64)
        hi = np.zeros_like(lo)
    else:
        lo, hi = arr[name + "_l"], arr[name + "_h"]
    return np.ascontiguousarray(np.stack([lo, hi], axis=1).reshape(-1))


class CEngine:
    """Runs ``eg_run`` over mapped windows; keeps every array it hands to C alive for its lifetime."""

    name = "c"

    def __init__(self, cp: CompiledPolicy) -> None:
        lib = library()
        if lib is None:
            raise RuntimeError(f"the C capture engine is not built in this install ({MODULE})")
        self._lib = lib
        self._keep: list[np.ndarray[Any, Any]] = []
        self._policy = _Policy()
        self._policy.is_normal = int(cp.is_normal)
        for i, t in enumerate((cp.v4, cp.v6)):
            self._fill(self._policy.fam[i], t)
        self._out = np.zeros(OUT_CAP, dtype=eng.LEAK_DTYPE)
        self._iface_arr = (_Iface * 1)()
        self._n_ifaces = 0

    def _ptr(self, arr: np.ndarray[Any, Any], dtype: Any) -> int:
        a = np.ascontiguousarray(arr, dtype=dtype)
        if a.size == 0:
            a = np.zeros(2, dtype=dtype)
        self._keep.append(a)
        return int(a.ctypes.data)

    def _fill(self, f: _Family, t: FamilyTables) -> None:
        arr = t.arrays()
        for name in ("inside_lo", "inside_hi", "bounds", "src_lo", "src_hi"):
            setattr(f, name, self._ptr(_pairs(t, name), np.uint64))
        ints = ("interval_class", "class_start", "class_len", "sp_lo", "sp_hi", "dp_lo", "dp_hi", "code")
        for name in ints:
            setattr(f, name, self._ptr(arr[name], np.int32))
        f.proto = self._ptr(arr["proto"], np.uint8)
        f.n_inside = len(t.inside_lo)
        f.n_bounds = len(t.bounds)

    def set_ifaces(self, ifaces: list[eng.Iface]) -> None:
        """Interfaces of the current section (pcap: one)."""
        arr = (_Iface * max(1, len(ifaces)))()
        for i, f in enumerate(ifaces):
            arr[i] = _Iface(f.linktype, f.snaplen, f.ts_mul, f.ts_div)
        self._iface_arr = arr
        self._n_ifaces = len(ifaces)

    def run(self, win: eng.Window, ctx: eng.Context) -> tuple[int, int, np.ndarray[Any, Any]]:
        """Process ``win`` from ``win.pos``; returns (reason, new position, leak records)."""
        st = _State()
        st.buf = int(win.array.ctypes.data) if win.array.size else 0
        st.len = win.array.size
        st.pos = win.pos
        st.format = ctx.fmt
        st.swap = int(ctx.swap)
        st.ifaces = ctypes.addressof(self._iface_arr)
        st.n_ifaces = self._n_ifaces
        st.counters = int(ctx.counters.ctypes.data)
        st.rule_hits = int(ctx.rule_hits.ctypes.data) if ctx.rule_hits.size else 0
        st.out = int(self._out.ctypes.data)
        st.out_cap = OUT_CAP
        st.out_n = 0
        reason = int(self._lib.eg_run(ctypes.byref(st), ctypes.byref(self._policy)))
        return reason, int(st.pos), self._out[: st.out_n].copy()
