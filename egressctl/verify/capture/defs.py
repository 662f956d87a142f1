"""Definitions shared by the capture engines (``c_engine``, ``np_engine``) and the file walk (``scan``).

Both engines implement one contract: process a mapped window of a capture file from a position, bump
the same counters, and return the leak records in the same binary layout (the C struct ``eg_leak``), so
``scan`` and ``offline`` never care which one ran and tests can compare them byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

# Counter slots, in the order of the C enum.
COUNTERS = ("packets", "bytes", "subject", "permitted", "leaks", "leak_bytes", "not_subject", "non_ip",
            "truncated", "fragment", "malformed", "linktype", "interface", "vlan", "ipv4", "ipv6")
C = {name: i for i, name in enumerate(COUNTERS)}
UNVERIFIED = ("truncated", "fragment", "malformed", "linktype", "interface")

# Why an engine returned.
NEED_DATA, OUT_FULL, BLOCK, CORRUPT = 0, 1, 2, 3
PCAP, PCAPNG = 1, 2
SHB_TYPE = 0x0A0D0D0A
MAX_PCAP_RECORD = 0x4000000
MAX_BLOCK = 0x10000000

LEAK_DTYPE = np.dtype([("ts_ns", "<i8"), ("wirelen", "<u4"), ("sport", "<u2"), ("dport", "<u2"),
                       ("family", "u1"), ("proto", "u1"), ("iface", "<u2"), ("src", "u1", (16,)),
                       ("dst", "u1", (16,)), ("pad", "<u4")])
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
V6_EXT = (0, 43, 44, 51, 60, 135, 139, 140)


@dataclass(frozen=True)
class Iface:
    """One capture interface: link type, snap length, and timestamp scale (ns = ts * mul / div)."""

    linktype: int
    snaplen: int
    ts_mul: int
    ts_div: int


@dataclass
class Window:
    """A mapped part of the file: ``array`` is a read-only uint8 view, ``mv`` the same bytes."""

    array: np.ndarray[Any, Any]
    mv: memoryview
    pos: int


@dataclass
class Context:
    """Per-scan state the engines update in place."""

    fmt: int
    swap: bool
    counters: np.ndarray[Any, Any]   # uint64, len(COUNTERS)
    rule_hits: np.ndarray[Any, Any]  # uint64, one per policy rule (at least one slot)


class Engine(Protocol):
    """What ``capture.scan`` needs from an engine."""

    name: str

    def set_ifaces(self, ifaces: list[Iface]) -> None:
        """Interfaces of the current section (pcap: exactly one)."""

    def run(self, win: Window, ctx: Context) -> tuple[int, int, np.ndarray[Any, Any]]:
        """Process ``win`` from ``win.pos``: (reason, new position, leak records)."""
