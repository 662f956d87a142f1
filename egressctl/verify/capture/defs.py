"""Definitions shared by the capture engines (``c_engine``, ``np_engine``) and the file walk (``scan``).

Both engines implement one contract: process a mapped window of a capture file from a position, bump
the same counters, and return the leak records in the same binary layout (the C struct ``eg_leak``), so
``scan`` and ``offline`` never care which one ran and tests can compare them byte for byte.

Nothing here imports numpy: the C path of ``verify --pcap`` runs without it (its import is a fifth of the
command's start-up). Counters are ctypes arrays, which C fills through their address and the numpy
engine through a zero-copy view; ``LEAK_DTYPE``, the numpy view of a leak record, is built on first use.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    LEAK_DTYPE: np.dtype[Any]

# Counter slots, in the order of the C enum. ``related``: ICMP errors of allowed flows, subject packets that
# are neither permitted by a rule nor leaks (subject == permitted + leaks + related).
COUNTERS = ("packets", "bytes", "subject", "permitted", "leaks", "leak_bytes", "not_subject", "non_ip",
            "truncated", "fragment", "malformed", "linktype", "interface", "vlan", "ipv4", "ipv6", "related")
C = {name: i for i, name in enumerate(COUNTERS)}
UNVERIFIED = ("truncated", "fragment", "malformed", "linktype", "interface")

# Why an engine returned.
NEED_DATA, OUT_FULL, BLOCK, CORRUPT, NO_MEMORY = 0, 1, 2, 3, 4
PCAP, PCAPNG = 1, 2
SHB_TYPE = 0x0A0D0D0A
MAX_PCAP_RECORD = 0x4000000
MAX_BLOCK = 0x10000000

#: The C struct ``eg_leak``, field by field (numpy dtype spelling).
LEAK_FIELDS = [("ts_ns", "<i8"), ("wirelen", "<u4"), ("sport", "<u2"), ("dport", "<u2"), ("family", "u1"),
               ("proto", "u1"), ("iface", "<u2"), ("src", "u1", (16,)), ("dst", "u1", (16,)),
               ("pad", "<u4")]
LEAK_SIZE = 56  # bytes; c_engine checks it against the library
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
V6_EXT = (0, 43, 44, 51, 60, 135, 139, 140)

U64Array = ctypes.Array[ctypes.c_uint64]


def __getattr__(name: str) -> Any:
    """``LEAK_DTYPE`` on first use, so that importing this module does not import numpy."""
    if name == "LEAK_DTYPE":
        import numpy as np

        dtype = np.dtype(LEAK_FIELDS)
        globals()[name] = dtype
        return dtype
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def u64_array(n: int) -> U64Array:
    """Zeroed unsigned 64-bit counters C can write through their address.

    Padded by a cache line on each side: threads each write their own counters (rule hits for every
    permitted packet), and two small arrays sharing a line would bounce it between cores.
    """
    pad = 8
    return (ctypes.c_uint64 * n).from_buffer((ctypes.c_uint64 * (n + 2 * pad))(), pad * 8)


@dataclass(frozen=True)
class Iface:
    """One capture interface: link type, snap length, and timestamp scale (ns = ts * mul / div)."""

    linktype: int
    snaplen: int
    ts_mul: int
    ts_div: int


@dataclass
class Window:
    """A mapped part of the file: ``mv`` its bytes, ``addr`` their address, ``pos`` the engine's cursor.

    ``array`` is the numpy engine's view of the same bytes, made by that engine and dropped by the walk
    before the window is unmapped.
    """

    mv: memoryview
    addr: int
    pos: int
    array: Any = None


@dataclass
class Context:
    """Per-scan state the engines update in place."""

    fmt: int
    swap: bool
    counters: U64Array   # len(COUNTERS)
    rule_hits: U64Array  # one per policy rule (at least one slot)

    @classmethod
    def new(cls, n_rules: int) -> Context:
        """Zeroed counters for a policy of ``n_rules`` rules."""
        return cls(PCAP, False, u64_array(len(COUNTERS)), u64_array(max(1, n_rules)))

    def add(self, other: Context) -> None:
        """Add another part's counters to this one's."""
        for mine, theirs in ((self.counters, other.counters), (self.rule_hits, other.rule_hits)):
            for i, v in enumerate(theirs):
                mine[i] += v


class Engine(Protocol):
    """What ``capture.scan`` needs from an engine."""

    name: str

    def set_ifaces(self, ifaces: list[Iface]) -> None:
        """Interfaces of the current section (pcap: exactly one)."""

    def run(self, win: Window, ctx: Context) -> tuple[int, int, Any]:
        """Process ``win`` from ``win.pos``: (reason, new position, leak records as a buffer)."""
